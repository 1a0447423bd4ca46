/** Erasing ops: cutout (DeVries & Taylor 2017) — fill a square patch. */
import type { RawImage } from '../../data/image.js';
import { checkImage, copyImage, type Fill, fillBytes } from './common.js';

/**
 * Fill the `size`×`size` square centred at pixel (x, y) — columns x − ⌊size/2⌋ … x − ⌊size/2⌋ + size − 1,
 * likewise rows — clipped to the image, with `fill` (default 0). size 0 is the identity.
 */
export function cutout(img: RawImage, x: number, y: number, size: number, fill: Fill = 0): RawImage {
  checkImage(img, 'cutout');
  for (const [name, v] of [
    ['x', x],
    ['y', y],
    ['size', size],
  ] as const) {
    if (!Number.isInteger(v)) throw new RangeError(`cutout: ${name} must be an integer, got ${v}`);
  }
  if (size < 0) throw new RangeError(`cutout: size must be >= 0, got ${size}`);
  const out = copyImage(img);
  const { width: w, height: h, channels: c } = img;
  const fb = fillBytes(fill, c, 'cutout');
  const x0 = Math.max(0, x - (size >> 1));
  const x1 = Math.min(w, x - (size >> 1) + size);
  const y0 = Math.max(0, y - (size >> 1));
  const y1 = Math.min(h, y - (size >> 1) + size);
  for (let yy = y0; yy < y1; yy++) {
    for (let xx = x0; xx < x1; xx++) {
      const d = (yy * w + xx) * c;
      for (let k = 0; k < c; k++) out.data[d + k] = fb[k]!;
    }
  }
  return out;
}
