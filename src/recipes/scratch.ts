import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { FrugalError } from '../util/errors.js';
import { prepareData, asInputs, DEFAULT_VAL_SPLIT, type DataOptions } from '../data/prepare.js';
import type { Problem } from '../data/sources.js';
import type { ImageSpec } from '../data/decode.js';
import { getArch, listArchs } from '../models/zoo/index.js';
import { initWeights, countParams } from '../models/init.js';
import { fitPreprocessing } from '../models/preprocess.js';
import type { ClassificationReport } from '../evaluate/metrics.js';
import { predictProbs, pixelEncoder, type FitResult } from '../train/loop.js';
import { validationEstimate, type Estimate } from '../evaluate/estimate.js';
import { crossValidateImages, crossValidationOf, rightOf } from './cross-validate.js';
import { fitOnData, DEFAULT_HYPER, type TrainHyper } from '../train/fit-on-data.js';
import { CallbackList, type Callback } from '../train/callbacks.js';
import { augmentTransform } from '../train/batch-augmentation.js';
import { wholeModel } from '../train/trainable.js';
import { finishRun } from '../runs/finish.js';
import { ensureBackend } from '../engine/backend.js';

export interface TrainOptions extends DataOptions {
  out: string;
  arch?: string;
  /** Online augmentation policy, e.g. `randaugment:n=2,m=9+mixup=0.2` (default none). */
  augment?: string;
  width?: number;
  dropout?: number;
  dropPath?: number;
  hyper?: Partial<TrainHyper>;
  resume?: boolean;
  /**
   * Score by stratified k-fold cross-validation on all labeled images instead of a validation split: each fold's
   * images are scored by a model trained (its whole schedule) on the other folds, `repeats` times with other folds;
   * then the saved model is trained on all labeled images. Costs folds × repeats + 1 trainings. Defaults:
   * `CV_DEFAULTS` (`scratchRepeats`).
   */
  crossValidation?: boolean | { folds?: number; repeats?: number };
  callbacks?: readonly Callback[];
}

export interface TrainResult {
  out: string;
  accuracy: number;
  report: ClassificationReport;
  classes: string[];
  spec: ImageSpec;
  arch: string;
  params: number;
  trainImages: number;
  valImages: number;
  /** How `accuracy` was measured: on the validation images, or by cross-validation, with its spread. */
  estimate: Estimate;
  /** Each held-out image's score (labeled-image order; with cross-validation the fraction of repeats it was right), for paired comparisons. */
  right: Float32Array;
  fit: FitResult;
  problems: Problem[];
  seconds: number;
}

/** Default architecture for a data set: small and quick on a CPU. */
export function defaultArch(spec: ImageSpec): string {
  return Math.max(spec.height, spec.width) <= 64 ? 'cnn-small' : 'mobilenetv2-0.35';
}

/** Train a classifier from scratch on labeled images and write a model directory (high-level API). */
export async function trainFromScratch(source: string, o: TrainOptions): Promise<TrainResult> {
  await ensureBackend();
  const t0 = performance.now();
  const hyper: TrainHyper = { ...DEFAULT_HYPER, ...o.hyper };
  const callbacks = new CallbackList(o.callbacks);
  const cv = crossValidationOf(o);
  const data = await prepareData(source, { ...o, seed: hyper.seed, noValidation: !!cv }, callbacks.onProgress);
  const archName = o.arch ?? defaultArch(data.spec);
  const arch = getArch(archName);
  if (!arch)
    throw new FrugalError(
      `unknown architecture "${archName}"; choose one of ${listArchs()
        .map((a) => a.name)
        .join(', ')}`,
    );
  const archOptions = {
    inputShape: [data.spec.height, data.spec.width, data.spec.channels] as [number, number, number],
    numClasses: data.classes.length,
    dropout: o.dropout,
    dropPath: o.dropPath,
    width: o.width,
  };
  const model = arch.build(archOptions);
  initWeights(model, hyper.seed);
  const preprocessing = fitPreprocessing(data.train.pixels, data.spec.channels);
  await fsp.mkdir(o.out, { recursive: true });
  const trainable = wholeModel(model);
  const fingerprint = {
    source: path.resolve(source),
    arch: archName,
    archOptions,
    hyper,
    spec: data.spec,
    valSplit: o.valSplit ?? DEFAULT_VAL_SPLIT,
    val: o.valData ?? null,
    augment: o.augment ?? 'none',
  };
  const encoder = pixelEncoder(data.spec, preprocessing);
  const augmentation = o.augment ? augmentTransform(o.augment, data.spec) : null;
  const numClasses = data.classes.length;
  let held: { estimate: Estimate; right: Float32Array; probs: Float32Array } | null = null;
  let result: FitResult;
  try {
    if (cv) {
      // Each fold: a model of its own, initialised and normalised from its training images only, trained quietly.
      held = await crossValidateImages(data.train, numClasses, { ...cv, seed: hyper.seed, source }, async (train, test, fold) => {
        callbacks.onStage(`cross-validation: training fold ${fold.index + 1} of ${fold.count}`);
        const m = arch.build(archOptions);
        try {
          initWeights(m, hyper.seed + fold.index);
          const enc = pixelEncoder(data.spec, fitPreprocessing(train.pixels, data.spec.channels));
          await fitOnData(wholeModel(m), asInputs(train), null, enc, numClasses, { hyper, transform: augmentation?.transform });
          return predictProbs(wholeModel(m), asInputs(test), enc);
        } finally {
          m.dispose();
        }
      });
      callbacks.onStage(`training on all ${data.train.count} labeled images`);
    }
    result = await fitOnData(trainable, asInputs(data.train), cv ? null : asInputs(data.val), encoder, numClasses, {
      hyper,
      transform: augmentation?.transform,
      runDir: o.out,
      resume: o.resume,
      fingerprint: { ...fingerprint, crossValidation: cv },
      callbacks: o.callbacks,
    });
  } finally {
    await augmentation?.close();
  }
  const probs = held?.probs ?? predictProbs(trainable, asInputs(data.val), encoder);
  const right = held?.right ?? rightOf(probs, data.val.labels, numClasses);
  const estimate = held?.estimate ?? validationEstimate(right);
  const seconds = (performance.now() - t0) / 1000;
  // Under cross-validation the report's held-out predictions are the folds' (the first repeat's), its accuracy the
  // estimate (every repeat).
  const report = await finishRun(o.out, {
    model,
    classes: data.classes,
    val: cv ? data.train : data.val,
    probs,
    metrics: { accuracy: estimate.accuracy, estimate },
    history: result.history,
    meta: {
      input: data.spec,
      preprocessing,
      arch: archName,
      archOptions: { width: o.width, dropout: o.dropout, dropPath: o.dropPath },
      training: {
        command: 'train',
        source: path.resolve(source),
        hyper,
        augment: o.augment ?? 'none',
        bestEpoch: result.bestEpoch,
        epochsRun: result.history.length,
        seconds,
      },
    },
  });
  model.dispose();
  return {
    out: o.out,
    accuracy: estimate.accuracy,
    report,
    classes: data.classes,
    spec: data.spec,
    arch: archName,
    params: countParams(model),
    trainImages: data.train.count,
    valImages: data.val.count,
    estimate,
    right,
    fit: result,
    problems: data.problems,
    seconds,
  };
}
