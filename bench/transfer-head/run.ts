/**
 * How the default head of frozen transfer was chosen: Scarce-FMNIST validation tasks that bench/transfer does not
 * report (seeds 3–5), each head scored on 2,000 images of the task's own unlabeled pool (target-class training
 * images, labels known to the benchmark), never on the test split. Frozen trunk, `--cut auto`.
 *
 *   npm run build && node dist/bench/transfer-head/run.js [--work /tmp/scarce-fmnist] [--ks 5,20] [--seeds 3,4,5]
 */
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { initBackend } from '../../src/engine/backend.js';
import { trainTransfer } from '../../src/recipes/transfer.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import type { HeadOptions } from '../../src/models/head.js';
import { scarceFmnist, pretrainedSource, poolSubset, fmt, arg } from '../lib/scarce-fmnist.js';

const HEADS: Record<string, HeadOptions> = {
  linear: { hidden: 0, dropout: 0 },
  'dropout 0.5': { hidden: 0, dropout: 0.5 },
  'hidden 128': { hidden: 128, dropout: 0 },
  'hidden 64, dropout 0.5': { hidden: 64, dropout: 0.5 },
  'hidden 128, dropout 0.5': { hidden: 128, dropout: 0.5 },
  'hidden 256, dropout 0.5': { hidden: 256, dropout: 0.5 },
};

async function main(): Promise<void> {
  const work = arg('work', path.join(tmpdir(), 'scarce-fmnist'));
  const ks = arg('ks', '5,20').split(',').map(Number);
  const seeds = arg('seeds', '3,4,5').split(',').map(Number);
  await initBackend();
  const log = (m: string) => process.stderr.write(m + '\n');
  const { dir: backbone } = await pretrainedSource(work, 'cnn-small', Number(arg('pretrain-epochs', '3')), log);
  const acc = new Map<string, number[]>();
  for (const k of ks) {
    for (const seed of seeds) {
      const task = await scarceFmnist(work, k, seed);
      // 2,000 pool images as a labeled folder: a validation set disjoint from the test split.
      const { dir: val } = await poolSubset(task, 2000, 100 + seed, 'valpool', { byClass: true });
      for (const [name, head] of Object.entries(HEADS)) {
        const out = path.join(work, 'runs', `head-k${k}-s${seed}`);
        await trainTransfer(task.train, {
          out,
          backbone,
          backboneOptions: { cut: 'auto' },
          mode: 'frozen',
          valSplit: 0.2,
          head,
          hyper: { seed },
          featureCache: false,
        });
        const a = (await evaluateModel(out, val, { cache: false })).accuracy;
        acc.set(`${name}|${k}`, [...(acc.get(`${name}|${k}`) ?? []), a]);
        log(`k=${k} seed=${seed} ${name}: ${(a * 100).toFixed(1)}`);
      }
    }
  }
  console.log(`Frozen-transfer heads on Scarce-FMNIST validation tasks (seeds ${seeds.join(',')}; accuracy % on 2,000 pool images each)`);
  console.log(`| head | ${ks.map((k) => `k = ${k}`).join(' | ')} |`);
  console.log(`|---|${ks.map(() => '---|').join('')}`);
  for (const name of Object.keys(HEADS)) console.log(`| ${name} | ${ks.map((k) => fmt(acc.get(`${name}|${k}`)!)).join(' | ')} |`);
}

await main();
