/**
 * bench/photos: transfer from the built-in ImageNet trunk against training from scratch, on real photos
 * (`../shared/data/photos`: hymenoptera train → val, flowers12 train → test), with k labels per class drawn
 * from the training split (the rest of it is the unlabeled pool for Noisy Student). Each row runs in its own
 * process (bench/photos/row.ts) so that its peak RSS is its own; results are appended to
 * `<work>/results.jsonl`, and rows already there are not run again (`--fresh` to redo them).
 *
 *   npm run build && node dist/bench/photos/run.js [--work /tmp/frugal-photos] [--sets hymenoptera,flowers12]
 *     [--ks 5,10,20,all] [--seeds 0,1,2] [--methods scratch,frozen,cut-auto,finetune,augment,noisy-student,noisy-student-images]
 *     [--heavy-seeds 0]   # seeds for the augment and noisy-student-images rows (each takes minutes)
 *     [--table-only]      # print the table from results.jsonl
 */
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { arg, fmt, median } from '../lib/scarce-fmnist.js';
import { PHOTO_SETS, METHODS, METHOD_LABELS, readJsonLines, type Method } from '../lib/photos.js';

interface Result {
  set: string;
  k: string;
  seed: number;
  method: Method;
  accuracy: number;
  testImages: number;
  seconds: number;
  maxRssMB: number;
  detail: string;
}

const HEAVY: Method[] = ['augment', 'noisy-student-images'];

async function main(): Promise<void> {
  const work = arg('work', '/tmp/frugal-photos');
  const sets = arg('sets', 'hymenoptera,flowers12').split(',');
  const ks = arg('ks', '5,10,20,all').split(',');
  const seeds = arg('seeds', '0,1,2').split(',').map(Number);
  const heavySeeds = arg('heavy-seeds', '0').split(',').map(Number);
  const methods = arg('methods', METHODS.join(',')).split(',') as Method[];
  const file = path.join(work, 'results.jsonl');
  await fsp.mkdir(work, { recursive: true });
  if (process.argv.includes('--fresh')) await fsp.rm(file, { force: true });
  const row = path.join(path.dirname(fileURLToPath(import.meta.url)), 'row.js');
  if (!process.argv.includes('--table-only')) {
    for (const set of sets) {
      for (const k of ks) {
        for (const method of methods) {
          if (k === 'all' && method.startsWith('noisy-student')) continue; // no pool left
          for (const seed of HEAVY.includes(method) ? heavySeeds : seeds) {
            const done = await readJsonLines<Result>(file);
            if (done.some((r) => r.set === set && r.k === k && r.seed === seed && r.method === method)) continue;
            process.stderr.write(`${set} k=${k} seed ${seed} ${method}... `);
            const res = spawnSync(process.execPath, [row, '--work', work, '--set', set, '--k', k, '--seed', String(seed), '--method', method], {
              encoding: 'utf8',
              maxBuffer: 1 << 28,
            });
            const line = res.stdout.trim().split('\n').pop() ?? '';
            if (res.status !== 0 || !line.startsWith('{')) {
              process.stderr.write(`FAILED (exit ${res.status})\n${res.stderr.slice(-2000)}\n`);
              continue;
            }
            const r = JSON.parse(line) as Result;
            process.stderr.write(`${(r.accuracy * 100).toFixed(1)}% in ${r.seconds.toFixed(0)} s, peak RSS ${r.maxRssMB.toFixed(0)} MB ${r.detail}\n`);
            await fsp.appendFile(file, line + '\n');
          }
        }
      }
    }
  }
  const results = await readJsonLines<Result>(file);
  for (const set of sets) {
    const rows = results.filter((r) => r.set === set);
    if (rows.length === 0) continue;
    const test = PHOTO_SETS[set]!.test;
    console.log(
      `\n${set}: test accuracy on the published ${test} split (${rows[0]!.testImages} images), k labels per class from train; built-in trunk ${'mobilenetv2-0.35-imagenet'} at 224 px; backend wasm, 2-core machine`,
    );
    console.log('| k/class | method | test accuracy (mean ± std) | seeds | wall s (median) | peak RSS MB (max) |');
    console.log('|---|---|---|---|---|---|');
    for (const k of ks) {
      for (const method of METHODS) {
        const rs = rows.filter((r) => r.k === k && r.method === method);
        if (rs.length === 0) continue;
        console.log(
          `| ${k} | ${METHOD_LABELS[method]} | ${fmt(rs.map((r) => r.accuracy))} | ${rs.map((r) => r.seed).join(',')} | ${median(rs.map((r) => r.seconds)).toFixed(0)} | ${Math.max(...rs.map((r) => r.maxRssMB)).toFixed(0)} |`,
        );
      }
    }
    console.log(`Published reference: ${PHOTO_SETS[set]!.reference}.`);
    const details = rows.filter((r) => r.detail);
    if (details.length) {
      console.log('\nDetails:');
      for (const r of details) console.log(`  ${set} k=${r.k} seed ${r.seed} ${r.method}: ${(r.accuracy * 100).toFixed(1)}%; ${r.detail}`);
    }
  }
}

await main();
