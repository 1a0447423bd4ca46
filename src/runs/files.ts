/**
 * The run folder: every file and folder a training command leaves in its `out`, with the shape of each JSON
 * file. Recipes write these, the report and `auto`'s resume read them; nothing else spells a file name.
 *
 *   out/                      a model directory (model.json, weights.bin, frugal.json) and its run artefacts:
 *     history.json            per-epoch logs (learning curves)
 *     metrics.json            held-out classification report
 *     predictions.json        held-out images with their class probabilities
 *     checkpoint.bin          the last finished epoch (resume)
 *     search.json, heatmap.*  an augmentation search
 *     preview.png, .json      an augmentation policy's preview
 *     rounds.json             Noisy Student rounds; self-train.json: their resumable state; round-N/ each round
 *     distill.json            teacher vs student
 *     auto.json               auto's ablation table; auto-state.json: its resumable state; 1-…5-*: its stages
 *     data-check.json         `frugal data check --run`: duplicates, leakage, likely mislabeled images of the data
 *     report.html
 */
import * as path from 'node:path';
import type { EpochLog } from '../train/callbacks.js';
import { CHECKPOINT_FILE } from '../train/checkpoint.js';
import type { ClassificationReport } from '../evaluate/metrics.js';
import { META_FILE, MODEL_FILE } from '../models/model-dir.js';
import { WEIGHTS_FILE } from '../models/io.js';
import type { FeaturePool } from '../models/backbones/pooling.js';
import type { LabelCurve } from '../evaluate/label-curve.js';
import type { Estimate } from '../evaluate/estimate.js';

/** File names in a run folder, by role. */
export const RUN_FILES = {
  model: MODEL_FILE,
  weights: WEIGHTS_FILE,
  meta: META_FILE,
  checkpoint: CHECKPOINT_FILE,
  history: 'history.json',
  metrics: 'metrics.json',
  predictions: 'predictions.json',
  search: 'search.json',
  heatmapSvg: 'heatmap.svg',
  heatmapPng: 'heatmap.png',
  preview: 'preview.png',
  previewInfo: 'preview.json',
  rounds: 'rounds.json',
  selfTrainState: 'self-train.json',
  distill: 'distill.json',
  ablation: 'auto.json',
  autoState: 'auto-state.json',
  dataCheck: 'data-check.json',
  report: 'report.html',
} as const;

export type RunFile = keyof typeof RUN_FILES;

/** The path of a run folder's file. */
export function runFile(dir: string, file: RunFile): string {
  return path.join(dir, RUN_FILES[file]);
}

/** The files besides the model's own that describe how it did (copied with it: the report reads them). */
export const RUN_ARTIFACTS = [RUN_FILES.history, RUN_FILES.metrics, RUN_FILES.predictions];

/** `auto`'s stage folders, in the order the stages run. */
export const AUTO_STAGE_DIRS = {
  scratch: '1-scratch',
  frozen: '1-frozen',
  cut: '1-cut-search',
  finetune: '2-finetune',
  augment: '3-augment',
  noisyStudent: '4-noisy-student',
  distill: '5-distill',
} as const;

/** Inside the augmentation stage's folder: the model retrained with the chosen policy. */
export const AUGMENTED_MODEL_DIR = 'model';

/** A self-training round's folder (round 0: the teacher). */
export function roundDir(out: string, round: number): string {
  return path.join(out, `round-${round}`);
}

/** Inside a round's folder: the teacher's predictions for the unlabeled pool, in shards. */
export function pseudoLabelDir(roundFolder: string): string {
  return path.join(roundFolder, 'pseudo');
}

/** A pseudo-label shard's file name. */
export function shardFile(shard: number): string {
  return `shard-${String(shard).padStart(6, '0')}.bin`;
}

/** predictions.json: the held-out images with the model's class probabilities. */
export interface PredictionsFile {
  classes: string[];
  items: Array<{ path: string; label: number; probs: number[] }>;
}

/** One setting of an augmentation search, scored. */
export interface SearchTrial {
  n: number;
  m: number;
  policy: string;
  budget: number;
  accuracy: number;
  /** Held-out loss (frozen scoring: cross-validated mean negative log-likelihood; from scratch: null). Breaks accuracy ties. */
  loss: number | null;
  seconds: number;
}

export type SearchMode = 'grid' | 'halving';

/** search.json: an augmentation search's result. */
export interface SearchFile {
  mode: SearchMode;
  scoring: 'frozen-features' | 'from-scratch';
  /** Each setting's score at the largest budget it reached (the heatmap). */
  trials: SearchTrial[];
  /** Every evaluation, in order. */
  evaluations: SearchTrial[];
  best: { n: number; m: number; policy: string; accuracy: number; loss: number | null };
  /** The same scoring with no augmentation. */
  baseline: number;
  baselineLoss: number | null;
  /**
   * The best setting against the baseline on the same held-out images: right only with the best setting,
   * right only without augmentation, and the sign-test probability of the latter count if neither were better.
   */
  versusBaseline: { onlyBest: number; onlyBaseline: number; p: number };
  /**
   * What to use: the best setting, unless no augmentation scored better beyond chance (`versusBaseline.p` <
   * 0.05); then `none`.
   */
  recommended: string;
  /** With `cut: 'auto'`: where the backbone was cut for scoring. */
  cut?: { cut: string; pool: FeaturePool };
  /** Budget units spent (views × settings, or epochs × settings). */
  cost: number;
  seconds: number;
  files: string[];
}

/** preview.json: what preview.png shows. */
export interface PreviewInfo {
  policy: string;
  rows: number;
  variants: number;
}

/** A Noisy Student round, as rounds.json lists them. */
export interface RoundReport {
  round: number;
  /** Held-out accuracy of this round's model (round 0: the teacher). */
  accuracy: number;
  /** How `accuracy` was measured: by cross-validation on all labeled images, or on the validation images (absent: those). */
  scoredBy?: Estimate['kind'];
  /** Pseudo-labels kept per class (round ≥ 1). */
  kept: Record<string, number>;
  keptTotal: number;
  poolSize: number;
  /** Accuracy of the kept pseudo-labels against the pool's true labels, when known. */
  pseudoAccuracy: number | null;
  dir: string;
  seconds: number;
}

/** What a round's accuracy is, in words: "cross-validated accuracy" or "held-out accuracy". */
export function roundAccuracyName(r: Pick<RoundReport, 'scoredBy'>): string {
  return r.scoredBy === 'cross-validation' ? 'cross-validated accuracy' : 'held-out accuracy';
}

/** self-train.json: a self-training run's resumable state. */
export interface SelfTrainState {
  fingerprint: unknown;
  rounds: RoundReport[];
  done: boolean;
}

/** A model's size, speed and held-out accuracy. */
export interface ModelSummary {
  accuracy: number;
  params: number;
  bytes: number;
  latencyMs: number;
}

/** distill.json: teacher and student side by side. */
export interface DistillFile {
  teacher: ModelSummary & { dir: string };
  student: ModelSummary & { describe: string };
  temperature: number;
  alpha: number;
}

/** A stage of `auto`, as its ablation table lists them. */
export interface AblationRow {
  /** Which stage (stable: resuming finds finished stages by it). */
  id: string;
  /** The stage as the table shows it. */
  stage: string;
  accuracy: number;
  /** Estimate change vs the best stage before it (null for the first). */
  delta: number | null;
  seconds: number;
  /** The stage's model directory. */
  dir: string;
  note?: string;
  /** How `accuracy` was measured: on the validation images (split or set) or by cross-validation on all labeled images. */
  estimate: 'validation' | 'cross-validation';
  /** The estimate's spread: validation, its standard error; cross-validation, the standard deviation over folds. */
  spread: number;
  /** Whether the stage's model became the best so far (later stages build on the best). */
  kept: boolean;
  /** Why it was kept or not. */
  why: string;
}

/** A stage of `auto` that did not run, and why. */
export interface SkippedStage {
  stage: string;
  why: string;
}

/** auto.json: the ablation table. */
export interface AblationFile {
  rows: AblationRow[];
  skipped: SkippedStage[];
  /** How stages were scored: `cross-validation` below `AUTO_CV_BELOW` labeled images with a trunk, else `validation`. */
  selection: 'validation' | 'cross-validation';
  /** The best stage (its `stage`). */
  best: string;
  policy: string;
  /** With a trunk: how the frozen head's accuracy grows with labels (absent in folders of earlier versions). */
  labelCurve?: LabelCurve | null;
  seconds: number;
}

/** auto-state.json: an auto run's resumable state. */
export interface AutoState {
  fingerprint: unknown;
  rows: AblationRow[];
  skipped: SkippedStage[];
  policy: string;
  search: SearchFile | null;
  searchSeconds: number;
  started: number;
  spentSeconds: number;
}

/** The shape of each JSON file of a run folder. */
export interface RunJson {
  history: EpochLog[];
  metrics: ClassificationReport;
  predictions: PredictionsFile;
  search: SearchFile;
  previewInfo: PreviewInfo;
  rounds: RoundReport[];
  selfTrainState: SelfTrainState;
  distill: DistillFile;
  ablation: AblationFile;
  autoState: AutoState;
  dataCheck: DataCheckFile;
}

/** Which of the checked sets an image is in: the labeled data, `--test`, or `--unlabeled`. */
export type CheckedSet = 'train' | 'test' | 'unlabeled';

/** An image as a data check names it: its file, set and label (null: unlabeled). */
export interface CheckedImage {
  path: string;
  set: CheckedSet;
  label: string | null;
}

/** Two files of one picture: the same bytes (`exact`), or a near-duplicate by perceptual hash or trunk features. */
export interface ImagePair {
  a: CheckedImage;
  b: CheckedImage;
  match: 'exact' | 'near';
  /** Hamming distance of their 256-bit perceptual hashes (null: not decodable). */
  hashDistance: number | null;
  /** Cosine similarity of their trunk features (null: not decodable). */
  cosine: number | null;
  /** How far the cosine stands out: less the larger of the two images' cosine with its 5th-nearest image (null: not decodable). */
  cosineMargin: number | null;
}

/** Images of one set joined by duplicate pairs (exact copies: `pairs` empty; near-duplicates: the near pairs). */
export interface DuplicateCluster {
  set: CheckedSet;
  images: CheckedImage[];
  pairs: ImagePair[];
}

/** A labeled image that a head trained without it confidently puts in another class. */
export interface MislabelCandidate {
  image: CheckedImage;
  predicted: string;
  /** The head's probability of `predicted`. */
  confidence: number;
  /** The head's probability of the image's own label. */
  labelProbability: number;
  /** Near-duplicates of it (same label) flagged alike: one finding per picture. */
  nearDuplicates: string[];
}

/** The thresholds a data check used. */
export interface DataCheckThresholds {
  /** Near-duplicates by the hash: 256-bit perceptual-hash Hamming distance at most this. */
  hashDistance: number;
  /** Near-duplicates by the trunk: feature cosine at least this… */
  cosine: number;
  /** …and at least this above either image's cosine with its 5th-nearest image (the pair stands out). */
  cosineMargin: number;
  /** Likely mislabeled: the held-out head's top class (not the label) at least this probable… */
  confidence: number;
  /** …and the image's own label at most this probable. */
  labelProbability: number;
}

/** data-check.json: what `frugal data check` found in a data set (and its test set and unlabeled pool). */
export interface DataCheckFile {
  source: string;
  test: string | null;
  unlabeled: string | null;
  classes: string[];
  /** Usable (decodable) images per set. */
  images: Record<CheckedSet, number>;
  thresholds: DataCheckThresholds;
  /** Files with the same bytes within one set. */
  exactDuplicates: DuplicateCluster[];
  /** Near-duplicate clusters within one set (exact copies joined to them). */
  nearDuplicates: DuplicateCluster[];
  /** Test images that are (near-)copies of training or unlabeled images: not held out. */
  leakage: ImagePair[];
  /** Unlabeled images that are (near-)copies of training images. */
  poolOverlap: ImagePair[];
  /** One picture under two labels (exact or near-duplicates, any labeled sets). */
  labelConflicts: ImagePair[];
  mislabeled: {
    /** Ranked, most likely first: training images by cross-validation, test images by a head trained on all training images. */
    candidates: MislabelCandidate[];
    /** Images scored (training and test). */
    scored: number;
    folds: number;
    /** Cross-validated accuracy of the head on the training images (null when skipped). */
    accuracy: number | null;
    /** Why the check did not run (null when it did). */
    skipped: string | null;
  };
  /** Usable training images per class (exact copies counted once). */
  balance: { classes: Array<{ name: string; count: number }>; min: number; max: number; ratio: number | null };
  /** Files that could not be used, with the reason. */
  problems: Array<{ path: string; reason: string }>;
  seconds: number;
}
