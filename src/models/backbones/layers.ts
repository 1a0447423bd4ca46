import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FrugalError } from '../../util/errors.js';
import { toInputTensor } from '../preprocess.js';
import { FEATURES } from '../zoo/registry.js';
import type { Backbone, BackboneRef } from './types.js';

const POOLING = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Flatten']);

/** The default cut: a layer named `features`, else the last global pooling / flatten, else the input of the last dense layer. */
export function defaultCut(model: tfl.LayersModel): string {
  if (model.layers.some((l) => l.name === FEATURES)) return FEATURES;
  for (let i = model.layers.length - 1; i >= 0; i--) {
    if (POOLING.has(model.layers[i]!.getClassName())) return model.layers[i]!.name;
  }
  const dense = [...model.layers].reverse().find((l) => l.getClassName() === 'Dense');
  const inbound = dense?.inboundNodes[0]?.inboundLayers[0];
  if (inbound) return inbound.name;
  throw new FrugalError(`cannot find where the classifier starts in model "${model.name}"; give --cut <layer>`);
}

/** The trunk: input → the cut layer's output (global-average-pooled when spatial). */
export function trunkModel(model: tfl.LayersModel, cut: string): tfl.LayersModel {
  const layer = model.layers.find((l) => l.name === cut);
  if (!layer) {
    throw new FrugalError(`--cut ${cut}: no such layer (layers: ${model.layers.slice(-12).map((l) => l.name).join(', ')}${model.layers.length > 12 ? ', …' : ''})`);
  }
  let out = layer.output as tfl.SymbolicTensor;
  if (Array.isArray(out)) throw new FrugalError(`--cut ${cut}: the layer has several outputs`);
  if (out.shape.length === 4) out = tfl.layers.globalAveragePooling2d({ name: `${cut}_gap` }).apply(out) as tfl.SymbolicTensor;
  else if (out.shape.length !== 2) throw new FrugalError(`--cut ${cut}: output of rank ${out.shape.length}, expected 2 or 4`);
  return tfl.model({ inputs: model.inputs, outputs: out, name: 'trunk' });
}

/** A backbone over a TF.js layers model (trainable: fine-tuning works on it). */
export function layersBackbone(model: tfl.LayersModel, ref: Omit<BackboneRef, 'kind'>, digest: string, cut?: string): Backbone {
  const cutName = cut ?? ref.cut ?? defaultCut(model);
  const trunk = trunkModel(model, cutName);
  const shape = model.inputs[0]!.shape;
  const { height, width, channels } = ref.input;
  if ((shape[1] != null && shape[1] !== height) || (shape[2] != null && shape[2] !== width) || (shape[3] != null && shape[3] !== channels)) {
    throw new FrugalError(`backbone input is [${shape.slice(1).join(', ')}], but ${height}×${width}×${channels} was asked for`);
  }
  const featureDim = trunk.outputs[0]!.shape[1] as number;
  const batch = 32;
  return {
    kind: 'layers',
    id: `layers-${digest.slice(0, 16)}-${cutName}`,
    ref: { ...ref, kind: 'layers', cut: cutName },
    spec: ref.input,
    preprocessing: ref.preprocessing,
    featureDim,
    cut: cutName,
    trunk,
    async extract(pixels, count) {
      const size = height * width * channels;
      const out = new Float32Array(count * featureDim);
      for (let s = 0; s < count; s += batch) {
        const n = Math.min(batch, count - s);
        const f = tf.tidy(() => trunk.apply(toInputTensor(pixels.subarray(s * size, (s + n) * size), n, height, width, channels, ref.preprocessing), { training: false }) as tf.Tensor);
        out.set(f.dataSync(), s * featureDim);
        f.dispose();
      }
      return out;
    },
    dispose() {
      model.dispose();
    },
  };
}
