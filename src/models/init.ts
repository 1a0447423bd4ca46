import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../util/rng.js';

/**
 * Re-initialise every weight of a model from a seeded generator, so a model is the same given a
 * seed (tfjs's initialisers draw from an unseeded one). He-normal for convolution kernels,
 * Glorot-uniform for dense kernels, zeros for biases and BN betas/means, ones for BN gammas/variances.
 */
export function initWeights(model: tfl.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  for (const layer of model.layers) {
    const weights = layer.weights;
    if (weights.length === 0) continue;
    const values = weights.map((w) => {
      const shape = w.shape as number[];
      const short = w.originalName.split('/').pop()!;
      const size = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(size);
      if (short === 'gamma' || short === 'moving_variance') data.fill(1);
      else if (short === 'kernel' && shape.length === 2) {
        const limit = Math.sqrt(6 / (shape[0]! + shape[1]!));
        for (let i = 0; i < size; i++) data[i] = rng.uniform(-limit, limit);
      } else if (short === 'kernel' || short === 'depthwise_kernel') {
        const fanIn = short === 'depthwise_kernel' ? shape[0]! * shape[1]! : shape.slice(0, -1).reduce((a, b) => a * b, 1);
        const std = Math.sqrt(2 / fanIn);
        for (let i = 0; i < size; i++) data[i] = truncatedNormal(rng) * std;
      }
      return tf.tensor(data, shape);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

function truncatedNormal(rng: Rng): number {
  for (;;) {
    const z = rng.normal();
    if (Math.abs(z) <= 2) return z / 0.8796; // keep unit variance after truncation at 2σ
  }
}

/** Number of scalar parameters (trainable and not). */
export function countParams(model: tfl.LayersModel): number {
  return model.weights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
}
