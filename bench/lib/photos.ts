/**
 * Real-photo benchmark tasks from `../shared/data/photos` (class folders; licences unknown, so the
 * photos never enter the repository): k labeled images per class drawn with a seed from the training
 * split, the rest of that split as an unlabeled pool (labels hidden), and the published held-out split.
 *
 *   <work>/<set>-k<k>-s<seed>/{train/<class>/<links>, pool/<links>, pool-labels.csv}
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { samplePerClass } from '../../src/data/split.js';
import { exists } from '../../src/util/fs.js';

/** The published splits: hymenoptera is evaluated on `val` (as in PyTorch's tutorial), flowers12 on `test`. */
export const PHOTO_SETS: Record<string, { train: string; test: string; reference: string }> = {
  hymenoptera: {
    train: 'train',
    test: 'val',
    reference:
      "PyTorch's transfer-learning tutorial, ResNet-18 (11.7 M parameters) on the same val split: about 0.93–0.95 fine-tuned or as a fixed feature extractor, with the best epoch picked on that split",
  },
  flowers12: { train: 'train', test: 'test', reference: 'none published for this 12-class subset of Oxford 17 Flowers' },
};

/** `../shared/data/photos` beside the repository (or $FRUGAL_PHOTOS). */
export function photosRoot(): string {
  if (process.env.FRUGAL_PHOTOS) return process.env.FRUGAL_PHOTOS;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, '..', 'shared', 'data', 'photos');
}

export const METHODS = ['scratch', 'frozen', 'cut-auto', 'finetune', 'augment', 'noisy-student', 'noisy-student-split', 'noisy-student-images'] as const;
/** The rows of bench/photos. */
export type Method = (typeof METHODS)[number];

export const METHOD_LABELS: Record<Method, string> = {
  scratch: 'from scratch (`--backbone none`)',
  frozen: 'frozen built-in trunk',
  'cut-auto': 'frozen, `--cut auto`',
  finetune: 'fine-tuned at 224 px',
  augment: "frozen + the augmentation search's policy",
  'noisy-student': 'Noisy Student on frozen features, `frugal self-train` (pool = rest of train)',
  'noisy-student-split': 'the same, `--no-cv`: scored on a 20% validation split',
  'noisy-student-images': 'frozen teacher + Noisy Student, fine-tuned image students (pool = rest of train)',
};

const IMAGE = /\.(jpe?g|png|webp|gif|tiff?|bmp)$/i;

export interface PhotoTask {
  set: string;
  /** Labels per class; null: the whole training split. */
  k: number | null;
  seed: number;
  train: string;
  /** The rest of the training split, flat, labels hidden (null when k is null). */
  pool: string | null;
  poolLabels: Map<string, string>;
  test: string;
  classes: string[];
}

/** Make (or reuse) one task's folders of links. */
export async function photoTask(work: string, set: string, k: number | null, seed: number, root = photosRoot()): Promise<PhotoTask> {
  const info = PHOTO_SETS[set];
  if (!info) throw new Error(`unknown photo set ${set} (known: ${Object.keys(PHOTO_SETS).join(', ')})`);
  const trainRoot = path.join(root, set, info.train);
  if (!(await exists(trainRoot))) throw new Error(`${trainRoot}: not found (set FRUGAL_PHOTOS to the photos folder)`);
  const classes = (await fsp.readdir(trainRoot, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const files: string[] = [];
  const labels: number[] = [];
  for (const [i, c] of classes.entries()) {
    for (const f of (await fsp.readdir(path.join(trainRoot, c))).filter((f) => IMAGE.test(f)).sort()) {
      files.push(path.join(trainRoot, c, f));
      labels.push(i);
    }
  }
  const dir = path.join(work, `${set}-k${k ?? 'all'}-s${seed}`);
  const task: PhotoTask = {
    set,
    k,
    seed,
    train: path.join(dir, 'train'),
    pool: k === null ? null : path.join(dir, 'pool'),
    poolLabels: new Map(),
    test: path.join(root, set, info.test),
    classes,
  };
  const chosen = new Set(k === null ? files.map((_, i) => i) : samplePerClass(labels, k, seed));
  const marker = path.join(dir, '.done');
  const pool: Array<[string, string]> = [];
  files.forEach((f, i) => {
    if (!chosen.has(i)) pool.push([`${String(i).padStart(5, '0')}${path.extname(f)}`, classes[labels[i]!]!]);
  });
  for (const [name, label] of pool) task.poolLabels.set(path.join(task.pool ?? '', name), label);
  if (await exists(marker)) return task;
  await fsp.rm(dir, { recursive: true, force: true });
  for (const c of classes) await fsp.mkdir(path.join(task.train, c), { recursive: true });
  for (const i of chosen) await fsp.symlink(files[i]!, path.join(task.train, classes[labels[i]!]!, path.basename(files[i]!)));
  if (task.pool) {
    await fsp.mkdir(task.pool, { recursive: true });
    let j = 0;
    for (const [i, f] of files.entries()) {
      if (chosen.has(i)) continue;
      await fsp.symlink(f, path.join(task.pool, pool[j++]![0]));
    }
    await fsp.writeFile(path.join(dir, 'pool-labels.csv'), ['path,label', ...pool.map(([n, l]) => `${n},${l}`)].join('\n') + '\n');
  }
  await fsp.writeFile(marker, new Date().toISOString());
  return task;
}

/** The records of a results file of JSON lines (a benchmark's finished runs); none when it does not exist yet. */
export async function readJsonLines<T>(file: string): Promise<T[]> {
  try {
    return (await fsp.readFile(file, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as T);
  } catch {
    return [];
  }
}
