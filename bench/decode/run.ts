/**
 * Decode + resize throughput of the decode pool (src/data/loader.ts, no cache) with 1, 2, … workers, interleaved
 * repeats, medians. Per configuration: images/s, speed-up over 1 worker, CPU time per image and cores busy (CPU
 * time over wall time: all threads of this process and of its decoding processes, from /proc on Linux), and the
 * other processes' load on the machine meanwhile (from os.cpus(): on a shared machine, a second worker only helps
 * while a core is free). The `serial` row decodes one image at a time on the calling thread, without the pool: the
 * cost of the work itself.
 *
 * Default: 1,000 generated 512×384 JPEGs resized to 96×96. `--dir`: the image files under a folder instead (e.g.
 * real photos, read where they are), `--size`: the output size (`--images` then caps the file count).
 *
 *   npm run build && node dist/bench/decode/run.js [--images 1000] [--repeats 5] [--workers 1,2] [--size 96]
 *   node dist/bench/decode/run.js --dir ../shared/data/photos/hymenoptera --size 224
 *
 * `--idle <cores>`: before each run, wait (up to 10 minutes) until the machine's load stays below this many cores
 * for 2 s, and run again (up to 5 times) a run during which other processes kept more cores than that busy: on a
 * shared machine, the runs are then the ones where nothing else ran. `--baseline <loader.js>`: another build's
 * dist/src/data/loader.js (e.g. main's, built in a worktree), timed in the same rounds (rows `baseline, N`).
 */
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { Decoder } from '../../src/data/loader.js';
import { loadImageFile } from '../../src/data/load-image.js';
import { openUnlabeledFolder, type Sample } from '../../src/data/sources.js';
import type { ImageSpec } from '../../src/data/decode.js';
import { Rng } from '../../src/util/rng.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function makeJpegs(dir: string, n: number): Promise<string[]> {
  const rng = new Rng(1);
  const files: string[] = [];
  const w = 512;
  const h = 384;
  for (let i = 0; i < n; i++) {
    const file = path.join(dir, `img${String(i).padStart(4, '0')}.jpg`);
    files.push(file);
    const px = new Uint8Array(w * h * 3);
    const a = rng.uniform(0.01, 0.05);
    const b = rng.uniform(0.01, 0.05);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        px[o] = 128 + 100 * Math.sin(a * x + i);
        px[o + 1] = 128 + 100 * Math.cos(b * y);
        px[o + 2] = (x ^ y) & 255;
      }
    }
    await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 85 })
      .toFile(file);
  }
  return files;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** CPU time of all cores (ms): busy and total. */
function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times: t } of cpus()) {
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

/** CPU time (ms) of this process's child processes (the decoding processes), from /proc; null where there is none. */
function childrenCpu(): number | null {
  let ms = 0;
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      // After the command's closing parenthesis: state, ppid, …, utime (14th field), stime (15th), in clock ticks.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid) ms += (Number(fields[11]) + Number(fields[12])) * 10;
    }
  } catch {
    return null;
  }
  return ms;
}

/** Wait until the machine's load stays under `cores` for 2 s (at most 10 minutes); false if it never did. */
async function waitIdle(cores: number): Promise<boolean> {
  let calm = 0;
  for (let i = 0; i < 1200; i++) {
    const m0 = machineTimes();
    await new Promise((r) => setTimeout(r, 500));
    const m1 = machineTimes();
    const load = (cpus().length * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total);
    calm = load < cores ? calm + 1 : 0;
    if (calm >= 4) return true;
  }
  return false;
}

interface Run {
  rate: number;
  /** CPU time of this process and its decoding processes per image (ms); NaN where they cannot be read. */
  cpuPerImage: number;
  /** That CPU time over wall time. */
  cores: number;
  /** Cores the machine's other processes kept busy meanwhile. */
  other: number;
}

async function measure(n: number, work: () => Promise<number>): Promise<Run> {
  const m0 = machineTimes();
  const k0 = childrenCpu();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const decoded = await work();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const k1 = childrenCpu();
  const m1 = machineTimes();
  if (decoded !== n) throw new Error(`decoded ${decoded} of ${n}`);
  const cpu = (c.user + c.system) / 1000 + (k0 === null || k1 === null ? NaN : k1 - k0);
  const machine = (cpus().length * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total);
  return { rate: (n / wall) * 1000, cpuPerImage: cpu / n, cores: cpu / wall, other: Math.max(0, machine - cpu / wall) };
}

/** What `new Decoder(…)` needs here: this build's, or a baseline build's (`--baseline`). */
type DecoderClass = new (options: { spec: ImageSpec; workers: number; cache: boolean; strict: boolean }) => {
  batches(samples: readonly Sample[], batchSize: number): AsyncGenerator<{ count: number }>;
  close(): Promise<void>;
};

/** A row of the table: a decoder class with a worker count, or the serial baseline. */
interface Config {
  label: string;
  decoder?: DecoderClass;
  workers?: number;
}

/** The pool with `workers` workers, started (its workers up, sharp loaded in them) before the clock starts. */
async function timePool(samples: Sample[], spec: ImageSpec, DecoderOf: DecoderClass, workers: number): Promise<Run> {
  const decoder = new DecoderOf({ spec, workers, cache: false, strict: true });
  try {
    for await (const warm of decoder.batches(samples.slice(0, 4 * workers), 64)) void warm;
    return await measure(samples.length, async () => {
      let count = 0;
      for await (const b of decoder.batches(samples, 256)) count += b.count;
      return count;
    });
  } finally {
    await decoder.close();
  }
}

/** One image at a time on this thread, no pool. */
async function timeSerial(samples: Sample[], spec: ImageSpec): Promise<Run> {
  return measure(samples.length, async () => {
    let count = 0;
    for (const s of samples) if ((await loadImageFile(s.path, spec, null)).ok) count++;
    return count;
  });
}

function time(config: Config, samples: Sample[], spec: ImageSpec): Promise<Run> {
  return config.decoder ? timePool(samples, spec, config.decoder, config.workers!) : timeSerial(samples, spec);
}

async function timeWhenIdle(config: Config, samples: Sample[], spec: ImageSpec, idle: number | null): Promise<Run> {
  if (idle !== null && !(await waitIdle(idle))) process.stderr.write('the machine never went idle\n');
  return time(config, samples, spec);
}

async function main(): Promise<void> {
  const dir = arg('dir');
  const size = Number(arg('size') ?? 96);
  const repeats = Number(arg('repeats') ?? 5);
  const workerCounts = (arg('workers') ?? '1,2').split(',').map(Number);
  const idle = arg('idle') === undefined ? null : Number(arg('idle'));
  // Another build's src/data/loader.js (e.g. main's, in a worktree), timed in the same rounds.
  const baseline = arg('baseline');
  const tmp = dir ? null : await fsp.mkdtemp(path.join(tmpdir(), 'frugal-bench-decode-'));
  try {
    let samples: Sample[];
    let what: string;
    if (dir) {
      samples = (await openUnlabeledFolder(dir)).samples.slice(0, Number(arg('images') ?? Infinity));
      what = `${samples.length} images under ${dir}`;
    } else {
      const n = Number(arg('images') ?? 1000);
      process.stderr.write(`generating ${n} JPEGs (512×384) in ${tmp}...\n`);
      samples = (await makeJpegs(tmp!, n)).map((p) => ({ path: p, label: 0 }));
      what = `${n} generated 512×384 JPEGs`;
    }
    const spec: ImageSpec = { height: size, width: size, channels: 3, resize: 'squash' };
    const configs: Config[] = [];
    if (baseline) {
      const { Decoder: Baseline } = (await import(pathToFileURL(path.resolve(baseline)).href)) as { Decoder: DecoderClass };
      for (const w of workerCounts) configs.push({ label: `baseline, ${w}`, decoder: Baseline, workers: w });
    }
    for (const w of workerCounts) configs.push({ label: String(w), decoder: Decoder, workers: w });
    configs.push({ label: 'serial, no pool' });
    const runs = new Map<Config, Run[]>(configs.map((c) => [c, []]));
    // A first pass, not timed: file system cache, sharp and the JIT warmed up.
    for (const c of configs) if (c.decoder) await time(c, samples.slice(0, 200), spec);
    for (let r = 0; r < repeats; r++) {
      // Interleaved, the order reversed every other round.
      for (const c of r % 2 ? [...configs].reverse() : configs) {
        let run = await timeWhenIdle(c, samples, spec, idle);
        for (let retry = 0; idle !== null && run.other > idle && retry < 5; retry++) {
          process.stderr.write(`round ${r + 1}, ${c.label}: other load ${run.other.toFixed(2)}, again\n`);
          run = await timeWhenIdle(c, samples, spec, idle);
        }
        runs.get(c)!.push(run);
        process.stderr.write(
          `round ${r + 1}, ${c.label}: ${run.rate.toFixed(0)} images/s, ${run.cpuPerImage.toFixed(2)} ms CPU/image, ${run.cores.toFixed(2)} cores, other load ${run.other.toFixed(2)}\n`,
        );
      }
    }
    const rateOf = (c: Config) => median(runs.get(c)!.map((x) => x.rate));
    const one = rateOf(configs.find((c) => c.decoder === Decoder)!);
    console.log(`decode+resize: ${what} → ${size}×${size}×3 (squash, lanczos3), no cache, ${cpus().length} cores, medians of ${repeats} interleaved runs`);
    console.log(`| workers | images/s (median) | runs | × ${workerCounts[0]} worker | CPU ms/image | cores busy | other load (cores) |`);
    console.log('|---|---|---|---|---|---|---|');
    for (const c of configs) {
      const xs = runs.get(c)!;
      // Baseline rows against the baseline's first worker count.
      const base = c.decoder && c.decoder !== Decoder ? rateOf(configs[0]!) : one;
      const cols = [
        c.label,
        rateOf(c).toFixed(0),
        xs.map((x) => x.rate.toFixed(0)).join(', '),
        `${(rateOf(c) / base).toFixed(2)}×`,
        median(xs.map((x) => x.cpuPerImage)).toFixed(2),
        median(xs.map((x) => x.cores)).toFixed(2),
        median(xs.map((x) => x.other)).toFixed(2),
      ];
      console.log(`| ${cols.join(' | ')} |`);
    }
  } finally {
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  }
}

await main();
