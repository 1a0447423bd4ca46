import type { RawImage } from '../../data/image.js';
import type { Rng } from '../../util/rng.js';

/** A per-image augmentation: pure apart from the random draws it takes from `rng`. */
export type ImagePolicy = (img: RawImage, rng: Rng) => RawImage;

/** A batch of equally sized images with soft targets (one row per image, each summing to 1). */
export interface Batch {
  images: RawImage[];
  targets: Float32Array[];
}

/** A batch-level op (mixup / cutmix) producing new images and soft targets. */
export type BatchOp = (batch: Batch, rng: Rng) => Batch;

export type ImageStage = { kind: 'randaugment'; n: number; m: number } | { kind: 'trivial' } | { kind: 'basic'; pad?: number; flip?: number };

export type MixStage = { kind: 'mixup'; alpha: number } | { kind: 'cutmix'; alpha: number };

/** A parsed policy string: image stages applied in order, then optional batch mixing. */
export interface PolicySpec {
  stages: ImageStage[];
  mix: MixStage[];
}

export interface Policy {
  readonly spec: PolicySpec;
  /** Canonical policy string (formatPolicy(spec)). */
  readonly text: string;
  readonly image: ImagePolicy;
  readonly batch?: BatchOp;
}
