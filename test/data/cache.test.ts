/**
 * The cache's size limit: a load or a feature extraction that writes leaves the decoded-image and feature caches
 * under $FRUGAL_CACHE_LIMIT, evicting the least recently used files first (a hit touches its file); 0 turns caching
 * off; pruning touches nothing but Frugal's own files inside the cache folder.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { openDataset } from '../../src/data/sources.js';
import { decodeAll } from '../../src/data/loader.js';
import { contentHash, decodedEntryBytes } from '../../src/data/cache.js';
import { cachedPerImage } from '../../src/train/features.js';
import { cacheInfo, clearCache, parseByteSize, pruneCache, CACHE_LIMIT_VARIABLE } from '../../src/util/cache-dir.js';
import { OptionError } from '../../src/util/errors.js';
import { tempDir, FIXTURE } from '../helpers.js';

const spec = { height: 28, width: 28, channels: 1 as const, resize: 'squash' as const };
const ENTRY = decodedEntryBytes(spec);

afterEach(() => {
  delete process.env[CACHE_LIMIT_VARIABLE];
});

/** A fresh cache folder as $FRUGAL_CACHE. */
function useFreshCache(): string {
  const root = tempDir('frugal-cache-');
  process.env.FRUGAL_CACHE = root;
  return root;
}

async function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}

/** An hour of 2020: older than any file written by the test. */
function hourOf2020(hour: number): Date {
  return new Date(Date.UTC(2020, 0, 1, hour));
}

test('a load that writes holds the decoded cache to FRUGAL_CACHE_LIMIT, evicting the least recently used entries first', async () => {
  const root = useFreshCache();
  const samples = (await openDataset(path.join(FIXTURE, 'test'))).samples.slice(0, 9);
  const entryOf = async (i: number) => {
    const hash = contentHash(await fsp.readFile(samples[i]!.path));
    return path.join(root, 'decoded', '28x28x1-squash', hash.slice(0, 2), `${hash}.px`);
  };
  const entries = await Promise.all(samples.map((_, i) => entryOf(i)));
  assert.equal(new Set(entries).size, 9, 'nine different images');

  // Eight entries, used one hour apart (entry 0 the longest ago); then entries 0 and 1 are used again (cache hits).
  await decodeAll(samples.slice(0, 8), { spec, workers: 0 });
  for (let i = 0; i < 8; i++) await fsp.utimes(entries[i]!, hourOf2020(i), hourOf2020(i));
  const hits = await decodeAll(samples.slice(0, 2), { spec, workers: 0 });
  assert.equal(hits.cacheHits, 2);
  for (const i of [0, 1]) assert.ok((await fsp.stat(entries[i]!)).mtimeMs > hourOf2020(23).getTime(), `a hit touches entry ${i}`);

  // Room for 6 entries; a load writes a ninth: the cache is pruned to 90% of the limit, the least recently used first.
  process.env[CACHE_LIMIT_VARIABLE] = String(6 * ENTRY);
  const miss = await decodeAll(samples.slice(8), { spec, workers: 0 });
  assert.equal(miss.cacheHits, 0);
  const kept = await Promise.all(entries.map(exists));
  assert.deepEqual(
    entries.map((_, i) => i).filter((i) => kept[i]),
    [0, 1, 6, 7, 8],
    'the entries used last survive: 0 and 1 (hits), 8 (just written), then 7 and 6',
  );
  const info = await cacheInfo();
  assert.equal(info.kinds.decoded.bytes, 5 * ENTRY);
  assert.ok(info.limitedBytes <= 6 * ENTRY);

  // An entry evicted (by this run or a concurrent one) is a miss: decoded again, not an error.
  const again = await decodeAll(samples.slice(2, 3), { spec, workers: 0 });
  assert.equal(again.count, 1);
  assert.equal(again.cacheHits, 0);
});

test('the feature cache is held to the same limit: least recently used rows evicted first, a hit touches its file', async () => {
  const root = useFreshCache();
  const rowBytes = 4 * 4;
  const image = (v: number) => new Uint8Array([v, v, v, v]);
  const rows = (values: number[]) => {
    const px = new Uint8Array(values.length * 4);
    values.forEach((v, i) => px.set(image(v), i * 4));
    return px;
  };
  const compute = async (px: Uint8Array, n: number) => Float32Array.from({ length: n * 4 }, (_, i) => px[i]!);
  const extract = (values: number[]) => cachedPerImage('test-id', 4, rows(values), values.length, compute);
  const fileOf = (v: number) => {
    const key = contentHash(image(v));
    return path.join(root, 'features', 'test-id', key.slice(0, 2), `${key}.f32`);
  };
  await extract([0, 1, 2, 3, 4, 5, 6, 7]);
  for (let v = 0; v < 8; v++) await fsp.utimes(fileOf(v), hourOf2020(v), hourOf2020(v));
  assert.equal((await extract([0, 1])).hits, 2);
  process.env[CACHE_LIMIT_VARIABLE] = String(6 * rowBytes);
  const res = await extract([0, 8]);
  assert.equal(res.hits, 1);
  const kept = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8].map((v) => exists(fileOf(v))));
  assert.deepEqual(
    kept.flatMap((k, v) => (k ? [v] : [])),
    [0, 1, 6, 7, 8],
  );
});

test('FRUGAL_CACHE_LIMIT=0 caches nothing; a value that is not a size is an error naming the variable', async () => {
  const root = useFreshCache();
  const samples = (await openDataset(path.join(FIXTURE, 'test'))).samples.slice(0, 3);
  process.env[CACHE_LIMIT_VARIABLE] = '0';
  const res = await decodeAll(samples, { spec, workers: 0 });
  assert.equal(res.count, 3);
  await cachedPerImage('test-id', 1, new Uint8Array([1, 2]), 2, async (px, n) => Float32Array.from({ length: n }, (_, i) => px[i]!));
  assert.equal(await exists(path.join(root, 'decoded')), false);
  assert.equal(await exists(path.join(root, 'features')), false);

  process.env[CACHE_LIMIT_VARIABLE] = 'lots';
  await assert.rejects(decodeAll(samples, { spec, workers: 0 }), (err: Error) => {
    assert.ok(err instanceof OptionError);
    assert.equal(err.message, 'FRUGAL_CACHE_LIMIT must be a size such as 500MB, 2GB or 0 (no caching), got "lots"');
    return true;
  });
  assert.deepEqual(['0', '1024', '500MB', '500m', '1.5G', '2GiB', '2 gb', 'lots', '-1', '5 PB'].map(parseByteSize), [
    0,
    1024,
    500 * 1024 ** 2,
    500 * 1024 ** 2,
    1.5 * 1024 ** 3,
    2 * 1024 ** 3,
    2 * 1024 ** 3,
    null,
    null,
    null,
  ]);
});

test('pruning and clearing remove only Frugal files inside the cache folder: not links, not foreign files, not a running write', async () => {
  const root = useFreshCache();
  const outside = tempDir('frugal-outside-');
  await fsp.writeFile(path.join(outside, 'precious.px'), 'not the cache');
  const dir = path.join(root, 'decoded', '28x28x1-squash', 'ab');
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(path.join(dir, 'ab01.px'), Buffer.alloc(100));
  await fsp.writeFile(path.join(root, 'decoded', 'notes.txt'), 'mine');
  await fsp.symlink(outside, path.join(root, 'decoded', 'link'));
  const running = path.join(dir, '.ab02.px.123.cafe.tmp');
  const crashed = path.join(dir, '.ab03.px.456.beef.tmp');
  await fsp.writeFile(running, Buffer.alloc(10));
  await fsp.writeFile(crashed, Buffer.alloc(10));
  await fsp.utimes(crashed, hourOf2020(0), hourOf2020(0));

  const pruned = await pruneCache({ limit: 0 });
  assert.equal(pruned.evicted, 1);
  assert.equal(pruned.freed, 100);
  assert.equal(await exists(path.join(dir, 'ab01.px')), false);
  assert.equal(await exists(crashed), false, "a crashed write's temporary file is removed");
  assert.equal(await exists(running), true, 'a running write is left alone');
  assert.equal(await exists(path.join(root, 'decoded', 'notes.txt')), true);
  assert.equal(await exists(path.join(outside, 'precious.px')), true);

  const cleared = await clearCache(['decoded']);
  assert.equal(cleared.freed, 0);
  assert.equal(await exists(path.join(outside, 'precious.px')), true);
  assert.equal(await exists(path.join(root, 'decoded', 'notes.txt')), true);
  assert.equal(await exists(running), true);
});
