/** The 'basic' policy: random horizontal flip + zero-padded random crop (CIFAR-style). */
import type { RawImage } from '../../data/image.js';
import type { Rng } from '../../util/rng.js';
import { flipH, padCrop } from '../ops/geometry.js';
import { padFor } from '../magnitudes.js';
import type { ImagePolicy } from './types.js';

export interface BasicOptions {
  /** Padding in pixels; default max(1, round(min(H, W) / 8)) — 4 for 32×32 images. */
  pad?: number;
  /** Probability of a horizontal flip; default 0.5. */
  flip?: number;
}

export function basic(opts: BasicOptions = {}): ImagePolicy {
  const { pad, flip = 0.5 } = opts;
  if (pad !== undefined && (!Number.isInteger(pad) || pad < 0)) throw new RangeError(`basic: pad must be an integer >= 0, got ${pad}`);
  if (!(flip >= 0 && flip <= 1)) throw new RangeError(`basic: flip must be a probability 0..1, got ${flip}`);
  return (img: RawImage, rng: Rng): RawImage => {
    const out = rng.chance(flip) ? flipH(img) : img;
    const p = pad ?? padFor(img.height, img.width);
    return padCrop(out, p, rng.int(2 * p + 1), rng.int(2 * p + 1));
  };
}
