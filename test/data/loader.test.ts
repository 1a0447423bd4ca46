import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { openDataset } from '../../src/data/sources.js';
import { decodeAll, decodeBatches } from '../../src/data/loader.js';
import { stratifiedSplit, classBalance, samplePerClass } from '../../src/data/split.js';
import { writeIdxAsFolder } from '../../src/data/from-idx.js';
import { readIdxPair } from '../../src/data/idx.js';
import { tempDir, FIXTURE } from '../helpers.js';

const spec = { height: 28, width: 28, channels: 1 as const, resize: 'squash' as const };

test('worker pool and calling thread decode the same pixels; a second run hits the cache', async () => {
  const ds = await openDataset(path.join(FIXTURE, 'test'));
  const samples = ds.samples.slice(0, 120);
  const cache = tempDir();
  const inline = await decodeAll(samples, { spec, workers: 0, cache: false });
  const first = await decodeAll(samples, { spec, workers: 2, cache });
  const second = await decodeAll(samples, { spec, workers: 2, cache });
  assert.equal(inline.count, 120);
  assert.deepEqual(first.pixels, inline.pixels);
  assert.deepEqual(second.pixels, inline.pixels);
  assert.deepEqual(
    [...first.labels],
    samples.map((s) => s.label),
  );
  assert.equal(first.cacheHits, 0);
  assert.equal(second.cacheHits, 120);
  // A renamed copy of a file is the same content: still a cache hit.
  const copy = path.join(tempDir(), 'copy.png');
  await fsp.copyFile(samples[0]!.path, copy);
  const again = await decodeAll([{ path: copy, label: 0 }], { spec, workers: 0, cache });
  assert.equal(again.cacheHits, 1);
});

test('streaming batches keep order and size', async () => {
  const ds = await openDataset(path.join(FIXTURE, 'test'));
  const sizes: number[] = [];
  const paths: string[] = [];
  for await (const b of decodeBatches(ds.samples.slice(0, 100), 32, { spec, workers: 2, cache: false })) {
    sizes.push(b.count);
    paths.push(...b.paths);
    assert.equal(b.pixels.length, b.count * 28 * 28);
  }
  assert.deepEqual(sizes, [32, 32, 32, 4]);
  assert.deepEqual(
    paths,
    ds.samples.slice(0, 100).map((s) => s.path),
  );
});

test('seeded stratified split keeps class proportions', () => {
  const labels = [...Array(100).fill(0), ...Array(50).fill(1), ...Array(10).fill(2)];
  const a = stratifiedSplit(labels, 0.2, 7);
  const b = stratifiedSplit(labels, 0.2, 7);
  const c = stratifiedSplit(labels, 0.2, 8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.val, c.val);
  assert.deepEqual(
    classBalance(
      a.val.map((i) => labels[i]!),
      3,
    ).counts,
    [20, 10, 2],
  );
  assert.equal(a.train.length + a.val.length, 160);
  assert.equal(new Set([...a.train, ...a.val]).size, 160);
  const bal = classBalance(labels, 3);
  assert.equal(bal.imbalanceRatio, 10);
  assert.deepEqual(
    classBalance(
      samplePerClass(labels, 5, 1).map((i) => labels[i]!),
      3,
    ).counts,
    [5, 5, 5],
  );
});

test('from-idx writes PNGs whose pixels equal the IDX pixels', async () => {
  const out = tempDir();
  const imagesFile = path.join(FIXTURE, 'idx', 'images-idx3-ubyte.gz');
  const labelsFile = path.join(FIXTURE, 'idx', 'labels-idx1-ubyte.gz');
  const res = await writeIdxAsFolder(imagesFile, labelsFile, out, {
    classNames: ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'],
  });
  assert.equal(res.written, 500);
  const { images, labels } = await readIdxPair(imagesFile, labelsFile);
  const ds = await openDataset(out);
  assert.equal(ds.samples.length, 500);
  for (const s of ds.samples) {
    const i = Number(path.basename(s.path, '.png'));
    assert.equal((await sharp(s.path).metadata()).channels, 1);
    const { data } = await sharp(s.path).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual(Uint8Array.from(data), Uint8Array.from(images.data.subarray(i * 784, (i + 1) * 784)), s.path);
    assert.equal(res.classes[labels[i]!]!.name, ds.classes[s.label!]);
  }
  const subset = await writeIdxAsFolder(imagesFile, labelsFile, tempDir(), { classes: [5, 7], perClass: 3, seed: 1, classNames: ['sandal', 'sneaker'] });
  assert.deepEqual(
    subset.classes.map((c) => [c.name, c.count]),
    [
      ['sandal', 3],
      ['sneaker', 3],
    ],
  );
});
