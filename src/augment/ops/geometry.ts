/**
 * Geometric ops with PIL's nearest-neighbour affine sampler (Image.transform(AFFINE, NEAREST))
 * and torchvision's conventions for the matrices (F.affine / F.rotate on PIL images).
 *
 * An affine map here is PIL's inverse map `[a, b, c, d, e, f]`: output pixel (x, y) samples the
 * input at (a·x' + b·y' + c, d·x' + e·y' + f) with x' = x + 0.5, y' = y + 0.5 (pixel centres).
 * Pixels that fall outside the input get the fill colour (0 by default).
 */
import type { RawImage } from '../../data/image.js';
import { blankLike, checkFinite, checkImage, copyImage, type Fill, fillBytes, paint } from './common.js';

export type AffineMatrix = readonly [number, number, number, number, number, number];

/** torchvision.transforms.functional._get_inverse_affine_matrix (angles in degrees). */
export function inverseAffineMatrix(
  center: readonly [number, number],
  angle: number,
  translate: readonly [number, number],
  scale: number,
  shear: readonly [number, number],
): [number, number, number, number, number, number] {
  const rot = radians(angle);
  const sx = radians(shear[0]);
  const sy = radians(shear[1]);
  const [cx, cy] = center;
  const [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  const m: [number, number, number, number, number, number] = [d / scale, -b / scale, 0.0 / scale, -c / scale, a / scale, 0.0 / scale];
  m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
  m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
  m[2] += cx;
  m[5] += cy;
  return m;
}

/** Python's math.radians / math.degrees (same double arithmetic). */
export function radians(deg: number): number {
  return deg * (Math.PI / 180.0);
}
export function degrees(rad: number): number {
  return rad * (180.0 / Math.PI);
}

const COORD = (v: number): number => (v < 0.0 ? -1 : Math.trunc(v));

/**
 * PIL's ImagingTransformAffine with NEAREST: a pure scale/translate map uses ImagingScaleAffine
 * (double arithmetic), anything else uses the 16.16 fixed-point engine (affine_fixed) when the
 * corners fit, else the double-precision loop — the same three paths, so results match bit for bit.
 */
export function affine(img: RawImage, m: AffineMatrix, fill: Fill = 0): RawImage {
  checkImage(img, 'affine');
  for (const v of m) checkFinite(v, 'matrix entry', 'affine');
  const out = blankLike(img);
  const fb = fillBytes(fill, img.channels, 'affine');
  paint(out.data, fb);
  const w = img.width;
  const h = img.height;
  if (m[1] === 0 && m[3] === 0) {
    scaleAffine(img, out, m);
  } else if (checkFixed(m, 0, 0) && checkFixed(m, w, h) && checkFixed(m, 0, h) && checkFixed(m, w, 0)) {
    fixedAffine(img, out, m);
  } else {
    floatAffine(img, out, m);
  }
  return out;
}

function checkFixed(a: AffineMatrix, x: number, y: number): boolean {
  return Math.abs(x * a[0] + y * a[1] + a[2]) < 32768.0 && Math.abs(x * a[3] + y * a[4] + a[5]) < 32768.0;
}

function scaleAffine(img: RawImage, out: RawImage, a: AffineMatrix): void {
  const { width: w, height: h, channels: c } = img;
  const src = img.data;
  const dst = out.data;
  const xintab = new Int32Array(w);
  let xo = a[2] + a[0] * 0.5;
  let yo = a[5] + a[4] * 0.5;
  let xmin = w;
  let xmax = 0;
  for (let x = 0; x < w; x++) {
    const xin = COORD(xo);
    if (xin >= 0 && xin < w) {
      xmax = x + 1;
      if (x < xmin) xmin = x;
      xintab[x] = xin * c;
    }
    xo += a[0];
  }
  for (let y = 0; y < h; y++) {
    const yi = COORD(yo);
    if (yi >= 0 && yi < h && xmax > xmin) {
      const inRow = yi * w * c;
      const outRow = y * w * c;
      if (c === 1) {
        for (let x = xmin; x < xmax; x++) dst[outRow + x] = src[inRow + xintab[x]!]!;
      } else if (a[0] === 1) {
        // pure horizontal shift: one contiguous copy
        const s = inRow + xintab[xmin]!;
        dst.set(src.subarray(s, s + (xmax - xmin) * 3), outRow + xmin * 3);
      } else {
        for (let x = xmin; x < xmax; x++) {
          const s = inRow + xintab[x]!;
          const d = outRow + x * 3;
          dst[d] = src[s]!;
          dst[d + 1] = src[s + 1]!;
          dst[d + 2] = src[s + 2]!;
        }
      }
    }
    yo += a[4];
  }
}

const FIX = (v: number): number => Math.floor(v * 65536.0 + 0.5);

/**
 * Cache of inverse-affine sampling maps (byte offset of the source pixel for every output pixel,
 * −1 where the fill colour shows) keyed by image shape and fixed-point matrix: RandAugment at a
 * fixed magnitude reuses a handful of maps for every image of a given size.
 */
const mapCache = new Map<string, Int32Array>();
const MAP_CACHE_MAX_ENTRIES = 48;
const MAP_CACHE_MAX_PIXELS = 8 << 20; // 32 MiB of Int32 per thread
let mapCachePixels = 0;

function fixedAffine(img: RawImage, out: RawImage, a: AffineMatrix): void {
  const { width: w, height: h, channels: c } = img;
  const src = img.data;
  const dst = out.data;
  const a0 = FIX(a[0]);
  const a1 = FIX(a[1]);
  const a3 = FIX(a[3]);
  const a4 = FIX(a[4]);
  const a2 = FIX(a[2] + a[0] * 0.5 + a[1] * 0.5);
  const a5 = FIX(a[5] + a[3] * 0.5 + a[4] * 0.5);
  if (a0 === 65536 && a3 === 0) {
    // every output row is a shifted copy of one input row (e.g. shear-x): xin = x + (xx0 >> 16)
    let xx0 = a2;
    let yy0 = a5;
    for (let y = 0; y < h; y++) {
      const yin = yy0 >> 16;
      const dx = xx0 >> 16;
      if (yin >= 0 && yin < h) {
        const x0 = Math.max(0, -dx);
        const x1 = Math.min(w, w - dx);
        if (x1 > x0) {
          const s = (yin * w + x0 + dx) * c;
          dst.set(src.subarray(s, s + (x1 - x0) * c), (y * w + x0) * c);
        }
      }
      xx0 += a1;
      yy0 += a4;
    }
    return;
  }
  const key = `${w}x${h}x${c}:${a0},${a1},${a2},${a3},${a4},${a5}`;
  let map = mapCache.get(key);
  if (!map) {
    map = new Int32Array(w * h);
    let rx = a2;
    let ry = a5;
    let p = 0;
    for (let y = 0; y < h; y++) {
      let xx = rx;
      let yy = ry;
      for (let x = 0; x < w; x++, p++) {
        const xin = xx >> 16;
        const yin = yy >> 16;
        map[p] = xin >= 0 && xin < w && yin >= 0 && yin < h ? (yin * w + xin) * c : -1;
        xx += a0;
        yy += a3;
      }
      rx += a1;
      ry += a4;
    }
    while (mapCache.size > 0 && (mapCache.size >= MAP_CACHE_MAX_ENTRIES || mapCachePixels + map.length > MAP_CACHE_MAX_PIXELS)) {
      const oldest = mapCache.keys().next().value!;
      mapCachePixels -= mapCache.get(oldest)!.length;
      mapCache.delete(oldest);
    }
    if (map.length <= MAP_CACHE_MAX_PIXELS) {
      mapCache.set(key, map);
      mapCachePixels += map.length;
    }
  }
  gather(src, dst, map, c);
}

function gather(src: Uint8Array, dst: Uint8Array, map: Int32Array, c: number): void {
  const n = map.length;
  if (c === 1) {
    for (let p = 0; p < n; p++) {
      const s = map[p]!;
      if (s >= 0) dst[p] = src[s]!;
    }
    return;
  }
  for (let p = 0, d = 0; p < n; p++, d += 3) {
    const s = map[p]!;
    if (s >= 0) {
      dst[d] = src[s]!;
      dst[d + 1] = src[s + 1]!;
      dst[d + 2] = src[s + 2]!;
    }
  }
}

function floatAffine(img: RawImage, out: RawImage, a: AffineMatrix): void {
  const { width: w, height: h, channels: c } = img;
  const src = img.data;
  const dst = out.data;
  let xo = a[2] + a[1] * 0.5 + a[0] * 0.5;
  let yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
  for (let y = 0; y < h; y++) {
    let xx = xo;
    let yy = yo;
    for (let x = 0; x < w; x++) {
      const xin = COORD(xx);
      const yin = COORD(yy);
      if (xin >= 0 && xin < w && yin >= 0 && yin < h) {
        const s = (yin * w + xin) * c;
        const d = (y * w + x) * c;
        for (let k = 0; k < c; k++) dst[d + k] = src[s + k]!;
      }
      xx += a[0];
      yy += a[3];
    }
    xo += a[1];
    yo += a[4];
  }
}

/** Python's round(x, 15) for the rotation matrix entries PIL builds. */
function round15(x: number): number {
  return Number.parseFloat(x.toFixed(15));
}

/** Python float modulo (result has the sign of the divisor). */
function pyMod(x: number, m: number): number {
  let r = x % m;
  if (r !== 0 && r < 0 !== m < 0) r += m;
  return r === 0 ? 0 : r;
}

/**
 * Rotate counter-clockwise by `degrees` about the image centre, keeping the size
 * (torchvision F.rotate on PIL = Image.rotate(angle, NEAREST, expand=False, fillcolor=fill)),
 * including PIL's exact fast paths for 0°, 180° and (square images) 90°/270°.
 */
export function rotate(img: RawImage, deg: number, fill: Fill = 0): RawImage {
  checkImage(img, 'rotate');
  checkFinite(deg, 'angle', 'rotate');
  const angle = pyMod(deg, 360.0);
  if (angle === 0) return copyImage(img);
  if (angle === 180) return transpose(img, 'rotate180');
  if ((angle === 90 || angle === 270) && img.width === img.height) {
    return transpose(img, angle === 90 ? 'rotate90' : 'rotate270');
  }
  const w = img.width;
  const h = img.height;
  const cx = w / 2.0;
  const cy = h / 2.0;
  const t = -radians(angle);
  const m: [number, number, number, number, number, number] = [
    round15(Math.cos(t)),
    round15(Math.sin(t)),
    0.0,
    round15(-Math.sin(t)),
    round15(Math.cos(t)),
    0.0,
  ];
  const px = -cx - 0;
  const py = -cy - 0;
  m[2] = m[0] * px + m[1] * py + m[2];
  m[5] = m[3] * px + m[4] * py + m[5];
  m[2] += cx;
  m[5] += cy;
  return affine(img, m, fill);
}

type Transpose = 'flipH' | 'flipV' | 'rotate90' | 'rotate180' | 'rotate270';

/** PIL Image.transpose for the size-preserving cases (90/270 only on square images). */
function transpose(img: RawImage, kind: Transpose): RawImage {
  const { width: w, height: h, channels: c } = img;
  if ((kind === 'rotate90' || kind === 'rotate270') && w !== h) throw new RangeError('transpose: 90° needs a square image');
  const src = img.data;
  const out = blankLike(img);
  const dst = out.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sy: number;
      let sx: number;
      switch (kind) {
        case 'flipH':
          sy = y;
          sx = w - 1 - x;
          break;
        case 'flipV':
          sy = h - 1 - y;
          sx = x;
          break;
        case 'rotate90': // counter-clockwise
          sy = x;
          sx = w - 1 - y;
          break;
        case 'rotate270': // clockwise
          sy = h - 1 - x;
          sx = y;
          break;
        default:
          sy = h - 1 - y;
          sx = w - 1 - x;
      }
      const s = (sy * w + sx) * c;
      const d = (y * w + x) * c;
      for (let k = 0; k < c; k++) dst[d + k] = src[s + k]!;
    }
  }
  return out;
}

/** Horizontal mirror (torchvision F.hflip = PIL FLIP_LEFT_RIGHT). */
export function flipH(img: RawImage): RawImage {
  checkImage(img, 'flipH');
  const { width: w, height: h, channels: c } = img;
  const src = img.data;
  const out = blankLike(img);
  const dst = out.data;
  const stride = w * c;
  for (let y = 0; y < h; y++) {
    const row = y * stride;
    if (c === 1) {
      for (let x = 0; x < w; x++) dst[row + x] = src[row + w - 1 - x]!;
    } else {
      for (let x = 0; x < w; x++) {
        const s = row + (w - 1 - x) * 3;
        const d = row + x * 3;
        dst[d] = src[s]!;
        dst[d + 1] = src[s + 1]!;
        dst[d + 2] = src[s + 2]!;
      }
    }
  }
  return out;
}

/**
 * Shear along x by `s` (x_in = x + s·y about the top-left corner), as torchvision's RandAugment
 * does it: F.affine(angle=0, translate=[0,0], scale=1, shear=[degrees(atan(s)), 0], center=[0,0]).
 */
export function shearX(img: RawImage, s: number, fill: Fill = 0): RawImage {
  checkImage(img, 'shearX');
  checkFinite(s, 'shear', 'shearX');
  return affine(img, inverseAffineMatrix([0, 0], 0.0, [0, 0], 1.0, [degrees(Math.atan(s)), 0.0]), fill);
}

/** Shear along y by `s`: F.affine(shear=[0, degrees(atan(s))], center=[0,0]) (y_in = y + s·x). */
export function shearY(img: RawImage, s: number, fill: Fill = 0): RawImage {
  checkImage(img, 'shearY');
  checkFinite(s, 'shear', 'shearY');
  return affine(img, inverseAffineMatrix([0, 0], 0.0, [0, 0], 1.0, [0.0, degrees(Math.atan(s))]), fill);
}

/** Translate right by `px` pixels (truncated to an integer, as torchvision's int(magnitude)); negative = left. */
export function translateX(img: RawImage, px: number, fill: Fill = 0): RawImage {
  checkImage(img, 'translateX');
  checkFinite(px, 'px', 'translateX');
  const center: [number, number] = [img.width * 0.5, img.height * 0.5];
  return affine(img, inverseAffineMatrix(center, 0.0, [Math.trunc(px), 0], 1.0, [0.0, 0.0]), fill);
}

/** Translate down by `px` pixels (truncated to an integer); negative = up. */
export function translateY(img: RawImage, px: number, fill: Fill = 0): RawImage {
  checkImage(img, 'translateY');
  checkFinite(px, 'px', 'translateY');
  const center: [number, number] = [img.width * 0.5, img.height * 0.5];
  return affine(img, inverseAffineMatrix(center, 0.0, [0, Math.trunc(px)], 1.0, [0.0, 0.0]), fill);
}

/**
 * Zero-pad by `pad` pixels on every side, then crop a window of the original size whose top-left
 * corner is (dx, dy) in the padded image, dx, dy in 0..2·pad (torchvision RandomCrop(size,
 * padding=pad) with crop origin (i=dy, j=dx)). dx = dy = pad is the identity.
 * out(y, x) = in(y + dy − pad, x + dx − pad), or `fill` outside the input.
 */
export function padCrop(img: RawImage, pad: number, dx: number, dy: number, fill: Fill = 0): RawImage {
  checkImage(img, 'padCrop');
  for (const [name, v] of [
    ['pad', pad],
    ['dx', dx],
    ['dy', dy],
  ] as const) {
    if (!Number.isInteger(v)) throw new RangeError(`padCrop: ${name} must be an integer, got ${v}`);
  }
  if (pad < 0) throw new RangeError(`padCrop: pad must be >= 0, got ${pad}`);
  if (dx < 0 || dx > 2 * pad || dy < 0 || dy > 2 * pad) {
    throw new RangeError(`padCrop: dx, dy must be in 0..${2 * pad} (2·pad), got ${dx}, ${dy}`);
  }
  const { width: w, height: h, channels: c } = img;
  const out = blankLike(img);
  paint(out.data, fillBytes(fill, c, 'padCrop'));
  const ox = dx - pad;
  const oy = dy - pad;
  const x0 = Math.max(0, -ox);
  const x1 = Math.min(w, w - ox);
  if (x1 <= x0) return out;
  for (let y = 0; y < h; y++) {
    const sy = y + oy;
    if (sy < 0 || sy >= h) continue;
    const s = (sy * w + x0 + ox) * c;
    out.data.set(img.data.subarray(s, s + (x1 - x0) * c), (y * w + x0) * c);
  }
  return out;
}
