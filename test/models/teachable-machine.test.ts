/**
 * A Teachable Machine image export as a backbone: its nested MobileNet trunk (the built-in trunk's weights), fed as
 * Teachable Machine feeds it, with a new head. On an export the test builds as Teachable Machine's library builds
 * one, and on the real export in ../shared/models/teachable-machine-export when that folder exists.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { loadBackbone } from '../../src/models/backbones/load.js';
import { BUILTIN_TRUNK } from '../../src/models/backbones/pretrained.js';
import { TM_PREPROCESSING } from '../../src/models/backbones/teachable-machine.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import { Rng } from '../../src/util/rng.js';
import { fixtureClasses } from '../fixture-sets.js';
import { ROOT, runCli, tempDir } from '../helpers.js';
import { makeTeachableMachineExport, teachableMachineMetadata } from './fixtures.js';

/** The unmodified export of a real Teachable Machine project (not in the repository: absent on a clean clone). */
const SHARED_EXPORT = path.join(ROOT, '..', 'shared', 'models', 'teachable-machine-export');

let built: string;

before(async () => {
  await initBackend('wasm');
  built = await makeTeachableMachineExport(path.join(tempDir(), 'tm'), ['left', 'right']);
});

const maxDifference = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

for (const [name, source] of [
  ['an export built as Teachable Machine builds one', () => built],
  ['the real export in ../shared', () => SHARED_EXPORT],
] as const) {
  test(`${name}: its trunk, fed as Teachable Machine feeds it, is the built-in trunk (the same weights)`, async (t) => {
    const dir = source();
    if (!existsSync(dir)) return t.skip(`${dir} is not here`);
    const before = tf.memory().numTensors;
    const tm = await loadBackbone(dir);
    assert.equal(tm.kind, 'layers');
    assert.equal(tm.ref.source, path.resolve(dir, 'model.json'));
    assert.deepEqual(tm.spec, { height: 224, width: 224, channels: 3, resize: 'center-crop' }); // Teachable Machine crops the centre square
    assert.deepEqual(tm.preprocessing, TM_PREPROCESSING);
    assert.match(tm.cut, /^global_average_pooling2d/); // the pooling before Teachable Machine's head
    assert.equal(tm.featureDim, 1280);
    assert.equal(tm.imagenetTrunk, true);
    // One flat model: every layer of the MobileNet can be cut at (and fine-tuned).
    assert.ok(!tm.trunk!.layers.some((l) => l instanceof tfl.LayersModel));
    const deeper = tm.recut!('block_16_project_BN', 'avg');
    assert.equal(deeper.featureDim, 112);

    const r = new Rng(5);
    const pixels = Uint8Array.from({ length: 2 * 224 * 224 * 3 }, () => r.int(256));
    // Fed the same input, the trunk gives the built-in trunk's features: the same weights, up to the same layer.
    const builtinAsTm = await loadBackbone(BUILTIN_TRUNK, { mean: TM_PREPROCESSING.mean, std: TM_PREPROCESSING.std });
    const features = await tm.extract(pixels, 2);
    const difference = maxDifference(features, await builtinAsTm.extract(pixels, 2));
    t.diagnostic(`largest feature difference from the built-in trunk: ${difference}`);
    assert.ok(difference <= 1e-5, `${difference}`);
    assert.ok(features.some((v) => v > 0.1));
    // Its pixel/127 − 1 is not quite the built-in trunk's pixel/127.5 − 1 (given as options, the scaling is Keras's).
    const keras = await loadBackbone(dir, { mean: [0.5], std: [0.5] });
    assert.deepEqual(keras.preprocessing, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    const builtin = await loadBackbone(BUILTIN_TRUNK);
    assert.ok(maxDifference(await keras.extract(pixels, 2), await builtin.extract(pixels, 2)) <= 1e-5);
    for (const b of [tm, deeper, builtinAsTm, keras, builtin]) b.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensors left over');
  });
}

test('a Teachable Machine export is found by its metadata.json or its nesting; a pose model and broken metadata are refused by file', async () => {
  const dir = tempDir();
  const copy = async (name: string, metadata: string | null) => {
    const to = path.join(dir, name);
    await fsp.mkdir(to);
    for (const f of ['model.json', 'weights.bin']) await fsp.copyFile(path.join(built, f), path.join(to, f));
    if (metadata !== null) await fsp.writeFile(path.join(to, 'metadata.json'), metadata);
    return to;
  };
  // No metadata.json: the nesting alone says Teachable Machine (its input size from the model).
  const bare = await loadBackbone(await copy('bare', null));
  assert.deepEqual(bare.spec, { height: 224, width: 224, channels: 3, resize: 'center-crop' });
  assert.deepEqual(bare.preprocessing, TM_PREPROCESSING);
  bare.dispose();
  // A model.json given as a file finds the metadata beside it; options win over it.
  const crop = await loadBackbone(path.join(await copy('squash', JSON.stringify(teachableMachineMetadata(['a', 'b']))), 'model.json'), { resize: 'squash' });
  assert.equal(crop.spec.resize, 'squash');
  crop.dispose();
  const pose = await copy('pose', JSON.stringify({ ...teachableMachineMetadata(['a', 'b']), packageName: '@teachablemachine/pose' }));
  await assert.rejects(loadBackbone(pose), {
    message: `${path.join(pose, 'metadata.json')}: a Teachable Machine model for @teachablemachine/pose, not an image model (@teachablemachine/image): Frugal takes image models only`,
  });
  const broken = await copy('broken', '{"labels": ');
  await assert.rejects(loadBackbone(broken), { message: new RegExp(`^${path.join(broken, 'metadata.json')}: corrupt JSON`) });
  const noLabels = await copy('no-labels', JSON.stringify({ ...teachableMachineMetadata([]), labels: 'a,b' }));
  await assert.rejects(loadBackbone(noLabels), {
    message: new RegExp(`^${path.join(noLabels, 'metadata.json')}: invalid Teachable Machine metadata at "labels"`),
  });
});

test('frugal train --backbone <Teachable Machine export> learns on held-out images with its own cut, and exports back to Teachable Machine as is', async (t) => {
  const root = tempDir();
  const classes = ['trouser', 'bag', 'sneaker'];
  const train = await fixtureClasses(path.join(root, 'train'), classes, 15);
  const out = path.join(root, 'model');
  const env = { FRUGAL_CACHE: path.join(root, 'cache') };
  const res = runCli(['train', train, '--backbone', built, '--out', out, '--seed', '1', '--json'], env);
  assert.equal(res.status, 0, res.stderr);
  const summary = JSON.parse(res.stdout);
  // 15 images per class and a trunk of its own would choose cuts by cross-validation; this ImageNet trunk keeps its own.
  assert.equal(summary.cutSearch, null);
  assert.match(summary.backbone.cut, /^global_average_pooling2d/);
  assert.equal(summary.backbone.source, path.join(built, 'model.json'));
  // Held-out test images it never saw: well above chance (1/3).
  const heldOut = path.join(root, 'test');
  for (const c of classes) {
    await fsp.mkdir(path.join(heldOut, c), { recursive: true });
    const dir = path.join(ROOT, 'test', 'fixtures', 'fmnist', 'test', c);
    for (const f of (await fsp.readdir(dir)).sort().slice(0, 20)) await fsp.symlink(path.join(dir, f), path.join(heldOut, c, f));
  }
  const report = await evaluateModel(out, heldOut, { cache: false });
  assert.equal(report.count, 60);
  t.diagnostic(`held-out accuracy ${report.accuracy} on ${report.count} images`);
  assert.ok(report.accuracy >= 0.8, `held-out accuracy ${report.accuracy}`);
  // Trained on Teachable Machine's own input: the export needs no scaling layer.
  const back = runCli(['export', out, '--format', 'teachable-machine', '--out', path.join(root, 'tm'), '--json']);
  assert.equal(back.status, 0, back.stderr);
  const exported = JSON.parse(back.stdout);
  assert.equal(exported.inputScaling, null);
  assert.deepEqual(exported.labels, ['bag', 'sneaker', 'trouser']);
  assert.deepEqual(exported.notes, []); // trained on the centre square, as Teachable Machine crops
});
