import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { getArch, listArchs } from '../../src/models/zoo/index.js';
import { initWeights, countParams } from '../../src/models/init.js';
import { saveModelDir, loadModelDir, newMeta } from '../../src/models/model-dir.js';
import { tempDir } from '../helpers.js';

before(async () => {
  await initBackend('wasm');
});

const meta = () =>
  newMeta({
    classes: ['a', 'b', 'c'],
    input: { height: 20, width: 20, channels: 3, resize: 'squash' },
    preprocessing: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
  });

/** A cnn-tiny for 20×20×3 images and 3 classes, its weights drawn from `seed`. */
function tinyModel(seed: number) {
  const model = getArch('cnn-tiny')!.build({ inputShape: [20, 20, 3], numClasses: 3 });
  initWeights(model, seed);
  return model;
}

test('every zoo architecture builds for any input size and channel count, and predicts', () => {
  for (const arch of listArchs()) {
    for (const shape of [
      [28, 28, 1],
      [40, 36, 3],
    ] as Array<[number, number, number]>) {
      const model = arch.build({ inputShape: shape, numClasses: 4, dropout: 0.1, dropPath: 0.1 });
      initWeights(model, 0);
      const y = model.predict(tf.zeros([2, ...shape])) as tf.Tensor;
      assert.deepEqual(y.shape, [2, 4], arch.name);
      const sums = tf.sum(y, -1).dataSync();
      for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-4);
      y.dispose();
      assert.ok(countParams(model) > 1000);
      model.dispose();
    }
  }
});

test('save → load round trip gives the same predictions; noise layers are stripped from model.json', async () => {
  const dir = tempDir();
  const model = getArch('resnet8')!.build({ inputShape: [20, 20, 3], numClasses: 3, dropout: 0.5, dropPath: 0.2 });
  initWeights(model, 1);
  await saveModelDir(dir, model, meta());
  const json = await fsp.readFile(path.join(dir, 'model.json'), 'utf8');
  assert.doesNotMatch(json, /FrugalDrop/);
  assert.match(json, /"format": "layers-model"/);
  const loaded = await loadModelDir(dir);
  const x = tf.randomUniform([2, 20, 20, 3], 0, 1, 'float32', 3);
  const a = (model.predict(x) as tf.Tensor).dataSync();
  const b = (loaded.model.predict(x) as tf.Tensor).dataSync();
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6);
  assert.deepEqual(loaded.meta.classes, ['a', 'b', 'c']);
});

test('a wrong or corrupt model directory fails clearly', async () => {
  const dir = tempDir();
  const model = getArch('cnn-tiny')!.build({ inputShape: [20, 20, 3], numClasses: 3 });
  await saveModelDir(dir, model, meta());
  await assert.rejects(loadModelDir(path.join(dir, 'nope')), /no such model directory/);
  await assert.rejects(loadModelDir(path.dirname(dir)), /not a Frugal model directory \(no frugal\.json\)/);
  const weights = path.join(dir, 'weights.bin');
  const good = await fsp.readFile(weights);
  await fsp.writeFile(weights, good.subarray(0, 100));
  await assert.rejects(loadModelDir(dir), /weights\.bin: not the file frugal\.json was written with \(100 bytes/);
  // A folder whose frugal.json lists no files (written before it did) still has its weights checked against model.json.
  const metaFile = path.join(dir, 'frugal.json');
  const { files, ...m } = JSON.parse(await fsp.readFile(metaFile, 'utf8'));
  assert.equal(files['weights.bin'].bytes, good.length);
  await fsp.writeFile(metaFile, JSON.stringify(m));
  await assert.rejects(loadModelDir(dir), /weights are corrupt or truncated \(100 bytes/);
  await fsp.writeFile(weights, good);
  await fsp.writeFile(metaFile, JSON.stringify({ ...m, classes: ['a', 'b'] }));
  await assert.rejects(loadModelDir(dir), /3 outputs but frugal\.json names 2 classes/);
  await fsp.writeFile(metaFile, JSON.stringify({ ...m, input: { ...m.input, height: 'tall' } }));
  await assert.rejects(loadModelDir(dir), /invalid model metadata at "input\.height"/);
  await fsp.writeFile(metaFile, '{ not json');
  await assert.rejects(loadModelDir(dir), /corrupt JSON/);
  await fsp.writeFile(metaFile, JSON.stringify(m));
  await fsp.writeFile(path.join(dir, 'model.json'), '{"hello": 1}');
  await assert.rejects(loadModelDir(dir), /not a TF\.js layers model/);
});

test('a folder whose files disagree is refused: weights of another model of the same shape under this frugal.json', async () => {
  const dir = tempDir();
  const other = tempDir();
  const [a, b] = [tinyModel(1), tinyModel(2)];
  await saveModelDir(dir, a, meta());
  await saveModelDir(other, b, meta());
  // What a crash between writing the files left before: the new weights beside the old model.json and frugal.json.
  await fsp.copyFile(path.join(other, 'weights.bin'), path.join(dir, 'weights.bin'));
  await assert.rejects(loadModelDir(dir), /weights\.bin: not the file frugal\.json was written with .*the folder mixes two models/);
  await fsp.copyFile(path.join(other, 'model.json'), path.join(dir, 'model.json'));
  await fsp.copyFile(path.join(other, 'frugal.json'), path.join(dir, 'frugal.json'));
  await loadModelDir(dir);
});

test('writing over a model swaps the whole folder: its other files stay, nothing is left beside it', async () => {
  const parent = tempDir();
  const dir = path.join(parent, 'model');
  const [a, b] = [tinyModel(1), tinyModel(2)];
  await saveModelDir(dir, a, meta());
  await fsp.writeFile(path.join(dir, 'report.html'), 'report');
  await fsp.mkdir(path.join(dir, 'round-1'));
  await fsp.writeFile(path.join(dir, 'round-1', 'x.json'), '{}');
  await saveModelDir(dir, b, { ...meta(), classes: ['x', 'y', 'z'] });
  const loaded = await loadModelDir(dir);
  assert.deepEqual(loaded.meta.classes, ['x', 'y', 'z']);
  const x = tf.randomUniform([1, 20, 20, 3], 0, 1, 'float32', 3);
  assert.deepEqual(Array.from((loaded.model.predict(x) as tf.Tensor).dataSync()), Array.from((b.predict(x) as tf.Tensor).dataSync()));
  assert.equal(await fsp.readFile(path.join(dir, 'report.html'), 'utf8'), 'report');
  assert.equal(await fsp.readFile(path.join(dir, 'round-1', 'x.json'), 'utf8'), '{}');
  assert.deepEqual(await fsp.readdir(parent), ['model']);
});

test('a write interrupted between its two renames: the previous model is named, then put back by the next write', async () => {
  const parent = tempDir();
  const dir = path.join(parent, 'model');
  const a = tinyModel(1);
  await saveModelDir(dir, a, meta());
  // The state a crash leaves after the old folder was moved aside and before the new one was moved in.
  const gone = spawnSync('true').pid;
  const previous = path.join(parent, `.model.frugal-old-${gone}-0000`);
  await fsp.rename(dir, previous);
  await fsp.mkdir(path.join(parent, `.model.frugal-new-${gone}-0000`));
  await assert.rejects(loadModelDir(dir), (err: Error) => err.message.includes('interrupted') && err.message.includes(previous));
  const b = tinyModel(2);
  await saveModelDir(dir, b, meta());
  await loadModelDir(dir);
  assert.deepEqual(await fsp.readdir(parent), ['model']);
});
