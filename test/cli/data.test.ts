import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
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

test('data from-idx writes a folder usable as a data set; data inspect --json on it', () => {
  const out = path.join(tempDir(), 'shoes');
  const res = runCli([
    'data',
    'from-idx',
    path.join(FIXTURE, 'idx', 'images-idx3-ubyte.gz'),
    path.join(FIXTURE, 'idx', 'labels-idx1-ubyte.gz'),
    '--out',
    out,
    '--classes',
    '5,7,9',
    '--class-names',
    'sandal,sneaker,ankle-boot',
    '--per-class',
    '10',
    '--seed',
    '3',
    '--json',
  ]);
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
