/**
 * Deterministic batch augmentation: image i of a batch draws from its own generator derived from
 * (seed, i), and the batch op (mixup/cutmix) from one derived from seed alone — so results do not
 * depend on how the batch is split across workers.
 */
import type { RawImage } from '../data/image.js';
import { Rng } from '../util/rng.js';
import type { Policy } from './policies/types.js';

export function imageRng(seed: number, index: number): Rng {
  return new Rng(`frugal/augment/image:${seed}:${index}`);
}

export function batchRng(seed: number): Rng {
  return new Rng(`frugal/augment/batch:${seed}`);
}

/** The per-image part of a policy for images[k] = image (startIndex + k) of the batch. */
export function augmentImages(policy: Pick<Policy, 'image'>, images: readonly RawImage[], seed: number, startIndex = 0): RawImage[] {
  return images.map((img, k) => policy.image(img, imageRng(seed, startIndex + k)));
}

export interface AugmentedBatch {
  images: RawImage[];
  /** Soft targets (rows sum to 1); present when targets were given. */
  targets?: Float32Array[];
}

/** Apply the batch op (if any) after the per-image part; needs targets when the policy mixes. */
export function finishBatch(policy: Pick<Policy, 'batch' | 'text'>, images: RawImage[], seed: number, targets?: Float32Array[]): AugmentedBatch {
  if (!policy.batch) return targets ? { images, targets } : { images };
  if (!targets) throw new Error(`policy ${policy.text} mixes images and needs targets (one-hot or soft rows)`);
  return policy.batch({ images, targets }, batchRng(seed));
}

/** In-process equivalent of AugmentPool.run (same seed, same output). */
export function augmentBatch(policy: Policy, images: readonly RawImage[], seed: number, targets?: Float32Array[]): AugmentedBatch {
  return finishBatch(policy, augmentImages(policy, images, seed), seed, targets);
}
