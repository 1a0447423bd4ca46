/**
 * Decode + resize throughput: 1,000 generated 512×384 JPEGs resized to 96×96 RGB,
 * with 1 decoding worker and with 2 (no cache), interleaved repeats, medians.
 *
 *   npm run build && node dist/bench/decode/run.js [--images 1000] [--repeats 3]
 */
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeAll } from '../../src/data/loader.js';
import { Rng } from '../../src/util/rng.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
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

async function main(): Promise<void> {
  const n = arg('images', 1000);
  const repeats = arg('repeats', 3);
  const dir = await fsp.mkdtemp(path.join(tmpdir(), 'frugal-bench-decode-'));
  try {
    process.stderr.write(`generating ${n} JPEGs (512×384) in ${dir}...\n`);
    const samples = (await makeJpegs(dir, n)).map((p) => ({ path: p, label: 0 }));
    const spec = { height: 96, width: 96, channels: 3 as const, resize: 'squash' as const };
    const rates: Record<number, number[]> = { 1: [], 2: [] };
    for (let r = 0; r < repeats; r++) {
      for (const workers of [1, 2]) {
        const t0 = performance.now();
        const out = await decodeAll(samples, { spec, workers, cache: false });
        const s = (performance.now() - t0) / 1000;
        if (out.count !== n) throw new Error(`decoded ${out.count} of ${n}`);
        rates[workers]!.push(n / s);
      }
    }
    const one = median(rates[1]!);
    const two = median(rates[2]!);
    console.log(`decode+resize: ${n} JPEGs 512×384 → 96×96×3, no cache, median of ${repeats}`);
    console.log('| workers | images/s (median) | runs | speed-up |');
    console.log('|---|---|---|---|');
    console.log(`| 1 | ${one.toFixed(0)} | ${rates[1]!.map((x) => x.toFixed(0)).join(', ')} | 1.00× |`);
    console.log(`| 2 | ${two.toFixed(0)} | ${rates[2]!.map((x) => x.toFixed(0)).join(', ')} | ${(two / one).toFixed(2)}× |`);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

await main();
