import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FrugalError } from '../util/errors.js';
import { writeFolderAsWhole } from '../util/fs.js';
import { Rng } from '../util/rng.js';
import { ensureBackend } from '../engine/backend.js';
import { readModelMeta, loadModelDir, MODEL_FILE } from '../models/model-dir.js';
import { serializeModel, WEIGHTS_FILE } from '../models/io.js';
import { toInputTensor, type Preprocessing } from '../models/preprocess.js';
import { PROBS } from '../models/zoo/registry.js';
import {
  TM_IMAGE_PACKAGE,
  TM_IMAGE_PACKAGE_VERSION,
  TM_IMAGE_SIZE,
  TM_METADATA_FILE,
  TM_PREPROCESSING,
  type TeachableMachineMetadata,
} from '../models/backbones/teachable-machine.js';
import { assertOutsideModel, assertWholeLayersModel } from './tfjs.js';

/** The fixed layer an exported model begins with when the model's own preprocessing is not Teachable Machine's. */
export const TM_INPUT_SCALING = 'tm_input_scaling';

/** What `exportTeachableMachine` wrote. */
export interface TeachableMachineExport {
  format: 'teachable-machine';
  out: string;
  files: string[];
  labels: string[];
  imageSize: number;
  /**
   * The layer that maps what Teachable Machine feeds (pixel / 127 − 1) to the model's own preprocessing, per channel
   * x · scale + offset; null when the model was trained on Teachable Machine's preprocessing already.
   */
  inputScaling: { layer: string; scale: number[]; offset: number[] } | null;
  /** Whether a softmax was added after the model's output (a model that ended in logits). */
  addedSoftmax: boolean;
  /**
   * The largest difference between a probability of the exported model, fed as Teachable Machine feeds it, and the
   * model's own on the same check images (checked below `EXPORT_TOLERANCE` before anything is written).
   */
  maxDifference: number;
  /** What a user should know: e.g. that the model was trained on squashed images, and Teachable Machine crops. */
  notes: string[];
}

/** How far an exported model's probabilities may be from the model's own (float32 rounding is about 1e-6). */
export const EXPORT_TOLERANCE = 1e-4;

/**
 * Export a model as a Teachable Machine image model: model.json + weights.bin (one TF.js layers model, image →
 * probabilities) and metadata.json (labels, imageSize 224, versions), which `@teachablemachine/image`
 * (`tmImage.load(modelURL, metadataURL)`) and ml5 (`ml5.imageClassifier(modelURL)`) load as they load Teachable
 * Machine's own exports.
 *
 * They feed a 224×224 RGB image as pixel / 127 − 1 (Teachable Machine's library crops the centre square first; ml5
 * squashes), and read the output as probabilities. So the model must take 224×224×3 images and be one TF.js layers
 * model (not a head over a graph or ONNX backbone); a model trained with other preprocessing begins with a fixed
 * per-channel scaling layer (`TM_INPUT_SCALING`) that maps Teachable Machine's input to its own, and a model that
 * ends in logits gets a softmax. Before writing, the exported model is checked against the model on two images.
 * Anything Teachable Machine cannot run is a FrugalError naming the folder and the reason.
 */
export async function exportTeachableMachine(modelDir: string, out: string): Promise<TeachableMachineExport> {
  assertOutsideModel(modelDir, out);
  const meta = await readModelMeta(modelDir);
  const refuse = (why: string): never => {
    throw new FrugalError(`${modelDir}: Teachable Machine cannot run this model: ${why}`);
  };
  assertWholeLayersModel(modelDir, meta, "Teachable Machine's library");
  const { height, width, channels } = meta.input;
  if (height !== TM_IMAGE_SIZE || width !== TM_IMAGE_SIZE || channels !== 3) {
    refuse(
      `its input is ${height}×${width}×${channels}, and Teachable Machine's library and ml5 feed ${TM_IMAGE_SIZE}×${TM_IMAGE_SIZE} RGB images ` +
        `(train it at ${TM_IMAGE_SIZE} px with 3 channels, e.g. on the built-in trunk)`,
    );
  }
  await ensureBackend();
  const { model } = await loadModelDir(modelDir);
  let exported: tfl.LayersModel | null = null;
  try {
    if (model.inputs.length !== 1 || model.outputs.length !== 1)
      refuse(`it has ${model.inputs.length} inputs and ${model.outputs.length} outputs, not one of each`);
    const outputLayer = model.outputLayers[0]!;
    const output = outputKind(outputLayer);
    if (output === null) {
      refuse(
        `its output layer "${outputLayer.name}" (${outputLayer.getClassName()}) is not a softmax (nor a dense layer's logits), ` +
          "and Teachable Machine's library reads the model's output as probabilities",
      );
    }
    const scaling = inputScaling(meta.preprocessing);
    exported = withTeachableMachineInput(model, scaling, output === 'logits');
    const maxDifference = checkAgainst(model, meta.preprocessing, exported, output === 'logits');
    if (!(maxDifference <= EXPORT_TOLERANCE)) {
      throw new Error(`the exported model's probabilities differ from ${modelDir}'s by ${maxDifference} (more than ${EXPORT_TOLERANCE})`);
    }
    const art = await serializeModel(exported);
    const notes: string[] = [];
    if (meta.input.resize !== 'center-crop') {
      notes.push(
        `the model was trained on images ${meta.input.resize === 'squash' ? 'squashed' : 'padded'} to ${TM_IMAGE_SIZE}×${TM_IMAGE_SIZE}; ` +
          "Teachable Machine's library crops a non-square image to its centre square (ml5 squashes it), so such images look different to it",
      );
    }
    const metadata: TeachableMachineMetadata = {
      tfjsVersion: tf.version_core,
      packageName: TM_IMAGE_PACKAGE,
      packageVersion: TM_IMAGE_PACKAGE_VERSION,
      modelName: path.basename(path.resolve(modelDir)),
      timeStamp: new Date().toISOString(),
      labels: meta.classes,
      imageSize: TM_IMAGE_SIZE,
      userMetadata: { frugal: { trainedResize: meta.input.resize, inputScaling: scaling ? TM_INPUT_SCALING : null } },
    };
    await writeFolderAsWhole(out, [
      [WEIGHTS_FILE, art.weights],
      [MODEL_FILE, Buffer.from(JSON.stringify(art.modelJson) + '\n')],
      [TM_METADATA_FILE, Buffer.from(JSON.stringify(metadata, null, 2) + '\n')],
    ]);
    return {
      format: 'teachable-machine',
      out,
      files: [MODEL_FILE, WEIGHTS_FILE, TM_METADATA_FILE],
      labels: meta.classes,
      imageSize: TM_IMAGE_SIZE,
      inputScaling: scaling && { layer: TM_INPUT_SCALING, ...scaling },
      addedSoftmax: output === 'logits',
      maxDifference,
      notes,
    };
  } finally {
    // The exported model shares the model's layers: each holds a reference, and the weights go with the last.
    exported?.dispose();
    model.dispose();
  }
}

/**
 * Whether a layer's output is probabilities (a softmax, or the average of softmaxes, as an ensemble head's), logits
 * (a dense layer without activation), or neither (null).
 */
function outputKind(layer: tfl.layers.Layer): 'probabilities' | 'logits' | null {
  if (layer instanceof tfl.LayersModel) return outputKind(layer.outputLayers[0]!);
  const activation = (layer.getConfig() as { activation?: unknown }).activation;
  if (layer.getClassName() === 'Softmax' || activation === 'softmax') return 'probabilities';
  if (layer.getClassName() === 'Average') {
    const inputs = layer.inboundNodes[0]?.inboundLayers ?? [];
    return inputs.length > 0 && inputs.every((l) => outputKind(l) === 'probabilities') ? 'probabilities' : null;
  }
  if (layer.getClassName() === 'Dense' && activation === 'linear') return 'logits';
  return null;
}

/**
 * The per-channel map from what Teachable Machine feeds, t = pixel / 127 − 1, to what the model was trained on,
 * x = (pixel / 255 − mean) / std: x = t · scale + offset with k = 127/255, scale = k / std, offset = (k − mean) / std.
 * Null when that is the identity (the model was trained on Teachable Machine's preprocessing).
 */
function inputScaling(pre: Preprocessing): { scale: number[]; offset: number[] } | null {
  const k = TM_PREPROCESSING.mean[0]!;
  const scale = pre.std.map((s) => k / s);
  const offset = pre.mean.map((m, c) => (k - m) / pre.std[c]!);
  const identity = scale.every((s) => Math.abs(s - 1) < 1e-7) && offset.every((o) => Math.abs(o) < 1e-7);
  return identity ? null : { scale, offset };
}

/** A layer name the model does not use yet: `base`, else `base_1`, `base_2`… */
function unusedName(model: tfl.LayersModel, base: string): string {
  const used = new Set(model.layers.map((l) => l.name));
  let name = base;
  for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
  return name;
}

/**
 * The model as Teachable Machine runs it: a new 224×224×3 input (named as the model's), the scaling layer (fixed
 * weights, not trainable), the model's own layers applied again in order (sharing their weights: one flat functional
 * model, which TF.js 1.x loads too), and a softmax when the model ends in logits.
 */
function withTeachableMachineInput(model: tfl.LayersModel, scaling: { scale: number[]; offset: number[] } | null, addSoftmax: boolean): tfl.LayersModel {
  const input = tfl.input({ shape: [TM_IMAGE_SIZE, TM_IMAGE_SIZE, 3], name: model.inputLayers[0]!.name });
  let x = input;
  if (scaling) {
    const layer = tfl.layers.depthwiseConv2d({ kernelSize: 1, useBias: true, trainable: false, name: unusedName(model, TM_INPUT_SCALING) });
    x = layer.apply(x) as tfl.SymbolicTensor;
    tf.tidy(() => layer.setWeights([tf.tensor4d(scaling.scale, [1, 1, 3, 1]), tf.tensor1d(scaling.offset)]));
  }
  let y = applyLayersAgain(model, x);
  if (addSoftmax) y = tfl.layers.activation({ activation: 'softmax', name: unusedName(model, PROBS) }).apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: y, name: model.name });
}

/**
 * A single-input model's layers applied again, in order, from `input` on: each to the outputs its own node in the
 * model took (nested models are applied whole). A layer the model applies more than once (shared) is refused.
 */
function applyLayersAgain(model: tfl.LayersModel, input: tfl.SymbolicTensor): tfl.SymbolicTensor {
  const key = (layer: tfl.layers.Layer, nodeIndex: number) => `${layer.name}_ib-${nodeIndex}`;
  const produced = new Map<string, tfl.SymbolicTensor[]>([[key(model.inputLayers[0]!, model.inputLayersNodeIndices[0]!), [input]]]);
  for (const layer of model.layers) {
    if (model.inputLayers.includes(layer)) continue;
    const own = layer.inboundNodes.map((node, index) => ({ node, index })).filter(({ index }) => model.containerNodes.has(key(layer, index)));
    if (own.length !== 1)
      throw new FrugalError(`model "${model.name}": layer "${layer.name}" is applied ${own.length} times, which the export does not rebuild`);
    const { node, index } = own[0]!;
    const inputs = node.inboundLayers.map((l, j) => produced.get(key(l, node.nodeIndices[j]!))![node.tensorIndices[j]!]!);
    const out = layer.apply(inputs.length === 1 ? inputs[0]! : inputs) as tfl.SymbolicTensor | tfl.SymbolicTensor[];
    produced.set(key(layer, index), Array.isArray(out) ? out : [out]);
  }
  return produced.get(key(model.outputLayers[0]!, model.outputLayersNodeIndices[0]!))![model.outputLayersTensorIndices[0]!]!;
}

/**
 * The largest difference between the model's probabilities on two check images (a gradient and noise, 0 to 255 in
 * every channel) preprocessed its own way and the exported model's on the same images fed as Teachable Machine
 * feeds them.
 */
function checkAgainst(model: tfl.LayersModel, pre: Preprocessing, exported: tfl.LayersModel, modelGivesLogits: boolean): number {
  const size = TM_IMAGE_SIZE * TM_IMAGE_SIZE * 3;
  const rng = new Rng(0);
  const pixels = Uint8Array.from({ length: 2 * size }, (_, i) =>
    i < size ? Math.floor(((i % (TM_IMAGE_SIZE * 3)) * 255) / (TM_IMAGE_SIZE * 3 - 1)) : rng.int(256),
  );
  return tf.tidy(() => {
    let own = model.predict(toInputTensor(pixels, 2, TM_IMAGE_SIZE, TM_IMAGE_SIZE, 3, pre)) as tf.Tensor;
    if (modelGivesLogits) own = tf.softmax(own);
    const theirs = exported.predict(toInputTensor(pixels, 2, TM_IMAGE_SIZE, TM_IMAGE_SIZE, 3, TM_PREPROCESSING)) as tf.Tensor;
    return tf.max(tf.abs(tf.sub(own, theirs))).dataSync()[0]!;
  });
}
