import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadModelDir, type ModelMeta } from '../models/model-dir.js';
import { toInputTensor } from '../models/preprocess.js';
import type { ImageSpec } from '../data/decode.js';
import { loadBackboneRef } from '../models/backbones/load.js';
import type { Backbone } from '../models/backbones/types.js';
import { ensureBackend } from '../engine/backend.js';
import { onnxForward, type OnnxForward } from '../models/onnx/forward.js';

/** A loaded classifier that turns decoded images into class probabilities. */
export interface Predictor {
  classes: string[];
  spec: ImageSpec;
  meta: ModelMeta;
  /** Probabilities (count×K) for `count` images of the spec's size. */
  predict(pixels: Uint8Array, count: number): Promise<Float32Array>;
  dispose(): void;
}

/** A predictor over a TF.js layers model and its preprocessing. */
export function layersPredictor(model: tfl.LayersModel, meta: ModelMeta, batchSize = 64): Predictor {
  const { height, width, channels } = meta.input;
  const size = height * width * channels;
  /** ONNX Runtime forward passes (made on the first prediction; null: TF.js runs them). */
  let forward: OnnxForward | null | undefined;
  return {
    classes: meta.classes,
    spec: meta.input,
    meta,
    async predict(pixels, count) {
      if (forward === undefined) forward = onnxForward(model, meta.preprocessing);
      if (forward) return (await forward.run(pixels, count))[0]!;
      const k = meta.classes.length;
      const out = new Float32Array(count * k);
      for (let s = 0; s < count; s += batchSize) {
        const n = Math.min(batchSize, count - s);
        const probs = tf.tidy(
          () => model.predict(toInputTensor(pixels.subarray(s * size, (s + n) * size), n, height, width, channels, meta.preprocessing)) as tf.Tensor,
        );
        out.set(probs.dataSync(), s * k);
        probs.dispose();
      }
      return out;
    },
    dispose() {
      void forward?.release();
      model.dispose();
    },
  };
}

/** A predictor that runs a frozen backbone (graph or ONNX), then a trained head on its features. */
export function backbonePredictor(backbone: Backbone, head: tfl.LayersModel, meta: ModelMeta): Predictor {
  return {
    classes: meta.classes,
    spec: backbone.spec,
    meta,
    async predict(pixels, count) {
      const features = await backbone.extract(pixels, count);
      const probs = tf.tidy(() => head.predict(tf.tensor2d(features, [count, backbone.featureDim])) as tf.Tensor);
      const out = probs.dataSync() as Float32Array;
      probs.dispose();
      return out;
    },
    dispose() {
      head.dispose();
      backbone.dispose();
    },
  };
}

/** Load a model directory as a predictor. */
export async function loadPredictor(dir: string): Promise<Predictor> {
  await ensureBackend();
  const { model, meta } = await loadModelDir(dir);
  if (meta.headOnly && meta.backbone) return backbonePredictor(await loadBackboneRef(meta.backbone), model, meta);
  return layersPredictor(model, meta);
}
