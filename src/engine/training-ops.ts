/**
 * Fused per-channel ops for the training hot path on wasm: batch-norm forward
 * and backward, batch moments, and ReLU / min-max-clip masks.
 *
 * tfjs-layers' BatchNormalization (training) computes tf.moments (mean, then
 * mean of squared deviations) and tf.batchNorm; their forward and backward
 * graphs take ~22 passes over each activation tensor on wasm. With the SIMD
 * kernels below it takes ~7:
 *   forward : moments 2 passes (column sums), batch-norm 1 (per-channel affine)
 *   backward: one pass for both per-channel sums, dx of batch-norm 1, dx of
 *             moments 1, the tape's add 1.
 *
 * Gradient overrides registered here (global; on backends other than wasm, or
 * layouts the SIMD kernels do not handle, they compute exactly what tfjs-core's
 * own gradients compute):
 *   FusedBatchNorm (broadcasting instead of tile), Relu, ClipByValue, Minimum, Maximum.
 * One deliberate difference: where x is NaN, the ReLU/clip/Minimum/Maximum masks
 * give 0 instead of NaN.
 *
 * tf.moments is replaced on tfjs-core's CommonJS export object (which is what
 * tfjs-layers calls through) by the two-output kernel 'FrugalMoments' (with a
 * registered gradient), on wasm only. All the small per-channel arithmetic
 * happens in JS inside the kernels, so a batch-norm layer costs ~6 tf ops
 * instead of ~50 (each op has ~20-40 us of engine overhead).
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { simdFor, type MaskCmp } from './simd.js';
import { overrideWasmKernel, type WasmBackendLike } from './wasm-fast.js';

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const onWasm = () => tf.getBackend() === 'wasm';

/** True when t is [.., C] float32 with C % 4 == 0 and v (if given) holds exactly C values along the last axis. */
function channelsOk(t: tf.TensorInfo, ...vs: Array<tf.TensorInfo | undefined>): boolean {
  if (t.dtype !== 'float32' || t.shape.length < 2) return false;
  const c = t.shape[t.shape.length - 1]!;
  if (c % 4 !== 0 || c === 0) return false;
  return vs.every(
    (v) => v == null || (v.dtype === 'float32' && sizeOf(v.shape) === c && v.shape.slice(0, -1).every((d) => d === 1) && v.shape[v.shape.length - 1] === c),
  );
}

// ---------------------------------------------------------------------------
// wasm kernels

const K_BN_GRAD = 'FrugalBatchNormGrad';
const K_MOMENTS = 'FrugalMoments';
const K_MOMENTS_GRAD = 'FrugalMomentsGrad';
const K_AFFINE = 'FrugalChannelAffine';
const K_MASK = 'FrugalMaskedCopy';

function installKernels(): void {
  // Batch-norm backward, all five gradients in one go:
  // [dx, dmean, dvariance, dscale, doffset] (the last four [C]).
  overrideWasmKernel(K_BN_GRAD, () => (args) => {
    const { dy, x, mean, variance, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const eps = (args.attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
    const c = x!.shape[x!.shape.length - 1]!;
    const rows = sizeOf(x!.shape) / c;
    const be = args.backend as unknown as WasmBackendLike;
    const simd = simdFor(args.backend);
    const outs = [be.makeOutput(x!.shape, 'float32'), ...[0, 1, 2, 3].map(() => be.makeOutput([c], 'float32'))];
    const scratch = simd.malloc(5 * c * 4); // sums (2c) | tmp (2c) -> reused: gain (c), zeros (c)
    try {
      simd.bnGradSums(simd.ptr(dy!), simd.ptr(x!), simd.ptr(mean!), rows, c, scratch, scratch + 2 * c * 4);
      const heap = (ptr: number, n: number) => new Float32Array((be.typedArrayFromHeap(outs[1]!) as Float32Array).buffer, ptr, n);
      const sums = heap(scratch, 2 * c);
      const V = be.typedArrayFromHeap(variance!) as Float32Array;
      const S = scale ? (be.typedArrayFromHeap(scale) as Float32Array) : null;
      const dm = be.typedArrayFromHeap(outs[1]!) as Float32Array,
        dv = be.typedArrayFromHeap(outs[2]!) as Float32Array;
      const ds = be.typedArrayFromHeap(outs[3]!) as Float32Array,
        dof = be.typedArrayFromHeap(outs[4]!) as Float32Array;
      const gain = heap(scratch + 2 * c * 4, c),
        zeros = heap(scratch + 3 * c * 4, c);
      for (let i = 0; i < c; i++) {
        const rstd = 1 / Math.sqrt(V[i]! + eps);
        const gn = S ? rstd * S[i]! : rstd;
        const sDy = sums[i]!,
          sDyXc = sums[c + i]!;
        dm[i] = -gn * sDy;
        dv[i] = -0.5 * rstd * rstd * gn * sDyXc;
        ds[i] = rstd * sDyXc;
        dof[i] = sDy;
        gain[i] = gn;
        zeros[i] = 0;
      }
      const z = scratch + 3 * c * 4;
      simd.channelAffine(simd.ptr(dy!), z, scratch + 2 * c * 4, z, rows, c, simd.ptr(outs[0]!));
    } finally {
      simd.free(scratch);
    }
    return outs;
  });
  // [mean, variance] over all but the last axis (biased variance, two passes).
  overrideWasmKernel(K_MOMENTS, () => (args) => {
    const x = args.inputs['x']!;
    const c = x.shape[x.shape.length - 1]!;
    const rows = sizeOf(x.shape) / c;
    const be = args.backend as unknown as WasmBackendLike;
    const simd = simdFor(args.backend);
    const mean = be.makeOutput([c], 'float32');
    const variance = be.makeOutput([c], 'float32');
    const tmp = simd.malloc(c * 4);
    try {
      simd.colsum(simd.ptr(x), rows, c, simd.ptr(mean), tmp);
      const m = be.typedArrayFromHeap(mean) as Float32Array;
      for (let i = 0; i < c; i++) m[i] = m[i]! / rows;
      simd.sqDevSum(simd.ptr(x), 0, simd.ptr(mean), rows, c, simd.ptr(variance), tmp);
      const v = be.typedArrayFromHeap(variance) as Float32Array;
      for (let i = 0; i < c; i++) v[i] = v[i]! / rows;
    } finally {
      simd.free(tmp);
    }
    return [mean, variance];
  });
  // d/dx of the moments: dmean / n + dvar * 2 (x - mean) / n.
  overrideWasmKernel(K_MOMENTS_GRAD, () => (args) => {
    const { x, mean, dmean, dvar } = args.inputs as Record<string, tf.TensorInfo>;
    const c = x!.shape[x!.shape.length - 1]!;
    const rows = sizeOf(x!.shape) / c;
    const be = args.backend as unknown as WasmBackendLike;
    const simd = simdFor(args.backend);
    const out = be.makeOutput(x!.shape, 'float32');
    const scratch = simd.malloc(2 * c * 4);
    try {
      const buf = (be.typedArrayFromHeap(out) as Float32Array).buffer;
      const ab = new Float32Array(buf, scratch, 2 * c);
      const dm = be.typedArrayFromHeap(dmean!) as Float32Array,
        dv = be.typedArrayFromHeap(dvar!) as Float32Array;
      for (let i = 0; i < c; i++) {
        ab[i] = (2 * dv[i]!) / rows;
        ab[c + i] = dm[i]! / rows;
      }
      simd.channelAffine(simd.ptr(x!), simd.ptr(mean!), scratch, scratch + c * 4, rows, c, simd.ptr(out));
    } finally {
      simd.free(scratch);
    }
    return out;
  });
  // (x - m) * a + b with per-channel m, a, b.
  overrideWasmKernel(K_AFFINE, () => (args) => {
    const { x, m, a, b } = args.inputs as Record<string, tf.TensorInfo>;
    const c = x!.shape[x!.shape.length - 1]!;
    const be = args.backend as unknown as WasmBackendLike;
    const simd = simdFor(args.backend);
    const out = be.makeOutput(x!.shape, 'float32');
    simd.channelAffine(simd.ptr(x!), simd.ptr(m!), simd.ptr(a!), simd.ptr(b!), sizeOf(x!.shape) / c, c, simd.ptr(out));
    return out;
  });
  // cmp(x, s) ? dy : 0
  overrideWasmKernel(K_MASK, () => (args) => {
    const { dy, x } = args.inputs as Record<string, tf.TensorInfo>;
    const { cmp, s } = args.attrs as unknown as { cmp: MaskCmp; s: number };
    const be = args.backend as unknown as WasmBackendLike;
    const simd = simdFor(args.backend);
    const n = sizeOf(x!.shape);
    const out = be.makeOutput(x!.shape, 'float32');
    const n4 = n - (n % 4);
    if (n4 > 0) simd.maskedCopy(cmp, simd.ptr(dy!), simd.ptr(x!), n4, s, simd.ptr(out));
    if (n4 < n) {
      const D = be.typedArrayFromHeap(dy!),
        X = be.typedArrayFromHeap(x!),
        O = be.typedArrayFromHeap(out);
      for (let i = n4; i < n; i++) {
        const v = X[i]!;
        const keep = cmp === 'gt' ? v > s : cmp === 'ge' ? v >= s : cmp === 'lt' ? v < s : v <= s;
        O[i] = keep ? D[i]! : 0;
      }
    }
    return out;
  });
  // Batch-norm forward: one pass.
  overrideWasmKernel('FusedBatchNorm', (orig) => (args) => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const eps = (args.attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
    const all = [x, mean, variance, offset, scale].filter((t) => t != null) as tf.TensorInfo[];
    if (!all.every((t) => t instanceof tf.Tensor)) return orig(args);
    if (channelsOk(x!, mean, variance, offset, scale)) {
      const c = x!.shape[x!.shape.length - 1]!;
      const be = args.backend as unknown as WasmBackendLike;
      const simd = simdFor(args.backend);
      const out = be.makeOutput(x!.shape, 'float32');
      const scratch = simd.malloc(2 * c * 4);
      try {
        const ab = new Float32Array((be.typedArrayFromHeap(out) as Float32Array).buffer, scratch, 2 * c);
        const V = be.typedArrayFromHeap(variance!) as Float32Array;
        const S = scale ? (be.typedArrayFromHeap(scale) as Float32Array) : null;
        const O = offset ? (be.typedArrayFromHeap(offset) as Float32Array) : null;
        for (let i = 0; i < c; i++) {
          const rstd = 1 / Math.sqrt(V[i]! + eps);
          ab[i] = S ? rstd * S[i]! : rstd;
          ab[c + i] = O ? O[i]! : 0;
        }
        simd.channelAffine(simd.ptr(x!), simd.ptr(mean!), scratch, scratch + c * 4, sizeOf(x!.shape) / c, c, simd.ptr(out));
      } finally {
        simd.free(scratch);
      }
      return out;
    }
    // General layouts: three broadcasting ops (still ~4x faster than wasm's own kernel).
    return tf.tidy(() => {
      let g: tf.Tensor = tf.rsqrt(tf.add(variance as tf.Tensor, tf.scalar(eps)));
      if (scale != null) g = tf.mul(g, scale as tf.Tensor);
      let y = tf.mul(tf.sub(x as tf.Tensor, mean as tf.Tensor), g);
      if (offset != null) y = tf.add(y, offset as tf.Tensor);
      return y;
    }) as unknown as tf.TensorInfo;
  });
}

// ---------------------------------------------------------------------------
// ops (fast on wasm, plain tf elsewhere)

function channelAffine(x: tf.Tensor, m: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (onWasm() && channelsOk(x, m, a, b)) {
    const c = x.shape[x.shape.length - 1]!;
    return tf.engine().runKernel(K_AFFINE, {
      x,
      m: tf.reshape(m, [c]),
      a: tf.reshape(a, [c]),
      b: tf.reshape(b, [c]),
    }) as tf.Tensor;
  }
  return tf.add(tf.mul(tf.sub(x, m), a), b);
}

/** dy where cmp(x, s) else 0. */
function maskedGrad(dy: tf.Tensor, x: tf.Tensor, cmp: MaskCmp, s: number): tf.Tensor {
  if (onWasm() && x.dtype === 'float32' && dy.dtype === 'float32' && tf.util.arraysEqual(dy.shape, x.shape)) {
    return tf.engine().runKernel(K_MASK, { dy, x }, { cmp, s } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  const sc = tf.scalar(s);
  const mask = cmp === 'gt' ? tf.greater(x, sc) : cmp === 'ge' ? tf.greaterEqual(x, sc) : cmp === 'lt' ? tf.less(x, sc) : tf.lessEqual(x, sc);
  return tf.mul(dy, tf.cast(mask, 'float32'));
}

// ---------------------------------------------------------------------------
// gradients

/** The gradient configs that were registered before Frugal replaced them. */
export const originalGradients: Map<string, tf.GradConfig> = new Map();

export function overrideGradient(config: tf.GradConfig): void {
  const prev = tf.getGradient(config.kernelName);
  if (prev && !originalGradients.has(config.kernelName)) originalGradients.set(config.kernelName, prev);
  tf.registerGradient(config);
}

function fallback(name: string, dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) {
  const o = originalGradients.get(name);
  if (!o) throw new Error(`no original gradient for ${name}`);
  return o.gradFunc(dy, saved, attrs);
}

function scalarValue(t: tf.Tensor): number | null {
  if (t.size !== 1 || t.dtype !== 'float32') return null;
  const v = t.dataSync()[0]!;
  return Number.isNaN(v) ? null : v;
}

/** Minimum/Maximum: masks for a full-size operand against a scalar one; tfjs-core's gradient otherwise. */
function minMaxGrad(name: 'Minimum' | 'Maximum'): tf.GradConfig['gradFunc'] {
  return (dy, saved, attrs) => {
    const g = dy as tf.Tensor;
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const orig = () => fallback(name, dy, saved, attrs);
    if (!onWasm()) return orig();
    const full = (t: tf.Tensor) => tf.util.arraysEqual(t.shape, g.shape);
    const res: Record<string, () => tf.Tensor> = {};
    const o = orig() as Record<string, () => tf.Tensor>;
    // derA = dy * (a <= b) for Minimum, (a >= b) for Maximum; derB = dy * (a > b) / (a < b).
    const sb = full(a) ? scalarValue(b) : null;
    const sa = full(b) ? scalarValue(a) : null;
    res['a'] = sb != null ? () => maskedGrad(g, a, name === 'Minimum' ? 'le' : 'ge', sb) : o['a']!;
    res['b'] = sa != null ? () => maskedGrad(g, b, name === 'Minimum' ? 'lt' : 'gt', sa) : o['b']!;
    return res;
  };
}

function installGradients(): void {
  overrideGradient({
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const g = dy as tf.Tensor;
      const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      if (onWasm() && channelsOk(x, mean, variance, scale) && tf.util.arraysEqual(g.shape, x.shape)) {
        const inputs: tf.NamedTensorMap = { dy: g, x, mean, variance };
        if (scale != null) inputs['scale'] = scale;
        const [dx, dm, dv, ds, dof] = tf.engine().runKernel(K_BN_GRAD, inputs, { varianceEpsilon } as unknown as tf.NamedAttrMap) as tf.Tensor[];
        const as = (t: tf.Tensor) => (tf.util.arraysEqual(t.shape, mean.shape) ? t : tf.reshape(t, mean.shape));
        return { x: () => dx!, mean: () => as(dm!), variance: () => as(dv!), scale: () => as(ds!), offset: () => as(dof!) };
      }
      const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
      // Per-channel quantities, computed once for all five gradients.
      const [rstd, gain, sumDy, sumDyXc] = tf.tidy(() => {
        const rs = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
        const gn = scale == null ? rs : tf.mul(rs, scale);
        const reduce = (t: tf.Tensor): tf.Tensor => (axes.length > 0 ? tf.reshape(tf.sum(t, axes, true), mean.shape) : t);
        return [rs, gn, reduce(g), reduce(tf.mul(g, tf.sub(x, mean)))];
      });
      return {
        x: () => tf.mul(g, gain),
        mean: () => tf.reshape(tf.neg(tf.mul(gain, sumDy)), mean.shape),
        variance: () => tf.reshape(tf.mul(tf.mul(tf.mul(tf.mul(rstd, rstd), gain), tf.scalar(-0.5)), sumDyXc), mean.shape),
        scale: () => tf.reshape(tf.mul(rstd, sumDyXc), mean.shape),
        offset: () => tf.reshape(sumDy, mean.shape),
      };
    },
  });
  overrideGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      if (!onWasm()) return fallback('Relu', dy, saved, attrs);
      return { x: () => maskedGrad(dy as tf.Tensor, x, 'gt', 0) };
    },
  });
  // tfjs-layers' ReLU layer with a maximum (ReLU6: 35 layers of the built-in trunk) is clipByValue(relu(x), 0, max);
  // tfjs-core's gradient, where(logicalAnd(x >= min, x <= max), dy, zerosLike(dy)), took 40% of a training step.
  overrideGradient({
    kernelName: 'ClipByValue',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      if (!onWasm()) return fallback('ClipByValue', dy, saved, attrs);
      const { clipValueMin, clipValueMax } = attrs as unknown as { clipValueMin: number; clipValueMax: number };
      return { x: () => tf.tidy(() => maskedGrad(maskedGrad(dy as tf.Tensor, x, 'ge', clipValueMin), x, 'le', clipValueMax)) };
    },
  });
  overrideGradient({ kernelName: 'Minimum', inputsToSave: ['a', 'b'], gradFunc: minMaxGrad('Minimum') });
  overrideGradient({ kernelName: 'Maximum', inputsToSave: ['a', 'b'], gradFunc: minMaxGrad('Maximum') });
}

// ---------------------------------------------------------------------------
// tf.moments for tfjs-layers' BatchNormalization

type MomentsFn = (x: tf.Tensor | tf.TensorLike, axis?: number | number[], keepDims?: boolean) => { mean: tf.Tensor; variance: tf.Tensor };

/** Mean and variance over all axes but the last: one kernel forward, one backward (wasm, C % 4 == 0). */
function fastMoments(x: tf.Tensor, keepDims: boolean): { mean: tf.Tensor; variance: tf.Tensor } {
  const [mean, variance] = tf.engine().runKernel(K_MOMENTS, { x }) as tf.Tensor[];
  if (!keepDims) return { mean: mean!, variance: variance! };
  const shape = [...new Array(x.rank - 1).fill(1), x.shape[x.rank - 1]!];
  return tf.tidy(() => ({ mean: tf.reshape(mean!, shape), variance: tf.reshape(variance!, shape) }));
}

function installMomentsGradient(): void {
  tf.registerGradient({
    kernelName: K_MOMENTS,
    inputsToSave: ['x'],
    outputsToSave: [true, false],
    gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [dmean, dvar] = dys as tf.Tensor[];
      const [x, mean] = saved as [tf.Tensor, tf.Tensor];
      return { x: () => tf.engine().runKernel(K_MOMENTS_GRAD, { x, mean, dmean: dmean!, dvar: dvar! }) as tf.Tensor };
    },
  });
}

let patchedMoments = false;
function patchMoments(): void {
  if (patchedMoments) return;
  const core = createRequire(import.meta.url)('@tensorflow/tfjs-core') as { moments: MomentsFn };
  const original = core.moments;
  core.moments = (x, axis, keepDims = false) => {
    if (!onWasm() || !(x instanceof tf.Tensor) || !channelsOk(x) || x.size / x.shape[x.rank - 1]! < 2) {
      return original(x, axis, keepDims);
    }
    const axes = tf.util
      .parseAxisParam(axis ?? (null as unknown as number[]), x.shape)
      .slice()
      .sort((p, q) => p - q);
    if (axes.length !== x.rank - 1 || axes.some((v, i) => v !== i)) return original(x, axis, keepDims);
    return fastMoments(x, keepDims);
  };
  patchedMoments = true;
}

let installed = false;
export function installTrainingOps(): void {
  if (installed) return;
  installKernels();
  installGradients();
  installMomentsGradient();
  patchMoments();
  installed = true;
}

/** Exposed for tests: the moments implementation used for tfjs-layers on wasm. */
export const _internals = { fastMoments, channelAffine, maskedGrad };
