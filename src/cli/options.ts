import { getArch, listArchs } from '../models/zoo/index.js';
import { InvalidArgumentError, Option } from 'commander';
import { FrugalError, type OptionNamer } from '../util/errors.js';

/** A usage error of the command line: wrong flags or arguments (exit code 2). */
export class UsageError extends FrugalError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** Library options whose flag is not the option's name in kebab-case. */
const FLAG_OF: Record<string, string> = { valData: 'val', distillArch: 'distill', budgetMinutes: 'budget', timeoutSeconds: 'download-timeout' };

/** The CLI's way of naming a library option in a message: by its flag (`cut: 'auto'` → `--cut auto`). */
export const flagName: OptionNamer = (option, value) => {
  const flag = `--${FLAG_OF[option] ?? option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return value === undefined || value === true ? flag : `${flag} ${value}`;
};

/** A library error's message as the CLI shows it: options named by their flags. */
export function cliMessage(err: unknown): string {
  return err instanceof FrugalError ? err.messageFor(flagName) : err instanceof Error ? err.message : String(err);
}

/** Parsers for commander options that reject bad values as usage errors (exit 2). */
export function int(name: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer${rangeText(min, max)}, got "${value}"`);
    }
    return n;
  };
}

/** `--workers <n>`, the decoding processes of every command that decodes images. */
export function workersOption(): Option {
  return new Option('--workers <n>', 'decoding processes (default: number of cores, at most 8)').argParser(int('--workers', 0, 64));
}

/** A zoo architecture's name (anything else is a usage error, listing the names). */
export function archName(name: string) {
  return (value: string): string => {
    if (!getArch(value))
      throw new InvalidArgumentError(
        `${name} must be an architecture of the zoo (${listArchs()
          .map((a) => a.name)
          .join(', ')}), got "${value}"`,
      );
    return value;
  };
}

export function float(name: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number${rangeText(min, max)}, got "${value}"`);
    }
    return n;
  };
}

/** A number > 0 (a timeout in seconds, say). */
export function positive(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${value}"`);
    return n;
  };
}

export function intList(name: string) {
  return (value: string): number[] =>
    value.split(',').map((part) => {
      const n = Number(part.trim());
      if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be a comma-separated list of integers, got "${value}"`);
      return n;
    });
}

export function stringList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function oneOf<T extends string>(name: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!choices.includes(value as T)) throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got "${value}"`);
    return value as T;
  };
}

function rangeText(min: number, max: number): string {
  if (min > -Infinity && max < Infinity) return ` in [${min}, ${max}]`;
  if (min > -Infinity) return ` ≥ ${min}`;
  if (max < Infinity) return ` ≤ ${max}`;
  return '';
}

/** Print exactly one JSON object on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
}
