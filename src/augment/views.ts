import { unpackImages } from '../data/image.js';
import { flipH } from './ops/geometry.js';
import { augmentBatch } from './batch.js';
import type { Policy } from './policies/types.js';

/** K augmented views of each image (seeded), e.g. to precompute frozen-trunk features per view. */
export function augmentedViews(
  policy: Policy,
  pixels: Uint8Array,
  count: number,
  spec: { height: number; width: number; channels: 1 | 3 },
  views: number,
  seed: number,
): Uint8Array {
  const images = unpackImages(pixels, count, spec);
  const size = spec.height * spec.width * spec.channels;
  const out = new Uint8Array(count * views * size);
  for (let v = 0; v < views; v++) {
    const aug = augmentBatch({ ...policy, batch: undefined } as Policy, images, seed * 1009 + v);
    aug.images.forEach((img, i) => out.set(img.data, (v * count + i) * size));
  }
  return out;
}

/** The mirror image (left–right flip) of each image of a packed batch, in the same order. */
export function mirroredImages(pixels: Uint8Array, count: number, spec: { height: number; width: number; channels: 1 | 3 }): Uint8Array {
  const size = spec.height * spec.width * spec.channels;
  const out = new Uint8Array(count * size);
  unpackImages(pixels, count, spec).forEach((img, i) => out.set(flipH(img).data, i * size));
  return out;
}
