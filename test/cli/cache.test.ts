/**
 * The cache from the command line: `--no-cache` on every command that decodes images, `frugal cache info` and
 * `frugal cache clear`, and $FRUGAL_CACHE_LIMIT (a bad value is a usage error before any work).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { tempDir, runCli } from '../helpers.js';
import { writeToyFolder } from '../synthetic.js';

const root = tempDir();
let toy: string;
let model: string;

/** Every file under a folder (none when it does not exist), with its size. */
async function filesUnder(dir: string): Promise<Array<{ file: string; bytes: number }>> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  const found = await Promise.all(
    entries.map(async (e) => {
      const file = path.join(dir, e.name);
      if (e.isDirectory()) return filesUnder(file);
      return e.isFile() ? [{ file, bytes: (await fsp.stat(file)).size }] : [];
    }),
  );
  return found.flat();
}

const bytesOf = (files: Array<{ bytes: number }>) => files.reduce((n, f) => n + f.bytes, 0);

/** The CLI with its own cache folder, and no limit from the test's environment. */
function cli(args: string[], cache: string, env: Record<string, string> = {}) {
  return runCli(args, { FRUGAL_CACHE: cache, FRUGAL_CACHE_LIMIT: '', ...env });
}

before(async () => {
  toy = await writeToyFolder(path.join(root, 'toy'), 10, 16, 3);
  model = path.join(root, 'model');
  const cache = path.join(root, 'cache-train');
  const res = cli(['train', toy, '--out', model, '--backbone', 'none', '--arch', 'cnn-tiny', '--epochs', '1', '--min-steps', '0', '--no-cache'], cache);
  assert.equal(res.status, 0, res.stderr);
  assert.deepEqual(await filesUnder(cache), [], 'train --no-cache writes no cache');
});

test('every command that decodes images takes --no-cache', () => {
  for (const command of [['train'], ['auto'], ['distill'], ['self-train'], ['evaluate'], ['predict'], ['augment', 'search']]) {
    const help = cli([...command, '--help'], path.join(root, 'cache-help'));
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--no-cache\s+read and write neither the decoded-image cache/, command.join(' '));
  }
});

test('evaluate --no-cache and predict --no-cache leave the decoded cache empty; without it they fill it', async () => {
  const cache = path.join(root, 'cache-no-cache');
  const ev = cli(['evaluate', model, toy, '--no-cache', '--json'], cache);
  assert.equal(ev.status, 0, ev.stderr);
  assert.equal(JSON.parse(ev.stdout).count, 30);
  const pr = cli(['predict', model, toy, '--no-cache', '--json'], cache);
  assert.equal(pr.status, 0, pr.stderr);
  assert.equal(JSON.parse(pr.stdout).count, 30);
  assert.deepEqual(await filesUnder(cache), []);
  // The same commands without the flag cache each image once.
  assert.equal(cli(['predict', model, toy, '--json'], cache).status, 0);
  assert.equal((await filesUnder(path.join(cache, 'decoded'))).length, 30);
});

test('cache info --json reports the bytes and entries of the files; cache clear empties it and prints what it freed', async () => {
  const cache = path.join(root, 'cache-info');
  assert.equal(cli(['evaluate', model, toy, '--json'], cache).status, 0);
  const featureFile = path.join(cache, 'features', 'some-backbone', 'ab', 'ab12.f32');
  await fsp.mkdir(path.dirname(featureFile), { recursive: true });
  await fsp.writeFile(featureFile, Buffer.alloc(64));
  const modelDir = path.join(cache, 'models', '0123456789abcdef01234567');
  await fsp.mkdir(modelDir, { recursive: true });
  await fsp.writeFile(path.join(modelDir, 'model.onnx'), Buffer.alloc(1000));
  await fsp.writeFile(path.join(modelDir, '.complete.json'), '{}');

  const decoded = await filesUnder(path.join(cache, 'decoded'));
  const models = await filesUnder(path.join(cache, 'models'));
  const info = cli(['cache', 'info', '--json'], cache);
  assert.equal(info.status, 0, info.stderr);
  assert.deepEqual(JSON.parse(info.stdout), {
    folder: cache,
    limit: 2 * 1024 ** 3,
    limitedBytes: bytesOf(decoded) + 64,
    kinds: {
      decoded: { folder: path.join(cache, 'decoded'), bytes: bytesOf(decoded), entries: 30, limited: true },
      features: { folder: path.join(cache, 'features'), bytes: 64, entries: 1, limited: true },
      models: { folder: path.join(cache, 'models'), bytes: bytesOf(models), entries: 1, limited: false },
    },
  });
  assert.equal(JSON.parse(cli(['cache', 'info', '--json'], cache, { FRUGAL_CACHE_LIMIT: '500MB' }).stdout).limit, 500 * 1024 ** 2);
  const text = cli(['cache', 'info'], cache);
  assert.match(text.stdout, /^cache folder: .*cache-info\n {2}decoded .* 30 entries\n {2}features .* 1 entry\n {2}models .* 1 entry {2}\(not limited\)\n/);

  // One kind, then the rest.
  const one = cli(['cache', 'clear', 'features', '--json'], cache);
  assert.equal(one.status, 0, one.stderr);
  assert.deepEqual(JSON.parse(one.stdout), { folder: cache, freed: 64, kinds: { features: { bytes: 64, entries: 1 } } });
  const all = cli(['cache', 'clear'], cache);
  assert.equal(all.status, 0, all.stderr);
  assert.match(all.stdout, /^freed .* in .*cache-info: decoded .* \(30 entries\), features 0 B \(0 entries\), models .* \(1 entry\)\n$/);
  assert.deepEqual(await filesUnder(cache), []);
  const after = JSON.parse(cli(['cache', 'info', '--json'], cache).stdout);
  assert.equal(after.limitedBytes, 0);
  for (const kind of ['decoded', 'features', 'models']) assert.deepEqual([after.kinds[kind].bytes, after.kinds[kind].entries], [0, 0], kind);
});

test('FRUGAL_CACHE_LIMIT holds a run to the limit', async () => {
  const cache = path.join(root, 'cache-limit');
  const res = cli(['evaluate', model, toy, '--json'], cache, { FRUGAL_CACHE_LIMIT: '4KB' });
  assert.equal(res.status, 0, res.stderr);
  const decoded = await filesUnder(path.join(cache, 'decoded'));
  assert.ok(decoded.length > 0 && bytesOf(decoded) <= 4096, `${bytesOf(decoded)} bytes in ${decoded.length} entries`);
});

test('a size limit that is not a size is one line naming it: FRUGAL_CACHE_LIMIT=lots, --limit lots (exit 2, before any work)', () => {
  const cache = path.join(root, 'cache-bad');
  const message = 'error: FRUGAL_CACHE_LIMIT must be a size such as 500MB, 2GB or 0 (no caching), got "lots"\n';
  for (const args of [
    ['evaluate', model, toy],
    ['predict', model, toy],
    ['train', toy, '--out', path.join(root, 'not-trained'), '--backbone', 'none', '--arch', 'cnn-tiny'],
    ['cache', 'info'],
  ]) {
    const res = cli(args, cache, { FRUGAL_CACHE_LIMIT: 'lots' });
    assert.equal(res.status, 2, `${args[0]}: ${res.stderr}`);
    assert.equal(res.stderr, message, args[0]);
  }
  const flag = cli(['cache', 'prune', '--limit', 'lots'], cache);
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /--limit must be a size such as 500MB or 2GB, got "lots"/);
  const kind = cli(['cache', 'clear', 'pixels'], cache);
  assert.equal(kind.status, 2);
  assert.match(kind.stderr, /Allowed choices are decoded, features, models/);
});
