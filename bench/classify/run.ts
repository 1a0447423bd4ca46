/**
 * Classify real photos end to end (decode + resize to 224 + forward) with a model on the built-in trunk, on
 * ONNX Runtime (Frugal's default for forward passes) and on TF.js wasm, against torchvision's
 * MobileNetV2-0.35 over the same files (PIL decode and resize, PyTorch's default threads). Each measurement
 * runs in a fresh process; start-up and model loading are not timed. Interleaved repeats, medians.
 *
 *   npm run build && node dist/bench/classify/run.js [--images 1000] [--repeats 3] [--photos ../shared/data/photos]
 */
import { spawnSync } from 'node:child_process';
import { promises as fsp, existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../../src/engine/backend.js';
import { loadBackbone } from '../../src/models/backbones/load.js';
import { BUILTIN_TRUNK } from '../../src/models/backbones/pretrained.js';
import { buildHead, stackHead } from '../../src/models/head.js';
import { newMeta, saveModelDir } from '../../src/models/model-dir.js';
import { loadPredictor } from '../../src/evaluate/predictor.js';
import { Decoder } from '../../src/data/loader.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};

async function listPhotos(dir: string, n: number): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of (await fsp.readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\.(jpe?g|png)$/i.test(e.name)) out.push(p);
    }
  };
  await walk(dir);
  if (out.length < n) throw new Error(`${dir}: only ${out.length} photos`);
  return out.slice(0, n);
}

/** Child: classify the listed files with the model folder; print one JSON object. */
async function child(modelDir: string, list: string): Promise<void> {
  await initBackend('auto');
  const files = (await fsp.readFile(list, 'utf8')).split('\n').filter(Boolean);
  const predictor = await loadPredictor(modelDir);
  await predictor.predict(new Uint8Array(224 * 224 * 3), 1); // converts and loads the model: not timed
  const start = performance.now();
  const decoder = new Decoder({ spec: predictor.spec, cache: false });
  let images = 0;
  for await (const batch of decoder.batches(
    files.map((p) => ({ path: p, label: 0 })),
    32,
  )) {
    if (process.env['BENCH_DECODE_ONLY'] !== '1') await predictor.predict(batch.pixels, batch.count);
    images += batch.count;
  }
  await decoder.close();
  const seconds = (performance.now() - start) / 1000;
  process.stdout.write(JSON.stringify({ images, seconds, img_per_s: images / seconds }) + '\n');
  predictor.dispose();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) return child(arg('model', ''), arg('list', ''));
  const n = Number(arg('images', '1000'));
  const repeats = Number(arg('repeats', '3'));
  const photos = path.resolve(arg('photos', path.join(root, '..', 'shared', 'data', 'photos')));
  const work = await fsp.mkdtemp(path.join((await import('node:os')).tmpdir(), 'frugal-classify-'));
  const list = path.join(work, 'files.txt');
  await fsp.writeFile(list, (await listPhotos(photos, n)).join('\n') + '\n');
  // A model on the built-in trunk: its head's weights do not change the time.
  await initBackend('auto');
  const bb = await loadBackbone(BUILTIN_TRUNK);
  const modelDir = path.join(work, 'model');
  await saveModelDir(
    modelDir,
    stackHead(bb.trunk!, buildHead(bb.featureDim, 12)),
    newMeta({ classes: [...'abcdefghijkl'], input: { ...bb.spec, resize: 'squash' }, preprocessing: bb.preprocessing }),
  );

  const runs: Record<string, number[]> = {
    'frugal, ONNX Runtime': [],
    'frugal, TF.js wasm': [],
    'frugal, decoding only': [],
    torchvision: [],
    'torchvision, 2 threads': [],
  };
  const self = fileURLToPath(import.meta.url);
  for (let r = 0; r < repeats; r++) {
    for (const name of Object.keys(runs)) {
      const res = name.startsWith('torchvision')
        ? spawnSync(
            '/usr/bin/python3',
            [path.join(root, 'bench', 'classify', 'torch_classify.py'), '--list', list, '--threads', name.includes('2 threads') ? '2' : '0'],
            { encoding: 'utf8' },
          )
        : spawnSync(process.execPath, [self, '--child', '--model', modelDir, '--list', list], {
            encoding: 'utf8',
            env: { ...process.env, FRUGAL_FORWARD: name.includes('TF.js') ? 'tfjs' : 'onnx', BENCH_DECODE_ONLY: name.includes('decoding only') ? '1' : '0' },
          });
      if (res.status !== 0) throw new Error(`${name}: ${res.stderr}`);
      const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as { img_per_s: number; images: number; threads?: number };
      if (out.images !== n) throw new Error(`${name}: classified ${out.images} of ${n}`);
      runs[name]!.push(out.img_per_s);
      process.stderr.write(`repeat ${r + 1} ${name}: ${out.img_per_s.toFixed(1)} images/s${out.threads ? ` (${out.threads} threads)` : ''}\n`);
    }
  }
  const torch = median(runs['torchvision']!);
  console.log(`\n${n} photos from ${photos}, decode + resize to 224 + MobileNetV2-0.35 forward, ${repeats} interleaved repeats (medians)\n`);
  console.log('| pipeline | images/s | × torchvision |');
  console.log('|---|---:|---:|');
  for (const [name, xs] of Object.entries(runs)) console.log(`| ${name} | ${median(xs).toFixed(1)} | ${(median(xs) / torch).toFixed(2)} |`);
  if (!existsSync(work)) return;
  await fsp.rm(work, { recursive: true, force: true });
}

await main();
