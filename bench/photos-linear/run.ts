/**
 * The linear head with all labels: full-batch logistic regression on the built-in trunk's pooled features of
 * the whole training split, for each L2 penalty, resize policy, with and without mirror images in training
 * (`flipAug`) and averaged with the mirror image's prediction (`tta`), and for each `--power` β (each feature x
 * becomes sign(x)·|x|^β before standardisation; 1: unchanged). Scored by 5-fold cross-validation on the
 * training split (what a choice may use) and, for the record, on the published test split.
 *
 *   npm run build && node dist/bench/photos-linear/run.js [--sets hymenoptera,flowers12] [--l2 0.001,0.01,0.1] [--resize squash,center-crop]
 *     [--power 1,0.5]
 */
import * as path from 'node:path';
import { initBackend } from '../../src/engine/backend.js';
import { loadBackbone } from '../../src/models/backbones/load.js';
import { BUILTIN_TRUNK } from '../../src/models/backbones/pretrained.js';
import { openDataset } from '../../src/data/sources.js';
import { decodeAll } from '../../src/data/loader.js';
import { extractFeatures } from '../../src/train/features.js';
import { featureStats, standardize } from '../../src/train/standardize.js';
import { fitLogistic, logisticProbs } from '../../src/train/logistic.js';
import { oneHot } from '../../src/train/losses.js';
import { argmaxRows } from '../../src/train/loop.js';
import { mirroredImages } from '../../src/augment/index.js';
import { stratifiedFolds } from '../../src/train/head-cv.js';
import { photosRoot, PHOTO_SETS } from '../lib/photos.js';
import { arg } from '../lib/scarce-fmnist.js';
import type { ResizePolicy } from '../../src/data/decode.js';

function rows(f: Float32Array, dim: number, idx: number[]): Float32Array {
  const out = new Float32Array(idx.length * dim);
  idx.forEach((i, j) => out.set(f.subarray(i * dim, (i + 1) * dim), j * dim));
  return out;
}

interface Feats {
  f: Float32Array;
  flip: Float32Array;
  labels: Int32Array;
  count: number;
  dim: number;
}

async function features(dir: string, resize: ResizePolicy): Promise<Feats> {
  const bb = await loadBackbone(BUILTIN_TRUNK);
  const ds = await openDataset(dir);
  const spec = { ...bb.spec, resize };
  const d = await decodeAll(ds.samples, { spec });
  const f = await extractFeatures(bb, d.pixels, d.count);
  const fl = await extractFeatures(bb, mirroredImages(d.pixels, d.count, spec), d.count);
  bb.dispose();
  return { f: f.features, flip: fl.features, labels: d.labels, count: d.count, dim: f.dim };
}

/** Each feature x as sign(x)·|x|^power (the power transform of transfer-based few-shot learning; 1: unchanged). */
function powered(feats: Feats, power: number): Feats {
  if (power === 1) return feats;
  const t = (a: Float32Array) => a.map((v) => Math.sign(v) * Math.abs(v) ** power);
  return { ...feats, f: t(feats.f), flip: t(feats.flip) };
}

/** Train on idx (with flipped copies when `aug`), predict test rows (averaging flip TTA when `tta`). */
function fitPredict(tr: Feats, idx: number[], te: Feats, teIdx: number[], classes: number, l2: number, aug: boolean, tta: boolean): Int32Array {
  const dim = tr.dim;
  let x = rows(tr.f, dim, idx);
  let lab = Int32Array.from(idx.map((i) => tr.labels[i]!));
  if (aug) {
    const both = new Float32Array(x.length * 2);
    both.set(x);
    both.set(rows(tr.flip, dim, idx), x.length);
    x = both;
    lab = Int32Array.from([...lab, ...lab]);
  }
  const n = lab.length;
  const stats = featureStats(x, n, dim);
  const m = fitLogistic(standardize(x, stats), oneHot(lab, classes), n, dim, classes, { l2 });
  const p = logisticProbs(m, standardize(rows(te.f, dim, teIdx), stats), teIdx.length);
  if (tta) {
    const q = logisticProbs(m, standardize(rows(te.flip, dim, teIdx), stats), teIdx.length);
    p.forEach((v, i) => (p[i] = v + q[i]!));
  }
  return argmaxRows(p, classes);
}

function acc(pred: Int32Array, labels: number[]): number {
  return pred.reduce((a, p, i) => a + (p === labels[i] ? 1 : 0), 0) / labels.length;
}

async function main(): Promise<void> {
  await initBackend();
  const sets = arg('sets', 'hymenoptera,flowers12').split(',');
  const l2s = arg('l2', '0.0001,0.001,0.003,0.01,0.03,0.1').split(',').map(Number);
  const resizes = arg('resize', 'squash,center-crop').split(',') as ResizePolicy[];
  const powers = arg('power', '1').split(',').map(Number);
  for (const set of sets) {
    for (const resize of resizes) {
      const info = PHOTO_SETS[set]!;
      const tr0 = await features(path.join(photosRoot(), set, info.train), resize);
      const te0 = await features(path.join(photosRoot(), set, info.test), resize);
      for (const power of powers) {
        const tr = powered(tr0, power);
        const te = powered(te0, power);
        const classes = Math.max(...tr.labels) + 1;
        const all = [...Array(tr.count).keys()];
        const teAll = [...Array(te.count).keys()];
        const folds = stratifiedFolds(tr.labels, 5, 0);
        for (const [aug, tta] of [
          [false, false],
          [true, false],
          [true, true],
        ] as const) {
          for (const l2 of l2s) {
            let right = 0;
            for (let k = 0; k < 5; k++) {
              const trIdx = all.filter((i) => folds[i] !== k);
              const vIdx = all.filter((i) => folds[i] === k);
              const p = fitPredict(tr, trIdx, tr, vIdx, classes, l2, aug, tta);
              right +=
                acc(
                  p,
                  vIdx.map((i) => tr.labels[i]!),
                ) * vIdx.length;
            }
            const test = acc(fitPredict(tr, all, te, teAll, classes, l2, aug, tta), [...te.labels]);
            console.log(
              `${set} ${resize} power=${power} flipAug=${aug} tta=${tta} l2=${l2}: cv ${((right / tr.count) * 100).toFixed(1)} test ${(test * 100).toFixed(1)}`,
            );
          }
        }
      }
    }
  }
}
await main();
