import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { loadBackbone } from '../../src/models/backbones/load.js';
import { BUILTIN_TRUNK, getPretrained, isBuiltin, resolveBackbone } from '../../src/models/backbones/pretrained.js';
import { cutCandidates } from '../../src/models/backbones/layers.js';
import { readTfjsModel } from '../../src/models/backbones/files.js';
import { Rng } from '../../src/util/rng.js';
import { ROOT, tempDir } from '../helpers.js';

before(async () => {
  await initBackend('wasm');
});

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await fsp.readFile(file))
    .digest('hex');

test('the built-in trunk ships in the package with its licence, and its files are the ones the README names', async () => {
  const entry = getPretrained(BUILTIN_TRUNK)!;
  assert.ok(entry && isBuiltin(entry));
  assert.equal(path.resolve(entry.dir!), path.join(ROOT, 'assets', 'models', BUILTIN_TRUNK));
  const readme = await fsp.readFile(path.join(entry.dir!, 'README.md'), 'utf8');
  assert.match(await fsp.readFile(path.join(entry.dir!, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
  for (const file of ['model.json', 'weights.bin']) assert.ok(readme.includes(await sha256(path.join(entry.dir!, file))), `${file}: digest not in README.md`);
  assert.equal(await sha256(path.join(entry.dir!, 'model.json')), entry.sha256);
});

test('the built-in trunk loads by name with no network: the centre square at 224×224×3 in, 1,280 pooled features out, fine-tunable', async () => {
  const cache = tempDir();
  const bb = await loadBackbone(BUILTIN_TRUNK, { cacheDir: cache });
  assert.deepEqual(await fsp.readdir(cache), []); // nothing downloaded, nothing cached
  assert.equal(bb.kind, 'layers');
  assert.ok(bb.trunk);
  assert.deepEqual(bb.spec, { height: 224, width: 224, channels: 3, resize: 'center-crop' });
  assert.deepEqual(bb.preprocessing, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.equal(bb.cut, 'out_relu');
  assert.equal(bb.featureDim, 1280);
  assert.equal(bb.ref.source, BUILTIN_TRUNK); // model folders refer to it by name
  // Real ImageNet weights, not a random init: ReLU6 features, sparse, and different images give different features.
  const r = new Rng(3);
  const px = Uint8Array.from({ length: 2 * 224 * 224 * 3 }, () => r.int(256));
  px.fill(40, 0, (224 * 224 * 3) / 2); // the first image half dark
  const before = tf.memory().numTensors;
  const f = await bb.extract(px, 2);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(f.length, 2 * 1280);
  assert.ok(f.every((v) => Number.isFinite(v) && v >= 0 && v <= 6));
  let diff = 0;
  for (let i = 0; i < 1280; i++) diff += Math.abs(f[i]! - f[1280 + i]!);
  assert.ok(diff / 1280 > 1e-3, `features of two different images differ by ${diff / 1280} on average`);
  // Cut points for --cut auto: the output layer first, then the ends of earlier blocks.
  const raw = await loadRaw();
  const candidates = cutCandidates(raw);
  assert.equal(candidates[0], 'out_relu');
  assert.equal(new Set(candidates).size, candidates.length);
  assert.ok(candidates.length >= 3, candidates.join(', '));
  raw.dispose();
  bb.dispose();
});

/** The trunk's layers model as the file holds it (no cut, no pooling). */
async function loadRaw() {
  const files = await readTfjsModel(path.join(getPretrained(BUILTIN_TRUNK)!.dir!, 'model.json'));
  return tfl.loadLayersModel(tf.io.fromMemory(files.artifacts));
}

test('which backbone a training command uses: the built-in trunk unless `none` or a from-scratch architecture', () => {
  assert.equal(resolveBackbone(undefined), BUILTIN_TRUNK);
  assert.equal(resolveBackbone('none'), undefined);
  assert.equal(resolveBackbone(undefined, 'cnn-small'), undefined);
  assert.equal(resolveBackbone('./pretrained'), './pretrained');
});
