/**
 * Histogram-driven point ops: PIL ImageOps.autocontrast (cutoff 0) and ImageOps.equalize,
 * computed per channel exactly as PIL 9.x does.
 */
import type { RawImage } from '../../data/image.js';
import { checkImage } from './common.js';
import { applyChannelLuts, words } from './point.js';

/** Per-channel 256-bin histograms. */
export function histograms(img: RawImage): Uint32Array[] {
  const src = img.data;
  const len = src.length;
  const s32 = words(src);
  if (img.channels === 1) {
    const h = new Uint32Array(256);
    let i = 0;
    if (s32) {
      for (let k = 0; k < s32.length; k++) {
        const v = s32[k]!;
        h[v & 255]!++;
        h[(v >> 8) & 255]!++;
        h[(v >> 16) & 255]!++;
        h[v >>> 24]!++;
      }
      i = s32.length << 2;
    }
    for (; i < len; i++) h[src[i]!]!++;
    return [h];
  }
  const r = new Uint32Array(256);
  const g = new Uint32Array(256);
  const b = new Uint32Array(256);
  let i = 0;
  if (s32) {
    const m = s32.length - (s32.length % 3);
    for (let k = 0; k < m; k += 3) {
      const v0 = s32[k]!;
      const v1 = s32[k + 1]!;
      const v2 = s32[k + 2]!;
      r[v0 & 255]!++;
      g[(v0 >> 8) & 255]!++;
      b[(v0 >> 16) & 255]!++;
      r[v0 >>> 24]!++;
      g[v1 & 255]!++;
      b[(v1 >> 8) & 255]!++;
      r[(v1 >> 16) & 255]!++;
      g[v1 >>> 24]!++;
      b[v2 & 255]!++;
      r[(v2 >> 8) & 255]!++;
      g[(v2 >> 16) & 255]!++;
      b[v2 >>> 24]!++;
    }
    i = m << 2;
  }
  for (; i < len; i += 3) {
    r[src[i]!]!++;
    g[src[i + 1]!]!++;
    b[src[i + 2]!]!++;
  }
  return [r, g, b];
}

/** PIL's autocontrast table for one channel: lo/hi = min/max, v → int(v·255/(hi−lo) − lo·255/(hi−lo)) clipped. */
export function autocontrastLut(h: Uint32Array): Uint8Array {
  const lut = new Uint8Array(256);
  let lo = 0;
  while (lo < 255 && h[lo] === 0) lo++;
  let hi = 255;
  while (hi > 0 && h[hi] === 0) hi--;
  if (hi <= lo) {
    for (let i = 0; i < 256; i++) lut[i] = i;
    return lut;
  }
  const scale = 255.0 / (hi - lo);
  const offset = -lo * scale;
  for (let i = 0; i < 256; i++) {
    const v = Math.trunc(i * scale + offset);
    lut[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return lut;
}

/**
 * PIL's equalize table for one channel: step = (total − count of the last non-empty bin) // 255;
 * identity when there is at most one non-empty bin or step is 0; otherwise n = step // 2 and
 * lut[i] = n // step before adding h[i] to n (PIL clips table values above 255 to 255).
 */
export function equalizeLut(h: Uint32Array): Uint8Array {
  const lut = new Uint8Array(256);
  let nonEmpty = 0;
  let total = 0;
  let last = 0;
  for (let i = 0; i < 256; i++) {
    const v = h[i]!;
    if (v !== 0) {
      nonEmpty++;
      total += v;
      last = v;
    }
  }
  const step = nonEmpty <= 1 ? 0 : Math.floor((total - last) / 255);
  if (step === 0) {
    for (let i = 0; i < 256; i++) lut[i] = i;
    return lut;
  }
  let n = Math.floor(step / 2);
  for (let i = 0; i < 256; i++) {
    const v = Math.floor(n / step);
    lut[i] = v > 255 ? 255 : v;
    n += h[i]!;
  }
  return lut;
}

/** PIL ImageOps.autocontrast(img) (no cutoff), per channel. */
export function autocontrast(img: RawImage): RawImage {
  checkImage(img, 'autocontrast');
  return applyChannelLuts(img, histograms(img).map(autocontrastLut));
}

/** PIL ImageOps.equalize(img), per channel. */
export function equalize(img: RawImage): RawImage {
  checkImage(img, 'equalize');
  return applyChannelLuts(img, histograms(img).map(equalizeLut));
}
