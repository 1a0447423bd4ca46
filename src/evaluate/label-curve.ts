import type { Estimate } from './estimate.js';

/** One point of a label-efficiency curve: the estimate with a fraction of each class's labels. */
export interface LabelCurvePoint {
  /** Fraction of each class's training labels used (1: all of them). */
  fraction: number;
  /** Mean labeled images per class the models were trained on. */
  labelsPerClass: number;
  estimate: Estimate;
}

/**
 * How accuracy grows with labels: the measured points and a power law fitted to them, the error falling as
 * `error = a · labelsPerClass^(−b)` (the learning-curve shape of image classifiers, e.g. Hestness et al. 2017), and
 * what the law expects from twice the labels.
 */
export interface LabelCurve {
  points: LabelCurvePoint[];
  fit: { a: number; b: number };
  /** The model trained on every label (cross-validation's folds train on fewer): its labels per class and the law's accuracy there. */
  current: { labelsPerClass: number; accuracy: number };
  /** Twice the labels of `current`: the law's accuracy, and its gain over `current` (≥ 0). */
  doubled: { labelsPerClass: number; accuracy: number; gain: number };
}

/** The error floor used where a point scored every image right (log 0 is not a number). */
const MIN_ERROR = 1e-3;

/**
 * Fit `error = a · n^(−b)` to the points by least squares on log error against log n (n: labels per class), with
 * b ≥ 0 (more labels are not expected to lower accuracy; a falling curve is read as flat), and read it at
 * `labelsPerClass` (the labels of the model trained on all of them) and at twice that. Needs two points with
 * different n.
 */
export function fitLabelCurve(points: LabelCurvePoint[], labelsPerClass: number): LabelCurve {
  const sorted = [...points].sort((p, q) => p.labelsPerClass - q.labelsPerClass);
  const xs = sorted.map((p) => Math.log(p.labelsPerClass));
  const ys = sorted.map((p) => Math.log(Math.max(MIN_ERROR, 1 - p.estimate.accuracy)));
  const mx = mean(xs);
  const my = mean(ys);
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  if (sorted.length < 2 || sxx === 0) throw new Error('a label-efficiency curve needs points at two or more label counts');
  const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0) / sxx;
  const b = Math.max(0, -slope);
  // With b clamped, the intercept is refit so the line still passes through the points' centre.
  const a = Math.exp(my + b * mx);
  const accuracyAt = (n: number) => Math.max(0, 1 - a * n ** -b);
  const current = accuracyAt(labelsPerClass);
  const doubled = accuracyAt(2 * labelsPerClass);
  return {
    points: sorted,
    fit: { a, b },
    current: { labelsPerClass, accuracy: current },
    doubled: { labelsPerClass: 2 * labelsPerClass, accuracy: doubled, gain: doubled - current },
  };
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** "+2.1 points expected for 10 more labels per class (doubling them), by a power law fitted to …". */
export function describeLabelCurve(c: LabelCurve): string {
  return (
    `+${(c.doubled.gain * 100).toFixed(1)} points expected for ${Math.round(c.current.labelsPerClass)} more labels per class (doubling them), ` +
    `by a power law fitted to the ${c.points[0]?.estimate.kind === 'validation' ? 'validation' : 'cross-validated'} accuracy at ` +
    `${c.points.map((p) => `${Math.round(p.fraction * 100)}%`).join(', ')} of the labels`
  );
}
