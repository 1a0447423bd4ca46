import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FIXTURE } from './helpers.js';

/** Class folders of links to the fixture's training images (28×28 grey garments), the first `perClass` of each class. */
export async function fixtureClasses(dir: string, classes: readonly string[], perClass: number): Promise<string> {
  for (const c of classes) {
    await fsp.mkdir(path.join(dir, c), { recursive: true });
    for (const f of (await fsp.readdir(path.join(FIXTURE, 'train', c))).sort().slice(0, perClass))
      await fsp.symlink(path.join(FIXTURE, 'train', c, f), path.join(dir, c, f));
  }
  return dir;
}

/** A flat pool of links to the first `count` of the fixture's unlabeled images of `classes` (unlabeled-labels.csv). */
export async function fixturePool(dir: string, classes: readonly string[], count: number): Promise<string> {
  await fsp.mkdir(dir, { recursive: true });
  const rows = (await fsp.readFile(path.join(FIXTURE, 'unlabeled-labels.csv'), 'utf8')).trim().split('\n').slice(1);
  const files = rows.map((r) => r.split(',')).filter(([, label]) => classes.includes(label!));
  for (const [file] of files.slice(0, count)) await fsp.symlink(path.join(FIXTURE, file!), path.join(dir, path.basename(file!)));
  return dir;
}
