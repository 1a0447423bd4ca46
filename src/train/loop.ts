import * as tf from '@tensorflow/tfjs-core';
import { FrugalError } from '../util/errors.js';
import { concatFloat32 } from '../util/arrays.js';
import { seedNoise } from '../models/noise.js';
import { toInputTensor, type Preprocessing } from '../models/preprocess.js';
import { Optimizer, type OptimizerOptions } from './optimizers.js';
import { learningRateAt, type ScheduleKind } from './schedule.js';
import { softCrossEntropy } from './losses.js';
import { writeCheckpoint, type CheckpointState } from './checkpoint.js';
import type { Batch, BatchSource } from './batches.js';
import type { Trainable } from './trainable.js';
import { CallbackList, type Callback, type EpochLog } from './callbacks.js';

/** Tensors of a batch as the loss sees them. */
export interface BatchTensors {
  targets: tf.Tensor2D;
  weights?: tf.Tensor1D;
  teacher?: tf.Tensor2D;
  labeled?: tf.Tensor1D;
}

/** A loss from logits and the batch; the default is soft-target cross-entropy. */
export type LossFn = (logits: tf.Tensor2D, batch: BatchTensors) => tf.Scalar;

export const crossEntropyLoss: LossFn = (logits, b) => softCrossEntropy(logits, b.targets, b.weights);

/** Held-out inputs (images or feature vectors) for per-epoch validation. */
export interface EvalSet {
  inputs: InputData;
  labels: Int32Array;
  count: number;
}

/** Stored inputs: image bytes (N×H×W×C) or feature vectors (N×D). */
export type InputData = Uint8Array | Float32Array;

/** Turns stored inputs into the model's input tensor. */
export interface InputEncoder {
  /** Values per sample. */
  size: number;
  encode(data: InputData, count: number): tf.Tensor;
}

/** Image bytes → normalised NHWC float tensor. */
export function pixelEncoder(spec: { height: number; width: number; channels: number }, pre: Preprocessing): InputEncoder {
  return {
    size: spec.height * spec.width * spec.channels,
    encode: (data, count) => toInputTensor(data as Uint8Array, count, spec.height, spec.width, spec.channels, pre),
  };
}

/** Feature vectors → N×D tensor. */
export function featureEncoder(dim: number): InputEncoder {
  return { size: dim, encode: (data, count) => tf.tensor2d(data as Float32Array, [count, dim]) };
}

export interface FitOptions {
  epochs: number;
  lr: number;
  optimizer: OptimizerOptions;
  schedule: ScheduleKind;
  warmupEpochs?: number;
  seed: number;
  loss?: LossFn;
  /** Stop when validation accuracy has not improved for this many epochs. */
  patience?: number;
  /** Restore the weights of the best validation epoch at the end (default true when there is validation). */
  keepBest?: boolean;
  /** Clip the global gradient norm. */
  clipNorm?: number;
  /** Write a checkpoint here after every epoch. */
  checkpointFile?: string;
  /** Continue from this checkpoint. */
  resume?: CheckpointState;
  /** Anything to store in checkpoints beside the loop's own state. */
  checkpointInfo?: Record<string, unknown>;
  callbacks?: readonly Callback[];
}

export interface FitResult {
  history: EpochLog[];
  bestEpoch: number | null;
  bestValAccuracy: number | null;
  stoppedEarly: boolean;
  /** Epoch the run started from (> 0 when resumed). */
  resumedFrom: number;
}

/** The optimised weights and all other state (BatchNorm statistics) of the model. */
function stateVariables(t: Trainable): tf.Variable[] {
  return t.model.weights.map((w) => w.read() as tf.Variable);
}

function readWeights(t: Trainable): Float32Array[] {
  return stateVariables(t)
    .map((v) => v.dataSync() as Float32Array)
    .map((a) => new Float32Array(a));
}

function writeWeights(t: Trainable, values: Float32Array[]): void {
  const vars = stateVariables(t);
  if (values.length !== vars.length) throw new FrugalError(`checkpoint holds ${values.length} weights, the model has ${vars.length}`);
  vars.forEach((v, i) => {
    if (values[i]!.length !== v.size) throw new FrugalError('checkpoint does not match the model (weight sizes differ)');
    const x = tf.tensor(values[i]!, v.shape);
    v.assign(x);
    x.dispose();
  });
}

function batchTensors(b: Batch, numClasses: number): BatchTensors {
  return {
    targets: tf.tensor2d(b.targets, [b.count, numClasses]),
    weights: b.weights ? tf.tensor1d(b.weights) : undefined,
    teacher: b.teacher ? tf.tensor2d(b.teacher, [b.count, numClasses]) : undefined,
    labeled: b.labeled ? tf.tensor1d(Float32Array.from(b.labeled)) : undefined,
  };
}

/** Index of the largest of each row of k values. */
export function argmaxRows(values: Float32Array, k: number): Int32Array {
  const n = values.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (values[i * k + j]! > values[i * k + best]!) best = j;
    out[i] = best;
  }
  return out;
}

/** Probabilities (N×K) of a trainable's model on images, in inference mode, in batches. */
export function predictProbs(t: Trainable, set: { inputs: InputData; count: number }, enc: InputEncoder, batchSize = 64): Float32Array {
  const size = enc.size;
  const parts: Float32Array[] = [];
  for (let s = 0; s < set.count; s += batchSize) {
    const n = Math.min(batchSize, set.count - s);
    const probs = tf.tidy(() => {
      const x = enc.encode(set.inputs.subarray(s * size, (s + n) * size), n);
      return tf.softmax(t.forward(x as tf.Tensor4D, false));
    });
    parts.push(probs.dataSync() as Float32Array);
    probs.dispose();
  }
  return concatFloat32(...parts);
}

/** A held-out score; the loss (mean negative log-likelihood) may be unknown. */
export interface HeldOutScore {
  accuracy: number;
  loss?: number | null;
}

/**
 * Whether `a` scores better than `b` (or there is no `b`): higher accuracy wins; at equal accuracy, the lower
 * loss when both are known. Small held-out sets tie often: in best-model keeping, keeping the first epoch that
 * reached a tied accuracy kept barely trained models. The cut search and the augmentation search rank by it too.
 */
export function isBetter(a: HeldOutScore, b: HeldOutScore | null): boolean {
  if (b === null || a.accuracy > b.accuracy) return true;
  return a.accuracy === b.accuracy && a.loss != null && b.loss != null && a.loss < b.loss;
}

/** A sort comparator by `isBetter`: the better score first, 0 on a full tie (a stable sort keeps the earlier). */
export function compareScores(a: HeldOutScore, b: HeldOutScore): number {
  return isBetter(a, b) ? -1 : isBetter(b, a) ? 1 : 0;
}

function evaluateSet(t: Trainable, set: EvalSet, enc: InputEncoder, numClasses: number): { loss: number; accuracy: number } {
  const probs = predictProbs(t, set, enc);
  let correct = 0;
  let nll = 0;
  const pred = argmaxRows(probs, numClasses);
  for (let i = 0; i < set.count; i++) {
    const y = set.labels[i]!;
    if (pred[i] === y) correct++;
    nll -= Math.log(Math.max(probs[i * numClasses + y]!, 1e-12));
  }
  return { loss: nll / Math.max(1, set.count), accuracy: correct / Math.max(1, set.count) };
}

/**
 * The training loop: seeded, with a learning-rate schedule, optional validation with early stopping
 * and best-model keeping, an atomic checkpoint after each epoch, and a guard against NaN or exploding loss.
 */
export async function fit(t: Trainable, source: BatchSource, val: EvalSet | null, enc: InputEncoder, numClasses: number, o: FitOptions): Promise<FitResult> {
  const lossFn = o.loss ?? crossEntropyLoss;
  const callbacks = new CallbackList(o.callbacks);
  const optimizer = new Optimizer(t.params, o.optimizer);
  const steps = source.batchesPerEpoch();
  const totalSteps = steps * o.epochs;
  const keepBest = (o.keepBest ?? true) && val !== null;
  const vars = t.params.map((p) => p.variable);
  const history: EpochLog[] = [];
  let best: CheckpointState['best'] = null;
  let sinceBest = 0;
  let startEpoch = 0;
  if (o.resume) {
    writeWeights(t, o.resume.weights);
    optimizer.setState(o.resume.optimizer);
    best = o.resume.best;
    history.push(...((o.resume.info['history'] as EpochLog[]) ?? []));
    sinceBest = (o.resume.info['sinceBest'] as number) ?? 0;
    startEpoch = o.resume.epoch;
  }
  let stoppedEarly = false;
  let firstLoss: number | null = history[0]?.loss ?? null;
  try {
    for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
      if (o.patience !== undefined && val && sinceBest >= o.patience) {
        stoppedEarly = true;
        break;
      }
      seedNoise(o.seed * 1000003 + epoch);
      const t0 = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let step = 0;
      let lr = o.lr;
      for await (const batch of source.epoch(epoch)) {
        lr = learningRateAt(epoch * steps + step, { kind: o.schedule, lr: o.lr, totalSteps, warmupSteps: Math.round((o.warmupEpochs ?? 0) * steps) });
        const { loss, hits } = trainStep(t, optimizer, vars, batch, enc, numClasses, lossFn, lr, o.clipNorm);
        if (!Number.isFinite(loss) || (firstLoss !== null && loss > Math.max(50, 100 * firstLoss))) {
          throw new FrugalError(
            (n) =>
              `training diverged at epoch ${epoch + 1}, step ${step + 1}: ` +
              `the loss is ${Number.isFinite(loss) ? `${loss.toFixed(1)} (exploding)` : String(loss)}. ` +
              `Lower the learning rate (${n('lr')}, now ${o.lr}), add warm-up (${n('warmupEpochs')}), or clip gradients (${n('clipNorm', 1)}); ` +
              'check the data for unusual images.',
          );
        }
        if (firstLoss === null && step === 0) firstLoss = loss;
        lossSum += loss * batch.count;
        correct += hits;
        seen += batch.count;
        step++;
        callbacks.onBatchEnd({ epoch, step, steps, loss: lossSum / seen, accuracy: correct / seen, imagesPerSecond: seen / ((performance.now() - t0) / 1000) });
      }
      const trainSeconds = (performance.now() - t0) / 1000;
      const v = val ? evaluateSet(t, val, enc, numClasses) : null;
      const log: EpochLog = {
        epoch: epoch + 1,
        loss: lossSum / Math.max(1, seen),
        accuracy: correct / Math.max(1, seen),
        valLoss: v?.loss ?? null,
        valAccuracy: v?.accuracy ?? null,
        lr,
        seconds: (performance.now() - t0) / 1000,
        imagesPerSecond: seen / trainSeconds,
      };
      history.push(log);
      if (v && isBetter(v, best && { accuracy: best.score, loss: best.loss })) {
        best = { epoch: epoch + 1, score: v.accuracy, loss: v.loss, weights: keepBest ? readWeights(t) : [] };
        sinceBest = 0;
      } else if (v) {
        sinceBest++;
      }
      if (o.checkpointFile) {
        await writeCheckpoint(o.checkpointFile, {
          epoch: epoch + 1,
          weights: readWeights(t),
          optimizer: optimizer.getState(),
          best,
          info: { ...(o.checkpointInfo ?? {}), history, sinceBest },
        });
      }
      await callbacks.onEpochEnd(log);
    }
    if (keepBest && best && best.weights.length) writeWeights(t, best.weights);
  } finally {
    optimizer.dispose();
  }
  return { history, bestEpoch: best?.epoch ?? null, bestValAccuracy: best?.score ?? null, stoppedEarly, resumedFrom: startEpoch };
}

function trainStep(
  t: Trainable,
  optimizer: Optimizer,
  vars: tf.Variable[],
  batch: Batch,
  enc: InputEncoder,
  numClasses: number,
  lossFn: LossFn,
  lr: number,
  clipNorm?: number,
): { loss: number; hits: number } {
  let predicted: tf.Tensor | null = null;
  const lossValue = tf.tidy(() => {
    const x = enc.encode(batch.inputs, batch.count);
    const bt = batchTensors(batch, numClasses);
    const { value, grads } = tf.variableGrads(() => {
      const logits = t.forward(x as tf.Tensor4D, true);
      predicted = tf.keep(tf.argMax(logits, -1));
      return lossFn(logits, bt);
    }, vars);
    let gradList = vars.map((v) => grads[v.name]!);
    if (clipNorm) {
      const norm = tf.sqrt(tf.addN(gradList.map((g) => tf.sum(tf.square(g)))));
      const scale = tf.minimum(1, tf.div(clipNorm, tf.add(norm, 1e-6)));
      gradList = gradList.map((g) => tf.mul(g, scale));
    }
    optimizer.step(gradList, lr);
    return value;
  });
  const loss = lossValue.dataSync()[0]!;
  lossValue.dispose();
  const pred = (predicted as unknown as tf.Tensor).dataSync() as Int32Array;
  (predicted as unknown as tf.Tensor).dispose();
  const truth = argmaxRows(batch.targets, numClasses);
  let hits = 0;
  for (let i = 0; i < batch.count; i++) if (pred[i] === truth[i]) hits++;
  return { loss, hits };
}
