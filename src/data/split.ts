import { Rng } from '../util/rng.js';

/** Sample indices grouped by label, labels in ascending order. */
export function indicesByClass(labels: ArrayLike<number>): Array<[label: number, indices: number[]]> {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!byClass.has(y)) byClass.set(y, []);
    byClass.get(y)!.push(i);
  }
  return [...byClass].sort((a, b) => a[0] - b[0]);
}

export interface Split {
  train: number[];
  val: number[];
}

/**
 * Seeded stratified split of sample indices by label: each class contributes `fraction` of its
 * samples (rounded, at least one when it has two or more) to validation. Unlabeled (-1) go to train.
 */
export function stratifiedSplit(labels: ArrayLike<number>, fraction: number, seed: number): Split {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`validation fraction must be in [0, 1), got ${fraction}`);
  const rng = new Rng(seed);
  const train: number[] = [];
  const val: number[] = [];
  for (const [y, indices] of indicesByClass(labels)) {
    const idx = rng.shuffle(indices);
    let k = y < 0 || fraction === 0 ? 0 : Math.round(idx.length * fraction);
    if (y >= 0 && fraction > 0 && k === 0 && idx.length >= 2) k = 1;
    val.push(...idx.slice(0, k));
    train.push(...idx.slice(k));
  }
  return { train: train.sort((a, b) => a - b), val: val.sort((a, b) => a - b) };
}

/** Pick `perClass` indices of each label (all when a class has fewer), seeded. */
export function samplePerClass(labels: ArrayLike<number>, perClass: number, seed: number): number[] {
  const rng = new Rng(seed);
  const out: number[] = [];
  for (const [, indices] of indicesByClass(labels)) out.push(...rng.shuffle(indices).slice(0, perClass));
  return out.sort((a, b) => a - b);
}

/** Keep `fraction` of each label's indices (rounded, at least one), seeded: the same data with fewer labels per class. */
export function fractionPerClass(labels: ArrayLike<number>, fraction: number, seed: number): number[] {
  const rng = new Rng(seed);
  const out: number[] = [];
  for (const [, indices] of indicesByClass(labels)) out.push(...rng.shuffle(indices).slice(0, Math.max(1, Math.round(indices.length * fraction))));
  return out.sort((a, b) => a - b);
}

export interface ClassBalance {
  counts: number[];
  min: number;
  max: number;
  /** max / min; 1 is perfectly balanced (Infinity when a class is empty). */
  imbalanceRatio: number;
}

export function classBalance(labels: ArrayLike<number>, numClasses: number): ClassBalance {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y >= 0 && y < numClasses) counts[y]!++;
  }
  const min = numClasses ? Math.min(...counts) : 0;
  const max = numClasses ? Math.max(...counts) : 0;
  return { counts, min, max, imbalanceRatio: min === 0 ? (max === 0 ? 1 : Infinity) : max / min };
}
