import { test, before } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { createSession, ort } from '../../src/engine/index.js';
import { layersToOnnx, unsupportedLayers } from '../../src/models/onnx/convert.js';
import { onnxForward } from '../../src/models/onnx/forward.js';
import { toInputTensor, type Preprocessing } from '../../src/models/preprocess.js';
import { listArchs } from '../../src/models/zoo/index.js';
import { loadBackbone } from '../../src/models/backbones/load.js';
import { BUILTIN_TRUNK } from '../../src/models/backbones/pretrained.js';
import { dropout } from '../../src/models/noise.js';
import { Rng } from '../../src/util/rng.js';
import onnxProto from 'onnx-proto';
import { promises as fsp, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildHead, stackHead } from '../../src/models/head.js';
import { newMeta, saveModelDir } from '../../src/models/model-dir.js';
import { exportOnnx } from '../../src/export/onnx.js';
import { loadPredictor } from '../../src/evaluate/predictor.js';
import { runCli, tempDir } from '../helpers.js';

before(async () => {
  await initBackend('wasm');
});

const PRE: Preprocessing = { mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3] };

function randomPixels(n: number, size: number, seed = 1): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n * size }, () => Math.floor(rng.next() * 256));
}

/** Largest |a − b| over two arrays of the same length. */
function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The TF.js model's outputs (inference mode) for pixels normalised with `pre`. */
function tfjsOutputs(model: tfl.LayersModel, pixels: Uint8Array, n: number, pre: Preprocessing): Float32Array[] {
  const [, h, w, c] = model.inputs[0]!.shape as number[];
  return tf.tidy(() => {
    const y = model.apply(toInputTensor(pixels, n, h!, w!, c!, pre), { training: false }) as tf.Tensor | tf.Tensor[];
    return (Array.isArray(y) ? y : [y]).map((t) => t.dataSync() as Float32Array);
  });
}

/** Push BN statistics and weights away from their initial values, so a wrong layout or order would show. */
function perturbWeights(model: tfl.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    layer.setWeights(
      weights.map((w, i) => {
        const name = layer.weights[i]!.originalName;
        const v = Float32Array.from(w.dataSync(), (x) => x + (rng.next() - 0.5) * 0.2);
        if (name.endsWith('moving_variance')) v.forEach((x, j) => (v[j] = 0.5 + Math.abs(x)));
        return tf.tensor(v, w.shape);
      }),
    );
  }
}

/** Debian's python3-onnx (installed by .ci/run), whose checker is the reference for what a valid ONNX file is. */
const onnxChecker = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;

/** Run the ONNX checker (full check) on files; asserts they all pass. */
function assertOnnxChecks(files: string[]): void {
  const check = `import onnx, sys\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\nprint(len(sys.argv) - 1)`;
  const res = spawnSync('/usr/bin/python3', ['-c', check, ...files], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout.trim(), String(files.length));
}

for (const arch of listArchs()) {
  test(`ONNX Runtime gives what TF.js gives for zoo architecture ${arch.name} (max |Δ| ≤ 1e-4)`, async () => {
    const model = arch.build({ inputShape: [32, 32, 3], numClasses: 5, dropout: 0.2, dropPath: 0.1 });
    perturbWeights(model, 3);
    const pixels = randomPixels(4, 32 * 32 * 3);
    const expected = tfjsOutputs(model, pixels, 4, PRE);
    const forward = onnxForward(model, PRE);
    assert.ok(forward, `${arch.name} should convert`);
    const got = await forward.run(pixels, 4);
    assert.ok(maxDiff(got[0]!, expected[0]!) <= 1e-4, `max |Δ| ${maxDiff(got[0]!, expected[0]!)}`);
    await forward.release();
    model.dispose();
  });
}

test('the built-in trunk runs on ONNX Runtime with the same features as on TF.js, and a retrained trunk is reconverted', async () => {
  const bb = await loadBackbone(BUILTIN_TRUNK);
  const pixels = randomPixels(3, 224 * 224 * 3, 7);
  const onOnnx = await bb.extract(pixels, 3);
  const onTfjs = tfjsOutputs(bb.trunk!, pixels, 3, bb.preprocessing)[0]!;
  assert.equal(onOnnx.length, 3 * 1280);
  assert.ok(maxDiff(onOnnx, onTfjs) <= 1e-4, `max |Δ| ${maxDiff(onOnnx, onTfjs)}`);
  // Change one weight of the trunk, as fine-tuning would: the next extract sees it.
  const layer = bb.trunk!.layers.find((l) => l.getClassName() === 'Conv2D')!;
  const before = tf.memory().numTensors;
  layer.setWeights(layer.getWeights().map((w) => tf.mul(w, 1.5)));
  const changed = await bb.extract(pixels, 3);
  assert.ok(maxDiff(changed, onOnnx) > 1e-3);
  assert.ok(maxDiff(changed, tfjsOutputs(bb.trunk!, pixels, 3, bb.preprocessing)[0]!) <= 1e-4);
  assert.ok(tf.memory().numTensors <= before + 2); // the multiplied weights only, no per-call tensors
  bb.dispose();
});

test('the ONNX file declares its opset, types its inputs and outputs, names its initializers and records metadata', async () => {
  const input = tfl.input({ shape: [8, 8, 3], name: 'image' });
  const conv = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu6', name: 'conv' }).apply(input) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'features' }).apply(conv) as tfl.SymbolicTensor;
  const dropped = dropout(0.5, 'drop').apply(pooled) as tfl.SymbolicTensor;
  const probs = tfl.layers.dense({ units: 2, activation: 'softmax', name: 'probs' }).apply(dropped) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: probs });
  const bytes = layersToOnnx(model, { metadata: { classes: '["a","b"]' } });
  const m = onnxProto.onnx.ModelProto.decode(bytes);
  assert.deepEqual(
    m.opsetImport.map((o) => [o.domain, Number(o.version)]),
    [['', 13]],
  );
  assert.equal(Number(m.irVersion), 8);
  const graph = m.graph!;
  const g = { input: graph.input ?? [], output: graph.output ?? [], initializer: graph.initializer ?? [], node: graph.node ?? [] };
  for (const v of [...g.input, ...g.output]) {
    assert.ok(v.name, 'graph values are named');
    assert.equal(v.type?.tensorType?.elemType, onnxProto.onnx.TensorProto.DataType.FLOAT);
    assert.ok((v.type?.tensorType?.shape?.dim ?? []).length > 0, `${v.name}: shape recorded`);
  }
  assert.deepEqual(
    g.input.map((v) => v.name),
    ['image'],
  );
  assert.deepEqual(
    g.output.map((v) => v.name),
    ['probs'],
  );
  const initNames = g.initializer.map((t) => t.name);
  assert.ok(initNames.every((n) => typeof n === 'string' && n.length > 0));
  assert.equal(new Set(initNames).size, initNames.length, 'initializer names are unique');
  const produced = new Set([...g.input.map((v) => v.name), ...initNames, ...g.node.flatMap((n) => n.output ?? [])]);
  for (const n of g.node) for (const i of n.input ?? []) assert.ok(produced.has(i), `${n.opType}: input ${i} is produced somewhere`);
  assert.deepEqual(
    m.metadataProps.map((p) => [p.key, p.value]),
    [['classes', '["a","b"]']],
  );
  // ONNX Runtime loads it and agrees with TF.js.
  const session = await createSession(bytes, 1);
  const x = tf.randomUniform([2, 8, 8, 3], -1, 1, 'float32', 4);
  const out = await session.run({ image: new ort.Tensor('float32', x.dataSync() as Float32Array, [2, 8, 8, 3]) });
  const want = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
  assert.ok(maxDiff(out['probs']!.data as Float32Array, want) <= 1e-5);
  await session.release();
  x.dispose();
  model.dispose();
});

test('a layer the converter does not know is named in the error, and forward passes fall back to TF.js', async () => {
  const input = tfl.input({ shape: [4, 4, 2] });
  const y = tfl.layers.conv2dTranspose({ filters: 2, kernelSize: 2, name: 'upsample' }).apply(input) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: tfl.layers.flatten().apply(y) as tfl.SymbolicTensor });
  assert.deepEqual([...unsupportedLayers(model)], [['Conv2DTranspose', ['upsample']]]);
  assert.throws(() => layersToOnnx(model), /Conv2DTranspose \(upsample\)/);
  assert.equal(onnxForward(model, { mean: [0, 0], std: [1, 1] }), null);
  model.dispose();
});

test('a transfer model (built-in trunk, a cut list, one head per cut, a hidden layer) exports to ONNX within 1e-4, and predicts the same on both engines', async () => {
  const bb = await loadBackbone(BUILTIN_TRUNK, { cut: 'block_13_expand_relu:grid2,out_relu' });
  assert.deepEqual(bb.parts, [4 * 192, 1280]); // 2×2 cells of the 192-channel expansion, then the pooled top
  const head = buildHead(bb.parts, 3, { hidden: 8 });
  perturbWeights(head, 5);
  const model = stackHead(bb.trunk!, head);
  const dir = path.join(tempDir(), 'model');
  await saveModelDir(dir, model, newMeta({ classes: ['ant', 'bee', 'wasp'], input: bb.spec, preprocessing: bb.preprocessing }));
  const file = path.join(tempDir(), 'model.onnx');
  const res = await exportOnnx(dir, file);
  assert.equal(res.opset, 13);
  assert.deepEqual(res.classes, ['ant', 'bee', 'wasp']);
  if (onnxChecker) assertOnnxChecks([file]);

  const pixels = randomPixels(3, 224 * 224 * 3, 11);
  const expected = tfjsOutputs(model, pixels, 3, bb.preprocessing)[0]!;
  const session = await createSession(file, 1);
  const x = toInputTensor(pixels, 3, 224, 224, 3, bb.preprocessing);
  const out = await session.run({ image: new ort.Tensor('float32', x.dataSync() as Float32Array, [3, 224, 224, 3]) });
  x.dispose();
  assert.ok(maxDiff(out['probs']!.data as Float32Array, expected) <= 1e-4, `max |Δ| ${maxDiff(out['probs']!.data as Float32Array, expected)}`);
  // The command writes the same file.
  const cliFile = path.join(tempDir(), 'cli.onnx');
  const cli = runCli(['export', dir, '--format', 'onnx', '--out', cliFile, '--json']);
  assert.equal(cli.status, 0, cli.stderr);
  assert.deepEqual(await fsp.readFile(cliFile), await fsp.readFile(file));
  const metadata = (await fsp.readFile(file)).toString('latin1');
  assert.ok(metadata.includes('frugal.preprocessing') && metadata.includes('"mean":[0.5,0.5,0.5]'));
  await session.release();

  // The predictor `evaluate` and `predict` use: ONNX Runtime by default, TF.js with FRUGAL_FORWARD=tfjs.
  const viaOnnx = await loadPredictor(dir);
  process.env['FRUGAL_FORWARD'] = 'tfjs';
  const viaTfjs = await loadPredictor(dir);
  delete process.env['FRUGAL_FORWARD'];
  const a = await viaOnnx.predict(pixels, 3);
  const b = await viaTfjs.predict(pixels, 3);
  assert.ok(maxDiff(a, b) <= 1e-4 && maxDiff(b, expected) <= 1e-6);
  viaOnnx.dispose();
  viaTfjs.dispose();
  model.dispose(); // shares the trunk's layers: this frees the backbone too
});

test('ONNX export refuses a model that is only a head over a backbone outside TF.js, naming the folder', async () => {
  const head = buildHead(16, 2);
  const dir = path.join(tempDir(), 'head-only');
  const ref = {
    kind: 'onnx' as const,
    source: '/nowhere/trunk.onnx',
    input: { height: 8, width: 8, channels: 3 as const, resize: 'squash' as const },
    preprocessing: PRE,
  };
  await saveModelDir(dir, head, newMeta({ classes: ['a', 'b'], input: ref.input, preprocessing: PRE, backbone: ref, headOnly: true }));
  await assert.rejects(exportOnnx(dir, path.join(tempDir(), 'x.onnx')), (err: Error) =>
    err.message.startsWith(`${dir}: its model.json is only the head; its backbone, /nowhere/trunk.onnx (onnx), is not a TF.js layers model`),
  );
  head.dispose();
});

test(
  'the ONNX checker (python3-onnx, full check with shape inference) accepts every zoo architecture, with and without pixel input',
  { skip: !onnxChecker && 'python3-onnx is not installed' },
  () => {
    const dir = tempDir();
    const files: string[] = [];
    for (const arch of listArchs()) {
      const model = arch.build({ inputShape: [32, 32, 3], numClasses: 5, dropout: 0.2, dropPath: 0.1 });
      for (const [suffix, options] of [
        ['', {}],
        ['-pixels', { pixels: PRE }],
      ] as const) {
        const file = path.join(dir, `${arch.name}${suffix}.onnx`);
        writeFileSync(file, layersToOnnx(model, options));
        files.push(file);
      }
      model.dispose();
    }
    assertOnnxChecks(files);
  },
);
