import { Rng } from '../util/rng.js';
import { indicesByClass } from '../data/split.js';
import { buildHead } from '../models/head.js';
import { initWeights } from '../models/init.js';
import { argmaxRows, featureEncoder, predictProbs } from './loop.js';
import { fitOnData, type TrainHyper } from './fit-on-data.js';
import { headTrainable } from './trainable.js';
import { featureStats, standardize } from './standardize.js';
import { splitParts } from './features.js';

/** Stratified fold of each image: shuffled within each class, dealt round-robin. */
export function stratifiedFolds(labels: Int32Array, folds: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const fold = new Int32Array(labels.length);
  for (const [, idx] of indicesByClass(labels)) rng.shuffle(idx).forEach((i, j) => (fold[i] = j % folds));
  return fold;
}

/** The images of fold `f` (`test`) and of every other fold (`train`), in input order. */
export function splitFold(folds: Int32Array, f: number): { train: number[]; test: number[] } {
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < folds.length; i++) (folds[i] === f ? test : train).push(i);
  return { train, test };
}

export interface HeadCvData {
  /** count × dim features of the images. */
  features: Float32Array;
  labels: Int32Array;
  count: number;
  dim: number;
  /** Widths of the feature parts (a cut list): one head per part, probabilities averaged. Default: one part. */
  parts?: number[];
  numClasses: number;
  /** Fold of each image (stratifiedFolds). */
  folds: Int32Array;
  /** More training rows per image (count × dim each, e.g. features of augmented views): used in training folds only. */
  extra?: Float32Array[];
}

/**
 * K-fold cross-validated accuracy of a new head trained on frozen features (standardised, as
 * `trainTransfer` trains its heads; one head per feature part, averaged, as for a cut list): each fold's
 * images are scored by a head trained on the other folds. The same seeds for every call, so two feature
 * sets (or augmentation policies) differ only by their features.
 */
export async function crossValidateHead(d: HeadCvData, hyper: TrainHyper): Promise<CvScore> {
  const { dim, count } = d;
  const folds = Math.max(...d.folds) + 1;
  const sources = [d.features, ...(d.extra ?? [])];
  const parts = d.parts ?? [dim];
  const right = new Uint8Array(count);
  let nll = 0;
  for (let f = 0; f < folds; f++) {
    const { train: trainIdx, test: testIdx } = splitFold(d.folds, f);
    if (testIdx.length === 0 || trainIdx.length === 0) continue;
    const rows = trainIdx.length * sources.length;
    const inputs = new Float32Array(rows * dim);
    const labels = new Int32Array(rows);
    sources.forEach((src, c) => {
      trainIdx.forEach((i, j) => {
        inputs.set(src.subarray(i * dim, (i + 1) * dim), (c * trainIdx.length + j) * dim);
        labels[c * trainIdx.length + j] = d.labels[i]!;
      });
    });
    const test = new Float32Array(testIdx.length * dim);
    testIdx.forEach((i, j) => test.set(d.features.subarray(i * dim, (i + 1) * dim), j * dim));
    const trainParts = splitParts(inputs, rows, parts);
    const testParts = splitParts(test, testIdx.length, parts);
    const probs = new Float32Array(testIdx.length * d.numClasses);
    for (const [p, width] of parts.entries()) {
      const stats = featureStats(trainParts[p]!, rows, width);
      const enc = featureEncoder(width);
      const head = buildHead(width, d.numClasses);
      initWeights(head, hyper.seed + f);
      const t = headTrainable(head);
      try {
        await fitOnData(t, { inputs: standardize(trainParts[p]!, stats), labels, count: rows }, null, enc, d.numClasses, {
          hyper: { ...hyper, seed: hyper.seed + f },
        });
        predictProbs(t, { inputs: standardize(testParts[p]!, stats), count: testIdx.length }, enc).forEach((v, i) => (probs[i]! += v));
      } finally {
        head.dispose();
      }
    }
    const predicted = argmaxRows(probs, d.numClasses);
    testIdx.forEach((i, j) => {
      if (predicted[j] === d.labels[i]) right[i] = 1;
      nll -= Math.log(Math.max(1e-7, probs[j * d.numClasses + d.labels[i]!]! / parts.length));
    });
  }
  return { accuracy: right.reduce((a, b) => a + b, 0) / count, loss: nll / count, right };
}

/** A cross-validated score: accuracy, the mean negative log-likelihood of the true class (lower is better), and which images were right. */
export interface CvScore {
  accuracy: number;
  loss: number;
  /** 1 where the image (in input order) was classified right when held out. */
  right: Uint8Array;
}
