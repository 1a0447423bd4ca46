import { FrugalError } from '../util/errors.js';
import { subset, type DecodedBatch } from '../data/loader.js';
import { stratifiedFolds } from '../train/head-cv.js';
import { argmaxRows } from '../train/loop.js';
import { crossValidatedEstimate, type Estimate } from '../evaluate/estimate.js';
import { CV_DEFAULTS } from './defaults.js';

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
  o: { folds?: number; repeats?: number; seed: number },
  scoreFold: (train: DecodedBatch, test: DecodedBatch, fold: Fold) => Promise<Float32Array>,
): Promise<{ estimate: Estimate; right: Float32Array; probs: Float32Array }> {
  const n = data.count;
  const counts = new Array<number>(numClasses).fill(0);
  for (const l of data.labels) counts[l]!++;
  const smallest = Math.min(...counts);
  const folds = Math.min(o.folds ?? CV_DEFAULTS.folds, smallest);
  if (folds < 2) throw new FrugalError(`cross-validation needs at least 2 images in every class; the smallest class has ${smallest}`);
  const repeats = o.repeats ?? CV_DEFAULTS.scratchRepeats;
  const right = new Float32Array(n);
  const probs = new Float32Array(n * numClasses);
  const foldAccuracies: number[] = [];
  for (let rep = 0; rep < repeats; rep++) {
    const fold = stratifiedFolds(data.labels, folds, o.seed + rep);
    for (let f = 0; f < folds; f++) {
      const trainIdx: number[] = [];
      const testIdx: number[] = [];
      for (let i = 0; i < n; i++) (fold[i] === f ? testIdx : trainIdx).push(i);
      const p = await scoreFold(subset(data, trainIdx), subset(data, testIdx), { index: rep * folds + f, count: repeats * folds });
      const predicted = argmaxRows(p, numClasses);
      let hits = 0;
      testIdx.forEach((i, j) => {
        const hit = predicted[j] === data.labels[i] ? 1 : 0;
        hits += hit;
        right[i]! += hit / repeats;
        if (rep === 0) probs.set(p.subarray(j * numClasses, (j + 1) * numClasses), i * numClasses);
      });
      foldAccuracies.push(hits / testIdx.length);
    }
  }
  return { estimate: crossValidatedEstimate(right, foldAccuracies, folds, repeats), right, probs };
}
