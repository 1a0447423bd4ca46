import cliProgress from 'cli-progress';

export interface Progress {
  /** Report `done` of `total`, with extra named values shown after the bar (loss, acc, img/s...). */
  update(done: number, total: number, values?: Record<string, string | number>): void;
  /** A one-line message on stderr (only when the bar would be shown). */
  log(message: string): void;
  stop(): void;
}

const QUIET: Progress = { update() {}, log() {}, stop() {} };

/**
 * A progress bar with ETA on stderr; silent when `quiet` (e.g. --json) or when stderr is not a terminal.
 */
export function progressBar(label: string, quiet: boolean): Progress {
  if (quiet || !process.stderr.isTTY) return QUIET;
  let bar: cliProgress.SingleBar | null = null;
  return {
    update(done, total, values = {}) {
      const extra = Object.entries(values)
        .map(([k, v]) => `${k} ${typeof v === 'number' ? formatNumber(v) : v}`)
        .join(' | ');
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `${label} {bar} {percentage}% | {value}/{total} | ETA {eta_formatted}{extra}`,
            hideCursor: true,
            clearOnComplete: false,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done, { extra: extra ? ` | ${extra}` : '' });
      } else {
        bar.setTotal(total);
        bar.update(done, { extra: extra ? ` | ${extra}` : '' });
      }
    },
    log(message) {
      if (bar) process.stderr.write('\n');
      process.stderr.write(message + '\n');
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(4);
}

/** Progress messages for non-TTY, non-JSON runs: plain lines on stderr. */
export function note(message: string, quiet: boolean): void {
  if (!quiet) process.stderr.write(message + '\n');
}
