import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { fitLogistic, logisticProbs } from '../../src/train/logistic.js';
import { oneHot } from '../../src/train/losses.js';
import { fitHead } from '../../src/train/head-fit.js';
import { buildHead } from '../../src/models/head.js';
import { DEFAULT_HYPER } from '../../src/train/fit-on-data.js';
import { headTrainable } from '../../src/train/trainable.js';
import { featureEncoder, predictProbs } from '../../src/train/loop.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

/** Three Gaussian classes in `dim` dimensions (class means on the first three axes, noise `sd`). */
function blobs(count: number, dim: number, sd: number, seed: number): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(count * dim);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    y[i] = i % 3;
    for (let j = 0; j < dim; j++) x[i * dim + j] = (j === y[i] ? 2.5 : 0) + sd * rng.normal();
  }
  return { x, y };
}

test('fitLogistic reaches the optimum: the gradient of the penalised loss vanishes', () => {
  const n = 90;
  const d = 12;
  const { x, y } = blobs(n, d, 1, 1);
  const l2 = 0.05;
  const before = tf.memory().numTensors;
  const m = fitLogistic(x, oneHot(y, 3), n, d, 3, { l2, steps: 600 });
  assert.equal(tf.memory().numTensors, before, 'no tensor leak');
  const p = logisticProbs(m, x, n);
  // ∂/∂W = Xᵀ(P − Y)/n + l2·W, ∂/∂b = Σ(P − Y)/n: both ≈ 0 at the minimum.
  let norm = 0;
  for (let j = 0; j < d; j++)
    for (let c = 0; c < 3; c++) {
      let g = l2 * m.kernel[j * 3 + c]!;
      for (let i = 0; i < n; i++) g += (x[i * d + j]! * (p[i * 3 + c]! - (y[i] === c ? 1 : 0))) / n;
      norm += g * g;
    }
  for (let c = 0; c < 3; c++) {
    let g = 0;
    for (let i = 0; i < n; i++) g += (p[i * 3 + c]! - (y[i] === c ? 1 : 0)) / n;
    norm += g * g;
  }
  assert.ok(Math.sqrt(norm) < 1e-3, `gradient norm ${Math.sqrt(norm)}`);
  const weightNorm = (mm: typeof m) => Math.sqrt(mm.kernel.reduce((a, v) => a + v * v, 0));
  assert.ok(weightNorm(fitLogistic(x, oneHot(y, 3), n, d, 3, { l2: 1 })) < weightNorm(m) / 2, 'a larger penalty shrinks the weights');
});

test('fitLogistic learns: held-out accuracy well above chance, row weights count', () => {
  const train = blobs(60, 20, 1, 2);
  const held = blobs(300, 20, 1, 3);
  const m = fitLogistic(train.x, oneHot(train.y, 3), 60, 20, 3, { l2: 0.01 });
  const p = logisticProbs(m, held.x, 300);
  let right = 0;
  for (let i = 0; i < 300; i++) {
    const row = [...p.subarray(i * 3, i * 3 + 3)];
    if (row.indexOf(Math.max(...row)) === held.y[i]) right++;
  }
  assert.ok(right / 300 > 0.7, `held-out accuracy ${right / 300} (chance 0.33)`);
  // Zero weight on every class-0 row: class 0 is never predicted confidently.
  const w = Float32Array.from(train.y, (c) => (c === 0 ? 0 : 1));
  const m0 = fitLogistic(train.x, oneHot(train.y, 3), 60, 20, 3, { l2: 0.01, rowWeights: w });
  const p0 = logisticProbs(m0, held.x, 300);
  const meanClass0 = p0.filter((_, i) => i % 3 === 0).reduce((a, v) => a + v, 0) / 300;
  assert.ok(meanClass0 < 0.1, `class 0 mean probability ${meanClass0}`);
});

test('fitHead fits a linear head in full batch (the saved layer predicts what the fit does); other heads train by SGD', async () => {
  const train = blobs(60, 16, 1, 4);
  const held = blobs(150, 16, 1, 5);
  const set = { inputs: train.x, labels: train.y, count: 60 };
  const val = { inputs: held.x, labels: held.y, count: 150 };
  const hyper = { ...DEFAULT_HYPER, epochs: 3, minSteps: 0, labelSmoothing: 0 };
  const linear = buildHead(16, 3);
  const fit = await fitHead(linear, set, val, 3, { head: { l2: 0.01 }, hyper });
  assert.equal(fit.history.length, 1);
  const m = fitLogistic(train.x, oneHot(train.y, 3), 60, 16, 3, { l2: 0.01 });
  const want = logisticProbs(m, held.x, 150);
  const got = predictProbs(headTrainable(linear), { inputs: held.x, count: 150 }, featureEncoder(16));
  assert.ok(
    got.every((v, i) => Math.abs(v - want[i]!) < 1e-4),
    'the head layer holds the fitted weights',
  );
  assert.ok(fit.bestValAccuracy! > 0.7, `validation accuracy ${fit.bestValAccuracy}`);
  const mlp = buildHead(16, 3, { hidden: 8, dropout: 0.2 });
  const sgd = await fitHead(mlp, set, val, 3, { head: { hidden: 8, dropout: 0.2 }, hyper });
  assert.equal(sgd.history.length, 3, 'three SGD epochs');
  linear.dispose();
  mlp.dispose();
});
