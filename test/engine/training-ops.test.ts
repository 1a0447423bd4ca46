/**
 * Fused training ops and gradient overrides (src/engine/training-ops.ts,
 * src/engine/wasm-kernels.ts) vs the cpu backend running tfjs-core's own
 * gradients.
 */
import { test, before } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { setup, batchNormChain, compareWithCpu, coreExports, seededTensor } from './helpers.js';

before(setup);
const T = seededTensor;
// tfjs-layers calls moments through the CommonJS exports object (patched on wasm).
const core = coreExports;
const compare = (name: string, fn: () => tf.Tensor[], tol = 1e-5, refOriginal: string[] = []) => compareWithCpu(name, fn, tol, refOriginal);

test('batch-norm training chain (moments + batchNorm): values and all gradients', async () => {
  for (const shape of [
    [4, 5, 5, 8],
    [3, 7, 12],
    [64, 16],
  ]) {
    const fn = () => batchNormChain(shape).outputs;
    await compare(`bn ${shape}`, fn, 1e-4, ['FusedBatchNorm', 'Relu']);
  }
});

test('moments with keepDims and non-leading axes fall back correctly', async () => {
  await compare('moments keepDims', () => {
    const r = core.moments(T([2, 3, 4, 8], 5), [0, 1, 2], true);
    return [r.mean, r.variance];
  });
  await compare('moments axis 1', () => {
    const r = core.moments(T([2, 3, 8], 6), 1);
    return [r.mean, r.variance];
  });
});

test('Relu / Minimum / Maximum gradients (scalar and tensor operands)', async () => {
  const fn = () => {
    const x = T([3, 5, 5, 8], 7, 8);
    const y = T([3, 5, 5, 8], 8, 8);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.add(tf.add(tf.minimum(6, tf.relu(a)), tf.maximum(tf.scalar(-1), a)), tf.add(tf.minimum(a, b), tf.maximum(b, 2))), T([3, 5, 5, 8], 9))),
    );
    return g([x, y]);
  };
  await compare('relu/min/max', fn, 1e-6, ['Relu', 'Minimum', 'Maximum']);
  // odd sizes (scalar tail path)
  await compare('relu odd', () => tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.minimum(tf.relu(a), 0.5), T([7, 3], 10))))([T([7, 3], 11)]), 1e-6, [
    'Relu',
    'Minimum',
  ]);
});

test('ClipByValue gradient (ReLU6 as tfjs-layers builds it), on the bounds too', async () => {
  const fn = () => {
    // Values on the bounds (0 and 6) count as inside, as in tfjs-core's gradient.
    const x = tf.tidy(() => tf.concat([tf.mul(T([3, 5, 5, 8], 15), 8), tf.fill([1, 5, 5, 8], 6), tf.zeros([1, 5, 5, 8])]));
    return tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.clipByValue(tf.relu(a), 0, 6), T([5, 5, 5, 8], 16))))([x]);
  };
  await compare('clip', fn, 1e-6, ['ClipByValue', 'Relu']);
  await compare('clip odd', () => tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.clipByValue(a, -0.5, 0.25), T([7, 3], 17))))([T([7, 3], 18)]), 1e-6, [
    'ClipByValue',
  ]);
});

test('Mean / Sum gradients', async () => {
  const fn = () =>
    tf.grads((a: tf.Tensor) => tf.add(tf.sum(tf.mul(tf.mean(a, [0, 1, 2]), T([8], 12))), tf.sum(tf.mul(tf.sum(a, [1, 2], true), T([2, 1, 1, 8], 13)))))([
      T([2, 3, 4, 8], 14),
    ]);
  await compare('mean/sum grads', fn, 1e-6, ['Mean', 'Sum']);
});
