import { Command } from 'commander';
import { writeReport } from '../../report/report.js';
import { printJson } from '../options.js';

export function reportCommand(): Command {
  return new Command('report')
    .description(
      'one self-contained HTML report of a run: learning curves, confusion matrix, per-class metrics, calibration, mistakes, ' +
        'augmentation, search, Noisy Student rounds, ablation, and a data check written with `frugal data check --run`',
    )
    .argument('<run>', 'the --out folder of train, distill, self-train, augment search or auto (or a folder given to data check --run)')
    .option('--out <file>', 'HTML file to write (default: <run>/report.html)')
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ frugal report ./run
  $ frugal report ./run --out report.html && xdg-open report.html`,
    )
    .action(async (run: string, f: { out?: string; json?: boolean }) => {
      const res = await writeReport(run, f.out);
      if (f.json) printJson(res);
      else process.stdout.write(`report written to ${res.out} (${res.sections.length} sections)\n`);
    });
}
