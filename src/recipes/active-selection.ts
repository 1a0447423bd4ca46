import * as tf from '@tensorflow/tfjs-core';
import { FrugalError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { concatFloat32 } from '../util/arrays.js';

/**
 * Choosing which unlabeled images to label next (active learning), on arrays: the current model's class
 * probabilities and the trunk's features of the pool, and the features of the images already labeled.
 */

export const SUGGEST_STRATEGIES = ['uncertainty-diversity', 'uncertainty', 'random'] as const;
/**
 * `uncertainty-diversity`: typical images of the regions of feature space the labels do not cover yet, leaning on
 * the model's uncertainty as labels accumulate (`HYBRID`); `uncertainty`: the images the model is least sure of
 * (smallest margin between its two likeliest classes); `random`: a seeded random draw (the baseline).
 */
export type SuggestStrategy = (typeof SUGGEST_STRATEGIES)[number];

export interface SelectionInput {
  /** The pool's class probabilities (count × classes). */
  probs: Float32Array;
  classes: number;
  /** The pool's features (count × dim). */
  features: Float32Array;
  count: number;
  dim: number;
  /** The labeled images' features (labeledCount × dim): the regions already covered. */
  labeledFeatures: Float32Array;
  labeledCount: number;
}

/** One image chosen for labeling: its index in the pool, in the order chosen. */
export interface Selected {
  index: number;
  /** 1 − (p₁ − p₂): the margin between the model's two likeliest classes, turned around (1: a toss-up). */
  uncertainty: number;
  /** The model's likeliest class and its probability. */
  guess: number;
  confidence: number;
}

/** The hybrid's settings (see `HYBRID`). */
export interface HybridSettings {
  /**
   * Within a cluster, a candidate's score is (1 − w)·typicality rank + w·uncertainty rank (both 0…1 within the
   * cluster), with w = min(1, uncertaintyWeight × labeled images per class): typical images while labels are few,
   * uncertain ones later.
   */
  uncertaintyWeight: number;
  /** A guessed class gets at most this multiple of its even share (count / classes, rounded up) of the picks. */
  classCap: number;
  /** Nearest neighbours of a typicality (within a cluster; fewer in small clusters). */
  neighbours: number;
}

/**
 * The hybrid's defaults, chosen on validation tasks (bench/active --validate: hymenoptera and flowers12, 2 labels per
 * class then 4 rounds of 2 more, seeds 3–22, scored on held-out training images, never the test split): w = 0.25
 * needed 70.5% / 66% of random choice's labels to reach random's last-round accuracy and was above random at every
 * round (worst +1.2 / +2.1 points); over seeds 3–11, typicality alone (w = 0, TypiClust) needed 87% / 76%, w = 1
 * needed 76% / 61% with a round 2.5 points below random, and pure uncertainty (seeds 3–22) 92% / 75%. Every setting
 * tried: docs/suggest.md.
 */
export const HYBRID: HybridSettings = { uncertaintyWeight: 0.25, classCap: 2, neighbours: 20 };

/** Margin uncertainty, guess and confidence of each row of `probs`. */
export function marginOf(probs: Float32Array, count: number, classes: number): { uncertainty: Float32Array; guess: Int32Array; confidence: Float32Array } {
  const uncertainty = new Float32Array(count);
  const guess = new Int32Array(count);
  const confidence = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let best = -1;
    let second = -1;
    let arg = 0;
    for (let c = 0; c < classes; c++) {
      const p = probs[i * classes + c]!;
      if (p > best) {
        second = best;
        best = p;
        arg = c;
      } else if (p > second) second = p;
    }
    uncertainty[i] = 1 - (best - Math.max(0, second));
    guess[i] = arg;
    confidence[i] = best;
  }
  return { uncertainty, guess, confidence };
}

/**
 * Up to `n` pool images to label next, in the order chosen, by `strategy`; seeded (the same inputs and seed give
 * the same picks).
 */
export function selectForLabeling(input: SelectionInput, n: number, strategy: SuggestStrategy, seed = 0, settings: HybridSettings = HYBRID): Selected[] {
  const { count, classes } = input;
  if (input.probs.length !== count * classes) throw new FrugalError(`selection: expected ${count}×${classes} probabilities, got ${input.probs.length}`);
  if (input.features.length !== count * input.dim) throw new FrugalError(`selection: expected ${count}×${input.dim} features, got ${input.features.length}`);
  const m = marginOf(input.probs, count, classes);
  const pick = (i: number): Selected => ({ index: i, uncertainty: m.uncertainty[i]!, guess: m.guess[i]!, confidence: m.confidence[i]! });
  const take = Math.max(0, Math.min(n, count));
  let order: number[];
  if (strategy === 'random') order = new Rng(seed).shuffle(Array.from({ length: count }, (_, i) => i)).slice(0, take);
  else if (strategy === 'uncertainty') order = byUncertainty(m.uncertainty).slice(0, take);
  else order = hybrid(input, m, take, seed, settings);
  return order.map(pick);
}

/** Pool indices, most uncertain first (ties: pool order). */
function byUncertainty(u: Float32Array): number[] {
  return Array.from(u.keys()).sort((a, b) => u[b]! - u[a]! || a - b);
}

/**
 * The hybrid (TypiClust-style coverage, weighted towards uncertainty as labels accumulate): the pool and the labeled
 * images together are clustered into (labeled + n) clusters (k-means on centred, unit-length features); each pick
 * comes from the cluster holding the fewest labeled and already-picked images (the largest on a tie), and within it
 * is the candidate with the best blend of typicality (a dense spot: close to its nearest neighbours in the cluster,
 * not an outlier) and the model's uncertainty. A guessed class gets at most `classCap` times its share of the picks,
 * and at least one pick per two shares where the picks allow it (guessed classes are not starved).
 */
function hybrid(input: SelectionInput, m: ReturnType<typeof marginOf>, n: number, seed: number, s: HybridSettings): number[] {
  const { count, dim, classes, labeledCount } = input;
  if (n === 0) return [];
  const rows = count + labeledCount;
  const z = unitRows(centred(concatFloat32(input.features, input.labeledFeatures), rows, dim), rows, dim);
  const k = Math.min(rows, labeledCount + n);
  const rng = new Rng(seed);
  const assign = kMeans(z, rows, dim, k, rng);
  const members: number[][] = Array.from({ length: k }, () => []);
  const covered = new Array<number>(k).fill(0);
  for (let i = 0; i < rows; i++) {
    if (i < count) members[assign[i]!]!.push(i);
    else covered[assign[i]!]!++;
  }
  const size = members.map((c, j) => c.length + covered[j]!);
  const perClass = labeledCount / classes;
  const w = Math.min(1, s.uncertaintyWeight * perClass);
  // Each cluster's candidates, best first.
  const ranked = members.map((idx) => {
    if (idx.length <= 1) return idx;
    const typical = rankScores(typicality(z, idx, dim, s.neighbours, rng));
    const uncertain = rankScores(Float32Array.from(idx, (i) => m.uncertainty[i]!));
    const score = idx.map((_, j) => (1 - w) * typical[j]! + w * uncertain[j]!);
    return idx
      .map((i, j) => [i, score[j]!] as const)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .map(([i]) => i);
  });
  // Per guessed class: the most picks (cap) and the fewest (floor) where the pool has candidates.
  const share = n / classes;
  const cap = Math.max(1, Math.ceil(s.classCap * share));
  const guessed = new Array<number>(classes).fill(0);
  for (let i = 0; i < count; i++) guessed[m.guess[i]!]!++;
  const floor = guessed.map((g) => Math.min(g, Math.floor(share / 2)));
  const got = new Array<number>(classes).fill(0);
  const taken = new Uint8Array(count);
  const picks: number[] = [];
  while (picks.length < n) {
    const unmet = floor.reduce((a, f, c) => a + Math.max(0, f - got[c]!), 0);
    const open = (c: number) => got[c]! < cap && (n - picks.length > unmet || got[c]! < floor[c]!);
    let best: { cluster: number; index: number } | null = null;
    for (let j = 0; j < k; j++) {
      const index = ranked[j]!.find((i) => !taken[i] && open(m.guess[i]!));
      if (index === undefined) continue;
      if (!best || covered[j]! < covered[best.cluster]! || (covered[j] === covered[best.cluster] && size[j]! > size[best.cluster]!))
        best = { cluster: j, index };
    }
    // Every candidate left is of a class at its cap: the caps give way.
    if (!best) {
      const rest = byUncertainty(m.uncertainty).find((i) => !taken[i]);
      if (rest === undefined) break;
      best = { cluster: assign[rest]!, index: rest };
    }
    picks.push(best.index);
    taken[best.index] = 1;
    covered[best.cluster]!++;
    got[m.guess[best.index]!]!++;
  }
  return picks;
}

/** Rows minus their mean row (a new array). */
function centred(x: Float32Array, rows: number, dim: number): Float32Array {
  const mean = new Float64Array(dim);
  for (let i = 0; i < rows; i++) for (let j = 0; j < dim; j++) mean[j]! += x[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= Math.max(1, rows);
  return x.map((v, i) => v - mean[i % dim]!);
}

/** Rows scaled to unit length, in place (zero rows stay zero). */
function unitRows(x: Float32Array, rows: number, dim: number): Float32Array {
  for (let i = 0; i < rows; i++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += x[i * dim + j]! ** 2;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let j = 0; j < dim; j++) x[i * dim + j]! *= scale;
  }
  return x;
}

/** The values of a tensor made in a tidy scope (read outside it: a tidy scope walks every element of what it returns). */
function valuesOf(make: () => tf.Tensor): Float32Array {
  const t = tf.tidy(make);
  try {
    return t.dataSync() as Float32Array;
  } finally {
    t.dispose();
  }
}

/** Squared distances (rows × k) between unit-length rows and centres. */
function squaredDistances(x: tf.Tensor2D, centres: Float32Array, k: number, dim: number): Float32Array {
  return valuesOf(() => {
    const c = tf.tensor2d(centres, [k, dim]);
    const cross = tf.matMul(x, c, false, true);
    const norms = tf.sum(tf.square(c), 1);
    return tf.relu(tf.add(tf.sub(norms, tf.mul(2, cross)), 1));
  });
}

/** k-means (k-means++ seeding, seeded; Lloyd iterations until no row moves, at most `iterations`): each row's cluster. */
export function kMeans(x: Float32Array, rows: number, dim: number, k: number, rng: Rng, iterations = 30): Int32Array {
  const xt = tf.tensor2d(x, [rows, dim]);
  try {
    const centres = new Float32Array(k * dim);
    const first = rng.int(rows);
    centres.set(x.subarray(first * dim, (first + 1) * dim), 0);
    const nearest = Float32Array.from(squaredDistances(xt, centres.subarray(0, dim), 1, dim));
    for (let c = 1; c < k; c++) {
      const total = nearest.reduce((a, b) => a + b, 0);
      let r = rng.next() * total;
      let chosen = rows - 1;
      for (let i = 0; i < rows && total > 0; i++) {
        r -= nearest[i]!;
        if (r <= 0) {
          chosen = i;
          break;
        }
      }
      if (total <= 0) chosen = rng.int(rows);
      centres.set(x.subarray(chosen * dim, (chosen + 1) * dim), c * dim);
      const d = squaredDistances(xt, centres.subarray(c * dim, (c + 1) * dim), 1, dim);
      for (let i = 0; i < rows; i++) nearest[i] = Math.min(nearest[i]!, d[i]!);
    }
    const assign = new Int32Array(rows).fill(-1);
    for (let it = 0; it < iterations; it++) {
      const d = squaredDistances(xt, centres, k, dim);
      let moved = 0;
      for (let i = 0; i < rows; i++) {
        let best = 0;
        for (let c = 1; c < k; c++) if (d[i * k + c]! < d[i * k + best]!) best = c;
        if (assign[i] !== best) moved++;
        assign[i] = best;
      }
      if (moved === 0) break;
      const sums = new Float64Array(k * dim);
      const sizes = new Int32Array(k);
      for (let i = 0; i < rows; i++) {
        const c = assign[i]!;
        sizes[c]!++;
        for (let j = 0; j < dim; j++) sums[c * dim + j]! += x[i * dim + j]!;
      }
      // An empty cluster keeps its centre.
      for (let c = 0; c < k; c++) if (sizes[c]! > 0) for (let j = 0; j < dim; j++) centres[c * dim + j] = sums[c * dim + j]! / sizes[c]!;
    }
    return assign;
  } finally {
    xt.dispose();
  }
}

/** A cluster's rows measured against at most this many of them for typicality (a seeded sample of a larger one). */
const TYPICALITY_REFERENCE = 2000;
/** Rows whose distances to the reference rows are computed at once. */
const DISTANCE_BLOCK = 512;

/** Rows `idx` of a matrix of unit rows. */
function gather(z: Float32Array, idx: readonly number[], dim: number): Float32Array {
  const out = new Float32Array(idx.length * dim);
  idx.forEach((i, r) => out.set(z.subarray(i * dim, (i + 1) * dim), r * dim));
  return out;
}

/**
 * Typicality of each of `idx`'s rows within them (TypiClust): the inverse of its mean distance to its nearest
 * neighbours among them (at most `neighbours`, at most half of them; in a cluster larger than
 * `TYPICALITY_REFERENCE`, among a seeded sample of that many).
 */
function typicality(z: Float32Array, idx: number[], dim: number, neighbours: number, rng: Rng): Float32Array {
  const reference = idx.length <= TYPICALITY_REFERENCE ? idx : rng.shuffle([...idx]).slice(0, TYPICALITY_REFERENCE);
  const r = reference.length;
  const kNN = Math.max(1, Math.min(neighbours, Math.floor(r / 2)));
  const ref = tf.tensor2d(gather(z, reference, dim), [r, dim]);
  const out = new Float32Array(idx.length);
  try {
    for (let start = 0; start < idx.length; start += DISTANCE_BLOCK) {
      const block = idx.slice(start, start + DISTANCE_BLOCK);
      const gram = valuesOf(() => tf.matMul(tf.tensor2d(gather(z, block, dim), [block.length, dim]), ref, false, true));
      block.forEach((self, a) => {
        // The kNN smallest distances, kept sorted (a full sort of every row costs more than the rest together).
        const nearest: number[] = [];
        for (let b = 0; b < r; b++) {
          if (reference[b] === self) continue;
          const d = Math.sqrt(Math.max(0, 2 - 2 * gram[a * r + b]!));
          if (nearest.length === kNN && d >= nearest[kNN - 1]!) continue;
          let at = nearest.length === kNN ? kNN - 1 : nearest.length;
          while (at > 0 && nearest[at - 1]! > d) {
            nearest[at] = nearest[at - 1]!;
            at--;
          }
          nearest[at] = d;
        }
        const mean = nearest.reduce((p, q) => p + q, 0) / nearest.length;
        out[start + a] = 1 / (mean + 1e-6);
      });
    }
  } finally {
    ref.dispose();
  }
  return out;
}

/** Each value's rank among them scaled to 0…1 (1: the largest; ties share the lower rank). */
function rankScores(v: Float32Array): Float32Array {
  const n = v.length;
  const out = new Float32Array(n);
  if (n <= 1) return out.fill(1);
  const order = Array.from(v.keys()).sort((a, b) => v[a]! - v[b]!);
  let r = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && v[order[i]!]! > v[order[i - 1]!]!) r = i;
    out[order[i]!] = r / (n - 1);
  }
  return out;
}
