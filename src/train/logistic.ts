import * as tf from '@tensorflow/tfjs-core';
import { FrugalError } from '../util/errors.js';
import { softCrossEntropy } from './losses.js';

export interface LogisticOptions {
  /** L2 penalty on the weights (not the bias): loss = mean cross-entropy + l2 / 2 · ‖W‖². */
  l2: number;
  /** Full-batch optimisation steps (Adam). Default 300. */
  steps?: number;
  /** Adam's learning rate. Default 0.05. */
  lr?: number;
  /** Per-row weights of the cross-entropy (default 1 each); the mean is weighted. */
  rowWeights?: Float32Array;
}

export interface LogisticModel {
  /** dim × classes, row-major. */
  kernel: Float32Array;
  bias: Float32Array;
  dim: number;
  classes: number;
}

/**
 * Multinomial logistic regression (a linear softmax classifier) fitted to convergence on all rows at once:
 * the convex problem a new linear head on frozen features is, solved with a full-batch optimiser rather than
 * mini-batch SGD, so the result depends only on the data and `l2` (no seed, no epochs). `targets` are
 * probabilities per row (count × classes: one-hot labels, smoothed labels or a teacher's soft labels).
 */
export function fitLogistic(features: Float32Array, targets: Float32Array, count: number, dim: number, classes: number, o: LogisticOptions): LogisticModel {
  if (features.length !== count * dim) throw new FrugalError(`logistic regression: expected ${count}×${dim} features, got ${features.length}`);
  if (targets.length !== count * classes) throw new FrugalError(`logistic regression: expected ${count}×${classes} targets, got ${targets.length}`);
  if (!(o.l2 >= 0)) throw new FrugalError(`logistic regression: l2 must be ≥ 0 (got ${o.l2})`);
  const steps = o.steps ?? 300;
  const w = tf.tidy(() => tf.variable(tf.zeros([dim, classes])));
  const b = tf.tidy(() => tf.variable(tf.zeros([classes])));
  const x = tf.tensor2d(features, [count, dim]);
  const y = tf.tensor2d(targets, [count, classes]);
  const rw = o.rowWeights ? tf.tensor1d(o.rowWeights) : undefined;
  const optimizer = tf.train.adam(o.lr ?? 0.05);
  try {
    for (let s = 0; s < steps; s++) {
      optimizer.minimize(
        () => tf.tidy(() => tf.add(softCrossEntropy(tf.add(tf.matMul(x, w), b), y, rw), tf.mul(o.l2 / 2, tf.sum(tf.square(w)))) as tf.Scalar),
        false,
        [w, b],
      );
    }
    return { kernel: Float32Array.from(w.dataSync()), bias: Float32Array.from(b.dataSync()), dim, classes };
  } finally {
    optimizer.dispose();
    tf.dispose([w, b, x, y, ...(rw ? [rw] : [])]);
  }
}

/** Class probabilities (count × classes) of a fitted model. */
export function logisticProbs(m: LogisticModel, features: Float32Array, count: number): Float32Array {
  return tf.tidy(() => {
    const logits = tf.add(tf.matMul(tf.tensor2d(features, [count, m.dim]), tf.tensor2d(m.kernel, [m.dim, m.classes])), tf.tensor1d(m.bias));
    return Float32Array.from(tf.softmax(logits).dataSync());
  });
}
