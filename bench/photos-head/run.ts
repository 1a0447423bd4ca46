/**
 * How the built-in trunk's frozen defaults (cut, head) were chosen: real-photo validation tasks that bench/photos
 * does not report (seeds 3–5), each variant scored on up to `--val-size` images of the rest of the training split
 * (labels known to the benchmark), never on the published test split.
 *
 *   npm run build && node dist/bench/photos-head/run.js [--work /tmp/frugal-photos] [--ks 5,10,20] [--seeds 3,4,5]
 */
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { initBackend } from '../../src/engine/backend.js';
import { trainTransfer, type TransferOptions } from '../../src/recipes/transfer.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import { BUILTIN_TRUNK } from '../../src/models/backbones/pretrained.js';
import { Rng } from '../../src/util/rng.js';
import { fmt, arg } from '../lib/scarce-fmnist.js';
import { photoTask, type PhotoTask } from '../lib/photos.js';

/** A cut/head variant of frozen transfer. */
type Variant = Pick<TransferOptions, 'head' | 'backboneOptions' | 'hyper' | 'refit' | 'augment' | 'augmentViews'>;

const SGD_LINEAR = { hidden: 0, dropout: 0, solver: 'sgd' as const };
const LOGISTIC = (l2: number) => ({ hidden: 0, dropout: 0, solver: 'full-batch' as const, l2 });
/** Each image and its mirror image (features of both): a random crop with no padding is the image itself. */
const MIRROR = { augment: 'basic:pad=0,flip=1', augmentViews: 1 };
const VARIANTS: Record<string, Variant> = {
  'out_relu, hidden 64 + dropout 0.5, no refit (before)': { head: { hidden: 64, dropout: 0.5 }, refit: false },
  'out_relu, hidden 64 + dropout 0.5, refit': { head: { hidden: 64, dropout: 0.5 }, refit: true },
  'out_relu, linear (SGD), refit': { head: SGD_LINEAR, refit: true },
  '--cut auto (3 heads), no refit': { head: { hidden: 64, dropout: 0.5 }, backboneOptions: { cut: 'auto' }, refit: false },
  '--cut auto (3 heads), refit': { head: { hidden: 64, dropout: 0.5 }, backboneOptions: { cut: 'auto' }, refit: true },
  'out_relu, logistic l2 = 0.001, refit': { head: LOGISTIC(0.001), refit: true },
  'out_relu, logistic l2 = 0.01, refit': { head: LOGISTIC(0.01), refit: true },
  'out_relu, logistic l2 = 0.1, refit': { head: LOGISTIC(0.1), refit: true },
  'out_relu, logistic l2 = 0.01 + mirror images, refit': { head: LOGISTIC(0.01), refit: true, ...MIRROR },
  'out_relu, hidden 64 + dropout 0.5 + mirror images, refit': { head: { hidden: 64, dropout: 0.5 }, refit: true, ...MIRROR },
  ...inputSizeVariants(),
};

/** The default head (logistic l2 = 0.01 + mirror images, refit) with the trunk fed at other input sizes and resize policies. */
function inputSizeVariants(): Record<string, Variant> {
  const variants: Record<string, Variant> = {};
  for (const resize of ['squash', 'center-crop'] as const) {
    for (const size of [224, 256, 288, 320, 352]) variants[`default head, ${size} px ${resize}`] = { backboneOptions: { size, resize } };
  }
  return variants;
}

/** Up to `size` pool images, by class, as a labeled folder of links. */
async function valFolder(task: PhotoTask, size: number, seed: number): Promise<string> {
  const dir = path.join(path.dirname(task.train), 'valpool');
  await fsp.rm(dir, { recursive: true, force: true });
  const items = new Rng(100 + seed).shuffle([...task.poolLabels]).slice(0, size);
  for (const [file, label] of items) {
    await fsp.mkdir(path.join(dir, label), { recursive: true });
    await fsp.symlink(await fsp.realpath(file), path.join(dir, label, path.basename(file)));
  }
  return dir;
}

async function main(): Promise<void> {
  const work = arg('work', '/tmp/frugal-photos');
  const sets = arg('sets', 'hymenoptera,flowers12').split(',');
  const ks = arg('ks', '5,10,20').split(',').map(Number);
  const seeds = arg('seeds', '3,4,5').split(',').map(Number);
  const valSize = Number(arg('val-size', '240'));
  const names = arg('variants', Object.keys(VARIANTS).join('|')).split('|');
  await initBackend();
  const log = (m: string) => process.stderr.write(m + '\n');
  const acc = new Map<string, number[]>();
  for (const set of sets) {
    for (const k of ks) {
      for (const seed of seeds) {
        const task = await photoTask(work, set, k, seed);
        const val = await valFolder(task, valSize, seed);
        for (const name of names) {
          const v = VARIANTS[name]!;
          const out = path.join(work, 'runs', `head-${set}-k${k}-s${seed}`);
          await trainTransfer(task.train, {
            out,
            backbone: BUILTIN_TRUNK,
            mode: 'frozen',
            valSplit: 0.2,
            head: v.head,
            backboneOptions: v.backboneOptions,
            refit: v.refit,
            augment: v.augment,
            augmentViews: v.augmentViews,
            hyper: { seed, ...v.hyper },
          });
          const a = (await evaluateModel(out, val)).accuracy;
          const key = `${name}|${set}|${k}`;
          acc.set(key, [...(acc.get(key) ?? []), a]);
          log(`${set} k=${k} seed=${seed} ${name}: ${(a * 100).toFixed(1)}`);
        }
      }
    }
  }
  const cols = sets.flatMap((s) => ks.map((k) => [s, k] as const));
  console.log(
    `Frozen built-in trunk, cut and head variants on real-photo validation tasks (seeds ${seeds.join(',')}; accuracy % on ≤ ${valSize} images of the rest of the training split)`,
  );
  console.log(`| variant | ${cols.map(([s, k]) => `${s} k = ${k}`).join(' | ')} |`);
  console.log(`|---|${cols.map(() => '---|').join('')}`);
  for (const name of names) console.log(`| ${name} | ${cols.map(([s, k]) => fmt(acc.get(`${name}|${s}|${k}`) ?? [])).join(' | ')} |`);
}

await main();
