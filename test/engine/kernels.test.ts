/**
 * Frugal's wasm backward kernels vs the cpu backend's own kernels, on seeded
 * random inputs: strides 1/2, same/valid/explicit padding, odd sizes, batch 1
 * and >1, depth multiplier 1/2, kernel sizes 1/3/5.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { setup, runOn, randomArray, size, relErr } from './helpers.js';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
const TOL = 1e-4;

before(setup);

function outSize(
  inShape: [number, number, number, number],
  fShape: [number, number, number, number],
  s: number,
  pad: Pad,
  depthwise: boolean,
): [number, number, number, number] {
  return tf.backend_util.computeConv2DInfo(inShape, fShape, s, 1, pad, undefined, depthwise, 'channelsLast').outShape;
}

async function compare(kernel: string, inputs: Record<string, { shape: number[]; seed: number }>, attrs: object) {
  const fn = () => {
    const ins: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) ins[k] = tf.tensor(randomArray(size(v.shape), v.seed), v.shape);
    return tf.engine().runKernel(kernel, ins, attrs as tf.NamedAttrMap) as tf.Tensor;
  };
  const before = tf.memory().numTensors;
  const [ref] = await runOn('cpu', fn);
  const [got] = await runOn('wasm', fn);
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  const e = relErr(got!, ref!);
  assert.ok(e <= TOL, `${kernel} ${JSON.stringify(attrs)}: rel err ${e}`);
  return e;
}

interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  s: number;
  pad: Pad;
}
const CONV: ConvCase[] = [
  { n: 1, h: 7, w: 7, ci: 3, co: 4, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 8, w: 8, ci: 3, co: 5, k: 3, s: 2, pad: 'same' },
  { n: 2, h: 9, w: 7, ci: 4, co: 3, k: 3, s: 2, pad: 'valid' },
  {
    n: 3,
    h: 10,
    w: 11,
    ci: 2,
    co: 3,
    k: 3,
    s: 2,
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
  {
    n: 2,
    h: 7,
    w: 6,
    ci: 3,
    co: 2,
    k: 3,
    s: 1,
    pad: [
      [0, 0],
      [4, 0],
      [0, 3],
      [0, 0],
    ],
  },
  { n: 2, h: 9, w: 9, ci: 3, co: 4, k: 3, s: 2, pad: 1 },
  { n: 2, h: 6, w: 6, ci: 5, co: 7, k: 1, s: 1, pad: 'same' },
  { n: 1, h: 5, w: 5, ci: 6, co: 3, k: 1, s: 1, pad: 'valid' },
  { n: 2, h: 7, w: 7, ci: 5, co: 4, k: 1, s: 2, pad: 'valid' },
  { n: 2, h: 8, w: 8, ci: 4, co: 6, k: 1, s: 2, pad: 'same' },
  { n: 1, h: 12, w: 11, ci: 3, co: 2, k: 5, s: 2, pad: 'same' },
  { n: 2, h: 9, w: 9, ci: 2, co: 3, k: 5, s: 1, pad: 'valid' },
  // cout % 8 == 0 takes the SIMD filter-gradient kernel (cin % 4 != 0: 1-wide tiles for the rest)
  { n: 2, h: 11, w: 10, ci: 3, co: 16, k: 3, s: 2, pad: 'same' },
  { n: 2, h: 7, w: 7, ci: 6, co: 8, k: 3, s: 1, pad: 'valid' },
  { n: 2, h: 9, w: 9, ci: 4, co: 8, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 10, w: 9, ci: 8, co: 16, k: 3, s: 2, pad: 'valid' },
  { n: 1, h: 7, w: 7, ci: 4, co: 8, k: 1, s: 1, pad: 'same' },
  {
    n: 3,
    h: 8,
    w: 8,
    ci: 12,
    co: 8,
    k: 5,
    s: 2,
    pad: [
      [0, 0],
      [2, 1],
      [1, 2],
      [0, 0],
    ],
  },
  {
    n: 2,
    h: 6,
    w: 7,
    ci: 4,
    co: 8,
    k: 3,
    s: 1,
    pad: [
      [0, 0],
      [4, 0],
      [0, 3],
      [0, 0],
    ],
  },
  { n: 2, h: 16, w: 16, ci: 8, co: 8, k: 1, s: 2, pad: 'same' },
];

function label(c: object) {
  return JSON.stringify(c).replace(/"/g, '');
}

for (const c of CONV) {
  test(`Conv2DBackpropFilter ${label(c)}`, async () => {
    const xs: [number, number, number, number] = [c.n, c.h, c.w, c.ci];
    const fs: [number, number, number, number] = [c.k, c.k, c.ci, c.co];
    const dys = outSize(xs, fs, c.s, c.pad, false);
    await compare(
      'Conv2DBackpropFilter',
      { x: { shape: xs, seed: 1 }, dy: { shape: dys, seed: 2 } },
      { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC', filterShape: fs },
    );
  });
  test(`Conv2DBackpropInput ${label(c)}`, async () => {
    const xs: [number, number, number, number] = [c.n, c.h, c.w, c.ci];
    const fs: [number, number, number, number] = [c.k, c.k, c.ci, c.co];
    const dys = outSize(xs, fs, c.s, c.pad, false);
    await compare(
      'Conv2DBackpropInput',
      { dy: { shape: dys, seed: 3 }, filter: { shape: fs, seed: 4 } },
      { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC', inputShape: xs },
    );
  });
}

interface DwCase {
  n: number;
  h: number;
  w: number;
  c: number;
  m: number;
  k: number;
  s: number;
  pad: Pad;
}
const DW: DwCase[] = [
  { n: 1, h: 7, w: 7, c: 3, m: 1, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 8, w: 8, c: 4, m: 2, k: 3, s: 2, pad: 'same' },
  { n: 2, h: 9, w: 7, c: 3, m: 1, k: 3, s: 2, pad: 'valid' },
  {
    n: 3,
    h: 10,
    w: 11,
    c: 2,
    m: 2,
    k: 3,
    s: 1,
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
  {
    n: 2,
    h: 11,
    w: 9,
    c: 3,
    m: 1,
    k: 3,
    s: 2,
    pad: [
      [0, 0],
      [0, 1],
      [1, 1],
      [0, 0],
    ],
  },
  { n: 2, h: 6, w: 6, c: 5, m: 1, k: 1, s: 1, pad: 'valid' },
  { n: 2, h: 7, w: 7, c: 3, m: 2, k: 1, s: 2, pad: 'same' },
  { n: 1, h: 11, w: 11, c: 2, m: 2, k: 5, s: 2, pad: 'same' },
  { n: 4, h: 5, w: 5, c: 6, m: 1, k: 3, s: 1, pad: 1 },
  // channel counts divisible by 4 with multiplier 1 take the SIMD path
  { n: 2, h: 9, w: 8, c: 8, m: 1, k: 3, s: 2, pad: 'same' },
  { n: 3, h: 7, w: 7, c: 4, m: 1, k: 3, s: 1, pad: 'valid' },
  {
    n: 1,
    h: 10,
    w: 10,
    c: 12,
    m: 1,
    k: 5,
    s: 2,
    pad: [
      [0, 0],
      [2, 1],
      [1, 2],
      [0, 0],
    ],
  },
  { n: 2, h: 6, w: 5, c: 16, m: 1, k: 1, s: 1, pad: 'same' },
];

for (const c of DW) {
  test(`DepthwiseConv2dNativeBackpropFilter ${label(c)}`, async () => {
    const xs: [number, number, number, number] = [c.n, c.h, c.w, c.c];
    const fs: [number, number, number, number] = [c.k, c.k, c.c, c.m];
    const dys = outSize(xs, fs, c.s, c.pad, true);
    await compare(
      'DepthwiseConv2dNativeBackpropFilter',
      { x: { shape: xs, seed: 5 }, dy: { shape: dys, seed: 6 } },
      { strides: [c.s, c.s], pad: c.pad, dilations: [1, 1], filterShape: fs },
    );
  });
  test(`DepthwiseConv2dNativeBackpropInput ${label(c)}`, async () => {
    const xs: [number, number, number, number] = [c.n, c.h, c.w, c.c];
    const fs: [number, number, number, number] = [c.k, c.k, c.c, c.m];
    const dys = outSize(xs, fs, c.s, c.pad, true);
    await compare(
      'DepthwiseConv2dNativeBackpropInput',
      { dy: { shape: dys, seed: 7 }, filter: { shape: fs, seed: 8 } },
      { strides: [c.s, c.s], pad: c.pad, dilations: [1, 1], inputShape: xs },
    );
  });
}

test('gradients of conv2d / depthwiseConv2d through tf.grads match cpu', async () => {
  const fn = () => {
    const x = tf.tensor4d(randomArray(2 * 9 * 9 * 3, 11), [2, 9, 9, 3]);
    const f1 = tf.tensor4d(randomArray(3 * 3 * 3 * 2, 12), [3, 3, 3, 2]);
    const f2 = tf.tensor4d(randomArray(3 * 3 * 6 * 4, 13), [3, 3, 6, 4]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const y = tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same');
      const z = tf.conv2d(tf.relu(y), c as tf.Tensor4D, 1, 'valid');
      return tf.sum(tf.square(z));
    });
    return g([x, f1, f2]);
  };
  const ref = await runOn('cpu', fn);
  const got = await runOn('wasm', fn);
  for (let i = 0; i < ref.length; i++) assert.ok(relErr(got[i]!, ref[i]!) <= TOL, `grad ${i}: ${relErr(got[i]!, ref[i]!)}`);
});

test('clear errors for NCHW and dilations', async () => {
  await tf.setBackend('wasm');
  const x = tf.zeros([1, 5, 5, 2]);
  const dy = tf.zeros([1, 5, 5, 3]);
  const engine = tf.engine();
  assert.throws(
    () =>
      engine.runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: [1, 1],
        pad: 'same',
        dataFormat: 'NCHW',
        filterShape: [3, 3, 2, 3],
      } as unknown as tf.NamedAttrMap),
    /only dataFormat 'NHWC'/,
  );
  const dy2 = tf.zeros([1, 5, 5, 2]);
  assert.throws(
    () =>
      engine.runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy: dy2 }, {
        strides: [1, 1],
        pad: 'same',
        dilations: [2, 2],
        filterShape: [3, 3, 2, 1],
      } as unknown as tf.NamedAttrMap),
    /dilations must be 1/,
  );
  tf.dispose([x, dy, dy2]);
});
