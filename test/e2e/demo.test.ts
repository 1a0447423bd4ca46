import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { exportSite } from '../../src/export/site.js';
import { tempDir, runCli, FIXTURE } from '../helpers.js';
import { openServedPage } from '../browser.js';

test('the demo page classifies a fixture image with the same top class as frugal predict', async () => {
  const root = tempDir();
  const model = path.join(root, 'model');
  const train = runCli(['train', path.join(FIXTURE, 'train'), '--out', model, '--arch', 'cnn-tiny', '--epochs', '1', '--json']);
  assert.equal(train.status, 0, train.stderr);
  const site = path.join(root, 'site');
  const exported = await exportSite(model, site);
  assert.ok(exported.files.includes('model/model.json'));
  const { page, errors } = await openServedPage(site);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  const images = (await fsp.readdir(path.join(FIXTURE, 'test', 'sneaker'))).slice(0, 3).map((f) => path.join(FIXTURE, 'test', 'sneaker', f));
  for (const image of images) {
    await page.setInputFiles('#file', image);
    await page.waitForFunction((name) => document.getElementById('status')!.textContent!.startsWith(name + ':'), path.basename(image));
    const top = await page.$$eval('#results li', (lis) =>
      lis.map((li) => ({ cls: (li as HTMLElement).dataset.class!, p: Number((li as HTMLElement).dataset.probability) })),
    );
    assert.ok(top.length >= 3);
    const cli = JSON.parse(runCli(['predict', model, image, '--json']).stdout).predictions[0].top;
    assert.equal(top[0]!.cls, cli[0].class, `${image}: page says ${top[0]!.cls}, CLI says ${cli[0].class}`);
    assert.ok(Math.abs(top[0]!.p - cli[0].probability) < 1e-3, `probabilities ${top[0]!.p} vs ${cli[0].probability}`);
  }
  assert.deepEqual(errors, []);
  await page.screenshot({ path: path.join(root, 'demo.png') });
});
