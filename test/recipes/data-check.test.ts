import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { checkData } from '../../src/recipes/data-check.js';
import { HASH_WORDS, hammingDistance, perceptualHash } from '../../src/data/perceptual-hash.js';
import { writeRunJson } from '../../src/runs/artifacts.js';
import { writeReport } from '../../src/report/report.js';
import type { DataCheckFile, ImagePair } from '../../src/runs/files.js';
import { FIXTURE, tempDir } from '../helpers.js';

/** Three Fashion-MNIST classes of the fixture (28 × 28 PNGs; the trunk sees them at 224 px). */
const CLASSES = ['trouser', 'bag', 'sneaker'];
const PER_CLASS = 20;

/** `PER_CLASS` images of each class of a fixture split, copied into `dir`; returns their paths by class. */
async function copyFixture(split: string, dir: string, perClass: number, skip = 0): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const c of CLASSES) {
    await fsp.mkdir(path.join(dir, c), { recursive: true });
    const files = (await fsp.readdir(path.join(FIXTURE, split, c))).sort().slice(skip, skip + perClass);
    out[c] = [];
    for (const f of files) {
      await fsp.copyFile(path.join(FIXTURE, split, c, f), path.join(dir, c, f));
      out[c]!.push(path.join(dir, c, f));
    }
  }
  return out;
}

/**
 * A near-duplicate: the image resized to `size` px and re-encoded as JPEG. (A 28-px image resized by a factor that is
 * not a whole number moves many bits of the hash; docs/data-check.md says how often such copies are found.)
 */
async function nearCopy(file: string, to: string, size = 84, quality = 90): Promise<string> {
  await sharp(file).resize(size, size).jpeg({ quality }).toFile(to);
  return to;
}

const has = (pairs: ImagePair[], a: string, b: string, match?: 'exact' | 'near') =>
  pairs.some((p) => ((p.a.path === a && p.b.path === b) || (p.a.path === b && p.b.path === a)) && (!match || p.match === match));
const nearPairs = (r: DataCheckFile) => r.nearDuplicates.flatMap((c) => c.pairs);

test('the perceptual hash: near for a resized, re-encoded copy, far for another image', async () => {
  const hash = async (file: string) => {
    const { data, info } = await sharp(file).resize(64, 64, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    return perceptualHash(data, info.width, info.height, info.channels);
  };
  const dir = tempDir();
  const [a, b] = (await fsp.readdir(path.join(FIXTURE, 'train', 'bag'))).sort().map((f) => path.join(FIXTURE, 'train', 'bag', f));
  const copy = await nearCopy(a!, path.join(dir, 'copy.jpg'));
  const hashes = Uint32Array.from([...(await hash(a!)), ...(await hash(copy)), ...(await hash(b!))]);
  assert.equal(hashes.length, 3 * HASH_WORDS);
  assert.ok(hammingDistance(hashes, 0, 1) <= 12, `copy: ${hammingDistance(hashes, 0, 1)}`);
  assert.ok(hammingDistance(hashes, 0, 2) > 40, `other image: ${hammingDistance(hashes, 0, 2)}`);
  assert.equal(hammingDistance(hashes, 1, 1), 0);
});

test('checkData finds planted duplicates, leakage, pool overlap, two-label pairs and relabels; a clean set gives few findings', async () => {
  const root = tempDir();
  const train = path.join(root, 'train');
  const test = path.join(root, 'test');
  const pool = path.join(root, 'pool');
  const files = await copyFixture('train', train, PER_CLASS);
  await copyFixture('test', test, 5);

  const clean = await checkData(train, { test });
  assert.equal(clean.images.train, 3 * PER_CLASS);
  assert.deepEqual(clean.classes, [...CLASSES].sort());
  assert.equal(clean.exactDuplicates.length, 0);
  assert.equal(clean.leakage.length, 0);
  assert.equal(clean.labelConflicts.length, 0);
  assert.ok(nearPairs(clean).length <= 2, `natural near-duplicates: ${JSON.stringify(nearPairs(clean))}`);
  assert.ok(clean.mislabeled.candidates.length <= 2, `flagged on a clean set: ${JSON.stringify(clean.mislabeled.candidates)}`);
  assert.ok(clean.mislabeled.accuracy! >= 0.9, `cross-validated accuracy ${clean.mislabeled.accuracy}`);
  assert.deepEqual(clean.balance, { classes: clean.classes.map((name) => ({ name, count: PER_CLASS })), min: PER_CLASS, max: PER_CLASS, ratio: 1 });

  // Plant: an exact copy, a near-duplicate, a copy in the test split, one image under two labels, three relabels.
  const [trouser, bag, sneaker] = [files['trouser']!, files['bag']!, files['sneaker']!];
  const exact = path.join(train, 'bag', 'copy-of-bag-0.png');
  await fsp.copyFile(bag[0]!, exact);
  const near = await nearCopy(sneaker[0]!, path.join(train, 'sneaker', 'near-sneaker-0.jpg'));
  const leaked = path.join(test, 'trouser', 'leaked-trouser-0.png');
  await fsp.copyFile(trouser[0]!, leaked);
  const leakedNear = await nearCopy(bag[1]!, path.join(test, 'bag', 'near-bag-1.jpg'), 84, 80);
  const twoLabels = path.join(train, 'trouser', 'bag-2-as-trouser.png');
  await fsp.copyFile(bag[2]!, twoLabels);
  const moves: Array<[string, string]> = [
    [sneaker[5]!, 'bag'],
    [bag[5]!, 'trouser'],
    [trouser[5]!, 'sneaker'],
  ];
  const relabeled = moves.map(([file, to]) => path.join(train, to, `moved-${path.basename(file)}`));
  for (const [i, [file]] of moves.entries()) await fsp.rename(file, relabeled[i]!);
  await fsp.mkdir(pool, { recursive: true });
  const pooled = path.join(pool, 'pooled-sneaker-1.png');
  await fsp.copyFile(sneaker[1]!, pooled);
  const pooledTest = path.join(pool, 'pooled-test.png');
  const testBag = (await fsp.readdir(path.join(test, 'bag'))).sort()[0]!;
  await fsp.copyFile(path.join(test, 'bag', testBag), pooledTest);

  const r = await checkData(train, { test, unlabeled: pool });
  assert.ok(
    r.exactDuplicates.some((c) => c.images.some((i) => i.path === exact) && c.images.some((i) => i.path === bag[0])),
    JSON.stringify(r.exactDuplicates),
  );
  assert.ok(has(nearPairs(r), sneaker[0]!, near, 'near'), `near-duplicate not found: ${JSON.stringify(nearPairs(r))}`);
  assert.ok(has(r.leakage, trouser[0]!, leaked, 'exact'));
  assert.ok(has(r.leakage, bag[1]!, leakedNear, 'near'), `near leakage not found: ${JSON.stringify(r.leakage)}`);
  assert.ok(has(r.leakage, pooledTest, path.join(test, 'bag', testBag), 'exact'), 'a pool image that is a test image is leakage');
  assert.ok(has(r.poolOverlap, sneaker[1]!, pooled, 'exact'));
  assert.equal(r.poolOverlap.find((p) => p.b.path === pooled)?.a.set, 'train', 'the training image first');
  const conflict = r.labelConflicts.find((p) => has([p], bag[2]!, twoLabels));
  assert.ok(conflict, JSON.stringify(r.labelConflicts));
  assert.deepEqual([conflict.a.label, conflict.b.label].sort(), ['bag', 'trouser']);
  const flagged = new Set(r.mislabeled.candidates.map((c) => c.image.path));
  const found = relabeled.filter((f) => flagged.has(f)).length;
  assert.ok(found >= 2, `relabels flagged: ${found} of 3 (${JSON.stringify(r.mislabeled.candidates)})`);
  assert.ok(r.mislabeled.candidates.length <= found + 3, JSON.stringify(r.mislabeled.candidates));
  // The leaked copies are in the test split, which also has a mislabel score, by a head on all training images.
  assert.equal(r.images.test, 3 * 5 + 2);
  assert.equal(r.images.unlabeled, 2);

  // In a run folder, the report shows the findings.
  await writeRunJson(path.join(root, 'run'), 'dataCheck', r);
  const report = await writeReport(path.join(root, 'run'));
  assert.deepEqual(report.sections, ['summary', 'data-check']);
  const html = await fsp.readFile(report.out, 'utf8');
  assert.match(html, /One image, two labels \(1\)/);
  assert.ok(html.includes('bag-2-as-trouser.png'));
});

test('checkData: bad input is one clear error', async () => {
  const root = tempDir();
  await assert.rejects(checkData(path.join(root, 'missing')), /missing: no such file or folder/);
  await fsp.mkdir(path.join(root, 'flat'));
  await fsp.copyFile(path.join(FIXTURE, 'train', 'bag', (await fsp.readdir(path.join(FIXTURE, 'train', 'bag')))[0]!), path.join(root, 'flat', 'a.png'));
  await assert.rejects(checkData(path.join(root, 'flat')), /needs labeled images/);
  // One image per class: no cross-validation, said why; the rest of the check runs.
  const tiny = path.join(root, 'tiny');
  await copyFixture('train', tiny, 1);
  const r = await checkData(tiny);
  assert.equal(r.mislabeled.accuracy, null);
  assert.match(r.mislabeled.skipped ?? '', /at least 2/);
  assert.equal(r.images.train, 3);
});
