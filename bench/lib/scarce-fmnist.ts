/**
 * The Scarce-FMNIST protocol: a benchmark for learning with few labels.
 *
 * - source: Fashion-MNIST classes 0–4 (t-shirt, trouser, pullover, dress, coat), all training images;
 * - target: classes 5–9 (sandal, shirt, sneaker, bag, ankle-boot) with k labeled training images per
 *   class (drawn with a seed); the rest of the target classes' training images form an unlabeled pool;
 * - evaluation: the target classes' test images.
 *
 * Everything is written as image folders (PNG) under a work folder, once, and reused:
 *   <work>/source/<class>/*.png, <work>/target-test/<class>/*.png, <work>/target-all/<index>.png,
 *   <work>/k<k>-s<seed>/{train/<class>/*.png, pool/*.png (links), pool-labels.csv}
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { readIdxPair } from '../../src/data/idx.js';
import { writeIdxAsFolder } from '../../src/data/from-idx.js';
import { samplePerClass } from '../../src/data/split.js';
import { exists } from '../../src/util/fs.js';
import sharp from 'sharp';
import { trainFromScratch } from '../../src/recipes/scratch.js';

export const FMNIST_DIR = process.env.FMNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
export const FMNIST_CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];
export const SOURCE_CLASSES = [0, 1, 2, 3, 4];
export const TARGET_CLASSES = [5, 6, 7, 8, 9];

export interface ScarceTask {
  k: number;
  seed: number;
  /** Source data: classes 0–4, all training images (image folder). */
  source: string;
  /** k labeled images per target class (image folder). */
  train: string;
  /** The unlabeled pool: the other target-class training images (a flat folder). */
  pool: string;
  /** path,label of the pool (true labels: for measuring pseudo-label accuracy only). */
  poolLabels: Map<string, string>;
  /** Target classes' test images (image folder). */
  test: string;
}

const idx = (name: string) => path.join(FMNIST_DIR, name);

async function once(marker: string, make: () => Promise<void>): Promise<void> {
  if (await exists(marker)) return;
  await make();
  await fsp.writeFile(marker, new Date().toISOString());
}

/** Prepare (or reuse) the folders of one Scarce-FMNIST task. */
export async function scarceFmnist(work: string, k: number, seed: number): Promise<ScarceTask> {
  if (!(await exists(idx('train-images-idx3-ubyte.gz')))) {
    throw new Error(`Fashion-MNIST not found in ${FMNIST_DIR}: apt-get install -y dataset-fashion-mnist (or set FMNIST_DIR)`);
  }
  await fsp.mkdir(work, { recursive: true });
  const names = FMNIST_CLASSES;
  const source = path.join(work, 'source');
  await once(path.join(work, '.source-done'), async () => {
    await fsp.rm(source, { recursive: true, force: true });
    await writeIdxAsFolder(idx('train-images-idx3-ubyte.gz'), idx('train-labels-idx1-ubyte.gz'), source, { classes: SOURCE_CLASSES, classNames: names });
  });
  const test = path.join(work, 'target-test');
  await once(path.join(work, '.test-done'), async () => {
    await fsp.rm(test, { recursive: true, force: true });
    await writeIdxAsFolder(idx('t10k-images-idx3-ubyte.gz'), idx('t10k-labels-idx1-ubyte.gz'), test, { classes: TARGET_CLASSES, classNames: names });
  });
  const { images, labels } = await readIdxPair(idx('train-images-idx3-ubyte.gz'), idx('train-labels-idx1-ubyte.gz'));
  const targetIdx = Array.from({ length: labels.length }, (_, i) => i).filter((i) => TARGET_CLASSES.includes(labels[i]!));
  const all = path.join(work, 'target-all');
  const file = (i: number) => path.join(all, `${String(i).padStart(5, '0')}.png`);
  await once(path.join(work, '.target-all-done'), async () => {
    await fsp.rm(all, { recursive: true, force: true });
    await fsp.mkdir(all, { recursive: true });
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < targetIdx.length) {
          const i = targetIdx[next++]!;
          await sharp(images.data.subarray(i * 784, (i + 1) * 784), { raw: { width: 28, height: 28, channels: 1 } })
            .toColourspace('b-w')
            .png()
            .toFile(file(i));
        }
      }),
    );
  });
  const dir = path.join(work, `k${k}-s${seed}`);
  const train = path.join(dir, 'train');
  const pool = path.join(dir, 'pool');
  const labeled = new Set(
    samplePerClass(
      targetIdx.map((i) => labels[i]!),
      k,
      seed,
    ).map((j) => targetIdx[j]!),
  );
  await once(path.join(dir, '.done'), async () => {
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.mkdir(pool, { recursive: true });
    const csv = ['path,label'];
    for (const i of targetIdx) {
      const name = names[labels[i]!]!;
      if (labeled.has(i)) {
        await fsp.mkdir(path.join(train, name), { recursive: true });
        await fsp.copyFile(file(i), path.join(train, name, path.basename(file(i))));
      } else {
        await fsp.symlink(file(i), path.join(pool, path.basename(file(i))));
        csv.push(`${path.basename(file(i))},${name}`);
      }
    }
    await fsp.writeFile(path.join(dir, 'pool-labels.csv'), csv.join('\n') + '\n');
  });
  const poolLabels = new Map<string, string>();
  for (const line of (await fsp.readFile(path.join(dir, 'pool-labels.csv'), 'utf8')).trim().split('\n').slice(1)) {
    const [p, l] = line.split(',');
    poolLabels.set(path.join(pool, p!), l!);
  }
  return { k, seed, source, train, pool, poolLabels, test };
}

export function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, std };
}

export function fmt(xs: number[], digits = 1, scale = 100): string {
  const { mean, std } = meanStd(xs.map((x) => x * scale));
  return `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/**
 * The backbone pretrained on the source classes (trained once, then reused by every benchmark):
 * `arch` from scratch on all source training images.
 */
export async function pretrainedSource(
  work: string,
  arch = 'cnn-small',
  epochs = 3,
  log: (m: string) => void = () => {},
): Promise<{ dir: string; seconds: number | null }> {
  const dir = path.join(work, `pretrained-${arch}-e${epochs}`);
  if (await exists(path.join(dir, 'frugal.json'))) return { dir, seconds: null };
  const task = await scarceFmnist(work, 5, 0);
  log(`pretraining ${arch} on the source classes (30,000 images, ${epochs} epochs)...`);
  const r = await trainFromScratch(task.source, {
    out: dir,
    arch,
    valSplit: 0.1,
    hyper: { epochs, batchSize: 64, seed: 0 },
    callbacks: [
      {
        onEpochEnd: (l) =>
          void log(`  epoch ${l.epoch}: val acc ${l.valAccuracy?.toFixed(3)} (${l.seconds.toFixed(0)} s, ${l.imagesPerSecond.toFixed(0)} img/s)`),
      },
    ],
  });
  log(`pretrained: source val accuracy ${(r.accuracy * 100).toFixed(1)}% in ${r.seconds.toFixed(0)} s`);
  return { dir, seconds: r.seconds };
}

/**
 * A random subset of a task's pool as a folder of links (keeps benchmark rounds short), with its true labels.
 * `byClass`: links under `<class>/` folders, a labeled image folder (a validation set from training images).
 */
export async function poolSubset(
  task: ScarceTask,
  size: number,
  seed: number,
  name = 'pool',
  o: { byClass?: boolean } = {},
): Promise<{ dir: string; labels: Map<string, string> }> {
  const dir = path.join(path.dirname(task.pool), `${name}-${size}-s${seed}`);
  const all = [...new Set([...task.poolLabels.keys()].filter((p) => p.startsWith(task.pool + path.sep)))].sort();
  const { Rng } = await import('../../src/util/rng.js');
  const chosen = new Rng(seed).shuffle(all).slice(0, size);
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.mkdir(dir, { recursive: true });
  const link = (p: string) => (o.byClass ? path.join(dir, task.poolLabels.get(p)!, path.basename(p)) : path.join(dir, path.basename(p)));
  for (const p of chosen) {
    await fsp.mkdir(path.dirname(link(p)), { recursive: true });
    await fsp.symlink(await fsp.realpath(p), link(p));
  }
  return { dir, labels: new Map(chosen.map((p) => [link(p), task.poolLabels.get(p)!])) };
}
