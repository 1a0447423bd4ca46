/**
 * Point ops (one output byte per input byte, via a 256-entry lookup table):
 * identity, invert, posterize, solarize — PIL ImageOps semantics.
 */
import type { RawImage } from '../../data/image.js';
import { checkFinite, checkImage, copyImage } from './common.js';

/** Int32 word views of a byte array when it is 4-byte aligned (else null). */
export function words(a: Uint8Array): Int32Array | null {
  return a.byteOffset % 4 === 0 ? new Int32Array(a.buffer, a.byteOffset, a.length >> 2) : null;
}

/** Apply one 256-entry table to every channel (4 bytes per step through Int32 views). */
export function applyLut(img: RawImage, lut: Uint8Array): RawImage {
  const src = img.data;
  const len = src.length;
  const out = new Uint8Array(len);
  const s32 = words(src);
  let i = 0;
  if (s32) {
    const o32 = new Int32Array(out.buffer, 0, len >> 2);
    const l = new Int32Array(256);
    for (let k = 0; k < 256; k++) l[k] = lut[k]!;
    const m = s32.length;
    for (let k = 0; k < m; k++) {
      const v = s32[k]!;
      o32[k] = l[v & 255]! | (l[(v >> 8) & 255]! << 8) | (l[(v >> 16) & 255]! << 16) | (l[v >>> 24]! << 24);
    }
    i = m << 2;
  }
  for (; i < len; i++) out[i] = lut[src[i]!]!;
  return { data: out, height: img.height, width: img.width, channels: img.channels };
}

/** Apply a separate 256-entry table to each channel (`luts[c]`). */
export function applyChannelLuts(img: RawImage, luts: readonly Uint8Array[]): RawImage {
  if (img.channels === 1) return applyLut(img, luts[0]!);
  const src = img.data;
  const len = src.length;
  const out = new Uint8Array(len);
  const r = Int32Array.from(luts[0]!);
  const g = Int32Array.from(luts[1]!);
  const b = Int32Array.from(luts[2]!);
  const s32 = words(src);
  let i = 0;
  if (s32) {
    // 12 bytes (4 RGB pixels) = 3 words: R G B R | G B R G | B R G B
    const o32 = new Int32Array(out.buffer, 0, len >> 2);
    const m = s32.length - (s32.length % 3);
    for (let k = 0; k < m; k += 3) {
      const v0 = s32[k]!;
      const v1 = s32[k + 1]!;
      const v2 = s32[k + 2]!;
      o32[k] = r[v0 & 255]! | (g[(v0 >> 8) & 255]! << 8) | (b[(v0 >> 16) & 255]! << 16) | (r[v0 >>> 24]! << 24);
      o32[k + 1] = g[v1 & 255]! | (b[(v1 >> 8) & 255]! << 8) | (r[(v1 >> 16) & 255]! << 16) | (g[v1 >>> 24]! << 24);
      o32[k + 2] = b[v2 & 255]! | (r[(v2 >> 8) & 255]! << 8) | (g[(v2 >> 16) & 255]! << 16) | (b[v2 >>> 24]! << 24);
    }
    i = m << 2;
  }
  for (; i < len; i += 3) {
    out[i] = r[src[i]!]!;
    out[i + 1] = g[src[i + 1]!]!;
    out[i + 2] = b[src[i + 2]!]!;
  }
  return { data: out, height: img.height, width: img.width, channels: img.channels };
}

/** A copy of the image (torchvision's "Identity"). */
export function identity(img: RawImage): RawImage {
  checkImage(img, 'identity');
  return copyImage(img);
}

/** PIL ImageOps.invert: v → 255 − v. */
export function invert(img: RawImage): RawImage {
  checkImage(img, 'invert');
  const lut = new Uint8Array(256);
  for (let i = 0; i < 256; i++) lut[i] = 255 - i;
  return applyLut(img, lut);
}

/** PIL ImageOps.posterize: keep the top `bits` bits (v & ~(2^(8−bits) − 1)); bits in 0..8. */
export function posterize(img: RawImage, bits: number): RawImage {
  checkImage(img, 'posterize');
  if (!Number.isInteger(bits) || bits < 0 || bits > 8) throw new RangeError(`posterize: bits must be an integer 0..8, got ${bits}`);
  const mask = ~((1 << (8 - bits)) - 1) & 0xff;
  const lut = new Uint8Array(256);
  for (let i = 0; i < 256; i++) lut[i] = i & mask;
  return applyLut(img, lut);
}

/** PIL ImageOps.solarize: v < threshold ? v : 255 − v (so threshold 255 still inverts pure white). */
export function solarize(img: RawImage, threshold: number): RawImage {
  checkImage(img, 'solarize');
  checkFinite(threshold, 'threshold', 'solarize');
  const lut = new Uint8Array(256);
  for (let i = 0; i < 256; i++) lut[i] = i < threshold ? i : 255 - i;
  return applyLut(img, lut);
}
