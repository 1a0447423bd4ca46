/**
 * Frugal's replacements of tfjs-backend-wasm kernels (src/engine/wasm-fast.ts)
 * vs the cpu backend: Sum/Mean, Min/Max/comparisons, Identity/Cast,
 * FusedBatchNorm, Slice.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { setup, runOn, randomArray, size, relErr } from './helpers.js';

before(setup);

const T = (shape: number[], seed: number) => tf.tensor(randomArray(size(shape), seed), shape);

async function same(name: string, fn: () => tf.Tensor | tf.Tensor[], tol = 1e-5) {
  const before = tf.memory().numTensors;
  const ref = await runOn('cpu', fn);
  const got = await runOn('wasm', fn);
  assert.equal(tf.memory().numTensors, before, `${name}: tensor leak`);
  assert.equal(got.length, ref.length);
  for (let i = 0; i < ref.length; i++) {
    const g = Float32Array.from(got[i]!),
      r = Float32Array.from(ref[i]!);
    for (let k = 0; k < r.length; k++) {
      assert.equal(Number.isNaN(g[k]), Number.isNaN(r[k]), `${name}[${i}]: NaN mismatch at ${k}`);
      if (Number.isNaN(r[k])) {
        g[k] = 0;
        r[k] = 0;
      }
    }
    const e = relErr(g, r);
    assert.ok(e <= tol, `${name}[${i}]: rel err ${e}`);
  }
}

test('Sum/Mean over leading axes and others, keepDims', async () => {
  for (const [shape, axes] of [
    [
      [64, 9, 9, 8],
      [0, 1, 2],
    ],
    [[5, 7, 12], [0]],
    [
      [5, 7, 12],
      [0, 1],
    ],
    [
      [3, 4, 6],
      [0, 1],
    ],
    [
      [4, 5, 6, 3],
      [0, 1, 2],
    ],
    [[6, 8], 0],
    [[6, 8], [1]],
    [
      [2, 3, 4, 8],
      [1, 2],
    ],
    [
      [2, 3, 4, 8],
      [0, 1, 2, 3],
    ],
    [[300, 4], [0]],
  ] as Array<[number[], number | number[]]>) {
    for (const keepDims of [false, true]) {
      await same(`sum ${shape} ${axes} ${keepDims}`, () => tf.sum(T(shape, 1), axes, keepDims));
      await same(`mean ${shape} ${axes} ${keepDims}`, () => tf.mean(T(shape, 2), axes, keepDims));
    }
  }
});

test('Minimum/Maximum/comparisons: equal shapes, scalars, trailing vectors, tails', async () => {
  const ops: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
    ['minimum', tf.minimum],
    ['maximum', tf.maximum],
    ['greater', tf.greater],
    ['greaterEqual', tf.greaterEqual],
    ['less', tf.less],
    ['lessEqual', tf.lessEqual],
    ['equal', tf.equal],
    ['notEqual', tf.notEqual],
  ];
  const cases: Array<[number[], number[]]> = [
    [
      [2, 5, 5, 8],
      [2, 5, 5, 8],
    ],
    [[37], [37]],
    [[3, 7, 5], []],
    [[], [3, 7, 5]],
    [[4, 4, 16], [16]],
    [[16], [4, 4, 16]],
    [
      [3, 5, 6],
      [1, 1, 6],
    ],
    [[3, 5, 6], [6]],
    [
      [2, 3],
      [2, 1],
    ],
    [[8, 32], [32]],
  ];
  for (const [name, op] of ops) {
    for (const [sa, sb] of cases) {
      await same(
        `${name} ${sa} ${sb}`,
        () => {
          const a = T(sa, 3);
          // ties: make some b entries equal to a's
          const b = sa.length === sb.length && size(sa) === size(sb) ? tf.where(tf.greater(T(sb, 4), 0.5), a, T(sb, 5)) : T(sb, 4);
          return tf.cast(op(a, b), 'float32');
        },
        0,
      );
    }
  }
  // NaN handling
  await same('minimum NaN', () => tf.minimum(tf.tensor1d([NaN, 1, 2, NaN, 5, 6, 7, 8]), tf.scalar(3)), 0);
});

test('Identity/Cast share or convert correctly and keep refcounts right', async () => {
  await same(
    'clone',
    () => {
      const a = T([3, 4], 6);
      const b = tf.clone(a);
      a.dispose();
      return tf.add(b, 1);
    },
    0,
  );
  await same(
    'cast bool->float, int->float, float->int',
    () => {
      const a = T([5, 6], 7);
      return [tf.cast(tf.greater(a, 0), 'float32'), tf.cast(tf.cast(tf.mul(a, 10), 'int32'), 'float32'), tf.cast(a, 'float32')];
    },
    0,
  );
});

test('FusedBatchNorm forward', async () => {
  await same('batchNorm 4d', () => tf.batchNorm(T([2, 5, 5, 8], 8), T([8], 9), tf.abs(T([8], 10)), T([8], 11), T([8], 12), 1e-3), 1e-5);
  await same('batchNorm no scale/offset', () => tf.batchNorm(T([3, 4, 6], 8), T([6], 9), tf.abs(T([6], 10))), 1e-5);
});

test('Transpose: 2-D, batched, middle-fixed, 6-D interleave, no-op and int32', async () => {
  const cases: Array<[number[], number[]]> = [
    [
      [37, 13],
      [1, 0],
    ],
    [
      [4, 9, 7],
      [0, 2, 1],
    ],
    [
      [5, 6, 7, 3],
      [3, 1, 2, 0],
    ],
    [
      [5, 6, 7, 3],
      [1, 2, 0, 3],
    ],
    [
      [5, 6, 7, 3],
      [0, 3, 1, 2],
    ],
    [
      [2, 3, 4, 5, 2, 3],
      [1, 2, 0, 3, 4, 5],
    ],
    [
      [3, 1, 4],
      [1, 0, 2],
    ],
    [
      [2, 3, 4, 5],
      [3, 2, 1, 0],
    ],
    [
      [2, 3, 4, 5, 6],
      [4, 3, 2, 1, 0],
    ],
    [
      [1, 1, 3, 5],
      [0, 1, 3, 2],
    ],
  ];
  for (const [shape, perm] of cases) {
    await same(`transpose ${shape} ${perm}`, () => tf.transpose(T(shape, 13), perm), 0);
  }
  await same('transpose int32', () => tf.cast(tf.transpose(tf.cast(tf.mul(T([6, 5, 4], 14), 100), 'int32'), [2, 0, 1]), 'float32'), 0);
});

test('Slice: contiguous, rows, columns, 1-D, 5-D, size -1', async () => {
  const cases: Array<[number[], number[], number[]]> = [
    [
      [8, 6, 5, 4],
      [2, 0, 0, 0],
      [3, 6, 5, 4],
    ],
    [
      [8, 6, 5, 4],
      [0, 1, 0, 0],
      [8, 4, 5, 4],
    ],
    [
      [8, 6, 5, 4],
      [1, 2, 3, 1],
      [2, 3, 2, 2],
    ],
    [[30], [7], [11]],
    [
      [3, 4, 5, 6, 2],
      [1, 1, 1, 1, 0],
      [2, 2, 2, 2, 2],
    ],
    [
      [7, 9],
      [2, 3],
      [-1, -1],
    ],
  ];
  for (const [shape, begin, sz] of cases) {
    await same(`slice ${shape} ${begin} ${sz}`, () => tf.slice(T(shape, 15), begin, sz), 0);
  }
});

test('Reverse (negative-stride copies)', async () => {
  for (const [shape, axes] of [
    [
      [3, 3, 4, 5],
      [0, 1],
    ],
    [[7], [0]],
    [[2, 3, 4], [1]],
    [[2, 3, 4], [2]],
    [
      [2, 3, 4],
      [0, 2],
    ],
  ] as Array<[number[], number[]]>) {
    await same(`reverse ${shape} ${axes}`, () => tf.reverse(T(shape, 16), axes), 0);
  }
});

test('PadV2 (constant, zero and non-zero), several ranks', async () => {
  const cases: Array<[number[], Array<[number, number]>, number]> = [
    [
      [1, 8],
      [
        [0, 1],
        [0, 0],
      ],
      0,
    ],
    [
      [3, 4, 5, 6],
      [
        [0, 0],
        [1, 2],
        [2, 1],
        [0, 0],
      ],
      0,
    ],
    [[7], [[2, 3]], 1.5],
    [
      [2, 3, 4, 5, 2],
      [
        [1, 0],
        [0, 1],
        [1, 1],
        [0, 0],
        [0, 2],
      ],
      -2,
    ],
    [
      [4, 1, 3, 1, 2],
      [
        [0, 0],
        [0, 1],
        [0, 0],
        [0, 1],
        [0, 0],
      ],
      0,
    ],
  ];
  for (const [shape, pads, v] of cases) {
    await same(`pad ${shape} ${JSON.stringify(pads)} ${v}`, () => tf.pad(T(shape, 17), pads, v), 0);
  }
});

test('BatchMatMul with transposed operands (2-D, batched, broadcast batch) and a dense layer gradient', async () => {
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[37, 21], [37, 5], true, false],
    [[9, 21], [5, 21], false, true],
    [[21, 9], [5, 21], true, true],
    [[3, 8, 6], [3, 8, 4], true, false],
    [[3, 6, 8], [1, 4, 8], false, true],
  ];
  for (const [sa, sb, ta, tb] of cases) {
    await same(`matMul ${sa}${ta ? 'ᵀ' : ''}·${sb}${tb ? 'ᵀ' : ''}`, () => tf.matMul(T(sa, 3), T(sb, 4), ta, tb), 1e-5);
  }
  await same(
    'dense layer gradients (both operands)',
    () => tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, w))))([T([33, 17], 5), T([17, 6], 6)]),
    1e-4,
  );
});
