import { makeImage, type RawImage } from '../../src/data/image.js';

/** A grayscale image from rows of values. */
export function gray(rows: number[][]): RawImage {
  const h = rows.length;
  const w = rows[0]!.length;
  return makeImage(h, w, 1, Uint8Array.from(rows.flat()));
}

/** An RGB image from rows of [r, g, b] pixels. */
export function rgb(rows: number[][][]): RawImage {
  const h = rows.length;
  const w = rows[0]!.length;
  return makeImage(h, w, 3, Uint8Array.from(rows.flat(2)));
}

/** Rows of values (grayscale) or rows of [r, g, b] (RGB), for readable assertions. */
export function rowsOf(img: RawImage): number[][] | number[][][] {
  const out: (number[] | number[][])[] = [];
  for (let y = 0; y < img.height; y++) {
    const row: (number | number[])[] = [];
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * img.channels;
      row.push(img.channels === 1 ? img.data[i]! : Array.from(img.data.subarray(i, i + 3)));
    }
    out.push(row as number[] | number[][]);
  }
  return out as number[][] | number[][][];
}

/** The 4×5 grayscale ramp used by most op tests. */
export const G = (): RawImage =>
  gray([
    [10, 20, 30, 40, 50],
    [60, 70, 80, 90, 100],
    [110, 120, 130, 140, 150],
    [160, 170, 180, 190, 200],
  ]);

/** 2×2 RGB: pure red, green, blue and (100, 150, 200). PIL luma: 76, 150, 29, 141. */
export const P = (): RawImage =>
  rgb([
    [
      [255, 0, 0],
      [0, 255, 0],
    ],
    [
      [0, 0, 255],
      [100, 150, 200],
    ],
  ]);

/** A deterministic pseudo-random image (for shape/determinism tests). */
export function noise(h: number, w: number, c: 1 | 3, seed = 1): RawImage {
  const img = makeImage(h, w, c);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < img.data.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    img.data[i] = s & 255;
  }
  return img;
}
