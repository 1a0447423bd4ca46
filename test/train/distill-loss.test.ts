import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { distillationLoss } from '../../src/train/distill-loss.js';

before(async () => {
  await initBackend('wasm');
});

const softmax = (z: number[], T = 1) => {
  const m = Math.max(...z.map((v) => v / T));
  const e = z.map((v) => Math.exp(v / T - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

/** α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(y, s), for one sample, computed directly. */
function direct(s: number[], t: number[], y: number[], T: number, alpha: number, labeled = true): number {
  const pt = softmax(t, T);
  const ps = softmax(s, T);
  const kl = pt.reduce((a, p, j) => a + p * Math.log(p / ps[j]!), 0);
  const ce = -y.reduce((a, yj, j) => a + yj * Math.log(softmax(s)[j]!), 0);
  return alpha * T * T * kl + (labeled ? (1 - alpha) * ce : 0);
}

const S = [
  [2, -1, 0.5],
  [0.1, 0.2, 3],
];
const Tl = [
  [1.5, 0, -2],
  [-1, 2.5, 1],
];
const Y = [
  [1, 0, 0],
  [0, 0, 1],
];

for (const [T, alpha] of [
  [1, 0.5],
  [4, 0.9],
  [2.5, 0.3],
] as const) {
  test(`distillation loss equals the direct computation (T = ${T}, α = ${alpha})`, () => {
    const got = distillationLoss(tf.tensor2d(S), tf.tensor2d(Tl), tf.tensor2d(Y), { temperature: T, alpha }).dataSync()[0]!;
    const want = (direct(S[0]!, Tl[0]!, Y[0]!, T, alpha) + direct(S[1]!, Tl[1]!, Y[1]!, T, alpha)) / 2;
    assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);
  });
}

test('α = 0 gives plain cross-entropy with the labels; unlabeled samples keep the distillation term alone', () => {
  const ce = distillationLoss(tf.tensor2d(S), tf.tensor2d(Tl), tf.tensor2d(Y), { temperature: 4, alpha: 0 }).dataSync()[0]!;
  const want = (-Math.log(softmax(S[0]!)[0]!) - Math.log(softmax(S[1]!)[2]!)) / 2;
  assert.ok(Math.abs(ce - want) < 1e-5);
  const mixed = distillationLoss(tf.tensor2d(S), tf.tensor2d(Tl), tf.tensor2d(Y), { temperature: 3, alpha: 0.7 }, tf.tensor1d([1, 0])).dataSync()[0]!;
  const wantMixed = (direct(S[0]!, Tl[0]!, Y[0]!, 3, 0.7) + direct(S[1]!, Tl[1]!, Y[1]!, 3, 0.7, false)) / 2;
  assert.ok(Math.abs(mixed - wantMixed) < 1e-5, `${mixed} vs ${wantMixed}`);
  // Identical student and teacher: the distillation term vanishes.
  const same = distillationLoss(tf.tensor2d(Tl), tf.tensor2d(Tl), tf.tensor2d(Y), { temperature: 2, alpha: 1 }).dataSync()[0]!;
  assert.ok(Math.abs(same) < 1e-6);
});
