import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { initBackend } from '../../src/engine/backend.js';
import { trainTransfer, HEAD_HYPER, FINETUNE_HYPER, TRANSFER_HEAD } from '../../src/recipes/transfer.js';
import { trainFromScratch } from '../../src/recipes/scratch.js';
import { auto } from '../../src/recipes/auto.js';
import { writeReport } from '../../src/report/report.js';
import { prepareData } from '../../src/data/prepare.js';
import { fitOnData, DEFAULT_HYPER } from '../../src/train/fit-on-data.js';
import { headTrainable } from '../../src/train/trainable.js';
import { loadModelDir } from '../../src/models/model-dir.js';
import { loadBackbone } from '../../src/models/backbones/load.js';
import { extractFeatures } from '../../src/train/features.js';
import { buildHead } from '../../src/models/head.js';
import { initWeights } from '../../src/models/init.js';
import { featureEncoder } from '../../src/train/loop.js';
import { featureStats, standardize, foldStandardization } from '../../src/train/standardize.js';
import { tempDir, runCli } from '../helpers.js';
import { writeToyFolder } from '../synthetic.js';
import { makeOnnxModel } from '../models/fixtures.js';

const root = tempDir();
let data: string;
let pretrained: string;

before(async () => {
  await initBackend('wasm');
  process.env.FRUGAL_CACHE = path.join(root, 'cache');
  data = await writeToyFolder(path.join(root, 'toy'), 40, 16, 7);
  const source = await writeToyFolder(path.join(root, 'source'), 60, 16, 8);
  pretrained = path.join(root, 'pretrained');
  await trainFromScratch(source, { out: pretrained, arch: 'cnn-tiny', hyper: { epochs: 3, seed: 1 }, cache: false });
});

function weightsByName(model: { weights: Array<{ originalName: string; read(): { dataSync(): ArrayLike<number> } }> }): Map<string, number[]> {
  return new Map(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
}

test('frozen mode really freezes: trunk weights bit-identical after head training; features cached on a second run', async () => {
  const out = path.join(root, 'frozen');
  const res = await trainTransfer(data, { out, backbone: pretrained, mode: 'frozen', hyper: { epochs: 10, seed: 2 } });
  assert.equal(res.mode, 'frozen');
  assert.ok(res.accuracy > 0.6, `accuracy ${res.accuracy}`);
  assert.equal(res.featureCacheHits, 0);
  const before = weightsByName((await loadModelDir(pretrained)).model);
  const after = weightsByName((await loadModelDir(out)).model);
  let compared = 0;
  for (const [name, values] of before) {
    if (name.startsWith('logits')) continue; // the old classifier is replaced
    assert.deepEqual(after.get(name), values, `trunk weight ${name} changed`);
    compared++;
  }
  assert.ok(compared >= 10);
  const again = await trainTransfer(data, { out: path.join(root, 'frozen2'), backbone: pretrained, mode: 'frozen', hyper: { epochs: 10, seed: 2 } });
  assert.equal(again.featureCacheHits, again.trainImages + again.valImages);
  assert.equal(again.timings.featureSeconds, 0);
  assert.equal(again.accuracy, res.accuracy);
  // The written directory is a model: frugal evaluate works on it.
  const ev = runCli(['evaluate', out, data, '--json'], { FRUGAL_CACHE: process.env.FRUGAL_CACHE! });
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(JSON.parse(ev.stdout).accuracy > 0.6);
});

/** A head trained by SGD (the default head is fitted in one full-batch solve). */
const MLP_HEAD = { hidden: 64, dropout: 0.5 };

test('the new head: by default linear, fitted by logistic regression on the images and their mirror images; a hidden layer and dropout when asked', async () => {
  const denseNames = async (dir: string) => (await loadModelDir(dir)).model.layers.filter((l) => l.getClassName() === 'Dense').map((l) => l.name);
  const training = async (dir: string) => JSON.parse(await fsp.readFile(path.join(dir, 'frugal.json'), 'utf8')).training;
  const byDefault = path.join(root, 'head-default');
  const res = await trainTransfer(data, { out: byDefault, backbone: pretrained, mode: 'frozen', hyper: { epochs: 10, seed: 2 } });
  assert.deepEqual(await denseNames(byDefault), ['logits']);
  const t = await training(byDefault);
  assert.deepEqual((({ hidden, dropout, solver, l2 }) => ({ hidden, dropout, solver, l2 }))(t.head), TRANSFER_HEAD);
  assert.equal(t.mirror, true);
  assert.equal(res.head.history.length, 1, 'one full-batch fit, no epochs');
  assert.ok(res.accuracy > 0.6, `accuracy ${res.accuracy}`);
  // The report says why there are no learning curves instead of plotting one point.
  const report = path.join(root, 'head-default.html');
  const rep = runCli(['report', byDefault, '--out', report], { FRUGAL_CACHE: process.env.FRUGAL_CACHE! });
  assert.equal(rep.status, 0, rep.stderr);
  assert.match(await fsp.readFile(report, 'utf8'), /one full-batch solve \(logistic regression\): no epochs to plot/);
  const mlp = path.join(root, 'head-mlp');
  const res2 = await trainTransfer(data, {
    out: mlp,
    backbone: pretrained,
    mode: 'frozen',
    head: { hidden: 16, dropout: 0.5 },
    mirror: false,
    hyper: { epochs: 10, minSteps: 0, seed: 2 },
  });
  assert.deepEqual(await denseNames(mlp), ['head_hidden', 'logits']);
  assert.equal((await training(mlp)).mirror, false);
  assert.equal(res2.head.history.length, 10, 'ten SGD epochs');
  assert.ok(res2.accuracy > 0.6, `accuracy ${res2.accuracy}`);
});

test('fine-tuning with trunk multiplier 0 equals frozen training of the head', async () => {
  const out = path.join(root, 'ft0');
  const hyper = { epochs: 6, seed: 3 };
  const ft = { epochs: 2 };
  const res = await trainTransfer(data, {
    out,
    backbone: pretrained,
    mode: 'finetune',
    finetuneMustImprove: false,
    trunkLrMult: 0,
    head: MLP_HEAD,
    mirror: false,
    hyper,
    finetuneHyper: ft,
    featureCache: false,
  });
  assert.equal(res.mode, 'finetune');
  const tuned = weightsByName((await loadModelDir(out)).model);
  const original = weightsByName((await loadModelDir(pretrained)).model);
  for (const [name, values] of original) if (!name.startsWith('logits')) assert.deepEqual(tuned.get(name), values, `trunk weight ${name} moved`);

  // The same head (a hidden layer + dropout, trained by SGD), trained on frozen features with the same two phases.
  const bb = await loadBackbone(pretrained);
  const prepared = await prepareData(data, { spec: bb.spec, seed: 3 });
  const f = await extractFeatures(bb, prepared.train.pixels, prepared.train.count, { cache: false });
  const head = buildHead(bb.featureDim, 3, MLP_HEAD);
  initWeights(head, 3);
  const enc = featureEncoder(bb.featureDim);
  const fv = await extractFeatures(bb, prepared.val.pixels, prepared.val.count, { cache: false });
  const set = { inputs: f.features, labels: prepared.train.labels, count: prepared.train.count };
  const val = { inputs: fv.features, labels: prepared.val.labels, count: prepared.val.count };
  // Phase 1 on standardised features, the standardisation folded into the head; phase 2 on raw features.
  const stats = featureStats(set.inputs, set.count, bb.featureDim);
  const z = (s: typeof set) => ({ ...s, inputs: standardize(s.inputs, stats) });
  await fitOnData(headTrainable(head), z(set), z(val), enc, 3, { hyper: { ...DEFAULT_HYPER, ...HEAD_HYPER, ...hyper } });
  foldStandardization(head, stats);
  await fitOnData(headTrainable(head), set, val, enc, 3, { hyper: { ...DEFAULT_HYPER, ...FINETUNE_HYPER, seed: 3, ...ft } });
  const reference = weightsByName(head);
  for (const name of ['head_hidden/kernel', 'head_hidden/bias', 'logits/kernel', 'logits/bias']) {
    const a = tuned.get(name)!;
    const b = reference.get(name)!;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4, `${name}[${i}] ${a[i]} vs ${b[i]}`);
  }
});

test('fine-tuning moves the trunk; --unfreeze 1 moves only the last block', async () => {
  const res = await trainTransfer(data, {
    out: path.join(root, 'ft1'),
    backbone: pretrained,
    mode: 'finetune',
    finetuneMustImprove: false,
    unfreeze: 1,
    hyper: { epochs: 3, seed: 4 },
    finetuneHyper: { epochs: 1 },
  });
  const tuned = weightsByName((await loadModelDir(res.out)).model);
  const original = weightsByName((await loadModelDir(pretrained)).model);
  const moved = [...original.keys()].filter((n) => !n.startsWith('logits') && tuned.get(n)!.some((v, i) => v !== original.get(n)![i]));
  // cnn-tiny blocks: s0a, s0b, s1a, s1b; the last (s1b) holds its conv and BN (gamma, beta) weights.
  assert.ok(moved.length > 0);
  assert.ok(
    moved.every((n) => n.startsWith('s1b_')),
    `moved: ${moved.join(', ')}`,
  );
  assert.ok(!moved.some((n) => /moving_/.test(n)), 'BatchNorm statistics must stay frozen');
});

test('an ONNX backbone gives a head-only model directory that evaluate and predict load', async () => {
  const { file } = await makeOnnxModel(path.join(root, 'onnx', 'net.onnx'));
  const out = path.join(root, 'onnx-model');
  const res = await trainTransfer(data, { out, backbone: file, hyper: { epochs: 5, seed: 1 } });
  assert.equal(res.mode, 'frozen');
  assert.equal(res.backbone.kind, 'onnx');
  const ev = runCli(['evaluate', out, data, '--json'], { FRUGAL_CACHE: process.env.FRUGAL_CACHE! });
  assert.equal(ev.status, 0, ev.stderr);
  assert.equal(JSON.parse(ev.stdout).count, 120);
  await assert.rejects(trainTransfer(data, { out: path.join(root, 'x'), backbone: file, mode: 'finetune' }), /frozen-only/);
});

test('--cut auto: candidates scored by cross-validation on the training images; the best 3 layers become a reloadable ensemble of heads', async () => {
  const out = path.join(root, 'auto-cut');
  const res = runCli(['train', data, '--backbone', pretrained, '--cut', 'auto', '--out', out, '--epochs', '5', '--seed', '2', '--json'], {
    FRUGAL_CACHE: process.env.FRUGAL_CACHE!,
  });
  assert.equal(res.status, 0, res.stderr);
  const r = JSON.parse(res.stdout);
  type T = { cut: string; pool: string; accuracy: number; loss: number };
  const trials: T[] = r.cutSearch.trials;
  // cnn-tiny: the default cut `features`, then s1a_relu, s0_pool, s0b_relu; each pooled avg and grid2.
  assert.deepEqual(
    trials.map((t) => `${t.cut}/${t.pool}`),
    ['features/avg', 'features/grid2', 's1a_relu/avg', 's1a_relu/grid2', 's0_pool/avg', 's0_pool/grid2', 's0b_relu/avg', 's0b_relu/grid2'],
  );
  // The points: the best-scoring pooling of each layer, the 3 best layers, best first (accuracy, then the lower
  // cross-validated loss, then the earlier candidate).
  const order = (a: T, b: T) => b.accuracy - a.accuracy || a.loss - b.loss;
  assert.ok(trials.every((t) => t.loss > 0 && Number.isFinite(t.loss)));
  const bestOf = new Map<string, T>();
  for (const t of trials) if (!bestOf.has(t.cut) || order(t, bestOf.get(t.cut)!) < 0) bestOf.set(t.cut, t);
  const want = [...bestOf.values()].sort(order).slice(0, 3);
  assert.deepEqual(
    r.cutSearch.points,
    want.map((t) => ({ layer: t.cut, pool: t.pool })),
  );
  const cut = want.map((t) => `${t.cut}:${t.pool}`).join(',');
  assert.equal(r.backbone.cut, cut);
  assert.ok(r.cutSearch.ensembleAccuracy > 0 && r.cutSearch.ensembleAccuracy <= 1);
  const meta = JSON.parse(await fsp.readFile(path.join(out, 'frugal.json'), 'utf8'));
  assert.equal(meta.backbone.cut, cut);
  assert.equal(meta.training.cutSearch.trials.length, 8);
  assert.equal(meta.training.head.bestEpoch.length, 3);
  // The saved model is trunk → 3 pooled cut points → 3 heads → their mean; evaluate reproduces the held-out accuracy.
  const { model } = await loadModelDir(out);
  // Each head: the default linear classifier.
  assert.deepEqual(
    model.layers
      .filter((l) => l.getClassName() === 'Dense')
      .map((l) => l.name)
      .sort(),
    ['logits_1', 'logits_2', 'logits_3'],
  );
  const ev = runCli(['evaluate', out, data, '--json'], { FRUGAL_CACHE: process.env.FRUGAL_CACHE! });
  assert.equal(ev.status, 0, ev.stderr);
  // auto:1 keeps the single best candidate (what --cut auto did before ensembles).
  const one = await trainTransfer(data, {
    out: path.join(root, 'auto-cut-1'),
    backbone: pretrained,
    backboneOptions: { cut: 'auto:1' },
    hyper: { epochs: 5, seed: 2 },
  });
  assert.deepEqual([one.backbone.cut, one.backbone.pool], [want[0]!.cut, want[0]!.pool]);
  assert.equal(one.cutSearch!.ensembleAccuracy, null);
  // `frugal train --backbone <a trunk of one's own>` with at most 50 labeled images per class (40 here) and no --cut
  // searches the same way; --cut <layer> keeps that layer; the library does so only when asked (chooseCutWhenSmall).
  const byDefault = runCli(['train', data, '--backbone', pretrained, '--out', path.join(root, 'auto-cut-default'), '--epochs', '5', '--seed', '2', '--json'], {
    FRUGAL_CACHE: process.env.FRUGAL_CACHE!,
  });
  assert.equal(byDefault.status, 0, byDefault.stderr);
  assert.equal(JSON.parse(byDefault.stdout).backbone.cut, cut);
  const given = runCli(['train', data, '--backbone', pretrained, '--cut', 'features', '--out', path.join(root, 'cut-given'), '--epochs', '5', '--json'], {
    FRUGAL_CACHE: process.env.FRUGAL_CACHE!,
  });
  assert.equal(given.status, 0, given.stderr);
  assert.equal(JSON.parse(given.stdout).cutSearch, null);
  const library = await trainTransfer(data, { out: path.join(root, 'cut-library'), backbone: pretrained, hyper: { epochs: 5, seed: 2 } });
  assert.equal(library.cutSearch, null);
  // Frozen-only backbones cannot be cut elsewhere: a clear error, exit 1.
  const { file } = await makeOnnxModel(path.join(root, 'onnx-auto', 'net.onnx'));
  const bad = runCli(['train', data, '--backbone', file, '--cut', 'auto', '--out', path.join(root, 'bad-auto')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--cut auto needs a TF\.js layers backbone/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});

test('a cut list trains one head per cut point on frozen features; fine-tuning trains the ensemble through the trunk; both reload', async () => {
  const cut = 's1a_relu:grid2,s0_pool';
  const frozen = await trainTransfer(data, {
    out: path.join(root, 'list-frozen'),
    backbone: pretrained,
    backboneOptions: { cut },
    mode: 'frozen',
    hyper: { epochs: 10, seed: 3 },
  });
  assert.equal(frozen.backbone.cut, 's1a_relu:grid2,s0_pool:avg');
  assert.ok(frozen.accuracy > 0.6, `accuracy ${frozen.accuracy}`);
  const before = weightsByName((await loadModelDir(pretrained)).model);
  const after = weightsByName((await loadModelDir(path.join(root, 'list-frozen'))).model);
  for (const [name, values] of after) if (before.has(name)) assert.deepEqual(values, before.get(name), `trunk weight ${name} changed`);
  const ft = await trainTransfer(data, {
    out: path.join(root, 'list-ft'),
    backbone: pretrained,
    backboneOptions: { cut },
    mode: 'finetune',
    finetuneMustImprove: false,
    hyper: { epochs: 10, seed: 3 },
    finetuneHyper: { epochs: 2 },
  });
  assert.ok(ft.finetune!.history.length >= 2);
  assert.ok(ft.finetune!.history.every((e) => Number.isFinite(e.loss)));
  // Fine-tuning moved the trunk.
  const tuned = weightsByName((await loadModelDir(path.join(root, 'list-ft'))).model);
  assert.ok([...tuned].some(([name, values]) => before.has(name) && values.some((v, i) => v !== before.get(name)![i])));
  for (const [dir, res] of [
    ['list-frozen', frozen],
    ['list-ft', ft],
  ] as const) {
    const ev = runCli(['evaluate', path.join(root, dir), data, '--json'], { FRUGAL_CACHE: process.env.FRUGAL_CACHE! });
    assert.equal(ev.status, 0, ev.stderr);
    assert.ok(JSON.parse(ev.stdout).accuracy > 0.5, `${dir}: ${ev.stdout} (held-out ${res.accuracy})`);
  }
  const bad = runCli(['train', data, '--backbone', pretrained, '--cut', 's1a_relu,s1a_relu', '--out', path.join(root, 'bad-list')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /s1a_relu:avg is listed twice/);
});

test('a head-only model on a pooled ONNX cut (--pool grid2) reloads its backbone with that pooling', async () => {
  const { file } = await makeOnnxModel(path.join(root, 'onnx-grid', 'net.onnx'));
  const out = path.join(root, 'onnx-grid-model');
  const res = await trainTransfer(data, { out, backbone: file, backboneOptions: { cut: 'r', pool: 'grid2' }, hyper: { epochs: 5, seed: 1 } });
  assert.equal(res.backbone.featureDim, 16);
  const ev = runCli(['evaluate', out, data, '--json'], { FRUGAL_CACHE: process.env.FRUGAL_CACHE! });
  assert.equal(ev.status, 0, ev.stderr);
  assert.equal(JSON.parse(ev.stdout).count, 120);
});

test('frozen mode refits the head on all labeled images (held-out figures from the head that did not see them); not with refit off or --val', async () => {
  const head = async (dir: string) => JSON.parse(await fsp.readFile(path.join(dir, 'frugal.json'), 'utf8')).training.head;
  const logits = async (dir: string) => weightsByName((await loadModelDir(dir)).model).get('logits/kernel')!;
  const o = { backbone: pretrained, mode: 'frozen' as const, hyper: { epochs: 10, seed: 5 } };
  const refit = await trainTransfer(data, { ...o, out: path.join(root, 'refit') });
  const plain = await trainTransfer(data, { ...o, out: path.join(root, 'no-refit'), refit: false });
  assert.equal((await head(refit.out)).refitImages, refit.trainImages + refit.valImages);
  assert.equal((await head(plain.out)).refitImages, null);
  // The same held-out scoring (the head trained on the training split), a different saved head.
  assert.equal(refit.accuracy, plain.accuracy);
  assert.equal(refit.frozenAccuracy, plain.frozenAccuracy);
  assert.notDeepEqual(await logits(refit.out), await logits(plain.out));
  // The refit head learnt the task: on all the labeled images it does at least as well as the held-out estimate says.
  const ev = runCli(['evaluate', refit.out, data, '--json'], { FRUGAL_CACHE: process.env.FRUGAL_CACHE! });
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(JSON.parse(ev.stdout).accuracy >= refit.accuracy - 0.05);
  const withVal = await trainTransfer(data, { ...o, out: path.join(root, 'with-val'), valData: data });
  assert.equal((await head(withVal.out)).refitImages, null);
});

test('fine-tuning is kept only when it beats the frozen head on validation beyond chance; else the frozen head (refit) is saved, trunk untouched', async () => {
  // A fine-tuning phase at learning rate 0 changes nothing: it ties with the frozen head, and a tie keeps the frozen head.
  const res = await trainTransfer(data, {
    out: path.join(root, 'ft-fallback'),
    backbone: pretrained,
    mode: 'finetune',
    hyper: { epochs: 10, seed: 6 },
    finetuneHyper: { epochs: 1, lr: 0 },
  });
  assert.equal(res.mode, 'finetune');
  assert.equal(res.finetuneAccuracy, res.frozenAccuracy);
  assert.equal(res.finetuneKept, false);
  assert.equal(res.accuracy, res.frozenAccuracy);
  assert.equal(res.refitImages, res.trainImages + res.valImages);
  const saved = JSON.parse(await fsp.readFile(path.join(res.out, 'frugal.json'), 'utf8')).training;
  assert.equal(saved.finetune.kept, false);
  assert.equal(saved.head.refitImages, res.trainImages + res.valImages);
  const original = weightsByName((await loadModelDir(pretrained)).model);
  const after = weightsByName((await loadModelDir(res.out)).model);
  for (const [name, values] of original) if (!name.startsWith('logits')) assert.deepEqual(after.get(name), values, `trunk weight ${name} moved`);
  // When kept, the flags say why: the fine-tuned model scored higher, beyond chance (sign test).
  const kept = await trainTransfer(data, {
    out: path.join(root, 'ft-kept'),
    backbone: pretrained,
    mode: 'finetune',
    hyper: { epochs: 3, seed: 4 },
    finetuneHyper: { epochs: 2 },
  });
  assert.ok(kept.finetuneP! > 0 && kept.finetuneP! <= 1);
  assert.equal(kept.finetuneKept, kept.finetuneAccuracy! > kept.frozenAccuracy && kept.finetuneP! < 0.05);
  assert.equal(kept.refitImages === null, kept.finetuneKept);
});

test('Noisy Student on frozen features: the teacher labels the pool, students learn from labeled + confident pseudo-labels; self-train runs it by default', async () => {
  const labeled = await writeToyFolder(path.join(root, 'ns-labeled'), 5, 16, 11);
  const poolSrc = await writeToyFolder(path.join(root, 'ns-pool-src'), 40, 16, 12);
  const pool = path.join(root, 'ns-pool');
  await fsp.mkdir(pool);
  for (const cls of await fsp.readdir(poolSrc))
    for (const f of await fsp.readdir(path.join(poolSrc, cls))) await fsp.rename(path.join(poolSrc, cls, f), path.join(pool, `${cls}-${f}`));
  const heldOut = await writeToyFolder(path.join(root, 'ns-test'), 30, 16, 13);
  const out = path.join(root, 'ns');
  const res = await trainTransfer(labeled, { out, backbone: pretrained, unlabeled: pool, hyper: { seed: 1 } });
  assert.equal(res.mode, 'frozen');
  assert.equal(res.poolImages, 120);
  assert.deepEqual(
    res.selfTraining!.map((r) => r.round),
    [0, 1, 2],
  );
  for (const r of res.selfTraining!.slice(1)) {
    assert.ok(r.pseudoLabeled > 0 && r.pseudoLabeled <= 120, `round ${r.round}: ${r.pseudoLabeled} pseudo-labels`);
    assert.equal(
      Object.values(r.kept).reduce((a, b) => a + b, 0),
      r.pseudoLabeled,
    );
  }
  // The rounds, as the report's Noisy Student section reads them.
  const written = JSON.parse(await fsp.readFile(path.join(out, 'rounds.json'), 'utf8'));
  assert.deepEqual(
    written.map((r: { round: number; accuracy: number; keptTotal: number }) => [r.round, r.accuracy, r.keptTotal]),
    res.selfTraining!.map((r) => [r.round, r.valAccuracy, r.pseudoLabeled]),
  );
  assert.ok((await writeReport(out)).sections.includes('noisy-student'));
  const meta = JSON.parse(await fsp.readFile(path.join(out, 'frugal.json'), 'utf8'));
  assert.equal(meta.training.selfTraining.rounds, 2);
  assert.equal(meta.training.selfTraining.poolImages, 120);
  // Pseudo-labels balanced across classes by default (FEATURE_SELF_TRAIN).
  assert.equal(meta.training.selfTraining.balance, true);
  // Held-out images the run never saw: the saved student classifies them.
  const ev = runCli(['evaluate', out, heldOut, '--json'], { FRUGAL_CACHE: process.env.FRUGAL_CACHE! });
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(JSON.parse(ev.stdout).accuracy > 0.6, `held-out accuracy ${JSON.parse(ev.stdout).accuracy}`);
  await assert.rejects(
    trainTransfer(labeled, { out: path.join(root, 'ns-ft'), backbone: pretrained, unlabeled: pool, mode: 'finetune' }),
    /needs mode: 'frozen'|frozen/,
  );
  // frugal self-train without --student, on a validation split (--no-cv): the same, reported as rounds; image-student
  // flags without --student are usage errors.
  const cli = runCli(
    ['self-train', labeled, '--unlabeled', pool, '--teacher-backbone', pretrained, '--out', path.join(root, 'ns-cli'), '--seed', '1', '--no-cv', '--json'],
    {
      FRUGAL_CACHE: process.env.FRUGAL_CACHE!,
    },
  );
  assert.equal(cli.status, 0, cli.stderr);
  const r = JSON.parse(cli.stdout);
  assert.deepEqual(
    r.rounds.map((x: { round: number }) => x.round),
    [0, 1, 2],
  );
  assert.equal(r.accuracy, res.accuracy, 'the library call and the command agree');
  // In words, with a validation split asked for (no cross-validation then): the figure with the validation images it
  // rests on (and, when they are few, a pointer to --cv).
  const words = runCli(
    ['self-train', labeled, '--unlabeled', pool, '--teacher-backbone', pretrained, '--out', path.join(root, 'ns-text'), '--seed', '1', '--val-split', '0.2'],
    { FRUGAL_CACHE: process.env.FRUGAL_CACHE! },
  );
  assert.equal(words.status, 0, words.stderr);
  const images = Number(/held-out accuracy [\d.]+% on (\d+) validation images \(the model of round 2\)/.exec(words.stdout)?.[1]);
  assert.equal(images, res.estimate.images);
  assert.equal(/note: that figure rests on \d+ validation images .*--cv scores every labeled image/.test(words.stdout), images < 50);
  const bad = runCli(['self-train', labeled, '--unlabeled', pool, '--out', path.join(root, 'ns-bad'), '--augment', 'basic']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--augment needs --student/);
  // --cv: the rounds scored by cross-validation; the model has the rounds with the highest estimate.
  const cv = runCli(
    ['self-train', labeled, '--unlabeled', pool, '--teacher-backbone', pretrained, '--out', path.join(root, 'ns-cv'), '--seed', '1', '--cv', '--json'],
    { FRUGAL_CACHE: process.env.FRUGAL_CACHE! },
  );
  assert.equal(cv.status, 0, cv.stderr);
  const c = JSON.parse(cv.stdout);
  assert.equal(c.estimate.kind, 'cross-validation');
  const estimates = c.rounds.map((x: { accuracy: number }) => x.accuracy);
  assert.ok(estimates.length >= 3);
  assert.equal(estimates[c.bestRound], Math.max(...estimates));
  assert.equal(c.accuracy, estimates[c.bestRound]);
  // Neither --cv nor a validation split asked for, with fewer than CV_BELOW labeled images: the default 2 rounds, each
  // scored by cross-validation but not chosen by it; the figure is the last round's.
  const byDefault = runCli(
    ['self-train', labeled, '--unlabeled', pool, '--teacher-backbone', pretrained, '--out', path.join(root, 'ns-default'), '--seed', '1', '--json'],
    {
      FRUGAL_CACHE: process.env.FRUGAL_CACHE!,
    },
  );
  assert.equal(byDefault.status, 0, byDefault.stderr);
  const d = JSON.parse(byDefault.stdout);
  assert.deepEqual(
    [d.estimate.kind, d.bestRound, d.rounds.map((x: { round: number }) => x.round), d.accuracy],
    ['cross-validation', 2, [0, 1, 2], d.rounds[2].accuracy],
  );
  // The same folds as --cv's: its first rounds scored the same.
  assert.deepEqual(
    d.rounds.map((x: { accuracy: number }) => x.accuracy),
    c.rounds.slice(0, 3).map((x: { accuracy: number }) => x.accuracy),
  );
  // The rounds say how they were scored: in rounds.json, and so in the report's Noisy Student section.
  const scoredBy = async (dir: string) =>
    (JSON.parse(await fsp.readFile(path.join(root, dir, 'rounds.json'), 'utf8')) as Array<{ scoredBy: string }>).map((x) => x.scoredBy);
  assert.deepEqual(await scoredBy('ns-default'), Array(d.rounds.length).fill('cross-validation'));
  assert.deepEqual(await scoredBy('ns-cli'), Array(r.rounds.length).fill('validation'));
  const nsReport = await fsp.readFile((await writeReport(path.join(root, 'ns-default'))).out, 'utf8');
  assert.match(/<section id="noisy-student"[\s\S]*?<\/section>/.exec(nsReport)![0], /<th>cross-validated accuracy<\/th>/);
  const noCvStudent = runCli(['self-train', labeled, '--unlabeled', pool, '--out', path.join(root, 'ns-bad'), '--student', 'cnn-tiny', '--no-cv']);
  assert.equal(noCvStudent.status, 2);
  assert.match(noCvStudent.stderr, /--no-cv is for Noisy Student on frozen features/);
  const badCv = runCli(['self-train', labeled, '--unlabeled', pool, '--out', path.join(root, 'ns-bad'), '--student', 'cnn-tiny', '--cv']);
  assert.equal(badCv.status, 2);
  assert.match(badCv.stderr, /--cv scores Noisy Student on frozen features/);
});

test('the label-efficiency curve without cross-validation: the frozen head on 25%, 50% and all training images, scored on the validation images', async () => {
  const labeled = await writeToyFolder(path.join(root, 'curve-labeled'), 20, 16, 21);
  const res = await trainTransfer(labeled, { out: path.join(root, 'curve'), backbone: pretrained, labelCurve: true, hyper: { seed: 3 } });
  const curve = res.labelCurve!;
  assert.deepEqual(
    curve.points.map((p) => [p.fraction, p.labelsPerClass, p.estimate.kind, p.estimate.images]),
    [
      [0.25, 4, 'validation', 12],
      [0.5, 8, 'validation', 12],
      [1, 16, 'validation', 12],
    ],
  );
  // The saved head is refit on all 20 labeled images per class: the law is read there and at twice that.
  assert.equal(res.refitImages, 60);
  assert.deepEqual([curve.current.labelsPerClass, curve.doubled.labelsPerClass], [20, 40]);
  assert.equal(curve.points[2]!.estimate.accuracy, res.frozenAccuracy);
  const meta = JSON.parse(await fsp.readFile(path.join(root, 'curve', 'frugal.json'), 'utf8'));
  assert.deepEqual(meta.metrics.labelCurve, JSON.parse(JSON.stringify(curve)));
});

test('cross-validation: every labeled image is scored by heads that never saw it; Noisy Student rounds chosen by the estimate; the saved head learns from all labeled images', async () => {
  // The labeled images of the Noisy Student test, with one image of each of two classes put under the other's label:
  // held out, each must be classified as what it shows, so wrong against its label.
  const labeled = path.join(root, 'cv-labeled');
  await fsp.cp(path.join(root, 'ns-labeled'), labeled, { recursive: true });
  const [a, b] = (await fsp.readdir(labeled)).sort();
  const fa = (await fsp.readdir(path.join(labeled, a!))).sort()[0]!;
  const fb = (await fsp.readdir(path.join(labeled, b!))).sort()[0]!;
  await fsp.rename(path.join(labeled, a!, fa), path.join(labeled, b!, `moved-${fa}`));
  await fsp.rename(path.join(labeled, b!, fb), path.join(labeled, a!, `moved-${fb}`));
  const pool = path.join(root, 'ns-pool');
  const heldOut = path.join(root, 'ns-test');
  const out = path.join(root, 'cv');
  const res = await trainTransfer(labeled, { out, backbone: pretrained, unlabeled: pool, crossValidation: true, hyper: { seed: 2 } });
  const n = res.trainImages;
  assert.equal(n, 15);
  assert.equal(res.valImages, 0);
  assert.equal(res.refitImages, n, 'the saved head is trained on every labeled image');
  // 15 labeled + 120 unlabeled images: cheap, so 5 folds repeated 3 times.
  assert.deepEqual({ ...res.estimate, accuracy: 0, spread: 0 }, { kind: 'cross-validation', accuracy: 0, spread: 0, images: 3 * n, folds: 5, repeats: 3 });
  assert.equal(res.accuracy, res.estimate.accuracy);
  assert.ok(res.estimate.spread > 0 && res.estimate.spread < 0.5, `spread ${res.estimate.spread}`);
  // Per-image scores: the fraction of the 3 repeats in which the image was right when held out; their mean is the estimate.
  assert.equal(res.right.length, n);
  for (const r of res.right)
    assert.ok(
      [0, 1, 2, 3].some((k) => Math.abs(r - k / 3) < 1e-6),
      `per-image score ${r}`,
    );
  assert.ok(Math.abs(res.right.reduce((a, b) => a + b, 0) / n - res.accuracy) < 1e-6);
  // Rounds 0 (the teacher) … at least the default 2 are scored; the saved head has the rounds with the highest estimate.
  const scores = res.selfTraining!.map((r) => r.valAccuracy);
  assert.ok(scores.length >= 3, `rounds scored: ${scores.length}`);
  assert.equal(scores[res.selfTrainRounds!], Math.max(...scores));
  assert.deepEqual(
    res.selfTraining!.map((r) => r.round),
    scores.map((_, i) => i),
  );
  // The report's held-out predictions are those of the folds: one per labeled image, in the order of `right`. The two
  // relabeled images are wrong in every repeat: no head that scored them had seen them.
  const predictions = JSON.parse(await fsp.readFile(path.join(out, 'predictions.json'), 'utf8'));
  assert.equal(predictions.items.length, n);
  const moved = predictions.items.flatMap((item: { path: string }, i: number) => (path.basename(item.path).startsWith('moved-') ? [i] : []));
  assert.equal(moved.length, 2);
  for (const i of moved) {
    assert.equal(res.right[i], 0, predictions.items[i].path);
    const probs: number[] = predictions.items[i].probs;
    assert.notEqual(probs.indexOf(Math.max(...probs)), predictions.items[i].label);
  }
  assert.ok(res.accuracy <= (n - 2) / n + 1e-9);
  const meta = JSON.parse(await fsp.readFile(path.join(out, 'frugal.json'), 'utf8'));
  assert.equal(meta.metrics.accuracy, res.accuracy);
  assert.equal(meta.metrics.estimate.kind, 'cross-validation');
  assert.equal(meta.training.selfTraining.rounds, res.selfTrainRounds);
  // The report leads with the estimate and does not call the model a refit of a validated head.
  const html = runCli(['report', out, '--out', path.join(root, 'cv-report.html')]);
  assert.equal(html.status, 0, html.stderr);
  const page = await fsp.readFile(path.join(root, 'cv-report.html'), 'utf8');
  assert.ok(page.includes(`cross-validated accuracy</dt><dd class="big">${(res.accuracy * 100).toFixed(1)}% ±`), 'the estimate heads the summary');
  assert.doesNotMatch(page, /trained again on all/);
  // On 90 images the run never saw, the saved model does what the estimate says, within the estimate's noise.
  const ev = runCli(['evaluate', out, heldOut, '--json'], { FRUGAL_CACHE: process.env.FRUGAL_CACHE! });
  assert.equal(ev.status, 0, ev.stderr);
  const test = JSON.parse(ev.stdout).accuracy;
  assert.ok(test > 0.6, `held-out accuracy ${test}`);
  assert.ok(Math.abs(test - res.accuracy) < 0.25, `estimate ${res.accuracy} vs held-out ${test}`);
  // A validation set and cross-validation exclude each other; fine-tuning is scored on a validation split.
  await assert.rejects(
    trainTransfer(labeled, { out: path.join(root, 'cv-bad'), backbone: pretrained, crossValidation: true, valData: heldOut }),
    /one or the other/,
  );
  await assert.rejects(
    trainTransfer(labeled, { out: path.join(root, 'cv-bad'), backbone: pretrained, crossValidation: true, mode: 'finetune' }),
    /validation split/,
  );
});

test('auto below AUTO_CV_BELOW labeled images: every stage cross-validated on the same folds, kept only when it does not lower the estimate; the kept model is the last kept stage', async () => {
  const { file } = await makeOnnxModel(path.join(root, 'onnx-ns', 'net.onnx'));
  const labeled = path.join(root, 'ns-labeled');
  const out = path.join(root, 'auto-ns');
  const res = await auto(labeled, { out, backbone: file, unlabeled: path.join(root, 'ns-pool'), seed: 1 });
  assert.equal(res.selection, 'cross-validation');
  assert.equal(res.rows[0]!.id, 'frozen');
  assert.ok(
    res.rows.every((r) => r.estimate === 'cross-validation'),
    JSON.stringify(res.rows.map((r) => [r.id, r.estimate, r.kept])),
  );
  // An ONNX trunk can't be cut or fine-tuned: no such stages. The augmentation stage runs or says why not.
  assert.ok(!res.rows.some((r) => r.id === 'cut' || r.id === 'finetune'));
  assert.ok(res.rows.some((r) => r.id === 'augment') !== res.skipped.some((s) => s.stage === 'augment'));
  // 16-px images: a model from scratch is tried too, on the same folds. Kept (here, over a random ONNX trunk), it leaves
  // no frozen-trunk teacher: Noisy Student's image students, scored on a validation split, are skipped with the reason.
  const scratch = res.rows.find((r) => r.id === 'scratch')!;
  assert.equal(scratch.estimate, 'cross-validation');
  if (scratch.kept) {
    assert.ok(!res.rows.some((r) => r.id === 'noisyStudent'));
    assert.match(res.skipped.find((r) => r.stage === 'noisyStudent')!.why, /image students are scored on a validation split/);
  } else {
    const ns = res.rows.find((r) => r.id === 'noisyStudent')!;
    assert.match(ns.note ?? '', /^on frozen features: rounds 0…\d+ scored [\d.]+%( → [\d.]+%)+; \d+ kept$/);
  }
  let best = res.rows[0]!;
  for (const r of res.rows.slice(1)) {
    assert.ok(Math.abs(r.delta! - (r.accuracy - best.accuracy)) < 1e-12, `${r.stage}: Δ is against the best stage before it`);
    if (r.kept) {
      assert.ok(r.accuracy >= best.accuracy, `${r.stage} was kept but lowered the estimate`);
      best = r;
    } else assert.ok(r.why.length > 0);
  }
  assert.equal(res.best, best.stage);
  assert.equal(res.accuracy, best.accuracy);
  assert.equal(res.spread, best.spread);
  for (const r of res.rows) {
    const meta = JSON.parse(await fsp.readFile(path.join(r.dir, 'frugal.json'), 'utf8'));
    assert.equal(meta.metrics.accuracy, r.accuracy, r.stage);
    assert.equal(meta.metrics.estimate.kind, 'cross-validation', r.stage);
  }
  // The run folder is the kept stage's model, trained on all labeled images.
  assert.deepEqual(await fsp.readFile(path.join(out, 'weights.bin')), await fsp.readFile(path.join(best.dir, 'weights.bin')));
  const ablation = JSON.parse(await fsp.readFile(path.join(out, 'auto.json'), 'utf8'));
  assert.equal(ablation.selection, 'cross-validation');
  // The label-efficiency curve: the frozen head cross-validated with 25%, 50% and all of each fold's labels per class
  // (all: the frozen stage's own estimate), a power law fitted, and what twice the labels is expected to add.
  const curve = res.labelCurve!;
  assert.deepEqual(
    curve.points.map((p) => p.fraction),
    [0.25, 0.5, 1],
  );
  assert.ok(curve.points[0]!.labelsPerClass < curve.points[1]!.labelsPerClass && curve.points[1]!.labelsPerClass < curve.points[2]!.labelsPerClass);
  assert.equal(curve.points[2]!.estimate.accuracy, res.rows[0]!.accuracy);
  assert.ok(curve.points.every((p) => p.estimate.kind === 'cross-validation' && p.estimate.accuracy > 0 && p.estimate.accuracy <= 1));
  assert.ok(curve.fit.b >= 0 && curve.doubled.gain >= 0 && curve.doubled.accuracy <= 1);
  assert.equal(curve.doubled.labelsPerClass, 2 * curve.current.labelsPerClass);
  assert.deepEqual(ablation.labelCurve, JSON.parse(JSON.stringify(curve)));
  const { sections } = await writeReport(out);
  assert.ok(sections.includes('label-efficiency'), sections.join(', '));
  const html = await fsp.readFile(path.join(out, 'report.html'), 'utf8');
  assert.match(html, /<section id="label-efficiency" class="present">.*points expected for \d+ more labels per class \(doubling them\).*<svg/s);
  // A budget the first stage already spends: every later stage is skipped, saying what it would have needed.
  const tight = await auto(labeled, {
    out: path.join(root, 'auto-budget'),
    backbone: file,
    unlabeled: path.join(root, 'ns-pool'),
    seed: 1,
    budgetMinutes: 0.001,
  });
  assert.deepEqual(
    tight.rows.map((r) => r.id),
    ['frozen'],
  );
  assert.deepEqual(
    tight.skipped.map((r) => r.stage),
    ['scratch', 'augment', 'noisyStudent'],
  );
  for (const r of tight.skipped) assert.match(r.why, /would take about \d+ s, 0 s of the budget are left/);
  assert.equal(tight.best, tight.rows[0]!.stage);
  assert.deepEqual(
    ablation.rows.map((r: { kept: boolean }) => r.kept),
    res.rows.map((r) => r.kept),
  );
});
