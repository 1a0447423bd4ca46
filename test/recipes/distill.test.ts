import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { tempDir, runCli, FIXTURE } from '../helpers.js';

const root = tempDir();
const teacher = path.join(root, 'teacher');
let teacherAcc: number;

before(() => {
  const res = runCli(['train', path.join(FIXTURE, 'train'), '--out', teacher, '--arch', 'cnn-small', '--epochs', '2', '--seed', '1', '--json']);
  assert.equal(res.status, 0, res.stderr);
  teacherAcc = JSON.parse(res.stdout).accuracy;
});

test('a small student distilled from a fixed teacher on the fixture gets close to the teacher', () => {
  const out = path.join(root, 'student');
  const res = runCli([
    'distill',
    path.join(FIXTURE, 'train'),
    '--teacher',
    teacher,
    '--student',
    'cnn-small',
    '--width',
    '0.45',
    '--out',
    out,
    '--unlabeled',
    path.join(FIXTURE, 'unlabeled'),
    '--epochs',
    '3',
    '--seed',
    '1',
    '--json',
  ]);
  assert.equal(res.status, 0, res.stderr);
  const s = JSON.parse(res.stdout);
  assert.equal(s.unlabeledImages, 1500);
  assert.ok(Math.abs(s.teacher.accuracy - teacherAcc) < 1e-9, 'teacher measured on the same held-out split');
  assert.ok(s.student.params * 4 <= s.teacher.params, `student ${s.student.params} vs teacher ${s.teacher.params} parameters`);
  assert.ok(s.accuracy >= s.teacher.accuracy - 0.1, `student ${s.accuracy} vs teacher ${s.teacher.accuracy}`);
  assert.ok(s.student.bytes < s.teacher.bytes);
  assert.ok(s.student.latencyMs > 0 && s.teacher.latencyMs > 0);
  const ev = runCli(['evaluate', out, path.join(FIXTURE, 'test'), '--json']);
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(JSON.parse(ev.stdout).accuracy >= 0.6);
});

async function labeledSubset(dir: string, perClass: number): Promise<string> {
  const src = path.join(FIXTURE, 'train');
  for (const cls of await fsp.readdir(src)) {
    await fsp.mkdir(path.join(dir, cls), { recursive: true });
    for (const f of (await fsp.readdir(path.join(src, cls))).sort().slice(0, perClass)) await fsp.copyFile(path.join(src, cls, f), path.join(dir, cls, f));
  }
  return dir;
}

test('self-train on the fixture: 2 rounds with per-round metrics; the kept model is the best round', async () => {
  const labeled = await labeledSubset(path.join(root, 'labeled'), 20);
  const out = path.join(root, 'noisy');
  const res = runCli([
    'self-train',
    labeled,
    '--unlabeled',
    path.join(FIXTURE, 'unlabeled'),
    '--teacher',
    teacher,
    '--student',
    'cnn-tiny',
    '--rounds',
    '2',
    '--epochs',
    '3',
    '--threshold',
    '0.5',
    '--balance',
    '--augment',
    'none',
    '--out',
    out,
    '--pool-labels',
    path.join(FIXTURE, 'unlabeled-labels.csv'),
    '--seed',
    '2',
    '--json',
  ]);
  assert.equal(res.status, 0, res.stderr);
  const r = JSON.parse(res.stdout);
  assert.equal(r.rounds[0].round, 0);
  assert.ok(r.rounds.length >= 2);
  for (const round of r.rounds.slice(1)) {
    assert.ok(round.keptTotal > 0);
    assert.equal(Object.keys(round.kept).length, 10);
    assert.ok(round.pseudoAccuracy > 0.5, `pseudo-label accuracy ${round.pseudoAccuracy}`);
    assert.ok((await fsp.stat(path.join(round.dir, 'metrics.json'))).isFile());
    assert.ok((await fsp.stat(path.join(round.dir, 'frugal.json'))).isFile());
  }
  const best = r.rounds.reduce((a: { accuracy: number }, b: { accuracy: number }) => (b.accuracy > a.accuracy ? b : a));
  assert.equal(r.accuracy, best.accuracy);
  const kept = JSON.parse(await fsp.readFile(path.join(out, 'frugal.json'), 'utf8'));
  const bestMeta = JSON.parse(await fsp.readFile(path.join(best.dir, 'frugal.json'), 'utf8'));
  assert.deepEqual(kept.metrics, bestMeta.metrics);
  const ev = runCli(['evaluate', out, path.join(FIXTURE, 'test'), '--json']);
  assert.equal(ev.status, 0, ev.stderr);
});
