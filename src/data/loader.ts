import { availableParallelism } from 'node:os';
import { FrugalError } from '../util/errors.js';
import { conformImage, type ImageSpec } from './decode.js';
import { cacheBudget, cacheLimit, type CacheBudget } from '../util/cache-dir.js';
import { decodedEntryBytes, defaultDecodedCacheDir } from './cache.js';
import { loadImageFile, type LoadResult } from './load-image.js';
import { DecodePool } from './decode-pool.js';
import type { Problem, Sample } from './sources.js';

export interface DecodeOptions {
  spec: ImageSpec;
  /**
   * Decoding processes (started as work arrives); 0 decodes on the calling thread. Default: the number of cores, at
   * most `MAX_DEFAULT_WORKERS` (each process holds ~80 MB).
   */
  workers?: number;
  /**
   * Decoded-image cache: a folder, `true` for the default folder, `false` for none. Default true. The default folder
   * ($FRUGAL_CACHE/decoded) is held to the cache's size limit ($FRUGAL_CACHE_LIMIT; 0: no caching); a folder given
   * here is the caller's, not pruned.
   */
  cache?: boolean | string;
  /** Throw on the first bad file instead of skipping and reporting it. */
  strict?: boolean;
  /** Called after each image with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** A batch of decoded images, packed as one N×H×W×C byte array. */
export interface DecodedBatch {
  spec: ImageSpec;
  count: number;
  /** N×H×W×C pixels. */
  pixels: Uint8Array;
  /** Label per image; -1 where unlabeled. */
  labels: Int32Array;
  paths: string[];
  /** Size of each image before resizing. */
  originalSizes: Array<{ width: number; height: number }>;
  /** Files skipped in this batch, with the reason. */
  problems: Problem[];
  /** How many images came from the decoded-image cache. */
  cacheHits: number;
}

/** The most decoding processes started by default: each holds ~80 MB, and 8 decode faster than most trunks run. */
const MAX_DEFAULT_WORKERS = 8;

/** At most this many images per request to a decoding process: one message each way per run, not per image. */
const MAX_RUN = 8;

/** The decoded-image cache of a `cache` option: its folder, and the budget that prunes it (the default folder's). */
function cacheOf(option: boolean | string | undefined): { dir: string | null; budget: CacheBudget | null } {
  if (option === false) return { dir: null, budget: null };
  if (typeof option === 'string') return { dir: option, budget: null };
  if (cacheLimit() === 0) return { dir: null, budget: null };
  return { dir: defaultDecodedCacheDir(), budget: cacheBudget() };
}

/** A decoder that owns a pool of decoding processes; close it when done (or use `decodeAll`/`decodeBatches`). */
export class Decoder {
  private pool: DecodePool | null;
  private cacheDir: string | null;
  private cacheBudget: CacheBudget | null;

  constructor(private options: DecodeOptions) {
    const cache = cacheOf(options.cache);
    this.cacheDir = cache.dir;
    this.cacheBudget = cache.budget;
    const workers = options.workers ?? Math.min(availableParallelism(), MAX_DEFAULT_WORKERS);
    this.pool = workers > 0 ? new DecodePool(workers) : null;
  }

  /** Load one sample (a file, or pixels already in memory). */
  load(sample: Sample): Promise<LoadResult> {
    return this.loadRun([sample])[0]!;
  }

  /**
   * Load consecutive samples, one promise each: their files as one request to a decoding process, pixels already in
   * memory on this thread.
   */
  private loadRun(run: readonly Sample[]): Array<Promise<LoadResult>> {
    const spec = this.options.spec;
    const files = run.filter((s) => !s.pixels).map((s) => s.path);
    const fromPool = this.pool && files.length > 0 ? this.pool.run({ files, spec, cacheDir: this.cacheDir }) : null;
    let f = 0;
    return run.map(async (sample): Promise<LoadResult> => {
      if (sample.pixels) {
        const image = await conformImage(sample.pixels, spec);
        return { ok: true, image, originalWidth: sample.pixels.width, originalHeight: sample.pixels.height, cached: false };
      }
      const j = f++;
      const res = fromPool ? (await fromPool)[j]! : await loadImageFile(sample.path, spec, this.cacheDir);
      // Decoded, not read from the cache: written into it.
      if (res.ok && !res.cached) this.cacheBudget?.record(decodedEntryBytes(spec));
      return res;
    });
  }

  /**
   * Decode samples in order, in batches of `batchSize`, keeping a bounded number of images in
   * flight: memory stays bounded whatever the number of samples.
   */
  async *batches(samples: readonly Sample[], batchSize: number): AsyncGenerator<DecodedBatch> {
    const workers = this.pool?.size ?? 0;
    // Images per request: up to MAX_RUN, fewer for small sets so that every worker gets some.
    const runLength = workers > 0 ? Math.max(1, Math.min(MAX_RUN, Math.floor(samples.length / (workers * 4)))) : 1;
    // Three runs per worker in flight: one being decoded, two waiting.
    const window = Math.max(4, workers * 3 * runLength);
    const inFlight: Array<Promise<LoadResult>> = [];
    let next = 0;
    const fill = () => {
      while (inFlight.length < window && next < samples.length) {
        const run = samples.slice(next, next + runLength);
        next += run.length;
        inFlight.push(...this.loadRun(run));
      }
    };
    fill();
    try {
      yield* this.collect(samples, batchSize, inFlight, fill);
    } finally {
      // Stopped early (strict mode, or the consumer broke off): nobody awaits these any more.
      for (const pending of inFlight) pending.catch(() => undefined);
    }
  }

  private async *collect(samples: readonly Sample[], batchSize: number, inFlight: Array<Promise<LoadResult>>, fill: () => void): AsyncGenerator<DecodedBatch> {
    const { spec, strict, onProgress } = this.options;
    let done = 0;
    let batch = newBatch(spec, Math.min(batchSize, samples.length));
    for (let i = 0; i < samples.length; i++) {
      const res = await inFlight.shift()!;
      fill();
      const sample = samples[i]!;
      done++;
      if (!res.ok) {
        if (strict) throw new FrugalError(`${sample.path}: ${res.reason}`);
        batch.problems.push({ path: sample.path, reason: res.reason });
      } else {
        addToBatch(batch, sample, res);
      }
      onProgress?.(done, samples.length);
      if (batch.count === batchSize) {
        yield batch;
        batch = newBatch(spec, Math.min(batchSize, samples.length - i - 1));
      }
    }
    if (batch.count > 0 || batch.problems.length > 0) yield trimBatch(batch);
  }

  /** Stop the workers, then hold the cache to its size limit when this decoder wrote into it. */
  async close(): Promise<void> {
    try {
      await this.pool?.close();
    } finally {
      await this.cacheBudget?.settle();
    }
  }
}

function newBatch(spec: ImageSpec, capacity: number): DecodedBatch {
  const size = spec.height * spec.width * spec.channels;
  return {
    spec,
    count: 0,
    pixels: new Uint8Array(Math.max(0, capacity) * size),
    labels: new Int32Array(Math.max(0, capacity)),
    paths: [],
    originalSizes: [],
    problems: [],
    cacheHits: 0,
  };
}

function addToBatch(batch: DecodedBatch, sample: Sample, res: Extract<LoadResult, { ok: true }>): void {
  const size = res.image.data.length;
  batch.pixels.set(res.image.data, batch.count * size);
  batch.labels[batch.count] = sample.label ?? -1;
  batch.paths.push(sample.path);
  batch.originalSizes.push({ width: res.originalWidth, height: res.originalHeight });
  if (res.cached) batch.cacheHits++;
  batch.count++;
}

function trimBatch(batch: DecodedBatch): DecodedBatch {
  const size = batch.spec.height * batch.spec.width * batch.spec.channels;
  return { ...batch, pixels: batch.pixels.subarray(0, batch.count * size), labels: batch.labels.subarray(0, batch.count) };
}

/** Decode every sample into one batch (for data sets that fit in memory). */
export async function decodeAll(samples: readonly Sample[], options: DecodeOptions): Promise<DecodedBatch> {
  const decoder = new Decoder(options);
  try {
    const parts: DecodedBatch[] = [];
    for await (const b of decoder.batches(samples, Math.max(1, samples.length))) parts.push(b);
    return parts.length === 1 ? parts[0]! : concatBatches(options.spec, parts);
  } finally {
    await decoder.close();
  }
}

/** Decode samples as a stream of batches with bounded memory. */
export async function* decodeBatches(samples: readonly Sample[], batchSize: number, options: DecodeOptions): AsyncGenerator<DecodedBatch> {
  const decoder = new Decoder(options);
  try {
    yield* decoder.batches(samples, batchSize);
  } finally {
    await decoder.close();
  }
}

/** Several decoded batches as one. */
export function concatBatches(spec: ImageSpec, parts: DecodedBatch[]): DecodedBatch {
  const out = newBatch(
    spec,
    parts.reduce((n, p) => n + p.count, 0),
  );
  const size = spec.height * spec.width * spec.channels;
  for (const p of parts) {
    out.pixels.set(p.pixels.subarray(0, p.count * size), out.count * size);
    out.labels.set(p.labels.subarray(0, p.count), out.count);
    out.count += p.count;
    out.paths.push(...p.paths);
    out.originalSizes.push(...p.originalSizes);
    out.problems.push(...p.problems);
    out.cacheHits += p.cacheHits;
  }
  return out;
}

/** The images at `indices` of a decoded batch. */
export function subset(b: DecodedBatch, indices: number[]): DecodedBatch {
  const size = b.spec.height * b.spec.width * b.spec.channels;
  const pixels = new Uint8Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  indices.forEach((src, i) => {
    pixels.set(b.pixels.subarray(src * size, (src + 1) * size), i * size);
    labels[i] = b.labels[src]!;
  });
  return {
    spec: b.spec,
    count: indices.length,
    pixels,
    labels,
    paths: indices.map((i) => b.paths[i]!),
    originalSizes: indices.map((i) => b.originalSizes[i]!),
    problems: [],
    cacheHits: 0,
  };
}
