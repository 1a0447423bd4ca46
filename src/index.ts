/**
 * Frugal's public API: `import { trainTransfer, loadPredictor } from 'frugal'`.
 *
 * Recipes (high level, each writes a model directory in `out`): trainFromScratch, trainTransfer,
 * searchAugmentation, distill, selfTrain, auto. Then evaluateModel, loadPredictor + predictImages, writeReport, and
 * exportTfjs / exportTeachableMachine (a model for @teachablemachine/image and ml5; a Teachable Machine export is
 * also a `backbone`).
 * Before training, checkData finds duplicates, test leakage and likely mislabeled images; suggestLabels ranks
 * unlabeled images to label next.
 * Every recipe takes `callbacks` (Keras-style hooks: onBatchEnd, onEpochEnd, onStage, onProgress).
 * The TF.js backend starts on first use ('auto': tfjs-node when installed, else wasm; $FRUGAL_BACKEND or
 * `initBackend` choose another). Errors a user can fix are `FrugalError`s that name the options to change.
 */

// Recipes
export { trainFromScratch, defaultArch, type TrainOptions, type TrainResult } from './recipes/scratch.js';
export {
  trainTransfer,
  HEAD_HYPER,
  FINETUNE_HYPER,
  TRANSFER_HEAD,
  AUGMENT_VIEWS,
  FEATURE_SELF_TRAIN,
  CV_MAX_ROUNDS,
  type TransferOptions,
  type TransferResult,
  type TransferMode,
} from './recipes/transfer.js';
export type { CutChoice, CutTrial } from './recipes/cut-search.js';
export { searchAugmentation, gridTable, type AugmentSearchOptions, type SearchResult, type Trial, type SearchMode } from './recipes/augment-search.js';
export { distill, type DistillRunOptions, type DistillResult, type ModelSummary } from './recipes/distill.js';
export { selfTrain, type SelfTrainOptions, type SelfTrainResult, type RoundReport } from './recipes/self-train.js';
export { parseStudent, type StudentSpec } from './recipes/student.js';
export { auto, AUTO_CV_BELOW, STAGE_COST, type AutoOptions, type AutoResult, type AblationRow, type SkippedStage } from './recipes/auto.js';
export { checkData, DATA_CHECK_THRESHOLDS, type DataCheckOptions } from './recipes/data-check.js';
export type { DataCheckFile, DataCheckThresholds, CheckedImage, CheckedSet, ImagePair, DuplicateCluster, MislabelCandidate } from './runs/files.js';
export {
  suggestLabels,
  writeSuggestionFolder,
  suggestionsCsv,
  SUGGEST_STRATEGIES,
  SUGGEST_PER_CLASS,
  SUGGESTIONS_CSV,
  type SuggestOptions,
  type SuggestResult,
  type Suggestion,
  type SuggestStrategy,
} from './recipes/suggest.js';
export { selectForLabeling, HYBRID, type HybridSettings, type SelectionInput, type Selected } from './recipes/active-selection.js';
export { STUDENT_NOISE, SELF_TRAIN_DEFAULTS, DISTILL_DEFAULTS, AUTO_DEFAULTS, SEARCH_DEFAULTS, CV_DEFAULTS } from './recipes/defaults.js';

// Evaluation, prediction, the report
export { evaluateModel, type EvaluateOptions, type EvaluateResult } from './evaluate/evaluate.js';
export { loadPredictor, type Predictor } from './evaluate/predictor.js';
export { exportOnnx, type OnnxExport } from './export/onnx.js';
export { layersToOnnx, type OnnxConversion } from './models/onnx/convert.js';
export { predictImages, collectInputs, type Prediction, type PredictOptions } from './evaluate/predict-images.js';
export type { ClassificationReport, ClassMetrics } from './evaluate/metrics.js';
export { describeEstimate, type Estimate } from './evaluate/estimate.js';
export { fitLabelCurve, describeLabelCurve, type LabelCurve, type LabelCurvePoint } from './evaluate/label-curve.js';
export { writeReport } from './report/report.js';
export { exportTfjs, type TfjsExport } from './export/tfjs.js';
export { exportTeachableMachine, type TeachableMachineExport } from './export/teachable-machine.js';
export { TM_PREPROCESSING, type TeachableMachineMetadata } from './models/backbones/teachable-machine.js';

// Training options shared by the recipes
export { DEFAULT_HYPER, type TrainHyper } from './train/fit-on-data.js';
export type { Callback, BatchLog, EpochLog } from './train/callbacks.js';
export type { FitResult } from './train/loop.js';
export { DEFAULT_VAL_SPLIT, type DataOptions } from './data/prepare.js';
export type { ImageSpec, ResizePolicy } from './data/decode.js';
export type { BackboneOptions } from './models/backbones/load.js';
export type { DownloadSettings, DownloadRetry } from './models/backbones/download.js';
export { listArchs } from './models/zoo/index.js';
export { listPretrained, BUILTIN_TRUNK, NO_BACKBONE } from './models/backbones/pretrained.js';

// The cache folder ($FRUGAL_CACHE): its size per kind, clearing it, its size limit ($FRUGAL_CACHE_LIMIT)
export {
  cacheInfo,
  clearCache,
  pruneCache,
  cacheLimit,
  parseByteSize,
  CACHE_KINDS,
  CACHE_LIMIT_VARIABLE,
  DEFAULT_CACHE_LIMIT,
  type CacheKind,
  type CacheInfo,
  type CacheKindInfo,
  type ClearResult,
  type PruneResult,
} from './util/cache-dir.js';

// Backends and errors
export { initBackend, type BackendInfo, type BackendPreference } from './engine/backend.js';
export { forwardInfo, type ForwardEngine } from './engine/onnx-runtime.js';
export { FrugalError, OptionError, type OptionNamer } from './util/errors.js';
