import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { FrugalError } from '../util/errors.js';
import { exists } from '../util/fs.js';
import { classBalance } from '../data/split.js';
import { ArraySource, type BatchTransform } from './batches.js';
import { fit, type FitResult, type InputEncoder, type LossFn } from './loop.js';
import { CallbackList, type Callback } from './callbacks.js';
import { oneHot, smoothTargets, balancedClassWeights } from './losses.js';
import { readCheckpoint, CHECKPOINT_FILE } from './checkpoint.js';
import { batchSizeForMemory } from './memory.js';
import type { Trainable } from './trainable.js';
import type { OptimizerKind } from './optimizers.js';
import type { ScheduleKind } from './schedule.js';

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

export interface FitOnDataOptions {
  hyper: TrainHyper;
  /** Checkpoint folder (the run's `out`); resume from its checkpoint when `resume`. */
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
  callbacks?: readonly Callback[];
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
  // The checkpoint records the settings and a digest of what it was trained on; a resume continues only the same run.
  const inputs = checkpointFile ? inputsDigest(train, val, targets, weights, o.teacher, o.labeled) : null;
  let resume;
  if (o.resume && checkpointFile) {
    if (!(await exists(checkpointFile))) throw new FrugalError(`${o.runDir}: no checkpoint to resume from (${CHECKPOINT_FILE} is missing)`);
    let redo: string | null = null;
    try {
      resume = await readCheckpoint(checkpointFile);
    } catch (err) {
      if (!(err instanceof FrugalError)) throw err;
      redo = err.message;
    }
    if (resume) {
      const saved = JSON.stringify(resume.info['fingerprint'] ?? null);
      if (o.fingerprint && saved !== JSON.stringify(o.fingerprint)) {
        throw new FrugalError(`${checkpointFile}: the checkpoint was made with other settings; resume with the same options (saved: ${saved})`);
      }
      const savedInputs = resume.info['inputs'];
      if (savedInputs !== undefined && savedInputs !== inputs) redo = `${checkpointFile}: the checkpoint was trained on other images or labels`;
    }
    if (redo) {
      new CallbackList(o.callbacks).onNotice(`${redo}; training starts again from the first epoch`);
      resume = undefined;
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
    checkpointInfo: { fingerprint: o.fingerprint ?? null, inputs },
    callbacks: o.callbacks,
  });
}

/** sha256 over everything a fit learns from: inputs, labels, targets, sample weights, teacher logits, validation images. */
function inputsDigest(
  train: { inputs: Uint8Array | Float32Array; labels: Int32Array; count: number },
  val: { inputs: Uint8Array | Float32Array; labels: Int32Array; count: number } | null,
  ...extra: Array<Float32Array | Uint8Array | undefined>
): string {
  const hash = createHash('sha256');
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (const part of [train.inputs, train.labels, ...extra, val?.inputs, val?.labels]) {
    hash.update(part ? `${part.constructor.name}:${part.byteLength};` : 'none;');
    if (part) hash.update(bytes(part));
  }
  return hash.digest('hex');
}
