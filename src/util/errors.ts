/**
 * Errors caused by the user's input (bad files, bad flags, wrong model directory).
 * The CLI prints their message without a stack trace and exits with `exitCode`.
 */
export class FrugalError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'FrugalError';
    this.exitCode = exitCode;
  }
}

/** A usage error: wrong flags or arguments (exit code 2). */
export class UsageError extends FrugalError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
