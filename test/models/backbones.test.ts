import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { loadBackbone } from '../../src/models/backbones/load.js';
import { registerPretrained } from '../../src/models/backbones/pretrained.js';
import { loadModelDir } from '../../src/models/model-dir.js';
import { toInputTensor } from '../../src/models/preprocess.js';
import { assertClose as close, tempDir } from '../helpers.js';
import { makeFrugalModel, makeTfjsLayersDir, makeGraphModel, makeOnnxModel, serveFolder } from './fixtures.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend('wasm');
});

function randomPixels(n: number, size: number, seed: number): Uint8Array {
  const r = new Rng(seed);
  return Uint8Array.from({ length: n * size }, () => r.int(256));
}

test('a Frugal model directory: cut at `features`, its input spec and preprocessing', async () => {
  const dir = await makeFrugalModel(path.join(tempDir(), 'm'));
  const bb = await loadBackbone(dir);
  assert.equal(bb.kind, 'layers');
  assert.equal(bb.cut, 'features');
  assert.equal(bb.featureDim, 32);
  assert.deepEqual(bb.spec, { height: 16, width: 16, channels: 1, resize: 'squash' });
  assert.deepEqual(bb.preprocessing, { mean: [0.4], std: [0.3] });
  const px = randomPixels(3, 256, 1);
  const got = await bb.extract(px, 3);
  const { model } = await loadModelDir(dir);
  const direct = tfl.model({ inputs: model.inputs, outputs: model.getLayer('features').output as tfl.SymbolicTensor });
  close(got, (direct.predict(toInputTensor(px, 3, 16, 16, 1, { mean: [0.4], std: [0.3] })) as tf.Tensor).dataSync());
  // Another cut: a spatial layer gets global average pooling.
  const conv = await loadBackbone(dir, { cut: 's0b_relu' });
  assert.equal(conv.featureDim, 16);
  await assert.rejects(loadBackbone(dir, { cut: 'nope' }), /`cut: 'nope'`: no such layer/);
});

test('a TF.js layers model directory with a sidecar JSON', async () => {
  const dir = await makeTfjsLayersDir(path.join(tempDir(), 'tfjs'));
  const bb = await loadBackbone(dir);
  assert.equal(bb.kind, 'layers');
  assert.deepEqual(bb.spec, { height: 16, width: 16, channels: 1, resize: 'squash' });
  assert.deepEqual(bb.preprocessing, { mean: [0.4], std: [0.3] });
  assert.ok(bb.trunk);
  const viaJson = await loadBackbone(path.join(dir, 'model.json'));
  assert.equal(viaJson.id, bb.id);
});

test('a TF.js graph model (frozen): features computed as the graph says', async () => {
  const { dir, w } = await makeGraphModel(path.join(tempDir(), 'graph'));
  const bb = await loadBackbone(dir);
  assert.equal(bb.kind, 'graph');
  assert.equal(bb.featureDim, 4);
  assert.equal(bb.trunk, undefined);
  const px = randomPixels(2, 8 * 8 * 3, 2);
  const got = await bb.extract(px, 2);
  const want = new Float32Array(8);
  for (let i = 0; i < 2; i++) {
    const mean = [0, 0, 0];
    for (let p = 0; p < 64; p++) for (let c = 0; c < 3; c++) mean[c]! += px[(i * 64 + p) * 3 + c]! / 255 / 64;
    for (let j = 0; j < 4; j++) want[i * 4 + j] = mean[0]! * w[j]! + mean[1]! * w[4 + j]! + mean[2]! * w[8 + j]!;
  }
  close(got, want);
});

test('an ONNX model run by onnxruntime-node, NCHW, with a sidecar JSON', async () => {
  const { file, w } = await makeOnnxModel(path.join(tempDir(), 'net.onnx'));
  const bb = await loadBackbone(file);
  assert.equal(bb.kind, 'onnx');
  assert.equal(bb.featureDim, 4);
  const px = randomPixels(2, 8 * 8 * 3, 3);
  const got = await bb.extract(px, 2);
  const want = new Float32Array(8);
  for (let i = 0; i < 2; i++) {
    for (let p = 0; p < 64; p++) {
      const v = [0, 1, 2].map((c) => px[(i * 64 + p) * 3 + c]! / 255);
      for (let j = 0; j < 4; j++) want[i * 4 + j] += Math.max(0, v[0]! * w[j * 3]! + v[1]! * w[j * 3 + 1]! + v[2]! * w[j * 3 + 2]!) / 64;
    }
  }
  close(got, want);
  await assert.rejects(loadBackbone(file, { inputName: 'nope' }), /no input named "nope"/);
  await fsp.writeFile(path.join(path.dirname(file), 'broken.onnx'), 'not a model');
  await assert.rejects(loadBackbone(path.join(path.dirname(file), 'broken.onnx'), { size: 8 }), /cannot load the ONNX model/);
});

test('URLs: downloaded into the cache, checked, reused offline; bad downloads leave no cache entry', async () => {
  const root = tempDir();
  const cache = path.join(root, 'cache');
  process.env.FRUGAL_CACHE = cache;
  const served = path.join(root, 'served');
  await makeTfjsLayersDir(path.join(served, 'm'));
  await makeOnnxModel(path.join(served, 'o', 'net.onnx'));
  const server = await serveFolder(served);
  const entries = async () => (await fsp.readdir(path.join(cache, 'models')).catch(() => [])).filter((e) => !e.startsWith('.tmp'));
  // Failures that may pass are retried: a few milliseconds apart here.
  const quickRetries = { retryDelaySeconds: 0.01 };
  const leftovers = async () => (await fsp.readdir(path.join(cache, 'models')).catch(() => [])).filter((e) => e.startsWith('.tmp'));
  try {
    await assert.rejects(loadBackbone(`${server.url}/fail/m/model.json`, { download: quickRetries }), /server answered 500/);
    await assert.rejects(loadBackbone(`${server.url}/truncated/m/model.json`, { download: quickRetries }), /download (truncated|interrupted)/);
    await assert.rejects(loadBackbone(`${server.url}/m/model.json`, { sha256: '0'.repeat(64) }), /sha256 mismatch/);
    assert.deepEqual(await entries(), []);
    assert.deepEqual(await leftovers(), []);
    const sha = (await import('node:crypto'))
      .createHash('sha256')
      .update(await fsp.readFile(path.join(served, 'm', 'model.json')))
      .digest('hex');
    const bb = await loadBackbone(`${server.url}/m/model.json`, { sha256: sha, size: 16, channels: 1 });
    assert.equal(bb.kind, 'layers');
    assert.equal((await entries()).length, 1);
    const onnx = await loadBackbone(`${server.url}/o/net.onnx`, { size: 8 });
    assert.equal(onnx.featureDim, 4);
    registerPretrained({
      name: 'test-net',
      description: 'test',
      url: `${server.url}/m/model.json`,
      format: 'layers',
      size: 16,
      channels: 1,
      preprocessing: { mean: [0.4], std: [0.3] },
    });
    await server.close();
    // Offline: served from the cache.
    const again = await loadBackbone(`${server.url}/m/model.json`, { size: 16, channels: 1 });
    assert.equal(again.id, bb.id);
    const named = await loadBackbone('test-net');
    assert.equal(named.id, bb.id);
    assert.deepEqual(named.preprocessing, { mean: [0.4], std: [0.3] });
    await assert.rejects(loadBackbone(`${server.url}/other/model.json`, { download: quickRetries }), /download failed/);
  } finally {
    delete process.env.FRUGAL_CACHE;
  }
});
