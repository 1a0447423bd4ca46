/**
 * PIL ImageEnhance ops: brightness, contrast, color (saturation), sharpness.
 *
 * Each is `Image.blend(degenerate, image, factor)`; Pillow's C blend computes, in float32,
 * `in1 + alpha * (in2 - in1)`, and casts to uint8 by truncation (clipping to 0..255 first when
 * alpha is outside [0, 1]). `blendByte` reproduces that bit for bit with Math.fround.
 */
import type { RawImage } from '../../data/image.js';
import { checkFinite, checkImage, copyImage } from './common.js';
import { applyLut } from './point.js';

const f32 = Math.fround;

/** One pixel of PIL's Image.blend(im1, im2, alpha): in1 = degenerate byte, in2 = image byte. */
export function blendByte(in1: number, in2: number, alpha: number): number {
  const a = f32(alpha);
  const t = f32(in1 + f32(a * (in2 - in1)));
  return t <= 0 ? 0 : t >= 255 ? 255 : Math.trunc(t);
}

/** 256-entry table v → blend(constant degenerate d, v, factor). */
export function blendConstantLut(d: number, factor: number): Uint8Array {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = blendByte(d, v, factor);
  return lut;
}

const pairTables = new Map<number, Uint8Array>();

/** 65536-entry table [d·256 + v] → blend(d, v, factor), cached per float32 factor. */
export function blendPairTable(factor: number): Uint8Array {
  const key = f32(factor);
  let t = pairTables.get(key);
  if (t) return t;
  t = new Uint8Array(65536);
  const a = key;
  for (let d = 0; d < 256; d++) {
    const row = d << 8;
    for (let v = 0; v < 256; v++) {
      const x = f32(d + f32(a * (v - d)));
      t[row | v] = x <= 0 ? 0 : x >= 255 ? 255 : x | 0;
    }
  }
  if (pairTables.size >= 128) pairTables.clear();
  pairTables.set(key, t);
  return t;
}

/** PIL's RGB→L conversion (Pillow ≥ 8: ITU-R 601-2 luma in 16.16 fixed point, rounded). */
export function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

/** PIL ImageEnhance.Brightness(img).enhance(factor): blend with black. */
export function brightness(img: RawImage, factor: number): RawImage {
  checkImage(img, 'brightness');
  checkFinite(factor, 'factor', 'brightness');
  return applyLut(img, blendConstantLut(0, factor));
}

/** Mean of PIL's "L" version of the image, rounded as ImageEnhance.Contrast does: int(mean + 0.5). */
export function grayMean(img: RawImage): number {
  const src = img.data;
  let sum = 0;
  if (img.channels === 1) {
    for (let i = 0; i < src.length; i++) sum += src[i]!;
  } else {
    for (let i = 0; i < src.length; i += 3) sum += luma(src[i]!, src[i + 1]!, src[i + 2]!);
  }
  return Math.trunc(sum / (img.height * img.width) + 0.5);
}

/** PIL ImageEnhance.Contrast(img).enhance(factor): blend with a flat image of the rounded gray mean. */
export function contrast(img: RawImage, factor: number): RawImage {
  checkImage(img, 'contrast');
  checkFinite(factor, 'factor', 'contrast');
  return applyLut(img, blendConstantLut(grayMean(img), factor));
}

/**
 * PIL ImageEnhance.Color(img).enhance(factor): blend with the image converted to L and back.
 * A 1-channel image is its own grayscale, so the result is an unchanged copy.
 */
export function color(img: RawImage, factor: number): RawImage {
  checkImage(img, 'color');
  checkFinite(factor, 'factor', 'color');
  if (img.channels === 1 || f32(factor) === 1) return copyImage(img);
  const t = blendPairTable(factor);
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 3) {
    const r = src[i]!;
    const g = src[i + 1]!;
    const b = src[i + 2]!;
    const l = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) << 8;
    out[i] = t[l | r]!;
    out[i + 1] = t[l | g]!;
    out[i + 2] = t[l | b]!;
  }
  return { data: out, height: img.height, width: img.width, channels: img.channels };
}

/** round(n / 13) for n = 0..13·255 (ImageFilter.SMOOTH's rounding; n/13 is never a tie). */
const SMOOTH_DIV = (() => {
  const t = new Uint8Array(13 * 255 + 1);
  for (let n = 0; n < t.length; n++) t[n] = Math.floor((2 * n + 13) / 26);
  return t;
})();

/**
 * PIL ImageEnhance.Sharpness(img).enhance(factor): blend with ImageFilter.SMOOTH
 * (kernel [[1,1,1],[1,5,1],[1,1,1]]/13, rounded to nearest; the one-pixel border is copied
 * unchanged, so border pixels keep their values). Images smaller than 3×3 are unchanged.
 */
export function sharpness(img: RawImage, factor: number): RawImage {
  checkImage(img, 'sharpness');
  checkFinite(factor, 'factor', 'sharpness');
  const { height: h, width: w, channels: c } = img;
  if (h < 3 || w < 3 || f32(factor) === 1) return copyImage(img);
  const t = blendPairTable(factor);
  const div = SMOOTH_DIV;
  const src = img.data;
  const out = src.slice(); // border rows/columns stay as they are
  const stride = w * c;
  // Sliding window of vertical 3-sums (previous, current, next column) per channel:
  // n = 3×3 sum + 4·centre, smooth = round(n / 13), out = blend(smooth, v, factor).
  for (let y = 1; y < h - 1; y++) {
    const r0 = (y - 1) * stride;
    const r1 = y * stride;
    const r2 = (y + 1) * stride;
    if (c === 1) {
      let p = src[r0]! + src[r1]! + src[r2]!;
      let q = src[r0 + 1]! + src[r1 + 1]! + src[r2 + 1]!;
      for (let i = 1; i < w - 1; i++) {
        const n = src[r0 + i + 1]! + src[r1 + i + 1]! + src[r2 + i + 1]!;
        const v = src[r1 + i]!;
        out[r1 + i] = t[(div[p + q + n + 4 * v]! << 8) | v]!;
        p = q;
        q = n;
      }
      continue;
    }
    let pr = src[r0]! + src[r1]! + src[r2]!;
    let pg = src[r0 + 1]! + src[r1 + 1]! + src[r2 + 1]!;
    let pb = src[r0 + 2]! + src[r1 + 2]! + src[r2 + 2]!;
    let cr = src[r0 + 3]! + src[r1 + 3]! + src[r2 + 3]!;
    let cg = src[r0 + 4]! + src[r1 + 4]! + src[r2 + 4]!;
    let cb = src[r0 + 5]! + src[r1 + 5]! + src[r2 + 5]!;
    const end = stride - 3;
    for (let i = 3; i < end; i += 3) {
      const j = i + 3;
      const nr = src[r0 + j]! + src[r1 + j]! + src[r2 + j]!;
      const ng = src[r0 + j + 1]! + src[r1 + j + 1]! + src[r2 + j + 1]!;
      const nb = src[r0 + j + 2]! + src[r1 + j + 2]! + src[r2 + j + 2]!;
      const vr = src[r1 + i]!;
      const vg = src[r1 + i + 1]!;
      const vb = src[r1 + i + 2]!;
      out[r1 + i] = t[(div[pr + cr + nr + 4 * vr]! << 8) | vr]!;
      out[r1 + i + 1] = t[(div[pg + cg + ng + 4 * vg]! << 8) | vg]!;
      out[r1 + i + 2] = t[(div[pb + cb + nb + 4 * vb]! << 8) | vb]!;
      pr = cr;
      pg = cg;
      pb = cb;
      cr = nr;
      cg = ng;
      cb = nb;
    }
  }
  return { data: out, height: h, width: w, channels: c };
}
