/**
 * `frugal export --format teachable-machine`: the real `@teachablemachine/image` library (its browser bundle, in
 * headless Chromium) loads the export and gives Frugal's probabilities; what Teachable Machine cannot run is refused.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { trainTransfer } from '../../src/recipes/transfer.js';
import { exportTeachableMachine, TM_INPUT_SCALING } from '../../src/export/teachable-machine.js';
import { loadPredictor } from '../../src/evaluate/predictor.js';
import { predictImages } from '../../src/evaluate/predict-images.js';
import { decodeImage } from '../../src/data/decode.js';
import { saveModelDir, newMeta, type ModelMeta } from '../../src/models/model-dir.js';
import { TM_PREPROCESSING } from '../../src/models/backbones/teachable-machine.js';
import { readTfjsModel } from '../../src/models/backbones/files.js';
import { fixtureClasses } from '../fixture-sets.js';
import { openServedPage } from '../browser.js';
import { tempDir, runCli, FIXTURE } from '../helpers.js';
import { makeFrugalModel } from '../models/fixtures.js';

const require = createRequire(import.meta.url);
const CLASSES = ['trouser', 'bag', 'sneaker'];
const SIZE = 224;

let root: string;
let model: string;

before(async () => {
  await initBackend('wasm');
  root = tempDir();
  // A frozen head on the built-in trunk (TM's own MobileNet V2 0.35): 10 images per class, features not cached.
  const data = await fixtureClasses(path.join(root, 'data'), CLASSES, 10);
  model = (await trainTransfer(data, { out: path.join(root, 'model'), hyper: { seed: 1 }, cache: false })).out;
});

/**
 * Held-out images the comparison is run on: a class the model knows, and two it was not trained on, where it is
 * unsure (about 0.6 against 0.4) and its probabilities move with small changes of the input: feeding the model
 * pixel/127 − 1 where it was trained on pixel/127.5 − 1 moves them by up to 1e-3 there.
 */
const IMAGES = ['trouser', 'coat', 'shirt'];

/** Agreement of Teachable Machine's probabilities with Frugal's: 10× finer than that mistake. */
const TOLERANCE = 1e-4;

/**
 * 224×224 RGB PNGs of the first test image of each of `IMAGES` (tinted so that the channels differ), and their
 * pixels: at the model's size, so Frugal's decoder and the browser's canvas see the same pixels (no resampling).
 */
async function squareImages(dir: string): Promise<Array<{ file: string; pixels: Uint8Array }>> {
  await fsp.mkdir(dir, { recursive: true });
  const images = [];
  for (const c of IMAGES) {
    const source = path.join(FIXTURE, 'test', c, (await fsp.readdir(path.join(FIXTURE, 'test', c))).sort()[0]!);
    const grey = await sharp(source).greyscale().resize(SIZE, SIZE, { kernel: 'cubic' }).raw().toBuffer();
    const pixels = new Uint8Array(SIZE * SIZE * 3);
    for (let i = 0; i < SIZE * SIZE; i++) pixels.set([grey[i]!, Math.round(grey[i]! * 0.85), Math.round(grey[i]! * 0.7 + 20)], i * 3);
    const file = path.join(dir, `${c}.png`);
    await sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 3 } })
      .png()
      .toFile(file);
    images.push({ file, pixels });
  }
  return images;
}

const vendor = (pkg: string, file: string) => path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'dist', file);

/**
 * @tensorflow/tfjs-core's browser bundle, unlike @tensorflow/tfjs's, leaves out the chained tensor methods
 * (`x.div(y)`, registered by the full bundle); Teachable Machine's bundle (built against TF.js 1.3.1, whose `tf` it
 * takes from the page) calls these five on the way from an image to the model's input.
 */
const CHAINED_METHODS = `
for (const name of ['slice', 'expandDims', 'div', 'sub']) tf.Tensor.prototype[name] = function (...args) { return tf[name](this, ...args); };
tf.Tensor.prototype.toFloat = function () { return tf.cast(this, 'float32'); };`;

test("Teachable Machine's own library (@teachablemachine/image, in Chromium) loads the export and gives the model's probabilities", async (t) => {
  const site = path.join(root, 'site');
  const exported = await exportTeachableMachine(model, path.join(site, 'tm'));
  const images = await squareImages(path.join(site, 'images'));
  await fsp.mkdir(path.join(site, 'vendor'));
  const scripts: Array<[string, string]> = [
    ['@tensorflow/tfjs-core', 'tf-core.min.js'],
    ['@tensorflow/tfjs-layers', 'tf-layers.min.js'],
    ['@tensorflow/tfjs-backend-cpu', 'tf-backend-cpu.min.js'],
    ['@teachablemachine/image', 'teachablemachine-image.min.js'],
  ];
  for (const [pkg, file] of scripts) await fsp.copyFile(vendor(pkg, file), path.join(site, 'vendor', file));
  const tags = scripts.map(([, file]) => `<script src="vendor/${file}"></script>`);
  tags.splice(3, 0, `<script>${CHAINED_METHODS}</script>`);
  await fsp.writeFile(path.join(site, 'index.html'), `<!doctype html><meta charset="utf-8">${tags.join('')}`);

  // Frugal's side: the predictor on the same files (its decoder reads exactly the pixels written).
  const predictor = await loadPredictor(model);
  const ours = new Map<string, Record<string, number>>();
  try {
    for (const { file, pixels } of images) {
      const decoded = await decodeImage(await fsp.readFile(file), predictor.spec);
      assert.deepEqual(decoded.image.data, pixels, `${file}: Frugal decodes other pixels than those written`);
    }
    const samples = images.map(({ file }) => ({ path: file, label: null }));
    for await (const p of predictImages(predictor, samples, { top: CLASSES.length, cache: false })) {
      assert.ok('top' in p, JSON.stringify(p));
      ours.set(path.basename(p.path), Object.fromEntries(p.top.map((c) => [c.class, c.probability])));
    }
  } finally {
    predictor.dispose();
  }

  const { page, errors } = await openServedPage(site);
  const theirs = await page.evaluate(
    async (files) => {
      const w = window as unknown as {
        tf: { setBackend(name: string): Promise<boolean>; browser: { fromPixels(img: HTMLImageElement): { dataSync(): Uint8Array; dispose(): void } } };
        tmImage: {
          load(
            model: string,
            metadata: string,
          ): Promise<{
            getTotalClasses(): number;
            getClassLabels(): string[];
            predict(img: HTMLImageElement): Promise<Array<{ className: string; probability: number }>>;
          }>;
        };
      };
      await w.tf.setBackend('cpu');
      const tm = await w.tmImage.load('tm/model.json', 'tm/metadata.json');
      const results = [];
      for (const file of files) {
        const img = new Image();
        img.src = `images/${file}`;
        await img.decode();
        const seen = w.tf.browser.fromPixels(img);
        const pixels = Array.from(seen.dataSync());
        seen.dispose();
        results.push({ file, pixels, prediction: await tm.predict(img) });
      }
      return { classes: tm.getTotalClasses(), labels: tm.getClassLabels(), results };
    },
    images.map(({ file }) => path.basename(file)),
  );

  assert.deepEqual(errors, []);
  assert.equal(theirs.classes, CLASSES.length);
  assert.deepEqual(theirs.labels, exported.labels);
  let maxDifference = 0;
  for (const [i, r] of theirs.results.entries()) {
    assert.deepEqual(Uint8Array.from(r.pixels), images[i]!.pixels, `${r.file}: the browser sees other pixels than those written`);
    const own = ours.get(r.file)!;
    const top = (p: Record<string, number>) => Object.entries(p).sort((a, b) => b[1] - a[1])[0]![0];
    const tmProbabilities = Object.fromEntries(r.prediction.map((c) => [c.className, c.probability]));
    assert.equal(top(tmProbabilities), top(own), `${r.file}: Teachable Machine says ${top(tmProbabilities)}, Frugal ${top(own)}`);
    for (const c of CLASSES) maxDifference = Math.max(maxDifference, Math.abs(tmProbabilities[c]! - own[c]!));
  }
  const shown = theirs.results.map((r) => `${r.file} ${r.prediction.map((c) => `${c.className} ${c.probability.toPrecision(4)}`).join(' ')}`);
  t.diagnostic(`Teachable Machine's library (cpu backend, Chromium): ${shown.join('; ')}`);
  t.diagnostic(`largest probability difference from Frugal's predictor (wasm backend, Node): ${maxDifference.toExponential(2)}`);
  assert.ok(maxDifference <= TOLERANCE, `probabilities differ by ${maxDifference}`);
});

test('the export: one flat TF.js model starting with the fixed scaling from pixel/127 − 1, and the metadata Teachable Machine reads', async () => {
  const out = path.join(root, 'tm-files');
  const before = tf.memory().numTensors;
  const res = await exportTeachableMachine(model, out);
  assert.equal(tf.memory().numTensors, before, 'tensors left over by the export');
  assert.deepEqual((await fsp.readdir(out)).sort(), ['metadata.json', 'model.json', 'weights.bin']);
  const metadata = JSON.parse(await fsp.readFile(path.join(out, 'metadata.json'), 'utf8'));
  assert.deepEqual(metadata.labels, ['bag', 'sneaker', 'trouser']);
  assert.equal(metadata.imageSize, 224);
  assert.equal(metadata.packageName, '@teachablemachine/image');
  assert.equal(typeof metadata.tfjsVersion, 'string');
  // The built-in trunk's [-1, 1] (mean = std = 0.5) from Teachable Machine's pixel/127 − 1: x·254/255 − 1/255.
  assert.deepEqual(res.inputScaling?.layer, TM_INPUT_SCALING);
  for (const s of res.inputScaling!.scale) assert.ok(Math.abs(s - 254 / 255) < 1e-12);
  for (const o of res.inputScaling!.offset) assert.ok(Math.abs(o + 1 / 255) < 1e-12);
  assert.equal(res.addedSoftmax, false);
  assert.ok(res.maxDifference < 1e-5, `${res.maxDifference}`);
  // The built-in trunk is fed the centre square, as Teachable Machine's library feeds it: nothing to warn about.
  assert.deepEqual(res.notes, []);
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory((await readTfjsModel(path.join(out, 'model.json'))).artifacts));
  assert.deepEqual(loaded.inputs[0]!.shape, [null, 224, 224, 3]);
  assert.deepEqual(loaded.outputs[0]!.shape, [null, 3]);
  assert.ok(!loaded.layers.some((l) => l instanceof tfl.LayersModel), 'a nested model');
  const scaling = loaded.layers[1]!;
  assert.equal(scaling.name, TM_INPUT_SCALING);
  assert.equal(scaling.trainable, false);
  loaded.dispose();
});

/** A 224×224×3 model folder: 1×1 convolution, global pooling, then `top` (its output) over 3 classes. */
async function smallModel(dir: string, top: (features: tfl.SymbolicTensor) => tfl.SymbolicTensor, meta: Partial<ModelMeta> = {}): Promise<string> {
  const input = tfl.input({ shape: [SIZE, SIZE, 3] });
  const conv = tfl.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'relu', name: 'conv' }).apply(input) as tfl.SymbolicTensor;
  const features = tfl.layers.globalAveragePooling2d({ name: 'features' }).apply(conv) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: input, outputs: top(features) });
  await saveModelDir(
    dir,
    m,
    newMeta({
      classes: ['a', 'b', 'c'],
      input: { height: SIZE, width: SIZE, channels: 3, resize: 'center-crop' },
      preprocessing: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      ...meta,
    }),
  );
  m.dispose();
  return dir;
}

const dense = (x: tfl.SymbolicTensor, activation: 'softmax' | 'linear' | 'relu', name: string) =>
  tfl.layers.dense({ units: 3, activation, name }).apply(x) as tfl.SymbolicTensor;

test('the model Teachable Machine runs: logits get a softmax, averaged softmaxes stay; other inputs, outputs and backbones are refused by name', async () => {
  const dir = tempDir();
  const logits = await exportTeachableMachine(await smallModel(path.join(dir, 'logits'), (x) => dense(x, 'linear', 'logits')), path.join(dir, 'logits-tm'));
  assert.equal(logits.addedSoftmax, true);
  assert.ok(logits.maxDifference < 1e-5, `${logits.maxDifference}`);
  // ImageNet preprocessing: each channel its own map from pixel/127 − 1.
  assert.ok(
    Math.abs(logits.inputScaling!.scale[0]! - 127 / 255 / 0.229) < 1e-12 && Math.abs(logits.inputScaling!.offset[2]! - (127 / 255 - 0.406) / 0.225) < 1e-12,
  );
  assert.deepEqual(logits.notes, []); // trained on the centre square, as Teachable Machine crops
  const ensemble = await smallModel(
    path.join(dir, 'ensemble'),
    (x) => tfl.layers.average({ name: 'probs' }).apply([dense(x, 'softmax', 'probs_1'), dense(x, 'softmax', 'probs_2')]) as tfl.SymbolicTensor,
  );
  const averaged = await exportTeachableMachine(ensemble, path.join(dir, 'ensemble-tm'));
  assert.equal(averaged.addedSoftmax, false);
  assert.ok(averaged.maxDifference < 1e-5);
  // Trained on Teachable Machine's own preprocessing: nothing to map.
  const tmPre = await smallModel(path.join(dir, 'tm-pre'), (x) => dense(x, 'softmax', 'probs'), { preprocessing: TM_PREPROCESSING });
  assert.equal((await exportTeachableMachine(tmPre, path.join(dir, 'tm-pre-tm'))).inputScaling, null);
  // Trained on squashed images: the export says that Teachable Machine's library feeds the centre square.
  const squashed = await smallModel(path.join(dir, 'squashed'), (x) => dense(x, 'softmax', 'probs'), {
    input: { height: SIZE, width: SIZE, channels: 3, resize: 'squash' },
  });
  assert.match(
    (await exportTeachableMachine(squashed, path.join(dir, 'squashed-tm'))).notes.join('\n'),
    /squashed to 224×224; Teachable Machine's library crops/,
  );

  const relu = await smallModel(path.join(dir, 'relu'), (x) => dense(x, 'relu', 'scores'));
  await assert.rejects(exportTeachableMachine(relu, path.join(dir, 'x')), {
    name: 'FrugalError',
    message: new RegExp(`^${relu}: Teachable Machine cannot run this model: its output layer "scores" \\(Dense\\) is not a softmax`),
  });
  const small = await makeFrugalModel(path.join(dir, 'small'));
  await assert.rejects(exportTeachableMachine(small, path.join(dir, 'x')), {
    name: 'FrugalError',
    message: new RegExp(`^${small}: Teachable Machine cannot run this model: its input is 16×16×1, and Teachable Machine's library and ml5 feed 224×224 RGB`),
  });
  const headOnly = path.join(dir, 'head-only');
  const spec = { height: SIZE, width: SIZE, channels: 3 as const, resize: 'squash' as const };
  await smallModel(headOnly, (x) => dense(x, 'softmax', 'probs'), {
    headOnly: true,
    backbone: { kind: 'onnx', source: '/models/net.onnx', input: spec, preprocessing: { mean: [0.5], std: [0.5] } },
  });
  await assert.rejects(exportTeachableMachine(headOnly, path.join(dir, 'x')), {
    name: 'FrugalError',
    message: new RegExp(`^${headOnly}: its model.json is only the head; its backbone, /models/net.onnx \\(onnx\\), is not a TF.js layers model`),
  });
  const own = path.join(dir, 'logits');
  await assert.rejects(exportTeachableMachine(own, own), { name: 'FrugalError', message: /`out: '.*logits'` is the model's own folder/ });
  // Nothing was written for a refused model.
  await assert.rejects(fsp.access(path.join(dir, 'x')));
});

test('frugal export: TF.js files by default (a model folder), --json is one object, --force to replace; usage errors exit 2, a model Teachable Machine cannot run exits 1', async () => {
  const dir = tempDir();
  const copy = path.join(dir, 'tfjs');
  const res = runCli(['export', model, '--out', copy, '--json']);
  assert.equal(res.status, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout), { model, format: 'tfjs', out: copy, files: ['model.json', 'weights.bin', 'frugal.json'] });
  for (const f of ['model.json', 'weights.bin', 'frugal.json'])
    assert.ok((await fsp.readFile(path.join(copy, f))).equals(await fsp.readFile(path.join(model, f))), f);
  const again = runCli(['export', model, '--out', copy]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already holds model.json, weights.bin, frugal.json: add --force/);
  assert.equal(runCli(['export', model, '--out', copy, '--force']).status, 0);
  const bad = runCli(['export', model, '--out', path.join(dir, 'x'), '--format', 'keras', '--json']);
  assert.equal(bad.status, 2);
  assert.equal(JSON.parse(bad.stdout).exitCode, 2);
  const small = await makeFrugalModel(path.join(dir, 'small'));
  const refused = runCli(['export', small, '--format', 'teachable-machine', '--out', path.join(dir, 'tm'), '--json']);
  assert.equal(refused.status, 1);
  assert.match(JSON.parse(refused.stdout).error, /Teachable Machine cannot run this model: its input is 16×16×1/);
  assert.doesNotMatch(refused.stderr, /\n\s+at /); // no stack trace
});
