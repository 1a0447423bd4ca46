/**
 * Frugal's wasm kernels with the wasm heap grown past 2 GiB, vs the cpu
 * backend. Emscripten's `_malloc` returns an i32 that JS sees as negative once
 * the address is >= 2^31; pointers must be read unsigned (`>>> 0`) before they
 * are used as typed-array offsets (a negative byteOffset throws a RangeError,
 * as fine-tuning at 224 px did) or compared.
 *
 * `before` parks an untouched ~2.02 GiB block (the pages are never written,
 * so it costs address space, not RSS) and fills every hole left below 2 GiB,
 * so every later allocation - tensors and the kernels' malloc'd scratch -
 * lands above 2^31. Each test checks that the pointers its kernels saw really
 * were >= 2^31, so it cannot pass silently on a small heap. (Node's test
 * runner gives each file its own process: the grown heap stays here.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { setup, batchNormChain, compareWithCpu, seededTensor } from './helpers.js';
import { simdFor, type Simd } from '../../src/engine/simd.js';

const TWO_GIB = 2 ** 31;
// tfjs-layers calls moments through the CommonJS exports object (patched on wasm).
const T = seededTensor;

let simd: Simd;
let restore: (() => void) | null = null;
const held: number[] = [];
/** Pointers the kernels got from simd.malloc / simd.ptr since the last reset. */
const seen = { malloc: [] as number[], ptr: [] as number[] };

before(async () => {
  await setup();
  await tf.setBackend('wasm');
  simd = simdFor(tf.backend());
  // Record (unchanged) every pointer the kernels see; they share this cached object.
  const { malloc, ptr } = simd;
  simd.malloc = (n) => {
    const p = malloc(n);
    seen.malloc.push(p);
    return p;
  };
  simd.ptr = (t) => {
    const p = ptr(t);
    seen.ptr.push(p);
    return p;
  };
  restore = () => {
    simd.malloc = malloc;
    simd.ptr = ptr;
  };
  // Park a block that ends above 2 GiB, then take every hole left below it
  // (largest sizes first), so allocations from now on come from above 2^31.
  held.push(malloc(TWO_GIB + 2 ** 24));
  for (const bytes of [1 << 20, 1 << 16, 1 << 12, 256, 16, 1]) {
    for (let i = 0; ; i++) {
      const p = malloc(bytes);
      if (p === 0) throw new Error('wasm heap exhausted while filling holes');
      if (p >>> 0 >= TWO_GIB) {
        simd.free(p);
        break;
      }
      held.push(p);
      if (i > 1e6) throw new Error(`too many free ${bytes}-byte chunks below 2 GiB`);
    }
  }
});

after(() => {
  restore?.();
  for (const p of held) simd.free(p);
  held.length = 0;
});

/** Runs check() with pointer recording reset, then asserts what the kernels saw lay above 2 GiB. */
async function aboveTwoGiB(name: string, check: () => Promise<void>, wantScratch = true) {
  seen.malloc.length = 0;
  seen.ptr.length = 0;
  await check();
  assert.ok(seen.ptr.length > 0, `${name}: no Frugal SIMD kernel ran`);
  if (wantScratch) assert.ok(seen.malloc.length > 0, `${name}: no scratch was malloc'd`);
  for (const [what, ps] of Object.entries(seen)) {
    for (const p of ps) assert.ok(p >= TWO_GIB, `${name}: ${what} returned ${p}, expected an unsigned address >= 2^31`);
  }
}

const compare = compareWithCpu;

test('the heap is past 2 GiB: simd.malloc and tensors get unsigned addresses >= 2^31', async () => {
  await tf.setBackend('wasm');
  const be = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } };
  assert.ok(be.wasm.HEAPU8.length > TWO_GIB, `heap is only ${be.wasm.HEAPU8.length} bytes`);
  const p = simd.malloc(64);
  try {
    assert.ok(p >= TWO_GIB && p < 2 ** 32, `simd.malloc returned ${p}`);
    const v = new Float32Array(be.wasm.HEAPU8.buffer, p, 16);
    v.fill(1.5);
    assert.equal(v[15], 1.5);
  } finally {
    simd.free(p);
  }
  const t = tf.zeros([16]);
  try {
    assert.ok(simd.ptr(t) >= TWO_GIB, `tensor at ${simd.ptr(t)}`);
  } finally {
    t.dispose();
  }
});

test("FusedBatchNorm gradient kernel (malloc'd scratch read from JS) above 2 GiB", async () => {
  for (const [shape, withScale] of [
    [[4, 5, 5, 8], true],
    [[2, 14, 14, 32], true],
    [[64, 16], false],
  ] as Array<[number[], boolean]>) {
    const c = shape[shape.length - 1]!;
    const inputs = () => ({
      dy: T(shape, 1),
      x: T(shape, 2, 2, 0.5),
      mean: T([c], 3, 0.1),
      variance: T([c], 4, 0.5, 1),
      scale: withScale ? T([c], 5, 0.5, 1) : undefined,
    });
    const eps = 1e-3;
    // wasm: Frugal's kernel ([dx, dmean, dvariance, dscale, doffset]) directly; cpu: tfjs-core's own gradient.
    const wasmFn = () => {
      const { scale, ...rest } = inputs();
      const ins: tf.NamedTensorMap = scale ? { ...rest, scale } : rest;
      return tf.engine().runKernel('FrugalBatchNormGrad', ins, { varianceEpsilon: eps } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    };
    const cpuFn = () => {
      const { dy, x, mean, variance, scale } = inputs();
      const offset = tf.zeros([c]);
      const gs = tf.grads((xx: tf.Tensor, mm: tf.Tensor, vv: tf.Tensor, ss: tf.Tensor, oo: tf.Tensor) =>
        tf.sum(tf.mul(tf.batchNorm(xx, mm, vv, oo, ss, eps), dy)),
      )([x, mean, variance, scale ?? tf.ones([c]), offset]);
      return gs; // no scale on wasm = a scale of ones on cpu
    };
    await aboveTwoGiB(`bn grad ${shape}`, () => compare(`bn grad ${shape}`, wasmFn, 1e-4, ['FusedBatchNorm'], cpuFn));
  }
});

test('batch-norm training chain above 2 GiB (moments, FusedBatchNorm and its gradient, Relu mask)', async () => {
  for (const shape of [
    [4, 5, 5, 8],
    [64, 16],
    [2, 14, 14, 32],
  ]) {
    const c = shape[shape.length - 1]!;
    const fn = () => {
      const { x, gamma, beta, w, outputs } = batchNormChain(shape);
      // FusedBatchNorm gradient with fixed statistics (no moments on the tape).
      const m = T([c], 5, 0.1),
        v = T([c], 6, 0.5, 1);
      const g2 = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.batchNorm(xx, m, v, bb, gg, 1e-3), w)))([x, gamma, beta]);
      return [...outputs, ...g2];
    };
    await aboveTwoGiB(`bn ${shape}`, () => compare(`bn ${shape}`, fn, 1e-4, ['FusedBatchNorm', 'Relu']));
  }
});

test("depthwise filter gradient (SIMD, malloc'd scratch) and input gradient above 2 GiB", async () => {
  const cases = [
    { n: 2, h: 9, w: 8, c: 8, k: 3, s: 2, pad: 'same' as const },
    { n: 3, h: 7, w: 7, c: 4, k: 3, s: 1, pad: 'valid' as const },
    { n: 2, h: 16, w: 16, c: 32, k: 5, s: 2, pad: 'same' as const },
  ];
  for (const c of cases) {
    const xs: [number, number, number, number] = [c.n, c.h, c.w, c.c];
    const fs: [number, number, number, number] = [c.k, c.k, c.c, 1];
    const dys = tf.backend_util.computeConv2DInfo(xs, fs, c.s, 1, c.pad, undefined, true, 'channelsLast').outShape;
    const attrs = { strides: [c.s, c.s], pad: c.pad, dilations: [1, 1] };
    const engine = tf.engine();
    await aboveTwoGiB(`dw filter ${JSON.stringify(c)}`, () =>
      compare(
        `dw filter ${JSON.stringify(c)}`,
        () =>
          engine.runKernel('DepthwiseConv2dNativeBackpropFilter', { x: T(xs, 5), dy: T(dys, 6) }, {
            ...attrs,
            filterShape: fs,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
        1e-4,
      ),
    );
    if (c.s > 1) {
      await aboveTwoGiB(
        `dw input ${JSON.stringify(c)}`,
        () =>
          compare(
            `dw input ${JSON.stringify(c)}`,
            () =>
              engine.runKernel('DepthwiseConv2dNativeBackpropInput', { dy: T(dys, 7), filter: T(fs, 8) }, {
                ...attrs,
                inputShape: xs,
              } as unknown as tf.NamedAttrMap) as tf.Tensor,
            1e-4,
          ),
        false,
      );
    }
  }
});

test("Sum / Mean over leading axes (column sums with malloc'd scratch) above 2 GiB", async () => {
  for (const [shape, axes] of [
    [
      [64, 9, 9, 8],
      [0, 1, 2],
    ],
    [[5, 7, 12], [0]],
    [[300, 4], [0]],
    [
      [2, 3, 4, 8],
      [0, 1],
    ],
  ] as Array<[number[], number[]]>) {
    for (const keepDims of [false, true]) {
      await aboveTwoGiB(`mean ${shape}`, () => compare(`mean ${shape} ${keepDims}`, () => tf.mean(T(shape, 2), axes, keepDims), 1e-5));
      await aboveTwoGiB(`sum ${shape}`, () => compare(`sum ${shape} ${keepDims}`, () => tf.sum(T(shape, 1), axes, keepDims), 1e-5));
    }
  }
});

test('pointer arithmetic above 2 GiB: slice / reverse / pad / transpose copies, binary ops, conv backprop', async () => {
  await aboveTwoGiB(
    'strided copies',
    () =>
      compare(
        'strided copies',
        () => {
          const x = T([3, 6, 5, 8], 9);
          return [
            tf.slice(x, [1, 2, 1, 0], [2, 3, 3, 8]),
            tf.reverse(x, [1, 2]),
            tf.pad(
              x,
              [
                [0, 0],
                [1, 2],
                [2, 1],
                [0, 0],
              ],
              0.5,
            ),
            tf.transpose(x, [0, 3, 1, 2]),
            tf.maximum(x, T([8], 10)),
            tf.cast(tf.greater(x, tf.scalar(0.1)), 'float32'),
          ];
        },
        1e-6,
      ),
    false,
  );
  const xs: [number, number, number, number] = [2, 11, 10, 8];
  const fs: [number, number, number, number] = [3, 3, 8, 16];
  const attrs = { strides: [2, 2], pad: 'same', dataFormat: 'NHWC' };
  const dys = tf.backend_util.computeConv2DInfo(xs, fs, 2, 1, 'same', undefined, false, 'channelsLast').outShape;
  const engine = tf.engine();
  await aboveTwoGiB(
    'conv filter grad',
    () =>
      compare(
        'conv filter grad',
        () =>
          engine.runKernel('Conv2DBackpropFilter', { x: T(xs, 11), dy: T(dys, 12) }, { ...attrs, filterShape: fs } as unknown as tf.NamedAttrMap) as tf.Tensor,
        1e-4,
      ),
    false,
  );
  await aboveTwoGiB(
    'conv input grad',
    () =>
      compare(
        'conv input grad',
        () =>
          engine.runKernel('Conv2DBackpropInput', { dy: T(dys, 13), filter: T(fs, 14) }, {
            ...attrs,
            inputShape: xs,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
        1e-4,
      ),
    false,
  );
});
