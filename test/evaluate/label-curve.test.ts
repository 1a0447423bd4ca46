import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitLabelCurve, describeLabelCurve, type LabelCurvePoint } from '../../src/evaluate/label-curve.js';

const point = (labelsPerClass: number, accuracy: number, fraction = 1): LabelCurvePoint => ({
  fraction,
  labelsPerClass,
  estimate: { kind: 'cross-validation', accuracy, spread: 0.02, images: 100, folds: 5, repeats: 3 },
});

test('the label-efficiency curve recovers a power law and reads it at all labels and twice that', () => {
  // error = 0.6 · n^-0.5 at 2, 4 and 8 labels per class; the model on all labels has 10 per class.
  const law = (n: number) => 1 - 0.6 * n ** -0.5;
  const curve = fitLabelCurve([point(8, law(8), 1), point(2, law(2), 0.25), point(4, law(4), 0.5)], 10);
  assert.deepEqual(
    curve.points.map((p) => p.labelsPerClass),
    [2, 4, 8],
  );
  assert.ok(Math.abs(curve.fit.a - 0.6) < 1e-9 && Math.abs(curve.fit.b - 0.5) < 1e-9, JSON.stringify(curve.fit));
  assert.ok(Math.abs(curve.current.accuracy - law(10)) < 1e-9);
  assert.equal(curve.doubled.labelsPerClass, 20);
  assert.ok(Math.abs(curve.doubled.gain - (law(20) - law(10))) < 1e-9);
  assert.match(
    describeLabelCurve(curve),
    /^\+\d\.\d points expected for 10 more labels per class \(doubling them\), by a power law fitted to the cross-validated accuracy at 25%, 50%, 100% of the labels$/,
  );
});

test('a curve that falls with more labels is read as flat (no gain promised); a perfect score does not break the fit', () => {
  const falling = fitLabelCurve([point(2, 0.9, 0.25), point(4, 0.85, 0.5), point(8, 0.8)], 10);
  assert.equal(falling.fit.b, 0);
  assert.equal(falling.doubled.gain, 0);
  const perfect = fitLabelCurve([point(2, 0.8, 0.25), point(4, 0.95, 0.5), point(8, 1)], 10);
  assert.ok(Number.isFinite(perfect.fit.a) && perfect.fit.b > 0 && perfect.doubled.accuracy <= 1);
  assert.throws(() => fitLabelCurve([point(4, 0.9)], 10), /two or more label counts/);
});
