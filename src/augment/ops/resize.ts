/**
 * Cropping and PIL-exact bilinear resizing (Image.resize(size, BILINEAR): separable, antialiased
 * when downscaling, 22-bit fixed-point coefficients — a port of Pillow's Resample.c), and
 * randomResizedCrop = torchvision F.resized_crop on a PIL image.
 */
import { makeImage, type RawImage } from '../../data/image.js';
import { checkImage, copyImage } from './common.js';

export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** PIL Image.crop((left, top, left+width, top+height)): parts outside the image are zero. */
export function crop(img: RawImage, box: CropBox): RawImage {
  checkImage(img, 'crop');
  const { top, left, height, width } = box;
  for (const [k, v] of Object.entries(box)) {
    if (!Number.isInteger(v)) throw new RangeError(`crop: ${k} must be an integer, got ${v}`);
  }
  if (height < 1 || width < 1) throw new RangeError(`crop: box must be at least 1×1, got ${height}×${width}`);
  const c = img.channels;
  const out = makeImage(height, width, c);
  const x0 = Math.max(0, left);
  const x1 = Math.min(img.width, left + width);
  if (x1 <= x0) return out;
  for (let y = 0; y < height; y++) {
    const sy = top + y;
    if (sy < 0 || sy >= img.height) continue;
    const s = (sy * img.width + x0) * c;
    out.data.set(img.data.subarray(s, s + (x1 - x0) * c), (y * width + (x0 - left)) * c);
  }
  return out;
}

const PRECISION_BITS = 22;

interface Coeffs {
  ksize: number;
  bounds: Int32Array; // [xmin, count] per output position
  kk: Int32Array; // fixed-point coefficients, ksize per output position
}

function bilinearFilter(x: number): number {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter (support 1). */
function precomputeCoeffs(inSize: number, in0: number, in1: number, outSize: number): Coeffs {
  const scale = (in1 - in0) / outSize;
  let filterscale = scale;
  if (filterscale < 1.0) filterscale = 1.0;
  const support = 1.0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    let ww = 0.0;
    const ss = 1.0 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    for (let x = 0; x < xmax; x++) {
      const w = bilinearFilter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      let v = x < xmax ? k[x]! : 0;
      if (x < xmax && ww !== 0.0) v /= ww;
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const clip8 = (ss: number): number => {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

function resampleHorizontal(src: Uint8Array, inW: number, c: number, rows: number, rowOffset: number, outW: number, co: Coeffs): Uint8Array {
  const out = new Uint8Array(rows * outW * c);
  const { ksize, bounds, kk } = co;
  const half = 1 << (PRECISION_BITS - 1);
  for (let yy = 0; yy < rows; yy++) {
    const inRow = (yy + rowOffset) * inW * c;
    const outRow = yy * outW * c;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[xx * 2]!;
      const n = bounds[xx * 2 + 1]!;
      const kb = xx * ksize;
      for (let ch = 0; ch < c; ch++) {
        let ss = half;
        let p = inRow + xmin * c + ch;
        for (let x = 0; x < n; x++, p += c) ss += src[p]! * kk[kb + x]!;
        out[outRow + xx * c + ch] = clip8(ss);
      }
    }
  }
  return out;
}

function resampleVertical(src: Uint8Array, w: number, c: number, outH: number, co: Coeffs, shift: number): Uint8Array {
  const out = new Uint8Array(outH * w * c);
  const { ksize, bounds, kk } = co;
  const half = 1 << (PRECISION_BITS - 1);
  const stride = w * c;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2]! - shift;
    const n = bounds[yy * 2 + 1]!;
    const kb = yy * ksize;
    const outRow = yy * stride;
    for (let i = 0; i < stride; i++) {
      let ss = half;
      let p = ymin * stride + i;
      for (let y = 0; y < n; y++, p += stride) ss += src[p]! * kk[kb + y]!;
      out[outRow + i] = clip8(ss);
    }
  }
  return out;
}

/** PIL Image.resize((outWidth, outHeight), Image.BILINEAR) — with PIL's antialiasing when shrinking. */
export function resizeBilinear(img: RawImage, outHeight: number, outWidth: number): RawImage {
  checkImage(img, 'resizeBilinear');
  if (!Number.isInteger(outHeight) || !Number.isInteger(outWidth) || outHeight < 1 || outWidth < 1) {
    throw new RangeError(`resizeBilinear: bad output size ${outHeight}×${outWidth}`);
  }
  const { height: h, width: w, channels: c } = img;
  if (outHeight === h && outWidth === w) return copyImage(img);
  const needH = outWidth !== w;
  const needV = outHeight !== h;
  const vert = precomputeCoeffs(h, 0, h, outHeight);
  const yFirst = vert.bounds[0]!;
  const yLast = vert.bounds[outHeight * 2 - 2]! + vert.bounds[outHeight * 2 - 1]!;
  let data = img.data;
  let curW = w;
  let shift = 0;
  let rows = h;
  if (needH) {
    const horiz = precomputeCoeffs(w, 0, w, outWidth);
    rows = yLast - yFirst;
    data = resampleHorizontal(img.data, w, c, rows, yFirst, outWidth, horiz);
    curW = outWidth;
    shift = yFirst;
  }
  if (needV) {
    data = resampleVertical(data, curW, c, outHeight, vert, shift);
    rows = outHeight;
  }
  return makeImage(rows, curW, c, data === img.data ? data.slice() : data);
}

/**
 * torchvision F.resized_crop(img, top, left, height, width, [outHeight, outWidth], BILINEAR) on a
 * PIL image: crop (zero outside the image), then PIL bilinear resize.
 */
export function randomResizedCrop(img: RawImage, box: CropBox, outHeight: number, outWidth: number): RawImage {
  checkImage(img, 'randomResizedCrop');
  const inside = box.top === 0 && box.left === 0 && box.height === img.height && box.width === img.width;
  return resizeBilinear(inside ? img : crop(img, box), outHeight, outWidth);
}
