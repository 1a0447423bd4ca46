/**
 * bench/auto-photos: `frugal auto` on real photos (`../shared/data/photos`: hymenoptera train → val, flowers12 train →
 * test), k labels per class drawn from the training split, the rest of it as the unlabeled pool (labels hidden),
 * built-in trunk, defaults otherwise. One row per stage: auto's estimate (cross-validated below AUTO_CV_BELOW labeled
 * images), the stage model's test accuracy, kept or not, wall time; then auto's kept model against its own first
 * stage (the frozen built-in trunk with a new head, what `frugal train` gives). Results are appended to
 * `<work>/auto-results.jsonl`; tasks already there are not run again (`--fresh` redoes them).
 *
 *   npm run build && node dist/bench/auto-photos/run.js [--work /tmp/frugal-photos] [--sets hymenoptera,flowers12]
 *     [--ks 5,10,20] [--seeds 0,1,2] [--table-only]
 */
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { initBackend } from '../../src/engine/backend.js';
import { auto } from '../../src/recipes/auto.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import { arg } from '../lib/scarce-fmnist.js';
import { photoTask, readJsonLines } from '../lib/photos.js';

interface StageRow {
  id: string;
  stage: string;
  estimate: number;
  spread: number;
  kept: boolean;
  test: number;
  seconds: number;
}

interface TaskResult {
  set: string;
  k: number;
  seed: number;
  rows: StageRow[];
  skipped: string[];
  best: string;
  estimate: number;
  test: number;
  seconds: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number) => (x * 100).toFixed(1);
const pts = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;

async function main(): Promise<void> {
  const work = arg('work', '/tmp/frugal-photos');
  const sets = arg('sets', 'hymenoptera,flowers12').split(',');
  const ks = arg('ks', '5,10,20').split(',').map(Number);
  const seeds = arg('seeds', '0,1,2').split(',').map(Number);
  const file = path.join(work, 'auto-results.jsonl');
  await fsp.mkdir(work, { recursive: true });
  if (process.argv.includes('--fresh')) await fsp.rm(file, { force: true });
  const info = await initBackend();
  const log = (m: string) => void process.stderr.write(m + '\n');
  if (!process.argv.includes('--table-only')) {
    for (const set of sets) {
      for (const k of ks) {
        for (const seed of seeds) {
          if ((await readJsonLines<TaskResult>(file)).some((r) => r.set === set && r.k === k && r.seed === seed)) continue;
          const task = await photoTask(work, set, k, seed);
          const out = path.join(work, 'auto-runs', `${set}-k${k}-s${seed}`);
          await fsp.rm(out, { recursive: true, force: true });
          const res = await auto(task.train, { out, unlabeled: task.pool!, seed, callbacks: [{ onStage: (s) => log(`${set} k=${k} seed ${seed}: ${s}`) }] });
          const rows: StageRow[] = [];
          for (const r of res.rows) {
            const test = (await evaluateModel(r.dir, task.test, { cache: false })).accuracy;
            rows.push({ id: r.id, stage: r.stage, estimate: r.accuracy, spread: r.spread, kept: r.kept, test, seconds: r.seconds });
          }
          const test = (await evaluateModel(out, task.test, { cache: false })).accuracy;
          const line: TaskResult = {
            set,
            k,
            seed,
            rows,
            skipped: res.skipped.map((s) => s.why),
            best: res.best,
            estimate: res.accuracy,
            test,
            seconds: res.seconds,
          };
          log(
            `${set} k=${k} seed ${seed}: kept ${res.best}, estimate ${(res.accuracy * 100).toFixed(1)}%, test ${(test * 100).toFixed(1)}%, ${res.seconds.toFixed(0)} s`,
          );
          await fsp.appendFile(file, JSON.stringify(line) + '\n');
        }
      }
    }
  }
  const all = await readJsonLines<TaskResult>(file);
  console.log(`frugal auto on real photos: built-in trunk, defaults, pool = rest of the training split; backend ${info.name}, 2-core machine`);
  for (const set of sets) {
    console.log(`\n${set}: per stage (means over seeds; estimate = auto's own, test = the published split)`);
    console.log('| k/class | stage | estimate % (± sd over folds) | test % | kept (seeds) | wall s (mean) |');
    console.log('|---|---|---|---|---|---|');
    for (const k of ks) {
      const runs = all.filter((r) => r.set === set && r.k === k && seeds.includes(r.seed));
      if (runs.length === 0) continue;
      const stages = [...new Set(runs.flatMap((r) => r.rows.map((x) => x.stage)))];
      for (const stage of stages) {
        const rs = runs.flatMap((r) => r.rows.filter((x) => x.stage === stage));
        console.log(
          `| ${k} | ${stage} | ${pct(mean(rs.map((x) => x.estimate)))} (± ${pct(mean(rs.map((x) => x.spread)))}) | ${pct(mean(rs.map((x) => x.test)))} | ${rs.filter((x) => x.kept).length}/${rs.length} | ${mean(rs.map((x) => x.seconds)).toFixed(0)} |`,
        );
      }
    }
    console.log(`\n${set}: auto's kept model against its first stage (frozen built-in trunk + new head) on the test split`);
    console.log(
      '| k/class | frozen test % | auto test % | gain (pts, mean) | worst seed (pts) | auto estimate % | estimate − test (pts) | kept (per seed) | wall s (mean) |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const k of ks) {
      const runs = all.filter((r) => r.set === set && r.k === k && seeds.includes(r.seed));
      if (runs.length === 0) continue;
      const frozen = runs.map((r) => r.rows.find((x) => x.id === 'frozen')!.test);
      const gains = runs.map((r, i) => r.test - frozen[i]!);
      console.log(
        `| ${k} | ${pct(mean(frozen))} | ${pct(mean(runs.map((r) => r.test)))} | ${pts(mean(gains))} | ${pts(Math.min(...gains))} | ${pct(mean(runs.map((r) => r.estimate)))} | ${pts(mean(runs.map((r) => r.estimate - r.test)))} | ${runs.map((r) => r.best).join('; ')} | ${mean(runs.map((r) => r.seconds)).toFixed(0)} |`,
      );
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
