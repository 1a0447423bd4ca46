import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { openDataset } from '../../src/data/sources.js';
import { encodeIdx, readIdx } from '../../src/data/idx.js';
import { inspectData } from '../../src/data/inspect.js';
import { prepareData } from '../../src/data/prepare.js';
import { tempDir, FIXTURE } from '../helpers.js';
import { makeBadFolder } from './bad-inputs.js';

test('image folder: classes sorted, samples labeled', async () => {
  const ds = await openDataset(path.join(FIXTURE, 'train'));
  assert.equal(ds.kind, 'folder');
  assert.equal(ds.classes.length, 10);
  assert.deepEqual(ds.classes, [...ds.classes].sort());
  assert.equal(ds.samples.length, 2000);
  assert.equal(ds.problems.length, 0);
  for (const s of ds.samples) assert.equal(path.basename(path.dirname(s.path)), ds.classes[s.label!]);
});

test('unlabeled folder at any depth', async () => {
  const dir = tempDir();
  const img = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } })
    .png()
    .toBuffer();
  await fsp.mkdir(path.join(dir, 'a', 'b'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'top.png'), img);
  await fsp.writeFile(path.join(dir, 'a', 'b', 'deep.png'), img);
  await fsp.writeFile(path.join(dir, 'a', 'notes.txt'), 'ignored');
  const ds = await openDataset(dir);
  assert.equal(ds.kind, 'unlabeled');
  assert.equal(ds.samples.length, 2);
  assert.ok(ds.samples.every((s) => s.label === null));
  const forced = await openDataset(path.join(FIXTURE, 'train'), { unlabeled: true });
  assert.equal(forced.samples.length, 2000);
});

test('CSV of path,label; rows naming missing files are reported and skipped', async () => {
  const dir = tempDir();
  const img = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'blue' } })
    .png()
    .toBuffer();
  await fsp.writeFile(path.join(dir, 'x.png'), img);
  await fsp.writeFile(path.join(dir, 'y.png'), img);
  await fsp.writeFile(path.join(dir, 'labels.csv'), 'path,label\nx.png,cat\ny.png,dog\nmissing.png,dog\n');
  const ds = await openDataset(path.join(dir, 'labels.csv'));
  assert.equal(ds.kind, 'csv');
  assert.deepEqual(ds.classes, ['cat', 'dog']);
  assert.equal(ds.samples.length, 2);
  assert.equal(ds.problems.length, 1);
  assert.equal(ds.problems[0]!.path, path.join(dir, 'missing.png'));
  assert.match(ds.problems[0]!.reason, /missing/);
  await assert.rejects(openDataset(path.join(dir, 'labels.csv'), { strict: true }), /missing\.png.*missing/);
});

test("CSV: a path listed twice is used once (no image in training and validation both); under two labels it is an error naming both lines; line numbers are the file's own", async () => {
  const dir = tempDir();
  const img = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'blue' } })
    .png()
    .toBuffer();
  for (const f of ['x.png', 'y.png', 'z.png']) await fsp.writeFile(path.join(dir, f), img);
  await fsp.writeFile(path.join(dir, 'twice.csv'), 'path,label\nx.png,cat\n\ny.png,dog\nx.png,cat\nz.png\n');
  const ds = await openDataset(path.join(dir, 'twice.csv'));
  assert.equal(ds.samples.length, 2);
  assert.deepEqual(
    ds.problems.map((p) => [p.path, p.reason]),
    [
      [`${path.join(dir, 'twice.csv')}:5`, 'x.png is listed again (first on line 2): used once'],
      [`${path.join(dir, 'twice.csv')}:6`, 'row needs a path and a label'],
    ],
  );
  await fsp.writeFile(path.join(dir, 'two-labels.csv'), 'x.png,cat\ny.png,dog\nx.png,dog\n');
  await assert.rejects(openDataset(path.join(dir, 'two-labels.csv')), /x\.png is labeled "cat" on line 1 and "dog" on line 3: an image can have one label/);
});

test('links to folders: a linked class folder is a class; a broken one is a problem, not silence; a pool follows linked folders once (no loop)', async () => {
  const dir = tempDir();
  const img = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } })
    .png()
    .toBuffer();
  const elsewhere = path.join(dir, 'elsewhere', 'dogs');
  await fsp.mkdir(elsewhere, { recursive: true });
  await fsp.writeFile(path.join(elsewhere, 'd.png'), img);
  const root = path.join(dir, 'data');
  await fsp.mkdir(path.join(root, 'cats'), { recursive: true });
  await fsp.writeFile(path.join(root, 'cats', 'c.png'), img);
  await fsp.symlink(elsewhere, path.join(root, 'dogs'));
  await fsp.symlink(path.join(dir, 'nowhere'), path.join(root, 'birds'));
  const ds = await openDataset(root);
  assert.deepEqual(ds.classes, ['cats', 'dogs']);
  assert.equal(ds.samples.length, 2);
  assert.deepEqual(
    ds.problems.map((p) => [p.path, p.reason]),
    [[path.join(root, 'birds'), 'broken link (ENOENT)']],
  );
  // The pool: the linked folder's image is found, a link back to the pool's root is not followed twice.
  const pool = path.join(dir, 'pool');
  await fsp.mkdir(pool);
  await fsp.writeFile(path.join(pool, 'p.png'), img);
  await fsp.symlink(elsewhere, path.join(pool, 'more'));
  await fsp.symlink(pool, path.join(pool, 'loop'));
  const unlabeled = await openDataset(pool, { unlabeled: true });
  assert.deepEqual(unlabeled.samples.map((s) => path.relative(pool, s.path)).sort(), ['more/d.png', 'p.png']);
});

test('IDX files, gzipped or not; a header that disagrees with the size is a clear error', async () => {
  const ds = await openDataset(path.join(FIXTURE, 'idx', 'images-idx3-ubyte.gz'));
  assert.equal(ds.kind, 'idx');
  assert.equal(ds.samples.length, 500);
  assert.equal(ds.samples[0]!.pixels!.data.length, 784);
  const dir = tempDir();
  const plain = encodeIdx(
    [2, 3, 3],
    new Uint8Array(18).map((_, i) => i),
  );
  await fsp.writeFile(path.join(dir, 'ok.idx'), plain);
  await fsp.writeFile(path.join(dir, 'ok.idx.gz'), gzipSync(plain));
  assert.deepEqual((await readIdx(path.join(dir, 'ok.idx'))).shape, [2, 3, 3]);
  assert.deepEqual(Uint8Array.from((await readIdx(path.join(dir, 'ok.idx.gz'))).data), plain.subarray(16));
  const bad = path.join(dir, 'bad-images-idx3-ubyte');
  await fsp.writeFile(bad, plain.subarray(0, plain.length - 5));
  await assert.rejects(readIdx(bad), (err: Error) => err.message.includes(bad) && /header says shape \[2, 3, 3\].*13 bytes/.test(err.message));
});

test('every kind of bad file is reported with a reason, and --strict names the first', async () => {
  const { root, bad } = await makeBadFolder(tempDir());
  const summary = await inspectData(root, { workers: 2, cache: false });
  const reasons = new Map(summary.problems.map((p) => [p.path, p.reason]));
  assert.match(reasons.get(bad.zero)!, /empty file/);
  assert.match(reasons.get(bad.truncated)!, /truncated or corrupt/);
  assert.match(reasons.get(bad.text)!, /not an image/);
  assert.match(reasons.get(bad.unreadable)!, /unreadable/);
  assert.match(reasons.get(bad.emptyClass)!, /empty class folder/);
  assert.equal(summary.images, 6);
  assert.deepEqual(summary.classes, [
    { name: 'cats', count: 3 },
    { name: 'dogs', count: 3 },
  ]);
  // Problems found while listing come first (in folder order), then those found by decoding (in file order).
  await assert.rejects(inspectData(root, { strict: true, cache: false }), (err: Error) => err.message.startsWith(`${bad.unreadable}: unreadable`));
  await fsp.rm(bad.unreadable);
  await assert.rejects(inspectData(root, { strict: true, cache: false }), (err: Error) => err.message.startsWith(`${bad.emptyClass}: empty class`));
  await fsp.rmdir(bad.emptyClass);
  await assert.rejects(inspectData(root, { strict: true, cache: false }), (err: Error) => err.message.startsWith(`${bad.zero}: empty file`));
});

test('a single-class data set is reported', async () => {
  const dir = tempDir();
  await fsp.mkdir(path.join(dir, 'only'));
  await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } })
    .png()
    .toFile(path.join(dir, 'only', 'a.png'));
  const ds = await openDataset(dir);
  assert.match(ds.problems[0]!.reason, /only one class/);
  await assert.rejects(openDataset(dir, { strict: true }), /only one class/);
});

test('files with the same bytes are one image: used once before the split (no copy in training and validation both), an error under two labels, and a --val copy of a training image is not held out', async () => {
  const root = tempDir();
  const dir = path.join(root, 'data');
  const image = (seed: number) =>
    sharp(Buffer.from(Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 37 + seed * 101) % 256)), { raw: { width: 8, height: 8, channels: 3 } })
      .png()
      .toBuffer();
  for (const cls of ['cat', 'dog']) await fsp.mkdir(path.join(dir, cls), { recursive: true });
  for (let i = 0; i < 6; i++) {
    await fsp.writeFile(path.join(dir, 'cat', `c${i}.png`), await image(i));
    await fsp.writeFile(path.join(dir, 'dog', `d${i}.png`), await image(100 + i));
  }
  // Three copies of one cat photo under other names: with a 50% split they landed in both parts before.
  for (const copy of ['copy-a.png', 'copy-b.png', 'copy-c.png']) await fsp.copyFile(path.join(dir, 'cat', 'c0.png'), path.join(dir, 'cat', copy));
  const data = await prepareData(dir, { size: 8, channels: 3, valSplit: 0.5, seed: 1 });
  assert.equal(data.train.count + data.val.count, 12);
  const paths = [...data.train.paths, ...data.val.paths];
  assert.deepEqual(
    ['c0.png', 'copy-a.png', 'copy-b.png', 'copy-c.png'].filter((f) => paths.includes(path.join(dir, 'cat', f))),
    ['c0.png'],
  );
  assert.deepEqual(
    data.problems.map((p) => [path.basename(p.path), p.reason]),
    ['copy-a.png', 'copy-b.png', 'copy-c.png'].map((f) => [f, `the same image as ${path.join(dir, 'cat', 'c0.png')} (identical bytes): used once`]),
  );
  // A separate validation folder holding a copy of a training image: that copy is not held out.
  const val = path.join(root, 'val');
  for (const cls of ['cat', 'dog']) await fsp.mkdir(path.join(val, cls), { recursive: true });
  await fsp.copyFile(path.join(dir, 'dog', 'd3.png'), path.join(val, 'dog', 'leak.png'));
  await fsp.writeFile(path.join(val, 'dog', 'new.png'), await image(200));
  await fsp.writeFile(path.join(val, 'cat', 'new.png'), await image(201));
  const withVal = await prepareData(dir, { size: 8, channels: 3, valData: val });
  assert.deepEqual(withVal.val.paths.map((p) => path.relative(val, p)).sort(), ['cat/new.png', 'dog/new.png']);
  assert.ok(withVal.problems.some((p) => p.path === path.join(val, 'dog', 'leak.png') && /same image as training file .*d3\.png/.test(p.reason)));
  // The same bytes under two labels.
  await fsp.copyFile(path.join(dir, 'cat', 'c1.png'), path.join(dir, 'dog', 'also-c1.png'));
  await assert.rejects(prepareData(dir, { size: 8, channels: 3 }), (e: Error) => {
    assert.match(e.message, /c1\.png \("cat"\) and .*also-c1\.png \("dog"\) are the same image \(identical bytes\) under two labels/);
    return true;
  });
});

test('a labels CSV with more than two columns is an error naming the line (the extra columns were ignored without a word)', async () => {
  const dir = tempDir();
  const img = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'blue' } })
    .png()
    .toBuffer();
  for (const f of ['x.png', 'y.png']) await fsp.writeFile(path.join(dir, f), img);
  await fsp.writeFile(path.join(dir, 'wide.csv'), 'path,label\nx.png,cat\ny.png,dog,0.9\n');
  await assert.rejects(
    openDataset(path.join(dir, 'wide.csv')),
    /wide\.csv: line 3 has 3 columns \("y\.png", "dog", "0\.9"\); a labels CSV has two, path and label/,
  );
  await fsp.writeFile(path.join(dir, 'header.csv'), 'path,label,split\nx.png,cat,train\ny.png,dog,train\n');
  await assert.rejects(openDataset(path.join(dir, 'header.csv')), /header\.csv: line 1 has 3 columns/);
  // A trailing comma (an empty third cell) is still two columns.
  await fsp.writeFile(path.join(dir, 'trailing.csv'), 'x.png,cat,\ny.png,dog,\n');
  assert.equal((await openDataset(path.join(dir, 'trailing.csv'))).samples.length, 2);
});
