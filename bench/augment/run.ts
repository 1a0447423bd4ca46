/**
 * Augmentation throughput: Frugal's policy (default `randaugment:n=2,m=9`) on 224×224 RGB images
 * — in-process, and through AugmentPool with 1 and 2 worker threads — against torchvision
 * RandAugment(N, M) on PIL images (bench/augment/torch_randaugment.py, /usr/bin/python3, one
 * thread), all in one run. Each Frugal configuration gets its own phase in which its rounds alternate
 * with torchvision rounds (the machine is shared, so conditions drift); a row reports the median
 * round and the ratio to the median torchvision round of the same phase, both per wall-clock second
 * and per CPU second of the whole process (all threads).
 *
 * Usage: node dist/bench/augment/run.js [--seconds 0.5] [--rounds 8] [--images 64] [--batch 32]
 *        [--size 224] [--policy randaugment:n=2,m=9] [--no-torch]
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { makeImage, type RawImage } from '../../src/data/image.js';
import { Rng } from '../../src/util/rng.js';
import { buildPolicy } from '../../src/augment/policies/index.js';
import { augmentImages } from '../../src/augment/batch.js';
import { AugmentPool } from '../../src/augment/pool.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

const seconds = Number(arg('seconds', '0.5'));
const rounds = Number(arg('rounds', '8'));
const count = Number(arg('images', '64'));
const batchSize = Number(arg('batch', '32'));
const size = Number(arg('size', '224'));
const policyText = arg('policy', 'randaugment:n=2,m=9');
const withTorch = !process.argv.includes('--no-torch');

/** Same synthetic images as torch_randaugment.py's (smooth pattern + noise). */
function makeImages(n: number, s: number): RawImage[] {
  const rng = new Rng(0);
  const out: RawImage[] = [];
  for (let i = 0; i < n; i++) {
    const img = makeImage(s, s, 3);
    const fx = 0.02 + 0.001 * i;
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        for (let k = 0; k < 3; k++) {
          const v = 0.5 + 0.35 * Math.sin(x * fx + k) * Math.cos(y * 0.03 - k) + rng.uniform(-0.15, 0.15);
          img.data[(y * s + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(v * 255)));
        }
      }
    }
    out.push(img);
  }
  return out;
}

function batchesOf(images: RawImage[]): RawImage[][] {
  const out: RawImage[][] = [];
  for (let i = 0; i < images.length; i += batchSize) out.push(images.slice(i, i + batchSize));
  return out;
}

const policy = buildPolicy(policyText);

interface Rate {
  wall: number; // images per wall-clock second
  cpu: number; // images per CPU second (user + system, all threads of the process)
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function inProcess(batches: RawImage[][], seed0: number): Rate {
  let done = 0;
  let seed = seed0;
  const t0 = performance.now();
  const c0 = cpuSeconds();
  for (;;) {
    for (const b of batches) {
      augmentImages(policy, b, seed++);
      done += b.length;
    }
    const el = (performance.now() - t0) / 1000;
    if (el >= seconds) return { wall: done / el, cpu: done / (cpuSeconds() - c0) };
  }
}

async function pooled(pool: AugmentPool, batches: RawImage[][], seed0: number): Promise<Rate> {
  let done = 0;
  let seed = seed0;
  let next = 0;
  const inflight = new Set<Promise<void>>();
  const launch = (): void => {
    const b = batches[next++ % batches.length]!;
    const p: Promise<void> = pool.run(b, seed++).then(() => {
      done += b.length;
      inflight.delete(p);
    });
    inflight.add(p);
  };
  const t0 = performance.now();
  const c0 = cpuSeconds();
  while ((performance.now() - t0) / 1000 < seconds) {
    while (inflight.size < 2 * pool.size) launch();
    await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return { wall: done / ((performance.now() - t0) / 1000), cpu: done / (cpuSeconds() - c0) };
}

class TorchServer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  info: Record<string, string> = {};

  constructor(n: number, m: number) {
    const script = fileURLToPath(new URL('../../../bench/augment/torch_randaugment.py', import.meta.url));
    this.proc = spawn('/usr/bin/python3', [script, '--serve', '--size', String(size), '--images', String(count), '--n', String(n), '--m', String(m)]);
    this.proc.stderr.on('data', () => {});
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  private async line(): Promise<Record<string, unknown>> {
    const r = await this.lines.next();
    if (r.done) throw new Error('torchvision benchmark process ended (is /usr/bin/python3 with torchvision installed?)');
    return JSON.parse(r.value) as Record<string, unknown>;
  }

  async ready(): Promise<void> {
    this.info = (await this.line()) as Record<string, string>;
  }

  async run(): Promise<Rate> {
    this.proc.stdin.write(`run ${seconds}\n`);
    const r = await this.line();
    return { wall: r.images_per_s as number, cpu: r.images_per_cpu_s as number };
  }

  close(): void {
    this.proc.stdin.end();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const images = makeImages(count, size);
  const batches = batchesOf(images);
  console.log(
    `policy ${policy.text}: ${size}×${size} RGB, ${count} distinct images, batches of ${batchSize}, ${rounds} interleaved rounds of ${seconds}s per config`,
  );
  const m = /^randaugment:n=(\d+),m=(\d+)$/.exec(policy.text);
  let torch: TorchServer | null = null;
  if (withTorch && m) {
    torch = new TorchServer(Number(m[1]), Number(m[2]));
    try {
      await torch.ready();
    } catch (err) {
      console.log(`torchvision skipped: ${(err as Error).message}`);
      torch = null;
    }
  } else if (withTorch) console.log(`torchvision skipped: no RandAugment equivalent for ${policy.text}`);
  // Each Frugal configuration is measured in its own phase, alternating round by round with
  // torchvision, and compared with the torchvision rounds of that phase (closest conditions).
  interface Row {
    name: string;
    ours: Rate[];
    torch: Rate[];
  }
  const rows: Row[] = [];
  const phase = async (name: string, measure: (seed: number) => Promise<Rate> | Rate): Promise<void> => {
    await measure(1e6); // warm-up: JIT, worker start-up, sampling-map caches
    const row: Row = { name, ours: [], torch: [] };
    for (let r = 0; r < rounds; r++) {
      row.ours.push(await measure(r * 100000));
      if (torch) row.torch.push(await torch.run());
    }
    rows.push(row);
  };
  await phase('frugal in-process (main thread)', (seed) => inProcess(batches, seed));
  for (const workers of [1, 2]) {
    const pool = new AugmentPool({ policy, workers });
    await phase(`frugal AugmentPool, ${workers} worker${workers > 1 ? 's' : ''}`, (seed) => pooled(pool, batches, seed));
    await pool.close();
  }
  torch?.close();
  const torchName = torch ? `torchvision ${torch.info.torchvision} RandAugment (PIL ${torch.info.pillow}, 1 thread)` : '';
  const w = Math.max(...rows.map((r) => r.name.length), torchName.length);
  for (const key of ['wall', 'cpu'] as const) {
    const unit = key === 'wall' ? 'img/s (wall clock)' : 'img per CPU-second';
    console.log(`\n${'config'.padEnd(w)}  ${('median ' + unit).padStart(26)}  ${'torchvision, same phase'.padStart(24)}  ratio  rounds (ours | torchvision)`);
    const allTorch: number[] = [];
    for (const row of rows) {
      const xs = row.ours.map((r) => r[key]);
      const ts = row.torch.map((r) => r[key]);
      allTorch.push(...ts);
      const med = median(xs);
      const tmed = ts.length ? median(ts) : NaN;
      const ratio = ts.length ? `${(med / tmed).toFixed(2)}×` : 'n/a';
      const detail = `${xs.map((x) => x.toFixed(0)).join(' ')}${ts.length ? ` | ${ts.map((x) => x.toFixed(0)).join(' ')}` : ''}`;
      console.log(
        `${row.name.padEnd(w)}  ${med.toFixed(1).padStart(26)}  ${(ts.length ? tmed.toFixed(1) : 'n/a').padStart(24)}  ${ratio.padStart(5)}  ${detail}`,
      );
    }
    if (torch) console.log(`${torchName.padEnd(w)}  ${median(allTorch).toFixed(1).padStart(26)}  ${'(all phases)'.padStart(24)}  1.00×`);
  }
}

await main();
