import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { NOISE_CLASS_NAMES } from './noise.js';

/** A model's TF.js artefacts: the `model.json` object and the weights file. */
export interface LayersArtifacts {
  modelJson: {
    format: 'layers-model';
    generatedBy: string;
    convertedBy: null;
    modelTopology: Record<string, unknown>;
    weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  };
  weights: Uint8Array;
}

export const WEIGHTS_FILE = 'weights.bin';

/**
 * The bytes a TF.js weights manifest declares: the sum over its entries of their element count times the stored
 * dtype's size (the quantized dtype when the weights are quantized). A weights file of another size is truncated
 * or belongs to another model.
 */
export function manifestBytes(weights: ReadonlyArray<{ shape: number[]; dtype: string; quantization?: { dtype: string } }>): number {
  return weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * dtypeBytes(w.quantization?.dtype ?? w.dtype), 0);
}

function dtypeBytes(dtype: string): number {
  return dtype === 'uint8' || dtype === 'bool' ? 1 : dtype === 'uint16' || dtype === 'float16' ? 2 : 4;
}

/** Serialise a LayersModel to TF.js's `model.json` + one weights file, in memory. */
export async function serializeModel(model: tfl.LayersModel, options: { stripNoise?: boolean } = {}): Promise<LayersArtifacts> {
  let captured: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const art = captured as unknown as tf.io.ModelArtifacts;
  let topology = art.modelTopology as Record<string, unknown>;
  if (options.stripNoise ?? true) topology = stripNoiseLayers(topology);
  const weightData = art.weightData as ArrayBuffer | ArrayBuffer[];
  const weights = new Uint8Array(Array.isArray(weightData) ? concat(weightData) : weightData);
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
      convertedBy: null,
      modelTopology: topology,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: art.weightSpecs ?? [] }],
    },
    weights,
  };
}

/** Rebuild a LayersModel from serialised artefacts. */
export async function deserializeModel(art: LayersArtifacts): Promise<tfl.LayersModel> {
  const specs = art.modelJson.weightsManifest.flatMap((g) => g.weights);
  const buffer = art.weights.buffer.slice(art.weights.byteOffset, art.weights.byteOffset + art.weights.byteLength) as ArrayBuffer;
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: art.modelJson.modelTopology, weightSpecs: specs, weightData: buffer }));
}

function concat(parts: ArrayBuffer[]): ArrayBuffer {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), o);
    o += p.byteLength;
  }
  return out.buffer;
}

type InboundRef = [string, number, number, Record<string, unknown>?];
interface LayerJson {
  class_name: string;
  config: { name: string };
  inbound_nodes: InboundRef[][];
}

/**
 * Remove training-only noise layers (dropout, stochastic depth) from a functional model's topology,
 * rewiring their consumers to their input. The saved model then needs no custom layer classes and
 * runs in any TF.js runtime; noise layers have no weights, so the weights are unchanged.
 */
export function stripNoiseLayers(topology: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(topology) as { model_config?: { config: { layers: LayerJson[]; output_layers: InboundRef[] } } } & {
    config?: { layers: LayerJson[]; output_layers: InboundRef[] };
  };
  const config = copy.model_config?.config ?? copy.config;
  if (!config?.layers) return topology;
  const replace = new Map<string, InboundRef>();
  for (const layer of config.layers) {
    if (!NOISE_CLASS_NAMES.has(layer.class_name)) continue;
    if (layer.inbound_nodes.length !== 1 || layer.inbound_nodes[0]!.length !== 1) continue;
    replace.set(layer.config.name, layer.inbound_nodes[0]![0]!);
  }
  if (replace.size === 0) return topology;
  const resolve = (ref: InboundRef): InboundRef => {
    let r = ref;
    while (replace.has(r[0])) {
      const src = replace.get(r[0])!;
      r = r.length > 3 ? [src[0], src[1], src[2], r[3]] : [src[0], src[1], src[2]];
    }
    return r;
  };
  config.layers = config.layers
    .filter((l) => !replace.has(l.config.name))
    .map((l) => ({ ...l, inbound_nodes: l.inbound_nodes.map((node) => node.map(resolve)) }));
  config.output_layers = config.output_layers.map(resolve);
  return copy as Record<string, unknown>;
}
