import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../util/fs.js';
import { Decoder } from '../data/loader.js';
import { contentDigests } from '../data/duplicates.js';
import type { Sample } from '../data/sources.js';
import type { Predictor } from '../evaluate/predictor.js';
import { shardFile } from '../runs/files.js';
import { FrugalError } from '../util/errors.js';
import { decodeFramed, encodeFramed, type FramedProblem } from '../util/framed-file.js';

export interface PseudoLabelOptions {
  /** Folder for the shards (one file per shard of the pool, written atomically). */
  dir: string;
  shardSize?: number;
  /** Identifies the teacher (e.g. a digest of its files): a shard made by another teacher is redone. */
  teacherId?: string;
  workers?: number;
  cache?: boolean | string;
  onProgress?: (done: number, total: number) => void;
  /** Called once when shards of an earlier run did not match this one and were redone, saying why. */
  onRedone?: (message: string) => void;
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
  /** Shards an earlier run left that did not match this run (teacher, shard size, pool images or checksum), redone. */
  redoneShards: number;
  failed: number;
}

/**
 * Predict the unlabeled pool with the teacher (inference mode: no noise), streaming it in shards:
 * memory stays bounded by one shard whatever the pool's size, and each finished shard is on disk,
 * so a killed run continues from the last finished shard. A shard file holds, per pool image, the
 * class probabilities (NaN for an image that failed to decode), after a header that identifies it
 * by content: the teacher, the shard size and position, a digest of its images' paths and bytes, and a
 * checksum of the probabilities. A shard whose header does not match this run is redone, and said so.
 */
export async function pseudoLabelPool(predictor: Predictor, pool: Sample[], o: PseudoLabelOptions): Promise<PseudoLabels> {
  const shardSize = o.shardSize ?? 1024;
  const k = predictor.classes.length;
  const shards = Math.ceil(pool.length / shardSize);
  await fsp.mkdir(o.dir, { recursive: true });
  let computed = 0;
  let reused = 0;
  const redone = new Map<string, number>();
  for (let s = 0; s < shards; s++) {
    const file = path.join(o.dir, shardFile(s));
    const samples = pool.slice(s * shardSize, (s + 1) * shardSize);
    const identity: ShardIdentity = {
      teacher: o.teacherId ?? null,
      classes: predictor.classes,
      shardSize,
      shard: s,
      count: samples.length,
      inputs: await inputsDigest(samples),
    };
    const earlier = await readShard(file, identity);
    if (earlier.probs) {
      reused++;
    } else {
      if (earlier.mismatch) redone.set(earlier.mismatch, (redone.get(earlier.mismatch) ?? 0) + 1);
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
      await writeFileAtomic(file, encodeShard(identity, probs));
      computed++;
    }
    o.onProgress?.(Math.min((s + 1) * shardSize, pool.length), pool.length);
  }
  const total = [...redone.values()].reduce((a, b) => a + b, 0);
  if (total) {
    o.onRedone?.(
      `${total} pseudo-label shard${total > 1 ? 's' : ''} in ${o.dir} did not match this run (${[...redone].map(([why, n]) => `${n}: ${why}`).join('; ')}) and ${total > 1 ? 'were' : 'was'} redone`,
    );
  }
  // Read back every shard (small: K floats per image) into candidates.
  const candidates: Candidate[] = [];
  let failed = 0;
  for (let s = 0; s < shards; s++) {
    const probs = await readShardProbs(path.join(o.dir, shardFile(s)));
    const shard = candidatesOf(probs, k, s * shardSize);
    failed += probs.length / k - shard.length;
    candidates.push(...shard);
  }
  return { candidates, computedShards: computed, reusedShards: reused, redoneShards: total, failed };
}

/** What makes a shard this run's: who predicted, how the pool was cut, and what the images were. */
interface ShardIdentity {
  teacher: string | null;
  classes: string[];
  shardSize: number;
  shard: number;
  count: number;
  /** sha256 over the shard's images: each one's path and the sha1 of its bytes (or pixels). */
  inputs: string;
}

const SHARD_MAGIC = 'FRPL2';

async function inputsDigest(samples: readonly Sample[]): Promise<string> {
  const digests = await contentDigests(samples);
  const hash = createHash('sha256');
  samples.forEach((x, i) => hash.update(`${x.path}\0${digests[i] ?? 'unreadable'}\n`));
  return hash.digest('hex');
}

/** A shard file: a framed file (`util/framed-file`) of the shard's identity and its float32 probabilities. */
function encodeShard(identity: ShardIdentity, probs: Float32Array): Uint8Array {
  return encodeFramed(SHARD_MAGIC, { ...identity }, [probs]);
}

const SHARD_PROBLEMS: Record<FramedProblem, string> = {
  magic: 'not a shard of this version',
  truncated: 'truncated',
  header: 'corrupt header',
  checksum: 'checksum mismatch',
};

/** A shard's header and payload, or why it cannot be read as one (not a shard, truncated, checksum mismatch). */
function decodeShard(buf: Buffer): { header: ShardIdentity; probs: Float32Array } | string {
  const framed = decodeFramed<ShardIdentity>(buf, SHARD_MAGIC, { requireChecksum: true });
  if (typeof framed === 'string') return SHARD_PROBLEMS[framed];
  if (framed.payload.length % 4) return SHARD_PROBLEMS.truncated;
  const probs = new Float32Array(framed.payload.length / 4);
  Buffer.from(probs.buffer).set(framed.payload);
  return { header: framed.header, probs };
}

/** An earlier run's shard when it is this run's (same identity, intact), else why not (null when there is none). */
async function readShard(file: string, identity: ShardIdentity): Promise<{ probs: Float32Array | null; mismatch: string | null }> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch {
    return { probs: null, mismatch: null };
  }
  const shard = decodeShard(buf);
  if (typeof shard === 'string') return { probs: null, mismatch: `shard file ${shard}` };
  const h = shard.header;
  if (h.teacher !== identity.teacher || JSON.stringify(h.classes) !== JSON.stringify(identity.classes)) return { probs: null, mismatch: 'another teacher' };
  if (h.shardSize !== identity.shardSize || h.shard !== identity.shard) return { probs: null, mismatch: 'another shard size' };
  if (h.count !== identity.count || h.inputs !== identity.inputs) return { probs: null, mismatch: 'the pool images changed' };
  if (shard.probs.length !== identity.count * identity.classes.length) return { probs: null, mismatch: 'shard file truncated' };
  return { probs: shard.probs, mismatch: null };
}

/** The probabilities of a shard this run wrote (or checked). */
async function readShardProbs(file: string): Promise<Float32Array> {
  const shard = decodeShard(await fsp.readFile(file));
  if (typeof shard === 'string') throw new FrugalError(`${file}: ${shard} (changed while the run was using it?)`);
  return shard.probs;
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
    const probs = await readShardProbs(path.join(dir, shardFile(s)));
    for (const j of js) {
      const i = indices[j]! - s * shardSize;
      out.set(probs.subarray(i * k, (i + 1) * k), j * k);
    }
  }
  return out;
}

/**
 * Each row of `probs` (rows × classes) as a candidate: its likeliest class (the first, on a tie) and that class's
 * probability, indexed from `firstIndex`. Rows of NaN (images that failed) are left out.
 */
export function candidatesOf(probs: Float32Array, classes: number, firstIndex = 0): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < probs.length / classes; i++) {
    if (Number.isNaN(probs[i * classes]!)) continue;
    let best = 0;
    for (let j = 1; j < classes; j++) if (probs[i * classes + j]! > probs[i * classes + best]!) best = j;
    out.push({ index: firstIndex + i, label: best, confidence: probs[i * classes + best]! });
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
