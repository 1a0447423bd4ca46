import { FrugalError } from '../util/errors.js';
import type { Backbone } from '../models/backbones/types.js';
import { cutCandidates } from '../models/backbones/layers.js';
import type { FeaturePool } from '../models/backbones/pooling.js';
import type { DecodedBatch } from '../data/loader.js';
import { extractFeatures } from './features.js';
import { crossValidateHead, stratifiedFolds } from './head-cv.js';
import type { TrainHyper } from './train.js';

export interface CutTrial {
  cut: string;
  pool: FeaturePool;
  featureDim: number;
  /** Cross-validated accuracy of a head on these features (training images only). */
  accuracy: number;
  seconds: number;
}

export interface CutChoice {
  cut: string;
  pool: FeaturePool;
  trials: CutTrial[];
  seconds: number;
}

export const CUT_POOLS: FeaturePool[] = ['avg', 'grid2'];

/**
 * `--cut auto`: where to cut a pretrained layers backbone, and how to pool there, chosen by K-fold
 * cross-validation of a frozen-feature head on the labeled training images (the validation split is
 * not used). Candidates: the default cut and the ends of the last blocks (`cutCandidates`), each pooled
 * globally and on a 2×2 grid. Features near the top of a network trained on other classes can be too
 * specialised to those classes; an earlier block, or a pooling that keeps where a pattern is, often
 * carries over better. Ties go to the earlier candidate (the default cut first).
 */
export async function chooseCut(
  backbone: Backbone,
  data: DecodedBatch,
  numClasses: number,
  o: { hyper: TrainHyper; folds?: number; cache?: boolean | string; pools?: FeaturePool[]; onTrial?: (t: CutTrial) => void },
): Promise<CutChoice> {
  if (!backbone.trunk || !backbone.recut) throw new FrugalError(`--cut auto needs a TF.js layers backbone (a Frugal model directory or a layers model); this one is ${backbone.kind}: give --cut`);
  const t0 = performance.now();
  const perClass = Math.min(...Array.from({ length: numClasses }, (_, c) => data.labels.filter((l) => l === c).length));
  const folds = Math.max(2, Math.min(o.folds ?? 3, perClass));
  if (perClass < 2) throw new FrugalError('--cut auto needs at least 2 training images per class');
  const cvFolds = stratifiedFolds(data.labels, folds, o.hyper.seed);
  const trials: CutTrial[] = [];
  for (const cut of cutCandidates(backbone.trunk)) {
    for (const pool of o.pools ?? CUT_POOLS) {
      const ts = performance.now();
      let candidate: Backbone;
      try {
        candidate = backbone.recut(cut, pool);
      } catch {
        continue; // e.g. a map too small for the grid
      }
      const f = await extractFeatures(candidate, data.pixels, data.count, { cache: o.cache });
      const accuracy = await crossValidateHead({ features: f.features, labels: data.labels, count: data.count, dim: candidate.featureDim, numClasses, folds: cvFolds }, o.hyper);
      candidate.dispose();
      const t: CutTrial = { cut, pool, featureDim: candidate.featureDim, accuracy, seconds: (performance.now() - ts) / 1000 };
      trials.push(t);
      o.onTrial?.(t);
    }
  }
  const best = trials.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
  return { cut: best.cut, pool: best.pool, trials, seconds: (performance.now() - t0) / 1000 };
}

/** Backbone options for loading when the cut is to be chosen later (`cut: 'auto'` becomes the default cut). */
export function loadableOptions<T extends { cut?: string }>(options: T | undefined): T | undefined {
  return options?.cut === 'auto' ? { ...options, cut: undefined } : options;
}

/** With `cut: 'auto'`: choose the cut on `data` and return the backbone cut there; otherwise the backbone as it is. */
export async function resolveCut(
  loaded: Backbone,
  options: { cut?: string } | undefined,
  data: DecodedBatch,
  numClasses: number,
  o: { hyper: TrainHyper; cache?: boolean | string; onTrial?: (t: CutTrial) => void },
): Promise<{ backbone: Backbone; cutSearch: CutChoice | null }> {
  if (options?.cut !== 'auto') return { backbone: loaded, cutSearch: null };
  const cutSearch = await chooseCut(loaded, data, numClasses, o);
  return { backbone: loaded.recut!(cutSearch.cut, cutSearch.pool), cutSearch };
}
