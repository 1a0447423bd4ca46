/**
 * Engine benchmark: inference and training images/s of the two reference nets
 * on Frugal's backend vs PyTorch CPU (same nets, same batch, one thread),
 * pinned to one core with taskset, interleaved repeats, medians.
 *
 *   node dist/bench/engine/run.js [--nets M,R] [--repeats 3] [--iters 5] [--warmup 3] [--cpu 0]
 *        [--backend auto|wasm|cpu|tensorflow] [--no-torch] [--two-cores] [--json]
 *   node dist/bench/engine/run.js --profile [--nets M,R]   per-kernel times of a training step
 *
 * Each measurement runs in a fresh child process (ours: this script with
 * --child; torch: bench/engine/torch_nets.py under /usr/bin/python3) so both
 * sides pay the same way and start-up is excluded from the timings.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendPreference } from '../../src/engine/backend.js';
import { NETS, makeBatch, makeTrainStep } from './nets.js';
import { profileStep } from './profile.js';

type Mode = 'infer' | 'train';
interface Measure {
  net: string;
  mode: Mode;
  batch: number;
  img_per_s: number;
  median_s: number;
  backend?: string;
  threads?: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
// dist/bench/engine -> repo root
const root = path.resolve(here, '..', '..', '..');
const torchScript = path.join(root, 'bench', 'engine', 'torch_nets.py');
const PYTHON = '/usr/bin/python3';

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  return v === undefined || v.startsWith('--') ? 'true' : v;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---------------------------------------------------------------------------
// Child: one measurement in this process.

async function child(): Promise<void> {
  const net = NETS[(arg('net') ?? 'M') as 'M' | 'R'];
  const mode = (arg('mode') ?? 'train') as Mode;
  const iters = Number(arg('iters', '5'));
  const warmup = Number(arg('warmup', '3'));
  const batch = Number(arg('batch', String(net.batch)));
  const info = await initBackend((arg('backend') ?? 'auto') as BackendPreference);
  const model = net.build(net.size);
  const { x, y } = makeBatch(batch, net.size);
  let step: () => void;
  if (mode === 'train') {
    const train = makeTrainStep(model);
    step = () => train(x, y);
  } else {
    step = () => {
      const out = tf.tidy(() => model.apply(x, { training: false }) as tf.Tensor);
      out.dataSync();
      out.dispose();
    };
  }
  for (let i = 0; i < warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    step();
    times.push((performance.now() - t0) / 1000);
  }
  const med = median(times);
  const m: Measure = { net: net.name, mode, batch, img_per_s: batch / med, median_s: med, backend: info.name, threads: info.threads };
  process.stdout.write(JSON.stringify({ ...m, times_s: times, numTensors: tf.memory().numTensors }) + '\n');
}

// ---------------------------------------------------------------------------
// Parent: orchestrate children.

function runChild(cmd: string, args: string[], cpu: string): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const p = spawn('taskset', ['-c', cpu, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line) as Measure);
    });
  });
}

function ours(net: string, mode: Mode, o: { iters: number; warmup: number; backend: string; batch?: number }, cpu = '0') {
  const a = [
    fileURLToPath(import.meta.url),
    '--child',
    '--net',
    net,
    '--mode',
    mode,
    '--iters',
    String(o.iters),
    '--warmup',
    String(o.warmup),
    '--backend',
    o.backend,
  ];
  if (o.batch) a.push('--batch', String(o.batch));
  return runChild(process.execPath, a, cpu);
}

function torch(net: string, mode: Mode, o: { iters: number; warmup: number; batch?: number }, cpu = '0') {
  const a = [torchScript, '--net', net, '--mode', mode, '--iters', String(o.iters), '--warmup', String(o.warmup), '--threads', '1'];
  if (o.batch) a.push('--batch', String(o.batch));
  return runChild(PYTHON, a, cpu);
}

function torchAvailable(): boolean {
  return existsSync(PYTHON) && existsSync('/usr/lib/python3/dist-packages/torch');
}

async function parent(): Promise<void> {
  const nets = (arg('nets') ?? 'M,R').split(',') as Array<'M' | 'R'>;
  const repeats = Number(arg('repeats', '3'));
  const o = { iters: Number(arg('iters', '5')), warmup: Number(arg('warmup', '3')), backend: arg('backend') ?? 'auto' };
  const withTorch = !flag('no-torch') && torchAvailable();
  const cpu = arg('cpu', '0')!;
  if (!flag('no-torch') && !withTorch) console.error('PyTorch not found at /usr/lib/python3/dist-packages/torch; skipping the torch side');
  const modes: Mode[] = ['infer', 'train'];
  const res = new Map<string, { ours: number[]; torch: number[]; backend?: string; threads?: number; batch: number }>();
  for (let r = 0; r < repeats; r++) {
    for (const net of nets) {
      for (const mode of modes) {
        const key = `${net}/${mode}`;
        const e = res.get(key) ?? { ours: [], torch: [], batch: NETS[net].batch };
        const a = await ours(net, mode, o, cpu);
        e.ours.push(a.img_per_s);
        e.backend = a.backend;
        e.threads = a.threads;
        if (withTorch) e.torch.push((await torch(net, mode, o, cpu)).img_per_s);
        res.set(key, e);
        console.error(
          `[rep ${r + 1}/${repeats}] ${key}: ours ${a.img_per_s.toFixed(1)} img/s` +
            (withTorch ? `, torch ${e.torch[e.torch.length - 1]!.toFixed(1)} img/s` : ''),
        );
      }
    }
  }
  // Optional: two cores = two worker processes, each training half the batch on its own core.
  const two = new Map<string, { ours: number; torch?: number }>();
  if (flag('two-cores')) {
    for (const net of nets) {
      const half = NETS[net].batch / 2;
      const runs: number[] = [];
      const truns: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const [a, b] = await Promise.all([ours(net, 'train', { ...o, batch: half }, '0'), ours(net, 'train', { ...o, batch: half }, '1')]);
        // Both halves step in lock-step (gradient averaging not included): throughput = sum.
        runs.push(a.img_per_s + b.img_per_s);
        if (withTorch) {
          const t = await runChild(
            PYTHON,
            [torchScript, '--net', net, '--mode', 'train', '--iters', String(o.iters), '--warmup', String(o.warmup), '--threads', '2'],
            '0,1',
          );
          truns.push(t.img_per_s);
        }
      }
      two.set(net, { ours: median(runs), torch: withTorch ? median(truns) : undefined });
    }
  }

  const rows = [...res.entries()].map(([key, e]) => {
    const [net, mode] = key.split('/');
    const our = median(e.ours);
    const t = e.torch.length ? median(e.torch) : NaN;
    return {
      net,
      mode,
      batch: e.batch,
      backend: e.backend,
      threads: e.threads,
      ours_img_s: our,
      torch_img_s: t,
      ratio: our / t,
      ours_all: e.ours,
      torch_all: e.torch,
    };
  });
  if (flag('json')) {
    process.stdout.write(JSON.stringify({ rows, twoCores: Object.fromEntries(two) }) + '\n');
    return;
  }
  const pad = (s: string, n: number) => s.padStart(n);
  console.log(`net  mode   batch  backend(threads)   ours img/s   torch img/s   ours/torch`);
  for (const r of rows) {
    const torch = pad(isNaN(r.torch_img_s) ? '-' : r.torch_img_s.toFixed(1), 11);
    const ratio = pad(isNaN(r.ratio) ? '-' : r.ratio.toFixed(3), 10);
    const backend = `${r.backend}(${r.threads})`.padEnd(17);
    console.log(`${r.net!.padEnd(4)} ${r.mode!.padEnd(6)} ${pad(String(r.batch), 5)}  ${backend} ${pad(r.ours_img_s.toFixed(1), 11)}   ${torch}   ${ratio}`);
  }
  for (const [net, v] of two) {
    console.log(
      `2 cores, ${net} train: ours ${v.ours.toFixed(1)} img/s (2 processes x half batch, no gradient exchange)` +
        (v.torch !== undefined ? `, torch ${v.torch.toFixed(1)} img/s (2 threads), ratio ${(v.ours / v.torch).toFixed(3)}` : ''),
    );
  }
  console.log(
    `(medians of ${repeats} interleaved repeats x ${o.iters} timed steps after ${o.warmup} warm-up; ` +
      `both sides pinned with taskset -c ${cpu}, torch.set_num_threads(1))`,
  );
}

// ---------------------------------------------------------------------------
async function profile(): Promise<void> {
  const nets = (arg('nets') ?? 'M,R').split(',') as Array<'M' | 'R'>;
  const top = Number(arg('top', '15'));
  const info = await initBackend((arg('backend') ?? 'auto') as BackendPreference);
  for (const n of nets) {
    const net = NETS[n];
    const model = net.build(net.size);
    const { x, y } = makeBatch(net.batch, net.size);
    const train = makeTrainStep(model);
    for (let i = 0; i < 3; i++) train(x, y);
    const t0 = performance.now();
    train(x, y);
    const plain = performance.now() - t0;
    const p = await profileStep(() => train(x, y));
    console.log(
      `\nNet ${n} training step on ${info.name}: ${plain.toFixed(0)} ms unprofiled, ` +
        `${p.totalMs.toFixed(0)} ms in kernels (profiled wall ${p.wallMs.toFixed(0)} ms)`,
    );
    console.log(`  ${'kernel'.padEnd(44)} ${'calls'.padStart(5)} ${'self ms'.padStart(9)}  share`);
    for (const r of p.rows.slice(0, top)) {
      console.log(`  ${r.name.padEnd(44)} ${String(r.calls).padStart(5)} ${r.selfMs.toFixed(1).padStart(9)}  ${(r.share * 100).toFixed(1).padStart(5)}%`);
    }
    tf.dispose([x, y]);
    model.dispose();
  }
}

if (flag('child')) await child();
else if (flag('profile')) await profile();
else await parent();
