import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { Optimizer } from '../../src/train/optimizers.js';
import { learningRateAt } from '../../src/train/schedule.js';
import { softCrossEntropy, smoothTargets, oneHot, balancedClassWeights } from '../../src/train/losses.js';

before(async () => {
  await initBackend('wasm');
});

test('Adam, AdamW and SGD steps match the update rules computed by hand', () => {
  const g = 0.5;
  const run = (kind: 'adam' | 'adamw' | 'sgd', lrMult = 1) => {
    const w = tf.variable(tf.tensor1d([2]));
    const opt = new Optimizer([{ variable: w, lrMult, decay: true }], { kind, weightDecay: 0.1, momentum: 0.9 });
    for (let i = 0; i < 2; i++) {
      const grad = tf.tensor1d([g]);
      opt.step([grad], 0.01);
      grad.dispose();
    }
    const v = w.dataSync()[0]!;
    opt.dispose();
    w.dispose();
    return v;
  };
  // Adam with coupled L2: gradient includes 0.1·w.
  let w = 2;
  let m = 0;
  let v = 0;
  for (let t = 1; t <= 2; t++) {
    const gt = g + 0.1 * w;
    m = 0.9 * m + 0.1 * gt;
    v = 0.999 * v + 0.001 * gt * gt;
    w -= (0.01 * (m / (1 - 0.9 ** t))) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8);
  }
  assert.ok(Math.abs(run('adam') - w) < 1e-5);
  // AdamW: decoupled decay.
  w = 2;
  m = 0;
  v = 0;
  for (let t = 1; t <= 2; t++) {
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    w -= 0.01 * (m / (1 - 0.9 ** t) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8) + 0.1 * w);
  }
  assert.ok(Math.abs(run('adamw') - w) < 1e-5);
  // SGD with momentum and L2.
  w = 2;
  let mom = 0;
  for (let t = 1; t <= 2; t++) {
    mom = 0.9 * mom + g + 0.1 * w;
    w -= 0.01 * mom;
  }
  assert.ok(Math.abs(run('sgd') - w) < 1e-5);
  assert.equal(run('adam', 0), 2); // multiplier 0 freezes
});

test('schedules: warm-up, cosine to the floor, one-cycle peak at 30%', () => {
  const cos = { kind: 'cosine' as const, lr: 1, totalSteps: 100, warmupSteps: 10 };
  assert.ok(Math.abs(learningRateAt(0, cos) - 1 / 11) < 1e-12);
  assert.equal(learningRateAt(10, cos), 1);
  assert.ok(Math.abs(learningRateAt(100, cos) - 0.01) < 1e-12);
  assert.ok(learningRateAt(55, cos) < learningRateAt(30, cos));
  const one = { kind: 'onecycle' as const, lr: 1, totalSteps: 100 };
  assert.ok(Math.abs(learningRateAt(0, one) - 0.04) < 1e-12);
  assert.equal(learningRateAt(30, one), 1);
  assert.ok(learningRateAt(99, one) < 0.01);
  assert.equal(learningRateAt(50, { kind: 'constant', lr: 0.3, totalSteps: 100 }), 0.3);
});

test('soft-target cross-entropy, label smoothing and class weights', () => {
  const logits = tf.tensor2d([
    [2, 0, -1],
    [0, 1, 0],
  ]);
  const targets = tf.tensor2d([
    [1, 0, 0],
    [0.2, 0.5, 0.3],
  ]);
  const lse = (r: number[]) => Math.log(r.reduce((a, x) => a + Math.exp(x), 0));
  const l0 = -(2 - lse([2, 0, -1]));
  const l1 = -(0.2 * (0 - lse([0, 1, 0])) + 0.5 * (1 - lse([0, 1, 0])) + 0.3 * (0 - lse([0, 1, 0])));
  assert.ok(Math.abs(softCrossEntropy(logits, targets).dataSync()[0]! - (l0 + l1) / 2) < 1e-5);
  const weighted = softCrossEntropy(logits, targets, tf.tensor1d([3, 1])).dataSync()[0]!;
  assert.ok(Math.abs(weighted - (3 * l0 + l1) / 4) < 1e-5);
  assert.deepEqual(Array.from(smoothTargets(oneHot([1], 4), 4, 0.2)), [0.05, 0.85, 0.05, 0.05].map(Math.fround));
  assert.deepEqual(balancedClassWeights([10, 30]), [2, 2 / 3]);
});
