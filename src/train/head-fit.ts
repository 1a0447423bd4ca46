import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { FrugalError } from '../util/errors.js';
import type { HeadOptions } from '../models/head.js';
import { LOGITS } from '../models/zoo/registry.js';
import { fitOnData, type TrainHyper } from './fit-on-data.js';
import { featureEncoder, type FitResult } from './loop.js';
import { headTrainable } from './trainable.js';
import { fitLogistic, logisticProbs } from './logistic.js';
import { oneHot, smoothTargets } from './losses.js';
import { featureStats, standardize } from './standardize.js';
import { CallbackList, type Callback } from './callbacks.js';

/** Rows of (standardised) features with their labels. */
export interface FeatureSet {
  inputs: Float32Array;
  labels: Int32Array;
  count: number;
}

/** A head fitted by full-batch logistic regression: no hidden layer, no dropout, and the `full-batch` solver (the default for such a head). */
export function isFullBatchHead(o: HeadOptions): boolean {
  return !o.hidden && !o.dropout && (o.solver ?? 'full-batch') === 'full-batch';
}

/**
 * Train a new head (one feature part's, as `buildHead`/`buildPartHead` make it) on standardised features. A linear
 * head is a convex problem and by default is solved as one: L2-regularised multinomial logistic regression on all
 * rows at once (`head.l2`), with no epochs, seed or learning rate to tune. A head with a hidden layer or dropout
 * (or `solver: 'sgd'`) is trained by the mini-batch loop (`hyper`).
 */
export async function fitHead(
  head: tfl.LayersModel,
  set: FeatureSet,
  val: FeatureSet | null,
  numClasses: number,
  o: { head: HeadOptions; hyper: TrainHyper; callbacks?: readonly Callback[] },
): Promise<FitResult> {
  const dim = head.inputs[0]!.shape[1] as number;
  if (!isFullBatchHead(o.head)) {
    return fitOnData(headTrainable(head), set, val, featureEncoder(dim), numClasses, { hyper: o.hyper, callbacks: o.callbacks });
  }
  const dense = head.layers.find((l) => l.name.startsWith(LOGITS) && l.getClassName() === 'Dense');
  if (!dense) throw new FrugalError(`head "${head.name}" has no dense ${LOGITS} layer to fit`);
  const t0 = performance.now();
  const l2 = o.head.l2 ?? DEFAULT_HEAD_L2;
  const m = fitLogistic(set.inputs, smoothTargets(oneHot(set.labels, numClasses), numClasses, o.hyper.labelSmoothing), set.count, dim, numClasses, { l2 });
  const kernel = tf.tensor2d(m.kernel, [dim, numClasses]);
  const bias = tf.tensor1d(m.bias);
  dense.setWeights([kernel, bias]);
  tf.dispose([kernel, bias]);
  const score = (s: FeatureSet) => {
    const p = logisticProbs(m, s.inputs, s.count);
    let loss = 0;
    let right = 0;
    for (let i = 0; i < s.count; i++) {
      const row = p.subarray(i * numClasses, (i + 1) * numClasses);
      loss -= Math.log(Math.max(1e-7, row[s.labels[i]!]!));
      if (row.indexOf(Math.max(...row)) === s.labels[i]) right++;
    }
    return { loss: loss / s.count, accuracy: right / s.count };
  };
  const train = score(set);
  const held = val ? score(val) : null;
  const seconds = (performance.now() - t0) / 1000;
  const log = {
    epoch: 1,
    loss: train.loss,
    accuracy: train.accuracy,
    valLoss: held?.loss ?? null,
    valAccuracy: held?.accuracy ?? null,
    lr: 0,
    seconds,
    imagesPerSecond: set.count / Math.max(seconds, 1e-6),
    fullBatch: true as const,
  };
  await new CallbackList(o.callbacks).onEpochEnd(log);
  return { history: [log], bestEpoch: null, bestValAccuracy: held?.accuracy ?? null, stoppedEarly: false, resumedFrom: 0 };
}

/** The L2 penalty of a linear head when none is given (see TRANSFER_HEAD in recipes/transfer for how it was chosen). */
export const DEFAULT_HEAD_L2 = 0.01;

/** A fitted linear head on raw features: class probabilities (count × classes) of feature rows. */
export interface LinearHead {
  classes: number;
  probs(features: Float32Array, count: number): Float32Array;
}

/**
 * The new head of frozen-trunk transfer with its defaults, as plain arrays: features standardised with the training
 * rows' statistics, then L2-regularised logistic regression (penalty `l2`, no label smoothing), as `fitHead` fits a
 * linear head. For recipes that need a head's probabilities, not a model (ranking images for labeling).
 */
export function fitLinearHead(set: FeatureSet, dim: number, numClasses: number, l2 = DEFAULT_HEAD_L2): LinearHead {
  const stats = featureStats(set.inputs, set.count, dim);
  const m = fitLogistic(standardize(set.inputs, stats), oneHot(set.labels, numClasses), set.count, dim, numClasses, { l2 });
  return { classes: numClasses, probs: (features, count) => logisticProbs(m, standardize(features, stats), count) };
}
