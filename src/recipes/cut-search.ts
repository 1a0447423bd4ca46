import { FrugalError } from '../util/errors.js';
import type { Backbone } from '../models/backbones/types.js';
import { cutCandidates, formatCutList, type CutPoint } from '../models/backbones/layers.js';
import type { FeaturePool } from '../models/backbones/pooling.js';
import type { DecodedBatch } from '../data/loader.js';
import { extractFeatures } from '../train/features.js';
import { crossValidateHead, stratifiedFolds } from '../train/head-cv.js';
import { compareScores } from '../train/loop.js';
import type { TrainHyper } from '../train/fit-on-data.js';

export interface CutTrial {
  cut: string;
  pool: FeaturePool;
  featureDim: number;
  /** Cross-validated accuracy of a head on these features (training images only). */
  accuracy: number;
  /** Its cross-validated loss (mean negative log-likelihood): breaks accuracy ties. */
  loss: number;
  seconds: number;
}

export interface CutChoice {
  /** The cut as the `cut` option takes it: a layer, or a cut list (`layer:pool,…`) for an ensemble. */
  cut: string;
  pool: FeaturePool;
  /** The candidates used, best first (several: one head each, probabilities averaged). */
  points: CutPoint[];
  trials: CutTrial[];
  /** Cross-validated accuracy of the ensemble of `points` (null for a single point: its trial's). */
  ensembleAccuracy: number | null;
  seconds: number;
}

export const CUT_POOLS: FeaturePool[] = ['avg', 'grid2'];

/** How many of the best cut points `cut: 'auto'` combines (distinct layers). */
export const AUTO_CUT_POINTS = 3;

const AUTO_CUT = /^auto(?::([1-9]))?$/;

/** `auto` or `auto:N`: the cut is to be chosen (N points, default `AUTO_CUT_POINTS`); null for any other cut. */
export function autoCutPoints(cut: string | undefined): number | null {
  const m = cut === undefined ? null : AUTO_CUT.exec(cut);
  return m ? Number(m[1] ?? AUTO_CUT_POINTS) : null;
}

/**
 * `cut: 'auto[:N]'`: where to cut a pretrained layers backbone, and how to pool there, chosen by K-fold
 * cross-validation of a frozen-feature head on the labeled training images (the validation split is
 * not used). Candidates: the default cut and the ends of the last blocks (`cutCandidates`), each pooled
 * globally and on a 2×2 grid. Features near the top of a network trained on other classes can be too
 * specialised to those classes; an earlier block, or a pooling that keeps where a pattern is, often
 * carries over better.
 *
 * With a few labels per class the cross-validation cannot tell close candidates apart (on Scarce-FMNIST
 * k = 20 it ranked one block 9 points above another that then scored 3.5 points better on test), so the
 * result is the best `points` candidates on distinct layers (each with its best pooling), one head each,
 * probabilities averaged: an ensemble that does about as well as its best member without having to know
 * which one that is. `points: 1` keeps only the best candidate. Accuracy ties go to the lower cross-validated
 * loss, then to the earlier candidate (the default cut first).
 */
export async function chooseCut(
  backbone: Backbone,
  data: DecodedBatch,
  numClasses: number,
  o: { hyper: TrainHyper; folds?: number; points?: number; cache?: boolean | string; pools?: FeaturePool[]; onTrial?: (t: CutTrial) => void },
): Promise<CutChoice> {
  if (!backbone.trunk || !backbone.recut)
    throw new FrugalError(
      (n) => `${n('cut', 'auto')} needs a TF.js layers backbone (a Frugal model directory or a layers model); this one is ${backbone.kind}: give ${n('cut')}`,
    );
  const t0 = performance.now();
  const perClass = Math.min(...Array.from({ length: numClasses }, (_, c) => data.labels.filter((l) => l === c).length));
  const folds = Math.max(2, Math.min(o.folds ?? 3, perClass));
  if (perClass < 2) throw new FrugalError((n) => `${n('cut', 'auto')} needs at least 2 training images per class`);
  const cvFolds = stratifiedFolds(data.labels, folds, o.hyper.seed);
  const score = async (candidate: Backbone) => {
    const f = await extractFeatures(candidate, data.pixels, data.count, { cache: o.cache });
    return crossValidateHead(
      { features: f.features, labels: data.labels, count: data.count, dim: candidate.featureDim, parts: candidate.parts, numClasses, folds: cvFolds },
      o.hyper,
    );
  };
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
      const { accuracy, loss } = await score(candidate);
      candidate.dispose();
      const t: CutTrial = { cut, pool, featureDim: candidate.featureDim, accuracy, loss, seconds: (performance.now() - ts) / 1000 };
      trials.push(t);
      o.onTrial?.(t);
    }
  }
  // Best first: accuracy, then the lower loss; a stable sort keeps the earlier candidate first on full ties.
  const ranked = [...trials].sort(compareScores);
  const points: CutPoint[] = [];
  for (const t of ranked) {
    if (points.length < (o.points ?? AUTO_CUT_POINTS) && !points.some((p) => p.layer === t.cut)) points.push({ layer: t.cut, pool: t.pool });
  }
  if (points.length === 1)
    return { cut: points[0]!.layer, pool: points[0]!.pool, points, trials, ensembleAccuracy: null, seconds: (performance.now() - t0) / 1000 };
  const cut = formatCutList(points);
  const ensemble = backbone.recut(cut, 'avg');
  const ensembleAccuracy = (await score(ensemble)).accuracy;
  ensemble.dispose();
  return { cut, pool: 'avg', points, trials, ensembleAccuracy, seconds: (performance.now() - t0) / 1000 };
}

/** Backbone options for loading when the cut is to be chosen later (`cut: 'auto'` becomes the default cut). */
export function loadableOptions<T extends { cut?: string }>(options: T | undefined): T | undefined {
  return autoCutPoints(options?.cut) !== null ? { ...options!, cut: undefined } : options;
}

/** With `cut: 'auto[:N]'`: choose the cut on `data` and return the backbone cut there; otherwise the backbone as it is. */
export async function resolveCut(
  loaded: Backbone,
  options: { cut?: string } | undefined,
  data: DecodedBatch,
  numClasses: number,
  o: { hyper: TrainHyper; cache?: boolean | string; onTrial?: (t: CutTrial) => void },
): Promise<{ backbone: Backbone; cutSearch: CutChoice | null }> {
  const points = autoCutPoints(options?.cut);
  if (points === null) return { backbone: loaded, cutSearch: null };
  const cutSearch = await chooseCut(loaded, data, numClasses, { ...o, points });
  return { backbone: loaded.recut!(cutSearch.cut, cutSearch.pool), cutSearch };
}
