import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { tempDir, runCli, FIXTURE } from '../helpers.js';

/** Two fixture classes, 8 images each, and a byte copy of one image in the test folder. */
async function smallSet(root: string): Promise<{ train: string; test: string; leaked: string }> {
  const train = path.join(root, 'train');
  const test = path.join(root, 'test');
  for (const c of ['bag', 'trouser']) {
    await fsp.mkdir(path.join(train, c), { recursive: true });
    await fsp.mkdir(path.join(test, c), { recursive: true });
    for (const f of (await fsp.readdir(path.join(FIXTURE, 'train', c))).sort().slice(0, 8))
      await fsp.copyFile(path.join(FIXTURE, 'train', c, f), path.join(train, c, f));
    for (const f of (await fsp.readdir(path.join(FIXTURE, 'test', c))).sort().slice(0, 2))
      await fsp.copyFile(path.join(FIXTURE, 'test', c, f), path.join(test, c, f));
  }
  const first = (await fsp.readdir(path.join(train, 'bag'))).sort()[0]!;
  const leaked = path.join(test, 'bag', 'leaked.png');
  await fsp.copyFile(path.join(train, 'bag', first), leaked);
  return { train, test, leaked };
}

test('data check --json prints one object; --run writes data-check.json that report shows; the text has a table', async () => {
  const root = tempDir();
  const { train, test, leaked } = await smallSet(root);
  const run = path.join(root, 'run');
  const res = runCli(['data', 'check', train, '--test', test, '--json', '--run', run, '--out', path.join(root, 'check.json')]);
  assert.equal(res.status, 0, res.stderr);
  const r = JSON.parse(res.stdout);
  assert.equal(r.images.train, 16);
  assert.ok(r.leakage.some((p: { b: { path: string }; match: string }) => p.b.path === leaked && p.match === 'exact'));
  assert.deepEqual(JSON.parse(await fsp.readFile(path.join(root, 'check.json'), 'utf8')), r);
  assert.deepEqual(JSON.parse(await fsp.readFile(path.join(run, 'data-check.json'), 'utf8')), r);

  const report = runCli(['report', run, '--json']);
  assert.equal(report.status, 0, report.stderr);
  assert.deepEqual(JSON.parse(report.stdout).sections, ['summary', 'data-check']);

  const text = runCli(['data', 'check', train, '--test', test, '--top', '3']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /finding\s+count\s+detail/);
  assert.match(text.stdout, /test leakage\s+1\s+1 pair \(1 exact, 0 near\)/);
  assert.match(text.stdout, /training \/ unlabeled overlap\s+–\s+not checked/);
  assert.ok(text.stdout.includes(leaked));
});

test('data check: usage errors exit 2, failures exit 1 naming the path, no stack traces', async () => {
  const root = tempDir();
  for (const args of [['--hash-distance', 'abc'], ['--cosine', '2'], ['--top', '-1'], ['--folds', '1'], ['--no-such-flag']]) {
    const res = runCli(['data', 'check', root, ...args]);
    assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
  }
  assert.equal(runCli(['data', 'check']).status, 2);

  const missing = path.join(root, 'missing');
  const res = runCli(['data', 'check', missing]);
  assert.equal(res.status, 1);
  assert.match(res.stderr, new RegExp(`error: ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file or folder`));
  assert.doesNotMatch(res.stderr, /at .*\.js:\d+/);
  const json = runCli(['data', 'check', missing, '--json']);
  assert.equal(json.status, 1);
  assert.equal(JSON.parse(json.stdout).exitCode, 1);

  const { train } = await smallSet(root);
  const noTest = runCli(['data', 'check', train, '--test', path.join(root, 'nope')]);
  assert.equal(noTest.status, 1);
  assert.match(noTest.stderr, /nope: no such file or folder/);
  const help = runCli(['data', 'check', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Examples:/);
});
