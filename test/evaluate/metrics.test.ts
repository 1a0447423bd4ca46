import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationReport } from '../../src/evaluate/metrics.js';

test('accuracy, top-k, per-class precision/recall/F1, confusion matrix and ECE by hand', () => {
  // 4 samples, 3 classes.
  const probs = Float32Array.from([
    0.75,
    0.15,
    0.1, // true 0, pred 0 (conf .75)
    0.1,
    0.55,
    0.35, // true 2, pred 1 (conf .55), true class ranked 2nd
    0.2,
    0.25,
    0.55, // true 2, pred 2 (conf .55)
    0.65,
    0.25,
    0.1, // true 1, pred 0 (conf .65), true class ranked 2nd
  ]);
  const r = classificationReport(probs, [0, 2, 2, 1], ['a', 'b', 'c'], [1, 2], 10);
  assert.equal(r.accuracy, 0.5);
  assert.equal(r.topK['1'], 0.5);
  assert.equal(r.topK['2'], 1);
  assert.deepEqual(r.confusion, [
    [1, 0, 0],
    [1, 0, 0],
    [0, 1, 1],
  ]);
  const [a, b, c] = r.perClass;
  assert.deepEqual([a!.precision, a!.recall, a!.support], [0.5, 1, 1]);
  assert.ok(Math.abs(a!.f1 - 2 / 3) < 1e-12);
  assert.deepEqual([b!.precision, b!.recall, b!.f1], [0, 0, 0]);
  assert.deepEqual([c!.precision, c!.recall], [1, 0.5]);
  // Bins of width .1: [.5,.6) holds two samples (conf .55, .55; acc 0 and 1), [.6,.7) one (.65, wrong), [.7,.8) one (.75, right).
  const ece = (2 / 4) * Math.abs(0.5 - 0.55) + (1 / 4) * Math.abs(0 - 0.65) + (1 / 4) * Math.abs(1 - 0.75);
  assert.ok(Math.abs(r.ece - ece) < 1e-6, `${r.ece} vs ${ece}`);
  const nll = -(Math.log(0.75) + Math.log(0.35) + Math.log(0.55) + Math.log(0.25)) / 4;
  assert.ok(Math.abs(r.logLoss - nll) < 1e-6);
});
