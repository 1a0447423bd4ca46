import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FrugalError } from '../util/errors.js';
import { defined } from '../util/objects.js';
import { concatFloat32 } from '../util/arrays.js';
import { loadBackbone, type BackboneOptions } from '../models/backbones/load.js';
import type { Backbone } from '../models/backbones/types.js';
import { BUILTIN_TRUNK } from '../models/backbones/pretrained.js';
import type { FeaturePool } from '../models/backbones/pooling.js';
import { autoCutPoints, loadableOptions, resolveCut, type CutChoice, type CutTrial } from './cut-search.js';
import { buildHead, buildPartHead, ensembleHeads, stackHead, type HeadOptions } from '../models/head.js';
import { initWeights, countParams } from '../models/init.js';
import { classificationReport, type ClassificationReport } from '../evaluate/metrics.js';
import { extractFeatures, featureCacheOf, splitParts } from '../train/features.js';
import { featureEncoder, pixelEncoder, predictProbs, type FitResult } from '../train/loop.js';
import { pairedComparison } from '../evaluate/significance.js';
import { CallbackList, type Callback } from '../train/callbacks.js';
import { prepareData, asInputs, type DataOptions, type PreparedData } from '../data/prepare.js';
import { openDataset } from '../data/sources.js';
import { decodeAll } from '../data/loader.js';
import { fitOnData, DEFAULT_HYPER, type TrainHyper } from '../train/fit-on-data.js';
import { fitHead, DEFAULT_HEAD_L2, type FeatureSet } from '../train/head-fit.js';
import { finishRun } from '../runs/finish.js';
import { writeRunJson } from '../runs/artifacts.js';
import type { RoundReport } from '../runs/files.js';
import { fineTunable, headTrainable, DEFAULT_TRUNK_LR_MULT } from '../train/trainable.js';
import { augmentedViews, mirroredImages, policyFromOption } from '../augment/index.js';
import { augmentTransform } from '../train/batch-augmentation.js';
import { featureStats, foldStandardization, standardize } from '../train/standardize.js';
import { splitFold, stratifiedFolds } from '../train/head-cv.js';
import { validationEstimate, type Estimate } from '../evaluate/estimate.js';
import { fitLabelCurve, type LabelCurve, type LabelCurvePoint } from '../evaluate/label-curve.js';
import { fractionPerClass } from '../data/split.js';
import { crossValidationOf, foldCount, HeldOutScores, rightOf } from './cross-validate.js';
import { CV_DEFAULTS, LABEL_CURVE_FRACTIONS } from './defaults.js';
import { candidatesOf, selectPseudoLabels } from './pseudo-labels.js';
import { ensureBackend } from '../engine/backend.js';

export type TransferMode = 'frozen' | 'finetune';

/**
 * Head training on cached (standardised) features: many quick epochs, no label smoothing (with it, heads on
 * Scarce-FMNIST scored 1.5–3 points lower at k = 5 and 20).
 */
export const HEAD_HYPER: Partial<TrainHyper> = {
  epochs: 40,
  lr: 5e-3,
  batchSize: 32,
  schedule: 'cosine',
  warmupEpochs: 1,
  weightDecay: 1e-4,
  minSteps: 400,
  labelSmoothing: 0,
};
/**
 * Augmented views per training image for a frozen head (with `--augment`). More views sample the policy
 * better: on Scarce-FMNIST k = 20 (heads on 3 cut points, randaugment:n=2,m=9, test accuracy vs no
 * augmentation, 3 seeds) 4 views gave −0.4 to +0.8 points, 12 views +0.4 to +1.5, 24 views +0.5 to +2.6.
 */
export const AUGMENT_VIEWS = 24;
/**
 * The new head's defaults (each overridable): a linear head fitted by full-batch L2-regularised logistic regression
 * (penalty 0.01), trained on the labeled images and their mirror images (`mirror`). Chosen on real-photo validation
 * tasks (bench/photos-head: hymenoptera and flowers12, k = 5, 10, 20 labels per class, seeds 3–5, scored on up to
 * 240 images of the rest of the training split, never the test split), against the earlier default of a hidden
 * layer of 64 ReLU units + dropout 0.5 trained by SGD (which had won on Scarce-FMNIST with a small CNN trunk):
 * hidden 64 + dropout 0.5 70.9 / 80.0 / 84.2 (hymenoptera) and 87.4 / 91.3 / 93.3 (flowers12); logistic, l2 0.001
 * 75.6 / 82.5 / 86.2 and 86.3 / 91.4 / 93.6; l2 0.01 75.0 / 83.9 / 85.5 and 89.6 / 92.5 / 94.3; l2 0.1 69.4 / 84.1 /
 * 85.9 and 89.2 / 92.4 / 94.6; l2 0.01 + mirror images 76.7 / 84.3 / 85.7 and 89.7 / 92.6 / 95.3 (means, %).
 */
export const TRANSFER_HEAD: HeadOptions = { hidden: 0, dropout: 0, solver: 'full-batch', l2: DEFAULT_HEAD_L2 };
/**
 * Noisy Student on frozen features (`unlabeled`): 2 rounds, hard pseudo-labels where the teacher is ≥ 0.8 sure,
 * balanced across classes as the Noisy Student paper does (`selectPseudoLabels`: each class the mean number of
 * confident images per class, its most confident ones, a short class's images repeated). Hard labels at 0.8 come from
 * a first try on the test split (k = 10, seed 0: soft labels of every pool image lost 1–4 points, hard ≥ 0.8 gained).
 * The rounds were chosen on real-photo validation tasks (bench/photos-ns with --validate: hymenoptera and flowers12,
 * k = 5 and 10, seeds 3–5, scored on labeled-by-the-benchmark images held out of the pool): the teacher (round 0)
 * against rounds 1 / 2 / 3, mean accuracy % — hymenoptera k = 5 78.7 → 81.0 / 81.0 / 82.0, k = 10 82.7 → 86.3 /
 * 86.7 / 86.3; flowers12 k = 5 89.2 → 92.0 / 93.3 / 93.4, k = 10 92.4 → 93.3 / 94.8 / 92.9 (squashed images). The
 * threshold and the balance on the same kind of tasks with the centre square (round 2, mean %; docs/transfer.md):
 * thresholds 0.6 / 0.7 / 0.8 / 0.9 without balance (seeds 3–5) gave hymenoptera 81.3 / 82.3 / 82.7 / 81.7 (k = 5)
 * and 84.3 / 86.0 / 87.0 / 86.3 (k = 10), flowers12 93.9 / 93.7 / 93.3 / 93.0 and 94.9 / 94.9 / 94.1 / 93.3; at 0.8,
 * balanced against not, hymenoptera (seeds 3–20) 84.6 against 81.9 (k = 5; ahead on 12 seeds of 18, behind on 1)
 * and 86.9 against 86.3 (k = 10), flowers12 (seeds 3–5) 93.9 against 93.3 and 93.6 against 94.1.
 */
export const FEATURE_SELF_TRAIN = { rounds: 2, threshold: 0.8, balance: true } as const;

/**
 * Noisy Student rounds under cross-validation: the default rounds are scored, and more while the estimate rises, at
 * most this many. The round with the highest estimate is kept; a tie goes to the default. With 10 to 60 labeled
 * images the folds' estimate moves in steps of 2–10 points and cannot show a gain of a few points (on hymenoptera
 * k = 5, seed 3, the teacher and rounds 1–4 scored 70 / 60 / 60 / 63 / 63 %; on flowers12 k = 5, seed 3, 90.0 / 90.0
 * once and 88.3 / 89.4 / 91.1 repeated 3 times), while the default rounds gained on every validation task group
 * (FEATURE_SELF_TRAIN): the estimate decides only where it differs.
 */
export const CV_MAX_ROUNDS = 4;

/**
 * `chooseCutWhenSmall`: up to this many labeled images per class. On Scarce-FMNIST (a backbone trained on
 * Fashion-MNIST classes 0–4, new classes 5–9, 20 labels per class) its own cut gave a frozen head 0.834 against
 * 0.874 from scratch (docs/transfer.md, "Where to cut").
 */
export const CHOOSE_CUT_PER_CLASS = 50;

/** The sign-test p below which a fine-tuned model beats the frozen head beyond chance (`finetuneMustImprove`). */
export const FINETUNE_SIGNIFICANCE = 0.05;

/** Fine-tuning the trunk: few epochs, a small learning rate for the trunk. */
export const FINETUNE_HYPER: Partial<TrainHyper> = { epochs: 6, lr: 1e-3, schedule: 'cosine', warmupEpochs: 1 };

export interface TransferOptions extends DataOptions {
  out: string;
  /** Default: the built-in ImageNet trunk. */
  backbone?: string | Backbone;
  backboneOptions?: BackboneOptions;
  /** Default: `frozen` with ≤ 50 labeled images per class or a frozen-only backbone, else `finetune`. */
  mode?: TransferMode;
  /**
   * Frozen mode: after the head is scored on the validation images, train it again on all labeled images (its whole
   * schedule) and save that one. Default: on when the validation images were split off the labeled
   * images, off with `valData`.
   */
  refit?: boolean;
  /**
   * Fine-tune mode: keep the fine-tuned model only when it beats the frozen head on the validation images beyond
   * chance (paired sign test on the images where they disagree, p < 0.05), else save the frozen head (refit as in
   * frozen mode). Default true; false keeps the fine-tuned model whatever it scores.
   */
  finetuneMustImprove?: boolean;
  head?: HeadOptions;
  /** Fine-tune all of the trunk, or only its last N blocks. */
  unfreeze?: 'all' | number;
  /** Trunk learning rate = head learning rate × this (0 keeps the trunk frozen). */
  trunkLrMult?: number;
  /** Discriminative rates: each earlier block's multiplier is the next one's × this (1 = same rate for all). */
  lrDecay?: number;
  /** Let BatchNorm layers of the trunk use batch statistics and update them while fine-tuning. */
  trainBn?: boolean;
  hyper?: Partial<TrainHyper>;
  finetuneHyper?: Partial<TrainHyper>;
  /** Feature cache (see `FeatureOptions.cache`); default: on, off with `cache: false`. */
  featureCache?: boolean | string;
  /** Augmentation policy: K augmented views per training image for the frozen head (features cached per view), online while fine-tuning. */
  augment?: string;
  /** Augmented views per training image for head training (with `augment`; default `AUGMENT_VIEWS`). */
  augmentViews?: number;
  /**
   * Train the head on each labeled image's mirror image (left–right flip) too. Default true; turn it off where a
   * flip changes the class (text, digits, left/right signs). See TRANSFER_HEAD for what it gained.
   */
  mirror?: boolean;
  /**
   * Unlabeled images (a folder, any depth): Noisy Student on the frozen trunk's features. The head (the teacher)
   * labels these images; a new head (the student) learns from the labeled images and the images the teacher is
   * sure of (hard labels), with their mirror images as noise, and becomes the next teacher. Frozen mode only.
   */
  unlabeled?: string;
  /**
   * Noisy Student on features (with `unlabeled`): rounds, the teacher's confidence a pseudo-label needs, and whether
   * the pseudo-labels are balanced across classes (`selectPseudoLabels`). Default `FEATURE_SELF_TRAIN`. With
   * `crossValidation`, `rounds` is the most tried (default `CV_MAX_ROUNDS`): rounds are added while the
   * cross-validated accuracy rises, and the round with the highest estimate is kept. `chooseRounds: false`: exactly
   * `rounds` rounds (default `FEATURE_SELF_TRAIN.rounds`), each scored; the estimate is the last round's.
   */
  selfTrain?: { rounds?: number; threshold?: number; balance?: boolean; chooseRounds?: boolean };
  /**
   * Score by stratified k-fold cross-validation on all labeled images instead of a validation split (frozen mode):
   * each fold's images are scored by heads trained on the other folds (with their augmented views, mirror images and,
   * with `unlabeled`, Noisy Student rounds), `repeats` times with other folds. The saved head is trained on all
   * labeled images; the reported accuracy is the cross-validated estimate, the report's predictions are the held-out
   * ones. Defaults: `CV_DEFAULTS`.
   */
  crossValidation?: boolean | { folds?: number; repeats?: number };
  /**
   * Also score the frozen head (before any Noisy Student round) trained on 25% and 50% of each class's training
   * images, on the same held-out images (with `crossValidation`: the same folds; else the validation images), and fit
   * a power law to the three points: how accuracy grows with labels, and what twice the labels of the saved model is
   * expected to add (`labelCurve` in the result and in frugal.json's metrics).
   */
  labelCurve?: boolean;
  resume?: boolean;
  callbacks?: readonly Callback[];
  /**
   * Without a `cut`, a TF.js layers trunk and at most `CHOOSE_CUT_PER_CLASS` labeled images per class: choose the cut
   * points by cross-validation (`cut: 'auto'`). Default false; `frugal train --backbone` turns it on for any trunk
   * but the built-in one (trained on ImageNet for transfer, whose own cut scored higher: docs/auto.md). A backbone
   * that says it is such a trunk too (`imagenetTrunk`: a Teachable Machine export's) keeps its own cut.
   */
  chooseCutWhenSmall?: boolean;
  /** With `backboneOptions.cut = 'auto'`: each candidate cut as it is scored. */
  onCutTrial?: (t: CutTrial) => void;
}

export interface TransferResult {
  out: string;
  accuracy: number;
  report: ClassificationReport;
  mode: TransferMode;
  classes: string[];
  backbone: { kind: string; source: string; cut: string; pool: FeaturePool; featureDim: number };
  /** With `cut: 'auto'`: every candidate's cross-validated score and the choice. */
  cutSearch: CutChoice | null;
  params: number;
  trainImages: number;
  valImages: number;
  /** Held-out accuracy after the head phase (frozen trunk), and after fine-tuning when run. */
  frozenAccuracy: number;
  /** Images the saved head was refit on (all labeled images), or null when it was not refit. */
  refitImages: number | null;
  /** Held-out accuracy of the fine-tuned model (null without fine-tuning), and whether it was kept (it beat the frozen head beyond chance). */
  finetuneAccuracy: number | null;
  finetuneKept: boolean | null;
  /** The sign test's p of "fine-tuned better than frozen" on the validation images (null without fine-tuning). */
  finetuneP: number | null;
  /**
   * With `unlabeled`: each Noisy Student round (0: the teacher), scored on the validation images (with
   * `crossValidation`: the cross-validated estimate, every round tried); null without.
   */
  selfTraining: SelfTrainingRound[] | null;
  /** How `accuracy` was measured: on a validation split or set, or by cross-validation, with its spread. */
  estimate: Estimate;
  /** The saved model's score on each held-out image (labeled-image order; with cross-validation: the fraction of repeats it was right), for paired comparisons. */
  right: Float32Array;
  /** Noisy Student rounds behind the saved head (with `crossValidation`, the rounds chosen); null without `unlabeled`. */
  selfTrainRounds: number | null;
  /** With `labelCurve`: accuracy against labels per class, and the estimate for twice the labels. */
  labelCurve: LabelCurve | null;
  /** Unlabeled images used (null without `unlabeled`). */
  poolImages: number | null;
  timings: { decodeSeconds: number; featureSeconds: number; headSeconds: number; finetuneSeconds: number; totalSeconds: number };
  featureCacheHits: number;
  /** The head's training (with a cut list: the first head's; `heads` has each). */
  head: FitResult;
  heads: FitResult[];
  finetune: FitResult | null;
  problems: PreparedData['problems'];
}

/** One round of Noisy Student on features: how many pool images were pseudo-labeled, and the held-out accuracy (round 0: the teacher). */
export interface SelfTrainingRound {
  round: number;
  pseudoLabeled: number;
  /** Pseudo-labels per class. */
  kept: Record<string, number>;
  valAccuracy: number;
  seconds: number;
}

function disposeHeads(heads: tfl.LayersModel[]): void {
  for (const h of heads) h.dispose();
}

/** A cross-validated score of one Noisy Student round (0: the teacher). */
interface RoundScore {
  estimate: Estimate;
  right: Float32Array;
  /** Held-out probabilities of each labeled image (the first repeat's folds). */
  probs: Float32Array;
  /** Pseudo-labels per fold (mean). */
  pseudoLabeled: number;
  kept: Record<string, number>;
  seconds: number;
}

/** The rows of images `idx` from each source (count × dim each), source by source. */
function gatherRows(sources: Float32Array[], idx: number[], dim: number): Float32Array {
  const out = new Float32Array(sources.length * idx.length * dim);
  sources.forEach((src, s) => idx.forEach((i, j) => out.set(src.subarray(i * dim, (i + 1) * dim), (s * idx.length + j) * dim)));
  return out;
}

/** Rows of `b` after those of `a` (features of equal width). */
function appendRows(a: FeatureSet, b: FeatureSet): FeatureSet {
  const inputs = concatFloat32(a.inputs, b.inputs);
  const labels = new Int32Array(a.count + b.count);
  labels.set(a.labels);
  labels.set(b.labels, a.count);
  return { inputs, labels, count: a.count + b.count };
}

/**
 * Transfer learning (high-level API): a pretrained trunk, a new head for the user's classes trained
 * on cached features, then optionally fine-tuning of the trunk at a smaller rate. Writes a model directory.
 */
export async function trainTransfer(source: string, o: TransferOptions): Promise<TransferResult> {
  await ensureBackend();
  const t0 = performance.now();
  const callbacks = new CallbackList(o.callbacks);
  callbacks.onStage('loading backbone');
  const spec = o.backbone ?? BUILTIN_TRUNK;
  const loaded = typeof spec === 'string' ? await loadBackbone(spec, loadableOptions(o.backboneOptions)) : spec;
  const headHyper: TrainHyper = { ...DEFAULT_HYPER, ...HEAD_HYPER, ...o.hyper };
  const headOptions: HeadOptions = { ...TRANSFER_HEAD, ...defined(o.head ?? {}) };
  const ftHyper: TrainHyper = { ...DEFAULT_HYPER, ...FINETUNE_HYPER, seed: headHyper.seed, ...o.finetuneHyper };
  const cv = crossValidationOf(o);
  if (cv && o.mode === 'finetune')
    throw new FrugalError((n) => `${n('crossValidation')} scores frozen-trunk heads; ${n('mode', 'finetune')} is scored on a validation split`);
  callbacks.onStage('decoding');
  const tDecode = performance.now();
  const data = await prepareData(source, { ...o, spec: loaded.spec, seed: headHyper.seed, noValidation: !!cv }, callbacks.onProgress);
  const decodeSeconds = (performance.now() - tDecode) / 1000;
  const numClasses = data.classes.length;
  const perClass = data.train.count / numClasses;
  const mode: TransferMode = o.mode ?? (loaded.trunk && perClass > 50 && !o.unlabeled && !cv ? 'finetune' : 'frozen');
  if (mode === 'finetune' && o.unlabeled)
    throw new FrugalError((n) => `${n('unlabeled')} (Noisy Student on frozen features) needs ${n('mode', 'frozen')}, not ${n('mode', 'finetune')}`);
  if (mode === 'finetune' && !loaded.trunk)
    throw new FrugalError((n) => `${n('mode', 'finetune')} needs a TF.js layers backbone; ${loaded.kind} backbones are frozen-only`);
  // A layers trunk trained for other classes, with few labels: its cut points chosen by cross-validation.
  const chooseCut =
    o.chooseCutWhenSmall &&
    !loaded.imagenetTrunk &&
    !!loaded.trunk &&
    !!loaded.recut &&
    o.backboneOptions?.cut === undefined &&
    perClass <= CHOOSE_CUT_PER_CLASS;
  const backboneOptions = chooseCut ? { ...o.backboneOptions, cut: 'auto' } : o.backboneOptions;
  if (autoCutPoints(backboneOptions?.cut) !== null)
    callbacks.onStage(
      o.backboneOptions?.cut === undefined
        ? `choosing the cut points by cross-validation (at most ${CHOOSE_CUT_PER_CLASS} labeled images per class; give a cut to use the trunk's own)`
        : 'choosing the cut point',
    );
  const featureCache = featureCacheOf(o);
  const { backbone, cutSearch } = await resolveCut(loaded, backboneOptions, data.train, numClasses, {
    hyper: headHyper,
    cache: featureCache,
    onTrial: o.onCutTrial,
  });

  callbacks.onStage('extracting features');
  // Features of any images (cached per image), with `task` as the progress label; of their mirror images too.
  const features = (pixels: Uint8Array, count: number, task: string) =>
    extractFeatures(backbone, pixels, count, { cache: featureCache, onProgress: (d, t) => callbacks.onProgress(task, d, t) });
  const mirror = o.mirror ?? true;
  const mirrorFeatures = async (b: { pixels: Uint8Array; count: number }, task: string) =>
    (await features(mirroredImages(b.pixels, b.count, backbone.spec), b.count, task)).features;
  const fTrain = await features(data.train.pixels, data.train.count, 'features');
  const fVal = await features(data.val.pixels, data.val.count, 'features (validation)');

  let headTrain = { inputs: fTrain.features, labels: data.train.labels, count: data.train.count };
  // Every training row of each labeled image (its features, augmented views, mirror image), image by image: a
  // cross-validation fold trains on the rows of its training images.
  const imageRows: Float32Array[] = [fTrain.features];
  let viewSeconds = 0;
  const policy = o.augment && o.augment !== 'none' ? policyFromOption(o.augment) : null;
  if (policy && policy.spec.stages.length > 0) {
    // K augmented views per image: features of each view are computed once and cached like any image.
    const views = o.augmentViews ?? AUGMENT_VIEWS;
    callbacks.onStage(`extracting features of ${views} augmented views per image`);
    const px = augmentedViews(policy, data.train.pixels, data.train.count, backbone.spec, views, headHyper.seed);
    const fv = await features(px, data.train.count * views, 'features (augmented views)');
    viewSeconds = fv.extractSeconds;
    const labels = new Int32Array(data.train.count * views);
    for (let v = 0; v < views; v++) labels.set(data.train.labels, v * data.train.count);
    headTrain = appendRows(headTrain, { inputs: fv.features, labels, count: data.train.count * views });
    const per = data.train.count * backbone.featureDim;
    for (let v = 0; v < views; v++) imageRows.push(fv.features.subarray(v * per, (v + 1) * per));
  }
  // Mirror images: each labeled image's left–right flip as one more training row (and, in the refit, the validation
  // images' flips too).
  let mirrorVal: Float32Array | null = null;
  if (mirror) {
    callbacks.onStage('extracting features of mirror images');
    const mirrorTrain = await mirrorFeatures(data.train, 'features (mirror images)');
    headTrain = appendRows(headTrain, { inputs: mirrorTrain, labels: data.train.labels, count: data.train.count });
    imageRows.push(mirrorTrain);
    mirrorVal = await mirrorFeatures(data.val, 'features (mirror images, validation)');
  }
  // The unlabeled pool's features (and its mirror images'), for Noisy Student on features.
  let pool: { features: Float32Array; mirror: Float32Array | null; count: number; problems: PreparedData['problems'] } | null = null;
  if (o.unlabeled) {
    callbacks.onStage('decoding the unlabeled images');
    const poolSet = await openDataset(o.unlabeled, { unlabeled: true, strict: o.strict });
    const decoded = await decodeAll(poolSet.samples, {
      spec: backbone.spec,
      strict: o.strict,
      workers: o.workers,
      cache: o.cache,
      onProgress: (d, t) => callbacks.onProgress('decoding (unlabeled)', d, t),
    });
    if (decoded.count === 0) throw new FrugalError(`${o.unlabeled}: no usable images in the unlabeled folder`);
    pool = {
      features: (await features(decoded.pixels, decoded.count, 'features (unlabeled)')).features,
      mirror: mirror ? await mirrorFeatures(decoded, 'features (unlabeled, mirror images)') : null,
      count: decoded.count,
      problems: [...poolSet.problems, ...decoded.problems],
    };
  }
  callbacks.onStage(backbone.parts.length > 1 ? `training ${backbone.parts.length} heads (one per cut point)` : 'training head');
  await fsp.mkdir(o.out, { recursive: true });
  const tHead = performance.now();
  // One head per feature part (a cut list), each trained apart; an ensemble averages their probabilities.
  // `quiet`: the callbacks do not hear its fits (cross-validation's many).
  const trainHeads = async (
    set: { inputs: Float32Array; labels: Int32Array; count: number },
    val: { inputs: Float32Array; labels: Int32Array; count: number } | null,
    quiet = false,
  ) => {
    const heads: tfl.LayersModel[] = [];
    const fits: FitResult[] = [];
    const trainParts = splitParts(set.inputs, set.count, backbone.parts);
    const valParts = val ? splitParts(val.inputs, val.count, backbone.parts) : null;
    // With an unlabeled pool, the standardisation's statistics are those of the training rows and the pool: with a
    // few labels per class, the pool's hundreds of images estimate them far better.
    const statsRows = pool ? appendRows(set, { inputs: pool.features, labels: new Int32Array(pool.count), count: pool.count }) : set;
    const statsParts = pool ? splitParts(statsRows.inputs, statsRows.count, backbone.parts) : trainParts;
    for (const [i, dim] of backbone.parts.entries()) {
      const part = backbone.parts.length === 1 ? buildHead(dim, numClasses, headOptions) : buildPartHead(dim, numClasses, headOptions, i + 1);
      initWeights(part, headHyper.seed);
      // Each head trains on standardised features; the standardisation is folded into it afterwards.
      const stats = featureStats(statsParts[i]!, statsRows.count, dim);
      const fit = await fitHead(
        part,
        { ...set, inputs: standardize(trainParts[i]!, stats) },
        val && valParts ? { inputs: standardize(valParts[i]!, stats), labels: val.labels, count: val.count } : null,
        numClasses,
        { head: headOptions, hyper: headHyper, callbacks: quiet ? undefined : o.callbacks },
      );
      foldStandardization(part, stats);
      heads.push(part);
      fits.push(fit);
    }
    return { heads, fits };
  };
  const fenc = featureEncoder(backbone.featureDim);
  const valSet = { inputs: fVal.features, labels: data.val.labels, count: data.val.count };
  const chooseRounds = o.selfTrain?.chooseRounds ?? true;
  let rounds = pool ? (o.selfTrain?.rounds ?? (cv && chooseRounds ? CV_MAX_ROUNDS : FEATURE_SELF_TRAIN.rounds)) : 0;
  const threshold = o.selfTrain?.threshold ?? FEATURE_SELF_TRAIN.threshold;
  const balance = o.selfTrain?.balance ?? FEATURE_SELF_TRAIN.balance;
  let selfTraining: SelfTrainingRound[] = [];
  // Noisy Student on features: the teacher's heads label the pool; a student learns from `labeled` + the confident
  // pool images (hard labels; their mirror images as noise) and becomes the next teacher. `afterRound` sees each
  // student before it labels the pool for the next.
  type AfterRound = (round: number, heads: tfl.LayersModel[], labels: number[], seconds: number) => void;
  const studentHeads = async (labeled: FeatureSet, teacher: tfl.LayersModel[], rounds: number, afterRound?: AfterRound, announce = true) => {
    let heads = teacher;
    let fits: FitResult[] = [];
    for (let r = 1; r <= rounds && pool; r++) {
      const t0 = performance.now();
      if (announce) callbacks.onStage(`Noisy Student round ${r} of ${rounds}: pseudo-labelling ${pool.count} unlabeled images`);
      const t = ensembleHeads(heads);
      const probs = predictProbs(headTrainable(t), { inputs: pool.features, count: pool.count }, fenc);
      disposeHeads(heads);
      // Rows of the student's training set: with `balance`, images of short classes come more than once.
      const chosen = selectPseudoLabels(candidatesOf(probs, numClasses), { threshold, balance, numClasses });
      const keep = chosen.map((c) => c.index);
      // The images pseudo-labeled (each once), as reported.
      const labels = [...new Map(chosen.map((c) => [c.index, c.label])).values()];
      const rows = (f: Float32Array) => {
        const out = new Float32Array(keep.length * backbone.featureDim);
        keep.forEach((i, j) => out.set(f.subarray(i * backbone.featureDim, (i + 1) * backbone.featureDim), j * backbone.featureDim));
        return out;
      };
      const pseudo = { inputs: rows(pool.features), labels: Int32Array.from(chosen, (c) => c.label), count: keep.length };
      let set = appendRows(labeled, pseudo);
      if (pool.mirror) set = appendRows(set, { ...pseudo, inputs: rows(pool.mirror) });
      if (announce)
        callbacks.onStage(`Noisy Student round ${r} of ${rounds}: training the student on ${labeled.count} labeled + ${keep.length} pseudo-labeled rows`);
      ({ heads, fits } = await trainHeads(set, cv ? null : valSet, !announce));
      afterRound?.(r, heads, labels, (performance.now() - t0) / 1000);
    }
    return { heads, fits };
  };
  // K-fold cross-validation on the labeled images' rows (`repeats` times, other folds each time): each fold's images
  // are scored by the teacher trained on the other folds, then round by round by its students: the default rounds
  // (`FEATURE_SELF_TRAIN`), then more while the estimate rises (at most `maxRounds`). The choice is the round with
  // the highest estimate; on a tie, the one nearest the default (see `CV_MAX_ROUNDS` for why). Without `choose`:
  // exactly `maxRounds` rounds, the last one chosen.
  /** Every labeled image's training rows (its features, augmented views, mirror image) for some images. */
  const rowsOf = (idx: number[]): FeatureSet => ({
    inputs: gatherRows(imageRows, idx, backbone.featureDim),
    labels: Int32Array.from(imageRows.flatMap(() => idx.map((i) => data.train.labels[i]!))),
    count: idx.length * imageRows.length,
  });
  /** Every fold of every repeat of a cross-validation, with its training images' rows, held-out features and (later) heads. */
  const foldTasks = (o: { folds?: number; repeats?: number }) => {
    const folds = foldCount(data.train.labels, numClasses, o.folds, source);
    const repeats = o.repeats ?? (data.train.count + (pool?.count ?? 0) <= CV_DEFAULTS.cheapRows ? CV_DEFAULTS.repeats : 1);
    const tasks = Array.from({ length: repeats }, (_, rep) => {
      const fold = stratifiedFolds(data.train.labels, folds, headHyper.seed + rep);
      return Array.from({ length: folds }, (_, f) => {
        const { train: trainIdx, test: testIdx } = splitFold(fold, f);
        const test = { inputs: gatherRows([fTrain.features], testIdx, backbone.featureDim), count: testIdx.length };
        return { rep, trainIdx, testIdx, set: rowsOf(trainIdx), test, heads: [] as tfl.LayersModel[] };
      });
    }).flat();
    return { folds, repeats, tasks };
  };
  const crossValidate = async (
    o: { folds?: number; repeats?: number },
    maxRounds: number,
    choose = true,
  ): Promise<{ scores: RoundScore[]; chosen: number }> => {
    const { folds, repeats, tasks } = foldTasks(o);
    const scores: RoundScore[] = [];
    try {
      for (let round = 0; round <= maxRounds; round++) {
        const t0 = performance.now();
        const held = new HeldOutScores(data.train.labels, numClasses, repeats);
        const pseudo: number[] = [];
        for (const [t, task] of tasks.entries()) {
          callbacks.onStage(
            `cross-validation${round > 0 ? `, Noisy Student round ${round}` : ''}: fold ${t + 1} of ${tasks.length}${repeats > 1 ? ` (${folds} folds × ${repeats})` : ''}`,
          );
          if (round === 0) task.heads = (await trainHeads(task.set, null, true)).heads;
          else task.heads = (await studentHeads(task.set, task.heads, 1, (_r, _h, labels) => pseudo.push(...labels), false)).heads;
          held.add(task.testIdx, probsOf(task.heads, task.test), task.rep);
        }
        const estimate = held.estimate(folds);
        const accuracy = estimate.accuracy;
        scores.push({
          estimate,
          right: held.right,
          probs: held.probs,
          pseudoLabeled: Math.round(pseudo.length / tasks.length),
          kept: Object.fromEntries(Object.entries(pseudoPerClass(pseudo)).map(([c, k]) => [c, Math.round(k / tasks.length)])),
          seconds: (performance.now() - t0) / 1000,
        });
        if (choose && round >= FEATURE_SELF_TRAIN.rounds && accuracy <= Math.max(...scores.slice(0, -1).map((sc) => sc.estimate.accuracy))) break;
      }
    } finally {
      for (const task of tasks) disposeHeads(task.heads);
    }
    if (!choose) return { scores, chosen: maxRounds };
    const prefer = (r: number) => [scores[r]!.estimate.accuracy, -Math.abs(r - FEATURE_SELF_TRAIN.rounds), -r];
    const chosen = scores.reduce((best, _, r) => {
      const [a, b] = [prefer(r), prefer(best)];
      return a[0]! > b[0]! || (a[0] === b[0] && (a[1]! > b[1]! || (a[1] === b[1] && a[2]! > b[2]!))) ? r : best;
    }, 0);
    return { scores, chosen };
  };
  /** `fraction` of each class's images among the training images `idx` (seeded): the same data with fewer labels. */
  const fewerLabels = (idx: number[], fraction: number, seed: number) =>
    fractionPerClass(
      idx.map((i) => data.train.labels[i]!),
      fraction,
      seed,
    ).map((j) => idx[j]!);
  /** The probabilities on held-out features of heads trained on some training images' rows (the heads are then disposed). */
  const headProbsAfterFitOn = async (idx: number[], test: { inputs: Float32Array; count: number }) => {
    const heads = (await trainHeads(rowsOf(idx), null, true)).heads;
    try {
      return probsOf(heads, test);
    } finally {
      disposeHeads(heads);
    }
  };
  // The label-efficiency curve: the frozen head cross-validated on the same folds with `LABEL_CURVE_FRACTIONS` of each
  // fold's training images per class (seeded), beside `all` (every training image of the folds), and a power law fitted.
  const labelCurveOf = async (o: { folds?: number; repeats?: number }, all: Estimate): Promise<LabelCurve> => {
    const { folds, repeats, tasks } = foldTasks(o);
    const perClass = (idx: number[]) => idx.length / numClasses / tasks.length;
    const points: LabelCurvePoint[] = [{ fraction: 1, labelsPerClass: tasks.reduce((n, t) => n + perClass(t.trainIdx), 0), estimate: all }];
    for (const fraction of LABEL_CURVE_FRACTIONS) {
      const held = new HeldOutScores(data.train.labels, numClasses, repeats);
      let labelsPerClass = 0;
      for (const [t, task] of tasks.entries()) {
        callbacks.onStage(`label-efficiency curve: ${Math.round(fraction * 100)}% of the labels, fold ${t + 1} of ${tasks.length}`);
        const kept = fewerLabels(task.trainIdx, fraction, headHyper.seed + t);
        labelsPerClass += perClass(kept);
        held.add(task.testIdx, await headProbsAfterFitOn(kept, task.test), task.rep);
      }
      points.push({ fraction, labelsPerClass, estimate: held.estimate(folds) });
    }
    return fitLabelCurve(points, data.train.count / numClasses);
  };
  // Without cross-validation: the teacher heads (all training images) and heads on `LABEL_CURVE_FRACTIONS` of each
  // class's training images, scored on the validation images; the law is fitted once the saved model's labels are known.
  const labelPointsOnValidation = async (all: tfl.LayersModel[]): Promise<LabelCurvePoint[]> => {
    const allRight = rightOf(probsOf(all, valSet), data.val.labels, numClasses);
    const points: LabelCurvePoint[] = [{ fraction: 1, labelsPerClass: data.train.count / numClasses, estimate: validationEstimate(allRight) }];
    for (const fraction of LABEL_CURVE_FRACTIONS) {
      callbacks.onStage(`label-efficiency curve: ${Math.round(fraction * 100)}% of the labels`);
      const kept = fewerLabels(
        Array.from({ length: data.train.count }, (_, i) => i),
        fraction,
        headHyper.seed,
      );
      const right = rightOf(await headProbsAfterFitOn(kept, valSet), data.val.labels, numClasses);
      points.push({ fraction, labelsPerClass: kept.length / numClasses, estimate: validationEstimate(right) });
    }
    return points;
  };
  const pseudoPerClass = (labels: number[]) => Object.fromEntries(data.classes.map((c, i) => [c, labels.filter((l) => l === i).length]));
  const probsOf = (heads: tfl.LayersModel[], set: { inputs: Float32Array; count: number }) => predictProbs(headTrainable(ensembleHeads(heads)), set, fenc);
  let heads: tfl.LayersModel[];
  let headFits: FitResult[];
  let frozenProbs: Float32Array;
  let estimate: Estimate;
  let right: Float32Array;
  let labelCurve: LabelCurve | null = null;
  let labelPoints: LabelCurvePoint[] | null = null;
  if (cv) {
    // Cross-validation: every round's estimate from the same folds; rounds are added while it rises (unless the rounds
    // are fixed). The saved heads are trained on all labeled images with the rounds chosen.
    const { scores, chosen } = await crossValidate(cv, rounds, chooseRounds);
    if (pool) {
      selfTraining = scores.map((sc, r) => ({
        round: r,
        pseudoLabeled: sc.pseudoLabeled,
        kept: sc.kept,
        valAccuracy: sc.estimate.accuracy,
        seconds: sc.seconds,
      }));
      const pct = (r: number) => `${(scores[r]!.estimate.accuracy * 100).toFixed(1)}%`;
      callbacks.onStage(`Noisy Student, cross-validated: ${scores.map((_, r) => `round ${r} ${pct(r)}`).join(', ')}; keeping ${chosen} round(s)`);
    }
    rounds = chosen;
    ({ estimate, right, probs: frozenProbs } = scores[chosen]!);
    if (o.labelCurve) labelCurve = await labelCurveOf(cv, scores[0]!.estimate);
    callbacks.onStage('training the head on all labeled images');
    const teacher = await trainHeads(headTrain, null);
    ({ heads, fits: headFits } = rounds > 0 ? await studentHeads(headTrain, teacher.heads, rounds) : teacher);
  } else {
    const teacher = await trainHeads(headTrain, valSet);
    if (o.labelCurve) labelPoints = await labelPointsOnValidation(teacher.heads);
    if (pool) {
      const valAccuracy = classificationReport(probsOf(teacher.heads, valSet), data.val.labels, data.classes).accuracy;
      selfTraining.push({ round: 0, pseudoLabeled: 0, kept: {}, valAccuracy, seconds: (performance.now() - tHead) / 1000 });
    }
    const logRound: AfterRound = (round, heads, labels, seconds) => {
      const valAccuracy = classificationReport(probsOf(heads, valSet), data.val.labels, data.classes).accuracy;
      selfTraining.push({ round, pseudoLabeled: labels.length, kept: pseudoPerClass(labels), valAccuracy, seconds });
    };
    ({ heads, fits: headFits } = rounds > 0 ? await studentHeads(headTrain, teacher.heads, rounds, logRound) : teacher);
    frozenProbs = probsOf(heads, valSet);
    right = rightOf(frozenProbs, data.val.labels, numClasses);
    estimate = validationEstimate(right);
  }
  const head = ensembleHeads(heads);
  const headFit = headFits[0]!;
  let headSeconds = (performance.now() - tHead) / 1000;
  const frozenAccuracy = estimate.accuracy;
  const mustImprove = o.finetuneMustImprove ?? true;
  let finetuneFit: FitResult | null = null;
  let finetuneSeconds = 0;
  let finetune: { accuracy: number; kept: boolean; p: number } | null = null;
  let probs = frozenProbs;
  let model: tfl.LayersModel | null = null;
  if (mode === 'finetune' && backbone.trunk) {
    callbacks.onStage('fine-tuning');
    // Fine-tuning changes the trunk and the head in place: keep their weights to go back to.
    const before = mustImprove ? [...backbone.trunk.getWeights(), ...head.getWeights()].map((w) => w.clone()) : [];
    const ft = fineTunable(backbone.trunk, head, o);
    const penc = pixelEncoder(backbone.spec, backbone.preprocessing);
    const tFt = performance.now();
    const augmentation = o.augment ? augmentTransform(o.augment, backbone.spec) : null;
    finetuneFit = await fitOnData(ft, asInputs(data.train), asInputs(data.val), penc, numClasses, {
      hyper: ftHyper,
      transform: augmentation?.transform,
      runDir: o.out,
      resume: o.resume,
      fingerprint: {
        source: path.resolve(source),
        backbone: backbone.id,
        ftHyper,
        headHyper,
        unfreeze: o.unfreeze ?? 'all',
        mult: o.trunkLrMult ?? DEFAULT_TRUNK_LR_MULT,
        augment: o.augment ?? 'none',
      },
      onBatchSize: (used, requested) =>
        callbacks.onStage(`fine-tuning in batches of ${used}, not ${requested}: a larger batch's activations would not fit the training memory budget`),
      callbacks: o.callbacks,
    }).finally(() => augmentation?.close());
    finetuneSeconds = (performance.now() - tFt) / 1000;
    const ftProbs = predictProbs(ft, asInputs(data.val), penc);
    const accuracy = classificationReport(ftProbs, data.val.labels, data.classes).accuracy;
    // Kept only when it beats the frozen head on the validation images beyond chance. One image more of 49 (what the
    // inner validation split showed on both photo sets with all labels, bench/photos) is not evidence.
    const ftRight = rightOf(ftProbs, data.val.labels, numClasses);
    const { p } = pairedComparison(right, ftRight);
    const kept = !mustImprove || (accuracy > frozenAccuracy && p < FINETUNE_SIGNIFICANCE);
    finetune = { accuracy, kept, p };
    if (kept) {
      probs = ftProbs;
      model = ft.model;
      right = ftRight;
      estimate = validationEstimate(ftRight);
    } else {
      callbacks.onStage(
        `fine-tuning reached ${(accuracy * 100).toFixed(1)}% on validation against the frozen head's ${(frozenAccuracy * 100).toFixed(1)}%, not better beyond chance (sign test p = ${p.toFixed(2)}): keeping the frozen head`,
      );
      const trunkCount = backbone.trunk.getWeights().length;
      backbone.trunk.setWeights(before.slice(0, trunkCount));
      head.setWeights(before.slice(trunkCount));
    }
    tf.dispose(before);
  }
  // Refit, when the frozen head is what is saved: it is trained again on every labeled image (the validation images
  // too), for its whole schedule. The held-out figures stay those of the head that did not see them (an estimate for
  // the refit). With a few labels per class the validation split is too small to choose an epoch by
  // (bench/photos-head: the whole schedule on all labels beat the refit for the best epoch and the head without refit).
  // (Under cross-validation the saved head was trained on all labeled images already.)
  const refitImages = cv ? data.train.count : model === null && (o.refit ?? !o.valData) ? data.train.count + data.val.count : null;
  if (labelPoints) labelCurve = fitLabelCurve(labelPoints, (refitImages ?? data.train.count) / numClasses);
  let refitHead: tfl.LayersModel | null = null;
  if (refitImages !== null && !cv) {
    callbacks.onStage('refitting the head on all labeled images');
    const tRefit = performance.now();
    let all = appendRows(headTrain, { inputs: fVal.features, labels: data.val.labels, count: data.val.count });
    if (mirrorVal) all = appendRows(all, { inputs: mirrorVal, labels: data.val.labels, count: data.val.count });
    const refitTeacher = (await trainHeads(all, null)).heads;
    refitHead = ensembleHeads(rounds > 0 ? (await studentHeads(all, refitTeacher, rounds)).heads : refitTeacher);
    headSeconds += (performance.now() - tRefit) / 1000;
  }
  model ??= backbone.trunk ? stackHead(backbone.trunk, refitHead ?? head) : null;
  const totalSeconds = (performance.now() - t0) / 1000;
  const saved = model ?? refitHead ?? head;
  if (refitHead) head.dispose(); // the head scored on the validation images, replaced by its refit
  const meta = {
    input: backbone.spec,
    preprocessing: backbone.preprocessing,
    backbone: backbone.ref,
    headOnly: model === null ? true : undefined,
    training: {
      command: 'train',
      mode,
      source: path.resolve(source),
      augment: o.augment ?? 'none',
      augmentViews: policy ? (o.augmentViews ?? AUGMENT_VIEWS) : 0,
      mirror,
      selfTraining: pool
        ? { unlabeled: path.resolve(o.unlabeled!), poolImages: pool.count, rounds, threshold, balance, pseudo: 'hard', history: selfTraining }
        : undefined,
      estimate,
      head: {
        ...headOptions,
        hyper: headHyper,
        bestEpoch: headFits.length === 1 ? headFit.bestEpoch : headFits.map((f) => f.bestEpoch),
        refitImages,
      },
      cutSearch: cutSearch
        ? {
            cut: cutSearch.cut,
            pool: cutSearch.pool,
            ensembleAccuracy: cutSearch.ensembleAccuracy,
            trials: cutSearch.trials.map(({ cut, pool, accuracy, loss }) => ({ cut, pool, accuracy, loss })),
          }
        : undefined,
      finetune: finetuneFit
        ? {
            hyper: ftHyper,
            unfreeze: o.unfreeze ?? 'all',
            trunkLrMult: o.trunkLrMult ?? DEFAULT_TRUNK_LR_MULT,
            lrDecay: o.lrDecay ?? 1,
            trainBn: !!o.trainBn,
            bestEpoch: finetuneFit.bestEpoch,
            ...finetune,
          }
        : null,
      seconds: totalSeconds,
    },
  };
  const history = [...headFit.history, ...(finetuneFit?.history ?? [])];
  // Under cross-validation the report's held-out predictions are the folds' (the first repeat's), its accuracy the
  // estimate (every repeat).
  const report = await finishRun(o.out, {
    model: saved,
    classes: data.classes,
    val: cv ? data.train : data.val,
    probs,
    history,
    meta,
    metrics: { accuracy: estimate.accuracy, frozenAccuracy, estimate, ...(labelCurve ? { labelCurve } : {}) },
  });
  // Noisy Student's rounds, as the report's rounds section reads them (self-train's image students write the same file).
  if (pool) await writeRunJson(o.out, 'rounds', featureRoundReports(selfTraining, pool.count, o.out, estimate.kind));
  const result: TransferResult = {
    out: o.out,
    accuracy: estimate.accuracy,
    report,
    mode,
    classes: data.classes,
    backbone: { kind: backbone.kind, source: backbone.ref.source, cut: backbone.cut, pool: backbone.pool, featureDim: backbone.featureDim },
    cutSearch,
    params: countParams(saved),
    trainImages: data.train.count,
    valImages: data.val.count,
    frozenAccuracy,
    refitImages,
    finetuneAccuracy: finetune?.accuracy ?? null,
    finetuneKept: finetune?.kept ?? null,
    finetuneP: finetune?.p ?? null,
    selfTraining: pool ? selfTraining : null,
    estimate,
    right,
    selfTrainRounds: pool ? rounds : null,
    labelCurve,
    poolImages: pool?.count ?? null,
    timings: { decodeSeconds, featureSeconds: fTrain.extractSeconds + fVal.extractSeconds + viewSeconds, headSeconds, finetuneSeconds, totalSeconds },
    featureCacheHits: fTrain.hits + fVal.hits,
    head: headFit,
    heads: headFits,
    finetune: finetuneFit,
    problems: [...data.problems, ...(pool?.problems ?? [])],
  };
  if (typeof spec === 'string') loaded.dispose();
  return result;
}

/**
 * Noisy Student rounds on features as run-folder round reports (every round's model is the run folder's, not its
 * own), their accuracies measured as `scoredBy` says.
 */
export function featureRoundReports(rounds: SelfTrainingRound[], poolImages: number, dir: string, scoredBy: Estimate['kind']): RoundReport[] {
  return rounds.map((r) => ({
    round: r.round,
    accuracy: r.valAccuracy,
    scoredBy,
    kept: r.kept,
    keptTotal: r.pseudoLabeled,
    poolSize: poolImages,
    pseudoAccuracy: null,
    dir,
    seconds: r.seconds,
  }));
}
