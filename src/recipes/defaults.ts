/**
 * The recipes' defaults, in one place: the library applies them to options left out, and the CLI shows them as its
 * flags' defaults. (Transfer learning's head and fine-tuning settings stay beside `trainTransfer`, where their
 * measurements are written down: HEAD_HYPER, FINETUNE_HYPER, TRANSFER_HEAD, AUGMENT_VIEWS.)
 */
import type { SearchMode } from '../runs/files.js';

/**
 * Noisy Student's noise (Xie et al. 2020): RandAugment on the student's input, dropout before its classifier and
 * stochastic depth in its residual blocks.
 */
export const STUDENT_NOISE = { augment: 'randaugment:n=2,m=9', dropout: 0.3, dropPath: 0.1 } as const;

/** `selfTrain`: at most this many rounds; hard (one-hot) pseudo-labels kept when the teacher is at least `threshold` sure. */
export const SELF_TRAIN_DEFAULTS = { rounds: 3, pseudo: 'hard', threshold: 0.7, student: 'cnn-small' } as const;

/** `distill`: softening temperature, and the weight of the distillation term (1 − alpha: the labels). */
export const DISTILL_DEFAULTS = { temperature: 4, alpha: 0.9 } as const;

/** `auto`: epochs of each training stage, at most this many Noisy Student rounds, the architecture trained from scratch. */
export const AUTO_DEFAULTS = { epochs: 8, rounds: 2, arch: 'cnn-small' } as const;

/** `searchAugmentation`: RandAugment's (N, M) grid, successive halving's eta, cross-validation folds, images scored at most. */
export const SEARCH_DEFAULTS: { grid: { n: number[]; m: number[] }; mode: SearchMode; eta: number; folds: number; maxImages: number } = {
  grid: { n: [1, 2, 3], m: [5, 10, 15, 20, 25] },
  mode: 'grid',
  eta: 3,
  folds: 3,
  maxImages: 600,
};

/**
 * Cross-validation (`crossValidation` of `trainTransfer` and `trainFromScratch`): 5 folds (fewer when a class has fewer images), repeated 3 times with other
 * folds when there are at most `cheapRows` labeled and unlabeled images together (a logistic head on a few hundred
 * images and their mirror images fits in about half a second), once above (on 60 labeled and 600 unlabeled photos,
 * a fit takes about 3 s). From scratch, each fold trains a model: `scratchRepeats` by default.
 */
export const CV_DEFAULTS = { folds: 5, repeats: 3, cheapRows: 400, scratchRepeats: 1 } as const;

/**
 * Below this many labeled images (with a trunk, and no validation set or split asked for), `auto` and `selfTrain` on
 * features score by cross-validation on all labeled images and save models trained on all of them: a 20% validation
 * split would hold fewer than 200 images, whose standard error (2.5 points at 85% accuracy, 7 points with 30 images)
 * is larger than the gains being chosen between (2–5 points, bench/photos), while cross-validating a head on cached
 * features costs seconds.
 */
export const CV_BELOW = 1000;

/**
 * The label-efficiency curve's points besides all labels: fractions of each class's labels (cross-validated on the
 * same folds). Three points fit a two-parameter power law with one degree of freedom left; 25% of a scarce-data set
 * (10 labels per class and 5 folds: 2 per class) is about the least a head can be trained on.
 */
export const LABEL_CURVE_FRACTIONS = [0.25, 0.5] as const;
