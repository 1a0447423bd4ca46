import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { featureStats, standardize, foldStandardization } from '../../src/train/standardize.js';
import { isBetter } from '../../src/train/loop.js';
import { buildHead } from '../../src/models/head.js';
import { initWeights } from '../../src/models/init.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

test('feature statistics and standardisation: per-feature mean 0, std 1 (constant features stay finite)', () => {
  const r = new Rng(1);
  const count = 50;
  const dim = 4;
  const f = Float32Array.from({ length: count * dim }, (_, i) => (i % dim === 3 ? 7 : (i % dim) * 10 + r.normal() * (1 + (i % dim))));
  const stats = featureStats(f, count, dim);
  const z = standardize(f, stats);
  for (let j = 0; j < dim; j++) {
    let m = 0;
    let v = 0;
    for (let i = 0; i < count; i++) m += z[i * dim + j]! / count;
    for (let i = 0; i < count; i++) v += (z[i * dim + j]! - m) ** 2 / count;
    assert.ok(Math.abs(m) < 1e-5, `mean ${m}`);
    if (j < 3) assert.ok(Math.abs(Math.sqrt(v) - 1) < 1e-2, `std ${Math.sqrt(v)}`);
    else assert.equal(v, 0);
  }
  assert.throws(() => featureStats(f, count + 1, dim), /expected 51×4 values/);
});

test('folding the standardisation into the head: the head on raw features equals the head on standardised ones', () => {
  const r = new Rng(2);
  const count = 6;
  const dim = 5;
  const f = Float32Array.from({ length: count * dim }, () => r.normal() * 3 + 2);
  const stats = featureStats(f, count, dim);
  for (const hidden of [undefined, 8]) {
    const head = buildHead(dim, 3, { hidden });
    initWeights(head, 3);
    const before = tf.tidy(() => (head.predict(tf.tensor2d(standardize(f, stats), [count, dim])) as tf.Tensor).dataSync());
    foldStandardization(head, stats);
    const after = tf.tidy(() => (head.predict(tf.tensor2d(f, [count, dim])) as tf.Tensor).dataSync());
    for (let i = 0; i < before.length; i++) assert.ok(Math.abs(before[i]! - after[i]!) < 1e-5, `[${i}] ${before[i]} vs ${after[i]}`);
    head.dispose();
  }
});

test('best-model keeping: higher accuracy wins, ties go to the lower validation loss', () => {
  assert.equal(isBetter({ accuracy: 0.5, loss: 1 }, null), true);
  assert.equal(isBetter({ accuracy: 0.6, loss: 2 }, { accuracy: 0.5, loss: 1 }), true);
  assert.equal(isBetter({ accuracy: 0.5, loss: 0.9 }, { accuracy: 0.5, loss: 1 }), true);
  assert.equal(isBetter({ accuracy: 0.5, loss: 1.1 }, { accuracy: 0.5, loss: 1 }), false);
  assert.equal(isBetter({ accuracy: 0.4, loss: 0.1 }, { accuracy: 0.5, loss: 1 }), false);
  // A checkpoint written before losses were kept: accuracy alone decides.
  assert.equal(isBetter({ accuracy: 0.5, loss: 0.1 }, { accuracy: 0.5 }), false);
});
