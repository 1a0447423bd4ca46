import { AugmentPool, augmentBatch, policyFromOption, type Policy } from '../augment/index.js';
import { packImages, unpackImages } from '../data/image.js';
import type { ImageSpec } from '../data/decode.js';
import type { Batch, BatchTransform } from './batches.js';

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
  const policy = policyFromOption(policyText);
  if (policy.spec.stages.length === 0 && policy.spec.mix.length === 0) return null;
  const pool = workers > 0 ? new AugmentPool({ policy, workers }) : null;
  const k = (b: Batch) => b.targets.length / b.count;
  return {
    policy,
    async transform(batch, rng) {
      const seed = rng.nextU32();
      const images = unpackImages(batch.inputs as Uint8Array, batch.count, spec);
      const numClasses = k(batch);
      const targets = Array.from({ length: batch.count }, (_, i) => batch.targets.subarray(i * numClasses, (i + 1) * numClasses));
      const out = pool ? await pool.run(images, seed, targets) : augmentBatch(policy, images, seed, targets);
      const result: Batch = { ...batch, inputs: packImages(out.images) };
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
