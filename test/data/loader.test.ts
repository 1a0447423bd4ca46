import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { openDataset, type Sample } from '../../src/data/sources.js';
import { decodeAll, decodeBatches } from '../../src/data/loader.js';
import { conformImage, decodeImage } from '../../src/data/decode.js';
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

test('several images per request to a decoding process: each result lands in its place, pixels as decoded one at a time', async () => {
  // 40 files (RGB JPEGs of several sizes, grayscale PNGs, bad files inside a request) and an in-memory image
  // between them: 2 decoding processes get requests of 5 images each.
  const dir = tempDir();
  const samples: Sample[] = [];
  for (let i = 0; i < 40; i++) {
    const file = path.join(dir, `img${String(i).padStart(2, '0')}.${i % 7 === 3 ? 'png' : 'jpg'}`);
    if (i % 13 === 5) {
      await fsp.writeFile(file, i % 2 ? 'not an image\n' : new Uint8Array(0));
    } else {
      const [w, h] = [64 + 17 * (i % 5), 48 + 11 * (i % 3)];
      const px = Uint8Array.from({ length: w * h * 3 }, (_, k) => (k * (i + 3) + (k >> 7)) & 255);
      const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
      await (i % 7 === 3 ? img.toColourspace('b-w').png() : img.jpeg({ quality: 80 })).toFile(file);
    }
    samples.push({ path: file, label: i % 3 });
    if (i === 17) samples.push({ path: 'memory#0', label: 1, pixels: { data: new Uint8Array(20 * 10 * 3).fill(77), height: 10, width: 20, channels: 3 } });
  }
  for (const spec of [
    { height: 24, width: 24, channels: 3 as const, resize: 'center-crop' as const },
    { height: 16, width: 20, channels: 1 as const, resize: 'squash' as const },
  ]) {
    const pooled = await decodeAll(samples, { spec, workers: 2, cache: false });
    const size = spec.height * spec.width * spec.channels;
    const expected: number[] = [];
    const problems: string[] = [];
    for (const s of samples) {
      if (s.pixels) {
        expected.push(...(await conformImage(s.pixels, spec)).data);
        continue;
      }
      try {
        expected.push(...(await decodeImage(await fsp.readFile(s.path), spec)).image.data);
      } catch {
        problems.push(s.path);
      }
    }
    assert.equal(pooled.count, samples.length - problems.length);
    assert.deepEqual(
      pooled.problems.map((p) => p.path),
      problems,
    );
    assert.equal(pooled.pixels.length, pooled.count * size);
    assert.deepEqual([...pooled.pixels], expected);
    const good = samples.filter((s) => !problems.includes(s.path));
    assert.deepEqual(
      pooled.paths,
      good.map((s) => s.path),
    );
    assert.deepEqual(
      [...pooled.labels],
      good.map((s) => s.label),
    );
  }
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
