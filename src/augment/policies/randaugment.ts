/** torchvision RandAugment(N, M) and TrivialAugmentWide with Frugal's seeded Rng. */
import type { RawImage } from '../../data/image.js';
import type { Rng } from '../../util/rng.js';
import { applyOp, MAGNITUDE_FREE_OPS, MAX_BIN, NUM_BINS, RANDAUGMENT_OPS, SIGNED_OPS } from '../magnitudes.js';
import type { ImagePolicy } from './types.js';

export const RANDAUGMENT_MAX_N = 16;

/**
 * RandAugment: `n` ops drawn uniformly with replacement from torchvision's 14, each at magnitude
 * bin `m` (0..30), signed ops negated with probability 1/2 (torchvision semantics; NEAREST, fill 0).
 */
export function randAugment(n: number, m: number): ImagePolicy {
  if (!Number.isInteger(n) || n < 0 || n > RANDAUGMENT_MAX_N) throw new RangeError(`randaugment: n must be an integer 0..${RANDAUGMENT_MAX_N}, got ${n}`);
  if (!Number.isInteger(m) || m < 0 || m > MAX_BIN) throw new RangeError(`randaugment: m must be an integer 0..${MAX_BIN}, got ${m}`);
  return (img: RawImage, rng: Rng): RawImage => {
    let out = img;
    for (let i = 0; i < n; i++) {
      const op = RANDAUGMENT_OPS[rng.int(RANDAUGMENT_OPS.length)]!;
      const sign = SIGNED_OPS.has(op) && rng.chance(0.5) ? -1 : 1;
      if (op !== 'identity') out = applyOp(out, op, m, sign);
    }
    return out === img ? { ...img, data: img.data.slice() } : out;
  };
}

/**
 * TrivialAugmentWide: one op drawn uniformly from the 14, a magnitude bin drawn uniformly from
 * 0..30 (ops with a magnitude only) on torchvision's 'wide' table, signed ops negated with p = 1/2.
 */
export function trivialAugmentWide(): ImagePolicy {
  return (img: RawImage, rng: Rng): RawImage => {
    const op = RANDAUGMENT_OPS[rng.int(RANDAUGMENT_OPS.length)]!;
    const bin = MAGNITUDE_FREE_OPS.has(op) ? 0 : rng.int(NUM_BINS);
    const sign = SIGNED_OPS.has(op) && rng.chance(0.5) ? -1 : 1;
    return applyOp(img, op, bin, sign, 'wide');
  };
}
