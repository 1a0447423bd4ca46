/** How a held-out accuracy was measured, and how much it can be trusted. */

/** A held-out accuracy and how it was measured. */
export interface Estimate {
  kind: 'validation' | 'cross-validation';
  accuracy: number;
  /**
   * Validation: the binomial standard error, √(p(1−p)/n). Cross-validation: the standard deviation of the folds'
   * accuracies (every fold of every repeat).
   */
  spread: number;
  /** Images scored (cross-validation: every labeled image, once per repeat). */
  images: number;
  folds?: number;
  repeats?: number;
}

/** The accuracy of per-image scores (1 right, 0 wrong) on validation images, with its binomial standard error. */
export function validationEstimate(right: ArrayLike<number>): Estimate {
  const n = right.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += right[i]!;
  return accuracyOnValidation(n ? sum / n : 0, n);
}

/** An accuracy measured on `images` validation images, with its binomial standard error √(p(1−p)/n). */
export function accuracyOnValidation(accuracy: number, images: number): Estimate {
  return { kind: 'validation', accuracy, spread: images ? Math.sqrt((accuracy * (1 - accuracy)) / images) : 0, images };
}

/**
 * A cross-validated estimate: `right` holds each image's fraction of repeats in which it was right when held out, and
 * `foldAccuracies` each fold's accuracy (every fold of every repeat).
 */
export function crossValidatedEstimate(right: ArrayLike<number>, foldAccuracies: number[], folds: number, repeats: number): Estimate {
  const n = right.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += right[i]!;
  const mean = foldAccuracies.reduce((a, b) => a + b, 0) / Math.max(1, foldAccuracies.length);
  const spread = Math.sqrt(foldAccuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, foldAccuracies.length - 1));
  return { kind: 'cross-validation', accuracy: n ? sum / n : 0, spread, images: n * repeats, folds, repeats };
}

/** An estimate in words: "84.0% ± 6.1 (5-fold cross-validation ×3, sd over folds)". */
export function describeEstimate(e: Estimate): string {
  const how =
    e.kind === 'cross-validation'
      ? `${e.folds}-fold cross-validation${e.repeats! > 1 ? ` ×${e.repeats}` : ''}, sd over folds`
      : `${e.images} validation images, standard error`;
  return `${(e.accuracy * 100).toFixed(1)}% ± ${(e.spread * 100).toFixed(1)} (${how})`;
}

/**
 * Below this many validation images one image moves a held-out figure by 2 points or more (and its standard error is
 * several points): the report says so, and the frozen-trunk commands point to cross-validation (`--cv`).
 */
export const FEW_VALIDATION_IMAGES = 50;

/** What one of `images` validation images is worth ("one image is 8.3 points") when they are few; else null. */
export function oneImageWorth(images: number): string | null {
  return images < FEW_VALIDATION_IMAGES ? `one image is ${(100 / Math.max(1, images)).toFixed(1)} points` : null;
}

/**
 * A change in accuracy as points with its sign ("+1.7 pts", "-2.0 pts"; null: "–"). The sign is the rounded
 * figure's: a change of −0.0001 reads "+0.0 pts", not "-0.0 pts".
 */
export function pointsChange(delta: number | null): string {
  if (delta === null) return '–';
  const points = Number((delta * 100).toFixed(1)) || 0;
  return `${points >= 0 ? '+' : ''}${points.toFixed(1)} pts`;
}
