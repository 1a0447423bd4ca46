import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { tempDir, runCli, FIXTURE } from '../helpers.js';
import { makeBadFolder } from '../data/bad-inputs.js';

test('data inspect lists every bad file with a reason and exits 0; --strict exits 1 naming the first', async () => {
  const { root, bad } = await makeBadFolder(tempDir());
  const human = runCli(['data', 'inspect', root]);
  assert.equal(human.status, 0, human.stderr);
  for (const file of Object.values(bad)) assert.ok(human.stdout.includes(file), `${file} not listed:\n${human.stdout}`);
  assert.doesNotMatch(human.stderr, /at .*\.js:\d+/); // no stack trace

  const json = runCli(['data', 'inspect', root, '--json']);
  assert.equal(json.status, 0);
  const summary = JSON.parse(json.stdout);
  assert.equal(summary.images, 6);
  assert.equal(summary.problems.length, 5);
  for (const p of summary.problems) assert.ok(p.reason.length > 5);

  const strict = runCli(['data', 'inspect', root, '--strict']);
  assert.equal(strict.status, 1);
  assert.match(strict.stderr, new RegExp(`^error: ${bad.unreadable.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: unreadable`));
  assert.doesNotMatch(strict.stderr, /at .*\.js:\d+/);
});

test('usage errors exit 2; --help shows examples and exits 0', () => {
  assert.equal(runCli(['data', 'inspect']).status, 2);
  assert.equal(runCli(['data', 'inspect', '.', '--no-such-flag']).status, 2);
  assert.equal(runCli(['data', 'from-idx', 'a', 'b', '--out', 'x', '--per-class', 'zero']).status, 2);
  assert.equal(runCli(['no-such-command']).status, 2);
  const help = runCli(['data', 'inspect', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Examples:/);
});

/** `data from-idx` on the fixture's IDX files: classes 5, 7 and 9 under `classNames`, `perClass` images each. */
function fromIdx(out: string, classNames: string, perClass: number): string[] {
  const idx = path.join(FIXTURE, 'idx');
  return [
    'data',
    'from-idx',
    path.join(idx, 'images-idx3-ubyte.gz'),
    path.join(idx, 'labels-idx1-ubyte.gz'),
    '--out',
    out,
    '--classes',
    '5,7,9',
    '--class-names',
    classNames,
    '--per-class',
    String(perClass),
  ];
}

test('data from-idx writes a folder usable as a data set; data inspect --json on it', () => {
  const out = path.join(tempDir(), 'shoes');
  const res = runCli([...fromIdx(out, 'sandal,sneaker,ankle-boot', 10), '--seed', '3', '--json']);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(JSON.parse(res.stdout).written, 30);
  const inspect = runCli(['data', 'inspect', out, '--json']);
  const summary = JSON.parse(inspect.stdout);
  assert.deepEqual(summary.classes, [
    { name: 'ankle-boot', count: 10 },
    { name: 'sandal', count: 10 },
    { name: 'sneaker', count: 10 },
  ]);
  assert.deepEqual(summary.width, { min: 28, max: 28, mean: 28, median: 28 });
  const missing = runCli(['data', 'from-idx', 'nope-images-idx3-ubyte', 'nope-labels', '--out', out]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope-images-idx3-ubyte: cannot read IDX file/);
});

test('names taken from data never make paths outside the folder: a class name with a separator or "..", a weights path leaving its model folder', async () => {
  const root = tempDir();
  const out = path.join(root, 'inside', 'out');
  for (const names of ['../escape,sneaker,ankle-boot', 'sandal,a/b,ankle-boot', 'sandal,..,x']) {
    const res = runCli(fromIdx(out, names, 2));
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /class name ".*" cannot be a folder or file name \(it would leave the folder it belongs in\)/);
    assert.doesNotMatch(res.stderr, /\n\s+at /);
  }
  // Refused before anything was written: no `escape` folder beside `out`, no `out` either.
  assert.deepEqual(await fsp.readdir(root), []);
  // A model.json whose weights path leaves its folder is refused before anything is read.
  const model = path.join(root, 'model');
  await fsp.mkdir(model);
  await fsp.writeFile(path.join(root, 'secret.bin'), Buffer.alloc(16));
  await fsp.writeFile(
    path.join(model, 'model.json'),
    JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [{ paths: ['../secret.bin'], weights: [] }] }),
  );
  const res = runCli(['train', path.join(FIXTURE, 'train'), '--out', path.join(root, 'm'), '--backbone', model]);
  assert.equal(res.status, 1, res.stderr);
  assert.match(res.stderr, /model\.json: weights file "\.\.\/secret\.bin" leaves /);
});
