import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { loadBackbone } from '../../src/models/backbones/load.js';
import { cutCandidates } from '../../src/models/backbones/layers.js';
import { loadModelDir } from '../../src/models/model-dir.js';
import { toInputTensor } from '../../src/models/preprocess.js';
import { trainTransfer } from '../../src/recipes/transfer.js';
import { Rng } from '../../src/util/rng.js';
import { FrugalError } from '../../src/util/errors.js';
import { assertClose as close, tempDir } from '../helpers.js';
import { writeToyFolder } from '../synthetic.js';
import { headlessTrunk, makeGraphModel, randomizeWeights, writeKerasConverted } from './fixtures.js';

const root = tempDir();
/** What a backbone without a sidecar gets: pixels / 127.5 − 1. */
const PRE = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

before(async () => {
  await initBackend('wasm');
  process.env.FRUGAL_CACHE = path.join(root, 'cache');
});

function pixels(n: number, size: number, seed: number): Uint8Array {
  const r = new Rng(seed);
  return Uint8Array.from({ length: n * size }, () => r.int(256));
}

/** `layer`'s output for preprocessed pixels, globally average-pooled when spatial. */
function direct(model: tfl.LayersModel, layer: string, px: Uint8Array, n: number, pre = PRE): Float32Array {
  const [h, w, c] = model.inputs[0]!.shape.slice(1) as number[];
  return tf.tidy(() => {
    const cut = tfl.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tfl.SymbolicTensor });
    const y = cut.predict(toInputTensor(px, n, h!, w!, c!, pre)) as tf.Tensor;
    return (y.rank === 4 ? tf.mean(y, [1, 2]) : y).dataSync() as Float32Array;
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- model.json files of any shape
async function readJson(dir: string): Promise<Record<string, any>> {
  return JSON.parse(await fsp.readFile(path.join(dir, 'model.json'), 'utf8'));
}

/** A small Keras-style functional classifier: conv → BN → ReLU6 → depthwise conv → global pooling → dense. */
function functionalClassifier(): tfl.LayersModel {
  const input = tfl.input({ shape: [16, 16, 3], name: 'input_1' });
  let x = tfl.layers.conv2d({ name: 'conv2d', filters: 8, kernelSize: 3, strides: 2, padding: 'same' }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ name: 'batch_normalization' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reLU({ name: 're_lu', maxValue: 6 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.depthwiseConv2d({ name: 'depthwise_conv2d', kernelSize: 3, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ name: 'dense', units: 3, activation: 'softmax' }).apply(x) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: x, name: 'model' });
  randomizeWeights(model, 3);
  return model;
}

test('a Keras-converted functional model (topology under model_config, class Functional or Model, Keras 2.x configs) loads as a layers backbone', async () => {
  const model = functionalClassifier();
  const px = pixels(3, 16 * 16 * 3, 1);
  const want = direct(model, 'global_average_pooling2d', px, 3);
  for (const className of ['Functional', 'Model']) {
    const dir = await writeKerasConverted(path.join(root, `functional-${className}`), model, { className });
    const json = await readJson(dir);
    // The converter's layout: no class_name at the top of modelTopology.
    assert.equal(json.modelTopology.class_name, undefined);
    assert.equal(json.modelTopology.model_config.class_name, className);
    assert.deepEqual(json.modelTopology.model_config.config.layers[0].config, {
      batch_input_shape: [null, 16, 16, 3],
      dtype: 'float32',
      sparse: false,
      ragged: false,
      name: 'input_1',
    });
    if (className === 'Model') {
      // Without a format field the topology decides.
      delete json.format;
      await fsp.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
    }
    const bb = await loadBackbone(dir);
    assert.equal(bb.kind, 'layers');
    assert.equal(bb.cut, 'global_average_pooling2d');
    assert.equal(bb.featureDim, 8);
    assert.deepEqual(bb.spec, { height: 16, width: 16, channels: 3, resize: 'squash' });
    assert.deepEqual(bb.preprocessing, PRE);
    close(await bb.extract(px, 3), want);
    // A spatial cut too (the batch norm's axis [3] read right).
    const relu = await loadBackbone(dir, { cut: 're_lu' });
    close(await relu.extract(px, 3), direct(model, 're_lu', px, 3));
    bb.dispose();
    relu.dispose();
  }
  model.dispose();
});

test('a Keras-converted Sequential loads; so does a Sequential of Sequentials (Teachable Machine), whose default cut is a clear error', async () => {
  const seq = tfl.sequential({
    name: 'sequential',
    layers: [
      tfl.layers.conv2d({ name: 'conv2d', inputShape: [16, 16, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ name: 'max_pooling2d', poolSize: 2 }),
      tfl.layers.conv2d({ name: 'conv2d_1', filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ name: 'dense', units: 3, activation: 'softmax' }),
    ],
  });
  randomizeWeights(seq, 4);
  const dir = await writeKerasConverted(path.join(root, 'sequential'), seq);
  const config = (await readJson(dir)).modelTopology.model_config;
  assert.equal(config.class_name, 'Sequential');
  assert.equal(config.config.layers[0].class_name, 'InputLayer');
  const px = pixels(2, 256, 2);
  const bb = await loadBackbone(dir, { mean: [0.4], std: [0.3] });
  assert.equal(bb.cut, 'flatten');
  assert.equal(bb.featureDim, 8 * 8 * 6);
  close(await bb.extract(px, 2), direct(seq, 'flatten', px, 2, { mean: [0.4], std: [0.3] }));
  bb.dispose();
  // Older Keras wrote a Sequential's config as the bare layer list.
  const listDir = await writeKerasConverted(path.join(root, 'sequential-list'), seq, {
    edit: (c) => {
      c.config = c.config.layers;
    },
  });
  assert.ok(Array.isArray((await readJson(listDir)).modelTopology.model_config.config));
  const fromList = await loadBackbone(listDir, { mean: [0.4], std: [0.3] });
  close(await fromList.extract(px, 2), direct(seq, 'flatten', px, 2, { mean: [0.4], std: [0.3] }));
  fromList.dispose();

  // A trunk model and a head model in a Sequential, as Teachable Machine exports are.
  const trunk = tfl.sequential({
    name: 'sequential_trunk',
    layers: [
      tfl.layers.conv2d({ name: 'conv', inputShape: [16, 16, 3], filters: 5, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tfl.layers.globalAveragePooling2d({ name: 'gap' }),
    ],
  });
  const head = tfl.sequential({
    name: 'sequential_head',
    layers: [
      tfl.layers.dense({ name: 'hidden', inputShape: [5], units: 4, activation: 'relu' }),
      tfl.layers.dense({ name: 'probs', units: 2, activation: 'softmax' }),
    ],
  });
  const nested = tfl.sequential({ name: 'sequential_outer', layers: [trunk, head] });
  randomizeWeights(trunk, 5);
  randomizeWeights(head, 6);
  const nestedDir = await writeKerasConverted(path.join(root, 'nested'), nested);
  const err = await loadBackbone(nestedDir).then(
    () => assert.fail('expected an error'),
    (e: Error) => e,
  );
  assert.match(err.message, /nests other models \(sequential_trunk, sequential_head\).*give `cut: '<layer>'`/);
  assert.doesNotMatch(err.message, /graph model/);
  const inner = await loadBackbone(nestedDir, { cut: 'sequential_trunk' });
  assert.equal(inner.featureDim, 5);
  const px3 = pixels(2, 16 * 16 * 3, 3);
  close(await inner.extract(px3, 2), (trunk.predict(toInputTensor(px3, 2, 16, 16, 3, PRE)) as tf.Tensor).dataSync());
  inner.dispose();
  nested.dispose();
  seq.dispose();
});

test('a headless trunk (MobileNetV2-like, ends at a ReLU map): the default cut is its output layer, globally average-pooled', async () => {
  const model = headlessTrunk(7);
  const dir = await writeKerasConverted(path.join(root, 'headless'), model);
  const bb = await loadBackbone(dir);
  assert.equal(bb.cut, 'out_relu');
  assert.equal(bb.pool, 'avg');
  assert.equal(bb.featureDim, 12);
  const px = pixels(3, 16 * 16 * 3, 4);
  const want = direct(model, 'out_relu', px, 3);
  assert.ok(
    want.some((v) => v > 0.01),
    'the features are not all zero',
  );
  close(await bb.extract(px, 3), want);
  // Candidates for --cut auto: the output, then the ends of the blocks before it (not Conv_1 / Conv_1_bn, which
  // out_relu ends; bn_Conv1 and Conv1_relu end the stem block `Conv1`).
  const candidates = ['out_relu', 'block_2_add', 'block_1_add', 'Conv1_relu'];
  assert.deepEqual(cutCandidates(model), candidates);
  assert.deepEqual(cutCandidates(bb.trunk!), candidates);
  const grid = bb.recut!('out_relu', 'grid2');
  assert.equal(grid.featureDim, 48);
  bb.dispose();
  model.dispose();
});

test('--cut auto on a headless trunk: every candidate scored, the best become the cut points of the trained model', async () => {
  const dir = await writeKerasConverted(path.join(root, 'headless-auto'), headlessTrunk(8));
  const data = await writeToyFolder(path.join(root, 'toy'), 10, 16, 9);
  const out = path.join(root, 'auto-out');
  const res = await trainTransfer(data, {
    out,
    backbone: dir,
    backboneOptions: { cut: 'auto' },
    mode: 'frozen',
    hyper: { epochs: 3, seed: 2 },
    featureCache: false,
  });
  const search = res.cutSearch!;
  assert.deepEqual(
    search.trials.map((t) => `${t.cut}/${t.pool}`),
    ['out_relu/avg', 'out_relu/grid2', 'block_2_add/avg', 'block_2_add/grid2', 'block_1_add/avg', 'block_1_add/grid2', 'Conv1_relu/avg', 'Conv1_relu/grid2'],
  );
  assert.equal(search.points.length, 3);
  assert.equal(new Set(search.points.map((p) => p.layer)).size, 3);
  const cut = search.points.map((p) => `${p.layer}:${p.pool}`).join(',');
  assert.equal(res.backbone.cut, cut);
  const meta = JSON.parse(await fsp.readFile(path.join(out, 'frugal.json'), 'utf8'));
  assert.equal(meta.backbone.cut, cut);
  assert.ok(res.accuracy >= 0 && res.accuracy <= 1);
  const { model } = await loadModelDir(out);
  assert.equal(model.layers.filter((l) => l.getClassName() === 'Dense' && l.name.startsWith('logits')).length, 3);
  model.dispose();
});

test('layers vs graph: format decides when present, else the topology; unknown layer classes and grouped convolutions are clear errors', async () => {
  // A graph model without a format field is still a graph model (it has a node list).
  const { dir: graphDir } = await makeGraphModel(path.join(root, 'graph'));
  const graphJson = await readJson(graphDir);
  delete graphJson.format;
  await fsp.writeFile(path.join(graphDir, 'model.json'), JSON.stringify(graphJson));
  assert.equal((await loadBackbone(graphDir, { cut: 'features' })).kind, 'graph');

  const model = functionalClassifier();
  const unknown = await writeKerasConverted(path.join(root, 'unknown-layer'), model, {
    edit: (c) => {
      c.config.layers[3].class_name = 'TFOpLambda';
    },
  });
  await assert.rejects(loadBackbone(unknown), (e: Error) => {
    assert.match(e.message, /unknown-layer\/model\.json: layer "re_lu" \(TFOpLambda\): TF\.js layers has no TFOpLambda layer/);
    return true;
  });
  const grouped = await writeKerasConverted(path.join(root, 'grouped'), model, {
    edit: (c) => {
      c.config.layers[1].config.groups = 2;
    },
  });
  await assert.rejects(loadBackbone(grouped), /grouped\/model\.json: layer "conv2d" \(Conv2D\): a grouped convolution \(groups 2\)/);
  const neither = path.join(root, 'neither');
  await fsp.mkdir(neither, { recursive: true });
  await fsp.writeFile(path.join(neither, 'model.json'), JSON.stringify({ modelTopology: { config: {} }, weightsManifest: [] }));
  await assert.rejects(loadBackbone(neither), /neither a TF\.js layers model .* nor a graph model/);
  model.dispose();
});

test('a weights file shorter (or longer) than model.json declares is a clear error naming the file, not a stack trace', async () => {
  const model = headlessTrunk(7);
  const dir = await writeKerasConverted(path.join(root, 'short-weights'), model);
  model.dispose();
  const manifest = JSON.parse(await fsp.readFile(path.join(dir, 'model.json'), 'utf8'));
  const weights = path.join(dir, manifest.weightsManifest[0].paths[0]);
  const bytes = await fsp.readFile(weights);
  await fsp.writeFile(weights, bytes.subarray(0, bytes.length - 64));
  await assert.rejects(loadBackbone(dir), (e: Error) => {
    assert.ok(e instanceof FrugalError, `${e.constructor.name}: ${e.message}`);
    assert.match(e.message, /model\.json: its weight files hold \d+ bytes, but it declares \d+ \(truncated\?\)/);
    return true;
  });
  await fsp.writeFile(weights, Buffer.concat([bytes, Buffer.alloc(8)]));
  await assert.rejects(loadBackbone(dir), /declares \d+ \(from another model\?\)/);
});

test('a fully convolutional trunk runs at another input size with the same weights; a model tied to its size says so', async () => {
  const model = headlessTrunk(7);
  const dir = await writeKerasConverted(path.join(root, 'resized'), model);
  const bb = await loadBackbone(dir, { size: 24 });
  assert.deepEqual(bb.trunk!.inputs[0]!.shape, [null, 24, 24, 3]);
  assert.equal(bb.ref.input.height, 24);
  // The reference: the same layers and weights, built for 24×24 inputs.
  const input = tfl.input({ shape: [24, 24, 3] });
  const same = tfl.model({ inputs: input, outputs: tfl.model({ inputs: model.inputs, outputs: model.outputs }).apply(input) as tfl.SymbolicTensor });
  const px = pixels(2, 24 * 24 * 3, 5);
  const want = tf.tidy(() => tf.mean(same.predict(toInputTensor(px, 2, 24, 24, 3, PRE)) as tf.Tensor, [1, 2]).dataSync() as Float32Array);
  assert.ok(want.some((v) => v > 0.01));
  close(await bb.extract(px, 2), want);
  bb.dispose();
  // At its own size nothing is rebuilt.
  const own = await loadBackbone(dir, { size: 16 });
  assert.deepEqual(own.trunk!.inputs[0]!.shape, [null, 16, 16, 3]);
  own.dispose();
  model.dispose();

  // Flatten → Dense: the Dense kernel is tied to the 16×16 input.
  const x = tfl.input({ shape: [16, 16, 3], name: 'input_1' });
  const c = tfl.layers.conv2d({ name: 'conv', filters: 4, kernelSize: 3, strides: 2, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
  const f = tfl.layers.flatten({ name: 'flatten' }).apply(c) as tfl.SymbolicTensor;
  const tied = tfl.model({ inputs: x, outputs: tfl.layers.dense({ name: 'dense', units: 3 }).apply(f) as tfl.SymbolicTensor });
  const tiedDir = await writeKerasConverted(path.join(root, 'tied'), tied);
  await assert.rejects(loadBackbone(tiedDir, { size: 24 }), (e: Error) => {
    assert.ok(e instanceof FrugalError, `${e.constructor.name}: ${e.message}`);
    assert.match(e.message, /tied\/model\.json: cannot run the layers model on 24×24 images, other than the size it was saved with/);
    return true;
  });
  tied.dispose();
});
