/**
 * One row of bench/photos, in a process of its own (so that its peak memory is its own): trains one method
 * on one task, evaluates it on the published held-out split and prints one JSON line.
 *
 *   node dist/bench/photos/row.js --work <dir> --set hymenoptera --k 10 --seed 0 --method frozen
 */
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { initBackend } from '../../src/engine/backend.js';
import { trainFromScratch } from '../../src/recipes/scratch.js';
import { trainTransfer } from '../../src/recipes/transfer.js';
import { searchAugmentation } from '../../src/recipes/augment-search.js';
import { selfTrain } from '../../src/recipes/self-train.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import { BUILTIN_TRUNK } from '../../src/models/backbones/pretrained.js';
import { exists } from '../../src/util/fs.js';
import { arg } from '../lib/scarce-fmnist.js';
import { photoTask, type Method } from '../lib/photos.js';

async function main(): Promise<void> {
  const work = arg('work', '/tmp/frugal-photos');
  const set = arg('set', 'hymenoptera');
  const kText = arg('k', '10');
  const k = kText === 'all' ? null : Number(kText);
  const seed = Number(arg('seed', '0'));
  const method = arg('method', 'frozen') as Method;
  await initBackend();
  const task = await photoTask(work, set, k, seed);
  const out = (m: string) => path.join(work, 'runs', `${set}-k${kText}-s${seed}-${m}`);
  const dir = out(method);
  await fsp.rm(dir, { recursive: true, force: true });
  const common = { out: dir, valSplit: 0.2, hyper: { seed }, featureCache: false };
  const t0 = performance.now();
  let detail = '';
  if (method === 'scratch') {
    const r = await trainFromScratch(task.train, { out: dir, valSplit: 0.2, hyper: { seed } });
    detail = `${r.arch} at ${r.spec.height} px`;
  } else if (method === 'frozen') {
    await trainTransfer(task.train, { ...common, backbone: BUILTIN_TRUNK, mode: 'frozen' });
  } else if (method === 'cut-auto') {
    const r = await trainTransfer(task.train, { ...common, backbone: BUILTIN_TRUNK, backboneOptions: { cut: 'auto' }, mode: 'frozen' });
    detail = r.backbone.cut;
  } else if (method === 'finetune') {
    // The fine-tuned model itself, even where it does not beat the frozen head on validation (the default falls back).
    const r = await trainTransfer(task.train, { ...common, backbone: BUILTIN_TRUNK, mode: 'finetune', finetuneMustImprove: false });
    detail = `frozen head ${(r.frozenAccuracy * 100).toFixed(1)}% → fine-tuned ${(r.accuracy * 100).toFixed(1)}% on the inner validation split; ${r.finetune?.history.length ?? 0} epochs`;
  } else if (method === 'augment') {
    const s = await searchAugmentation(task.train, {
      backbone: BUILTIN_TRUNK,
      mode: 'halving',
      valSplit: 0.2,
      hyper: { seed },
      featureCache: false,
      out: `${dir}-search`,
    });
    detail = `policy ${s.recommended}`;
    await trainTransfer(task.train, { ...common, backbone: BUILTIN_TRUNK, mode: 'frozen', augment: s.recommended === 'none' ? undefined : s.recommended });
  } else if (method === 'noisy-student' || method === 'noisy-student-split') {
    if (!task.pool) throw new Error('Noisy Student needs a pool: not with k = all');
    // `frugal self-train <train> --unlabeled <pool>` as it runs by default: on the built-in trunk's frozen features,
    // below 1,000 labeled images its 2 rounds scored by cross-validation. `noisy-student-split`: with `--no-cv`, scored
    // on a 20% validation split (the default until 2026-12-01).
    const split = method === 'noisy-student-split' ? { crossValidation: false, valSplit: 0.2 } : {};
    const r = await selfTrain(task.train, { out: dir, unlabeled: task.pool, ...split, hyper: { seed } });
    const scored = r.estimate?.kind === 'cross-validation' ? 'cross-validated' : 'on the inner validation split';
    detail =
      r.rounds.map((x) => `round ${x.round} ${(x.accuracy * 100).toFixed(1)}% (${x.keptTotal} pseudo-labels)`).join(', ') +
      ` ${scored}; kept round ${r.bestRound}`;
  } else if (method === 'noisy-student-images') {
    if (!task.pool) throw new Error('Noisy Student needs a pool: not with k = all');
    // The teacher is the frozen row's model when it exists (else it is trained here, and counted).
    const teacher = out('frozen');
    if (!(await exists(path.join(teacher, 'frugal.json'))))
      await trainTransfer(task.train, { ...common, out: teacher, backbone: BUILTIN_TRUNK, mode: 'frozen' });
    const r = await selfTrain(task.train, {
      out: dir,
      unlabeled: task.pool,
      teacher,
      student: { kind: 'backbone', backbone: BUILTIN_TRUNK, dropout: 0.3 },
      rounds: Number(arg('rounds', '1')),
      threshold: 0.7,
      balance: true,
      augment: 'randaugment:n=2,m=9',
      valSplit: 0.2,
      hyper: { seed, epochs: 6 },
      poolLabels: task.poolLabels,
    });
    detail =
      r.rounds
        .map(
          (x) =>
            `round ${x.round} ${(x.accuracy * 100).toFixed(1)}%${x.pseudoAccuracy !== null ? ` (pseudo-labels ${(x.pseudoAccuracy * 100).toFixed(0)}% right, ${x.keptTotal} kept)` : ''}`,
        )
        .join(', ') + `; kept round ${r.bestRound}`;
  } else {
    throw new Error(`unknown method ${method}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const ev = await evaluateModel(dir, task.test, { cache: false });
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ set, k: kText, seed, method, accuracy: ev.accuracy, testImages: ev.count, seconds, maxRssMB, detail }) + '\n');
}

await main();
