import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { FrugalError } from '../util/errors.js';

/**
 * Per-feature standardisation for head training on frozen features.
 *
 * Pooled ReLU features come on very different scales (many near zero, a few large); a head trained on
 * them as they are learns slowly and unevenly, which at a handful of labels per class costs a lot of
 * accuracy (on Scarce-FMNIST k=5, 20 points). The head is trained on (f − mean) / std, with the statistics
 * of its training features, and the standardisation is then folded into the head's first dense layer,
 * so the saved model takes raw features and its architecture does not change.
 */
export interface FeatureStats {
  mean: Float32Array;
  std: Float32Array;
}

/** Mean and standard deviation of each feature over `count` rows (std floored so constant features stay finite). */
export function featureStats(features: Float32Array, count: number, dim: number, floor = 1e-3): FeatureStats {
  if (count === 0 || features.length !== count * dim) throw new FrugalError(`feature statistics: expected ${count}×${dim} values, got ${features.length}`);
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    const row = i * dim;
    for (let j = 0; j < dim; j++) mean[j]! += features[row + j]!;
  }
  for (let j = 0; j < dim; j++) mean[j]! /= count;
  for (let i = 0; i < count; i++) {
    const row = i * dim;
    for (let j = 0; j < dim; j++) sq[j]! += (features[row + j]! - mean[j]!) ** 2;
  }
  const std = new Float32Array(dim);
  for (let j = 0; j < dim; j++) std[j] = Math.sqrt(sq[j]! / count) + floor;
  return { mean: Float32Array.from(mean), std };
}

/** (f − mean) / std, row by row (a new array). */
export function standardize(features: Float32Array, stats: FeatureStats): Float32Array {
  const dim = stats.mean.length;
  const out = new Float32Array(features.length);
  for (let i = 0; i < features.length; i += dim) {
    for (let j = 0; j < dim; j++) out[i + j] = (features[i + j]! - stats.mean[j]!) / stats.std[j]!;
  }
  return out;
}

/**
 * Fold the standardisation into the first dense layer of a head whose input is standardised features:
 * W·((f − μ)/σ) + b = (W/σ)·f + (b − (μ/σ)·W). Afterwards the head takes raw features.
 */
export function foldStandardization(head: tfl.LayersModel, stats: FeatureStats): void {
  const dense = head.layers.find((l) => l.getClassName() === 'Dense');
  if (!dense) throw new FrugalError('the head has no dense layer to fold the feature standardisation into');
  const [kernel, bias] = dense.getWeights();
  if (!kernel || !bias || kernel.shape[0] !== stats.mean.length) {
    throw new FrugalError(`cannot fold a standardisation of ${stats.mean.length} features into layer "${dense.name}"`);
  }
  const folded = tf.tidy(() => {
    const scale = tf.reshape(tf.div(1, tf.tensor1d(stats.std)), [-1, 1]);
    const k = tf.mul(kernel, scale);
    const b = tf.sub(bias, tf.reshape(tf.matMul(tf.tensor2d(stats.mean, [1, stats.mean.length]), k), [-1]));
    return [k, b];
  });
  dense.setWeights(folded);
  tf.dispose(folded);
}
