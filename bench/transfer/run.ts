/**
 * Scarce-FMNIST transfer benchmark: pretrain a backbone on the source classes, then on the target
 * classes with k labels per class compare training from scratch, a frozen trunk + new head (at the default
 * cut; at the single best cut by cross-validation on the training images, `--cut auto:1`; and with `--cut auto`,
 * an ensemble of heads on the 3 best cut points), and fine-tuning.
 * Three seeds each; mean ± std held-out (target test) accuracy and wall time.
 *
 *   npm run build && node dist/bench/transfer/run.js [--work /tmp/scarce-fmnist] [--ks 5,20,100] [--seeds 0,1,2]
 */
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { initBackend } from '../../src/engine/backend.js';
import { trainFromScratch } from '../../src/recipes/scratch.js';
import { trainTransfer } from '../../src/recipes/transfer.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import { scarceFmnist, pretrainedSource, fmt, median, arg } from '../lib/scarce-fmnist.js';

async function main(): Promise<void> {
  const work = arg('work', path.join(tmpdir(), 'scarce-fmnist'));
  const ks = arg('ks', '5,20,100').split(',').map(Number);
  const seeds = arg('seeds', '0,1,2').split(',').map(Number);
  const arch = arg('arch', 'cnn-small');
  const pretrainEpochs = Number(arg('pretrain-epochs', '3'));
  const info = await initBackend();
  const log = (m: string) => process.stderr.write(m + '\n');
  log(`backend ${info.name}; work folder ${work}`);

  const { dir: pretrained, seconds: pretrainSeconds } = await pretrainedSource(work, arch, pretrainEpochs, log);

  type Row = { acc: number[]; secs: number[]; extract: number[]; head: number[] };
  const rows = new Map<string, Row>();
  const cuts: string[] = [];
  const add = (key: string, acc: number, secs: number, extract = 0, head = 0) => {
    if (!rows.has(key)) rows.set(key, { acc: [], secs: [], extract: [], head: [] });
    const r = rows.get(key)!;
    r.acc.push(acc);
    r.secs.push(secs);
    r.extract.push(extract);
    r.head.push(head);
  };
  for (const k of ks) {
    for (const seed of seeds) {
      const task = await scarceFmnist(work, k, seed);
      const out = (m: string) => path.join(work, 'runs', `k${k}-s${seed}-${m}`);
      const test = async (dir: string) => (await evaluateModel(dir, task.test, { cache: false })).accuracy;
      const valSplit = 0.2;
      const t0 = performance.now();
      await trainFromScratch(task.train, { out: out('scratch'), arch, valSplit, hyper: { epochs: 30, seed } });
      add(`${k}|scratch`, await test(out('scratch')), (performance.now() - t0) / 1000);
      const frozen = await trainTransfer(task.train, {
        out: out('frozen'),
        backbone: pretrained,
        mode: 'frozen',
        valSplit,
        hyper: { seed },
        featureCache: false,
      });
      add(`${k}|frozen, default cut`, await test(out('frozen')), frozen.timings.totalSeconds, frozen.timings.featureSeconds, frozen.timings.headSeconds);
      // --cut auto:1: the single best cut (and pooling) by cross-validation on the training images.
      const f1 = await trainTransfer(task.train, {
        out: out('frozen-auto1'),
        backbone: pretrained,
        backboneOptions: { cut: 'auto:1' },
        mode: 'frozen',
        valSplit,
        hyper: { seed },
        featureCache: false,
      });
      add(`${k}|frozen, --cut auto:1 (best cut)`, await test(out('frozen-auto1')), f1.timings.totalSeconds, f1.timings.featureSeconds, f1.timings.headSeconds);
      // --cut auto: the 3 best cut points, one head each, probabilities averaged.
      const auto = { cut: 'auto' };
      const fa = await trainTransfer(task.train, {
        out: out('frozen-auto'),
        backbone: pretrained,
        backboneOptions: auto,
        mode: 'frozen',
        valSplit,
        hyper: { seed },
        featureCache: false,
      });
      add(`${k}|frozen, --cut auto (3 heads)`, await test(out('frozen-auto')), fa.timings.totalSeconds, fa.timings.featureSeconds, fa.timings.headSeconds);
      cuts.push(`k=${k} seed ${seed}: auto:1 ${f1.backbone.cut}/${f1.backbone.pool}; auto ${fa.backbone.cut} (${fa.cutSearch!.seconds.toFixed(1)} s)`);
      const ft = await trainTransfer(task.train, {
        out: out('finetune'),
        backbone: pretrained,
        backboneOptions: auto,
        mode: 'finetune',
        valSplit,
        hyper: { seed },
        featureCache: false,
      });
      add(`${k}|finetune, --cut auto (3 heads)`, await test(out('finetune')), ft.timings.totalSeconds, ft.timings.featureSeconds, ft.timings.headSeconds);
      log(
        `k=${k} seed=${seed}: ${[...rows]
          .filter(([key]) => key.startsWith(`${k}|`))
          .map(([key, r]) => `${key.split('|')[1]} ${r.acc.at(-1)!.toFixed(3)}`)
          .join(', ')}`,
      );
    }
  }
  const pretraining = `${pretrainEpochs} epochs${pretrainSeconds ? `, ${pretrainSeconds.toFixed(0)} s` : ''}`;
  console.log(
    `Scarce-FMNIST transfer: backbone ${arch} pretrained on classes 0–4 (${pretraining}); ` +
      `target classes 5–9, test accuracy (%), seeds ${seeds.join(',')}; backend ${info.name}`,
  );
  console.log('| k/class | method | test accuracy (mean ± std) | wall s (median) | feature extraction s (median) | head training s (median) |');
  console.log('|---|---|---|---|---|---|');
  for (const [key, r] of rows) {
    const [k, method] = key.split('|');
    const isTransfer = method !== 'scratch';
    const extract = isTransfer ? median(r.extract).toFixed(2) : '-';
    const head = isTransfer ? median(r.head).toFixed(2) : '-';
    console.log(`| ${k} | ${method} | ${fmt(r.acc)} | ${median(r.secs).toFixed(1)} | ${extract} | ${head} |`);
  }
  console.log(`\nCuts chosen by cross-validation (search time): ${cuts.join('; ')}`);
  console.log('\nPer seed (test accuracy %; Δ vs scratch on the same seed, points):');
  for (const [key, r] of rows) {
    const scratch = rows.get(`${key.split('|')[0]}|scratch`)!.acc;
    const delta = key.endsWith('|scratch') ? '' : ` (Δ ${r.acc.map((a, i) => ((a - scratch[i]!) * 100).toFixed(1)).join(', ')})`;
    console.log(`  k=${key.replace('|', ' ')}: ${r.acc.map((a) => (a * 100).toFixed(1)).join(', ')}${delta}`);
  }
}

await main();
