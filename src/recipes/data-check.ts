import * as tf from '@tensorflow/tfjs-core';
import { FrugalError } from '../util/errors.js';
import { openDataset, type Dataset, type Problem, type Sample } from '../data/sources.js';
import { contentDigests } from '../data/duplicates.js';
import { decodeBatches } from '../data/loader.js';
import { classBalance } from '../data/split.js';
import { HASH_WORDS, hammingDistance, perceptualHash } from '../data/perceptual-hash.js';
import { loadBackbone } from '../models/backbones/load.js';
import { BUILTIN_TRUNK } from '../models/backbones/pretrained.js';
import type { Backbone } from '../models/backbones/types.js';
import { extractFeatures, featureCacheOf } from '../train/features.js';
import { fitLogistic, logisticProbs } from '../train/logistic.js';
import { featureStats, standardize } from '../train/standardize.js';
import { oneHot } from '../train/losses.js';
import { splitFold, stratifiedFolds } from '../train/head-cv.js';
import { DEFAULT_HEAD_L2 } from '../train/head-fit.js';
import { CallbackList, type Callback } from '../train/callbacks.js';
import { ensureBackend } from '../engine/backend.js';
import { CV_DEFAULTS } from './defaults.js';
import type { CheckedImage, CheckedSet, DataCheckFile, DataCheckThresholds, DuplicateCluster, ImagePair, MislabelCandidate } from '../runs/files.js';

/**
 * The thresholds of `checkData` (docs/data-check.md says how they were chosen on bench/check).
 */
export const DATA_CHECK_THRESHOLDS: DataCheckThresholds = {
  hashDistance: 24,
  cosine: 0.9,
  cosineMargin: 0.07,
  confidence: 0.4,
  labelProbability: 0.02,
};

export interface DataCheckOptions {
  /** Held-out test images (class folders, a CSV, or a folder of images): leakage from the data into them. */
  test?: string;
  /** An unlabeled pool (images at any depth): overlap with the data, and leakage into `test`. */
  unlabeled?: string;
  /** Override some thresholds. */
  thresholds?: Partial<DataCheckThresholds>;
  /** Cross-validation folds of the mislabel check (default `CV_DEFAULTS.folds`; fewer when a class is smaller). */
  folds?: number;
  /** Seed of the folds. Default 0. */
  seed?: number;
  /** Default: the built-in trunk. Thresholds were chosen with it. */
  backbone?: string | Backbone;
  /** Fail on the first bad file instead of reporting it. */
  strict?: boolean;
  workers?: number;
  /** Decoded-image cache (default on; `false` turns the feature cache off too unless `featureCache` says otherwise). */
  cache?: boolean | string;
  featureCache?: boolean | string;
  callbacks?: readonly Callback[];
}

/** One picture: the files with its bytes (indices into the checked samples), and its row of features once decoded. */
interface Picture {
  members: number[];
  row: number;
}

/** A checked file: the sample, its set, its label's name. */
interface Entry {
  sample: Sample;
  image: CheckedImage;
}

/**
 * Check a labeled data set (and, optionally, its test set and an unlabeled pool) for what quietly spoils a small
 * classifier: files with the same bytes, near-duplicates (a 256-bit perceptual hash and the built-in trunk's
 * features), test images that are copies of training or pool images, one picture under two labels, images whose
 * label a linear head trained on the other folds confidently disagrees with, and class imbalance. Reads the images,
 * writes nothing (features are cached like training's).
 */
export async function checkData(source: string, o: DataCheckOptions = {}): Promise<DataCheckFile> {
  await ensureBackend();
  const t0 = performance.now();
  const callbacks = new CallbackList(o.callbacks);
  const thresholds = { ...DATA_CHECK_THRESHOLDS, ...o.thresholds };

  callbacks.onStage('listing files');
  const train = await openDataset(source, { strict: o.strict });
  if (train.kind === 'unlabeled')
    throw new FrugalError(`${source}: a data check needs labeled images (root/<class>/<image> or a CSV); this folder has images but no class folders`);
  const sets: Array<[CheckedSet, Dataset]> = [['train', train]];
  if (o.test) sets.push(['test', await openDataset(o.test, { strict: o.strict })]);
  if (o.unlabeled) sets.push(['unlabeled', await openDataset(o.unlabeled, { strict: o.strict, unlabeled: true })]);
  const entries: Entry[] = sets.flatMap(([set, d]) =>
    d.samples.map((sample) => ({
      sample,
      image: { path: sample.path, set, label: set === 'unlabeled' || sample.label === null ? null : d.classes[sample.label]! },
    })),
  );
  const problems: Problem[] = sets.flatMap(([, d]) => d.problems);

  callbacks.onStage(`hashing ${entries.length} files`);
  const digests = await contentDigests(entries.map((e) => e.sample));
  const pictures: Picture[] = [];
  const byDigest = new Map<string, Picture>();
  entries.forEach((_, i) => {
    const digest = digests[i]!;
    const known = digest === null ? undefined : byDigest.get(digest);
    if (known) known.members.push(i);
    else {
      const p: Picture = { members: [i], row: -1 };
      pictures.push(p);
      if (digest !== null) byDigest.set(digest, p);
    }
  });

  callbacks.onStage('loading the trunk');
  const backbone = typeof o.backbone === 'object' ? o.backbone : await loadBackbone(o.backbone ?? BUILTIN_TRUNK);
  let features: Float32Array;
  let hashes: Uint32Array;
  let rows = 0;
  try {
    callbacks.onStage(`decoding ${pictures.length} distinct images and extracting features`);
    const dim = backbone.featureDim;
    features = new Float32Array(pictures.length * dim);
    hashes = new Uint32Array(pictures.length * HASH_WORDS);
    // Decoded in bounded batches (a large pool never sits in memory whole); batches keep the samples' order.
    const pending = new Map<string, Picture[]>();
    for (const p of pictures) {
      const key = entries[p.members[0]!]!.sample.path;
      pending.set(key, [...(pending.get(key) ?? []), p]);
    }
    const { spec } = backbone;
    let done = 0;
    for await (const batch of decodeBatches(
      pictures.map((p) => entries[p.members[0]!]!.sample),
      256,
      { spec, workers: o.workers, cache: o.cache, strict: o.strict },
    )) {
      problems.push(...batch.problems);
      done += batch.count + batch.problems.length;
      if (batch.count === 0) continue;
      const f = await extractFeatures(backbone, batch.pixels, batch.count, { cache: featureCacheOf(o) });
      const size = spec.height * spec.width * spec.channels;
      batch.paths.forEach((p, j) => {
        const picture = pending.get(p)!.shift()!;
        picture.row = rows;
        features.set(f.features.subarray(j * dim, (j + 1) * dim), rows * dim);
        hashes.set(perceptualHash(batch.pixels.subarray(j * size, (j + 1) * size), spec.width, spec.height, spec.channels), rows * HASH_WORDS);
        rows++;
      });
      callbacks.onProgress('features', done, pictures.length);
    }
  } finally {
    if (typeof o.backbone !== 'object') backbone.dispose();
  }
  const decoded = pictures.filter((p) => p.row >= 0);
  const dim = backbone.featureDim;

  callbacks.onStage(`comparing ${decoded.length} images`);
  const near = nearPairs(features.subarray(0, rows * dim), hashes, rows, dim, thresholds);
  const pictureOfRow = new Array<Picture>(rows);
  for (const p of decoded) pictureOfRow[p.row] = p;

  // Every pair of files: exact within a picture, near across two near-duplicate pictures.
  const pairs: ImagePair[] = [];
  const memberPairs: Array<[number, number]> = [];
  for (const p of pictures) {
    const exact = p.row >= 0 ? { hashDistance: 0, cosine: 1, cosineMargin: null } : { hashDistance: null, cosine: null, cosineMargin: null };
    for (let x = 0; x < p.members.length; x++)
      for (let y = x + 1; y < p.members.length; y++) {
        pairs.push({ a: entries[p.members[x]!]!.image, b: entries[p.members[y]!]!.image, match: 'exact', ...exact });
        memberPairs.push([p.members[x]!, p.members[y]!]);
      }
  }
  for (const n of near) {
    for (const i of pictureOfRow[n.i]!.members)
      for (const j of pictureOfRow[n.j]!.members) {
        pairs.push({
          a: entries[i]!.image,
          b: entries[j]!.image,
          match: 'near',
          hashDistance: n.hashDistance,
          cosine: round(n.cosine),
          cosineMargin: round(n.cosineMargin),
        });
        memberPairs.push([i, j]);
      }
  }

  const within = (p: ImagePair) => p.a.set === p.b.set;
  const exactDuplicates: DuplicateCluster[] = pictures.flatMap((p) =>
    (['train', 'test', 'unlabeled'] as const)
      .map((set) => p.members.filter((i) => entries[i]!.image.set === set).map((i) => entries[i]!.image))
      .filter((images) => images.length > 1)
      .map((images) => ({ set: images[0]!.set, images, pairs: [] })),
  );
  const nearDuplicates = clusters(
    entries.length,
    memberPairs.filter((_, k) => within(pairs[k]!)),
    pairs.filter(within),
  )
    .filter((c) => c.pairs.some((p) => p.match === 'near'))
    .map((c) => ({ set: entries[c.images[0]!]!.image.set, images: c.images.map((i) => entries[i]!.image), pairs: c.pairs.filter((p) => p.match === 'near') }));
  const bySets = (x: CheckedSet, y: CheckedSet) => (p: ImagePair) => (p.a.set === x && p.b.set === y) || (p.a.set === y && p.b.set === x);
  const leakage = pairs.filter((p) => bySets('train', 'test')(p) || bySets('unlabeled', 'test')(p)).map(orderedPair);
  const poolOverlap = pairs.filter(bySets('train', 'unlabeled')).map(orderedPair);
  const labelConflicts = pairs.filter((p) => p.a.label !== null && p.b.label !== null && p.a.label !== p.b.label);

  // Training pictures with one label, and their classes (exact copies count once).
  const classIndex = new Map(train.classes.map((c, i) => [c, i]));
  const labelOf = (p: Picture, set: CheckedSet): number | null => {
    const labels = new Set(p.members.filter((i) => entries[i]!.image.set === set).map((i) => entries[i]!.image.label));
    if (labels.size !== 1) return null;
    const name = [...labels][0];
    return name === null || name === undefined ? null : (classIndex.get(name) ?? null);
  };
  const trainPictures = decoded.filter((p) => p.members.some((i) => entries[i]!.image.set === 'train'));
  const balance = classBalance(
    trainPictures.flatMap((p) => [
      ...new Set(p.members.filter((i) => entries[i]!.image.set === 'train').map((i) => classIndex.get(entries[i]!.image.label!)!)),
    ]),
    train.classes.length,
  );

  callbacks.onStage('cross-validating a linear head on the trunk features');
  const mislabeled = mislabelCheck({
    features,
    dim,
    classes: train.classes,
    train: trainPictures.filter((p) => labelOf(p, 'train') !== null).map((p) => ({ picture: p, label: labelOf(p, 'train')! })),
    test: decoded
      .filter((p) => p.members.every((i) => entries[i]!.image.set !== 'train') && labelOf(p, 'test') !== null)
      .map((p) => ({ picture: p, label: labelOf(p, 'test')! })),
    near,
    folds: o.folds ?? CV_DEFAULTS.folds,
    seed: o.seed ?? 0,
    thresholds,
    imageOf: (p, set) => entries[p.members.find((i) => entries[i]!.image.set === set)!]!.image,
  });

  const count = (set: CheckedSet) => decoded.reduce((n, p) => n + p.members.filter((i) => entries[i]!.image.set === set).length, 0);
  return {
    source,
    test: o.test ?? null,
    unlabeled: o.unlabeled ?? null,
    classes: train.classes,
    images: { train: count('train'), test: count('test'), unlabeled: count('unlabeled') },
    thresholds,
    exactDuplicates,
    nearDuplicates,
    leakage,
    poolOverlap,
    labelConflicts,
    mislabeled,
    balance: {
      classes: train.classes.map((name, i) => ({ name, count: balance.counts[i]! })),
      min: balance.min,
      max: balance.max,
      ratio: Number.isFinite(balance.imbalanceRatio) ? round(balance.imbalanceRatio) : null,
    },
    problems,
    seconds: round((performance.now() - t0) / 1000),
  };
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;

/** A cross-set pair with the training (else unlabeled) image first. */
function orderedPair(p: ImagePair): ImagePair {
  const rank: Record<CheckedSet, number> = { train: 0, unlabeled: 1, test: 2 };
  return rank[p.a.set] <= rank[p.b.set] ? p : { ...p, a: p.b, b: p.a };
}

/** Connected components of `count` items joined by `links` (the pairs of each component with it). */
function clusters<T>(count: number, links: Array<[number, number]>, items: T[]): Array<{ images: number[]; pairs: T[] }> {
  const parent = Int32Array.from({ length: count }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  for (const [a, b] of links) parent[find(a)] = find(b);
  const out = new Map<number, { images: number[]; pairs: T[] }>();
  links.forEach(([a], k) => {
    const root = find(a);
    if (!out.has(root)) out.set(root, { images: [], pairs: [] });
    out.get(root)!.pairs.push(items[k]!);
  });
  for (let i = 0; i < count; i++) out.get(find(i))?.images.push(i);
  return [...out.values()];
}

/** A near-duplicate pair of decoded pictures (feature rows). */
interface NearPair {
  i: number;
  j: number;
  hashDistance: number;
  cosine: number;
  cosineMargin: number;
}

/** Rows of features compared at once (a block × all cosine matrix). */
const COSINE_BLOCK = 256;
/** A pair stands out when its cosine is above each image's cosine with its NEIGHBOUR-th nearest image. */
const NEIGHBOUR = 5;

/**
 * Pairs of rows that are near-duplicates: hashes at most `hashDistance` apart (resized, re-encoded, brighter or darker
 * copies), or trunk-feature cosine at least `cosine` and at least `cosineMargin` above the cosine of either image with
 * its 5th-nearest image (cropped copies, which move the hash's bits; the margin keeps different images of a set whose
 * images all look alike to the trunk, as Fashion-MNIST's at 28 px, from matching).
 */
function nearPairs(features: Float32Array, hashes: Uint32Array, count: number, dim: number, t: DataCheckThresholds): NearPair[] {
  const candidates: Array<Omit<NearPair, 'cosineMargin'>> = [];
  if (count < 2) return [];
  const unit = tf.tidy(() => {
    const x = tf.tensor2d(features, [count, dim]);
    return tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
  });
  // Each row's cosine with its NEIGHBOUR-th nearest other row (the farthest other row in a smaller set).
  const neighbour = new Float32Array(count);
  const k = Math.min(NEIGHBOUR, count - 1);
  try {
    for (let start = 0; start < count; start += COSINE_BLOCK) {
      const rows = Math.min(COSINE_BLOCK, count - start);
      const cos = tf.tidy(() => tf.matMul(tf.slice(unit, [start, 0], [rows, dim]), unit, false, true).dataSync() as Float32Array);
      const top = new Float32Array(k);
      for (let r = 0; r < rows; r++) {
        const i = start + r;
        top.fill(-Infinity);
        for (let j = 0; j < count; j++) {
          if (j === i) continue;
          const c = cos[r * count + j]!;
          // Keep the k largest, in descending order.
          if (c > top[k - 1]!) {
            let m = k - 1;
            while (m > 0 && top[m - 1]! < c) top[m] = top[--m]!;
            top[m] = c;
          }
          if (j > i) {
            const h = hammingDistance(hashes, i, j);
            if (h <= t.hashDistance || c >= t.cosine) candidates.push({ i, j, hashDistance: h, cosine: c });
          }
        }
        neighbour[i] = top[k - 1]!;
      }
    }
  } finally {
    unit.dispose();
  }
  return candidates
    .map((p) => ({ ...p, cosineMargin: p.cosine - Math.max(neighbour[p.i]!, neighbour[p.j]!) }))
    .filter((p) => p.hashDistance <= t.hashDistance || (p.cosine >= t.cosine && p.cosineMargin >= t.cosineMargin));
}

interface LabeledPicture {
  picture: Picture;
  label: number;
}

/**
 * Likely mislabeled images: each training picture scored by a linear head (L2-regularised logistic regression on
 * standardised trunk features, as `frugal train` fits) trained on the other folds, near-duplicates kept in one fold
 * (a copy in another fold would vouch for its label); test pictures by a head trained on every training picture.
 * A candidate's top class is not its label, with probability at least `confidence`, and its label's at most
 * `labelProbability`.
 */
function mislabelCheck(d: {
  features: Float32Array;
  dim: number;
  classes: string[];
  train: LabeledPicture[];
  test: LabeledPicture[];
  near: NearPair[];
  folds: number;
  seed: number;
  thresholds: DataCheckThresholds;
  imageOf: (p: Picture, set: CheckedSet) => CheckedImage;
}): DataCheckFile['mislabeled'] {
  const k = d.classes.length;
  const empty = (skipped: string, folds = 0): DataCheckFile['mislabeled'] => ({ candidates: [], scored: 0, folds, accuracy: null, skipped });
  if (k < 2) return empty('one class: nothing to tell it from');
  // Near-duplicate training pictures form one group, dealt to one fold.
  const groupOf = componentsOf(d.train, d.near);
  const groupLabels: number[] = [];
  groupOf.forEach((g, i) => (groupLabels[g] ??= d.train[i]!.label));
  const smallest = classBalance(groupLabels, k).min;
  const folds = Math.min(d.folds, smallest);
  if (folds < 2)
    return empty(`a class has ${smallest} image${smallest === 1 ? '' : 's'} (near-duplicates counted once): cross-validation needs at least 2 in each`);
  const groupFold = stratifiedFolds(Int32Array.from(groupLabels), folds, d.seed);
  const fold = Int32Array.from(groupOf, (g) => groupFold[g]!);

  const rowsOf = (items: LabeledPicture[]) => {
    const out = new Float32Array(items.length * d.dim);
    items.forEach((x, i) => out.set(d.features.subarray(x.picture.row * d.dim, (x.picture.row + 1) * d.dim), i * d.dim));
    return out;
  };
  const fit = (items: LabeledPicture[]) => {
    const inputs = rowsOf(items);
    const stats = featureStats(inputs, items.length, d.dim);
    const model = fitLogistic(
      standardize(inputs, stats),
      oneHot(
        items.map((x) => x.label),
        k,
      ),
      items.length,
      d.dim,
      k,
      { l2: DEFAULT_HEAD_L2 },
    );
    return (scored: LabeledPicture[]) => logisticProbs(model, standardize(rowsOf(scored), stats), scored.length);
  };
  // One finding per picture: near-duplicates flagged alike (same group, label and prediction) are one candidate.
  const found = new Map<string, MislabelCandidate>();
  let right = 0;
  const judge = (items: LabeledPicture[], probs: Float32Array, set: CheckedSet, group: Int32Array) => {
    items.forEach((x, i) => {
      const row = probs.subarray(i * k, (i + 1) * k);
      let top = 0;
      for (let c = 1; c < k; c++) if (row[c]! > row[top]!) top = c;
      if (set === 'train' && top === x.label) right++;
      if (top === x.label || row[top]! < d.thresholds.confidence || row[x.label]! > d.thresholds.labelProbability) return;
      const candidate = {
        image: d.imageOf(x.picture, set),
        predicted: d.classes[top]!,
        confidence: round(row[top]!),
        labelProbability: round(row[x.label]!),
        nearDuplicates: [],
      };
      const key = `${set} ${group[i]} ${x.label} ${top}`;
      const other = found.get(key);
      if (!other) found.set(key, candidate);
      else if (margin(candidate) > margin(other)) found.set(key, { ...candidate, nearDuplicates: [...other.nearDuplicates, other.image.path] });
      else other.nearDuplicates.push(candidate.image.path);
    });
  };
  for (let f = 0; f < folds; f++) {
    const { train: restIdx, test: heldIdx } = splitFold(fold, f);
    const held = heldIdx.map((i) => d.train[i]!);
    if (held.length && restIdx.length)
      judge(
        held,
        fit(restIdx.map((i) => d.train[i]!))(held),
        'train',
        Int32Array.from(heldIdx, (i) => groupOf[i]!),
      );
  }
  if (d.test.length) judge(d.test, fit(d.train)(d.test), 'test', componentsOf(d.test, d.near));
  const candidates = [...found.values()].sort((a, b) => margin(b) - margin(a));
  return { candidates, scored: d.train.length + d.test.length, folds, accuracy: round(right / d.train.length), skipped: null };
}

/** How sure a mislabel candidate is: its predicted class's probability less its label's. */
const margin = (c: MislabelCandidate) => c.confidence - c.labelProbability;

/** The connected component of each picture under the near-duplicate pairs among them (numbered from 0). */
function componentsOf(items: LabeledPicture[], near: NearPair[]): Int32Array {
  const index = new Map(items.map((x, i) => [x.picture.row, i]));
  const links = near.filter((n) => index.has(n.i) && index.has(n.j)).map((n) => [index.get(n.i)!, index.get(n.j)!] as [number, number]);
  const component = new Int32Array(items.length).fill(-1);
  let next = 0;
  for (const c of clusters(items.length, links, links)) {
    for (const i of c.images) component[i] = next;
    next++;
  }
  return component.map((c) => (c === -1 ? next++ : c));
}
