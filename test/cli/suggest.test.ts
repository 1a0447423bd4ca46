import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync, promises as fsp } from 'node:fs';
import { tempDir, runCli } from '../helpers.js';
import { fixtureClasses, fixturePool } from '../fixture-sets.js';

const root = tempDir();
const env = { FRUGAL_CACHE: path.join(root, 'cache') };
const CLASSES = ['trouser', 'bag', 'sneaker'];
let labeled: string;
let pool: string;

before(async () => {
  labeled = await fixtureClasses(path.join(root, 'labeled'), CLASSES, 4);
  pool = await fixturePool(path.join(root, 'pool'), CLASSES, 30);
});

/** stdout holds exactly one JSON object. */
function oneJson(stdout: string): Record<string, unknown> {
  const text = stdout.trim();
  assert.ok(text.startsWith('{') && text.endsWith('}'), `one JSON object on stdout, got: ${stdout}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** The rows of a CSV written by suggest (no field of the fixture's needs quoting). */
async function csvRows(file: string): Promise<string[][]> {
  return (await fsp.readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => l.split(','));
}

test('frugal suggest: a table on stdout; --out <dir> lays the images out by guessed class with suggestions.csv; --force replaces it', async () => {
  const out = path.join(root, 'to-label');
  const res = runCli(['suggest', labeled, '--unlabeled', pool, '--count', '6', '--seed', '1', '--out', out], env);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /6 of 30 unlabeled images to label next \(uncertainty-diversity, seed 1/);
  const table = res.stdout.split('\n').filter((l) => /^\s+\d+\s/.test(l));
  assert.equal(table.length, 6);
  const rows = await csvRows(path.join(out, 'suggestions.csv'));
  assert.deepEqual(rows[0], ['path', 'score', 'guess', 'confidence', 'file']);
  assert.equal(rows.length, 7);
  for (const [source, score, guess, confidence, file] of rows.slice(1)) {
    assert.ok(CLASSES.includes(guess!));
    assert.equal(path.dirname(file!), guess);
    assert.equal(path.dirname(source!), pool);
    assert.ok(Number(score) >= 0 && Number(score) <= 1 && Number(confidence) > 0);
    // The image itself (a hard link or a copy of the pool file), in its guessed class's folder.
    assert.deepEqual(await fsp.readFile(path.join(out, file!)), await fsp.readFile(source!));
  }
  const folders = (await fsp.readdir(out)).filter((f) => f !== 'suggestions.csv').sort();
  assert.deepEqual(folders, [...new Set(rows.slice(1).map((r) => r[2]!))].sort());
  assert.ok(folders.length > 1, 'more than one guessed class');
  // Nothing left beside the folder it was built in.
  assert.deepEqual(
    (await fsp.readdir(root)).filter((f) => f.includes('frugal-new')),
    [],
  );
  // A second run into the same folder: refused without --force (exit 2, before any work); --force replaces it.
  await fsp.writeFile(path.join(out, 'trouser-notes.txt'), 'mine');
  const again = runCli(['suggest', labeled, '--unlabeled', pool, '--count', '4', '--out', out], env);
  assert.equal(again.status, 2, again.stderr);
  assert.match(again.stderr, /holds suggestions already: add --force/);
  const forced = runCli(['suggest', labeled, '--unlabeled', pool, '--count', '4', '--out', out, '--force'], env);
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal((await csvRows(path.join(out, 'suggestions.csv'))).length, 5);
  assert.ok(!existsSync(path.join(out, 'trouser-notes.txt')));
});

test('frugal suggest --json: exactly one object; --out x.csv writes path,score,guess,confidence in the same order; the same seed gives the same suggestions', async () => {
  const csv = path.join(root, 'next.csv');
  const run = () => runCli(['suggest', labeled, '--unlabeled', pool, '--count', '5', '--seed', '2', '--out', csv, '--force', '--json'], env);
  const res = run();
  assert.equal(res.status, 0, res.stderr);
  const json = oneJson(res.stdout) as { suggestions: Array<{ path: string; guess: string; rank: number }>; strategy: string; poolImages: number; out: string };
  assert.equal(json.strategy, 'uncertainty-diversity');
  assert.equal(json.poolImages, 30);
  assert.equal(json.out, csv);
  assert.equal(json.suggestions.length, 5);
  const rows = await csvRows(csv);
  assert.deepEqual(rows[0], ['path', 'score', 'guess', 'confidence']);
  assert.deepEqual(
    rows.slice(1).map((r) => [r[0], r[2]]),
    json.suggestions.map((s) => [s.path, s.guess]),
  );
  assert.deepEqual(oneJson(run().stdout).suggestions, json.suggestions);
  // A model directory: its predictions rank the pool.
  const model = path.join(root, 'model');
  const train = runCli(['train', labeled, '--out', model, '--seed', '1', '--json'], env);
  assert.equal(train.status, 0, train.stderr);
  const withModel = runCli(['suggest', labeled, '--unlabeled', pool, '--model', model, '--count', '4', '--strategy', 'uncertainty', '--json'], env);
  assert.equal(withModel.status, 0, withModel.stderr);
  const m = oneJson(withModel.stdout) as { model: string; classes: string[]; suggestions: Array<{ score: number }> };
  assert.equal(m.model, model);
  assert.deepEqual(m.classes, [...CLASSES].sort());
  // Most uncertain first.
  const scores = m.suggestions.map((s) => s.score);
  assert.deepEqual(
    scores,
    [...scores].sort((a, b) => b - a),
  );
});

test('frugal suggest: bad flags are usage errors (exit 2) before any work; with --json the error is one object', async () => {
  const notEmpty = path.join(root, 'not-empty');
  await fsp.mkdir(notEmpty, { recursive: true });
  await fsp.writeFile(path.join(notEmpty, 'keep.txt'), 'mine');
  const existing = path.join(root, 'existing.csv');
  await fsp.writeFile(existing, 'path\n');
  const base = ['suggest', labeled, '--unlabeled', pool];
  for (const [args, message] of [
    [['--count', '0'], /--count must be an integer/],
    [['--count', 'lots'], /--count must be an integer/],
    [['--strategy', 'greedy'], /Allowed choices are uncertainty-diversity, uncertainty, random/],
    [['--model', labeled, '--backbone', 'mobilenet-v1-0.25-224'], /--backbone is for the head fitted on <labeled>/],
    [['--model', labeled, '--no-mirror'], /--no-mirror is for the head fitted on <labeled>/],
    [['--cut', 'auto'], /--cut auto chooses cut points for training/],
    [['--backbone', 'none'], /--backbone none: suggest places the images with a pretrained trunk/],
    [['--force'], /--force replaces what --out holds: it needs --out/],
    [['--out', notEmpty], /is not empty and holds no suggestions.csv/],
    [['--out', existing], /exists: add --force/],
    [['--out', path.join(labeled, 'bag', (await fsp.readdir(path.join(labeled, 'bag')))[0]!)], /is a file: give a folder/],
  ] as const) {
    const res = runCli([...base, ...args], env);
    assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message, args.join(' '));
    assert.equal(res.stdout, '');
  }
  const json = runCli([...base, '--count', '0', '--json'], env);
  assert.equal(json.status, 2);
  assert.equal(oneJson(json.stdout).exitCode, 2);
  assert.equal(await fsp.readFile(path.join(notEmpty, 'keep.txt'), 'utf8'), 'mine');
  // A missing pool is a failure (exit 1), one line, no stack trace.
  const missing = runCli(['suggest', labeled, '--unlabeled', path.join(root, 'no-such-pool')], env);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no-such-pool: no such file or folder/);
  assert.doesNotMatch(missing.stderr, /\bat \w+ \(/);
});

test('frugal suggest --out <dir>: class names taken from data never make paths outside the folder', async () => {
  // A CSV of labels whose class name would leave the folder: refused, nothing written.
  const csvDir = path.join(root, 'csv-labels');
  await fsp.mkdir(csvDir, { recursive: true });
  const lines = ['path,label'];
  for (const [c, name] of [
    ['trouser', '../escaped'],
    ['bag', 'bag'],
  ] as const)
    for (const f of await fsp.readdir(path.join(labeled, c))) lines.push(`${path.join(labeled, c, f)},${name}`);
  await fsp.writeFile(path.join(csvDir, 'labels.csv'), lines.join('\n') + '\n');
  const out = path.join(root, 'unsafe', 'out');
  const res = runCli(['suggest', path.join(csvDir, 'labels.csv'), '--unlabeled', pool, '--count', '30', '--out', out], env);
  assert.equal(res.status, 1, res.stderr);
  assert.match(res.stderr, /class name "\.\.\/escaped" cannot be a folder or file name/);
  assert.ok(!existsSync(out));
  assert.ok(!existsSync(path.join(root, 'unsafe', 'escaped')));
});
