import { Command } from 'commander';
import { auto, type AutoResult } from '../../recipes/auto.js';
import { describeLabelCurve } from '../../evaluate/label-curve.js';
import { pointsChange } from '../../evaluate/estimate.js';
import { writeReport } from '../../report/report.js';
import { runFile } from '../../runs/files.js';
import { AUTO_DEFAULTS } from '../../recipes/defaults.js';
import { DEFAULT_HYPER } from '../../train/fit-on-data.js';
import { printJson, int, float, archName } from '../options.js';
import { addBackendOption, addDataOptions, startBackend, trainingProgress, onInterrupt } from '../common.js';
import { NO_BACKBONE } from '../../models/backbones/pretrained.js';
import { addBackboneOptions, backboneOptionsFrom, downloadProgress, type BackboneFlags } from '../backbone-options.js';

export function autoCommand(): Command {
  const cmd = new Command('auto')
    .description(
      'the whole scarce-data recipe: transfer (or scratch) → augmentation search → Noisy Student → optional distillation, ' +
        'with an ablation table, a report and the best model',
    )
    .argument('<data>', 'labeled images: root/<class>/<image>, or a CSV of path,label')
    .requiredOption('--out <dir>', 'run folder: the best model itself, per-stage subfolders, auto.json, report.html')
    .option('--unlabeled <dir>', 'unlabeled images for Noisy Student rounds')
    .option(
      '--arch <name>',
      "train from scratch with this architecture (also the Noisy Student students' when there is no backbone); default: transfer from the built-in trunk",
      archName('--arch'),
      AUTO_DEFAULTS.arch,
    )
    .option('--distill <arch>', 'finally distil the best model into this small architecture (e.g. cnn-tiny)', archName('--distill'))
    .option('--budget <minutes>', 'total time budget: shrinks the search and the rounds', float('--budget', 0.1, 100000))
    .option('--rounds <n>', 'most Noisy Student rounds', int('--rounds', 0, 20), AUTO_DEFAULTS.rounds)
    .option('--epochs <n>', 'epochs of each training stage', int('--epochs', 1, 10000), AUTO_DEFAULTS.epochs)
    .option('--seed <n>', 'random seed (runs are repeatable)', int('--seed'), DEFAULT_HYPER.seed)
    .option('--no-report', 'do not write report.html')
    .option('--resume', 'continue an interrupted run in --out (finished stages are kept)');
  addBackboneOptions(cmd);
  addDataOptions(cmd);
  addBackendOption(cmd);
  cmd.option('--json', 'print one JSON object');
  cmd.addHelpText(
    'after',
    `
Examples:
  $ frugal auto ./photos --out ./run                    # transfer from the built-in ImageNet trunk
  $ frugal auto ./digits --backbone none --out ./run    # from scratch (cnn-small)
  $ frugal auto ./photos --unlabeled ./more-photos --backbone ./pretrained --budget 15 --out ./run
  $ frugal auto ./photos --unlabeled ./more-photos --distill cnn-tiny --out ./run --json
  $ frugal auto ./photos --out ./run --no-cache         # read and write no decoded-image or feature cache`,
  );
  cmd.action(async (data: string, f: BackboneFlags & Record<string, unknown> & { out: string; json?: boolean; report: boolean }) => {
    const quiet = !!f.json;
    await startBackend(f['backend'] as string);
    const progress = trainingProgress(quiet);
    const downloads = downloadProgress(quiet);
    const off = onInterrupt(f.out);
    let res: AutoResult;
    try {
      res = await auto(data, {
        out: f.out,
        unlabeled: f['unlabeled'] as string | undefined,
        // An explicit --arch without --backbone asks for training from scratch.
        backbone: f.backbone ?? (cmd.getOptionValueSource('arch') === 'cli' ? NO_BACKBONE : undefined),
        backboneOptions: backboneOptionsFrom(f, downloads),
        arch: f['arch'] as string,
        distillArch: f['distill'] as string | undefined,
        budgetMinutes: f['budget'] as number | undefined,
        rounds: f['rounds'] as number,
        epochs: f['epochs'] as number,
        seed: f['seed'] as number,
        valData: f['val'] as string | undefined,
        valSplit: f['valSplit'] as number,
        size: f.size,
        channels: f.channels as 1 | 3 | undefined,
        strict: f['strict'] as boolean | undefined,
        workers: f['workers'] as number | undefined,
        cache: f['cache'] as boolean,
        resume: f['resume'] as boolean | undefined,
        callbacks: [
          {
            onStage: (s) => {
              progress.bar.stop();
              if (!quiet) process.stderr.write(`\n== ${s}\n`);
            },
            onNotice: (m) => {
              progress.bar.stop();
              process.stderr.write(`note: ${m}\n`);
            },
          },
          progress,
        ],
      });
    } finally {
      downloads.stop();
      progress.bar.stop();
      off();
    }
    const report = f.report ? (await writeReport(f.out, runFile(f.out, 'report'))).out : null;
    if (f.json) return printJson({ ...res, report });
    const how =
      res.selection === 'cross-validation' ? 'cross-validated on all labeled images (± sd over folds)' : 'on the validation images (± standard error)';
    const width = Math.max(...res.rows.map((r) => r.stage.length + 2)) + 2;
    const lines = ['', `each stage's estimate: ${how}`, `${'stage'.padEnd(width)}estimate         Δ vs best   kept   wall time   why`];
    for (const r of res.rows) {
      const stage = (r.stage + (r.stage === res.best ? ' *' : '')).padEnd(width);
      const estimate = `${(r.accuracy * 100).toFixed(1)}% ± ${(r.spread * 100).toFixed(1)}`;
      const delta = pointsChange(r.delta);
      const seconds = `${r.seconds.toFixed(0)} s`;
      lines.push(
        `${stage}${estimate.padEnd(15)}  ${delta.padStart(10)}   ${(r.kept ? 'yes' : 'no').padEnd(4)} ${seconds.padStart(9)}   ${r.why}${r.note ? ` [${r.note}]` : ''}`,
      );
    }
    for (const s of res.skipped) lines.push(`skipped: ${s.why}`);
    if (res.labelCurve) {
      const points = res.labelCurve.points.map((p) => `${Math.round(p.fraction * 100)}% of the labels ${(p.estimate.accuracy * 100).toFixed(1)}%`).join(', ');
      const how = res.labelCurve.points[0]!.estimate.kind === 'validation' ? 'on the validation images' : 'cross-validated';
      lines.push('', `labels: ${points} (frozen head, ${how}); ${describeLabelCurve(res.labelCurve)}`);
    }
    lines.push(
      '',
      `kept: ${res.best} (${(res.accuracy * 100).toFixed(1)}% ± ${(res.spread * 100).toFixed(1)}, ${res.selection === 'cross-validation' ? 'cross-validated' : 'held-out'}); model in ${res.out}; ${res.seconds.toFixed(0)} s in all`,
    );
    if (report) lines.push(`report: ${report}`);
    process.stdout.write(lines.join('\n') + '\n');
  });
  return cmd;
}
