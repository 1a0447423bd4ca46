import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FrugalError, OptionError } from '../util/errors.js';
import { exists, folderBeside, safeSegment, swapInFolder, writeFileAtomic } from '../util/fs.js';
import { concatFloat32 } from '../util/arrays.js';
import { ensureBackend } from '../engine/backend.js';
import { loadBackbone, loadBackboneRef, type BackboneOptions } from '../models/backbones/load.js';
import { BUILTIN_TRUNK } from '../models/backbones/pretrained.js';
import type { Backbone } from '../models/backbones/types.js';
import { prepareData } from '../data/prepare.js';
import { openDataset, type Problem } from '../data/sources.js';
import { decodeAll, decodeBatches } from '../data/loader.js';
import type { ImageSpec } from '../data/decode.js';
import { contentDigests, dropDuplicateFiles, dropTrainingCopies } from '../data/duplicates.js';
import { cachedPerImage, extractFeatures, featureCacheOf } from '../train/features.js';
import { fitLinearHead } from '../train/head-fit.js';
import { CallbackList, type Callback } from '../train/callbacks.js';
import { mirroredImages } from '../augment/index.js';
import { autoCutPoints } from './cut-search.js';
import { loadTeacher } from './teacher.js';
import { selectForLabeling, SUGGEST_STRATEGIES, type SuggestStrategy } from './active-selection.js';

export { SUGGEST_STRATEGIES, type SuggestStrategy } from './active-selection.js';

/** Pool images decoded at a time (only their features are kept). */
const POOL_BATCH = 256;

/** Suggestions per class when no count is given: what one round of bench/active adds. */
export const SUGGEST_PER_CLASS = 2;

export interface SuggestOptions {
  /** The unlabeled pool to choose from (a folder, any depth). */
  unlabeled: string;
  /** How many images to suggest (default `SUGGEST_PER_CLASS` × classes). */
  count?: number;
  /**
   * The current model (a model directory): its predictions give the uncertainty and the guesses. Default: the
   * frozen-trunk head `frugal train` would fit on the labeled images (logistic regression on the trunk's features).
   */
  model?: string;
  /** The trunk whose features place the images (and, without `model`, feed the head). Default: the built-in trunk; with `model`, its own backbone (the built-in trunk when it has none). */
  backbone?: string | Backbone;
  backboneOptions?: BackboneOptions;
  /** Default `uncertainty-diversity`. */
  strategy?: SuggestStrategy;
  /** Seeds the clustering and the random draw (default 0). */
  seed?: number;
  /** Without `model`: train the head on the labeled images' mirror images too, as `frugal train` does (default true). */
  mirror?: boolean;
  strict?: boolean;
  workers?: number;
  /** Decoded-image cache (`false`: none, and no feature cache either unless `featureCache` says otherwise). */
  cache?: boolean | string;
  featureCache?: boolean | string;
  callbacks?: readonly Callback[];
}

/** One image to label next. */
export interface Suggestion {
  rank: number;
  path: string;
  /** The model's uncertainty: 1 − (p₁ − p₂), the margin between its two likeliest classes turned around (1: a toss-up). */
  score: number;
  /** The model's likeliest class and its probability. */
  guess: string;
  confidence: number;
}

export interface SuggestResult {
  strategy: SuggestStrategy;
  /** Best first. */
  suggestions: Suggestion[];
  classes: string[];
  /** The model directory whose predictions ranked the pool; null: a head fitted on the labeled images. */
  model: string | null;
  /** The trunk whose features placed the images. */
  backbone: { source: string; featureDim: number };
  seed: number;
  labeledImages: number;
  labeledPerClass: Record<string, number>;
  /** Pool images ranked (after files left out: copies of labeled images, duplicates, unreadable files). */
  poolImages: number;
  /** Suggestions per guessed class. */
  guessedPerClass: Record<string, number>;
  /** Files left out, with the reason. */
  problems: Problem[];
  seconds: number;
}

/**
 * Which unlabeled images to label next (active learning): ranks the pool by how much labeling each would help the
 * current model, balancing the model's uncertainty with coverage of the feature space (`strategy`, see
 * `SuggestStrategy` and docs/suggest.md). Pool images that are copies of labeled images are left out.
 */
export async function suggestLabels(labeled: string, o: SuggestOptions): Promise<SuggestResult> {
  const t0 = performance.now();
  const strategy = o.strategy ?? 'uncertainty-diversity';
  if (!SUGGEST_STRATEGIES.includes(strategy)) throw new OptionError((n) => `${n('strategy', strategy)}: not a strategy (${SUGGEST_STRATEGIES.join(', ')})`);
  if (o.count !== undefined && !(Number.isInteger(o.count) && o.count >= 1))
    throw new OptionError((n) => `${n('count')} must be a whole number ≥ 1, got ${o.count}`);
  if (o.model && (o.backbone !== undefined || o.backboneOptions !== undefined))
    throw new OptionError((n) => `${n('model')} places the images with its own backbone: give ${n('model')} or ${n('backbone')}, not both`);
  if (autoCutPoints(o.backboneOptions?.cut) !== null)
    throw new OptionError((n) => `${n('cut', o.backboneOptions!.cut!)} chooses cut points for training; give a layer (or none for the trunk's own)`);
  await ensureBackend();
  const callbacks = new CallbackList(o.callbacks);
  const seed = o.seed ?? 0;
  const featureCache = featureCacheOf(o);
  callbacks.onStage('loading the model');
  const teacher = o.model ? await loadTeacher(o.model) : null;
  const spec = o.backbone ?? BUILTIN_TRUNK;
  const backbone = teacher?.predictor.meta.backbone
    ? await loadBackboneRef(teacher.predictor.meta.backbone)
    : typeof spec === 'string'
      ? await loadBackbone(spec, o.backboneOptions)
      : spec;
  try {
    callbacks.onStage('decoding the labeled images');
    const decodeOptions = { strict: o.strict, workers: o.workers, cache: o.cache };
    const data = await prepareData(labeled, { ...decodeOptions, spec: backbone.spec, noValidation: true }, callbacks.onProgress);
    const classes = teacher ? teacher.classes : data.classes;
    if (teacher && data.classes.join('\n') !== classes.join('\n'))
      callbacks.onNotice(
        `the labeled images' classes (${data.classes.join(', ')}) are not the model's (${classes.join(', ')}): guesses are the model's classes`,
      );
    callbacks.onStage('listing the unlabeled images');
    const poolSet = await openDataset(o.unlabeled, { unlabeled: true, strict: o.strict });
    const unique = await dropDuplicateFiles(poolSet.samples, [], o.unlabeled);
    const fresh = await dropTrainingCopies(unique.samples, await contentDigests(data.dataset.samples), data.dataset.samples);
    const problems: Problem[] = [...data.problems, ...poolSet.problems, ...unique.problems, ...fresh.problems];
    const skippedBefore = problems.length;
    const features = (pixels: Uint8Array, count: number, task?: string) =>
      extractFeatures(backbone, pixels, count, {
        cache: featureCache,
        onProgress: task ? (d, t) => callbacks.onProgress(task, d, t) : undefined,
      }).then((f) => f.features);
    callbacks.onStage('extracting features');
    const labeledFeatures = await features(data.train.pixels, data.train.count, 'features');
    // The pool, batch by batch (a large pool's pixels are never all in memory): its features and, with a model, the
    // model's log-probabilities (cached like a teacher's for distillation).
    callbacks.onStage(`extracting features of ${fresh.samples.length} unlabeled images${teacher ? " and the model's predictions" : ''}`);
    const own = teacher?.predictor.spec;
    const featureParts: Float32Array[] = [];
    const logitParts: Float32Array[] = [];
    const paths: string[] = [];
    for await (const batch of decodeBatches(fresh.samples, POOL_BATCH, { ...decodeOptions, spec: backbone.spec })) {
      problems.push(...batch.problems);
      if (batch.count === 0) continue;
      featureParts.push(await features(batch.pixels, batch.count));
      paths.push(...batch.paths);
      if (teacher && own) {
        let pixels = batch.pixels;
        if (!sameSpec(own, backbone.spec)) {
          const again = await decodeAll(
            batch.paths.map((p) => ({ path: p, label: null })),
            { ...decodeOptions, spec: own },
          );
          if (again.count !== batch.count)
            throw new FrugalError(`${again.problems[0]?.path ?? o.unlabeled}: ${again.problems[0]?.reason ?? 'cannot be decoded'} at the model's input size`);
          pixels = again.pixels;
        }
        const key = `${teacher.id}-${own.height}x${own.width}x${own.channels}`;
        const logits = await cachedPerImage(key, classes.length, pixels, batch.count, (px, n) => teacher.logits(px, n, own), { cache: featureCache });
        logitParts.push(logits.features);
      }
      callbacks.onProgress('features (unlabeled)', paths.length + problems.length - skippedBefore, fresh.samples.length);
    }
    const poolCount = paths.length;
    if (poolCount === 0) throw new FrugalError(`${o.unlabeled}: no unlabeled images to suggest (none left after the files listed as skipped)`);
    const poolFeatures = concatFloat32(...featureParts);
    let probs: Float32Array;
    if (teacher) probs = softmaxRows(concatFloat32(...logitParts), classes.length);
    else {
      callbacks.onStage('fitting the head on the labeled images');
      const mirror = o.mirror ?? true;
      const labels = data.train.labels;
      let set = { inputs: labeledFeatures, labels, count: data.train.count };
      if (mirror) {
        const flipped = await features(mirroredImages(data.train.pixels, data.train.count, backbone.spec), data.train.count, 'features (mirror images)');
        set = { inputs: concatFloat32(labeledFeatures, flipped), labels: Int32Array.from([...labels, ...labels]), count: 2 * data.train.count };
      }
      probs = fitLinearHead(set, backbone.featureDim, classes.length).probs(poolFeatures, poolCount);
    }
    callbacks.onStage(`ranking ${poolCount} images (${strategy})`);
    const count = o.count ?? SUGGEST_PER_CLASS * classes.length;
    const picks = selectForLabeling(
      {
        probs,
        classes: classes.length,
        features: poolFeatures,
        count: poolCount,
        dim: backbone.featureDim,
        labeledFeatures,
        labeledCount: data.train.count,
      },
      count,
      strategy,
      seed,
    );
    const suggestions = picks.map((p, r) => ({
      rank: r + 1,
      path: paths[p.index]!,
      score: p.uncertainty,
      guess: classes[p.guess]!,
      confidence: p.confidence,
    }));
    const tally = (names: string[], of: string[]) => Object.fromEntries(names.map((c) => [c, of.filter((x) => x === c).length]));
    return {
      strategy,
      suggestions,
      classes,
      model: o.model ? path.resolve(o.model) : null,
      backbone: { source: backbone.ref.source, featureDim: backbone.featureDim },
      seed,
      labeledImages: data.train.count,
      labeledPerClass: tally(
        data.classes,
        Array.from(data.train.labels, (y) => data.classes[y]!),
      ),
      poolImages: poolCount,
      guessedPerClass: tally(
        classes,
        suggestions.map((s) => s.guess),
      ),
      problems,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    teacher?.dispose();
    if (backbone !== o.backbone) backbone.dispose();
  }
}

function sameSpec(a: ImageSpec, b: ImageSpec): boolean {
  return a.height === b.height && a.width === b.width && a.channels === b.channels && a.resize === b.resize;
}

/** Probabilities from rows of log-probabilities (or logits). */
function softmaxRows(logits: Float32Array, k: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i += k) {
    const row = logits.subarray(i, i + k);
    const max = Math.max(...row);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += out[i + c] = Math.exp(row[c]! - max);
    for (let c = 0; c < k; c++) out[i + c]! /= sum;
  }
  return out;
}

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Suggestions as CSV: path,score,guess,confidence (plus `file`, where `writeSuggestionFolder` put each), best first. */
export function suggestionsCsv(suggestions: readonly Suggestion[], files?: readonly string[]): string {
  const header = ['path', 'score', 'guess', 'confidence', ...(files ? ['file'] : [])];
  const lines = suggestions.map((s, i) =>
    [s.path, s.score.toFixed(4), s.guess, s.confidence.toFixed(4), ...(files ? [files[i]!] : [])].map(csvField).join(','),
  );
  return [header.join(','), ...lines].join('\n') + '\n';
}

/** The file naming a suggestions folder (written last: a folder without it is not one). */
export const SUGGESTIONS_CSV = 'suggestions.csv';

/**
 * The suggested images laid out by guessed class, `<dir>/<guess>/<file>` (hard links where the file system allows,
 * else copies), with `suggestions.csv`: a person moves the wrong guesses to their class folders, and the folder is
 * labeled data. The folder is built beside `dir` and swapped in (`swapInFolder`). `dir` must be new or empty, or, with
 * `force`, a suggestions folder (holding `suggestions.csv`), which is replaced as a whole. Class names from data
 * never make paths outside the folder. Returns each suggestion's file, relative to `dir`.
 */
export async function writeSuggestionFolder(dir: string, suggestions: readonly Suggestion[], o: { force?: boolean } = {}): Promise<string[]> {
  const guesses = new Set(suggestions.map((s) => safeSegment(s.guess, 'class name')));
  const present = (await exists(dir)) ? await fsp.readdir(dir) : null;
  if (present && present.length > 0) {
    if (!present.includes(SUGGESTIONS_CSV)) throw new OptionError(`${dir} is not empty and holds no ${SUGGESTIONS_CSV}: choose a new or empty folder`);
    if (!o.force) throw new OptionError((n) => `${dir} holds suggestions already: add ${n('force')} to replace them, or choose another folder`);
  }
  const target = path.resolve(dir);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const files: string[] = [];
  await swapInFolder(await folderBeside(target), target, async (fresh) => {
    for (const g of guesses) await fsp.mkdir(path.join(fresh, g));
    const used = new Set<string>();
    for (const s of suggestions) {
      const base = path.basename(s.path);
      const ext = path.extname(base);
      let name = safeSegment(base, 'file name');
      for (let i = 2; used.has(`${s.guess}/${name}`); i++) name = `${base.slice(0, base.length - ext.length)}-${i}${ext}`;
      used.add(`${s.guess}/${name}`);
      const source = await fsp.realpath(s.path);
      const dest = path.join(fresh, s.guess, name);
      await fsp.link(source, dest).catch(() => fsp.copyFile(source, dest));
      files.push(path.join(s.guess, name));
    }
    await writeFileAtomic(path.join(fresh, SUGGESTIONS_CSV), suggestionsCsv(suggestions, files));
  });
  return files;
}
