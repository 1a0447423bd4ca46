import { Command, Option } from 'commander';
import { selfTrain, type RoundReport } from '../../recipes/self-train.js';
import { roundAccuracyName } from '../../runs/files.js';
import { parseStudent } from '../../recipes/student.js';
import { printJson, float, int } from '../options.js';
import {
  addBackendOption,
  addDataOptions,
  addOverwriteGuard,
  checkCrossValidationFlags,
  crossValidationOption,
  fewValidationNote,
  addHyperOptions,
  explicitHyper,
  startBackend,
  trainingProgress,
  onInterrupt,
  stageLines,
} from '../common.js';
import { progressBar } from '../progress.js';
import { policyFromOption } from '../../augment/index.js';
import { readPoolLabels } from '../pool-labels.js';
import { SELF_TRAIN_DEFAULTS, STUDENT_NOISE } from '../../recipes/defaults.js';
import { FEATURE_SELF_TRAIN } from '../../recipes/transfer.js';
import { describeEstimate } from '../../evaluate/estimate.js';
import { BUILTIN_TRUNK } from '../../models/backbones/pretrained.js';
import { UsageError } from '../options.js';

export function selfTrainCommand(): Command {
  const cmd = new Command('self-train')
    .description('Noisy Student self-training: a teacher labels unlabeled images, a noised student learns from both and becomes the next teacher')
    .argument('<data>', 'labeled images: root/<class>/<image>, or a CSV of path,label')
    .requiredOption('--unlabeled <dir>', 'unlabeled images (any depth)')
    .requiredOption('--out <dir>', "output: the kept model (with --student: the best round's, and round-N/ subfolders)")
    .option('--teacher <model>', 'a trained model as the first teacher (needs --student)')
    .option('--teacher-backbone <spec>', `the trunk to transfer from (default: the built-in ${BUILTIN_TRUNK})`)
    .option(
      '--student <arch>',
      `train students on images: this zoo architecture (same size or larger than the teacher, e.g. ${SELF_TRAIN_DEFAULTS.student}); ` +
        "default: Noisy Student on the trunk's frozen features (linear heads)",
    )
    .option(
      '--rounds <n>',
      `rounds (default ${FEATURE_SELF_TRAIN.rounds} on features; ${SELF_TRAIN_DEFAULTS.rounds} with --student, stopping early when held-out accuracy stops improving)`,
      int('--rounds', 1, 100),
    )
    .addOption(
      new Option('--pseudo <kind>', 'hard (one-hot) or soft (teacher probabilities) pseudo-labels')
        .choices(['soft', 'hard'])
        .default(SELF_TRAIN_DEFAULTS.pseudo),
    )
    .option(
      '--threshold <p>',
      `keep pseudo-labels with at least this confidence (default ${FEATURE_SELF_TRAIN.threshold} on features, ${SELF_TRAIN_DEFAULTS.threshold} with --student)`,
      float('--threshold', 0, 1),
    )
    .option('--balance', 'equalise classes: top-K most confident per class, duplicating where short (default on features; with --student, off)')
    .option('--no-balance', 'keep every confident pseudo-label, whatever its class')
    .option('--augment <policy>', "the student's input noise", STUDENT_NOISE.augment)
    .option('--dropout <p>', 'student dropout (noise)', float('--dropout', 0, 0.95), STUDENT_NOISE.dropout)
    .option('--drop-path <p>', 'student stochastic depth (noise; residual architectures)', float('--drop-path', 0, 0.95), STUDENT_NOISE.dropPath)
    .option('--width <m>', 'student width multiplier', float('--width', 0.1, 4))
    .option('--pool-labels <csv>', 'true labels of the pool (path,label), to report pseudo-label accuracy (benchmarks)')
    .option('--shard-size <n>', 'pool images per pseudo-labelling shard (the unit of resumption)', int('--shard-size', 16), 1024)
    .option('--resume', 'continue an interrupted run in --out')
    .option(
      '--cv [folds]',
      'on features: score the rounds by cross-validation on all labeled images, keep the rounds with the highest estimate, train on all labeled images (without it, below 1,000 labeled images and without --val or --val-split: the default rounds, scored by cross-validation)',
      int('--cv', 2, 100),
    )
    .option('--no-cv', 'on features: score the rounds on a validation split (--val-split) instead of by cross-validation');
  addDataOptions(cmd);
  addOverwriteGuard(cmd);
  addHyperOptions(cmd);
  addBackendOption(cmd);
  cmd.option('--json', 'print one JSON object');
  cmd.addHelpText(
    'after',
    `
Examples:
  $ frugal self-train ./photos --unlabeled ./unlabeled --out ./run     # Noisy Student on the built-in trunk's features
                                                                        # (few labels: scored by cross-validation)
  $ frugal self-train ./photos --unlabeled ./unlabeled --student cnn-small --out ./run
  $ frugal self-train ./photos --unlabeled ./unlabeled --teacher ./model --rounds 3 --balance --pseudo soft --out ./run
  $ frugal self-train ./photos --unlabeled ./unlabeled --student cnn-small --out ./run --resume     # after Ctrl-C
  $ frugal self-train ./photos --unlabeled ./unlabeled --cv --out ./run     # rounds chosen by cross-validation
  $ frugal self-train ./photos --unlabeled ./unlabeled --no-cv --out ./run  # scored on a 20% validation split instead
  $ frugal self-train ./photos --unlabeled ./unlabeled --out ./run --no-cache   # no decoded-image or feature cache`,
  );
  cmd.action(async (data: string, f: Record<string, unknown> & { out: string; unlabeled: string; json?: boolean }) => {
    const quiet = !!f.json;
    policyFromOption(f['augment'] as string);
    const onFeatures = f['student'] === undefined;
    if (onFeatures) {
      const imageOnly = ['teacher', 'augment', 'dropout', 'dropPath', 'width', 'pseudo', 'shardSize', 'resume'].filter(
        (name) => cmd.getOptionValueSource(name) === 'cli',
      );
      if (imageOnly.length)
        throw new UsageError(
          `${imageOnly.map((n) => '--' + n.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', ')} ${imageOnly.length > 1 ? 'need' : 'needs'} --student (students trained on images); without it, self-train runs Noisy Student on frozen features`,
        );
    }
    // --cv (true or a fold count), --no-cv (false), or neither (undefined: the library decides by the data's size).
    const cv = cmd.getOptionValueSource('cv') === 'cli' ? (f['cv'] as true | number | false) : undefined;
    if (cv !== undefined && cv !== false) {
      if (!onFeatures) throw new UsageError('--cv scores Noisy Student on frozen features; with --student, rounds are scored on a validation split');
      checkCrossValidationFlags(cmd, cv);
    }
    if (cv === false && !onFeatures)
      throw new UsageError('--no-cv is for Noisy Student on frozen features; with --student, rounds are always scored on a validation split');
    await startBackend(f['backend'] as string);
    const progress = trainingProgress(quiet);
    const bar = progressBar('pseudo-labels', quiet);
    const off = onInterrupt(f.out);
    const res = await selfTrain(data, {
      out: f.out,
      unlabeled: f.unlabeled,
      teacher: f['teacher'] as string | undefined,
      teacherBackbone: f['teacherBackbone'] as string | undefined,
      student: onFeatures
        ? undefined
        : parseStudent(f['student'] as string, {
            width: f['width'] as number | undefined,
            dropout: f['dropout'] as number,
            dropPath: f['dropPath'] as number,
          }),
      rounds: f['rounds'] as number | undefined,
      pseudo: f['pseudo'] as 'soft' | 'hard',
      threshold: f['threshold'] as number | undefined,
      balance: f['balance'] as boolean | undefined,
      augment: f['augment'] as string,
      poolLabels: f['poolLabels'] ? await readPoolLabels(f['poolLabels'] as string, f.unlabeled) : undefined,
      shardSize: f['shardSize'] as number,
      hyper: explicitHyper(cmd),
      valData: f['val'] as string | undefined,
      // Given or not: on features, a split asked for means no cross-validation by default.
      valSplit: cmd.getOptionValueSource('valSplit') === 'cli' ? (f['valSplit'] as number) : undefined,
      strict: f['strict'] as boolean | undefined,
      workers: f['workers'] as number | undefined,
      cache: f['cache'] as boolean,
      resume: f['resume'] as boolean | undefined,
      crossValidation: cv === false ? false : crossValidationOption(cv),
      callbacks: [progress, stageLines(bar, quiet)],
      onRound: (r) => quiet || process.stderr.write(roundLine(r) + '\n'),
    }).finally(() => {
      bar.stop();
      progress.bar.stop();
      off();
    });
    if (f.json) return printJson(res);
    const heading =
      res.estimate?.kind === 'cross-validation'
        ? `cross-validated accuracy ${describeEstimate(res.estimate)}; the model of round ${res.bestRound}, trained on all labeled images`
        : `held-out accuracy ${(res.accuracy * 100).toFixed(1)}%${res.estimate ? ` on ${res.estimate.images} validation images` : ''} (${onFeatures ? 'the model of' : 'best:'} round ${res.bestRound})`;
    const note = res.estimate?.kind === 'validation' && onFeatures ? fewValidationNote(res.estimate.images, cmd) : '';
    process.stdout.write(`${heading}\n${note}\n  round  accuracy  kept  pseudo-label acc  kept per class\n`);
    for (const r of res.rounds) {
      const pseudo = r.pseudoAccuracy === null ? '-'.padStart(16) : `${(r.pseudoAccuracy * 100).toFixed(1)}%`.padStart(16);
      const kept = Object.entries(r.kept)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ');
      process.stdout.write(
        `  ${String(r.round).padStart(5)}  ${(r.accuracy * 100).toFixed(1).padStart(7)}%  ${String(r.keptTotal).padStart(4)}  ${pseudo}  ${kept}\n`,
      );
    }
    const perRound = res.rounds.some((r) => r.dir !== res.out);
    process.stdout.write(`\nmodel written to ${res.out}${perRound ? ` (per-round artefacts in ${res.out}/round-N)` : ''}\n`);
  });
  return cmd;
}

function roundLine(r: RoundReport): string {
  return r.round === 0
    ? `round 0 (teacher): ${roundAccuracyName(r)} ${(r.accuracy * 100).toFixed(1)}%`
    : `round ${r.round}: ${roundAccuracyName(r)} ${(r.accuracy * 100).toFixed(1)}%, ${r.keptTotal} pseudo-labels kept` +
        (r.pseudoAccuracy !== null ? ` (${(r.pseudoAccuracy * 100).toFixed(1)}% correct)` : '');
}
