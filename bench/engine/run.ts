/**
 * Engine benchmark: inference and training images/s of the two reference nets
 * on Frugal's backend vs PyTorch CPU (same nets, same batch, one thread),
 * pinned to one core with taskset, interleaved repeats, medians.
 *
 *   node dist/bench/engine/run.js [--nets M,R] [--repeats 3] [--iters 5] [--warmup 3] [--cpu 0]
 *        [--backend auto|wasm|cpu|tensorflow] [--no-torch] [--two-cores] [--json]
 *   node dist/bench/engine/run.js --nets V [--repeats 3] ...   net V (below), with its 2-core and ONNX Runtime rows
 *   taskset -c 0 node dist/bench/engine/run.js --profile [--nets M,R,V] [--batch N] [--top 15]
 *        per-kernel times of a training step (one process; pin it yourself)
 *
 * Net V (only when asked: a repeat takes minutes) is the built-in trunk, MobileNetV2-0.35 at 224×224×3 with a
 * new 10-class head, every layer trainable (bench/engine/net-v.ts), against torchvision's
 * mobilenet_v2(width_mult=0.35, num_classes=10), batch 32. Besides its 1-core infer/train rows it measures, in the
 * same interleaved repeats: forward passes on ONNX Runtime (the classifier converted by layersToOnnx, raw uint8
 * pixels in as Frugal runs it, 1 intra-op thread on core 0 / 2 threads on cores 0,1) against torch's forward;
 * and 2 cores: ours = two processes, one per core, each on half the batch (throughputs summed; no gradient
 * exchange, so an upper bound for data-parallel training), torch = one process, 2 threads, the whole batch, and
 * torch the way ours does it (two 1-thread processes, half the batch each). The 1-core rows also give images per
 * second of the measured process's own CPU time, which other work sharing the core does not change (on a busy
 * machine wall-clock figures move by 2-3x between repeats; the CPU-time ratio is the like-for-like one).
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
import type * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, type BackendPreference } from '../../src/engine/backend.js';
import { createSession, ort } from '../../src/engine/onnx-runtime.js';
import { layersToOnnx } from '../../src/models/onnx/convert.js';
import type { Preprocessing } from '../../src/models/preprocess.js';
import { NETS, makeBatch, makeTrainStep } from './nets.js';
import { NET_V, buildNetV } from './net-v.js';
import { profileStep } from './profile.js';

type Mode = 'infer' | 'train';
type NetName = 'M' | 'R' | 'V';
/** Input size and batch of each net. */
const SPECS: Record<NetName, { size: number; batch: number }> = { M: NETS.M, R: NETS.R, V: NET_V };

/** A net's model (image → logits), and for V the classifier Frugal would convert to ONNX with its preprocessing. */
async function buildNet(name: NetName): Promise<{ model: tfl.LayersModel; classifier: tfl.LayersModel; pixels?: Preprocessing }> {
  if (name === 'V') {
    const v = await buildNetV();
    return { model: v.logits, classifier: v.classifier, pixels: v.preprocessing };
  }
  const model = NETS[name].build(NETS[name].size);
  return { model, classifier: model };
}

function parseNets(def: string): NetName[] {
  const nets = (arg('nets') ?? def).split(',').map((n) => n.trim().toUpperCase());
  for (const n of nets) if (!(n in SPECS)) throw new Error(`--nets: unknown net "${n}" (known: M, R, V)`);
  return nets as NetName[];
}
interface Measure {
  net: string;
  mode: Mode;
  batch: number;
  img_per_s: number;
  median_s: number;
  backend?: string;
  threads?: number;
  /** Images per second of this process's CPU time (all its threads, user + system): median over the timed steps. */
  img_per_cpu_s?: number;
}

/** CPU seconds this process has used (all threads, user + system). */
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

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
  const name = (arg('net') ?? 'M') as NetName;
  const net = SPECS[name];
  const mode = (arg('mode') ?? 'train') as Mode;
  const iters = Number(arg('iters', '5'));
  const warmup = Number(arg('warmup', '3'));
  const batch = Number(arg('batch', String(net.batch)));
  const info = await initBackend((arg('backend') ?? 'auto') as BackendPreference);
  const { model, classifier, pixels } = await buildNet(name);
  if (arg('engine') === 'onnx') return onnxChild(name, classifier, pixels, { batch, iters, warmup, threads: Number(arg('threads', '1')) });
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
  const cpu: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    const c0 = cpuSeconds();
    step();
    cpu.push(cpuSeconds() - c0);
    times.push((performance.now() - t0) / 1000);
  }
  const med = median(times);
  const m: Measure = {
    net: name,
    mode,
    batch,
    img_per_s: batch / med,
    median_s: med,
    backend: info.name,
    threads: info.threads,
    img_per_cpu_s: batch / median(cpu),
  };
  process.stdout.write(JSON.stringify({ ...m, times_s: times, cpu_s: cpu, numTensors: tf.memory().numTensors }) + '\n');
}

/**
 * Forward passes on ONNX Runtime: the model converted by layersToOnnx and run by an ORT session with `threads`
 * intra-op threads (Frugal's session settings otherwise). With `pixels`, raw uint8 NHWC pixels go in and are
 * normalised inside the graph, as Frugal's own forward passes run (models/onnx/forward.ts); else float inputs.
 */
async function onnxChild(
  name: NetName,
  model: tfl.LayersModel,
  pixels: Preprocessing | undefined,
  o: { batch: number; iters: number; warmup: number; threads: number },
): Promise<void> {
  const size = SPECS[name].size;
  const session = await createSession(layersToOnnx(model, { pixels, inputName: 'pixels' }), o.threads);
  const shape = [o.batch, size, size, 3];
  let input: ort.Tensor;
  if (pixels) {
    const bytes = new Uint8Array(o.batch * size * size * 3);
    let s = 7;
    for (let i = 0; i < bytes.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      bytes[i] = s >>> 24;
    }
    input = new ort.Tensor('uint8', bytes, shape);
  } else {
    const { x, y } = makeBatch(o.batch, size);
    input = new ort.Tensor('float32', x.dataSync() as Float32Array, shape);
    tf.dispose([x, y]);
  }
  const step = async () => {
    const result = await session.run({ pixels: input });
    for (const t of Object.values(result)) t.dispose();
  };
  for (let i = 0; i < o.warmup; i++) await step();
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < o.iters; i++) {
    const t0 = performance.now();
    const c0 = cpuSeconds();
    await step();
    cpu.push(cpuSeconds() - c0);
    times.push((performance.now() - t0) / 1000);
  }
  await session.release();
  const med = median(times);
  const m: Measure = {
    net: name,
    mode: 'infer',
    batch: o.batch,
    img_per_s: o.batch / med,
    median_s: med,
    backend: 'onnxruntime',
    threads: o.threads,
    img_per_cpu_s: o.batch / median(cpu),
  };
  process.stdout.write(JSON.stringify({ ...m, times_s: times, cpu_s: cpu }) + '\n');
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

function ours(
  net: string,
  mode: Mode,
  o: { iters: number; warmup: number; backend: string; batch?: number; engine?: 'tfjs' | 'onnx'; threads?: number },
  cpu = '0',
) {
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
  if (o.engine === 'onnx') a.push('--engine', 'onnx', '--threads', String(o.threads ?? 1));
  return runChild(process.execPath, a, cpu);
}

function torch(net: string, mode: Mode, o: { iters: number; warmup: number; batch?: number }, cpu = '0', threads = 1) {
  const a = [torchScript, '--net', net, '--mode', mode, '--iters', String(o.iters), '--warmup', String(o.warmup), '--threads', String(threads)];
  if (o.batch) a.push('--batch', String(o.batch));
  return runChild(PYTHON, a, cpu);
}

function torchAvailable(): boolean {
  return existsSync(PYTHON) && existsSync('/usr/lib/python3/dist-packages/torch');
}

/** Net V's rows: one core of TF.js (as for M and R), ONNX Runtime forward passes, and two cores. */
const V_ROWS: Array<{ key: string; cores: 1 | 2; mode: Mode; ours: string }> = [
  { key: 'tfjs1/infer', cores: 1, mode: 'infer', ours: 'TF.js wasm, 1 process' },
  { key: 'tfjs1/train', cores: 1, mode: 'train', ours: 'TF.js wasm, 1 process' },
  { key: 'ort1/infer', cores: 1, mode: 'infer', ours: 'ONNX Runtime, 1 intra-op thread' },
  { key: 'tfjs2/infer', cores: 2, mode: 'infer', ours: 'TF.js wasm, 2 processes x half batch' },
  { key: 'tfjs2/train', cores: 2, mode: 'train', ours: 'TF.js wasm, 2 processes x half batch*' },
  { key: 'ort2/infer', cores: 2, mode: 'infer', ours: 'ONNX Runtime, 2 intra-op threads' },
];

async function parent(): Promise<void> {
  const nets = parseNets('M,R');
  const repeats = Number(arg('repeats', '3'));
  const o = { iters: Number(arg('iters', '5')), warmup: Number(arg('warmup', '3')), backend: arg('backend') ?? 'auto' };
  const withTorch = !flag('no-torch') && torchAvailable();
  const cpu = arg('cpu', '0')!;
  if (!flag('no-torch') && !withTorch) console.error('PyTorch not found at /usr/lib/python3/dist-packages/torch; skipping the torch side');
  const modes: Mode[] = ['infer', 'train'];
  const res = new Map<string, { ours: number[]; torch: number[]; backend?: string; threads?: number; batch: number }>();
  // Net V: our side per row key; torch per `<cores>/<mode>` (1 thread on `cpu`, 2 threads on cores 0,1).
  // On one core also per CPU second of the measured process, which other work on the same core does not change.
  const vOurs = new Map<string, number[]>();
  const vTorch = new Map<string, number[]>();
  const vOursCpu = new Map<string, number[]>();
  const vTorchCpu = new Map<string, number[]>();
  const vTorch2p = new Map<string, number[]>(); // per mode: torch as two 1-thread processes, half the batch each
  const push = (m: Map<string, number[]>, key: string, v: number) => m.set(key, [...(m.get(key) ?? []), v]);
  const log = (r: number, what: string, our: number, t?: number) =>
    console.error(`[rep ${r + 1}/${repeats}] ${what}: ours ${our.toFixed(1)} img/s` + (t !== undefined ? `, torch ${t.toFixed(1)} img/s` : ''));
  for (let r = 0; r < repeats; r++) {
    for (const net of nets) {
      for (const mode of modes) {
        const key = `${net}/${mode}`;
        const e = res.get(key) ?? { ours: [], torch: [], batch: SPECS[net].batch };
        const a = await ours(net, mode, o, cpu);
        e.ours.push(a.img_per_s);
        e.backend = a.backend;
        e.threads = a.threads;
        const tm = withTorch ? await torch(net, mode, o, cpu) : undefined;
        if (tm) e.torch.push(tm.img_per_s);
        res.set(key, e);
        console.error(
          `[rep ${r + 1}/${repeats}] ${key}: ours ${a.img_per_s.toFixed(1)} img/s` +
            (withTorch ? `, torch ${e.torch[e.torch.length - 1]!.toFixed(1)} img/s` : ''),
        );
        if (net !== 'V') continue;
        // Net V's other rows, in the same repeat: ONNX Runtime, then two cores.
        push(vOurs, `tfjs1/${mode}`, a.img_per_s);
        push(vOursCpu, `tfjs1/${mode}`, a.img_per_cpu_s ?? NaN);
        if (tm) {
          push(vTorch, `1/${mode}`, tm.img_per_s);
          push(vTorchCpu, `1/${mode}`, tm.img_per_cpu_s ?? NaN);
        }
        if (mode === 'infer') {
          const ort1 = await ours(net, mode, { ...o, engine: 'onnx', threads: 1 }, cpu);
          push(vOurs, 'ort1/infer', ort1.img_per_s);
          push(vOursCpu, 'ort1/infer', ort1.img_per_cpu_s ?? NaN);
          log(r, 'V/infer ONNX Runtime 1 thread', ort1.img_per_s);
        }
        const half = { ...o, batch: SPECS.V.batch / 2 };
        const [h0, h1] = await Promise.all([ours(net, mode, half, '0'), ours(net, mode, half, '1')]);
        push(vOurs, `tfjs2/${mode}`, h0.img_per_s + h1.img_per_s);
        let t2: number | undefined;
        if (withTorch) {
          t2 = (await torch(net, mode, o, '0,1', 2)).img_per_s;
          push(vTorch, `2/${mode}`, t2);
        }
        log(r, `V/${mode} 2 cores (2 processes x ${half.batch} / torch 2 threads)`, h0.img_per_s + h1.img_per_s, t2);
        if (withTorch) {
          // Torch the way ours uses two cores: two 1-thread processes, half the batch each, summed.
          const [p0, p1] = await Promise.all([torch(net, mode, half, '0'), torch(net, mode, half, '1')]);
          push(vTorch2p, mode, p0.img_per_s + p1.img_per_s);
          console.error(`[rep ${r + 1}/${repeats}] V/${mode} 2 cores, torch 2 processes x ${half.batch}: ${(p0.img_per_s + p1.img_per_s).toFixed(1)} img/s`);
        }
        if (mode === 'infer') {
          const ort2 = await ours(net, mode, { ...o, engine: 'onnx', threads: 2 }, '0,1');
          push(vOurs, 'ort2/infer', ort2.img_per_s);
          log(r, 'V/infer ONNX Runtime 2 threads', ort2.img_per_s);
        }
      }
    }
  }
  // Optional: two cores = two worker processes, each training half the batch on its own core.
  const two = new Map<string, { ours: number; torch?: number }>();
  if (flag('two-cores')) {
    for (const net of nets) {
      if (net === 'V') continue; // net V measures its 2-core rows in the main loop
      const half = SPECS[net].batch / 2;
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
  const vRows = nets.includes('V')
    ? V_ROWS.map((row) => {
        const our = vOurs.get(row.key) ?? [];
        const t = vTorch.get(`${row.cores}/${row.mode}`) ?? [];
        const oCpu = vOursCpu.get(row.key) ?? [];
        const tCpu = vTorchCpu.get(`${row.cores}/${row.mode}`) ?? [];
        const med = (xs: number[]) => (xs.length ? median(xs) : NaN);
        return {
          ...row,
          batch: SPECS.V.batch,
          ours_img_s: med(our),
          torch_img_s: med(t),
          ratio: med(our) / med(t),
          ours_img_cpu_s: med(oCpu),
          torch_img_cpu_s: med(tCpu),
          ratio_cpu: med(oCpu) / med(tCpu),
          ours_all: our,
          torch_all: t,
          ours_cpu_all: oCpu,
          torch_cpu_all: tCpu,
        };
      })
    : [];
  if (flag('json')) {
    process.stdout.write(JSON.stringify({ rows, twoCores: Object.fromEntries(two), netV: vRows, netVTorchTwoProcesses: Object.fromEntries(vTorch2p) }) + '\n');
    return;
  }
  const pad = (s: string, n: number) => s.padStart(n);
  const num = (v: number, digits: number, width: number) => pad(isNaN(v) ? '-' : v.toFixed(digits), width);
  if (rows.some((r) => r.net !== 'V')) console.log(`net  mode   batch  backend(threads)   ours img/s   torch img/s   ours/torch`);
  for (const r of rows) {
    if (r.net === 'V') continue; // in net V's own table below
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
  if (rows.some((r) => r.net !== 'V')) {
    console.log(
      `(medians of ${repeats} interleaved repeats x ${o.iters} timed steps after ${o.warmup} warm-up; ` +
        `both sides pinned with taskset -c ${cpu}, torch.set_num_threads(1))`,
    );
  }
  if (vRows.length) {
    if (rows.some((r) => r.net !== 'V')) console.log('');
    const backend = res.get('V/infer');
    console.log(
      `Net V: built-in trunk (MobileNetV2-0.35, ImageNet weights, every layer trainable) + new 10-class head, 224x224x3, ` +
        `batch ${SPECS.V.batch}; torch: torchvision mobilenet_v2(width_mult=0.35, num_classes=10); TF.js backend ${backend?.backend}(${backend?.threads})`,
    );
    console.log(
      `cores  mode   ours                                    ours img/s   torch img/s   ours/torch   ours img/CPU-s   torch img/CPU-s   ours/torch (CPU time)`,
    );
    for (const r of vRows) {
      console.log(
        `${pad(String(r.cores), 5)}  ${r.mode.padEnd(6)} ${r.ours.padEnd(39)} ${num(r.ours_img_s, 1, 10)}   ${num(r.torch_img_s, 1, 11)}   ${num(r.ratio, 3, 10)}` +
          `   ${num(r.ours_img_cpu_s, 1, 14)}   ${num(r.torch_img_cpu_s, 1, 15)}   ${num(r.ratio_cpu, 3, 21)}`,
      );
    }
    console.log(
      `(1 core: both sides pinned with taskset -c ${cpu}, torch 1 thread. 2 cores: torch one process, 2 threads, taskset -c 0,1, ` +
        `the whole batch; ours TF.js = two processes pinned to cores 0 and 1, ${SPECS.V.batch / 2} images each, throughputs summed; ` +
        `ONNX Runtime one process, taskset -c 0,1. *No gradient exchange between the two processes: an upper bound for ` +
        `data-parallel training, which Frugal does not do. ONNX Runtime runs the classifier (softmax included) on raw uint8 pixels, ` +
        `normalised in the graph. Medians of ${repeats} interleaved repeats x ${o.iters} timed steps after ${o.warmup} warm-up. ` +
        `img/CPU-s: images per second of the measuring process's own CPU time (1-core rows), which other work sharing the core ` +
        `does not change: the like-for-like ratio on a busy machine.)`,
    );
    const list = (xs: number[]) => xs.map((v) => v.toFixed(1)).join(', ');
    for (const mode of modes) {
      const t = vTorch2p.get(mode);
      const our = vOurs.get(`tfjs2/${mode}`);
      if (!t?.length || !our?.length) continue;
      console.log(
        `2 cores, both sides as 2 processes x ${SPECS.V.batch / 2} (1 thread each, summed), ${mode}: ours ${median(our).toFixed(1)} img/s, ` +
          `torch ${median(t).toFixed(1)} img/s, ours/torch ${(median(our) / median(t)).toFixed(3)} (torch per repeat: ${list(t)})`,
      );
    }
    console.log('per repeat, img/s (ours | torch) [img/CPU-s, 1 core]:');
    for (const r of vRows) {
      const cpuPart = r.cores === 1 ? ` [${list(r.ours_cpu_all)} | ${list(r.torch_cpu_all)}]` : '';
      console.log(`  ${r.cores} core(s) ${r.mode} ${r.ours}: ${list(r.ours_all)} | ${list(r.torch_all)}${cpuPart}`);
    }
  }
}

// ---------------------------------------------------------------------------
async function profile(): Promise<void> {
  const nets = parseNets('M,R');
  const top = Number(arg('top', '15'));
  const info = await initBackend((arg('backend') ?? 'auto') as BackendPreference);
  for (const n of nets) {
    const net = SPECS[n];
    const { model } = await buildNet(n);
    const { x, y } = makeBatch(Number(arg('batch', String(net.batch))), net.size);
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
