/**
 * bench/label-curve: is the label-efficiency curve's "+x points for twice the labels" right? On real photos
 * (`../shared/data/photos`), for k labels per class (seeds 0–2; the k-label draw is a subset of the 2k-label one),
 * the frozen built-in-trunk head is cross-validated with its label-efficiency curve (`labelCurve`, what `auto`
 * shows); the curve's expected gain for twice the labels is set beside the measured one: the same head trained on
 * k and on 2k labels per class, scored on the published test split (and by its own cross-validated estimate).
 *
 *   npm run build && node dist/bench/label-curve/run.js [--work /tmp/frugal-photos] [--sets hymenoptera,flowers12]
 *     [--ks 5,10] [--seeds 0,1,2]
 */
import * as path from 'node:path';
import { initBackend } from '../../src/engine/backend.js';
import { trainTransfer } from '../../src/recipes/transfer.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import { arg } from '../lib/scarce-fmnist.js';
import { photoTask } from '../lib/photos.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number) => (x * 100).toFixed(1);
const pts = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;

interface Measured {
  estimate: number;
  test: number;
  /** The curve's expected accuracy at 2k, and its expected gain over k. */
  expected2k: number;
  expectedGain: number;
  points: string;
}

async function main(): Promise<void> {
  const work = arg('work', '/tmp/frugal-photos');
  const sets = arg('sets', 'hymenoptera,flowers12').split(',');
  const ks = arg('ks', '5,10').split(',').map(Number);
  const seeds = arg('seeds', '0,1,2').split(',').map(Number);
  const info = await initBackend();
  const runs = new Map<string, Measured>();
  const measure = async (set: string, k: number, seed: number): Promise<Measured> => {
    const key = `${set}-${k}-${seed}`;
    if (runs.has(key)) return runs.get(key)!;
    const task = await photoTask(work, set, k, seed);
    const out = path.join(work, 'label-curve-runs', key);
    const res = await trainTransfer(task.train, { out, crossValidation: true, labelCurve: true, hyper: { seed } });
    const test = (await evaluateModel(out, task.test, { cache: false })).accuracy;
    const c = res.labelCurve!;
    const m: Measured = {
      estimate: res.accuracy,
      test,
      expected2k: c.doubled.accuracy,
      expectedGain: c.doubled.gain,
      points: c.points.map((p) => pct(p.estimate.accuracy)).join(' / '),
    };
    process.stderr.write(`${set} k=${k} seed ${seed}: estimate ${pct(m.estimate)}%, test ${pct(test)}%, curve ${m.points}, 2×: ${pts(m.expectedGain)}\n`);
    runs.set(key, m);
    return m;
  };
  console.log(`label-efficiency curve against twice the labels, frozen built-in trunk + linear head; backend ${info.name}`);
  console.log(
    '| set | k/class | curve at 25/50/100% (cross-validated, %) | expected gain for 2k (pts) | measured test gain k → 2k (pts) | measured estimate gain (pts) | expected 2k accuracy % | 2k test % | 2k estimate % |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const set of sets) {
    for (const k of ks) {
      const at: Array<readonly [Measured, Measured]> = [];
      for (const s of seeds) at.push([await measure(set, k, s), await measure(set, 2 * k, s)]);
      const row = [
        set,
        k,
        at.map(([a]) => a.points).join('; '),
        pts(mean(at.map(([a]) => a.expectedGain))),
        pts(mean(at.map(([a, b]) => b.test - a.test))),
        pts(mean(at.map(([a, b]) => b.estimate - a.estimate))),
        pct(mean(at.map(([a]) => a.expected2k))),
        pct(mean(at.map(([, b]) => b.test))),
        pct(mean(at.map(([, b]) => b.estimate))),
      ];
      console.log(`| ${row.join(' | ')} |`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
