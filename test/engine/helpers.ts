/** Shared helpers for the engine tests: seeded data, backend switching, error norms. */
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
