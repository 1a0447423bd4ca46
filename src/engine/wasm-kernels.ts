/**
 * Training support for the wasm backend: the backprop kernels.
 *
 * tfjs-backend-wasm 4.22 lacks the kernels that conv-net backward passes need
 * (Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter/Input) and its
 * own Conv2DBackpropInput is a slow scalar loop (~15x the forward conv). We
 * register replacements for 'wasm' (after unregistering the built-in one):
 *
 * - Conv2DBackpropFilter: a register-blocked SIMD kernel (./simd.ts) that runs
 *   as fast as XNNPACK's forward conv (when Cout % 8 == 0); otherwise one
 *   XNNPACK conv2d with batch and channels swapped (x^T [Cin,H,W,N] with dy^T
 *   [oh,ow,N,Cout] as the filter, dilated by the stride), or for 1x1/stride 1
 *   one flag-free matMul(x^T, dy). (Those XNNPACK formulations reduce over a
 *   huge K with a huge repacked "filter": 1.5-10x slower than the SIMD kernel.)
 * - Conv2DBackpropInput: stride 1 — XNNPACK conv of dy with the flipped,
 *   in/out-swapped filter; stride > 1 — polyphase: each of the s*s output
 *   phases is a small stride-1 conv with a sub-filter, interleaved by strided
 *   copies (zero-upsampling dy instead does s*s times the work).
 * - Depthwise backprop: SIMD loops (C % 4 == 0, multiplier 1), plain JS loops
 *   otherwise; stride-1 input gradient via XNNPACK's depthwise conv. (The
 *   depthwise-conv-with-dy-as-filter trick has no fast XNNPACK path: ~40x
 *   slower than the forward conv.)
 *
 * A registered kernel may run tf ops inside tf.tidy and return the resulting
 * Tensor: the engine passes Tensor results through unchanged (kernelDepth > 0
 * keeps these inner ops off the gradient tape).
 *
 * Only NHWC and dilation 1 are supported (clear errors otherwise).
 */
import * as tf from '@tensorflow/tfjs-core';
import { installFastWasmKernels, stridedCopyOp } from './wasm-fast.js';
import { simdFor } from './simd.js';
import { patchFusedConv2d } from './patches.js';
import { installTrainingOps, overrideGradient } from './training-ops.js';

type T4 = tf.Tensor4D;
type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Pads4 = [number, number, number, number]; // top, bottom, left, right

const WASM = 'wasm';

function pair(v: number | [number, number] | undefined, name: string): [number, number] {
  if (v == null) return [1, 1];
  if (typeof v === 'number') return [v, v];
  if (v.length !== 2) throw new Error(`${name} must be a number or a pair, got [${v}]`);
  return [v[0], v[1]];
}

function checkNHWC(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernel} (Frugal wasm kernel): only dataFormat 'NHWC' is supported, got '${dataFormat}'`);
  }
}

function checkNoDilation(kernel: string, dilations: number | [number, number] | undefined): void {
  const [a, b] = pair(dilations, 'dilations');
  if (a !== 1 || b !== 1) {
    throw new Error(`${kernel} (Frugal wasm kernel): dilations must be 1, got [${a},${b}]`);
  }
}

/**
 * Stride-1 (optionally dilated) conv2d/depthwiseConv2d with explicit,
 * possibly negative, pads (negative = crop the input on that side).
 */
function convPadded(x: T4, f: T4, pads: Pads4, dil: [number, number], depthwise: boolean): T4 {
  let [pt, pb, pl, pr] = pads;
  if (pt < 0 || pb < 0 || pl < 0 || pr < 0) {
    const [n, h, w, c] = x.shape;
    const t = Math.max(0, -pt),
      b = Math.max(0, -pb),
      l = Math.max(0, -pl),
      r = Math.max(0, -pr);
    x = tf.slice(x, [0, t, l, 0], [n, h - t - b, w - l - r, c]);
    pt = Math.max(pt, 0);
    pb = Math.max(pb, 0);
    pl = Math.max(pl, 0);
    pr = Math.max(pr, 0);
  }
  const pad: Pad =
    pt === 0 && pb === 0 && pl === 0 && pr === 0
      ? 'valid'
      : [
          [0, 0],
          [pt, pb],
          [pl, pr],
          [0, 0],
        ];
  const d: [number, number] = dil;
  return depthwise ? tf.depthwiseConv2d(x, f, 1, pad, 'NHWC', d) : tf.conv2d(x, f, 1, pad, 'NHWC', d);
}

/** Inserts (sh-1) zero rows after every row and (sw-1) zero columns after every column. */
function zeroUpsample(dy: T4, sh: number, sw: number): T4 {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const r = tf.reshape(dy, [n * h, 1, w, 1, c]);
  const p = tf.pad(r, [
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.reshape(p, [n, h * sh, w * sw, c]);
}

// ---------------------------------------------------------------------------
// Pure implementations (tf ops; run on whatever backend is active).

export function conv2dFilterGrad(
  x: T4,
  dy: T4,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  rounding?: Rounding,
): T4 {
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, rounding, false, 'channelsLast');
  const {
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
    outHeight: oh,
    outWidth: ow,
    inChannels: ci,
    outChannels: co,
    inHeight: h,
    inWidth: w,
    batchSize: n,
  } = info;
  const { top, left } = info.padInfo;
  if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0 && oh === h && ow === w) {
    const m = n * h * w;
    const xt = tf.transpose(tf.reshape(x, [m, ci]));
    return tf.reshape(tf.matMul(xt, tf.reshape(dy, [m, co])), [1, 1, ci, co]);
  }
  const xt = tf.transpose(x, [3, 1, 2, 0]); // [Cin, H, W, N]
  const ft = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, N, Cout]
  const pb = kh + (oh - 1) * sh - h - top;
  const pr = kw + (ow - 1) * sw - w - left;
  const r = convPadded(xt, ft, [top, pb, left, pr], [sh, sw], false); // [Cin, kh, kw, Cout]
  return tf.transpose(r, [1, 2, 0, 3]);
}

/** [kh,kw,Cin,Cout] -> spatially flipped [kh,kw,Cout,Cin], one strided copy on wasm. */
function flipTransposeFilter(filter: T4): T4 {
  const [kh, kw, ci, co] = filter.shape;
  if (tf.getBackend() === 'wasm') {
    return stridedCopyOp(filter, [kh, kw, co, ci], ((kh - 1) * kw + kw - 1) * ci * co, [-kw * ci * co, -ci * co, 1, co]) as T4;
  }
  let wf: T4 = filter;
  if (kh > 1 || kw > 1) wf = tf.reverse(wf, [0, 1]);
  return tf.transpose(wf, [0, 1, 3, 2]);
}

/** Register-blocked SIMD filter gradient (cout % 8 == 0). */
export function convFilterGradSimd(
  backend: HeapBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  rounding?: Rounding,
): tf.TensorInfo {
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, rounding, false, 'channelsLast');
  const out = backend.makeOutput(filterShape, 'float32');
  const simd = simdFor(backend);
  // Row blocks of ~128 output positions keep the x/dy rows in L1 across tiles.
  const rb = Math.max(1, Math.min(info.outHeight, Math.round(128 / info.outWidth)));
  simd.convFilterGrad(
    simd.ptr(x),
    simd.ptr(dy),
    simd.ptr(out),
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.outHeight,
    info.outWidth,
    info.padInfo.top,
    info.padInfo.left,
    info.outChannels,
    rb,
  );
  return out;
}

export function conv2dInputGrad(
  inShape: [number, number, number, number],
  dy: T4,
  filter: T4,
  strides: number | [number, number],
  pad: Pad,
  rounding?: Rounding,
): T4 {
  const info = tf.backend_util.computeConv2DInfo(inShape, filter.shape, strides, 1, pad, rounding, false, 'channelsLast');
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = info;
  const { top, left } = info.padInfo;
  const wf = flipTransposeFilter(filter); // [kh, kw, Cout, Cin]
  const d = zeroUpsample(dy, sh, sw);
  const pt = kh - 1 - top,
    pl = kw - 1 - left;
  const pb = h + kh - 1 - d.shape[1] - pt,
    pr = w + kw - 1 - d.shape[2] - pl;
  return convPadded(d, wf, [pt, pb, pl, pr], [1, 1], false);
}

export function depthwiseInputGrad(
  inShape: [number, number, number, number],
  dy: T4,
  filter: T4,
  strides: number | [number, number],
  pad: Pad,
  rounding?: Rounding,
): T4 {
  const info = tf.backend_util.computeConv2DInfo(inShape, filter.shape, strides, 1, pad, rounding, true, 'channelsLast');
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = info;
  const [n, , , c] = inShape;
  const mult = filter.shape[3];
  const { top, left } = info.padInfo;
  let wf: T4 = filter;
  if (kh > 1 || kw > 1) wf = tf.reverse(wf, [0, 1]);
  wf = tf.reshape(wf, [kh, kw, c * mult, 1]);
  const d = zeroUpsample(dy, sh, sw);
  const pt = kh - 1 - top,
    pl = kw - 1 - left;
  const pb = h + kh - 1 - d.shape[1] - pt,
    pr = w + kw - 1 - d.shape[2] - pl;
  const r = convPadded(d, wf, [pt, pb, pl, pr], [1, 1], true); // [N, H, W, C*mult]
  if (mult === 1) return r;
  return tf.reshape(tf.sum(tf.reshape(r, [n, h, w, c, mult]), 4), [n, h, w, c]);
}

// ---------------------------------------------------------------------------
// Depthwise backprop as plain JS loops over the wasm heap. XNNPACK has no fast
// path for a depthwise conv with an oh x ow "filter" (the filter-gradient
// trick runs ~40x slower than the forward conv), and a strided input gradient
// via zero-upsampling wastes 3/4 of its work; direct loops do only the useful
// multiply-adds (~1 ns each).

interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function dwGeometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  rounding?: Rounding,
) {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, rounding, true, 'channelsLast');
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    m: filterShape[3],
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    oh: info.outHeight,
    ow: info.outWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

export function depthwiseFilterGradJS(
  backend: HeapBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  rounding?: Rounding,
): tf.TensorInfo {
  const g = dwGeometry(x.shape as [number, number, number, number], filterShape, strides, pad, rounding);
  const { n, h, w, c, m, kh, kw, sh, sw, oh, ow, top, left } = g;
  const cm = c * m;
  const out = backend.makeOutput([kh, kw, c, m], 'float32');
  if (m === 1 && c % 4 === 0) {
    const simd = simdFor(backend);
    const tmp = simd.malloc(kh * kw * c * 4);
    try {
      simd.dwFilterGrad(simd.ptr(x), simd.ptr(dy), simd.ptr(out), tmp, n, h, w, c, kh, kw, sh, sw, oh, ow, top, left);
    } finally {
      simd.free(tmp);
    }
    return out;
  }
  const X = backend.typedArrayFromHeap(x) as Float32Array;
  const D = backend.typedArrayFromHeap(dy) as Float32Array;
  const acc = new Float64Array(kh * kw * cm);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let a = 0; a < kh; a++) {
        const r = i * sh + a - top;
        if (r < 0 || r >= h) continue;
        for (let j = 0; j < ow; j++) {
          const dOff = ((b * oh + i) * ow + j) * cm;
          for (let e = 0; e < kw; e++) {
            const col = j * sw + e - left;
            if (col < 0 || col >= w) continue;
            const xOff = ((b * h + r) * w + col) * c;
            const wOff = (a * kw + e) * cm;
            if (m === 1) {
              for (let q = 0; q < c; q++) acc[wOff + q] += X[xOff + q]! * D[dOff + q]!;
            } else {
              for (let q = 0; q < c; q++) {
                const xv = X[xOff + q]!;
                const base = q * m;
                for (let t = 0; t < m; t++) acc[wOff + base + t] += xv * D[dOff + base + t]!;
              }
            }
          }
        }
      }
    }
  }
  (backend.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
}

export function depthwiseInputGradJS(
  backend: HeapBackend,
  inShape: [number, number, number, number],
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  strides: number | [number, number],
  pad: Pad,
  rounding?: Rounding,
): tf.TensorInfo {
  const g = dwGeometry(inShape, filter.shape as [number, number, number, number], strides, pad, rounding);
  const { n, h, w, c, m, kh, kw, sh, sw, oh, ow, top, left } = g;
  const cm = c * m;
  const out = backend.makeOutput(inShape, 'float32');
  if (m === 1 && c % 4 === 0) {
    const simd = simdFor(backend);
    simd.dwInputGrad(simd.ptr(out), simd.ptr(dy), simd.ptr(filter), 0, n, h, w, c, kh, kw, sh, sw, oh, ow, top, left);
    return out;
  }
  const O = backend.typedArrayFromHeap(out) as Float32Array;
  const D = backend.typedArrayFromHeap(dy) as Float32Array;
  const F = backend.typedArrayFromHeap(filter) as Float32Array;
  O.fill(0);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let a = 0; a < kh; a++) {
        const r = i * sh + a - top;
        if (r < 0 || r >= h) continue;
        for (let j = 0; j < ow; j++) {
          const dOff = ((b * oh + i) * ow + j) * cm;
          for (let e = 0; e < kw; e++) {
            const col = j * sw + e - left;
            if (col < 0 || col >= w) continue;
            const xOff = ((b * h + r) * w + col) * c;
            const wOff = (a * kw + e) * cm;
            if (m === 1) {
              for (let q = 0; q < c; q++) O[xOff + q] += D[dOff + q]! * F[wOff + q]!;
            } else {
              for (let q = 0; q < c; q++) {
                let s = 0;
                const base = q * m;
                for (let t = 0; t < m; t++) s += D[dOff + base + t]! * F[wOff + base + t]!;
                O[xOff + q] += s;
              }
            }
          }
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Strided conv2d input gradient, polyphase: output rows h = s*p + ph only get
// taps a = a0 + r*s (a0 = (ph + top) mod s), so each of the s*s phases is a
// small stride-1 conv of dy with a sub-filter; the phases are interleaved with
// one transpose. Does exactly the useful multiply-adds (upsampling dy with
// zeros does s*s times more) and never materialises the upsampled dy.

function phaseTaps(k: number, s: number, pad0: number, ph: number): { taps: number[]; c0: number } {
  const a0 = (((ph + pad0) % s) + s) % s;
  const taps: number[] = [];
  for (let a = a0; a < k; a += s) taps.push(a);
  return { taps, c0: (ph + pad0 - a0) / s };
}

export function conv2dInputGradPolyphase(
  inShape: [number, number, number, number],
  dy: T4,
  filter: T4,
  strides: number | [number, number],
  pad: Pad,
  rounding?: Rounding,
): T4 {
  const info = tf.backend_util.computeConv2DInfo(inShape, filter.shape, strides, 1, pad, rounding, false, 'channelsLast');
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = info;
  const [n, , , ci] = inShape;
  const [, oh, ow] = dy.shape;
  const { top, left } = info.padInfo;
  // [kh, kw, Cin, Cout] -> [kh, kw, Cout, Cin] once; sub-filters are strided views of it.
  const wt = tf.transpose(filter, [0, 1, 3, 2]);
  const co = filter.shape[3];
  const phases: Array<{ ph: number; pw: number; t: T4 | null; ch: number; cw: number }> = [];
  for (let ph = 0; ph < Math.min(sh, h); ph++) {
    const ty = phaseTaps(kh, sh, top, ph);
    const ch = Math.ceil((h - ph) / sh);
    for (let pw = 0; pw < Math.min(sw, w); pw++) {
      const tx = phaseTaps(kw, sw, left, pw);
      const cw = Math.ceil((w - pw) / sw);
      if (ty.taps.length === 0 || tx.taps.length === 0) {
        phases.push({ ph, pw, t: null, ch, cw });
        continue;
      }
      // Flipped sub-filter (r' = R-1-r); out[p] = sum_r dy[p + c0 - r] * W[a0 + r*s].
      const ry = ty.taps.length,
        rx = tx.taps.length;
      const lastA = ty.taps[ry - 1]!,
        lastB = tx.taps[rx - 1]!;
      const sub = stridedCopyOp(wt, [ry, rx, co, ci], (lastA * kw + lastB) * co * ci, [-sh * kw * co * ci, -sw * co * ci, ci, 1]) as T4;
      const pt = ty.taps.length - 1 - ty.c0,
        pl = tx.taps.length - 1 - tx.c0;
      const pb = ch - oh - pt + ty.taps.length - 1,
        pr = cw - ow - pl + tx.taps.length - 1;
      phases.push({ ph, pw, t: convPadded(dy, sub, [pt, pb, pl, pr], [1, 1], false), ch, cw });
    }
  }
  // Interleave the phases straight into the output buffer.
  const be = tf.backend() as unknown as HeapBackend;
  const out = be.makeOutput([n, h, w, ci], 'float32');
  const simd = simdFor(be);
  const dst = simd.ptr(out);
  if (phases.some((p) => p.t == null)) (be.typedArrayFromHeap(out) as Float32Array).fill(0);
  for (const p of phases) {
    if (p.t == null) continue;
    simd.copy4(simd.ptr(p.t), dst + (p.ph * w + p.pw) * ci * 4, n, p.ch, p.cw, ci, p.ch * p.cw * ci, p.cw * ci, ci, 1, h * w * ci, sh * w * ci, sw * ci, 1);
  }
  return tf.engine().makeTensorFromTensorInfo(out) as T4;
}

// ---------------------------------------------------------------------------
// Kernel registration.

function asTensor(info: tf.TensorInfo, name: string): T4 {
  if (!(info instanceof tf.Tensor)) {
    throw new Error(`Frugal wasm kernel: input '${name}' is not a Tensor`);
  }
  return info as T4;
}

type Attrs = Record<string, unknown>;

function kernel(fn: (inputs: tf.NamedTensorInfoMap, attrs: Attrs) => tf.Tensor): tf.KernelFunc {
  return ({ inputs, attrs }) => tf.tidy(() => fn(inputs, attrs as unknown as Attrs)) as unknown as tf.TensorInfo;
}

function stridesOf(a: Attrs): [number, number] {
  return pair(a['strides'] as number | [number, number], 'strides');
}

const KERNELS: Array<[string, tf.KernelFunc]> = [
  [
    'Conv2DBackpropFilter',
    ({ inputs, attrs, backend }) => {
      const a = attrs as unknown as Attrs;
      checkNHWC('Conv2DBackpropFilter', a['dataFormat'] as string);
      const fs = a['filterShape'] as [number, number, number, number];
      if (fs[3] % 8 === 0 && inputs['x']!.dtype === 'float32') {
        return convFilterGradSimd(
          backend as unknown as HeapBackend,
          inputs['x']!,
          inputs['dy']!,
          fs,
          a['strides'] as [number, number],
          a['pad'] as Pad,
          a['dimRoundingMode'] as Rounding,
        );
      }
      return tf.tidy(() =>
        conv2dFilterGrad(
          asTensor(inputs['x']!, 'x'),
          asTensor(inputs['dy']!, 'dy'),
          a['filterShape'] as [number, number, number, number],
          a['strides'] as [number, number],
          a['pad'] as Pad,
          a['dimRoundingMode'] as Rounding,
        ),
      ) as unknown as tf.TensorInfo;
    },
  ],
  [
    'Conv2DBackpropInput',
    kernel((inputs, a) => {
      checkNHWC('Conv2DBackpropInput', a['dataFormat'] as string);
      const [sh, sw] = stridesOf(a);
      const impl = sh > 1 || sw > 1 ? conv2dInputGradPolyphase : conv2dInputGrad;
      return impl(
        a['inputShape'] as [number, number, number, number],
        asTensor(inputs['dy']!, 'dy'),
        asTensor(inputs['filter']!, 'filter'),
        a['strides'] as [number, number],
        a['pad'] as Pad,
        a['dimRoundingMode'] as Rounding,
      );
    }),
  ],
  [
    'DepthwiseConv2dNativeBackpropFilter',
    ({ inputs, attrs, backend }) => {
      const a = attrs as unknown as Attrs;
      checkNoDilation('DepthwiseConv2dNativeBackpropFilter', a['dilations'] as [number, number]);
      return depthwiseFilterGradJS(
        backend as unknown as HeapBackend,
        inputs['x']!,
        inputs['dy']!,
        a['filterShape'] as [number, number, number, number],
        a['strides'] as [number, number],
        a['pad'] as Pad,
        a['dimRoundingMode'] as Rounding,
      );
    },
  ],
  [
    'DepthwiseConv2dNativeBackpropInput',
    ({ inputs, attrs, backend }) => {
      const a = attrs as unknown as Attrs;
      checkNoDilation('DepthwiseConv2dNativeBackpropInput', a['dilations'] as [number, number]);
      const [sh, sw] = stridesOf(a);
      if (sh > 1 || sw > 1) {
        return depthwiseInputGradJS(
          backend as unknown as HeapBackend,
          a['inputShape'] as [number, number, number, number],
          inputs['dy']!,
          inputs['filter']!,
          a['strides'] as [number, number],
          a['pad'] as Pad,
          a['dimRoundingMode'] as Rounding,
        );
      }
      // Stride 1: XNNPACK's depthwise conv with the flipped filter is faster than JS.
      return tf.tidy(() =>
        depthwiseInputGrad(
          a['inputShape'] as [number, number, number, number],
          asTensor(inputs['dy']!, 'dy'),
          asTensor(inputs['filter']!, 'filter'),
          a['strides'] as [number, number],
          a['pad'] as Pad,
          a['dimRoundingMode'] as Rounding,
        ),
      ) as unknown as tf.TensorInfo;
    },
  ],
];

/** Names of the wasm kernels Frugal registers (replacing any built-in one). */
export const FRUGAL_WASM_KERNELS: readonly string[] = KERNELS.map(([n]) => n);

let installed = false;

/**
 * Registers Frugal's wasm training kernels and gradient overrides. Idempotent.
 * Safe to call before or after the wasm backend is initialised.
 */
export function installTrainingKernels(): void {
  if (installed) return;
  for (const [name, fn] of KERNELS) {
    if (tf.getKernel(name, WASM) != null) tf.unregisterKernel(name, WASM);
    tf.registerKernel({ kernelName: name, backendName: WASM, kernelFunc: fn });
  }
  installFastWasmKernels();
  installTrainingOps();
  installGradients();
  patchFusedConv2d();
  installed = true;
}

// ---------------------------------------------------------------------------
// Gradient overrides (global: gradients are backend independent).

/** Broadcasts dy (the reduced shape) back over x's shape without materialising ones(x.shape) via makeTensor. */
function reductionGrad(scaleByCount: boolean): tf.GradConfig['gradFunc'] {
  return (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const g = dy as tf.Tensor;
    const [x] = saved as [tf.Tensor];
    const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
    const keep = x.shape.slice();
    let count = 1;
    for (const a of axes) {
      keep[a] = 1;
      count *= x.shape[a]!;
    }
    return {
      x: () => tf.mul(tf.reshape(g, keep), tf.fill(x.shape, scaleByCount ? 1 / count : 1)),
    };
  };
}

function installGradients(): void {
  overrideGradient({ kernelName: 'Mean', inputsToSave: ['x'], gradFunc: reductionGrad(true) });
  overrideGradient({ kernelName: 'Sum', inputsToSave: ['x'], gradFunc: reductionGrad(false) });
}
