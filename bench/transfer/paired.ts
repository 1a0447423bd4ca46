/**
 * After bench/transfer: is each transfer model better than the from-scratch model of the same (k, seed) beyond
 * chance? Both are evaluated on the same test images; the sign test (McNemar) counts the images right only with
 * one of the two. Reads the model directories bench/transfer left in `<work>/runs`.
 *
 *   node dist/bench/transfer/paired.js [--work /tmp/scarce-fmnist] [--ks 5,20] [--seeds 0,1,2]
 */
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { initBackend } from '../../src/engine/backend.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import { pairedComparison } from '../../src/evaluate/significance.js';
import { arg } from '../lib/scarce-fmnist.js';

const METHODS = { 'frozen-auto': 'frozen, --cut auto (3 heads)', finetune: 'finetune, --cut auto (3 heads)' };

async function main(): Promise<void> {
  const work = arg('work', path.join(tmpdir(), 'scarce-fmnist'));
  const ks = arg('ks', '5,20').split(',').map(Number);
  const seeds = arg('seeds', '0,1,2').split(',').map(Number);
  await initBackend();
  const test = path.join(work, 'target-test');
  const right = async (dir: string): Promise<Map<string, number>> => {
    const e = await evaluateModel(dir, test, { cache: false });
    return new Map(e.predictions.map((p) => [p.path, p.label === p.predicted ? 1 : 0]));
  };
  console.log('Transfer vs from-scratch on the same test images (bench/transfer models)');
  console.log('| k/class | seed | method | right only with transfer | right only from scratch | one-sided sign test p |');
  console.log('|---|---|---|---|---|---|');
  for (const k of ks) {
    for (const seed of seeds) {
      const run = (m: string) => path.join(work, 'runs', `k${k}-s${seed}-${m}`);
      const scratch = await right(run('scratch'));
      const images = [...scratch.keys()].sort();
      for (const [dir, name] of Object.entries(METHODS)) {
        const transfer = await right(run(dir));
        const r = pairedComparison(
          Uint8Array.from(images, (p) => scratch.get(p)!),
          Uint8Array.from(images, (p) => transfer.get(p) ?? 0),
        );
        console.log(`| ${k} | ${seed} | ${name} | ${r.onlyB} | ${r.onlyA} | ${r.p.toExponential(1)} |`);
      }
    }
  }
}

await main();
