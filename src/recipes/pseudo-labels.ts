import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, exists } from '../util/fs.js';
import { Decoder } from '../data/loader.js';
import type { Sample } from '../data/sources.js';
import type { Predictor } from '../evaluate/predictor.js';
import { shardFile } from '../runs/files.js';

export interface PseudoLabelOptions {
  /** Folder for the shards (one file per shard of the pool, written atomically). */
  dir: string;
  shardSize?: number;
  workers?: number;
  cache?: boolean | string;
  onProgress?: (done: number, total: number) => void;
}

/** One pool image's prediction. */
export interface Candidate {
  /** Index into the pool's samples. */
  index: number;
  label: number;
  confidence: number;
}

export interface PseudoLabels {
  /** Every pool image that decoded, with its top class and confidence. */
  candidates: Candidate[];
  /** Shards computed now (the others came from an earlier, interrupted run). */
  computedShards: number;
  reusedShards: number;
  failed: number;
}

/**
 * Predict the unlabeled pool with the teacher (inference mode: no noise), streaming it in shards:
 * memory stays bounded by one shard whatever the pool's size, and each finished shard is on disk,
 * so a killed run continues from the last finished shard. A shard file holds, per pool image, the
 * class probabilities (NaN for an image that failed to decode).
 */
export async function pseudoLabelPool(predictor: Predictor, pool: Sample[], o: PseudoLabelOptions): Promise<PseudoLabels> {
  const shardSize = o.shardSize ?? 1024;
  const k = predictor.classes.length;
  const shards = Math.ceil(pool.length / shardSize);
  await fsp.mkdir(o.dir, { recursive: true });
  let computed = 0;
  let reused = 0;
  for (let s = 0; s < shards; s++) {
    const file = path.join(o.dir, shardFile(s));
    const samples = pool.slice(s * shardSize, (s + 1) * shardSize);
    if (await exists(file)) {
      reused++;
    } else {
      const probs = new Float32Array(samples.length * k).fill(NaN);
      const index = new Map(samples.map((x, i) => [x.path, i]));
      const decoder = new Decoder({ spec: predictor.spec, workers: o.workers, cache: o.cache });
      try {
        for await (const batch of decoder.batches(samples, 256)) {
          const p = await predictor.predict(batch.pixels, batch.count);
          batch.paths.forEach((pth, j) => probs.set(p.subarray(j * k, (j + 1) * k), index.get(pth)! * k));
        }
      } finally {
        await decoder.close();
      }
      await writeFileAtomic(file, new Uint8Array(probs.buffer));
      computed++;
    }
    o.onProgress?.(Math.min((s + 1) * shardSize, pool.length), pool.length);
  }
  // Read back every shard (small: K floats per image) into candidates.
  const candidates: Candidate[] = [];
  let failed = 0;
  for (let s = 0; s < shards; s++) {
    const buf = await fsp.readFile(path.join(o.dir, shardFile(s)));
    const probs = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const n = probs.length / k;
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(probs[i * k]!)) {
        failed++;
        continue;
      }
      let best = 0;
      for (let j = 1; j < k; j++) if (probs[i * k + j]! > probs[i * k + best]!) best = j;
      candidates.push({ index: s * shardSize + i, label: best, confidence: probs[i * k + best]! });
    }
  }
  return { candidates, computedShards: computed, reusedShards: reused, failed };
}

/** The probability rows of some pool images, read back from the shards. */
export async function readPseudoProbs(dir: string, indices: number[], k: number, shardSize = 1024): Promise<Float32Array> {
  const out = new Float32Array(indices.length * k);
  const byShard = new Map<number, number[]>();
  indices.forEach((idx, j) => {
    const s = Math.floor(idx / shardSize);
    if (!byShard.has(s)) byShard.set(s, []);
    byShard.get(s)!.push(j);
  });
  for (const [s, js] of byShard) {
    const buf = await fsp.readFile(path.join(dir, shardFile(s)));
    const probs = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    for (const j of js) {
      const i = indices[j]! - s * shardSize;
      out.set(probs.subarray(i * k, (i + 1) * k), j * k);
    }
  }
  return out;
}

export interface SelectOptions {
  threshold: number;
  /** Equalise classes: keep the top-K most confident per class, duplicating where a class is short. */
  balance?: boolean;
  /** K per class when balancing (default: the mean number kept per class). */
  perClass?: number;
  numClasses: number;
}

/** Keep confident predictions; with `balance`, the same number per class (Noisy Student's filtering and balancing). */
export function selectPseudoLabels(candidates: Candidate[], o: SelectOptions): Candidate[] {
  const kept = candidates.filter((c) => c.confidence >= o.threshold);
  if (!o.balance) return kept;
  const byClass = Array.from({ length: o.numClasses }, () => [] as Candidate[]);
  for (const c of kept) byClass[c.label]!.push(c);
  const perClass = o.perClass ?? Math.round(kept.length / o.numClasses);
  const out: Candidate[] = [];
  for (const list of byClass) {
    if (list.length === 0) continue;
    list.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
    for (let i = 0; i < perClass; i++) out.push(list[i % list.length]!);
  }
  return out;
}
