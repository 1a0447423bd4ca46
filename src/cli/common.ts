import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { initBackend, type BackendInfo, type BackendPreference } from '../engine/backend.js';
import { FrugalError } from '../util/errors.js';
import { DEFAULT_HYPER, type TrainHyper } from '../train/fit-on-data.js';
import type { Callback } from '../train/callbacks.js';
import { OPTIMIZERS } from '../train/optimizers.js';
import { SCHEDULES } from '../train/schedule.js';
import { RESIZE_POLICIES } from '../data/decode.js';
import { DEFAULT_VAL_SPLIT } from '../data/prepare.js';
import { cacheLimit } from '../util/cache-dir.js';
import { oneImageWorth } from '../evaluate/estimate.js';
import { int, float, oneOf, flagName, UsageError, workersOption } from './options.js';
import { progressBar, type Progress } from './progress.js';

export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

/** --backend, shared by every command that runs a model. */
export function addBackendOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('--backend <name>', 'TF.js backend: auto (tfjs-node if installed, else wasm), wasm, cpu (slow), tensorflow').choices(BACKENDS).default('auto'),
  );
}

export async function startBackend(name: string | undefined): Promise<BackendInfo> {
  try {
    return await initBackend((name ?? 'auto') as BackendPreference);
  } catch (err) {
    throw new FrugalError(`cannot start the ${name} backend: ${(err as Error).message}`);
  }
}

/**
 * `--no-cache`, shared by every command that decodes images: read and write neither the decoded-image cache nor,
 * where the command has one, the feature cache. A bad $FRUGAL_CACHE_LIMIT fails here, before any work (exit 2).
 */
export function addCacheOption(cmd: Command, o: { features: boolean }): Command {
  cmd.hook('preAction', () => {
    cacheLimit();
  });
  return cmd.option(
    '--no-cache',
    `read and write neither the decoded-image cache${o.features ? ' nor the feature cache' : ''} ($FRUGAL_CACHE; see \`frugal cache info\`)`,
  );
}

/** Data options shared by the training commands (`--no-cache` included). `--val` with `--val-split` is a usage error: one replaces the other. */
export function addDataOptions(cmd: Command): Command {
  cmd.hook('preAction', (command) => {
    if (command.getOptionValueSource('val') === 'cli' && command.getOptionValueSource('valSplit') === 'cli')
      throw new UsageError('--val gives validation images and --val-split splits them off <data>: give one or the other');
  });
  addCacheOption(cmd, { features: true });
  return cmd
    .option('--val <data>', 'validation data (same classes); default: a stratified split of <data>')
    .option('--val-split <f>', 'fraction of each class held out for validation', float('--val-split', 0.01, 0.9), DEFAULT_VAL_SPLIT)
    .option(
      '--size <px>',
      "input size (square); default: a backbone's own (a fully convolutional layers trunk, the built-in one too, runs at others), " +
        "else the images' own size when all share one ≤ 64 px, else 96",
      int('--size', 8, 1024),
    )
    .option('--channels <n>', 'input channels, 1 or 3; default: 1 when all images are grayscale', channelCount)
    .addOption(
      new Option(
        '--resize <policy>',
        'how images reach the input size (default: squash; the built-in trunk and a Teachable Machine backbone: center-crop)',
      ).choices(RESIZE_POLICIES as string[]),
    )
    .option('--strict', 'fail on the first bad file instead of skipping it')
    .addOption(workersOption());
}

/** Hyper-parameters shared by the training commands. */
export function addHyperOptions(cmd: Command, defaults: Partial<TrainHyper> = {}): Command {
  const d = { ...DEFAULT_HYPER, ...defaults };
  return cmd
    .option('--epochs <n>', 'training epochs', int('--epochs', 1, 100000), d.epochs)
    .option('--batch-size <n>', 'images per step', int('--batch-size', 1, 4096), d.batchSize)
    .option('--lr <rate>', 'peak learning rate', float('--lr', 0, 1e9), d.lr)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(OPTIMIZERS as string[]).default(d.optimizer))
    .option('--weight-decay <w>', 'weight decay', float('--weight-decay', 0, 1), d.weightDecay)
    .addOption(new Option('--schedule <name>', 'learning-rate schedule').choices(SCHEDULES as string[]).default(d.schedule))
    .option('--warmup-epochs <n>', 'linear warm-up epochs (cosine/constant)', float('--warmup-epochs', 0, 1000), d.warmupEpochs)
    .option('--label-smoothing <e>', 'label smoothing', float('--label-smoothing', 0, 0.5), d.labelSmoothing)
    .addOption(new Option('--class-weights <mode>', 'weight the loss by inverse class frequency').choices(['none', 'balanced']).default(d.classWeights))
    .option('--patience <n>', 'early stopping: epochs without validation improvement', int('--patience', 1))
    .option('--clip-norm <n>', 'clip the global gradient norm', float('--clip-norm', 0))
    .option('--min-steps <n>', 'train at least this many steps (more epochs on tiny data sets)', int('--min-steps', 0), d.minSteps)
    .option('--seed <n>', 'random seed (runs are repeatable)', int('--seed'), d.seed);
}

export interface HyperFlags {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: TrainHyper['optimizer'];
  weightDecay: number;
  schedule: TrainHyper['schedule'];
  warmupEpochs: number;
  labelSmoothing: number;
  classWeights: TrainHyper['classWeights'];
  patience?: number;
  clipNorm?: number;
  minSteps: number;
  seed: number;
}

const HYPER_KEYS = [
  'epochs',
  'batchSize',
  'lr',
  'optimizer',
  'weightDecay',
  'schedule',
  'warmupEpochs',
  'labelSmoothing',
  'classWeights',
  'patience',
  'clipNorm',
  'minSteps',
  'seed',
] as const;

/** Only the hyper-parameters given on the command line (so a command's own defaults apply to the rest). */
export function explicitHyper(cmd: Command): Partial<TrainHyper> {
  const opts = cmd.opts() as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of HYPER_KEYS) {
    if (opts[key] !== undefined && cmd.getOptionValueSource(key) !== 'default') out[key] = opts[key];
  }
  out['seed'] = opts['seed'];
  return out as Partial<TrainHyper>;
}

export function hyperFrom(f: HyperFlags): TrainHyper {
  return {
    epochs: f.epochs,
    batchSize: f.batchSize,
    lr: f.lr,
    optimizer: f.optimizer,
    weightDecay: f.weightDecay,
    schedule: f.schedule,
    warmupEpochs: f.warmupEpochs,
    labelSmoothing: f.labelSmoothing,
    classWeights: f.classWeights,
    patience: f.patience,
    clipNorm: f.clipNorm,
    minSteps: f.minSteps,
    seed: f.seed,
  };
}

/** `--channels`: 1 (grey) or 3 (colour); 2 passed the range check and failed when the model was written. */
function channelCount(value: string): 1 | 3 {
  if (value !== '1' && value !== '3') throw new InvalidArgumentError(`--channels must be 1 (grey) or 3 (colour), got "${value}"`);
  return Number(value) as 1 | 3;
}

/** A callback for a training run: a bar per epoch with loss, accuracy and images/s, and a line after each epoch. */
export function trainingProgress(quiet: boolean, label = 'epoch'): Required<Pick<Callback, 'onBatchEnd' | 'onEpochEnd'>> & { bar: Progress } {
  const bar = progressBar(label, quiet);
  return {
    bar,
    onBatchEnd: (i) => bar.update(i.step, i.steps, { epoch: i.epoch + 1, loss: i.loss, acc: i.accuracy, 'img/s': i.imagesPerSecond }),
    onEpochEnd: (log) => {
      bar.stop();
      if (!quiet) {
        process.stderr.write(
          `${log.fullBatch ? 'head fitted by logistic regression' : `${label} ${log.epoch}`}: loss ${log.loss.toFixed(4)}, train acc ${log.accuracy.toFixed(3)}` +
            (log.valAccuracy !== null ? `, val acc ${log.valAccuracy.toFixed(3)}` : '') +
            ` (${log.seconds.toFixed(1)} s)\n`,
        );
      }
    },
  };
}

/** A callback that prints each stage of a run on a line of its own (after the progress bar) and shows a step's progress on the bar. */
export function stageLines(bar: Progress, quiet: boolean): Callback {
  return {
    onStage: (stage) => {
      bar.stop();
      if (!quiet) process.stderr.write(`${stage}...\n`);
    },
    onProgress: (_task, done, total) => bar.update(done, total),
    // A notice is printed with --json too (on stderr): it says the run did something other than asked.
    onNotice: (message) => {
      bar.stop();
      process.stderr.write(`note: ${message}\n`);
    },
  };
}

/**
 * `--force`, and the rule it lifts: a training command does not write into a folder that already holds a model
 * (its frugal.json) unless asked to replace it (`--force`) or to continue its run (`--resume`).
 */
export function addOverwriteGuard(cmd: Command): Command {
  cmd.option('--force', 'replace the model already in --out');
  cmd.hook('preAction', (command) => {
    const o = command.opts() as { out?: string; force?: boolean; resume?: boolean };
    if (!o.out || o.force || o.resume) return;
    if (existsSync(path.join(o.out, 'frugal.json')))
      throw new UsageError(`${o.out} already holds a model: add --force to replace it, --resume to continue its run, or choose another --out`);
  });
  return cmd;
}

/** `--cv` replaces a validation split or set: `--cv` with `--val` or `--val-split` is a usage error. */
export function checkCrossValidationFlags(cmd: Command, cv: true | number | undefined): void {
  if (cv === undefined) return;
  const clash = (['val', 'valSplit'] as const).filter((name) => cmd.getOptionValueSource(name) === 'cli');
  if (clash.length)
    throw new UsageError(
      `--cv scores on all labeled images; ${clash.map((c) => flagName(c)).join(' and ')} ${clash.length > 1 ? 'ask' : 'asks'} for a validation split or set: give one or the other`,
    );
}

/**
 * A line saying that a held-out figure rests on `images` validation images and that `--cv` scores every labeled image
 * instead, when they are fewer than `FEW_VALIDATION_IMAGES` and the split was the command's own (not `--val`); else ''.
 */
export function fewValidationNote(images: number, cmd: Command): string {
  const worth = oneImageWorth(images);
  if (worth === null || cmd.getOptionValueSource('val') === 'cli') return '';
  return `note: that figure rests on ${images} validation image${images === 1 ? '' : 's'} (${worth}); --cv scores every labeled image by cross-validation instead\n`;
}

/** `--cv [folds]` as the recipes' `crossValidation` option. */
export function crossValidationOption(cv: true | number | undefined): true | { folds: number } | undefined {
  return cv === undefined ? undefined : cv === true ? true : { folds: cv };
}

/** On Ctrl-C during training: say how to resume (checkpoints are written atomically after each epoch). */
export function onInterrupt(out: string): () => void {
  const handler = () => {
    process.stderr.write(`\ninterrupted: the last finished epoch is checkpointed in ${out}; continue with the same command plus --resume\n`);
    process.exit(130);
  };
  process.once('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

export { oneOf };
