import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { tempDir, runCli, FIXTURE, CLI } from '../helpers.js';
import { writeToyFolder } from '../synthetic.js';
import { readCheckpoint } from '../../src/train/checkpoint.js';

test('frugal train --backbone none (from scratch) on the Fashion-MNIST fixture learns: held-out accuracy ≥ 0.75 (chance 0.10)', async () => {
  const out = path.join(tempDir(), 'model');
  const t0 = Date.now();
  const res = runCli(['train', path.join(FIXTURE, 'train'), '--out', out, '--backbone', 'none', '--epochs', '3', '--json']);
  assert.equal(res.status, 0, res.stderr);
  const summary = JSON.parse(res.stdout);
  assert.equal(summary.valImages, 400);
  assert.ok(summary.accuracy >= 0.75, `validation accuracy ${summary.accuracy}`);
  // The fixture's test split was never seen in training or model selection.
  const ev = runCli(['evaluate', out, path.join(FIXTURE, 'test'), '--json']);
  assert.equal(ev.status, 0, ev.stderr);
  const report = JSON.parse(ev.stdout);
  assert.equal(report.count, 1000);
  assert.ok(report.accuracy >= 0.75, `test accuracy ${report.accuracy}`);
  assert.equal(report.confusion.length, 10);
  process.stderr.write(`fixture: val ${summary.accuracy.toFixed(3)}, test ${report.accuracy.toFixed(3)}, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  const pred = runCli(['predict', out, path.join(FIXTURE, 'test', 'bag'), '--top', '2', '--json']);
  const p = JSON.parse(pred.stdout);
  assert.equal(p.count, 100);
  assert.equal(p.predictions[0].top.length, 2);
  assert.ok(p.predictions.filter((x: { top: Array<{ class: string }> }) => x.top[0]!.class === 'bag').length >= 70);
  // Forward passes run on ONNX Runtime; on TF.js (FRUGAL_FORWARD=tfjs) the numbers are the same up to float noise.
  const evTfjs = JSON.parse(runCli(['evaluate', out, path.join(FIXTURE, 'test'), '--json'], { FRUGAL_FORWARD: 'tfjs' }).stdout);
  assert.ok(Math.abs(evTfjs.accuracy - report.accuracy) <= 0.002, `accuracy ${evTfjs.accuracy} on TF.js vs ${report.accuracy} on ONNX Runtime`);
  const predTfjs = JSON.parse(runCli(['predict', out, path.join(FIXTURE, 'test', 'bag'), '--top', '2', '--json'], { FRUGAL_FORWARD: 'tfjs' }).stdout);
  type Top = { top: Array<{ class: string; probability: number }> };
  const diffs = (predTfjs.predictions as Top[]).map((x, i) => Math.abs(x.top[0]!.probability - (p.predictions as Top[])[i]!.top[0]!.probability));
  assert.ok(Math.max(...diffs) <= 1e-4, `top probability differs by up to ${Math.max(...diffs)}`);
});

function waitForCheckpoint(file: string, epochs: number, timeoutMs: number): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = async () => {
      try {
        if ((await readCheckpoint(file)).epoch >= epochs) return resolve();
      } catch {
        // not there yet
      }
      if (Date.now() - start > timeoutMs) return reject(new Error(`no checkpoint of epoch ${epochs} after ${timeoutMs} ms`));
      setTimeout(() => void tick(), 10);
    };
    void tick();
  });
}

test('SIGKILL mid-training, then --resume: the finished model matches an uninterrupted run', async () => {
  const dir = tempDir();
  const data = await writeToyFolder(path.join(dir, 'toy'), 60, 16, 4);
  const args = (out: string) => [
    'train',
    data,
    '--out',
    out,
    '--arch',
    'cnn-tiny',
    '--epochs',
    '6',
    '--batch-size',
    '8',
    '--min-steps',
    '0',
    '--seed',
    '3',
    '--workers',
    '1',
    '--json',
  ];
  const whole = runCli(args(path.join(dir, 'whole')));
  assert.equal(whole.status, 0, whole.stderr);
  const a = JSON.parse(whole.stdout);

  const out = path.join(dir, 'killed');
  const child = spawn(process.execPath, [CLI, ...args(out)], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ? -1 : code)));
  await waitForCheckpoint(path.join(out, 'checkpoint.bin'), 2, 120_000);
  child.kill('SIGKILL');
  assert.equal(await exited, -1, 'the run should have been killed, not finished');
  await assert.rejects(fsp.access(path.join(out, 'frugal.json'))); // it never finished
  const resumed = runCli([...args(out), '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  const b = JSON.parse(resumed.stdout);
  assert.ok(b.resumedFrom >= 2, `resumed from epoch ${b.resumedFrom}`);
  assert.equal(b.history.length, 6);
  assert.ok(Math.abs(a.accuracy - b.accuracy) <= 0.02, `uninterrupted ${a.accuracy} vs resumed ${b.accuracy}`);
  assert.ok(b.accuracy > 0.8, `resumed accuracy ${b.accuracy}`);
  const ev = runCli(['evaluate', out, data, '--json']);
  assert.equal(ev.status, 0, ev.stderr);
  // Resume refuses other settings.
  const other = runCli([...args(out).map((x) => (x === '6' ? '7' : x)), '--resume']);
  assert.equal(other.status, 1);
  assert.match(other.stderr, /other settings/);
});

test('training errors are clear: unlabeled folder, unknown architecture, diverging loss', async () => {
  const dir = tempDir();
  const data = await writeToyFolder(path.join(dir, 'toy'), 10, 16, 1);
  const unlabeled = runCli(['train', path.join(FIXTURE, 'unlabeled'), '--out', path.join(dir, 'm')]);
  assert.equal(unlabeled.status, 1);
  assert.match(unlabeled.stderr, /needs labeled images/);
  // An unknown architecture is a usage error (exit 2; it was 1), checked before any work.
  const arch = runCli(['train', data, '--out', path.join(dir, 'm'), '--arch', 'nope']);
  assert.equal(arch.status, 2);
  assert.match(arch.stderr, /--arch must be an architecture of the zoo \(.*\), got "nope"/);
  const nan = runCli([
    'train',
    data,
    '--out',
    path.join(dir, 'm'),
    '--arch',
    'cnn-tiny',
    '--lr',
    '1e6',
    '--optimizer',
    'sgd',
    '--schedule',
    'constant',
    '--epochs',
    '3',
  ]);
  assert.equal(nan.status, 1);
  assert.match(nan.stderr, /training diverged.*Lower the learning rate/);
  assert.doesNotMatch(nan.stderr, /at .*\.js:\d+/);
  assert.equal(runCli(['train', data]).status, 2); // --out is required
});
