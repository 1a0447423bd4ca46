import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { getArch } from '../../src/models/zoo/index.js';
import { initWeights } from '../../src/models/init.js';
import { fitPreprocessing } from '../../src/models/preprocess.js';
import { wholeModel } from '../../src/train/trainable.js';
import { fitOnData, DEFAULT_HYPER, type TrainHyper } from '../../src/train/fit-on-data.js';
import { predictProbs, pixelEncoder } from '../../src/train/loop.js';
import { classificationReport } from '../../src/evaluate/metrics.js';
import { FrugalError } from '../../src/util/errors.js';
import { flagName } from '../../src/cli/options.js';
import { toyImages, TOY_CLASSES } from '../synthetic.js';
import { tempDir } from '../helpers.js';

const SIZE = 16;
const spec = { height: SIZE, width: SIZE, channels: 1 as const, resize: 'squash' as const };

before(async () => {
  await initBackend('wasm');
});

function setup(seed: number, arch = 'cnn-tiny', options: { dropout?: number; dropPath?: number } = {}) {
  const model = getArch(arch)!.build({ inputShape: [SIZE, SIZE, 1], numClasses: 3, ...options });
  initWeights(model, seed);
  return model;
}

const train = toyImages(90, SIZE, 1);
const val = toyImages(60, SIZE, 2);
const pre = fitPreprocessing(train.pixels, 1);
const enc = pixelEncoder(spec, pre);
const trainSet = { inputs: train.pixels, labels: train.labels, count: 90 };
const valSet = { inputs: val.pixels, labels: val.labels, count: 60 };

function hyper(over: Partial<TrainHyper> = {}): TrainHyper {
  return { ...DEFAULT_HYPER, epochs: 4, batchSize: 16, lr: 5e-3, minSteps: 0, ...over };
}

test('learns the toy problem: held-out accuracy well above chance (1/3)', async () => {
  const model = setup(1);
  const t = wholeModel(model);
  const res = await fitOnData(t, trainSet, valSet, enc, 3, { hyper: hyper({ epochs: 8 }) });
  const fresh = toyImages(90, SIZE, 3); // never seen, not used for model selection
  const probs = predictProbs(t, { inputs: fresh.pixels, count: 90 }, enc);
  const acc = classificationReport(probs, fresh.labels, TOY_CLASSES).accuracy;
  assert.ok(acc >= 0.85, `held-out accuracy ${acc}`);
  assert.equal(res.history.length, 8);
  assert.ok(res.history[7]!.loss < res.history[0]!.loss);
  model.dispose();
});

test('200 training steps keep tf.memory().numTensors flat', async () => {
  const model = setup(2, 'resnet8', { dropout: 0.2, dropPath: 0.1 });
  const t = wholeModel(model);
  const counts: number[] = [];
  const before = tf.memory().numTensors;
  await fitOnData(t, trainSet, valSet, enc, 3, {
    hyper: hyper({ epochs: 20, batchSize: 9, clipNorm: 1 }),
    callbacks: [{ onBatchEnd: () => void counts.push(tf.memory().numTensors) }],
  });
  assert.equal(counts.length, 200);
  assert.equal(Math.max(...counts.slice(1)), Math.min(...counts.slice(1)), `tensor count varied: ${Math.min(...counts)}..${Math.max(...counts)}`);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('same seed, same weights; another seed, other weights', async () => {
  const run = async (seed: number) => {
    const model = setup(seed, 'cnn-tiny', { dropout: 0.3 });
    await fitOnData(wholeModel(model), trainSet, null, enc, 3, { hyper: hyper({ epochs: 1, seed }) });
    const w = model.getWeights().map((x) => Array.from(x.dataSync()));
    model.dispose();
    return w;
  };
  const a = await run(5);
  const b = await run(5);
  const c = await run(6);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('a NaN or exploding loss stops training with advice, naming library options (the CLI names its flags)', async () => {
  const model = setup(3);
  const err = await fitOnData(wholeModel(model), trainSet, null, enc, 3, { hyper: hyper({ lr: 1e6, optimizer: 'sgd', schedule: 'constant' }) }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof FrugalError);
  assert.match(err.message, /training diverged at epoch \d+, step \d+: the loss is .*Lower the learning rate \(`lr`, now 1000000\).*\(`clipNorm: 1`\)/);
  assert.match(err.messageFor(flagName), /Lower the learning rate \(--lr, now 1000000\), add warm-up \(--warmup-epochs\), or clip gradients \(--clip-norm 1\)/);
  model.dispose();
});

test('a resume continues only the same run: a checkpoint trained on other images, or damaged, is redone from the first epoch and said so', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'checkpoint.bin');
  const fitTo = async (epochs: number, set: typeof trainSet, resume: boolean) => {
    const notices: string[] = [];
    const model = setup(4);
    const res = await fitOnData(wholeModel(model), set, valSet, enc, 3, {
      hyper: hyper({ epochs }),
      runDir: dir,
      resume,
      callbacks: [{ onNotice: (m) => void notices.push(m) }],
    });
    model.dispose();
    return { res, notices };
  };
  await fitTo(2, trainSet, false);
  // The same images: the run continues after epoch 2.
  const same = await fitTo(3, trainSet, true);
  assert.equal(same.res.resumedFrom, 2);
  assert.deepEqual(same.notices, []);
  // Other images (one label changed): the checkpoint is not this run's.
  const relabeled = { ...trainSet, labels: Int32Array.from(trainSet.labels, (y, i) => (i === 0 ? (y + 1) % 3 : y)) };
  const other = await fitTo(3, relabeled, true);
  assert.equal(other.res.resumedFrom, 0);
  assert.equal(other.res.history.length, 3);
  assert.match(other.notices.join('\n'), /checkpoint\.bin: the checkpoint was trained on other images or labels; training starts again from the first epoch/);
  // A damaged checkpoint (bytes flipped in its weights): redone, not trusted.
  const bytes = await fsp.readFile(file);
  bytes[bytes.length - 10] ^= 0xff;
  await fsp.writeFile(file, bytes);
  const damaged = await fitTo(3, relabeled, true);
  assert.equal(damaged.res.resumedFrom, 0);
  assert.match(damaged.notices.join('\n'), /checkpoint is corrupt \(its checksum does not match\); training starts again/);
});
