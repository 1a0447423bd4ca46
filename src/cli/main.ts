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
  $ frugal data inspect ./photos
  $ frugal data from-idx images.idx.gz labels.idx.gz --out ./data`,
    );
  program.addCommand(dataCommand());
  program.addCommand(autoCommand());
  program.addCommand(trainCommand());
  program.addCommand(evaluateCommand());
  program.addCommand(predictCommand());
  program.addCommand(distillCommand());
  program.addCommand(selfTrainCommand());
  program.addCommand(augmentCommand());
  program.addCommand(reportCommand());
  program.addCommand(serveCommand());
  program.addCommand(doctorCommand());
  return program;
}

/** Apply exit-code conventions to every (sub)command: usage errors exit 2. */
function exitOverrideAll(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) exitOverrideAll(sub);
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
    process.stderr.write(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return fail(`internal error: ${err instanceof Error ? err.message : String(err)}`, 1);
  }
}

const code = await main(process.argv);
process.exitCode = code;
