/**
 * Augmentation search on Scarce-FMNIST (k = 20): grid vs successive halving over RandAugment (N, M)
 * with frozen features of a backbone pretrained on the source classes (cut by `--cut auto`); then the head
 * trained with the policy the search returns (augmented views) vs no augmentation, test accuracy, 3 seeds.
 *
 *   npm run build && node dist/bench/augment-search/run.js [--k 20] [--seeds 0,1,2]
 */
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { initBackend } from '../../src/engine/backend.js';
import { searchAugmentation } from '../../src/recipes/augment-search.js';
import { AUGMENT_VIEWS, trainTransfer } from '../../src/recipes/transfer.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import type { BackboneOptions } from '../../src/models/backbones/load.js';
import { scarceFmnist, pretrainedSource, fmt, median, arg } from '../lib/scarce-fmnist.js';

async function main(): Promise<void> {
  const work = arg('work', path.join(tmpdir(), 'scarce-fmnist'));
  const k = Number(arg('k', '20'));
  const seeds = arg('seeds', '0,1,2').split(',').map(Number);
  const info = await initBackend();
  const log = (m: string) => void process.stderr.write(m + '\n');
  const { dir: backbone } = await pretrainedSource(work, 'cnn-small', Number(arg('pretrain-epochs', '3')), log);
  const acc: Record<string, number[]> = { none: [], grid: [], halving: [] };
  const secs: Record<string, number[]> = { grid: [], halving: [] };
  const cost: Record<string, number[]> = { grid: [], halving: [] };
  const chosen: Record<string, string[]> = { grid: [], halving: [] };
  const cuts: string[] = [];
  for (const seed of seeds) {
    const task = await scarceFmnist(work, k, seed);
    const test = async (dir: string) => (await evaluateModel(dir, task.test, { cache: false })).accuracy;
    // The search cuts the backbone where cross-validation says (--cut auto); the heads use the same cut.
    let cut: { cut: string; pool: string } | undefined;
    const run = (name: string, augment: string) =>
      trainTransfer(task.train, {
        out: path.join(work, 'runs', `augsearch-k${k}-s${seed}-${name}`),
        backbone,
        backboneOptions: cut as BackboneOptions,
        mode: 'frozen',
        augment,
        hyper: { seed },
        featureCache: path.join(work, 'features'),
      });
    for (const mode of ['grid', 'halving'] as const) {
      const r = await searchAugmentation(task.train, {
        backbone,
        backboneOptions: { cut: 'auto' },
        mode,
        hyper: { seed },
        featureCache: false,
        out: path.join(work, 'runs', `augsearch-k${k}-s${seed}-${mode}-search`),
      });
      cut = r.cut;
      secs[mode]!.push(r.seconds);
      cost[mode]!.push(r.cost);
      chosen[mode]!.push(r.recommended === r.best.policy ? r.best.policy : `${r.recommended} (best ${r.best.policy})`);
      acc[mode]!.push(await test((await run(mode, r.recommended)).out));
      const scores = `best ${r.best.policy}, cv ${(r.best.accuracy * 100).toFixed(1)}%, none ${(r.baseline * 100).toFixed(1)}%`;
      log(`seed ${seed} ${mode}: ${r.recommended} (${scores}), cut ${r.cut?.cut}/${r.cut?.pool}, ${r.seconds.toFixed(0)} s`);
    }
    acc.none!.push(await test((await run('none', 'none')).out));
    cuts.push(`${cut?.cut}/${cut?.pool}`);
  }
  console.log(
    `RandAugment search on Scarce-FMNIST, k=${k}/class: frozen cnn-small backbone (pretrained on classes 0–4) cut by --cut auto (${cuts.join(', ')}), ` +
      `head on originals + ${AUGMENT_VIEWS} augmented views; test accuracy, seeds ${seeds.join(',')}; backend ${info.name}`,
  );
  console.log('| policy | returned (per seed) | test accuracy % (mean ± std) | search wall time s (median) | search cost (views × settings, median) |');
  console.log('|---|---|---|---|---|');
  console.log(`| none | – | ${fmt(acc.none!)} | – | – |`);
  for (const mode of ['grid', 'halving']) {
    console.log(`| ${mode} search | ${chosen[mode]!.join('; ')} | ${fmt(acc[mode]!)} | ${median(secs[mode]!).toFixed(0)} | ${median(cost[mode]!)} |`);
  }
  console.log('\nPer seed (test accuracy %):');
  for (const [name, a] of Object.entries(acc)) console.log(`  ${name}: ${a.map((x) => (x * 100).toFixed(1)).join(', ')}`);
}

await main();
