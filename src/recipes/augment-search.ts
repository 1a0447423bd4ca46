import { FrugalError } from '../util/errors.js';
import { concatBatches, subset, type DecodedBatch } from '../data/loader.js';
import { prepareData, type DataOptions } from '../data/prepare.js';
import { samplePerClass } from '../data/split.js';
import { augmentedViews, policyFromOption } from '../augment/index.js';
import { loadBackbone, type BackboneOptions } from '../models/backbones/load.js';
import type { Backbone } from '../models/backbones/types.js';
import { initWeights } from '../models/init.js';
import { getArch } from '../models/zoo/index.js';
import { fitPreprocessing } from '../models/preprocess.js';
import { extractFeatures, featureCacheOf } from '../train/features.js';
import { argmaxRows, compareScores, pixelEncoder, predictProbs } from '../train/loop.js';
import { fitOnData, DEFAULT_HYPER, type TrainHyper } from '../train/fit-on-data.js';
import { crossValidateHead, stratifiedFolds } from '../train/head-cv.js';
import { wholeModel } from '../train/trainable.js';
import { augmentTransform } from '../train/batch-augmentation.js';
import { pairedComparison } from '../evaluate/significance.js';
import type { SearchFile, SearchMode, SearchTrial } from '../runs/files.js';
import { writeSearchFiles } from '../runs/artifacts.js';
import { AUGMENT_VIEWS, HEAD_HYPER } from './transfer.js';
import { loadableOptions, resolveCut, type CutChoice } from './cut-search.js';
import { SEARCH_DEFAULTS } from './defaults.js';
import { defaultArch } from './scratch.js';
import { ensureBackend } from '../engine/backend.js';

export interface AugmentSearchOptions extends DataOptions {
  /** Score settings with a frozen backbone's features (fast); without one, short from-scratch runs of `arch`. */
  backbone?: string | Backbone;
  backboneOptions?: BackboneOptions;
  arch?: string;
  grid?: { n: number[]; m: number[] };
  mode?: SearchMode;
  /** Largest budget: augmented views per image (frozen) or epochs (from scratch). */
  maxBudget?: number;
  /** Successive halving keeps 1/eta of the settings per rung and multiplies the budget by eta. */
  eta?: number;
  /** Cross-validation folds over the labeled images (frozen mode). */
  folds?: number;
  hyper?: Partial<TrainHyper>;
  /** Feature cache (see `FeatureOptions.cache`); default: on, off with `cache: false`. */
  featureCache?: boolean | string;
  /** Use at most this many labeled images (a stratified sample) to score settings (default 600). */
  maxImages?: number;
  /** Folder for search.json and the heatmap (SVG and PNG). */
  out?: string;
  onTrial?: (t: Trial) => void;
}

/** A setting scored (search.json's shape). */
export type Trial = SearchTrial;
/** An augmentation search's result (search.json's shape). */
export type SearchResult = SearchFile;
export type { SearchMode };

/** A function scoring augmentation policy `policy` at budget `budget`: held-out accuracy (and loss, when known), and which held-out images were right. */
type Scorer = (policy: string, budget: number) => Promise<{ accuracy: number; loss: number | null; right: Uint8Array }>;

/**
 * Frozen-trunk scoring: K-fold cross-validation of a head trained on features of the originals + K augmented
 * views. A smaller budget (fewer views) also trains the heads for proportionally fewer steps (at least 100), so
 * the cheap first rungs of successive halving are cheap in time too; at the largest budget, and for the
 * baseline, heads get `hyper.minSteps`.
 */
async function frozenScorer(
  backbone: Backbone,
  data: DecodedBatch,
  numClasses: number,
  folds: number,
  hyper: TrainHyper,
  maxViews: number,
  cache: boolean | string | undefined,
): Promise<Scorer> {
  const base = await extractFeatures(backbone, data.pixels, data.count, { cache });
  const dim = backbone.featureDim;
  const cv = {
    features: base.features,
    labels: data.labels,
    count: data.count,
    dim,
    parts: backbone.parts,
    numClasses,
    folds: stratifiedFolds(data.labels, folds, hyper.seed),
  };
  return async (policyText, views) => {
    const policy = policyFromOption(policyText);
    const extra: Float32Array[] = [];
    if (views > 0 && policy.spec.stages.length) {
      const px = augmentedViews(policy, data.pixels, data.count, backbone.spec, views, hyper.seed);
      const f = (await extractFeatures(backbone, px, data.count * views, { cache })).features;
      for (let v = 0; v < views; v++) extra.push(f.subarray(v * data.count * dim, (v + 1) * data.count * dim));
    }
    const full = hyper.minSteps ?? 0;
    const minSteps = Math.min(full, Math.max(100, Math.round(full * Math.min(1, views / maxViews))));
    return crossValidateHead({ ...cv, extra }, { ...hyper, minSteps });
  };
}

/** From-scratch scoring: train `arch` for `budget` epochs with online augmentation, accuracy on the validation split. */
function scratchScorer(arch: string, train: DecodedBatch, val: DecodedBatch, numClasses: number, hyper: TrainHyper): Scorer {
  const info = getArch(arch);
  if (!info) throw new FrugalError(`unknown architecture "${arch}"`);
  const spec = train.spec;
  const pre = fitPreprocessing(train.pixels, spec.channels);
  const enc = pixelEncoder(spec, pre);
  return async (policyText, epochs) => {
    const model = info.build({ inputShape: [spec.height, spec.width, spec.channels], numClasses });
    initWeights(model, hyper.seed);
    const t = wholeModel(model);
    const aug = augmentTransform(policyText, spec);
    try {
      await fitOnData(t, { inputs: train.pixels, labels: train.labels, count: train.count }, null, enc, numClasses, {
        hyper: { ...hyper, epochs, minSteps: 0 },
        transform: aug?.transform,
      });
      const probs = predictProbs(t, { inputs: val.pixels, count: val.count }, enc);
      const right = Uint8Array.from(argmaxRows(probs, numClasses), (p, i) => (p === val.labels[i] ? 1 : 0));
      return { accuracy: right.reduce((a, b) => a + b, 0) / val.count, loss: null, right };
    } finally {
      await aug?.close();
      model.dispose();
    }
  };
}

/**
 * Search RandAugment's (N, M) on held-out data: every grid setting scored (grid), or successive halving
 * (all settings at a small budget, the best 1/eta continue at eta× the budget) which reaches the same
 * choice at a fraction of the cost. Writes search.json and a heatmap when `out` is given.
 */
export async function searchAugmentation(source: string, o: AugmentSearchOptions): Promise<SearchResult> {
  await ensureBackend();
  const t0 = performance.now();
  const grid = o.grid ?? SEARCH_DEFAULTS.grid;
  const mode = o.mode ?? SEARCH_DEFAULTS.mode;
  const eta = o.eta ?? SEARCH_DEFAULTS.eta;
  const loaded = typeof o.backbone === 'string' ? await loadBackbone(o.backbone, loadableOptions(o.backboneOptions)) : o.backbone;
  const frozen = !!loaded;
  const hyper: TrainHyper = { ...DEFAULT_HYPER, ...(frozen ? { ...HEAD_HYPER, epochs: 15, batchSize: 64 } : { epochs: 6 }), ...o.hyper };
  const maxBudget = o.maxBudget ?? (frozen ? AUGMENT_VIEWS : hyper.epochs);
  const data = await prepareData(source, { ...o, spec: loaded?.spec, seed: hyper.seed });
  const numClasses = data.classes.length;
  let scorer: Scorer;
  let cutSearch: CutChoice | null = null;
  if (loaded) {
    let all = concatBatches(data.spec, [data.train, data.val]);
    const cap = o.maxImages ?? SEARCH_DEFAULTS.maxImages;
    if (all.count > cap) all = subset(all, samplePerClass(all.labels, Math.max(2, Math.floor(cap / numClasses)), hyper.seed));
    const featureCache = featureCacheOf(o);
    const resolved = await resolveCut(loaded, o.backboneOptions, all, numClasses, { hyper, cache: featureCache });
    cutSearch = resolved.cutSearch;
    scorer = await frozenScorer(resolved.backbone, all, numClasses, o.folds ?? SEARCH_DEFAULTS.folds, hyper, maxBudget, featureCache);
  } else {
    scorer = scratchScorer(o.arch ?? defaultArch(data.spec), data.train, data.val, numClasses, hyper);
  }
  // Best first: accuracy, then the lower loss, then fewer and milder ops.
  const rank = (a: Trial, b: Trial) => compareScores(a, b) || a.n - b.n || a.m - b.m;
  const settings = grid.n.flatMap((n) => grid.m.map((m) => ({ n, m, policy: `randaugment:n=${n},m=${m}` })));
  if (settings.length === 0) throw new FrugalError('empty search grid');
  const evaluations: Trial[] = [];
  let cost = 0;
  const rights = new Map<string, Uint8Array>(); // held-out correctness at the largest budget, by policy
  const score = async (s: { n: number; m: number; policy: string }, budget: number): Promise<Trial> => {
    const ts = performance.now();
    const { accuracy, loss, right } = await scorer(s.policy, budget);
    if (budget === maxBudget) rights.set(s.policy, right);
    const t: Trial = { ...s, budget, accuracy, loss, seconds: (performance.now() - ts) / 1000 };
    evaluations.push(t);
    cost += budget;
    o.onTrial?.(t);
    return t;
  };
  const baseline = await scorer('none', maxBudget);
  const last = new Map<string, Trial>();
  if (mode === 'grid') {
    for (const s of settings) last.set(s.policy, await score(s, maxBudget));
  } else {
    let alive = settings;
    let budget = Math.max(1, Math.round(maxBudget / eta ** Math.max(0, Math.ceil(Math.log(settings.length) / Math.log(eta)) - 1)));
    for (;;) {
      const results: Trial[] = [];
      for (const s of alive) {
        const t = await score(s, budget);
        last.set(s.policy, t);
        results.push(t);
      }
      if (alive.length === 1 || budget >= maxBudget) {
        break;
      }
      results.sort(rank);
      alive = results.slice(0, Math.max(1, Math.ceil(alive.length / eta))).map(({ n, m, policy }) => ({ n, m, policy }));
      budget = Math.min(maxBudget, budget * eta);
    }
  }
  const trials = settings.map((s) => last.get(s.policy)!);
  // The best at the largest budget reached, against no augmentation on the same images.
  const top = [...trials].sort((a, b) => b.budget - a.budget || rank(a, b))[0]!;
  const paired = pairedComparison(rights.get(top.policy) ?? baseline.right, baseline.right);
  const versusBaseline = { onlyBest: paired.onlyA, onlyBaseline: paired.onlyB, p: paired.p };
  const result: SearchResult = {
    mode,
    scoring: frozen ? 'frozen-features' : 'from-scratch',
    trials,
    evaluations,
    best: { n: top.n, m: top.m, policy: top.policy, accuracy: top.accuracy, loss: top.loss },
    baseline: baseline.accuracy,
    baselineLoss: baseline.loss,
    versusBaseline,
    recommended: versusBaseline.onlyBaseline > versusBaseline.onlyBest && versusBaseline.p < 0.05 ? 'none' : top.policy,
    cut: cutSearch ? { cut: cutSearch.cut, pool: cutSearch.pool } : undefined,
    cost,
    seconds: (performance.now() - t0) / 1000,
    files: [],
  };
  if (o.out) await writeSearchFiles(o.out, result);
  if (typeof o.backbone === 'string') loaded?.dispose();
  return result;
}

/** The search grid as a text table (rows N, columns M, held-out accuracy %). */
export function gridTable(r: SearchResult): string {
  const ns = [...new Set(r.trials.map((t) => t.n))].sort((a, b) => a - b);
  const ms = [...new Set(r.trials.map((t) => t.m))].sort((a, b) => a - b);
  const cell = (n: number, m: number) => {
    const t = r.trials.find((x) => x.n === n && x.m === m)!;
    const mark = t.policy === r.best.policy ? '*' : ' ';
    return `${(t.accuracy * 100).toFixed(1)}${r.mode === 'halving' ? `@${t.budget}` : ''}${mark}`.padStart(r.mode === 'halving' ? 10 : 7);
  };
  const w = r.mode === 'halving' ? 10 : 7;
  const lines = [`  N \\ M ${ms.map((m) => String(m).padStart(w)).join('')}`];
  for (const n of ns) lines.push(`  ${String(n).padStart(5)} ${ms.map((m) => cell(n, m)).join('')}`);
  return lines.join('\n');
}
