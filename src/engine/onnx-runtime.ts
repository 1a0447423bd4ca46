import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';

/**
 * ONNX Runtime for forward-only work (features, predictions): its CPU kernels are several times faster than
 * TF.js wasm's, and it uses every core. Training stays on TF.js.
 */

/** Which engine runs forward-only passes: `onnx` (ONNX Runtime, where the model converts) or `tfjs`. */
export type ForwardEngine = 'onnx' | 'tfjs';

/** `FRUGAL_FORWARD=tfjs` keeps forward passes on TF.js (for comparisons, or if ONNX Runtime misbehaves). */
export function forwardEngine(): ForwardEngine {
  const v = process.env['FRUGAL_FORWARD'];
  if (v === undefined || v === '' || v === 'onnx') return 'onnx';
  if (v === 'tfjs') return 'tfjs';
  if (!warnedEngine) process.stderr.write(`note: FRUGAL_FORWARD must be onnx or tfjs; "${v}" is neither, so ONNX Runtime is used\n`);
  warnedEngine = true;
  return 'onnx';
}

let warnedEngine = false;

/** Intra-op threads for ONNX Runtime: `FRUGAL_THREADS`, else one per core. */
export function forwardThreads(): number {
  const v = Number(process.env['FRUGAL_THREADS']);
  return Number.isInteger(v) && v > 0 ? v : availableParallelism();
}

/** An ONNX Runtime session over a model file or its bytes, with Frugal's thread settings. */
export function createSession(model: string | Uint8Array, threads = forwardThreads()): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

export { ort };

/** What runs forward-only passes here, for `frugal doctor`. */
export function forwardInfo(): { engine: ForwardEngine; onnxRuntime: string | null; threads: number } {
  return { engine: forwardEngine(), onnxRuntime: ort.env.versions.node ?? null, threads: forwardThreads() };
}
