import * as tfl from '@tensorflow/tfjs-layers';

/**
 * Training keeps every layer's output of a batch until the backward pass has used it, and the backward pass makes
 * gradients of the same sizes: about this many times the forward activations are alive at the peak (measured on
 * the built-in MobileNetV2-0.35 trunk at 224 px, bench/photos peak RSS; see docs/benchmarks.md).
 */
const LIVE_FACTOR = 3;

/**
 * Memory for one training batch's activations, by default: wasm32 addresses at most 4 GiB, and the weights,
 * optimizer state, data and kernels' scratch need the rest. `FRUGAL_MEMORY_BUDGET_MB` overrides it.
 */
export const TRAINING_MEMORY_BUDGET_MB = 2048;

export function trainingMemoryBudgetMB(): number {
  const env = Number(process.env.FRUGAL_MEMORY_BUDGET_MB);
  return Number.isFinite(env) && env > 0 ? env : TRAINING_MEMORY_BUDGET_MB;
}

/** Bytes of all layer outputs of `model` for one input image (float32), nested models' layers included. */
export function activationBytesPerImage(model: tfl.LayersModel): number {
  let floats = 0;
  for (const layer of model.layers) {
    if (layer instanceof tfl.LayersModel) {
      floats += activationBytesPerImage(layer) / 4;
      continue;
    }
    // A layer shared by several models (a head stacked on a trunk twice) has an output per use: one counts.
    const out = (layer.inboundNodes.length > 1 ? layer.getOutputAt(0) : layer.output) as tfl.SymbolicTensor | tfl.SymbolicTensor[];
    for (const t of Array.isArray(out) ? out : [out]) floats += t.shape.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
  }
  return floats * 4;
}

/**
 * The largest batch size up to `requested` whose training activations fit the memory budget (at least 1):
 * a MobileNetV2-0.35 at 224 px (37 MB of activations an image) trains in batches of 18 within 2 GiB.
 */
export function batchSizeForMemory(model: tfl.LayersModel, requested: number, budgetMB = trainingMemoryBudgetMB()): number {
  const perImage = activationBytesPerImage(model) * LIVE_FACTOR;
  return Math.max(1, Math.min(requested, Math.floor((budgetMB * 2 ** 20) / perImage)));
}
