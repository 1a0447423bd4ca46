/**
 * Frugal's engine layer: backend selection and the kernels that make
 * training on tfjs-backend-wasm possible and fast. Imports only tfjs packages
 * and node builtins.
 *
 *   import { initBackend, tf } from '../engine/index.js';
 *   const info = await initBackend();        // 'auto': tfjs-node, else wasm
 *
 * The rest of the project may import '@tensorflow/tfjs-core' and
 * '@tensorflow/tfjs-layers' directly: they resolve to the same single
 * tfjs-core instance this module configures.
 */
export {
  initBackend,
  ensureBackend,
  probeBackends,
  wasmBinaryDir,
  tf,
  type BackendInfo,
  type BackendName,
  type BackendPreference,
  type BackendProbe,
  type ProbeResult,
  type Versions,
} from './backend.js';
export { installTrainingKernels, FRUGAL_WASM_KERNELS } from './wasm-kernels.js';
export { originalGradients } from './training-ops.js';
export { createSession, forwardEngine, forwardInfo, forwardThreads, ort, type ForwardEngine } from './onnx-runtime.js';
