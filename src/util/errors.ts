/**
 * How a message names an option (and its value): the library by its option name, `cut: 'auto'`; the CLI by its
 * flag, `--cut auto`.
 */
export type OptionNamer = (option: string, value?: string | number | boolean) => string;

/** The library's way of naming an option: as written in an options object. */
export const optionName: OptionNamer = (option, value) =>
  value === undefined ? `\`${option}\`` : `\`${option}: ${typeof value === 'string' ? `'${value}'` : value}\``;

/** A message that names options through a namer, so the CLI can show flags where the library shows option names. */
export type OptionMessage = (name: OptionNamer) => string;

/**
 * Errors caused by the user's input (bad files, bad options, wrong model directory).
 * The CLI prints their message without a stack trace and exits with `exitCode`.
 */
export class FrugalError extends Error {
  readonly exitCode: number;
  private readonly render: OptionMessage | null;
  constructor(message: string | OptionMessage, exitCode = 1) {
    super(typeof message === 'string' ? message : message(optionName));
    this.name = 'FrugalError';
    this.exitCode = exitCode;
    this.render = typeof message === 'string' ? null : message;
  }

  /** The message with its options named by `name` (the CLI names them by their flags). */
  messageFor(name: OptionNamer): string {
    return this.render ? this.render(name) : this.message;
  }
}

/** An option's value is not valid (the CLI's usage error: exit code 2). */
export class OptionError extends FrugalError {
  constructor(message: string | OptionMessage) {
    super(message, 2);
    this.name = 'OptionError';
  }
}
