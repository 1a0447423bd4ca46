import { Command, CommanderError } from 'commander';
import { FrugalError } from '../util/errors.js';
import { cliMessage } from './options.js';
import { dataCommand } from './commands/data.js';
import { trainCommand } from './commands/train.js';
import { evaluateCommand } from './commands/evaluate.js';
import { predictCommand } from './commands/predict.js';
import { doctorCommand } from './commands/doctor.js';
import { reportCommand } from './commands/report.js';
import { autoCommand } from './commands/auto.js';
import { augmentCommand } from './commands/augment.js';
import { serveCommand } from './commands/serve.js';
import { distillCommand } from './commands/distill.js';
import { selfTrainCommand } from './commands/self-train.js';
import { cacheCommand } from './commands/cache.js';
import { suggestCommand } from './commands/suggest.js';
import { exportCommand } from './commands/export.js';

function buildProgram(): Command {
  const program = new Command('frugal')
    .description('Turn a small labeled image set into the best classifier it can, on a CPU.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ frugal auto ./photos --unlabeled ./more-photos --out ./run
  $ frugal train ./photos --out ./model
  $ frugal evaluate ./model ./test-photos
  $ frugal predict ./model cat.jpg
  $ frugal export ./model --format teachable-machine --out ./tm-model
  $ frugal suggest ./photos --unlabeled ./more-photos --out ./to-label
  $ frugal data inspect ./photos
  $ frugal data from-idx images.idx.gz labels.idx.gz --out ./data
  $ frugal cache info`,
    );
  program.addCommand(dataCommand());
  program.addCommand(autoCommand());
  program.addCommand(trainCommand());
  program.addCommand(evaluateCommand());
  program.addCommand(predictCommand());
  program.addCommand(distillCommand());
  program.addCommand(selfTrainCommand());
  program.addCommand(suggestCommand());
  program.addCommand(augmentCommand());
  program.addCommand(reportCommand());
  program.addCommand(serveCommand());
  program.addCommand(exportCommand());
  program.addCommand(doctorCommand());
  program.addCommand(cacheCommand());
  return program;
}

/** Apply exit-code conventions to every (sub)command: usage errors exit 2. */
function exitOverrideAll(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) exitOverrideAll(sub);
}

/**
 * A filesystem error a user can cause (an `--out` that is a file, a path under a file, no permission, a full disk), as
 * one line naming the path and what to do; null for any other error.
 */
function filesystemMessage(err: unknown): string | null {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (!(err instanceof Error) || typeof e.code !== 'string' || typeof e.path !== 'string') return null;
  // A rename's destination is the user's path (the source is our temporary file).
  const target = e.dest ?? e.path;
  switch (e.code) {
    case 'EEXIST':
      return `${e.path}: a file is in the way where a folder is needed: choose another path or move the file`;
    case 'ENOTDIR':
      return `${e.path}: part of this path is a file, not a folder: choose another path`;
    case 'EISDIR':
      return `${target}: is a folder where a file is needed: give a file name`;
    case 'EACCES':
    case 'EPERM':
      return `${target}: permission denied`;
    case 'EROFS':
      return `${target}: the file system is read-only`;
    case 'ENOSPC':
      return `${target}: no space left on the device`;
    default:
      return null;
  }
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  exitOverrideAll(program);
  // With --json a failure is one JSON object on stdout too ({ error, exitCode }), so that scripts can read it.
  const json = argv.includes('--json');
  const fail = (message: string, exitCode: number) => {
    if (json) process.stdout.write(JSON.stringify({ error: message, exitCode }) + '\n');
    return exitCode;
  };
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      if (err.exitCode === 0) return 0;
      return fail(err.message.replace(/^error: /, ''), 2);
    }
    if (err instanceof FrugalError) {
      process.stderr.write(`error: ${cliMessage(err)}\n`);
      return fail(cliMessage(err), err.exitCode);
    }
    const fs = filesystemMessage(err);
    if (fs) {
      process.stderr.write(`error: ${fs}\n`);
      return fail(fs, 1);
    }
    process.stderr.write(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return fail(`internal error: ${err instanceof Error ? err.message : String(err)}`, 1);
  }
}

const code = await main(process.argv);
process.exitCode = code;
