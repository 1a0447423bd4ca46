/**
 * Whole-net checks on the two reference nets (bench/engine/nets.ts): the
 * gradients of every weight of a small-batch loss on wasm match the cpu
 * backend (tfjs-core's own kernels and gradients), and training does not leak
 * tensors.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { setup, randomArray, relErr } from './helpers.js';
import { originalGradients } from '../../src/engine/training-ops.js';
import { buildNetM, buildNetR, lossFn, makeBatch, makeTrainStep } from '../../bench/engine/nets.js';

before(setup);

/** Gradients of all trainable weights, as arrays, on the given backend. */
async function netGrads(backend: 'wasm' | 'cpu', model: tfl.LayersModel, x: Float32Array, shape: number[], original: boolean) {
  await tf.setBackend(backend);
  const names = [...originalGradients.keys()];
  const ours = names.map((n) => tf.getGradient(n));
  if (original) for (const n of names) tf.registerGradient(originalGradients.get(n)!);
  try {
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const res = tf.tidy(() => {
      const xt = tf.tensor(x, shape);
      const y = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: shape[0]! }, (_, i) => i % 10),
          'int32',
        ),
        10,
      );
      const { value, grads } = tf.variableGrads(() => lossFn(model, xt, tf.cast(y, 'float32')), vars);
      return [value, ...vars.map((v) => grads[v.name]!)];
    });
    const vals = res.map((t) => t.dataSync() as Float32Array);
    tf.dispose(res);
    return { loss: vals[0]![0]!, grads: vals.slice(1), names: vars.map((v) => v.name) };
  } finally {
    for (const g of ours) tf.registerGradient(g);
  }
}

async function checkNet(name: string, model: tfl.LayersModel, shape: number[]) {
  const x = randomArray(
    shape.reduce((a, b) => a * b, 1),
    21,
  );
  const ref = await netGrads('cpu', model, x, shape, true);
  const got = await netGrads('wasm', model, x, shape, false);
  assert.ok(Math.abs(got.loss - ref.loss) <= 1e-4 * Math.abs(ref.loss), `${name} loss ${got.loss} vs ${ref.loss}`);
  let worst = 0;
  for (let i = 0; i < ref.grads.length; i++) {
    const e = relErr(got.grads[i]!, ref.grads[i]!);
    worst = Math.max(worst, e);
    assert.ok(e <= 1e-4, `${name} grad of ${ref.names[i]}: rel err ${e}`);
  }
  return worst;
}

test('net M (32x32, batch 4): all weight gradients wasm vs cpu <= 1e-4', async () => {
  const model = buildNetM(32, 3);
  const worst = await checkNet('M', model, [4, 32, 32, 3]);
  console.log(`# net M worst weight-gradient rel err ${worst.toExponential(2)}`);
  model.dispose();
});

test('net R (12x12, batch 2): all weight gradients wasm vs cpu <= 1e-4', async () => {
  const model = buildNetR(12, 3);
  const worst = await checkNet('R', model, [2, 12, 12, 3]);
  console.log(`# net R worst weight-gradient rel err ${worst.toExponential(2)}`);
  model.dispose();
});

/** A small net with every layer kind of the reference nets. */
function smallNet(): tfl.LayersModel {
  const input = tfl.input({ shape: [12, 12, 3] });
  let x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({}).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.activation({ activation: 'relu6' }).apply(x) as tfl.SymbolicTensor;
  let y = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 1, padding: 'same', useBias: false }).apply(x) as tfl.SymbolicTensor;
  y = tfl.layers.batchNormalization({}).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 1, padding: 'same' }).apply(y) as tfl.SymbolicTensor;
  x = tfl.layers.activation({ activation: 'relu' }).apply(tfl.layers.add().apply([x, y])) as tfl.SymbolicTensor;
  x = tfl.layers.conv2d({ filters: 16, kernelSize: 1, strides: 2, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 10 }).apply(x) as tfl.SymbolicTensor });
}

test('200 training steps keep tf.memory().numTensors flat (wasm)', async () => {
  await tf.setBackend('wasm');
  const model = smallNet();
  const { x, y } = makeBatch(4, 12);
  const step = makeTrainStep(model);
  step(x, y);
  step(x, y);
  const start = tf.memory().numTensors;
  const bytes = tf.memory().numBytes;
  for (let i = 0; i < 200; i++) step(x, y);
  assert.equal(tf.memory().numTensors, start);
  assert.equal(tf.memory().numBytes, bytes);
  tf.dispose([x, y]);
  model.dispose();
});
