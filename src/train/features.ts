import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../util/fs.js';
import { cacheBudget, cacheKindDir, cacheLimit, touchCacheEntry, type CacheBudget } from '../util/cache-dir.js';
import type { Backbone } from '../models/backbones/types.js';

export interface FeatureOptions {
  /**
   * Feature cache: a folder, `true` for the default ($FRUGAL_CACHE/features), `false` for none. The default folder is
   * held to the cache's size limit ($FRUGAL_CACHE_LIMIT; 0: no caching); a folder given here is the caller's, not pruned.
   */
  cache?: boolean | string;
  onProgress?: (done: number, total: number) => void;
}

export interface Features {
  features: Float32Array;
  dim: number;
  count: number;
  /** Images whose features came from the cache. */
  hits: number;
  /** Seconds spent running the backbone (misses only). */
  extractSeconds: number;
}

/** The feature cache of a `cache` option for one id: its folder, and the budget that prunes it (the default folder's). */
function cacheOf(option: boolean | string | undefined, id: string): { dir: string | null; budget: CacheBudget | null } {
  if (option === false) return { dir: null, budget: null };
  if (typeof option === 'string') return { dir: path.join(option, id), budget: null };
  if (cacheLimit() === 0) return { dir: null, budget: null };
  return { dir: path.join(cacheKindDir('features'), id), budget: cacheBudget() };
}

/**
 * A recipe's feature cache: `featureCache` when given, else none when the decoded-image cache is off (`cache:
 * false`: a run that asks for no cache gets none), else the default.
 */
export function featureCacheOf(o: { cache?: boolean | string; featureCache?: boolean | string }): boolean | string | undefined {
  return o.featureCache ?? (o.cache === false ? false : undefined);
}

/**
 * A backbone's features for each image, computed once: each image (each augmented view is an image
 * of its own) is keyed by the hash of its pixels, so a second run — or the same view in another
 * command — reads the features from disk instead of running the backbone again.
 */
export async function extractFeatures(backbone: Backbone, pixels: Uint8Array, count: number, o: FeatureOptions = {}): Promise<Features> {
  return cachedPerImage(backbone.id, backbone.featureDim, pixels, count, (px, n) => backbone.extract(px, n), o);
}

/**
 * Rows of `dim` floats per image from `compute`, cached on disk under `id` by the hash of each
 * image's pixels (backbone features, teacher logits).
 */
export async function cachedPerImage(
  id: string,
  dim: number,
  pixels: Uint8Array,
  count: number,
  compute: (pixels: Uint8Array, count: number) => Promise<Float32Array>,
  o: FeatureOptions = {},
): Promise<Features> {
  const size = pixels.length / Math.max(1, count);
  const { dir, budget } = cacheOf(o.cache, id);
  const out = new Float32Array(count * dim);
  const keys: string[] = [];
  const missing: number[] = [];
  for (let i = 0; i < count; i++) {
    const key = createHash('sha1')
      .update(pixels.subarray(i * size, (i + 1) * size))
      .digest('hex');
    keys.push(key);
    if (!dir) {
      missing.push(i);
      continue;
    }
    try {
      const file = path.join(dir, key.slice(0, 2), `${key}.f32`);
      const buf = await fsp.readFile(file);
      if (buf.length !== dim * 4) throw new Error('size');
      out.set(new Float32Array(buf.buffer, buf.byteOffset, dim), i * dim);
      await touchCacheEntry(file);
    } catch {
      missing.push(i);
    }
  }
  let extractSeconds = 0;
  const batch = 64;
  for (let s = 0; s < missing.length; s += batch) {
    const idx = missing.slice(s, s + batch);
    const chunk = new Uint8Array(idx.length * size);
    idx.forEach((src, j) => chunk.set(pixels.subarray(src * size, (src + 1) * size), j * size));
    const t0 = performance.now();
    const f = await compute(chunk, idx.length);
    extractSeconds += (performance.now() - t0) / 1000;
    for (let j = 0; j < idx.length; j++) {
      const row = f.subarray(j * dim, (j + 1) * dim);
      out.set(row, idx[j]! * dim);
      if (dir) {
        const key = keys[idx[j]!]!;
        // Best effort, like any cache: a failed write (a full disk, a concurrent `frugal cache clear`) is a miss next time.
        const written = await writeFileAtomic(
          path.join(dir, key.slice(0, 2), `${key}.f32`),
          new Uint8Array(row.buffer.slice(row.byteOffset, row.byteOffset + row.byteLength)),
        ).then(
          () => true,
          () => false,
        );
        if (written) budget?.record(row.byteLength);
      }
    }
    o.onProgress?.(count - missing.length + Math.min(s + batch, missing.length), count);
  }
  if (missing.length === 0) o.onProgress?.(count, count);
  await budget?.settle();
  return { features: out, dim, count, hits: count - missing.length, extractSeconds };
}

/** Each part's columns of a count × Σparts feature matrix (a cut list's features, one part per cut point). */
export function splitParts(features: Float32Array, count: number, parts: number[]): Float32Array[] {
  if (parts.length === 1) return [features];
  const dim = parts.reduce((a, b) => a + b, 0);
  let start = 0;
  return parts.map((width) => {
    const out = new Float32Array(count * width);
    for (let i = 0; i < count; i++) out.set(features.subarray(i * dim + start, i * dim + start + width), i * width);
    start += width;
    return out;
  });
}
