import { AugmentPool, buildPolicy, augmentBatch, type Policy } from '../augment/index.js';
import type { RawImage } from '../data/image.js';
import type { ImageSpec } from '../data/decode.js';
import { UsageError } from '../util/errors.js';
import type { Batch, BatchTransform } from './batches.js';

/** Parse a policy string with a usage error naming the flag. */
export function policyFrom(text: string, flag = '--augment'): Policy {
  try {
    return buildPolicy(text);
  } catch (err) {
    // Parse errors and out-of-range parameters (RangeError) are both usage errors.
    if (err instanceof Error) throw new UsageError(`${flag} ${text}: ${err.message}`);
    throw err;
  }
}

/** Split packed N×H×W×C bytes into images (views, no copy). */
export function unpack(pixels: Uint8Array, count: number, spec: Pick<ImageSpec, 'height' | 'width' | 'channels'>): RawImage[] {
  const size = spec.height * spec.width * spec.channels;
  return Array.from({ length: count }, (_, i) => ({ data: pixels.subarray(i * size, (i + 1) * size), height: spec.height, width: spec.width, channels: spec.channels }));
}

export function pack(images: RawImage[]): Uint8Array {
  const size = images[0]?.data.length ?? 0;
  const out = new Uint8Array(images.length * size);
  images.forEach((img, i) => out.set(img.data, i * size));
  return out;
}

export interface AugmentTransform {
  transform: BatchTransform;
  policy: Policy;
  close(): Promise<void>;
}

/**
 * Online augmentation for the training loop: each batch's images go through the policy in worker
 * threads (the next batch is augmented while the current one trains), then the batch op
 * (mixup / cutmix) mixes images and soft targets. Seeded per batch: the same seed gives the same
 * batches whatever the number of workers. `workers: 0` augments on the calling thread.
 */
export function augmentTransform(policyText: string, spec: Pick<ImageSpec, 'height' | 'width' | 'channels'>, workers = 1): AugmentTransform | null {
  const policy = policyFrom(policyText);
  if (policy.spec.stages.length === 0 && policy.spec.mix.length === 0) return null;
  const pool = workers > 0 ? new AugmentPool({ policy, workers }) : null;
  const k = (b: Batch) => b.targets.length / b.count;
  return {
    policy,
    async transform(batch, rng) {
      const seed = rng.nextU32();
      const images = unpack(batch.inputs as Uint8Array, batch.count, spec);
      const numClasses = k(batch);
      const targets = Array.from({ length: batch.count }, (_, i) => batch.targets.subarray(i * numClasses, (i + 1) * numClasses));
      const out = pool ? await pool.run(images, seed, targets) : augmentBatch(policy, images, seed, targets);
      const result: Batch = { ...batch, inputs: pack(out.images) };
      if (out.targets) {
        const t = new Float32Array(batch.targets.length);
        out.targets.forEach((row, i) => t.set(row, i * numClasses));
        result.targets = t;
      }
      return result;
    },
    close: async () => {
      await pool?.close();
    },
  };
}

/** K augmented views of each image (seeded), e.g. to precompute frozen-trunk features per view. */
export function augmentedViews(policy: Policy, pixels: Uint8Array, count: number, spec: Pick<ImageSpec, 'height' | 'width' | 'channels'>, views: number, seed: number): Uint8Array {
  const images = unpack(pixels, count, spec);
  const size = spec.height * spec.width * spec.channels;
  const out = new Uint8Array(count * views * size);
  for (let v = 0; v < views; v++) {
    const aug = augmentBatch({ ...policy, batch: undefined } as Policy, images, seed * 1009 + v);
    aug.images.forEach((img, i) => out.set(img.data, (v * count + i) * size));
  }
  return out;
}
