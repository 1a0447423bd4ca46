import { FrugalError } from '../util/errors.js';
import { subset, type DecodedBatch } from '../data/loader.js';
import { classBalance } from '../data/split.js';
import { splitFold, stratifiedFolds } from '../train/head-cv.js';
import { argmaxRows } from '../train/loop.js';
import { crossValidatedEstimate, type Estimate } from '../evaluate/estimate.js';
import { CV_DEFAULTS } from './defaults.js';

/** A recipe's `crossValidation` option, normalised: null without it; with a validation set, an error. */
export function crossValidationOf(o: {
  crossValidation?: boolean | { folds?: number; repeats?: number };
  valData?: string;
}): { folds?: number; repeats?: number } | null {
  const cv = o.crossValidation ? (o.crossValidation === true ? {} : o.crossValidation) : null;
  if (cv && o.valData)
    throw new FrugalError((n) => `${n('crossValidation')} scores on the labeled images and ${n('valData')} on a validation set: give one or the other`);
  return cv;
}

/** The folds to use: `requested` (default `CV_DEFAULTS.folds`), at most the smallest class's images, at least 2. */
export function foldCount(labels: Int32Array, numClasses: number, requested: number | undefined, source: string): number {
  const smallest = classBalance(labels, numClasses).min;
  const folds = Math.min(requested ?? CV_DEFAULTS.folds, smallest);
  if (folds < 2) throw new FrugalError(`${source}: cross-validation needs at least 2 images in every class; the smallest class has ${smallest}`);
  return folds;
}

/** 1 where the row's top class is its label. */
export function rightOf(probs: Float32Array, labels: ArrayLike<number>, numClasses: number): Float32Array {
  return Float32Array.from(argmaxRows(probs, numClasses), (c, i) => (c === labels[i] ? 1 : 0));
}

/**
 * The held-out scores of one cross-validated model, fold by fold: each image's fraction of `repeats` it was right,
 * the first repeat's probabilities (labeled-image order) and each fold's accuracy.
 */
export class HeldOutScores {
  readonly right: Float32Array;
  readonly probs: Float32Array;
  private readonly foldAccuracies: number[] = [];
  constructor(
    private readonly labels: Int32Array,
    private readonly numClasses: number,
    private readonly repeats: number,
  ) {
    this.right = new Float32Array(labels.length);
    this.probs = new Float32Array(labels.length * numClasses);
  }

  /** A fold's probabilities (rows in `testIdx` order), from repeat `repeat`. */
  add(testIdx: number[], p: Float32Array, repeat: number): void {
    const k = this.numClasses;
    const hits = rightOf(
      p,
      Int32Array.from(testIdx, (i) => this.labels[i]!),
      k,
    );
    testIdx.forEach((i, j) => {
      this.right[i]! += hits[j]! / this.repeats;
      if (repeat === 0) this.probs.set(p.subarray(j * k, (j + 1) * k), i * k);
    });
    this.foldAccuracies.push(hits.reduce((a, b) => a + b, 0) / testIdx.length);
  }

  estimate(folds: number): Estimate {
    return crossValidatedEstimate(this.right, this.foldAccuracies, folds, this.repeats);
  }
}

/** One fold of a cross-validation: its number (from 0, over every repeat) and how many there are. */
export interface Fold {
  index: number;
  count: number;
}

/**
 * Stratified k-fold cross-validation of a model trained on images (`repeats` times, other folds each time):
 * `scoreFold` trains on a fold's training images and returns its probabilities (count × classes) for the held-out
 * ones. Returns the estimate, each image's fraction of repeats it was right, and the first repeat's held-out
 * probabilities (labeled-image order).
 */
export async function crossValidateImages(
  data: DecodedBatch,
  numClasses: number,
  o: { folds?: number; repeats?: number; seed: number; source: string },
  scoreFold: (train: DecodedBatch, test: DecodedBatch, fold: Fold) => Promise<Float32Array>,
): Promise<{ estimate: Estimate; right: Float32Array; probs: Float32Array }> {
  const folds = foldCount(data.labels, numClasses, o.folds, o.source);
  const repeats = o.repeats ?? CV_DEFAULTS.scratchRepeats;
  const scores = new HeldOutScores(data.labels, numClasses, repeats);
  for (let rep = 0; rep < repeats; rep++) {
    const fold = stratifiedFolds(data.labels, folds, o.seed + rep);
    for (let f = 0; f < folds; f++) {
      const { train, test } = splitFold(fold, f);
      scores.add(test, await scoreFold(subset(data, train), subset(data, test), { index: rep * folds + f, count: repeats * folds }), rep);
    }
  }
  return { estimate: scores.estimate(folds), right: scores.right, probs: scores.probs };
}
