import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { loadBackbone } from '../../src/models/backbones/load.js';
import { cutCandidates, describeCut, formatCutList, parseCutList } from '../../src/models/backbones/layers.js';
import { parsePool } from '../../src/models/backbones/pooling.js';
import { getArch } from '../../src/models/zoo/index.js';
import { loadModelDir } from '../../src/models/model-dir.js';
import { toInputTensor } from '../../src/models/preprocess.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose as close, tempDir } from '../helpers.js';
import { makeFrugalModel, makeOnnxModel } from './fixtures.js';

before(async () => {
  await initBackend('wasm');
});

const pixels = (n: number, size: number, seed: number) => {
  const r = new Rng(seed);
  return Uint8Array.from({ length: n * size }, () => r.int(256));
};

/** Expected pooling of an NHWC map, computed directly: mean / max over all cells, or means over an n×n grid (window ⌊S/n⌋). */
function expectPool(map: Float32Array, [b, h, w, c]: number[], pool: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < b!; i++) {
    const at = (y: number, x: number, k: number) => map[((i * h! + y) * w! + x) * c! + k]!;
    if (pool === 'avg' || pool === 'max') {
      for (let k = 0; k < c!; k++) {
        let s = pool === 'avg' ? 0 : -Infinity;
        for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) s = pool === 'avg' ? s + at(y, x, k) / (h! * w!) : Math.max(s, at(y, x, k));
        out.push(s);
      }
      continue;
    }
    // n cells per side at stride ⌊S/n⌋, each S − (n−1)·⌊S/n⌋ wide: the last cell ends at the edge.
    const n = Number(pool.slice(4));
    const sy = Math.floor(h! / n);
    const sx = Math.floor(w! / n);
    const wy = h! - (n - 1) * sy;
    const wx = w! - (n - 1) * sx;
    for (let gy = 0; gy < n; gy++) {
      for (let gx = 0; gx < n; gx++) {
        for (let k = 0; k < c!; k++) {
          let s = 0;
          for (let y = gy * sy; y < gy * sy + wy; y++) for (let x = gx * sx; x < gx * sx + wx; x++) s += at(y, x, k) / (wy * wx);
          out.push(s);
        }
      }
    }
  }
  return out;
}

test('--pool avg|max|gridN on a layers backbone pools the spatial map as defined; each pooling has its own cache id', async () => {
  const dir = await makeFrugalModel(path.join(tempDir(), 'm'));
  const px = pixels(3, 256, 4);
  const { model } = await loadModelDir(dir);
  // The default cut `features` is a global average pooling: other poolings apply to the map it pools.
  const map = tfl.model({ inputs: model.inputs, outputs: model.getLayer('s1b_relu').output as tfl.SymbolicTensor });
  const m = map.predict(toInputTensor(px, 3, 16, 16, 1, { mean: [0.4], std: [0.3] })) as tf.Tensor;
  const values = m.dataSync() as Float32Array;
  const ids = new Set<string>();
  for (const pool of ['avg', 'max', 'grid2', 'grid3'] as const) {
    const bb = await loadBackbone(dir, { pool });
    assert.equal(bb.pool, pool);
    const got = await bb.extract(px, 3);
    const want = expectPool(values, m.shape, pool);
    assert.equal(bb.featureDim, want.length / 3);
    close(got, want);
    ids.add(bb.id);
    // A trunk that can be fine-tuned computes the same.
    close((bb.trunk!.predict(toInputTensor(px, 3, 16, 16, 1, { mean: [0.4], std: [0.3] })) as tf.Tensor).dataSync(), want);
  }
  assert.equal(ids.size, 4);
  // recut: the same weights cut elsewhere equals loading with that cut.
  const base = await loadBackbone(dir);
  const re = base.recut!('s0b_relu', 'grid2');
  const direct = await loadBackbone(dir, { cut: 's0b_relu', pool: 'grid2' });
  assert.equal(re.id, direct.id);
  close(await re.extract(px, 3), await direct.extract(px, 3));
  await assert.rejects(loadBackbone(dir, { cut: 'logits', pool: 'grid2' }), /`pool: 'grid2'`: layer "logits" already gives a feature vector/);
  m.dispose();
});

test('--pool grid2 on an ONNX backbone (NCHW output) matches the direct computation', async () => {
  const { file, w } = await makeOnnxModel(path.join(tempDir(), 'net.onnx'));
  const bb = await loadBackbone(file, { cut: 'r', pool: 'grid2' });
  assert.equal(bb.featureDim, 16);
  const px = pixels(2, 8 * 8 * 3, 5);
  // The model: a 1×1 convolution with ReLU to 4 channels on an 8×8 image; build its NHWC map here.
  const map = new Float32Array(2 * 64 * 4);
  for (let i = 0; i < 2 * 64; i++) {
    const v = [0, 1, 2].map((c) => px[i * 3 + c]! / 255);
    for (let j = 0; j < 4; j++) map[i * 4 + j] = Math.max(0, v[0]! * w[j * 3]! + v[1]! * w[j * 3 + 1]! + v[2]! * w[j * 3 + 2]!);
  }
  close(await bb.extract(px, 2), expectPool(map, [2, 8, 8, 4], 'grid2'));
});

test('parsePool accepts avg, max, grid1–8 and names the flag otherwise', () => {
  assert.equal(parsePool('grid4'), 'grid4');
  assert.equal(parsePool('max'), 'max');
  assert.throws(() => parsePool('grid9'), /`pool` must be .*got "grid9"/);
  assert.throws(() => parsePool('mean'), /`pool` must be/);
});

test('cut candidates: the default cut, then the ends of the last blocks with a spatial output', () => {
  const model = getArch('cnn-small')!.build({ inputShape: [28, 28, 1], numClasses: 5 });
  // s2b_relu is the map `features` pools: the same features, not a separate candidate.
  assert.deepEqual(cutCandidates(model), ['features', 's2a_relu', 's1_pool', 's1b_relu']);
  const resnet = getArch('resnet8')!.build({ inputShape: [32, 32, 3], numClasses: 5 });
  const c = cutCandidates(resnet);
  assert.equal(c[0], 'features');
  assert.equal(c.length, 4);
  model.dispose();
  resnet.dispose();
});

test('a cut list: each point pooled as asked, features side by side in order, own cache id; parse errors name the entry', async () => {
  const dir = await makeFrugalModel(path.join(tempDir(), 'm'));
  const px = pixels(3, 256, 6);
  const a = await loadBackbone(dir, { cut: 's1b_relu', pool: 'grid2' });
  const b = await loadBackbone(dir, { cut: 's0_pool' });
  const list = await loadBackbone(dir, { cut: 's1b_relu:grid2,s0_pool' });
  assert.equal(list.cut, 's1b_relu:grid2,s0_pool:avg');
  assert.deepEqual(list.parts, [a.featureDim, b.featureDim]);
  assert.equal(list.featureDim, a.featureDim + b.featureDim);
  assert.equal(list.trunk!.outputs.length, 2);
  const fa = await a.extract(px, 3);
  const fb = await b.extract(px, 3);
  const want: number[] = [];
  for (let i = 0; i < 3; i++) want.push(...fa.subarray(i * a.featureDim, (i + 1) * a.featureDim), ...fb.subarray(i * b.featureDim, (i + 1) * b.featureDim));
  close(await list.extract(px, 3), want);
  assert.ok(![a.id, b.id].includes(list.id));
  assert.doesNotMatch(list.id, /[:,]/);
  // A single entry with its own pooling is the same as --cut + --pool.
  assert.equal((await loadBackbone(dir, { cut: 's1b_relu:grid2' })).id, a.id);
  assert.deepEqual(parseCutList('x,y:max', 'grid2'), [
    { layer: 'x', pool: 'grid2' },
    { layer: 'y', pool: 'max' },
  ]);
  assert.equal(formatCutList([{ layer: 'x', pool: 'grid2' }]), 'x');
  assert.throws(() => parseCutList('x,x'), /x:avg is listed twice/);
  assert.throws(() => parseCutList('x:grid2:max'), /each entry is <layer> or <layer>:<pool>/);
  assert.throws(() => parseCutList('x:mean'), /`pool` must be/);
  await assert.rejects(loadBackbone(dir, { cut: 's1b_relu,nope' }), /`cut: 'nope'`: no such layer/);
  assert.match(describeCut(list), /^cut at 2 points \(s1b_relu\/grid2, s0_pool\/avg\), one head each/);
  assert.equal(describeCut(a), 'cut at s1b_relu, pooled grid2');
  assert.equal(describeCut({ kind: 'onnx', cut: 'out:0', pool: 'avg' }), 'cut at out:0, pooled avg');
});
