/**
 * Distillation on Scarce-FMNIST's target classes: a teacher, and a student with at most a quarter of
 * its parameters trained plainly vs distilled (labels + the unlabeled pool). Test accuracy, size, latency.
 *
 *   npm run build && node dist/bench/distill/run.js [--k 100] [--seeds 0,1,2] [--teacher-arch cnn-small] [--student-arch cnn-tiny]
 */
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { initBackend } from '../../src/engine/backend.js';
import { trainFromScratch } from '../../src/recipes/scratch.js';
import { distill } from '../../src/recipes/distill.js';
import { evaluateModel } from '../../src/evaluate/evaluate.js';
import { loadPredictor } from '../../src/evaluate/predictor.js';
import { modelSizeOnDisk, latencyPerImage } from '../../src/evaluate/footprint.js';
import { openDataset } from '../../src/data/sources.js';
import { decodeAll } from '../../src/data/loader.js';
import { scarceFmnist, poolSubset, fmt, median, arg } from '../lib/scarce-fmnist.js';

async function main(): Promise<void> {
  const work = arg('work', path.join(tmpdir(), 'scarce-fmnist'));
  const k = Number(arg('k', '100'));
  const seeds = arg('seeds', '0,1,2').split(',').map(Number);
  const teacherArch = arg('teacher-arch', 'cnn-small');
  const studentArch = arg('student-arch', 'cnn-tiny');
  const poolSize = Number(arg('pool', '3000'));
  const epochs = Number(arg('epochs', '15'));
  const info = await initBackend();
  type Row = { acc: number[]; params: number[]; bytes: number[]; ms: number[] };
  const rows: Record<string, Row> = {};
  const add = (name: string, acc: number, params: number, bytes: number, ms: number) => {
    rows[name] ??= { acc: [], params: [], bytes: [], ms: [] };
    rows[name]!.acc.push(acc);
    rows[name]!.params.push(params);
    rows[name]!.bytes.push(bytes);
    rows[name]!.ms.push(ms);
  };
  for (const seed of seeds) {
    const task = await scarceFmnist(work, k, seed);
    const { dir: subset } = await poolSubset(task, poolSize, seed, 'distill-pool');
    const dir = (name: string) => path.join(work, 'runs', `distill-k${k}-s${seed}-${name}`);
    const testSet = await openDataset(task.test);
    const measure = async (name: string, modelDir: string) => {
      const acc = (await evaluateModel(modelDir, task.test, { cache: false })).accuracy;
      const p = await loadPredictor(modelDir);
      const px = await decodeAll(testSet.samples.slice(0, 20), { spec: p.spec, cache: false });
      const ms = await latencyPerImage(p, px.pixels, px.count, 50);
      add(name, acc, p.meta.params ?? 0, await modelSizeOnDisk(modelDir), ms);
      p.dispose();
    };
    await trainFromScratch(task.train, { out: dir('teacher'), arch: teacherArch, hyper: { epochs, seed } });
    await measure(`teacher (${teacherArch})`, dir('teacher'));
    await trainFromScratch(task.train, { out: dir('plain'), arch: studentArch, hyper: { epochs, seed } });
    await measure(`student ${studentArch}, plain`, dir('plain'));
    await distill(task.train, {
      out: dir('distilled'),
      teacher: dir('teacher'),
      student: { kind: 'arch', arch: studentArch },
      unlabeled: subset,
      hyper: { epochs, seed },
    });
    await measure(`student ${studentArch}, distilled`, dir('distilled'));
    process.stderr.write(
      `seed ${seed}: ${Object.entries(rows)
        .map(([n, r]) => `${n} ${r.acc.at(-1)!.toFixed(3)}`)
        .join(', ')}\n`,
    );
  }
  console.log(
    `Distillation on Scarce-FMNIST target classes: k=${k}/class labeled + ${poolSize} unlabeled (distilled student only), T=4, α=0.9, ` +
      `${epochs} epochs, seeds ${seeds.join(',')}; backend ${info.name}`,
  );
  console.log('| model | test accuracy % (mean ± std) | parameters | size on disk (KiB) | latency per image, batch 1 (ms, median) |');
  console.log('|---|---|---|---|---|');
  for (const [name, r] of Object.entries(rows)) {
    console.log(`| ${name} | ${fmt(r.acc)} | ${r.params[0]!.toLocaleString('en-US')} | ${(r.bytes[0]! / 1024).toFixed(0)} | ${median(r.ms).toFixed(2)} |`);
  }
}

await main();
