import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import sharp from 'sharp';
import { tempDir, runCli, FIXTURE } from '../helpers.js';
import { writeToyFolder } from '../synthetic.js';
import { makeFrugalModel } from '../models/fixtures.js';
import { initBackend } from '../../src/engine/backend.js';

before(async () => {
  await initBackend('wasm');
});

test('augment apply: one op, deterministic, size and channels kept; bad op is a usage error', async () => {
  const dir = tempDir();
  const input = path.join(FIXTURE, 'train', 'bag', (await fsp.readdir(path.join(FIXTURE, 'train', 'bag')))[0]!);
  const a = path.join(dir, 'a.png');
  const b = path.join(dir, 'b.png');
  const r1 = runCli(['augment', 'apply', input, '--op', 'rotate', '--magnitude', '30', '--sign', '-', '--out', a, '--json']);
  assert.equal(r1.status, 0, r1.stderr);
  runCli(['augment', 'apply', input, '--op', 'rotate', '--magnitude', '30', '--sign', '-', '--out', b]);
  assert.deepEqual(await fsp.readFile(a), await fsp.readFile(b));
  const meta = await sharp(a).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [28, 28, 1]);
  // magnitude 0 of a no-op-at-0 op is the identity
  const id = path.join(dir, 'id.png');
  runCli(['augment', 'apply', input, '--op', 'shear-x', '--magnitude', '0', '--out', id]);
  const px = async (f: string) => await sharp(f).extractChannel(0).raw().toBuffer();
  assert.deepEqual(await px(id), await px(input));
  assert.equal(runCli(['augment', 'apply', input, '--op', 'nope', '--out', a]).status, 2);
  assert.equal(runCli(['augment', 'apply', input, '--op', 'rotate', '--magnitude', '31', '--out', a]).status, 2);
  const missing = runCli(['augment', 'apply', path.join(dir, 'none.png'), '--op', 'rotate', '--out', a]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /none\.png: cannot read/);
});

test('augment preview writes a contact sheet; a bad policy string is a usage error', async () => {
  const out = path.join(tempDir(), 'grid.png');
  const res = runCli([
    'augment',
    'preview',
    path.join(FIXTURE, 'train'),
    '--augment',
    'randaugment:n=2,m=9',
    '--rows',
    '4',
    '--variants',
    '5',
    '--out',
    out,
    '--json',
  ]);
  assert.equal(res.status, 0, res.stderr);
  const meta = await sharp(out).metadata();
  assert.ok(meta.width! > 6 * 84 && meta.height! > 4 * 84, `${meta.width}×${meta.height}`);
  const bad = runCli(['augment', 'preview', path.join(FIXTURE, 'train'), '--augment', 'randaugment:n=two', '--out', out]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--augment randaugment:n=two/);
});

test('augment search: grid and successive halving with frozen features; halving costs less', async () => {
  const dir = tempDir();
  const data = await writeToyFolder(path.join(dir, 'toy'), 20, 16, 3);
  const backbone = await makeFrugalModel(path.join(dir, 'bb'));
  const args = (mode: string, out: string) => [
    'augment',
    'search',
    data,
    '--backbone',
    backbone,
    '--grid',
    'n=1,2',
    'm=5,10,15',
    '--mode',
    mode,
    '--out',
    out,
    '--json',
  ];
  const env = { FRUGAL_CACHE: path.join(dir, 'cache') };
  const grid = runCli(args('grid', path.join(dir, 'grid')), env);
  assert.equal(grid.status, 0, grid.stderr);
  const g = JSON.parse(grid.stdout);
  assert.equal(g.trials.length, 6);
  assert.match(g.best.policy, /^randaugment:n=[12],m=(5|10|15)$/);
  // `policy` is the recommendation: the best setting unless no augmentation did better beyond chance on the same images.
  const vs = g.versusBaseline;
  assert.ok(vs.onlyBest >= 0 && vs.onlyBaseline >= 0 && vs.p > 0 && vs.p <= 1);
  assert.equal(Math.round((g.best.accuracy - g.baseline) * 60), vs.onlyBest - vs.onlyBaseline);
  if (vs.onlyBaseline > vs.onlyBest && vs.p < 0.05) assert.deepEqual([g.policy, g.accuracy], ['none', g.baseline]);
  else assert.deepEqual([g.policy, g.accuracy], [g.best.policy, g.best.accuracy]);
  assert.ok(g.accuracy > 0 && g.accuracy <= 1);
  assert.ok((await fsp.stat(path.join(dir, 'grid', 'heatmap.png'))).size > 1000);
  const halving = runCli([...args('halving', path.join(dir, 'halving')), '--cut', 'auto'], env);
  assert.equal(halving.status, 0, halving.stderr);
  const h = JSON.parse(halving.stdout);
  // --cut auto: the search scores policies with the ensemble of heads on the 3 best cut points.
  assert.match(h.cut?.cut ?? '', /^\w+:(avg|grid2),\w+:(avg|grid2),\w+:(avg|grid2)$/, JSON.stringify(h.cut));
  assert.ok(h.cost < g.cost, `halving cost ${h.cost} vs grid ${g.cost}`);
  assert.equal(h.trials.length, 6);
});
