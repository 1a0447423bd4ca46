import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { writeReport } from '../../src/report/report.js';
import { writePreviewFiles } from '../../src/runs/artifacts.js';
import { newMeta } from '../../src/models/model-dir.js';
import { tempDir } from '../helpers.js';

/** A run folder whose model was trained with `augment`, and a stage folder holding the preview of `previewPolicy`. */
async function runWithPreview(augment: string, previewPolicy: string): Promise<string> {
  const dir = tempDir();
  const meta = newMeta({
    classes: ['ants', 'bees'],
    input: { height: 8, width: 8, channels: 3, resize: 'squash' },
    preprocessing: { mean: [0, 0, 0], std: [1, 1, 1] },
    training: { command: 'train', augment, mirror: true },
  });
  await fsp.writeFile(path.join(dir, 'frugal.json'), JSON.stringify(meta));
  const png = await sharp({ create: { width: 16, height: 8, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
  const stage = path.join(dir, '3-augment');
  await fsp.mkdir(stage);
  await writePreviewFiles(stage, png, { policy: previewPolicy, rows: 1, variants: 1 });
  return dir;
}

const previewText = (html: string) => /<section id="augmentation-preview"[^>]*>[\s\S]*?<\/section>/.exec(html)![0];

test('report: the augmentation preview says when the model was not trained with the previewed policy', async () => {
  // auto: the search's policy was previewed, its stage was not kept, the model trained without it.
  const notKept = await runWithPreview('none', 'randaugment:n=2,m=20');
  const html = await fsp.readFile((await writeReport(notKept)).out, 'utf8');
  const text = previewText(html);
  assert.match(text, /<code>randaugment:n=2,m=20<\/code>: the policy the search chose/);
  assert.match(text, /not trained with it \(its frugal\.json: augmentation <code>none<\/code>, with mirror images\)/);
  assert.doesNotMatch(text, /what the model sees/);
  // The model trained with the policy it previews.
  const used = await runWithPreview('randaugment:n=2,m=20', 'randaugment:n=2,m=20');
  const usedText = previewText(await fsp.readFile((await writeReport(used)).out, 'utf8'));
  assert.match(usedText, /<code>randaugment:n=2,m=20<\/code>: what the model sees while it trains/);
});
