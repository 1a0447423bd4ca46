/**
 * Noisy Student on frozen features (experiment): a logistic teacher on the k labeled images (and their mirror
 * images) labels the rest of the training split (labels hidden); a logistic student learns from labeled +
 * pseudo-labeled features (mirror images of both as noise) and becomes the next teacher. Test accuracy per round.
 *
 *   npm run build && node dist/bench/photos-ns/run.js [--sets hymenoptera,flowers12] [--ks 5,10,20] [--seeds 0,1,2]
 *     [--rounds 4] [--pseudo soft|hard] [--threshold 0] [--l2 0.01] [--validate N]
 *     [--balance none|duplicate|mean|min]
 *
 * --validate N scores on N pool images (labels known to the benchmark) instead of the test split. --balance:
 * `duplicate` is the library's (`selectPseudoLabels`: each class the mean count, short classes repeated), `mean` and
 * `min` cap each guessed class at the mean or the smallest class's count, repeating nothing.
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
import { photosRoot, PHOTO_SETS, photoTask } from '../lib/photos.js';
import { arg } from '../lib/scarce-fmnist.js';
import type { Backbone } from '../../src/models/backbones/types.js';
import { Rng } from '../../src/util/rng.js';
import { candidatesOf, selectPseudoLabels } from '../../src/recipes/pseudo-labels.js';
import { concatFloat32 } from '../../src/util/arrays.js';

interface Feats {
  f: Float32Array;
  mirror: Float32Array;
  labels: Int32Array;
  count: number;
  paths: string[];
}

/** Rows `idx` of a feature set (labels from `labels` when given). */
function pick(a: Feats, idx: number[], dim: number, labels?: Int32Array): Feats {
  const rows = (f: Float32Array) => concatFloat32(...idx.map((i) => f.subarray(i * dim, (i + 1) * dim)));
  return {
    f: rows(a.f),
    mirror: rows(a.mirror),
    labels: labels ?? Int32Array.from(idx, (i) => a.labels[i]!),
    count: idx.length,
    paths: idx.map((i) => a.paths[i]!),
  };
}

async function features(bb: Backbone, dir: string, classes: string[] | null): Promise<Feats> {
  const ds = await openDataset(dir, classes ? {} : { unlabeled: true });
  const d = await decodeAll(ds.samples, { spec: bb.spec });
  const f = await extractFeatures(bb, d.pixels, d.count);
  const m = await extractFeatures(bb, mirroredImages(d.pixels, d.count, bb.spec), d.count);
  const labels = classes ? Int32Array.from(d.labels, (y) => classes.indexOf(ds.classes[y]!)) : d.labels;
  return { f: f.features, mirror: m.features, labels, count: d.count, paths: d.paths };
}

async function main(): Promise<void> {
  await initBackend();
  const sets = arg('sets', 'hymenoptera,flowers12').split(',');
  const ks = arg('ks', '5,10').split(',').map(Number);
  const seeds = arg('seeds', '0,1,2').split(',').map(Number);
  const rounds = Number(arg('rounds', '4'));
  const threshold = Number(arg('threshold', '0'));
  const l2 = Number(arg('l2', '0.01'));
  const hard = arg('pseudo', 'soft') === 'hard';
  const balance = arg('balance', 'none');
  // Validation protocol: score on this many pool images (labels known to the benchmark), the rest stay unlabeled.
  const validate = Number(arg('validate', '0'));
  const bb = await loadBackbone(BUILTIN_TRUNK);
  const dim = bb.featureDim;
  for (const set of sets) {
    const test0 = path.join(photosRoot(), set, PHOTO_SETS[set]!.test);
    for (const k of ks) {
      for (const seed of seeds) {
        const task = await photoTask('/tmp/frugal-photos', set, k, seed);
        const classes = task.classes;
        const C = classes.length;
        const lab = await features(bb, task.train, classes);
        let pool = await features(bb, task.pool!, null);
        let test: Feats;
        if (validate > 0) {
          const order = new Rng(100 + seed).shuffle([...Array(pool.count).keys()]);
          const valIdx = order.slice(0, validate);
          const poolLabel = (i: number) => classes.indexOf(task.poolLabels.get(path.join(task.pool!, path.basename(pool.paths[i]!)))!);
          test = pick(pool, valIdx, dim, Int32Array.from(valIdx, poolLabel));
          pool = pick(pool, order.slice(validate), dim);
        } else test = await features(bb, test0, classes);
        const x = concatFloat32(lab.f, lab.mirror);
        const y = oneHot(Int32Array.from([...lab.labels, ...lab.labels]), C);
        const stats = featureStats(concatFloat32(x, pool.f), lab.count * 2 + pool.count, dim);
        const z = (a: Float32Array) => standardize(a, stats);
        const acc = (m: ReturnType<typeof fitLogistic>) => {
          const p = argmaxRows(logisticProbs(m, z(test.f), test.count), C);
          return p.reduce((a, v, i) => a + (v === test.labels[i] ? 1 : 0), 0) / test.count;
        };
        let teacher = fitLogistic(z(x), y, lab.count * 2, dim, C, { l2 });
        const line = [`${(acc(teacher) * 100).toFixed(1)}`];
        for (let r = 1; r <= rounds; r++) {
          const probs = logisticProbs(teacher, z(pool.f), pool.count);
          // Every pool image's guess; the confident ones, then (--balance) the class balance.
          let chosen = selectPseudoLabels(candidatesOf(probs, C), { threshold, balance: balance === 'duplicate', numClasses: C });
          if (balance === 'mean' || balance === 'min') {
            // Each guessed class keeps at most `cap` images, its most confident; nothing is repeated.
            const byClass = Array.from({ length: C }, () => [] as typeof chosen);
            for (const g of chosen) byClass[g.label]!.push(g);
            const cap = balance === 'min' ? Math.max(1, Math.min(...byClass.map((b) => b.length))) : Math.ceil(chosen.length / C);
            chosen = byClass.flatMap((b) => b.sort((a, c) => c.confidence - a.confidence).slice(0, cap));
          }
          const keep = chosen.map((g) => g.index);
          const pt = new Float32Array(keep.length * C);
          chosen.forEach((g, j) => {
            if (hard) pt[j * C + g.label] = 1;
            else pt.set(probs.subarray(g.index * C, (g.index + 1) * C), j * C);
          });
          const rows = (a: Float32Array) => concatFloat32(...keep.map((i) => a.subarray(i * dim, (i + 1) * dim)));
          const sx = concatFloat32(x, rows(pool.f), rows(pool.mirror));
          const sy = concatFloat32(y, pt, pt);
          teacher = fitLogistic(z(sx), sy, sx.length / dim, dim, C, { l2 });
          line.push(`${(acc(teacher) * 100).toFixed(1)}`);
        }
        console.log(`${set} k=${k} seed=${seed} pool=${pool.count}: rounds 0..${rounds}: ${line.join(' → ')}`);
      }
    }
  }
}
await main();
