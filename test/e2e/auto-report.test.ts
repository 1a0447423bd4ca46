import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { tempDir, runCli, FIXTURE, ROOT } from '../helpers.js';
import { launchBrowser } from '../browser.js';

const root = tempDir();
const run = path.join(root, 'run');

test('frugal auto on the fixture with an unlabeled pool: a row per stage with real held-out numbers; the kept model is the best row', async () => {
  const res = runCli([
    'auto',
    path.join(FIXTURE, 'train'),
    '--unlabeled',
    path.join(FIXTURE, 'unlabeled'),
    '--out',
    run,
    '--backbone',
    'none',
    '--epochs',
    '2',
    '--rounds',
    '1',
    '--distill',
    'cnn-tiny',
    '--seed',
    '1',
    '--json',
  ]);
  assert.equal(res.status, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  // 2,000 labeled images, no trunk: stages are scored on the same 400 validation images.
  assert.equal(out.selection, 'validation');
  const stages = out.rows.map((r: { stage: string }) => r.stage);
  // The augmentation stage retrains only when the search found a policy; else it says why it did not.
  const augmentRan = stages.includes('augmentation policy');
  assert.equal(augmentRan, !out.skipped.some((s: { stage: string }) => s.stage === 'augment'));
  assert.deepEqual(stages, ['from scratch (cnn-small)', ...(augmentRan ? ['augmentation policy'] : []), 'Noisy Student', 'distilled into cnn-tiny']);
  const ablation = JSON.parse(await fsp.readFile(path.join(run, 'auto.json'), 'utf8'));
  assert.deepEqual(
    ablation.rows.map((r: { stage: string }) => r.stage),
    stages,
  );
  let best = ablation.rows[0];
  for (const [i, row] of ablation.rows.entries()) {
    // Real held-out numbers: each row's accuracy is its stage model's own metrics on the same 400 validation images.
    const meta = JSON.parse(await fsp.readFile(path.join(row.dir, 'frugal.json'), 'utf8'));
    assert.equal(meta.metrics.accuracy, row.accuracy, row.stage);
    assert.equal(meta.metrics.valImages, 400, row.stage);
    assert.ok(row.accuracy > 0.3 && row.accuracy <= 1, `${row.stage}: ${row.accuracy}`);
    assert.ok(row.seconds > 0);
    // The spread of an estimate on 400 images is its standard error.
    assert.equal(row.estimate, 'validation');
    assert.ok(Math.abs(row.spread - Math.sqrt((row.accuracy * (1 - row.accuracy)) / 400)) < 1e-9, row.stage);
    assert.ok(row.why.length > 0);
    if (i === 0) {
      assert.equal(row.delta, null);
      assert.equal(row.kept, true);
      continue;
    }
    // Each stage is compared with the best stage before it, and kept only when it scores higher; the augmentation
    // policy (scored image by image, like the model it is compared with) also beyond chance.
    assert.ok(Math.abs(row.delta - (row.accuracy - best.accuracy)) < 1e-12, row.stage);
    if (row.stage === 'augmentation policy') assert.ok(!row.kept || row.accuracy > best.accuracy, `${row.stage}: ${row.why}`);
    else assert.equal(row.kept, row.accuracy > best.accuracy, `${row.stage}: ${row.why}`);
    if (row.kept && row.stage === 'augmentation policy') assert.match(row.why, /sign test p = 0\.0[0-4]/);
    if (row.kept) best = row;
  }
  assert.equal(ablation.best, best.stage);
  assert.equal(out.accuracy, best.accuracy);
  // The run folder is the best model itself.
  assert.deepEqual(await fsp.readFile(path.join(run, 'weights.bin')), await fsp.readFile(path.join(best.dir, 'weights.bin')));
  for (const f of [
    'frugal.json',
    'model.json',
    'history.json',
    'metrics.json',
    'predictions.json',
    'report.html',
    '3-augment/search.json',
    '3-augment/preview.png',
    '3-augment/heatmap.png',
    '4-noisy-student/rounds.json',
  ]) {
    assert.ok((await fsp.stat(path.join(run, f))).size > 0, f);
  }
  const ev = runCli(['evaluate', run, path.join(FIXTURE, 'test'), '--json']);
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(JSON.parse(ev.stdout).accuracy > 0.5);
});

test('the report opens in headless Chromium with every section and chart present and non-empty', async () => {
  const report = path.join(run, 'report.html');
  const browser = await launchBrowser();
  after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) errors.push(`network request: ${r.url()}`);
  });
  await page.goto(pathToFileURL(report).href);
  const sections = [
    'summary',
    'ablation',
    'learning-curves',
    'confusion-matrix',
    'per-class',
    'reliability',
    'mistakes',
    'augmentation-preview',
    'augment-search',
    'noisy-student',
  ];
  for (const id of sections) {
    const cls = await page.getAttribute(`#${id}`, 'class');
    assert.equal(cls, 'present', `section ${id} is ${cls}`);
    const text = (await page.textContent(`#${id}`))!.trim();
    assert.ok(text.length > 20, `section ${id} is empty`);
  }
  for (const id of ['ablation', 'learning-curves', 'confusion-matrix', 'per-class', 'reliability', 'augment-search', 'noisy-student']) {
    const marks = await page.$$eval(`#${id} svg path, #${id} svg rect, #${id} svg line`, (els) => els.length);
    assert.ok(marks > 5, `chart in ${id} has ${marks} marks`);
    const box = await page.$eval(`#${id} svg`, (el) => el.getBoundingClientRect().width * el.getBoundingClientRect().height);
    assert.ok(box > 10000, `chart in ${id} is ${box} px²`);
  }
  assert.ok((await page.$$('#mistakes img')).length > 0, 'confident mistakes have thumbnails');
  assert.ok((await page.$eval('#augmentation-preview img', (img) => (img as HTMLImageElement).naturalWidth)) > 100);
  assert.deepEqual(errors, []);
  const shot = path.join(ROOT, 'tmp', 'report-screenshot.png');
  await fsp.mkdir(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
});
