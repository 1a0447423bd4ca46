/**
 * `frugal data check` against planted problems on real photos: a set's training and test splits are copied into a
 * temporary folder, known problems are planted, and the check is scored on finding them.
 *
 *   exact      byte copies under new names in the training split
 *   cross      byte copies of training images in the test split (leakage)
 *   near       near-duplicates in the training split: resized 0.5–0.8×, re-encoded as JPEG at quality 60–85, or
 *              cropped by 5–10 % and resized back; every other one also 5–10 % brighter or darker
 *   near-cross the same kinds of near-duplicates of training images, in the test split
 *   relabel    5 % of the training images moved to another class folder
 *
 * Each planted problem uses an image of its own (no image is planted twice). A reported pair between two files of
 * one planted picture is right; a pair between different pictures is natural when the unplanted copy of the set,
 * checked the same way, already reports it (its own near-duplicates), else wrong. Precision of near-duplicates is
 * over the reported near pairs that are not natural. Relabels: precision over every flagged training image
 * (natural mislabels count against it), and also with the images flagged on the unplanted copy left out.
 *
 *   npm run build && node dist/bench/check/run.js [--sets flowers12,hymenoptera] [--seeds 0,1,2] [--sweep] [--plant-only]
 *
 * `--sweep` (how the thresholds were chosen): one check with loose thresholds on each task, then precision and
 * recall for a grid of thresholds. `--plant-only`: make the folders (and each task's plants.json), check nothing.
 * Results: JSON lines under /tmp/frugal-check/.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../src/engine/backend.js';
import { checkData, DATA_CHECK_THRESHOLDS } from '../../src/recipes/data-check.js';
import type { DataCheckFile, DataCheckThresholds, ImagePair } from '../../src/runs/files.js';
import { Rng } from '../../src/util/rng.js';
import { photosRoot, PHOTO_SETS } from '../lib/photos.js';
import { arg } from '../lib/scarce-fmnist.js';

const WORK = '/tmp/frugal-check';
const IMAGE = /\.(jpe?g|png|webp|gif|tiff?|bmp)$/i;
/** Planted problems per task (relabels: 5 % of the training split). */
const PLANTS = { exact: 20, cross: 10, near: 45, nearCross: 15, noise: 0.05 };
const TRANSFORMS = ['resize', 'reencode', 'crop'] as const;
type Transform = (typeof TRANSFORMS)[number];

interface Planted {
  kind: 'exact' | 'cross' | 'near' | 'near-cross' | 'relabel';
  /** The training image it was made from (its path in the copy). */
  source: string;
  /** The new file (a relabel: the moved file). */
  file: string;
  transform?: string;
}

interface Task {
  set: string;
  seed: number;
  /** The unplanted copy and the planted one. */
  clean: { train: string; test: string };
  planted: { train: string; test: string };
  plants: Planted[];
  /** Each file of either copy → the original photo it shows. */
  origin: Map<string, string>;
}

async function listClassFolder(root: string): Promise<Array<{ file: string; cls: string }>> {
  const out: Array<{ file: string; cls: string }> = [];
  for (const cls of (await fsp.readdir(root)).sort()) {
    const dir = path.join(root, cls);
    if (!(await fsp.stat(dir)).isDirectory()) continue;
    for (const f of (await fsp.readdir(dir)).filter((f) => IMAGE.test(f)).sort()) out.push({ file: path.join(dir, f), cls });
  }
  return out;
}

async function copySplit(from: string, to: string, origin: Map<string, string>): Promise<void> {
  for (const { file, cls } of await listClassFolder(from)) {
    const dest = path.join(to, cls, path.basename(file));
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.copyFile(file, dest);
    origin.set(dest, file);
  }
}

/** A near-duplicate of an image: resized, re-encoded or slightly cropped (and, with `shift`, brighter or darker). */
async function nearCopy(bytes: Buffer, transform: Transform, rng: Rng, shift: boolean): Promise<{ data: Buffer; describe: string }> {
  const { data, info } = await sharp(bytes).rotate().raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  let pipeline = sharp(data, { raw: { width, height, channels } });
  let describe: string;
  let quality = 90;
  if (transform === 'resize') {
    const s = rng.uniform(0.5, 0.8);
    pipeline = pipeline.resize(Math.round(width * s), Math.round(height * s));
    describe = `resized ${s.toFixed(2)}×`;
  } else if (transform === 'reencode') {
    quality = 60 + rng.int(26);
    describe = `re-encoded at quality ${quality}`;
  } else {
    const c = rng.uniform(0.05, 0.1);
    const w = Math.round(width * (1 - c));
    const h = Math.round(height * (1 - c));
    pipeline = pipeline.extract({ left: rng.int(width - w + 1), top: rng.int(height - h + 1), width: w, height: h }).resize(width, height, { fit: 'fill' });
    describe = `cropped ${(c * 100).toFixed(1)}% and resized back`;
  }
  if (shift) {
    const b = 1 + (rng.chance(0.5) ? 1 : -1) * rng.uniform(0.05, 0.1);
    pipeline = pipeline.modulate({ brightness: b });
    describe += `, brightness ×${b.toFixed(2)}`;
  }
  return { data: await pipeline.jpeg({ quality }).toBuffer(), describe };
}

/** Copy a photo set's splits twice (as they are, and with problems planted). */
async function makeTask(set: string, seed: number): Promise<Task> {
  const info = PHOTO_SETS[set]!;
  const root = path.join(photosRoot(), set);
  const dir = path.join(WORK, `${set}-s${seed}`);
  await fsp.rm(dir, { recursive: true, force: true });
  const origin = new Map<string, string>();
  const clean = { train: path.join(dir, 'clean', 'train'), test: path.join(dir, 'clean', 'test') };
  const planted = { train: path.join(dir, 'planted', 'train'), test: path.join(dir, 'planted', 'test') };
  for (const t of [clean, planted]) {
    await copySplit(path.join(root, info.train), t.train, origin);
    await copySplit(path.join(root, info.test), t.test, origin);
  }
  const rng = new Rng(`check-${set}-${seed}`);
  const files = rng.shuffle(await listClassFolder(planted.train));
  const classes = [...new Set(files.map((f) => f.cls))].sort();
  const take = (n: number) => files.splice(0, n);
  const relabels = Math.round(PLANTS.noise * files.length);
  const name = () => `img-${rng.nextU32().toString(16).padStart(8, '0')}.jpg`;
  const plants: Planted[] = [];
  for (const { file, cls } of take(PLANTS.exact)) {
    const copy = path.join(planted.train, cls, name());
    await fsp.copyFile(file, copy);
    plants.push({ kind: 'exact', source: file, file: copy });
  }
  for (const { file, cls } of take(PLANTS.cross)) {
    const copy = path.join(planted.test, cls, name());
    await fsp.copyFile(file, copy);
    plants.push({ kind: 'cross', source: file, file: copy });
  }
  for (const [kind, n, into] of [
    ['near', PLANTS.near, planted.train],
    ['near-cross', PLANTS.nearCross, planted.test],
  ] as const) {
    for (const [j, { file, cls }] of take(n).entries()) {
      const { data, describe } = await nearCopy(await fsp.readFile(file), TRANSFORMS[j % 3]!, rng, j % 2 === 1);
      const copy = path.join(into, cls, name());
      await fsp.writeFile(copy, data);
      plants.push({ kind, source: file, file: copy, transform: describe });
    }
  }
  for (const { file, cls } of take(relabels)) {
    const others = classes.filter((c) => c !== cls);
    const moved = path.join(planted.train, rng.pick(others), path.basename(file));
    await fsp.rename(file, moved);
    plants.push({ kind: 'relabel', source: file, file: moved });
  }
  for (const p of plants) origin.set(p.file, origin.get(p.source)!);
  await fsp.writeFile(path.join(dir, 'plants.json'), JSON.stringify(plants, null, 1));
  return { set, seed, clean, planted, plants, origin };
}

/** Loose thresholds: every pair and every disagreement a grid of thresholds could keep. */
const LOOSE_PAIRS: Partial<DataCheckThresholds> = { hashDistance: 48, cosine: 0.8, cosineMargin: -1 };
const LOOSE_LABELS: Partial<DataCheckThresholds> = { confidence: 0, labelProbability: 1 };

const key = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

/** Every pair a check reports (duplicates, leakage, pool overlap), once each. */
function reportedPairs(r: DataCheckFile): ImagePair[] {
  const seen = new Set<string>();
  const out: ImagePair[] = [];
  for (const p of [...r.nearDuplicates.flatMap((c) => c.pairs), ...r.leakage, ...r.poolOverlap, ...r.exactDuplicates.flatMap(exactPairs)]) {
    const k = key(p.a.path, p.b.path);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(p);
    }
  }
  return out;
}

function exactPairs(c: DataCheckFile['exactDuplicates'][number]): ImagePair[] {
  const out: ImagePair[] = [];
  for (let i = 0; i < c.images.length; i++)
    for (let j = i + 1; j < c.images.length; j++)
      out.push({ a: c.images[i]!, b: c.images[j]!, match: 'exact', hashDistance: 0, cosine: 1, cosineMargin: null });
  return out;
}

const keeps = (t: DataCheckThresholds) => (p: ImagePair) =>
  p.match === 'exact' ||
  (p.hashDistance !== null && p.cosine !== null && (p.hashDistance <= t.hashDistance || (p.cosine >= t.cosine && p.cosineMargin! >= t.cosineMargin)));

interface KindScore {
  kind: string;
  planted: number;
  found: number;
  recall: number;
  /** Reported items of this kind, the natural ones among them (already reported on the unplanted copy), the right ones. */
  reported: number;
  natural: number;
  right: number;
  /** Right / (reported − natural): natural findings left out. */
  precision: number | null;
  /** Right / reported: natural findings count against. */
  precisionAll: number | null;
}

function kindScore(kind: string, planted: number, found: number, reported: number, natural: number, right: number): KindScore {
  return {
    kind,
    planted,
    found,
    recall: found / planted,
    reported,
    natural,
    right,
    precision: reported - natural ? right / (reported - natural) : null,
    precisionAll: reported ? right / reported : null,
  };
}

/** Score a check of the planted copy against the plants, natural pairs and flags from a check of the clean copy. */
function score(task: Task, r: DataCheckFile, clean: DataCheckFile, t: DataCheckThresholds): KindScore[] {
  const origin = (p: string) => task.origin.get(p) ?? p;
  const pairs = reportedPairs(r).filter(keeps(t));
  // Natural: pictures the clean check joins (connected through its pairs).
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    while (parent.has(x) && parent.get(x) !== x) x = parent.get(x)!;
    return x;
  };
  for (const p of reportedPairs(clean).filter(keeps(t))) {
    const [a, b] = [find(origin(p.a.path)), find(origin(p.b.path))];
    if (a !== b) parent.set(a, b);
  }
  const isNatural = (p: ImagePair) => find(origin(p.a.path)) === find(origin(p.b.path));
  const found = new Set(pairs.map((p) => key(p.a.path, p.b.path)));
  const out: KindScore[] = [];
  const pairKinds: Array<[string, Planted['kind'][], (p: ImagePair) => boolean]> = [
    ['exact duplicates', ['exact'], (p) => p.match === 'exact' && p.a.set === p.b.set],
    ['cross-split copies', ['cross'], (p) => p.match === 'exact' && p.a.set !== p.b.set],
    ['near-duplicates (all)', ['near', 'near-cross'], (p) => p.match === 'near'],
    ['near-duplicates, in train', ['near'], (p) => p.match === 'near' && p.a.set === p.b.set],
    ['near-duplicates, train/test', ['near-cross'], (p) => p.match === 'near' && p.a.set !== p.b.set],
  ];
  for (const [kind, kinds, isKind] of pairKinds) {
    const plants = task.plants.filter((p) => kinds.includes(p.kind));
    const hits = plants.filter((p) => found.has(key(p.source, p.file))).length;
    const reported = pairs.filter(isKind);
    const natural = reported.filter((p) => origin(p.a.path) !== origin(p.b.path) && isNatural(p)).length;
    const right = reported.filter((p) => origin(p.a.path) === origin(p.b.path)).length;
    out.push(kindScore(kind, plants.length, hits, reported.length, natural, right));
  }
  const flagged = r.mislabeled.candidates.filter((c) => c.image.set === 'train' && c.confidence >= t.confidence && c.labelProbability <= t.labelProbability);
  const cleanFlagged = new Set(
    clean.mislabeled.candidates
      .filter((c) => c.image.set === 'train' && c.confidence >= t.confidence && c.labelProbability <= t.labelProbability)
      .map((c) => origin(c.image.path)),
  );
  const relabeled = new Set(task.plants.filter((p) => p.kind === 'relabel').map((p) => p.file));
  const right = flagged.filter((c) => relabeled.has(c.image.path)).length;
  const natural = flagged.filter((c) => !relabeled.has(c.image.path) && cleanFlagged.has(origin(c.image.path))).length;
  out.push(kindScore('relabels', relabeled.size, right, flagged.length, natural, right));
  return out;
}

const pct = (v: number | null) => (v === null ? '–' : (v * 100).toFixed(0));

async function main(): Promise<void> {
  await initBackend();
  const sets = arg('sets', 'flowers12,hymenoptera').split(',');
  const seeds = arg('seeds', '0,1,2').split(',').map(Number);
  const sweep = process.argv.includes('--sweep');
  await fsp.mkdir(WORK, { recursive: true });
  const results = path.join(WORK, sweep ? 'sweep.jsonl' : 'results.jsonl');
  const table: string[] = [];
  for (const set of sets) {
    for (const seed of seeds) {
      const task = await makeTask(set, seed);
      if (process.argv.includes('--plant-only')) continue;
      const t0 = performance.now();
      const check = (data: { train: string; test: string }, thresholds?: Partial<DataCheckThresholds>) =>
        checkData(data.train, { test: data.test, seed, thresholds });
      if (sweep) {
        // Near-duplicates from loose pair thresholds; mislabels from the default pairs (their folds) and loose flags.
        const [pairsClean, pairsPlanted] = [await check(task.clean, LOOSE_PAIRS), await check(task.planted, LOOSE_PAIRS)];
        const [labelsClean, labelsPlanted] = [await check(task.clean, LOOSE_LABELS), await check(task.planted, LOOSE_LABELS)];
        for (const hashDistance of [8, 16, 24, 32, 40])
          for (const cosine of [0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 1.01])
            for (const cosineMargin of [0, 0.03, 0.05, 0.07, 0.09, 0.11, 0.13]) {
              const t = { ...DATA_CHECK_THRESHOLDS, hashDistance, cosine, cosineMargin };
              const s = score(task, pairsPlanted, pairsClean, t).filter((k) => k.kind.startsWith('near-duplicates (all)'));
              await fsp.appendFile(results, JSON.stringify({ set, seed, thresholds: t, scores: s }) + '\n');
            }
        for (const confidence of [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
          for (const labelProbability of [0.02, 0.05, 0.1, 0.15, 0.2, 0.3]) {
            const t = { ...DATA_CHECK_THRESHOLDS, confidence, labelProbability };
            const s = score(task, labelsPlanted, labelsClean, t).filter((k) => k.kind === 'relabels');
            await fsp.appendFile(results, JSON.stringify({ set, seed, thresholds: t, scores: s }) + '\n');
          }
        process.stderr.write(`${set} seed ${seed}: sweep written (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
        continue;
      }
      const clean = await check(task.clean);
      const t1 = performance.now();
      const planted = await check(task.planted);
      const seconds = (performance.now() - t1) / 1000;
      const scores = score(task, planted, clean, DATA_CHECK_THRESHOLDS);
      await fsp.appendFile(
        results,
        JSON.stringify({
          set,
          seed,
          thresholds: DATA_CHECK_THRESHOLDS,
          images: planted.images,
          scores,
          cleanFindings: {
            exact: clean.exactDuplicates.length,
            near: clean.nearDuplicates.reduce((n, c) => n + c.pairs.length, 0),
            leakage: clean.leakage.length,
            labelConflicts: clean.labelConflicts.length,
            mislabeled: clean.mislabeled.candidates.filter((c) => c.image.set === 'train').length,
          },
          cvAccuracy: planted.mislabeled.accuracy,
          seconds,
        }) + '\n',
      );
      for (const s of scores)
        table.push(
          `| ${set} | ${seed} | ${s.kind} | ${s.planted} | ${s.found} | ${pct(s.recall)} | ${s.reported} | ${s.natural} | ${pct(s.precision)} | ${pct(s.precisionAll)} | ${seconds.toFixed(0)} |`,
        );
      process.stderr.write(`${set} seed ${seed}: done (${seconds.toFixed(0)} s)\n`);
    }
  }
  if (!sweep) {
    console.log(
      `frugal data check on planted problems; thresholds ${JSON.stringify(DATA_CHECK_THRESHOLDS)}\n\n` +
        '| set | seed | planted kind | planted | found | recall % | reported | natural | precision % (natural left out) | precision % (natural counted) | check s |\n' +
        '|---|---|---|---|---|---|---|---|---|---|---|\n' +
        table.join('\n'),
    );
  }
  console.log(`\nresults: ${results}`);
}

await main();
