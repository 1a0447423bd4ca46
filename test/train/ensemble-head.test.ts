import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { buildHead, buildPartHead, ensembleHeads, stackHead } from '../../src/models/head.js';
import { initWeights } from '../../src/models/init.js';
import { loadModelDir, saveModelDir, newMeta } from '../../src/models/model-dir.js';
import { headTrainable, logitsForward } from '../../src/train/trainable.js';
import { crossValidateHead, stratifiedFolds } from '../../src/train/head-cv.js';
import { pairedComparison, signTestP } from '../../src/evaluate/significance.js';
import { splitParts } from '../../src/train/features.js';
import { DEFAULT_HYPER } from '../../src/train/fit-on-data.js';
import { HEAD_HYPER } from '../../src/recipes/transfer.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose, tempDir } from '../helpers.js';
import { randomArray } from '../engine/helpers.js';

before(async () => {
  await initBackend('wasm');
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>) => assertClose(a, b, 1e-5, false);

test('an ensemble head averages its members’ probabilities; its logits (log of the mean) give them back through softmax', () => {
  const h1 = buildPartHead(4, 3, { hidden: 5 }, 1);
  const h2 = buildPartHead(6, 3, {}, 2);
  initWeights(h1, 1);
  initWeights(h2, 2);
  const ens = ensembleHeads([h1, h2]);
  assert.equal(ens.inputs.length, 2);
  const x1 = tf.tensor2d(randomArray(8 * 4, 3), [8, 4]);
  const x2 = tf.tensor2d(randomArray(8 * 6, 4), [8, 6]);
  const p1 = (h1.predict(x1) as tf.Tensor).dataSync();
  const p2 = (h2.predict(x2) as tf.Tensor).dataSync();
  const got = (ens.predict([x1, x2]) as tf.Tensor).dataSync();
  close(
    got,
    Array.from(p1, (v, i) => (v + p2[i]!) / 2),
  );
  close(tf.softmax(logitsForward(ens)([x1, x2], false)).dataSync(), got);
  // The head trainable takes the parts side by side.
  const t = headTrainable(ens);
  close(tf.softmax(t.forward(tf.concat([x1, x2], 1) as unknown as tf.Tensor4D, false)).dataSync(), got);
  assert.equal(t.params.length, h1.trainableWeights.length + h2.trainableWeights.length);
  // One part: a plain head, whose logits are its `logits` layer.
  const single = buildHead([4], 3);
  assert.equal(single.inputs.length, 1);
  assert.ok(single.layers.some((l) => l.name === 'logits'));
  assert.equal(buildHead([4, 6], 3).inputs.length, 2);
});

test('stackHead puts an ensemble head on a trunk with one output per cut point; the model saves and reloads', async () => {
  const input = tfl.input({ shape: [5, 1, 1] });
  const flat = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
  const a = tfl.layers.dense({ units: 4, activation: 'relu', name: 'a' }).apply(flat) as tfl.SymbolicTensor;
  const b = tfl.layers.dense({ units: 6, activation: 'relu', name: 'b' }).apply(a) as tfl.SymbolicTensor;
  const trunk = tfl.model({ inputs: input, outputs: [a, b] });
  initWeights(trunk, 3);
  const head = buildHead([4, 6], 3, { hidden: 7 });
  initWeights(head, 4);
  const full = stackHead(trunk, head);
  const x = tf.tensor4d(randomArray(6 * 5, 5), [6, 5, 1, 1]);
  const want = (head.predict(trunk.predict(x) as tf.Tensor[]) as tf.Tensor).dataSync();
  close((full.predict(x) as tf.Tensor).dataSync(), want);
  assert.throws(() => stackHead(trunk, buildHead(4, 3)), /takes 1 inputs, the trunk gives 2/);
  const dir = path.join(tempDir(), 'ens');
  await saveModelDir(
    dir,
    full,
    newMeta({ classes: ['a', 'b', 'c'], input: { height: 5, width: 1, channels: 1, resize: 'squash' }, preprocessing: { mean: [0], std: [1] } }),
  );
  const { model } = await loadModelDir(dir);
  close((model.predict(x) as tf.Tensor).dataSync(), want);
  close(tf.softmax(logitsForward(model)(x, false)).dataSync(), want);
});

test('cross-validation with feature parts trains one head per part and scores their average', async () => {
  // Two parts: the first carries the class, the second is noise; the ensemble still separates the classes.
  const count = 60;
  const labels = Int32Array.from({ length: count }, (_, i) => i % 3);
  const r = new Rng(9);
  const features = new Float32Array(count * 6);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < 3; j++) features[i * 6 + j] = (j === labels[i] ? 2 : 0) + (r.next() - 0.5) * 0.2;
    for (let j = 3; j < 6; j++) features[i * 6 + j] = r.next();
  }
  const [p1, p2] = splitParts(features, count, [3, 3]);
  assert.deepEqual(Array.from(p1!.subarray(3, 6)), Array.from(features.subarray(6, 9)));
  assert.deepEqual(Array.from(p2!.subarray(3, 6)), Array.from(features.subarray(9, 12)));
  const hyper = { ...DEFAULT_HYPER, ...HEAD_HYPER };
  const folds = stratifiedFolds(labels, 3, 1);
  const both = await crossValidateHead({ features, labels, count, dim: 6, parts: [3, 3], numClasses: 3, folds }, hyper);
  const noise = await crossValidateHead({ features: p2!, labels, count, dim: 3, numClasses: 3, folds }, hyper);
  assert.ok(both.accuracy >= 0.9, `ensemble ${both.accuracy}`);
  assert.ok(noise.accuracy < 0.6, `noise alone ${noise.accuracy}`);
  // The loss: mean −log p(true class) of the averaged probabilities; chance level is log 3.
  assert.ok(both.loss < 0.75 && noise.loss > Math.log(3) * 0.9, `losses ${both.loss}, ${noise.loss}`);
});

test('the sign test of a paired comparison (which images only one of two classifiers gets right)', () => {
  assert.ok(Math.abs(signTestP(9, 10) - 11 / 1024) < 1e-12);
  assert.equal(signTestP(0, 5), 1);
  assert.equal(signTestP(2, 3), 0.5);
  assert.equal(signTestP(0, 0), 1);
  // Thousands of disagreements (a test split) do not overflow: P(X ≥ k) + P(X ≥ n − k + 1) = 1 by symmetry, and
  // P(X ≥ n/2) = ½ + C(n, n/2) / 2^(n+1) (≈ 0.5 + 0.00892 for n = 2000).
  for (const [k, n] of [
    [1400, 3000],
    [2600, 5000],
    [1010, 2000],
  ] as const) {
    const p = signTestP(k, n);
    assert.ok(Number.isFinite(p) && p >= 0 && p <= 1, `signTestP(${k}, ${n}) = ${p}`);
    assertClose([p + signTestP(n - k + 1, n)], [1], 1e-9, false);
  }
  assertClose([signTestP(1000, 2000)], [0.5 + 0.0089195], 1e-6, false);
  assert.ok(signTestP(263, 422) < 1e-5);
  const a = Uint8Array.from([1, 1, 0, 0, 1, 0, 1]);
  const b = Uint8Array.from([1, 0, 1, 1, 1, 1, 0]);
  // only a: images 1 and 6; only b: 2, 3, 5 → P(X ≥ 3 | n = 5) = (10 + 5 + 1) / 32.
  assert.deepEqual(pairedComparison(a, b), { onlyA: 2, onlyB: 3, p: 0.5 });
  assert.ok(pairedComparison(new Uint8Array(40), new Uint8Array(40).fill(1)).p < 1e-6);
});
