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
  assert.deepEqual(meta.input, { height: 224, width: 224, channels: 3, resize: 'center-crop' });
  // Offline: the trunk comes from the package; the model download cache was never touched.
  await assert.rejects(fsp.access(path.join(cache, 'models')));
  // Frozen: the head was refit on all 45 labeled images after scoring, and the report says so.
  assert.equal(meta.training.head.refitImages, 45);
  const html = runCli(['report', out, '--out', path.join(root, 'report.html')]);
  assert.equal(html.status, 0, html.stderr);
  const page = await fsp.readFile(path.join(root, 'report.html'), 'utf8');
  assert.match(page, /trained again on all 45 labeled images/);
  assert.match(page, /input 224×224×3 \(each image's centre square\)/);
  assert.match(page, /validation images<\/dt><dd>9 \(few: one image is 11\.1 points of the figures above\)/);
  // Held-out images never seen in training: well above chance (1/3).
  const ev = runCli(['evaluate', out, test, '--json'], { FRUGAL_CACHE: cache });
  assert.equal(ev.status, 0, ev.stderr);
  const report = JSON.parse(ev.stdout);
  assert.equal(report.count, 90);
  assert.ok(report.accuracy >= 0.8, `test accuracy ${report.accuracy}`);
  // In words: the held-out figure rests on 9 validation images, and the command says so and points to --cv; not when
  // the validation images are the user's own (--val).
  const text = runCli(['train', train, '--out', path.join(root, 'text'), '--seed', '1'], { FRUGAL_CACHE: cache });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /held-out accuracy [\d.]+% on 9 validation images/);
  assert.match(text.stdout, /note: that figure rests on 9 validation images \(one image is 11\.1 points\); --cv scores every labeled image/);
  // The head is fitted in one full-batch solve: its progress line says so, not "epoch 1".
  assert.match(text.stderr, /head fitted by logistic regression: loss [\d.]+, train acc [\d.]+(, val acc [\d.]+)? \([\d.]+ s\)/);
  assert.doesNotMatch(text.stderr, /epoch 1:/);
  const few = await fixtureSubset(path.join(root, 'few'), 'test', CLASSES, 3);
  const own = runCli(['train', train, '--out', path.join(root, 'own'), '--val', few, '--seed', '1'], { FRUGAL_CACHE: cache });
  assert.equal(own.status, 0, own.stderr);
  assert.match(own.stdout, /held-out accuracy [\d.]+% on 9 validation images/);
  assert.doesNotMatch(own.stdout, /--cv/);
});

test('train --cv: a cross-validated estimate on all labeled images, a model trained on all of them (transfer or from scratch); with a validation split or fine-tuning it is a usage error', async () => {
  const root = tempDir();
  const train = await fixtureSubset(path.join(root, 'train'), 'train', CLASSES, 15);
  const test = await fixtureSubset(path.join(root, 'test'), 'test', CLASSES, 30);
  const out = path.join(root, 'model');
  const env = { FRUGAL_CACHE: path.join(root, 'cache') };
  const res = runCli(['train', train, '--out', out, '--cv', '3', '--seed', '1', '--json'], env);
  assert.equal(res.status, 0, res.stderr);
  const summary = JSON.parse(res.stdout);
  // 45 labeled images: 3 folds, repeated 3 times (cheap), every image scored once per repeat.
  assert.equal(summary.estimate.kind, 'cross-validation');
  assert.equal(summary.estimate.folds, 3);
  assert.equal(summary.estimate.repeats, 3);
  assert.equal(summary.estimate.images, 135);
  assert.equal(summary.accuracy, summary.estimate.accuracy);
  assert.equal(summary.trainImages, 45);
  assert.equal(summary.valImages, 0);
  const meta = JSON.parse(await fsp.readFile(path.join(out, 'frugal.json'), 'utf8'));
  assert.equal(meta.training.head.refitImages, 45);
  assert.equal(meta.metrics.estimate.kind, 'cross-validation');
  assert.equal(JSON.parse(await fsp.readFile(path.join(out, 'predictions.json'), 'utf8')).items.length, 45);
  // On 90 images it never saw, the model does about what the estimate says.
  const ev = runCli(['evaluate', out, test, '--json'], env);
  assert.equal(ev.status, 0, ev.stderr);
  const accuracy = JSON.parse(ev.stdout).accuracy;
  assert.ok(accuracy >= 0.8, `test accuracy ${accuracy}`);
  assert.ok(Math.abs(accuracy - summary.accuracy) < 0.15, `estimate ${summary.accuracy} vs test ${accuracy}`);
  // Without --json; the trunk's input size and resize policy as asked (the built-in trunk is fully convolutional).
  const text = runCli(['train', train, '--out', path.join(root, 'text'), '--cv', '--size', '192', '--resize', 'pad'], env);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /cross-validated accuracy [\d.]+% ± [\d.]+ \(5-fold cross-validation ×3, sd over folds\) on all 45 labeled images/);
  const textMeta = JSON.parse(await fsp.readFile(path.join(root, 'text', 'frugal.json'), 'utf8'));
  assert.deepEqual(textMeta.input, { height: 192, width: 192, channels: 3, resize: 'pad' });
  assert.deepEqual(textMeta.backbone.input, textMeta.input);
  // From scratch: one model per fold (each initialised and normalised on its own training images), then one on all.
  const scratch = runCli(
    ['train', train, '--out', path.join(root, 'scratch'), '--backbone', 'none', '--cv', '3', '--epochs', '2', '--min-steps', '0', '--json'],
    env,
  );
  assert.equal(scratch.status, 0, scratch.stderr);
  const s = JSON.parse(scratch.stdout);
  assert.deepEqual({ ...s.estimate, accuracy: 0, spread: 0 }, { kind: 'cross-validation', accuracy: 0, spread: 0, images: 45, folds: 3, repeats: 1 });
  assert.equal(s.accuracy, s.estimate.accuracy);
  assert.ok(s.accuracy > 1 / 3, `from scratch, cross-validated: ${s.accuracy}`);
  assert.equal(JSON.parse(await fsp.readFile(path.join(root, 'scratch', 'predictions.json'), 'utf8')).items.length, 45);
  const cases: Array<[string[], RegExp]> = [
    [['--cv', '--backbone', 'none', '--val-split', '0.3'], /--cv scores on all labeled images; --val-split asks/],
    [['--cv', '--val-split', '0.3'], /--cv scores on all labeled images; --val-split asks for a validation split/],
    [['--cv', '--val', test], /--cv scores on all labeled images; --val asks/],
    [['--cv', '--mode', 'finetune'], /--mode finetune is scored on a validation split/],
    [['--cv', '1'], /--cv must be an integer/],
  ];
  for (const [flags, message] of cases) {
    const bad = runCli(['train', train, '--out', path.join(root, 'bad'), ...flags], env);
    assert.equal(bad.status, 2, `${flags.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, message);
  }
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
