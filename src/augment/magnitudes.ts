/**
 * torchvision's RandAugment / TrivialAugmentWide magnitude tables (num_magnitude_bins = 31) and
 * `applyOp`, which applies one named op at the full strength of a magnitude bin exactly as
 * torchvision's `_apply_op` does on a PIL image.
 *
 * The float tables are the float32 values `torch.linspace` produces (copied from torch 1.13 /
 * torchvision 0.14); translate ranges depend on the image size and are recomputed with the same
 * float32 arithmetic (verified against torch for every size 1..1024).
 */
import type { RawImage } from '../data/image.js';
import { checkImage } from './ops/common.js';
import { autocontrast, equalize } from './ops/histogram.js';
import { brightness, color, contrast, sharpness } from './ops/color.js';
import { flipH, padCrop, rotate, shearX, shearY, translateX, translateY } from './ops/geometry.js';
import { identity, invert, posterize, solarize } from './ops/point.js';
import { cutout } from './ops/erase.js';
import { randomResizedCrop } from './ops/resize.js';

export const NUM_BINS = 31;
export const MAX_BIN = NUM_BINS - 1;

/** Every op `applyOp` knows (CLI names). */
export const OP_NAMES = [
  'identity',
  'autocontrast',
  'equalize',
  'rotate',
  'solarize',
  'color',
  'posterize',
  'contrast',
  'brightness',
  'sharpness',
  'shear-x',
  'shear-y',
  'translate-x',
  'translate-y',
  'flip-h',
  'invert',
  'cutout',
  'random-resized-crop',
  'pad-crop',
] as const;
export type OpName = (typeof OP_NAMES)[number];

/** The 14 ops of torchvision's RandAugment / TrivialAugmentWide, in torchvision's order. */
export const RANDAUGMENT_OPS = [
  'identity',
  'shear-x',
  'shear-y',
  'translate-x',
  'translate-y',
  'rotate',
  'brightness',
  'color',
  'contrast',
  'sharpness',
  'posterize',
  'solarize',
  'autocontrast',
  'equalize',
] as const satisfies readonly OpName[];

/** Ops whose magnitude torchvision negates with probability 1/2. */
export const SIGNED_OPS: ReadonlySet<OpName> = new Set<OpName>([
  'shear-x',
  'shear-y',
  'translate-x',
  'translate-y',
  'rotate',
  'brightness',
  'color',
  'contrast',
  'sharpness',
  'random-resized-crop',
  'pad-crop',
]);

/** Ops without a magnitude (torchvision: `torch.tensor(0.0)`), plus our magnitude-free extras. */
export const MAGNITUDE_FREE_OPS: ReadonlySet<OpName> = new Set<OpName>(['identity', 'autocontrast', 'equalize', 'flip-h', 'invert']);

export type MagnitudeTable = 'randaugment' | 'wide';

const f32 = Math.fround;

/**
 * torch.linspace(start, end, steps) in float32, bit for bit as PyTorch's CPU kernel computes it
 * (AVX2 build): elements in whole 16-element blocks come from Vectorized<float>::arange(base, step)
 * (base + j·step, two roundings), the rest from the scalar lambda, which the compiler contracts to a
 * fused multiply-add (start + step·i, or end − step·(steps − i − 1) past the midpoint).
 * Verified against torch for linspace(0, 150/331·size, 31), size 1..1024, and every stored table.
 */
export function linspaceF32(start: number, end: number, steps: number): number[] {
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (steps - 1));
  const half = Math.floor(steps / 2);
  const out: number[] = [];
  const vecEnd = Math.floor(steps / 16) * 16;
  let i = 0;
  for (; i < vecEnd; i += 8) {
    const base = i < half ? f32(s + f32(step * i)) : f32(e - f32(step * (steps - i - 1)));
    for (let j = 0; j < 8; j++) out.push(f32(base + f32(j * step)));
  }
  // step·k is exact in double for float32 step and small k, so one rounding = the fused multiply-add
  for (; i < steps; i++) out.push(i < half ? f32(s + step * i) : f32(e - step * (steps - i - 1)));
  return out;
}

// float32 values of torch.linspace(0, 0.3, 31) — ShearX/ShearY
const SHEAR_RA = [
  0.0, 0.010000000707805157, 0.020000001415610313, 0.030000001192092896, 0.04000000283122063, 0.05000000447034836, 0.06000000238418579, 0.07000000774860382,
  0.08000000566244125, 0.09000000357627869, 0.10000000894069672, 0.11000000685453415, 0.12000000476837158, 0.1300000101327896, 0.14000001549720764,
  0.15000000596046448, 0.1599999964237213, 0.17000000178813934, 0.18000000715255737, 0.1899999976158142, 0.20000000298023224, 0.21000000834465027,
  0.2199999988079071, 0.23000000417232513, 0.24000000953674316, 0.25, 0.2600000202655792, 0.27000001072883606, 0.2800000011920929, 0.2900000214576721,
  0.30000001192092896,
];
// torch.linspace(0, 0.9, 31) — Brightness/Color/Contrast/Sharpness (factor 1 ± m)
const ENHANCE_RA = [
  0.0, 0.029999999329447746, 0.05999999865889549, 0.08999999612569809, 0.11999999731779099, 0.14999999105930328, 0.17999999225139618, 0.20999999344348907,
  0.23999999463558197, 0.26999998092651367, 0.29999998211860657, 0.32999998331069946, 0.35999998450279236, 0.38999998569488525, 0.41999998688697815,
  0.44999998807907104, 0.47999998927116394, 0.5099999904632568, 0.5399999618530273, 0.5699999928474426, 0.5999999642372131, 0.6299999952316284,
  0.6599999666213989, 0.6899999976158142, 0.7199999690055847, 0.75, 0.7799999713897705, 0.8100000023841858, 0.8399999737739563, 0.8700000047683716,
  0.8999999761581421,
];
// torch.linspace(0, 0.99, 31) — wide shear and enhance
const WIDE_099 = [
  0.0, 0.032999999821186066, 0.06599999964237213, 0.0989999994635582, 0.13199999928474426, 0.16499999165534973, 0.1979999989271164, 0.23100000619888306,
  0.2639999985694885, 0.296999990940094, 0.32999998331069946, 0.3630000054836273, 0.3959999978542328, 0.42899999022483826, 0.4620000123977661,
  0.4950000047683716, 0.527999997138977, 0.5609999895095825, 0.593999981880188, 0.6270000338554382, 0.6600000262260437, 0.6930000185966492, 0.7260000109672546,
  0.7590000033378601, 0.7919999957084656, 0.824999988079071, 0.8580000400543213, 0.8910000324249268, 0.9240000247955322, 0.9570000171661377, 0.9900000095367432,
];
// torch.linspace(0, 32, 31) — wide translate (pixels); float32 values as torch prints them
/* eslint-disable no-loss-of-precision */
const WIDE_TRANSLATE = [
  0.0, 1.0666667222976685, 2.133333444595337, 3.200000286102295, 4.266666889190674, 5.333333492279053, 6.40000057220459, 7.466667175292969, 8.533333778381348,
  9.600000381469727, 10.666666984558105, 11.733333587646484, 12.80000114440918, 13.866666793823242, 14.933334350585938, 16.0, 17.066665649414062,
  18.133333206176758, 19.19999885559082, 20.266666412353516, 21.333332061767578, 22.399999618530273, 23.46666717529297, 24.53333282470703, 25.600000381469727,
  26.66666603088379, 27.733333587646484, 28.799999237060547, 29.866666793823242, 30.933332443237305, 32.0,
];
/* eslint-enable no-loss-of-precision */
const range = (f: (i: number) => number): number[] => Array.from({ length: NUM_BINS }, (_, i) => f(i));
// torch.linspace(0, 30, 31), linspace(0, 135, 31), linspace(255, 0, 31): exact in float32
const ROTATE_RA = range((i) => i);
const ROTATE_WIDE = range((i) => i * 4.5);
const SOLARIZE = range((i) => 255 - i * 8.5);
// 8 - (arange(31) / ((31 - 1) / 4)).round().int()  and  ... / 6 for the wide table
const POSTERIZE_RA = range((i) => 8 - Math.round(i / 7.5));
const POSTERIZE_WIDE = range((i) => 8 - Math.round(i / 5));

/**
 * The unsigned torchvision magnitude of `op` at `bin` for an image of the given size, or null for
 * ops without a magnitude. (For our extra ops cutout / random-resized-crop / pad-crop the value is
 * the strength fraction bin/30.)
 */
export function magnitudeValue(op: OpName, bin: number, height: number, width: number, table: MagnitudeTable = 'randaugment'): number | null {
  checkBin(bin);
  const wide = table === 'wide';
  switch (op) {
    case 'shear-x':
    case 'shear-y':
      return (wide ? WIDE_099 : SHEAR_RA)[bin]!;
    case 'translate-x':
      return wide ? WIDE_TRANSLATE[bin]! : linspaceF32(0.0, (150.0 / 331.0) * width, NUM_BINS)[bin]!;
    case 'translate-y':
      return wide ? WIDE_TRANSLATE[bin]! : linspaceF32(0.0, (150.0 / 331.0) * height, NUM_BINS)[bin]!;
    case 'rotate':
      return (wide ? ROTATE_WIDE : ROTATE_RA)[bin]!;
    case 'brightness':
    case 'color':
    case 'contrast':
    case 'sharpness':
      return (wide ? WIDE_099 : ENHANCE_RA)[bin]!;
    case 'posterize':
      return (wide ? POSTERIZE_WIDE : POSTERIZE_RA)[bin]!;
    case 'solarize':
      return SOLARIZE[bin]!;
    case 'cutout':
    case 'random-resized-crop':
    case 'pad-crop':
      return bin / MAX_BIN;
    default:
      return null;
  }
}

/** The whole 31-bin table of an op (for docs / the CLI). */
export function magnitudeTable(op: OpName, height: number, width: number, table: MagnitudeTable = 'randaugment'): number[] | null {
  if (magnitudeValue(op, 0, height, width, table) === null) return null;
  return range((i) => magnitudeValue(op, i, height, width, table)!);
}

function checkBin(bin: number): void {
  if (!Number.isInteger(bin) || bin < 0 || bin > MAX_BIN) throw new RangeError(`magnitude bin must be an integer 0..${MAX_BIN}, got ${bin}`);
}

export function isOpName(name: string): name is OpName {
  return (OP_NAMES as readonly string[]).includes(name);
}

/** Deterministic parameters of the extra ops at a bin (documented in docs/augment.md). */
export function padFor(height: number, width: number): number {
  return Math.max(1, Math.round(Math.min(height, width) / 8));
}

/**
 * Apply `name` at the full strength of `magnitudeBin` (0..30) with `sign` (+1 / −1; ignored by
 * unsigned ops), exactly as torchvision's `_apply_op` with NEAREST interpolation and fill 0:
 * shear/translate/rotate use ±magnitude; enhance ops use factor 1 ± magnitude; posterize uses
 * int(magnitude) bits; solarize uses the threshold. `table` picks RandAugment's table or
 * TrivialAugmentWide's 'wide' table.
 */
export function applyOp(img: RawImage, name: OpName | string, magnitudeBin: number, sign: number = 1, table: MagnitudeTable = 'randaugment'): RawImage {
  checkImage(img, 'applyOp');
  if (!isOpName(name)) throw new RangeError(`unknown op '${name}' (known: ${OP_NAMES.join(', ')})`);
  if (sign !== 1 && sign !== -1) throw new RangeError(`sign must be +1 or -1, got ${sign}`);
  const mag = magnitudeValue(name, magnitudeBin, img.height, img.width, table);
  const s = SIGNED_OPS.has(name) ? sign : 1;
  const m = mag === null ? 0 : s * mag;
  switch (name) {
    case 'identity':
      return identity(img);
    case 'autocontrast':
      return autocontrast(img);
    case 'equalize':
      return equalize(img);
    case 'invert':
      return invert(img);
    case 'flip-h':
      return flipH(img);
    case 'shear-x':
      return shearX(img, m);
    case 'shear-y':
      return shearY(img, m);
    case 'translate-x':
      return translateX(img, Math.trunc(m));
    case 'translate-y':
      return translateY(img, Math.trunc(m));
    case 'rotate':
      return rotate(img, m);
    case 'brightness':
      return brightness(img, 1.0 + m);
    case 'color':
      return color(img, 1.0 + m);
    case 'contrast':
      return contrast(img, 1.0 + m);
    case 'sharpness':
      return sharpness(img, 1.0 + m);
    case 'posterize':
      return posterize(img, Math.trunc(m));
    case 'solarize':
      return solarize(img, m);
    case 'cutout': {
      // side grows linearly to half the shorter side at bin 30, centred
      const size = Math.round(mag! * 0.5 * Math.min(img.height, img.width));
      return cutout(img, img.width >> 1, img.height >> 1, size);
    }
    case 'random-resized-crop': {
      // centred crop: area fraction from 1 (bin 0) to 0.08 (bin 30), aspect change (4/3)^(±bin/30)
      // relative to the image's own aspect; side lengths rounded and clipped; resized back
      const { height: h, width: w } = img;
      const area = 1 - 0.92 * mag!;
      const ratio = Math.pow(4 / 3, s * mag!);
      const cw = Math.min(w, Math.max(1, Math.round(w * Math.sqrt(area * ratio))));
      const ch = Math.min(h, Math.max(1, Math.round(h * Math.sqrt(area / ratio))));
      return randomResizedCrop(img, { top: (h - ch) >> 1, left: (w - cw) >> 1, height: ch, width: cw }, h, w);
    }
    case 'pad-crop': {
      // pad = max(1, round(min(H, W)/8)); crop window shifted diagonally by ±round(bin/30 · pad)
      const pad = padFor(img.height, img.width);
      const shift = s * Math.round(mag! * pad);
      return padCrop(img, pad, pad + shift, pad + shift);
    }
  }
}
