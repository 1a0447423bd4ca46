/**
 * Faster replacements for some of tfjs-backend-wasm 4.22's own kernels, found
 * slow while profiling conv-net training (times for a 2M-element float tensor,
 * one core):
 *
 * - Identity copies its input (0.1-1 ms per call; the engine clones every
 *   tensor it saves for backprop): we share the buffer (refcount), as the cpu
 *   backend and wasm's own Reshape do.
 * - Cast between equal dtypes copies; bool/int32 -> float32 takes ~10 ms.
 * - Sum/Mean over leading axes (e.g. per-channel sums of NHWC activations)
 *   transpose first: ~13 ms. A flag-free matMul(ones[1,M], x[M,C]) on XNNPACK
 *   does it in ~0.7 ms.
 * - Minimum/Maximum take ~25-33 ms, comparisons ~10 ms: plain JS loops over
 *   the wasm heap do them in ~2 ms.
 * - Transpose / Slice / Reverse run 5-20x slower than a strided copy; 6-D
 *   transposes up to 100x.
 * - BatchMatMul with a transposed operand (every dense layer's backward pass)
 *   runs ~12x slower than without: [720,1280]ᵀ·[720,12] takes 15 ms, a
 *   transpose then a flag-free matMul ~2.5 ms.
 *
 * Everything falls back to the original kernel outside the cases handled.
 */
import * as tf from '@tensorflow/tfjs-core';
import { simdFor, BINARY_OPS, type BinaryOp } from './simd.js';

const WASM = 'wasm';

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: tf.DataId): void;
  disposeData(dataId: tf.DataId): boolean;
}

type Args = Parameters<tf.KernelFunc>[0];
type KernelResult = tf.TensorInfo | tf.TensorInfo[];

const overridden = new Set<string>();

/** Replaces the wasm kernel `name`, keeping its setup/dispose hooks; idempotent. */
export function overrideWasmKernel(name: string, make: (orig: tf.KernelFunc) => (args: Args) => KernelResult): void {
  if (overridden.has(name)) return;
  const orig = tf.getKernel(name, WASM);
  if (orig == null) {
    tf.registerKernel({
      kernelName: name,
      backendName: WASM,
      kernelFunc: make(() => {
        throw new Error(`wasm kernel ${name} has no original implementation to fall back to`);
      }) as tf.KernelFunc,
    });
  } else {
    tf.unregisterKernel(name, WASM);
    tf.registerKernel({
      kernelName: name,
      backendName: WASM,
      kernelFunc: make(orig.kernelFunc) as tf.KernelFunc,
      setupFunc: orig.setupFunc,
      disposeFunc: orig.disposeFunc,
    });
  }
  overridden.add(name);
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const wasm = (args: Args) => args.backend as unknown as WasmBackendLike;

// ---------------------------------------------------------------------------
// Identity / Cast: share buffers instead of copying.

function share(backend: WasmBackendLike, x: tf.TensorInfo): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

function installIdentityCast(): void {
  overrideWasmKernel('Identity', (orig) => (args) => {
    const x = args.inputs['x']!;
    if (x.dtype === 'string') return orig(args);
    return share(wasm(args), x);
  });
  overrideWasmKernel('Cast', (orig) => (args) => {
    const x = args.inputs['x']!;
    const dtype = (args.attrs as unknown as { dtype: tf.DataType }).dtype;
    if (x.dtype === dtype && dtype !== 'string' && dtype !== 'complex64') return share(wasm(args), x);
    if (dtype === 'float32' && (x.dtype === 'bool' || x.dtype === 'int32')) {
      const b = wasm(args);
      const out = b.makeOutput(x.shape, 'float32');
      b.typedArrayFromHeap(out).set(b.typedArrayFromHeap(x));
      return out;
    }
    return orig(args);
  });
}

// ---------------------------------------------------------------------------
// Sum / Mean over leading axes: matMul(ones, x).

function leadingAxes(axis: number | number[] | undefined, rank: number): number {
  const axes = tf.util
    .parseAxisParam(axis ?? (null as unknown as number[]), new Array(rank).fill(1))
    .slice()
    .sort((a, b) => a - b);
  for (let i = 0; i < axes.length; i++) if (axes[i] !== i) return -1;
  return axes.length;
}

function installReductions(): void {
  for (const name of ['Sum', 'Mean'] as const) {
    overrideWasmKernel(name, (orig) => (args) => {
      const x = args.inputs['x']!;
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
      const k = leadingAxes(axis, x.shape.length);
      if (x.dtype !== 'float32' || k < 1 || k >= x.shape.length) return orig(args);
      const outer = sizeOf(x.shape.slice(0, k));
      const rest = x.shape.slice(k);
      const cols = sizeOf(rest);
      if (outer < 2 || cols % 4 !== 0 || cols === 0) return orig(args);
      const be = wasm(args);
      const simd = simdFor(args.backend);
      const out = be.makeOutput(keepDims ? [...new Array(k).fill(1), ...rest] : rest, 'float32');
      const tmp = simd.malloc(cols * 4);
      try {
        simd.colsum(simd.ptr(x), outer, cols, simd.ptr(out), tmp);
      } finally {
        simd.free(tmp);
      }
      if (name === 'Mean') {
        const o = be.typedArrayFromHeap(out) as Float32Array;
        for (let i = 0; i < cols; i++) o[i] = o[i]! / outer;
      }
      return out;
    });
  }
}

// ---------------------------------------------------------------------------
// Elementwise binary ops in JS over the heap, for the simple broadcasting
// patterns: equal shapes, a scalar on either side, a trailing vector
// (shape [C] or [1,..,1,C]) on either side.

type Loop = (A: ArrayLike<number>, B: ArrayLike<number>, O: { [i: number]: number; length: number }, mode: number, inner: number) => void;

function makeLoop(expr: string): Loop {
  // One specialised function per expression keeps V8's loops monomorphic.
  // `expr` comes only from the fixed table below.
  return new Function(
    'A',
    'B',
    'O',
    'mode',
    'inner',
    `
    const n = O.length;
    if (mode === 0) { for (let i = 0; i < n; i++) { const a = A[i], b = B[i]; O[i] = ${expr}; } }
    else if (mode === 1) { const b = B[0]; for (let i = 0; i < n; i++) { const a = A[i]; O[i] = ${expr}; } }
    else if (mode === 2) { const a = A[0]; for (let i = 0; i < n; i++) { const b = B[i]; O[i] = ${expr}; } }
    else if (mode === 3) { for (let i = 0; i < n; i += inner) for (let j = 0; j < inner; j++) { const a = A[i + j], b = B[j]; O[i + j] = ${expr}; } }
    else { for (let i = 0; i < n; i += inner) for (let j = 0; j < inner; j++) { const a = A[j], b = B[i + j]; O[i + j] = ${expr}; } }
  `,
  ) as Loop;
}

const BINARY: Array<[string, string, 'float32' | 'bool']> = [
  ['Minimum', 'Math.min(a, b)', 'float32'],
  ['Maximum', 'Math.max(a, b)', 'float32'],
  ['Greater', 'a > b ? 1 : 0', 'bool'],
  ['GreaterEqual', 'a >= b ? 1 : 0', 'bool'],
  ['Less', 'a < b ? 1 : 0', 'bool'],
  ['LessEqual', 'a <= b ? 1 : 0', 'bool'],
  ['Equal', 'a === b ? 1 : 0', 'bool'],
  ['NotEqual', 'a !== b ? 1 : 0', 'bool'],
];

function isTrailingVector(v: number[], full: number[]): boolean {
  if (v.length === 0 || v.length > full.length) return false;
  const c = v[v.length - 1]!;
  if (c !== full[full.length - 1]) return false;
  for (let i = 0; i < v.length - 1; i++) if (v[i] !== 1) return false;
  return true;
}

function arraysEqual(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function installBinary(): void {
  for (const [name, expr, outDtype] of BINARY) {
    const loop = makeLoop(expr);
    const step = outDtype === 'bool' ? 16 : 4;
    overrideWasmKernel(name, (orig) => (args) => {
      const a = args.inputs['a']!;
      const b = args.inputs['b']!;
      if (a.dtype !== 'float32' || b.dtype !== 'float32') return orig(args);
      const sa = sizeOf(a.shape),
        sb = sizeOf(b.shape);
      let outShape: number[];
      try {
        outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      } catch {
        return orig(args);
      }
      const so = sizeOf(outShape);
      let mode: number;
      let inner = 1;
      if (arraysEqual(a.shape, b.shape)) mode = 0;
      else if (sb === 1 && sa === so) mode = 1;
      else if (sa === 1 && sb === so) mode = 2;
      else if (sa === so && isTrailingVector(b.shape, a.shape)) {
        mode = 3;
        inner = sb;
      } else if (sb === so && isTrailingVector(a.shape, b.shape)) {
        mode = 4;
        inner = sa;
      } else return orig(args);
      const be = wasm(args);
      const out = be.makeOutput(outShape, outDtype);
      if (so === 0) return out;
      const simd = BINARY_OPS[name as BinaryOp] ? simdFor(args.backend) : null;
      let done = 0;
      if (simd) {
        const [pa, pb, po] = [simd.ptr(a), simd.ptr(b), simd.ptr(out)];
        const op = name as BinaryOp;
        if (mode <= 2) {
          const n = so - (so % step);
          const pair = mode === 0 ? ['full', 'full'] : mode === 1 ? ['full', 'splat'] : ['splat', 'full'];
          if (n > 0) simd.binary(op, pair[0] as 'full', pair[1] as 'full', pa, pb, po, 1, n);
          done = n;
        } else if (inner % step === 0) {
          simd.binary(op, mode === 3 ? 'full' : 'vec', mode === 3 ? 'vec' : 'full', pa, pb, po, so / inner, inner);
          done = so;
        }
      }
      if (done < so) {
        const A = be.typedArrayFromHeap(a),
          B = be.typedArrayFromHeap(b),
          O = be.typedArrayFromHeap(out);
        if (done === 0) loop(A, B, O, mode, inner);
        else loop(mode === 2 ? A : A.subarray(done), mode === 1 ? B : B.subarray(done), O.subarray(done), mode, inner);
      }
      return out;
    });
  }
}

// ---------------------------------------------------------------------------
// Transpose / Slice of 4-byte elements as strided copies (the wasm kernels run
// 5-20x slower than a memcpy for the layouts conv backprop uses).

function contiguousStrides(shape: number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i]!;
  }
  return st;
}

/** Output dims as (size, source stride), size-1 dims dropped and mergeable neighbours merged. */
function mergeDims(sizes: number[], srcStrides: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i] === 1) continue;
    const last = out[out.length - 1];
    if (last && last[1] === srcStrides[i]! * sizes[i]!) {
      last[0] *= sizes[i]!;
      last[1] = srcStrides[i]!;
    } else out.push([sizes[i]!, srcStrides[i]!]);
  }
  return out;
}

/** Copies x into a new output of `outShape`, reading element (i0..) at offset + sum(i*srcStride). */
function stridedCopy(args: Args, x: tf.TensorInfo, outShape: number[], offset: number, srcStrides: number[]): tf.TensorInfo | null {
  const dims = mergeDims(outShape, srcStrides);
  const k = dims.length;
  if (k > 4) return null;
  const t = contiguousStrides(dims.map((d) => d[0]));
  let plan: (simd: ReturnType<typeof simdFor>, src: number, dst: number) => void;
  if (k === 0) {
    plan = (simd, src, dst) => simd.copy4(src, dst, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1);
  } else if (k === 1 || dims[k - 1]![1] === 1) {
    const pad = 4 - k;
    const d = [...new Array(pad).fill(1), ...dims.map((v) => v[0])];
    const s = [...new Array(pad).fill(0), ...dims.map((v) => v[1])];
    const tt = [...new Array(pad).fill(0), ...t];
    plan = (simd, src, dst) => simd.copy4(src, dst, d[0], d[1], d[2], d[3], s[0], s[1], s[2], s[3], tt[0], tt[1], tt[2], tt[3]);
  } else {
    // The innermost output dim is strided in the source: a (batched) 2-D
    // transpose whose source columns are the source-contiguous dim kc.
    const kc = dims.findIndex((v) => v[1] === 1);
    const rest = dims.map((_, i) => i).filter((i) => i !== kc && i !== k - 1);
    if (kc < 0 || rest.length > 1) return null;
    const [R, srs] = dims[k - 1]!;
    const C = dims[kc]![0];
    const bI = rest[0];
    const B = bI === undefined ? 1 : dims[bI]![0];
    const sbs = bI === undefined ? 0 : dims[bI]![1];
    const dbs = bI === undefined ? 0 : t[bI]!;
    plan = (simd, src, dst) => simd.transpose2d(src, dst, R, C, srs, t[kc]!, B, sbs, dbs);
  }
  const out = wasm(args).makeOutput(outShape, x.dtype);
  if (sizeOf(outShape) === 0) return out;
  const simd = simdFor(args.backend);
  plan(simd, simd.ptr(x) + offset * 4, simd.ptr(out));
  return out;
}

/**
 * Frugal's own wasm kernel 'FrugalStridedCopy': out (shape `shape`) element
 * (i0,..) = x[offset + sum(i_k * strides[k])] (element strides, may be negative).
 */
export const STRIDED_COPY = 'FrugalStridedCopy';

/** Strided view copy on the wasm backend (see STRIDED_COPY). */
export function stridedCopyOp(x: tf.Tensor, shape: number[], offset: number, strides: number[]): tf.Tensor {
  return tf.engine().runKernel(STRIDED_COPY, { x }, { shape, offset, strides } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** Iteration space `sizes` with source and destination element strides, merged where both allow, size-1 dims dropped. */
function mergeDims2(sizes: number[], ss: number[], ds: number[]): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let i = 0; i < sizes.length; i++) {
    if (sizes[i] === 1) continue;
    const last = out[out.length - 1];
    if (last && last[1] === ss[i]! * sizes[i]! && last[2] === ds[i]! * sizes[i]!) {
      last[0] *= sizes[i]!;
      last[1] = ss[i]!;
      last[2] = ds[i]!;
    } else out.push([sizes[i]!, ss[i]!, ds[i]!]);
  }
  return out;
}

function installPad(): void {
  overrideWasmKernel('PadV2', (orig) => (args) => {
    const x = args.inputs['x']!;
    const { paddings, constantValue } = args.attrs as unknown as { paddings: Array<[number, number]>; constantValue: number };
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || paddings.some(([a, b]) => a < 0 || b < 0)) return orig(args);
    const outShape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
    const ds = contiguousStrides(outShape);
    const dims = mergeDims2(x.shape, contiguousStrides(x.shape), ds);
    if (dims.length > 4) return orig(args);
    const be = wasm(args);
    const out = be.makeOutput(outShape, x.dtype);
    if (sizeOf(outShape) === 0) return out;
    be.typedArrayFromHeap(out).fill(constantValue ?? 0);
    if (sizeOf(x.shape) === 0) return out;
    const simd = simdFor(args.backend);
    const offset = paddings.reduce((acc, [a], i) => acc + a * ds[i]!, 0);
    while (dims.length < 4) dims.unshift([1, 0, 0]);
    simd.copy4(
      simd.ptr(x),
      simd.ptr(out) + offset * 4,
      dims[0]![0],
      dims[1]![0],
      dims[2]![0],
      dims[3]![0],
      dims[0]![1],
      dims[1]![1],
      dims[2]![1],
      dims[3]![1],
      dims[0]![2],
      dims[1]![2],
      dims[2]![2],
      dims[3]![2],
    );
    return out;
  });
}

function installTransposeSlice(): void {
  overrideWasmKernel(STRIDED_COPY, () => (args) => {
    const x = args.inputs['x']!;
    const { shape, offset, strides } = args.attrs as unknown as { shape: number[]; offset: number; strides: number[] };
    const out = stridedCopy(args, x, shape, offset, strides);
    if (out == null) throw new Error(`${STRIDED_COPY}: unsupported layout`);
    return out;
  });
  overrideWasmKernel('Reverse', (orig) => (args) => {
    const x = args.inputs['x']!;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return orig(args);
    const dims = tf.util.parseAxisParam((args.attrs as unknown as { dims: number | number[] }).dims, x.shape);
    const st = contiguousStrides(x.shape);
    let offset = 0;
    const strides = st.map((v, i) => {
      if (!dims.includes(i)) return v;
      offset += (x.shape[i]! - 1) * v;
      return -v;
    });
    return stridedCopy(args, x, x.shape.slice(), offset, strides) ?? orig(args);
  });
  overrideWasmKernel('Transpose', (orig) => (args) => {
    const x = args.inputs['x']!;
    const perm = (args.attrs as unknown as { perm: number[] }).perm;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return orig(args);
    const st = contiguousStrides(x.shape);
    const outShape = perm.map((p) => x.shape[p]!);
    return (
      stridedCopy(
        args,
        x,
        outShape,
        0,
        perm.map((p) => st[p]!),
      ) ?? orig(args)
    );
  });
  overrideWasmKernel('Slice', (orig) => (args) => {
    const x = args.inputs['x']!;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return orig(args);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, sz] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    const st = contiguousStrides(x.shape);
    const offset = b.reduce((acc, v, i) => acc + v * st[i]!, 0);
    return stridedCopy(args, x, sz, offset, st) ?? orig(args);
  });
}

/** BatchMatMul with transposeA/transposeB: transpose the operand (strided copy) and multiply without flags. */
function installMatMul(): void {
  overrideWasmKernel('BatchMatMul', (orig) => (args) => {
    const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const a = args.inputs['a']!;
    const b = args.inputs['b']!;
    if ((!attrs.transposeA && !attrs.transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') return orig(args);
    const transpose = tf.getKernel('Transpose', WASM)!.kernelFunc;
    const flip = (x: tf.TensorInfo) => {
      const perm = x.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
      return transpose({ inputs: { x }, backend: args.backend, attrs: { perm } as unknown as tf.NamedAttrMap }) as tf.TensorInfo;
    };
    const ta = attrs.transposeA ? flip(a) : a;
    const tb = attrs.transposeB ? flip(b) : b;
    try {
      return orig({ ...args, inputs: { a: ta, b: tb }, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    } finally {
      if (ta !== a) wasm(args).disposeData(ta.dataId);
      if (tb !== b) wasm(args).disposeData(tb.dataId);
    }
  });
}

let installed = false;
/** Installs all the replacements above for 'wasm'. Idempotent. */
export function installFastWasmKernels(): void {
  if (installed) return;
  installIdentityCast();
  installReductions();
  installBinary();
  installTransposeSlice();
  installPad();
  installMatMul();
  installed = true;
}
