/**
 * Noisy Student on Scarce-FMNIST (k labels per target class, the rest of the target-class training
 * images as the unlabeled pool, 3 seeds): teacher vs rounds 1..R held-out (target test) accuracy and
 * pseudo-label accuracy.
 *
 *   npm run build && node dist/bench/noisy-student/run.js [--k 20] [--seeds 0,1,2] [--rounds 3] [--pool 6000]
 */
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { initBackend } from '../../src/engine/backend.js';
import { selfTrain } from '../../src/recipes/self-train.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import { scarceFmnist, poolSubset, fmt, arg } from '../lib/scarce-fmnist.js';

async function main(): Promise<void> {
  const work = arg('work', path.join(tmpdir(), 'scarce-fmnist'));
  const k = Number(arg('k', '20'));
  const seeds = arg('seeds', '0,1,2').split(',').map(Number);
  const rounds = Number(arg('rounds', '3'));
  const poolSize = Number(arg('pool', '6000'));
  const arch = arg('arch', 'cnn-small');
  const epochs = Number(arg('epochs', '8'));
  const backbone = arg('backbone', '');
  const info = await initBackend();
  const rows: Array<{ acc: number[]; pseudo: number[]; kept: number[] }> = Array.from({ length: rounds + 1 }, () => ({ acc: [], pseudo: [], kept: [] }));
  for (const seed of seeds) {
    const task = await scarceFmnist(work, k, seed);
    // A random subset of the pool keeps each round's training short on 2 cores.
    const { dir: subset, labels } = await poolSubset(task, poolSize, seed);
    const out = path.join(work, 'runs', `noisy-k${k}-s${seed}`);
    await fsp.rm(out, { recursive: true, force: true });
    const res = await selfTrain(task.train, {
      out,
      unlabeled: subset,
      student: { kind: 'arch', arch, dropout: 0.3, dropPath: 0.1 },
      teacherBackbone: backbone || undefined,
      rounds,
      threshold: 0.7,
      balance: true,
      earlyStop: false,
      augment: 'randaugment:n=2,m=9',
      poolLabels: labels,
      valSplit: 0.2,
      hyper: { epochs, seed },
      onRound: (r) => {
        const pseudo = r.pseudoAccuracy !== null ? `, pseudo ${r.pseudoAccuracy.toFixed(3)} (${r.keptTotal} kept)` : '';
        process.stderr.write(`seed ${seed} round ${r.round}: val ${r.accuracy.toFixed(3)}${pseudo}\n`);
      },
    });
    for (const r of res.rounds) {
      const test = (await evaluateModel(r.dir, task.test, { cache: false })).accuracy;
      rows[r.round]!.acc.push(test);
      if (r.pseudoAccuracy !== null) rows[r.round]!.pseudo.push(r.pseudoAccuracy);
      rows[r.round]!.kept.push(r.keptTotal);
    }
  }
  console.log(
    `Noisy Student on Scarce-FMNIST: k=${k}/class, pool ${poolSize} unlabeled, ${arch} students (RandAugment n=2,m=9, dropout 0.3, stochastic depth 0.1), ` +
      `seeds ${seeds.join(',')}; backend ${info.name}`,
  );
  console.log('| round | test accuracy % (mean ± std) | pseudo-label accuracy % | pseudo-labels kept (mean) |');
  console.log('|---|---|---|---|');
  rows.forEach((r, i) => {
    if (!r.acc.length) return;
    const kept = r.kept.length && i > 0 ? (r.kept.reduce((a, b) => a + b, 0) / r.kept.length).toFixed(0) : '-';
    console.log(`| ${i === 0 ? 'teacher' : i} | ${fmt(r.acc)} | ${r.pseudo.length ? fmt(r.pseudo) : '-'} | ${kept} |`);
  });
}

await main();
