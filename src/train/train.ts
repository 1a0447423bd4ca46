import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { FrugalError } from '../util/errors.js';
import { writeJsonAtomic, exists } from '../util/fs.js';
import { openDataset, type Dataset, type Problem } from '../data/sources.js';
import { decodeAll, type DecodedBatch } from '../data/loader.js';
import { stratifiedSplit, classBalance } from '../data/split.js';
import { inferImageSpec } from '../data/spec.js';
import type { ImageSpec, ResizePolicy } from '../data/decode.js';
import { getArch, listArchs } from '../models/zoo/index.js';
import { initWeights, countParams } from '../models/init.js';
import { fitPreprocessing } from '../models/preprocess.js';
import { saveModelDir, newMeta } from '../models/model-dir.js';
import { classificationReport, type ClassificationReport } from '../evaluate/metrics.js';
import { ArraySource, type BatchTransform } from './batches.js';
import { fit, predictProbs, pixelEncoder, type EpochLog, type FitOptions, type FitResult, type InputEncoder, type LossFn } from './loop.js';
import { oneHot, smoothTargets, balancedClassWeights } from './losses.js';
import { readCheckpoint } from './checkpoint.js';
import { batchSizeForMemory } from './memory.js';
import { augmentTransform } from './augmentation.js';
import { wholeModel, type Trainable } from './trainable.js';
import type { OptimizerKind } from './optimizers.js';
import type { ScheduleKind } from './schedule.js';

export const CHECKPOINT_FILE = 'checkpoint.bin';

/** Training hyper-parameters shared by every training command. */
export interface TrainHyper {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: OptimizerKind;
  weightDecay: number;
  schedule: ScheduleKind;
  warmupEpochs: number;
  labelSmoothing: number;
  classWeights: 'none' | 'balanced';
  patience?: number;
  clipNorm?: number;
  /** Train for at least this many steps (more epochs when the data set is tiny: 20 images are 1 step per epoch). */
  minSteps: number;
  seed: number;
}

export const DEFAULT_HYPER: TrainHyper = {
  epochs: 15,
  batchSize: 32,
  lr: 3e-3,
  optimizer: 'adamw',
  weightDecay: 5e-4,
  schedule: 'onecycle',
  warmupEpochs: 0,
  labelSmoothing: 0.1,
  classWeights: 'none',
  minSteps: 100,
  seed: 0,
};

/** Labeled images decoded for training: a train part and a held-out validation part. */
export interface PreparedData {
  dataset: Dataset;
  spec: ImageSpec;
  classes: string[];
  train: DecodedBatch;
  val: DecodedBatch;
  /** Files skipped (listing + decoding), with reasons. */
  problems: Problem[];
}

export interface DataOptions {
  /** Separate validation data (same classes); default: a stratified split of the training data. */
  valData?: string;
  valSplit?: number;
  size?: number;
  channels?: 1 | 3;
  resize?: ResizePolicy;
  /** Use exactly this spec (e.g. a pretrained model's input). */
  spec?: ImageSpec;
  /** Class names for IDX sources (in label order). */
  classNames?: string[];
  strict?: boolean;
  workers?: number;
  cache?: boolean | string;
  seed?: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

/** Open, decode and split labeled data for training. */
export async function prepareData(source: string, o: DataOptions = {}): Promise<PreparedData> {
  const dataset = await openDataset(source, { strict: o.strict, classNames: o.classNames });
  if (dataset.kind === 'unlabeled') throw new FrugalError(`${source}: training needs labeled images (root/<class>/<image> or a CSV), this folder has images but no class folders`);
  if (dataset.classes.length < 2) throw new FrugalError(`${source}: only one class (${dataset.classes[0]}); a classifier needs at least two`);
  const spec = o.spec ?? (await inferImageSpec(dataset, { size: o.size, channels: o.channels, resize: o.resize }));
  const decodeOpts = { spec, strict: o.strict, workers: o.workers, cache: o.cache };
  const all = await decodeAll(dataset.samples, { ...decodeOpts, onProgress: (d, t) => o.onProgress?.('decoding', d, t) });
  const problems = [...dataset.problems, ...all.problems];
  let train: DecodedBatch;
  let val: DecodedBatch;
  if (o.valData) {
    const valSet = await openDataset(o.valData, { strict: o.strict });
    const index = new Map(dataset.classes.map((c, i) => [c, i]));
    const samples = valSet.samples.map((s) => {
      const name = valSet.classes[s.label!]!;
      if (!index.has(name)) throw new FrugalError(`${o.valData}: class "${name}" is not in the training data (${dataset.classes.join(', ')})`);
      return { ...s, label: index.get(name)! };
    });
    train = all;
    val = await decodeAll(samples, { ...decodeOpts, onProgress: (d, t) => o.onProgress?.('decoding validation', d, t) });
    problems.push(...valSet.problems, ...val.problems);
  } else {
    const split = stratifiedSplit(all.labels, o.valSplit ?? 0.2, o.seed ?? 0);
    if (split.val.length === 0) throw new FrugalError(`${source}: too few images to hold any out for validation (give --val-split or --val)`);
    train = subset(all, split.train);
    val = subset(all, split.val);
  }
  const counts = classBalance(train.labels, dataset.classes.length).counts;
  const empty = counts.findIndex((c) => c === 0);
  if (empty >= 0) throw new FrugalError(`${source}: class "${dataset.classes[empty]}" has no usable training images`);
  return { dataset, spec, classes: dataset.classes, train, val, problems };
}

/** A decoded batch as loop inputs. */
export function asInputs(b: DecodedBatch): { inputs: Uint8Array; labels: Int32Array; count: number } {
  return { inputs: b.pixels, labels: b.labels, count: b.count };
}

/** The images at `indices` of a decoded batch. */
export function subset(b: DecodedBatch, indices: number[]): DecodedBatch {
  const size = b.spec.height * b.spec.width * b.spec.channels;
  const pixels = new Uint8Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  indices.forEach((src, i) => {
    pixels.set(b.pixels.subarray(src * size, (src + 1) * size), i * size);
    labels[i] = b.labels[src]!;
  });
  return {
    spec: b.spec,
    count: indices.length,
    pixels,
    labels,
    paths: indices.map((i) => b.paths[i]!),
    originalSizes: indices.map((i) => b.originalSizes[i]!),
    problems: [],
    cacheHits: 0,
  };
}

export interface FitOnDataOptions {
  hyper: TrainHyper;
  /** Checkpoint folder (the run's --out); resume from its checkpoint when `resume`. */
  runDir?: string;
  resume?: boolean;
  transform?: BatchTransform;
  loss?: LossFn;
  /** Extra targets per training image (soft pseudo-labels etc.); default one-hot of the labels. */
  targets?: Float32Array;
  teacher?: Float32Array;
  labeled?: Uint8Array;
  sampleWeights?: Float32Array;
  /** Identifies the run's settings; a resume with other settings is refused. */
  fingerprint?: Record<string, unknown>;
  /** Called when the batch size is lowered to fit the memory budget (`batchSizeForMemory`). */
  onBatchSize?: (used: number, requested: number) => void;
  onBatchEnd?: FitOptions['onBatchEnd'];
  onEpochEnd?: (log: EpochLog) => void | Promise<void>;
}

/** Fit a trainable on prepared images with the usual hyper-parameters (mid-level API). */
export async function fitOnData(
  trainable: Trainable,
  train: { inputs: Uint8Array | Float32Array; labels: Int32Array; count: number },
  val: { inputs: Uint8Array | Float32Array; labels: Int32Array; count: number } | null,
  encoder: InputEncoder,
  numClasses: number,
  o: FitOnDataOptions,
): Promise<FitResult> {
  const h = o.hyper;
  const targets = o.targets ?? smoothTargets(oneHot(train.labels, numClasses), numClasses, h.labelSmoothing);
  let weights = o.sampleWeights;
  if (h.classWeights === 'balanced') {
    const cw = balancedClassWeights(classBalance(train.labels, numClasses).counts);
    weights = Float32Array.from(train.labels, (y, i) => (y >= 0 ? cw[y]! : 1) * (o.sampleWeights?.[i] ?? 1));
  }
  // Large inputs train in smaller batches, so that a batch's activations stay within the memory budget.
  const batchSize = batchSizeForMemory(trainable.model, Math.min(h.batchSize, train.count));
  if (batchSize < Math.min(h.batchSize, train.count)) o.onBatchSize?.(batchSize, h.batchSize);
  const source = new ArraySource(train.inputs, targets, train.count, {
    batchSize,
    seed: h.seed,
    weights,
    teacher: o.teacher,
    labeled: o.labeled,
    transform: o.transform,
  });
  const checkpointFile = o.runDir ? path.join(o.runDir, CHECKPOINT_FILE) : undefined;
  let resume;
  if (o.resume && checkpointFile) {
    if (!(await exists(checkpointFile))) throw new FrugalError(`${o.runDir}: no checkpoint to resume from (${CHECKPOINT_FILE} is missing)`);
    resume = await readCheckpoint(checkpointFile);
    const saved = JSON.stringify(resume.info['fingerprint'] ?? null);
    if (o.fingerprint && saved !== JSON.stringify(o.fingerprint)) {
      throw new FrugalError(`${checkpointFile}: the checkpoint was made with other settings; resume with the same options (saved: ${saved})`);
    }
  }
  return fit(trainable, source, val, encoder, numClasses, {
    epochs: Math.max(h.epochs, Math.ceil(h.minSteps / source.batchesPerEpoch())),
    lr: h.lr,
    optimizer: { kind: h.optimizer, weightDecay: h.weightDecay },
    schedule: h.schedule,
    warmupEpochs: h.warmupEpochs,
    seed: h.seed,
    loss: o.loss,
    patience: h.patience,
    clipNorm: h.clipNorm,
    checkpointFile,
    resume,
    checkpointInfo: { fingerprint: o.fingerprint ?? null },
    onBatchEnd: o.onBatchEnd,
    onEpochEnd: o.onEpochEnd,
  });
}

export interface TrainOptions extends DataOptions {
  out: string;
  arch?: string;
  /** Online augmentation policy, e.g. `randaugment:n=2,m=9+mixup=0.2` (default none). */
  augment?: string;
  width?: number;
  dropout?: number;
  dropPath?: number;
  hyper?: Partial<TrainHyper>;
  resume?: boolean;
  onBatchEnd?: FitOnDataOptions['onBatchEnd'];
  onEpochEnd?: (log: EpochLog) => void | Promise<void>;
}

export interface TrainResult {
  out: string;
  accuracy: number;
  report: ClassificationReport;
  classes: string[];
  spec: ImageSpec;
  arch: string;
  params: number;
  trainImages: number;
  valImages: number;
  fit: FitResult;
  problems: Problem[];
  seconds: number;
}

/** Default architecture for a data set: small and quick on a CPU. */
export function defaultArch(spec: ImageSpec): string {
  return Math.max(spec.height, spec.width) <= 64 ? 'cnn-small' : 'mobilenetv2-0.35';
}

/** Train a classifier from scratch on labeled images and write a model directory (high-level API). */
export async function trainFromScratch(source: string, o: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const hyper: TrainHyper = { ...DEFAULT_HYPER, ...o.hyper };
  const data = await prepareData(source, { ...o, seed: hyper.seed });
  const archName = o.arch ?? defaultArch(data.spec);
  const arch = getArch(archName);
  if (!arch) throw new FrugalError(`unknown architecture "${archName}"; choose one of ${listArchs().map((a) => a.name).join(', ')}`);
  const archOptions = {
    inputShape: [data.spec.height, data.spec.width, data.spec.channels] as [number, number, number],
    numClasses: data.classes.length,
    dropout: o.dropout,
    dropPath: o.dropPath,
    width: o.width,
  };
  const model = arch.build(archOptions);
  initWeights(model, hyper.seed);
  const preprocessing = fitPreprocessing(data.train.pixels, data.spec.channels);
  await fsp.mkdir(o.out, { recursive: true });
  const trainable = wholeModel(model);
  const fingerprint = { source: path.resolve(source), arch: archName, archOptions, hyper, spec: data.spec, valSplit: o.valSplit ?? 0.2, val: o.valData ?? null, augment: o.augment ?? 'none' };
  const encoder = pixelEncoder(data.spec, preprocessing);
  const augmentation = o.augment ? augmentTransform(o.augment, data.spec) : null;
  const result = await fitOnData(trainable, asInputs(data.train), asInputs(data.val), encoder, data.classes.length, {
    hyper,
    transform: augmentation?.transform,
    runDir: o.out,
    resume: o.resume,
    fingerprint,
    onBatchEnd: o.onBatchEnd,
    onEpochEnd: o.onEpochEnd,
  }).finally(() => augmentation?.close());
  const probs = predictProbs(trainable, asInputs(data.val), encoder);
  const report = classificationReport(probs, data.val.labels, data.classes);
  const seconds = (performance.now() - t0) / 1000;
  await saveModelDir(
    o.out,
    model,
    newMeta({
      classes: data.classes,
      input: data.spec,
      preprocessing,
      arch: archName,
      archOptions: { width: o.width, dropout: o.dropout, dropPath: o.dropPath },
      params: countParams(model),
      metrics: { accuracy: report.accuracy, valImages: data.val.count, top3: report.topK['3'], macroF1: report.macroF1, ece: report.ece },
      training: { command: 'train', source: path.resolve(source), hyper, augment: o.augment ?? 'none', bestEpoch: result.bestEpoch, epochsRun: result.history.length, seconds },
    }),
  );
  await writeRunArtifacts(o.out, { history: result.history, report, classes: data.classes, val: data.val, probs });
  model.dispose();
  return {
    out: o.out,
    accuracy: report.accuracy,
    report,
    classes: data.classes,
    spec: data.spec,
    arch: archName,
    params: countParams(model),
    trainImages: data.train.count,
    valImages: data.val.count,
    fit: result,
    problems: data.problems,
    seconds,
  };
}

/** What the report needs from a training run: learning curves, held-out metrics and predictions. */
export async function writeRunArtifacts(
  dir: string,
  a: { history: EpochLog[]; report: ClassificationReport; classes: string[]; val: { paths: string[]; labels: Int32Array; count: number }; probs: Float32Array },
): Promise<void> {
  const k = a.classes.length;
  await writeJsonAtomic(path.join(dir, 'history.json'), a.history);
  await writeJsonAtomic(path.join(dir, 'metrics.json'), a.report);
  await writeJsonAtomic(path.join(dir, 'predictions.json'), {
    classes: a.classes,
    items: a.val.paths.map((p, i) => ({ path: p, label: a.val.labels[i], probs: Array.from(a.probs.subarray(i * k, (i + 1) * k), (v) => Math.round(v * 1e5) / 1e5) })),
  });
}
