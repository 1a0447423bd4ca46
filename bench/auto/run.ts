/**
 * `frugal auto` on Scarce-FMNIST (k = 20 labels per target class, an unlabeled pool, a backbone
 * pretrained on the source classes; 3 seeds): the ablation table with test accuracy per stage.
 *
 *   npm run build && node dist/bench/auto/run.js [--k 20] [--seeds 0,1,2] [--pool 3000] [--epochs 8] [--budget 20]
 */
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { initBackend } from '../../src/engine/backend.js';
import { auto } from '../../src/recipes/auto.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import { scarceFmnist, pretrainedSource, poolSubset, fmt, median, arg } from '../lib/scarce-fmnist.js';

async function main(): Promise<void> {
  const work = arg('work', path.join(tmpdir(), 'scarce-fmnist'));
  const k = Number(arg('k', '20'));
  const seeds = arg('seeds', '0,1,2').split(',').map(Number);
  const poolSize = Number(arg('pool', '3000'));
  const epochs = Number(arg('epochs', '8'));
  const budget = Number(arg('budget', '0')) || undefined;
  const distillArch = arg('distill', 'cnn-tiny');
  const info = await initBackend();
  const log = (m: string) => void process.stderr.write(m + '\n');
  const { dir: backbone } = await pretrainedSource(work, 'cnn-small', Number(arg('pretrain-epochs', '3')), log);
  const rows = new Map<string, { val: number[]; test: number[]; secs: number[] }>();
  for (const seed of seeds) {
    const task = await scarceFmnist(work, k, seed);
    const { dir: pool } = await poolSubset(task, poolSize, seed);
    const out = path.join(work, 'runs', `auto-k${k}-s${seed}`);
    await fsp.rm(out, { recursive: true, force: true });
    const res = await auto(task.train, {
      out,
      unlabeled: pool,
      backbone,
      distillArch,
      epochs,
      budgetMinutes: budget,
      seed,
      callbacks: [{ onStage: (s) => log(`seed ${seed}: ${s}`) }],
    });
    for (const r of res.rows) {
      const test = (await evaluateModel(r.dir, task.test, { cache: false })).accuracy;
      if (!rows.has(r.stage)) rows.set(r.stage, { val: [], test: [], secs: [] });
      rows.get(r.stage)!.val.push(r.accuracy);
      rows.get(r.stage)!.test.push(test);
      rows.get(r.stage)!.secs.push(r.seconds);
    }
    log(`seed ${seed}: best ${res.best}, policy ${res.policy}, ${res.seconds.toFixed(0)} s`);
  }
  console.log(
    `frugal auto on Scarce-FMNIST: k=${k}/class, pool ${poolSize}, backbone cnn-small pretrained on classes 0–4, ${epochs} epochs per stage, ` +
      `distilled into ${distillArch}; seeds ${seeds.join(',')}; backend ${info.name}`,
  );
  console.log('| stage | validation accuracy % | test accuracy % (mean ± std) | Δ test vs previous (pts) | wall time s (median) |');
  console.log('|---|---|---|---|---|');
  let prev: number | null = null;
  for (const [stage, r] of rows) {
    const mean = r.test.reduce((a, b) => a + b, 0) / r.test.length;
    const delta = prev === null ? '–' : `${mean - prev >= 0 ? '+' : ''}${((mean - prev) * 100).toFixed(1)}`;
    console.log(`| ${stage} | ${fmt(r.val)} | ${fmt(r.test)} | ${delta} | ${median(r.secs).toFixed(0)} |`);
    prev = mean;
  }
}

await main();
