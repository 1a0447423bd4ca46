import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { getArch } from '../../src/models/zoo/index.js';
import { initWeights } from '../../src/models/init.js';
import { saveModelDir, newMeta } from '../../src/models/model-dir.js';
import { onnxModel } from '../onnx-writer.js';
import { serializeModel, WEIGHTS_FILE } from '../../src/models/io.js';
import { Rng } from '../../src/util/rng.js';
import { readTfjsModel } from '../../src/models/backbones/files.js';
import { BUILTIN_TRUNK, getPretrained } from '../../src/models/backbones/pretrained.js';

/** A Frugal model directory (cnn-tiny, 16×16×1, 3 classes, seeded random weights). */
export async function makeFrugalModel(dir: string, seed = 1): Promise<string> {
  const model = getArch('cnn-tiny')!.build({ inputShape: [16, 16, 1], numClasses: 3 });
  initWeights(model, seed);
  await saveModelDir(
    dir,
    model,
    newMeta({ classes: ['a', 'b', 'c'], input: { height: 16, width: 16, channels: 1, resize: 'squash' }, preprocessing: { mean: [0.4], std: [0.3] } }),
  );
  model.dispose();
  return dir;
}

/** A plain TF.js layers model directory (model.json + weights, no frugal.json), with a sidecar. */
export async function makeTfjsLayersDir(dir: string): Promise<string> {
  const src = await makeFrugalModel(path.join(dir, '..', `${path.basename(dir)}-src`));
  await fsp.mkdir(dir, { recursive: true });
  for (const f of ['model.json', 'weights.bin']) await fsp.copyFile(path.join(src, f), path.join(dir, f));
  await fsp.writeFile(path.join(dir, 'frugal-backbone.json'), JSON.stringify({ mean: [0.4], std: [0.3] }));
  return dir;
}

/** A TF.js graph model: features = mean over H,W of the image, times a 3×4 matrix. */
export async function makeGraphModel(dir: string): Promise<{ dir: string; w: Float32Array }> {
  const w = Float32Array.from({ length: 12 }, (_, i) => (i % 5) - 2 + i / 10);
  const dim = (sizes: number[]) => ({ dim: sizes.map((s) => ({ size: String(s) })) });
  const json = {
    format: 'graph-model',
    generatedBy: 'frugal-test',
    convertedBy: 'frugal-test',
    modelTopology: {
      node: [
        { name: 'image', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dim([-1, 8, 8, 3]) } } },
        { name: 'axes', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: dim([2]) } } } },
        { name: 'w', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dim([3, 4]) } } } },
        { name: 'pooled', op: 'Mean', input: ['image', 'axes'], attr: { keep_dims: { b: false }, T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' } } },
        { name: 'features', op: 'MatMul', input: ['pooled', 'w'], attr: { transpose_a: { b: false }, transpose_b: { b: false }, T: { type: 'DT_FLOAT' } } },
      ],
      library: {},
      versions: {},
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'axes', shape: [2], dtype: 'int32' },
          { name: 'w', shape: [3, 4], dtype: 'float32' },
        ],
      },
    ],
  };
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
  const bin = Buffer.concat([Buffer.from(new Int32Array([1, 2]).buffer), Buffer.from(w.buffer)]);
  await fsp.writeFile(path.join(dir, 'group1-shard1of1.bin'), bin);
  await fsp.writeFile(path.join(dir, 'frugal-backbone.json'), JSON.stringify({ size: 8, channels: 3, mean: [0, 0, 0], std: [1, 1, 1] }));
  return { dir, w };
}

/** An ONNX model: 1×1 conv (4 filters) → ReLU → global average pool, NCHW 3×8×8 input, with a sidecar. */
export async function makeOnnxModel(file: string): Promise<{ file: string; w: Float32Array }> {
  const w = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, -1, 1]);
  const bytes = onnxModel({
    nodes: [
      { op: 'Conv', inputs: ['image', 'w'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['features'] },
    ],
    initializers: [{ name: 'w', dims: [4, 3, 1, 1], values: w }],
    inputs: [{ name: 'image', dims: ['N', 3, 8, 8] }],
    // `r`, the ReLU map before pooling, is a second output (a spatial cut).
    outputs: [
      { name: 'features', dims: ['N', 4, 1, 1] },
      { name: 'r', dims: ['N', 4, 8, 8] },
    ],
  });
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, bytes);
  await fsp.writeFile(`${file}.json`, JSON.stringify({ size: 8, channels: 3, mean: [0, 0, 0], std: [1, 1, 1], layout: 'NCHW' }));
  return { file, w };
}

/**
 * A local HTTP server over a folder. `/fail/...` answers 500; `/truncated/...` promises the full
 * length and sends half. Counts requests.
 */
export async function serveFolder(root: string): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url!, 'http://x');
    requests.push(url.pathname);
    let p = decodeURIComponent(url.pathname);
    const mode = p.startsWith('/fail/') ? 'fail' : p.startsWith('/truncated/') ? 'truncated' : 'ok';
    if (mode !== 'ok') p = p.slice(p.indexOf('/', 1));
    if (mode === 'fail') {
      res.writeHead(500);
      return res.end('boom');
    }
    try {
      const body = await fsp.readFile(path.join(root, p));
      res.writeHead(200, { 'content-length': body.length });
      if (mode === 'truncated') {
        res.write(body.subarray(0, body.length >> 1));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end('not found');
    }
  };
  const server = http.createServer((req, res) => void serve(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * A local HTTP server whose every answer `handle` writes (or does not: a request left unanswered hangs). `close`
 * drops the connections still open, hung ones included.
 */
export async function serveScript(
  handle: (req: http.IncomingMessage, res: http.ServerResponse, nth: number) => void,
): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(new URL(req.url!, 'http://x').pathname);
    handle(req, res, requests.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

// ---- Keras-converted TF.js layers models (as the TensorFlow.js converter writes them from Keras 2.x) ----

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type KerasJson = Record<string, any>;

const KERAS_MODELS = new Set(['Sequential', 'Model', 'Functional']);

/** Rewrite a TF.js-serialised layer (or model) configuration the way Keras 2.x writes it. */
function kerasLayer(layer: KerasJson): void {
  const cls: string = layer.class_name;
  const c: KerasJson = layer.config;
  if (KERAS_MODELS.has(cls)) {
    const layers: KerasJson[] = Array.isArray(c) ? c : c.layers;
    layers.forEach(kerasLayer);
    if (cls === 'Model') layer.class_name = 'Functional';
    if (cls === 'Sequential' && layers[0]?.config?.batch_input_shape && layers[0].class_name !== 'InputLayer') {
      // A Keras 2.x Sequential starts with its InputLayer (and its first layer keeps batch_input_shape).
      layers.unshift({
        class_name: 'InputLayer',
        config: {
          batch_input_shape: layers[0].config.batch_input_shape,
          dtype: 'float32',
          sparse: false,
          ragged: false,
          name: `${layers[0].config.name}_input`,
        },
      });
    }
    return;
  }
  if (cls === 'InputLayer') {
    Object.assign(c, { sparse: false, ragged: false });
    return;
  }
  Object.assign(c, { trainable: true, dtype: 'float32' });
  if (cls === 'Conv2D' || cls === 'DepthwiseConv2D') c.groups = 1;
  if (cls === 'BatchNormalization') c.axis = [3]; // Keras 2.x writes the axis list it built with
  if (cls === 'ReLU') Object.assign(c, { negative_slope: 0, threshold: 0 });
  if (cls === 'GlobalAveragePooling2D') c.keepdims = false;
  if (c.kernel_initializer) c.kernel_initializer = { module: 'keras.initializers', class_name: 'GlorotUniform', config: { seed: null }, registered_name: null };
  if (c.depthwise_initializer) c.depthwise_initializer = { class_name: 'LecunNormal', config: { seed: null } }; // TF.js spells it LeCunNormal
  if (cls === 'Conv2D' || cls === 'Dense') c.kernel_regularizer = { class_name: 'L2', config: { l2: 1e-4 } }; // TF.js has only L1L2
  layer.module = 'keras.layers';
  layer.registered_name = null;
}

/**
 * Write `model` as the TensorFlow.js converter writes a model converted from Keras 2.x: the topology under
 * `modelTopology.model_config` beside `keras_version`, `backend` and `training_config`, Keras 2.x layer
 * configurations, class `Functional` (or `className`, e.g. `Model` as older Keras wrote it); weights.bin beside.
 * `edit` may change the model configuration before it is written.
 */
export async function writeKerasConverted(
  dir: string,
  model: tfl.LayersModel,
  o: { className?: string; edit?: (modelConfig: KerasJson) => void } = {},
): Promise<string> {
  const { modelJson, weights } = await serializeModel(model);
  const config = structuredClone(modelJson.modelTopology) as KerasJson;
  delete config.keras_version;
  delete config.backend;
  kerasLayer(config);
  if (o.className && config.class_name !== 'Sequential') config.class_name = o.className;
  if (!Array.isArray(config.config)) config.config.trainable = true;
  o.edit?.(config);
  const json = {
    format: 'layers-model',
    generatedBy: 'keras v2.13.1',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: {
      keras_version: '2.13.1',
      backend: 'tensorflow',
      model_config: config,
      training_config: {
        loss: 'categorical_crossentropy',
        metrics: [[{ class_name: 'MeanMetricWrapper', config: { name: 'accuracy', dtype: 'float32', fn: 'categorical_accuracy' } }]],
        weighted_metrics: null,
        loss_weights: null,
        optimizer_config: { class_name: 'Custom>Adam', config: { name: 'Adam', learning_rate: 0.001 } },
      },
    },
    weightsManifest: modelJson.weightsManifest,
  };
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
  await fsp.writeFile(path.join(dir, WEIGHTS_FILE), weights);
  return dir;
}

/** Seeded random weights, with batch norm statistics away from the identity (so a misread axis shows). */
export function randomizeWeights(model: tfl.LayersModel, seed: number): void {
  initWeights(model, seed);
  const rng = new Rng(seed + 1);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const values = layer.weights.map((w) => {
      const short = w.originalName.split('/').pop();
      const shape = w.shape as number[];
      const size = shape.reduce((a, b) => a * b, 1);
      return tf.tensor(
        Float32Array.from({ length: size }, () => (short === 'moving_variance' || short === 'gamma' ? rng.uniform(0.5, 1.5) : rng.uniform(-0.3, 0.3))),
        shape,
      );
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/**
 * A small headless trunk named like Keras's MobileNetV2 without its top (no pooling, no dense layer): Conv1 →
 * bn_Conv1 → Conv1_relu, two inverted residual blocks `block_1_*`, `block_2_*` (each ending in `block_N_add`),
 * then Conv_1 → Conv_1_bn → out_relu, 8×8×12 on a 16×16×3 input.
 */
export function headlessTrunk(seed = 1): tfl.LayersModel {
  const input = tfl.input({ shape: [16, 16, 3], name: 'input_1' });
  const apply = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) => layer.apply(x) as tfl.SymbolicTensor;
  const conv = (x: tfl.SymbolicTensor, name: string, filters: number, kernelSize: number, strides = 1) =>
    apply(tfl.layers.conv2d({ name, filters, kernelSize, strides, padding: 'same', useBias: false }), x);
  const bn = (x: tfl.SymbolicTensor, name: string) => apply(tfl.layers.batchNormalization({ name, epsilon: 1e-3, momentum: 0.999 }), x);
  const relu = (x: tfl.SymbolicTensor, name: string) => apply(tfl.layers.reLU({ name, maxValue: 6 }), x);
  let x = relu(bn(conv(input, 'Conv1', 8, 3, 2), 'bn_Conv1'), 'Conv1_relu');
  for (const n of [1, 2]) {
    let y = relu(bn(conv(x, `block_${n}_expand`, 16, 1), `block_${n}_expand_BN`), `block_${n}_expand_relu`);
    y = apply(tfl.layers.depthwiseConv2d({ name: `block_${n}_depthwise`, kernelSize: 3, padding: 'same', useBias: false }), y);
    y = relu(bn(y, `block_${n}_depthwise_BN`), `block_${n}_depthwise_relu`);
    y = bn(conv(y, `block_${n}_project`, 8, 1), `block_${n}_project_BN`);
    x = apply(tfl.layers.add({ name: `block_${n}_add` }), [x, y]);
  }
  x = relu(bn(conv(x, 'Conv_1', 12, 1), 'Conv_1_bn'), 'out_relu');
  const model = tfl.model({ inputs: input, outputs: x, name: 'model' });
  randomizeWeights(model, seed);
  return model;
}

/** Teachable Machine's metadata.json as its site writes it (the labels are the export's). */
export function teachableMachineMetadata(labels: string[]): Record<string, unknown> {
  return {
    tfjsVersion: '1.3.1',
    tmVersion: '2.4.7',
    packageVersion: '0.8.4',
    packageName: '@teachablemachine/image',
    timeStamp: '2024-01-01T00:00:00.000Z',
    userMetadata: {},
    modelName: 'tm-my-image-model',
    labels,
  };
}

/**
 * A Teachable Machine image export built as `@teachablemachine/image` builds one (teachable-mobilenet.ts,
 * `loadTruncatedMobileNet` and `train`): its MobileNet V2 0.35 trunk (the built-in trunk, the same weights) cut at
 * `out_relu`, in a Sequential with a global average pooling; a Sequential head (dense 100 ReLU, dense softmax
 * without bias, seeded); the two in one Sequential; model.json + weights.bin + metadata.json.
 */
export async function makeTeachableMachineExport(dir: string, labels: string[]): Promise<string> {
  const mobilenet = await tfl.loadLayersModel(tf.io.fromMemory((await readTfjsModel(path.join(getPretrained(BUILTIN_TRUNK)!.dir!, 'model.json'))).artifacts));
  const truncated = tfl.model({ inputs: mobilenet.inputs, outputs: mobilenet.getLayer('out_relu').output as tfl.SymbolicTensor });
  const features = tfl.sequential();
  features.add(truncated);
  features.add(tfl.layers.globalAveragePooling2d({}));
  const init = () => tfl.initializers.varianceScaling({ seed: 3.14 });
  const head = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [1280], units: 100, activation: 'relu', kernelInitializer: init(), useBias: true }),
      tfl.layers.dense({ units: labels.length, activation: 'softmax', kernelInitializer: init(), useBias: false }),
    ],
  });
  const joint = tfl.sequential();
  joint.add(features);
  joint.add(head);
  const art = await serializeModel(joint);
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(
    path.join(dir, 'model.json'),
    JSON.stringify({ modelTopology: art.modelJson.modelTopology, weightsManifest: art.modelJson.weightsManifest }),
  );
  await fsp.writeFile(path.join(dir, WEIGHTS_FILE), art.weights);
  await fsp.writeFile(path.join(dir, 'metadata.json'), JSON.stringify(teachableMachineMetadata(labels)));
  joint.dispose(); // and the trunk's layers with it (they are the loaded MobileNet's)
  return dir;
}
