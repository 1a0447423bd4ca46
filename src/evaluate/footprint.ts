import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Predictor } from './predictor.js';
import { CHECKPOINT_FILE } from '../train/checkpoint.js';
import { META_FILE, MODEL_FILE } from '../models/model-dir.js';
import { WEIGHTS_FILE } from '../models/io.js';

/** Bytes of a model directory's model files (model.json, weights, frugal.json; not a training checkpoint). */
export async function modelSizeOnDisk(dir: string): Promise<number> {
  let total = 0;
  for (const f of await fsp.readdir(dir)) {
    const modelFile = f === MODEL_FILE || f === WEIGHTS_FILE || f === META_FILE || f.endsWith('.bin');
    if (!modelFile || f === CHECKPOINT_FILE) continue;
    total += (await fsp.stat(path.join(dir, f))).size;
  }
  return total;
}

/** Median latency (ms) of predicting one image at a time, after a warm-up. */
export async function latencyPerImage(predictor: Predictor, pixels: Uint8Array, count: number, runs = 20): Promise<number> {
  const size = pixels.length / count;
  await predictor.predict(pixels.subarray(0, size), 1);
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const i = r % count;
    const t0 = performance.now();
    await predictor.predict(pixels.subarray(i * size, (i + 1) * size), 1);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}
