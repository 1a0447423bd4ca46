import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { tempDir, runCli, FIXTURE } from '../helpers.js';

/** A few classes of the fixture (28×28 grey garments) as class folders of links: `perClass` images each. */
async function fixtureSubset(dir: string, split: 'train' | 'test', classes: string[], perClass: number): Promise<string> {
  for (const c of classes) {
    await fsp.mkdir(path.join(dir, c), { recursive: true });
    const files = (await fsp.readdir(path.join(FIXTURE, split, c))).sort().slice(0, perClass);
    for (const f of files) await fsp.symlink(path.join(FIXTURE, split, c, f), path.join(dir, c, f));
  }
  return dir;
}

const CLASSES = ['trouser', 'bag', 'sneaker'];

test('frugal train with no model flag transfers from the built-in ImageNet trunk, offline; grey images become 3 channels at 224 px; it learns', async () => {
  const root = tempDir();
  const train = await fixtureSubset(path.join(root, 'train'), 'train', CLASSES, 15);
  const test = await fixtureSubset(path.join(root, 'test'), 'test', CLASSES, 30);
  const out = path.join(root, 'model');
  const cache = path.join(root, 'cache');
  const res = runCli(['train', train, '--out', out, '--seed', '1', '--json'], { FRUGAL_CACHE: cache });
  assert.equal(res.status, 0, res.stderr);
  const summary = JSON.parse(res.stdout);
  assert.equal(summary.mode, 'frozen'); // ≤ 50 images per class
  assert.equal(summary.backbone.source, 'mobilenetv2-0.35-imagenet');
  assert.equal(summary.backbone.featureDim, 1280);
  const meta = JSON.parse(await fsp.readFile(path.join(out, 'frugal.json'), 'utf8'));
  assert.equal(meta.backbone.source, 'mobilenetv2-0.35-imagenet');
  assert.deepEqual(meta.input, { height: 224, width: 224, channels: 3, resize: 'squash' });
  // Offline: the trunk comes from the package; the model download cache was never touched.
  await assert.rejects(fsp.access(path.join(cache, 'models')));
  // Frozen: the head was refit on all 45 labeled images after scoring, and the report says so.
  assert.equal(meta.training.head.refitImages, 45);
  const html = runCli(['report', out, '--out', path.join(root, 'report.html')]);
  assert.equal(html.status, 0, html.stderr);
  assert.match(await fsp.readFile(path.join(root, 'report.html'), 'utf8'), /trained again on all 45 labeled images/);
  // Held-out images never seen in training: well above chance (1/3).
  const ev = runCli(['evaluate', out, test, '--json'], { FRUGAL_CACHE: cache });
  assert.equal(ev.status, 0, ev.stderr);
  const report = JSON.parse(ev.stdout);
  assert.equal(report.count, 90);
  assert.ok(report.accuracy >= 0.8, `test accuracy ${report.accuracy}`);
});

test('--backbone none trains from scratch; flags that need the other kind of run are usage errors', async () => {
  const root = tempDir();
  const train = await fixtureSubset(path.join(root, 'train'), 'train', CLASSES, 10);
  const out = path.join(root, 'scratch');
  const res = runCli(['train', train, '--out', out, '--backbone', 'none', '--epochs', '1', '--min-steps', '0', '--json']);
  assert.equal(res.status, 0, res.stderr);
  const meta = JSON.parse(await fsp.readFile(path.join(out, 'frugal.json'), 'utf8'));
  assert.equal(meta.backbone, undefined);
  assert.equal(meta.arch, 'cnn-small'); // 28 px: the small default
  assert.deepEqual(meta.input, { height: 28, width: 28, channels: 1, resize: 'squash' });
  const cases: Array<[string[], RegExp]> = [
    [['--arch', 'cnn-tiny', '--backbone', 'mobilenetv2-0.35-imagenet'], /--arch trains from scratch and --backbone transfers/],
    [['--backbone', 'none', '--cut', 'auto'], /--cut needs a backbone/],
    [['--arch', 'cnn-tiny', '--mode', 'finetune'], /--mode needs a backbone/],
    [['--width', '0.5'], /--width applies to training from scratch/],
  ];
  for (const [flags, message] of cases) {
    const bad = runCli(['train', train, '--out', path.join(root, 'bad'), ...flags]);
    assert.equal(bad.status, 2, `${flags.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, message);
    assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/);
  }
});

test('frugal doctor lists the built-in model', () => {
  const res = runCli(['doctor', '--json']);
  assert.equal(res.status, 0, res.stderr);
  const models = JSON.parse(res.stdout).models as Array<{ name: string; builtin: boolean; input: string }>;
  const builtin = models.filter((m) => m.builtin);
  assert.deepEqual(
    builtin.map((m) => m.name),
    ['mobilenetv2-0.35-imagenet'],
  );
  assert.equal(builtin[0]!.input, '224x224x3');
  assert.ok(
    models.some((m) => !m.builtin),
    'download entries stay for larger trunks',
  );
  const text = runCli(['doctor']);
  assert.match(text.stdout, /mobilenetv2-0\.35-imagenet\s+built in/);
});
