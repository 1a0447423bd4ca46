/** Shared helpers for the engine tests: seeded data, backend switching, error norms. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { originalGradients } from '../../src/engine/training-ops.js';

/** Deterministic uniform [-1, 1) values (xorshift32). */
export function randomArray(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    v[i] = (s / 4294967296) * 2 - 1;
  }
  return v;
}

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

let ready: Promise<unknown> | null = null;
/** Makes sure wasm (with Frugal's kernels) and cpu are both initialised. */
export function setup(): Promise<unknown> {
  ready ??= (async () => {
    await initBackend('cpu');
    await initBackend('wasm');
  })();
  return ready;
}

/** Runs fn on a backend and returns its outputs' values (all tensors disposed). */
export async function runOn(backend: 'wasm' | 'cpu', fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(() => {
    const r = fn();
    return Array.isArray(r) ? r : [r];
  });
  const vals = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  return vals;
}

/** Normwise relative error ||a-b|| / ||b||. */
export function relErr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    num += d * d;
    den += b[i]! * b[i]!;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Runs fn with tfjs-core's original gradient configs for the given kernels. */
export function withOriginalGradients<R>(names: string[], fn: () => R): R {
  const ours = names.map((n) => tf.getGradient(n));
  for (const n of names) tf.registerGradient(originalGradients.get(n)!);
  try {
    return fn();
  } finally {
    for (const g of ours) tf.registerGradient(g);
  }
}

/** A seeded tensor of `shape`: uniform [-1, 1) values × scale + shift. */
export function seededTensor(shape: number[], seed: number, scale = 1, shift = 0): tf.Tensor {
  return tf.add(tf.mul(tf.tensor(randomArray(size(shape), seed), shape), scale), shift);
}

/** tfjs-core's CommonJS exports object: tfjs-layers calls moments through it (patched on wasm). */
export const coreExports = createRequire(import.meta.url)('@tensorflow/tfjs-core') as typeof tf;

/**
 * fn on wasm (Frugal's kernels) against the cpu backend running `cpuFn` (default fn; tfjs-core's original gradients
 * for `refOriginal`): the same number of outputs, each within `tol` normwise relative error, and no tensor leaked.
 */
export async function compareWithCpu(
  name: string,
  fn: () => tf.Tensor | tf.Tensor[],
  tol: number,
  refOriginal: string[] = [],
  cpuFn: () => tf.Tensor | tf.Tensor[] = fn,
): Promise<void> {
  const before = tf.memory().numTensors;
  const ref = await runOn('cpu', () => withOriginalGradients(refOriginal, cpuFn));
  const got = await runOn('wasm', fn);
  assert.equal(tf.memory().numTensors, before, `${name}: tensor leak`);
  assert.equal(got.length, ref.length);
  for (let i = 0; i < ref.length; i++) {
    const e = relErr(got[i]!, ref[i]!);
    assert.ok(e <= tol, `${name}[${i}]: rel err ${e}`);
  }
}

/**
 * A batch-norm training chain over the last axis of `shape`: moments, batchNorm, relu, a weighted sum; returns
 * the value, the batch statistics and the gradients for x, gamma and beta.
 */
export function batchNormChain(shape: number[]): { x: tf.Tensor; gamma: tf.Tensor; beta: tf.Tensor; w: tf.Tensor; outputs: tf.Tensor[] } {
  const c = shape[shape.length - 1]!;
  const axes = shape.map((_, i) => i).slice(0, -1);
  const x = seededTensor(shape, 1, 2, 0.5);
  const gamma = seededTensor([c], 2, 0.5, 1);
  const beta = seededTensor([c], 3);
  const w = seededTensor(shape, 4);
  const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
    const { mean, variance } = coreExports.moments(xx, axes);
    const y = tf.batchNorm(xx, mean, variance, bb, gg, 1e-3);
    return tf.sum(tf.mul(tf.relu(y), w));
  };
  const { value, grads } = tf.valueAndGrads(f)([x, gamma, beta]);
  const { mean, variance } = coreExports.moments(x, axes);
  return { x, gamma, beta, w, outputs: [tf.reshape(value, [1]), mean, variance, ...grads] };
}
