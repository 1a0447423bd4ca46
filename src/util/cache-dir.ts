import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { cacheRoot } from './fs.js';
import { OptionError } from './errors.js';

/**
 * The cache folder ($FRUGAL_CACHE, see `cacheRoot`) and its kinds: `decoded` (pixels of decoded images), `features`
 * (a backbone's features, a teacher's logits, per image) and `models` (downloaded backbones). The first two grow with
 * every data set and share a size limit, kept by evicting the least recently used files; models are few, and each
 * would need the network again, so they are neither counted in the limit nor evicted.
 */
export const CACHE_KINDS = ['decoded', 'features', 'models'] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];
/** The file that completes a downloaded model's folder under `models/` (written last, by download.ts). */
export const MODEL_ENTRY_COMPLETE = '.complete.json';
/** The kinds held to the size limit. */
export const LIMITED_CACHE_KINDS: readonly CacheKind[] = ['decoded', 'features'];

/** The environment variable that sets the size limit: a size such as `500MB` or `2GB`; `0` turns caching off. */
export const CACHE_LIMIT_VARIABLE = 'FRUGAL_CACHE_LIMIT';
/**
 * The default limit of decoded images + features together: 2 GiB holds the decoded images and features of tens of
 * thousands of images (a 224-px image is 147 KiB decoded, its features a few KiB per view), several data sets of the
 * size Frugal is for, while staying small beside a laptop's disk.
 */
export const DEFAULT_CACHE_LIMIT = 2 * 1024 ** 3;
/** Pruning evicts down to this fraction of the limit, so that the next prune comes only after a tenth of the limit is written again. */
const LOW_WATER = 0.9;
/** A temporary file (a write in progress) younger than this may be another run's and is left alone; older ones are a crash's leftovers. */
const TEMPORARY_GRACE_MS = 60 * 60 * 1000;

/** The folder of one kind of cache. */
export function cacheKindDir(kind: CacheKind, root = cacheRoot()): string {
  return path.join(root, kind);
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A size such as `0`, `1048576`, `500MB`, `1.5G` or `2GiB` in bytes (K, M, G, T are powers of 1024), or null when it is not one. */
export function parseByteSize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])i?)?b?\s*$/i.exec(text);
  if (!match) return null;
  return Math.floor(Number(match[1]) * UNITS[(match[2] ?? '').toLowerCase()]!);
}

/** Bytes for people: `0 B`, `812 B`, `3.2 MiB`, `2.0 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** The size limit of the decoded-image and feature caches, in bytes: $FRUGAL_CACHE_LIMIT, else `DEFAULT_CACHE_LIMIT`; 0 means no caching. */
export function cacheLimit(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[CACHE_LIMIT_VARIABLE];
  if (text === undefined || text.trim() === '') return DEFAULT_CACHE_LIMIT;
  const bytes = parseByteSize(text);
  if (bytes === null) throw new OptionError(`${CACHE_LIMIT_VARIABLE} must be a size such as 500MB, 2GB or 0 (no caching), got "${text}"`);
  return bytes;
}

/** A file of the cache that Frugal wrote: an entry, or a temporary file of a write (in progress, or left by a crash). */
interface CacheFile {
  file: string;
  bytes: number;
  mtimeMs: number;
  /** The entry it belongs to: the file itself (decoded, features), or its model's folder (models). */
  entry: string;
  temporary: boolean;
}

/** A temporary name: `writeFileAtomic`'s `.<name>.<pid>.<hex>.tmp`, or a download's `.tmp-<key>-<hex>` folder. */
function isTemporaryName(name: string): boolean {
  return (name.startsWith('.') && name.endsWith('.tmp')) || name.startsWith('.tmp-');
}

/** Entry files of each kind: only these (and temporary files) are counted, evicted or cleared; anything else is left alone. */
const ENTRY_FILE: Record<CacheKind, RegExp> = { decoded: /\.px$/, features: /\.f32$/, models: /./ };

/**
 * Frugal's files under one kind's folder, without following links (a link may point outside the cache: it is
 * neither counted nor removed). A file removed meanwhile (by a concurrent run) is just not listed.
 */
async function listCacheFiles(kind: CacheKind, root: string): Promise<{ files: CacheFile[]; dirs: string[] }> {
  const top = cacheKindDir(kind, root);
  const files: CacheFile[] = [];
  const dirs: string[] = [];
  const walk = async (dir: string, entry: string | null, temporary: boolean): Promise<void> => {
    let names;
    try {
      names = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    await Promise.all(
      names.map(async (d) => {
        const file = path.join(dir, d.name);
        const isTemporary = temporary || isTemporaryName(d.name);
        if (d.isDirectory()) {
          // A model's entry is its folder under models/, complete once it holds MODEL_ENTRY_COMPLETE.
          if (kind === 'models' && dir === top && !isTemporary && !(await isFile(path.join(file, MODEL_ENTRY_COMPLETE)))) return;
          dirs.push(file);
          return walk(file, entry ?? (kind === 'models' ? file : null), isTemporary);
        }
        if (!d.isFile() || (!isTemporary && !ENTRY_FILE[kind].test(d.name)) || (kind === 'models' && dir === top)) return;
        try {
          const st = await fsp.lstat(file);
          files.push({ file, bytes: st.size, mtimeMs: st.mtimeMs, entry: entry ?? file, temporary: isTemporary });
        } catch {
          // Removed meanwhile.
        }
      }),
    );
  };
  await walk(top, null, false);
  return { files, dirs };
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fsp.lstat(file)).isFile();
  } catch {
    return false;
  }
}

/** Remove one file found under `dir` (never a folder, never a path outside it); false when it was gone already. */
async function removeCacheFile(dir: string, file: string): Promise<boolean> {
  const rel = path.relative(dir, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return false;
  try {
    await fsp.unlink(file);
    return true;
  } catch {
    return false;
  }
}

function isStale(f: CacheFile, now: number): boolean {
  return f.temporary && now - f.mtimeMs > TEMPORARY_GRACE_MS;
}

export interface CacheKindInfo {
  folder: string;
  bytes: number;
  entries: number;
  /** Counted in the size limit (and evicted least recently used first). */
  limited: boolean;
}

export interface CacheInfo {
  folder: string;
  /** The size limit of the limited kinds together, in bytes (0: no caching). */
  limit: number;
  /** Bytes of the limited kinds together. */
  limitedBytes: number;
  kinds: Record<CacheKind, CacheKindInfo>;
}

function summarize(kind: CacheKind, root: string, files: CacheFile[]): CacheKindInfo {
  return {
    folder: cacheKindDir(kind, root),
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    entries: new Set(files.filter((f) => !f.temporary).map((f) => f.entry)).size,
    limited: LIMITED_CACHE_KINDS.includes(kind),
  };
}

/** The cache folder's size per kind (bytes of its files, entries) and the limit. */
export async function cacheInfo(root = cacheRoot()): Promise<CacheInfo> {
  const limit = cacheLimit();
  const kinds = {} as Record<CacheKind, CacheKindInfo>;
  for (const kind of CACHE_KINDS) kinds[kind] = summarize(kind, root, (await listCacheFiles(kind, root)).files);
  return { folder: root, limit, limitedBytes: LIMITED_CACHE_KINDS.reduce((n, k) => n + kinds[k].bytes, 0), kinds };
}

export interface ClearResult {
  folder: string;
  /** Bytes freed in all. */
  freed: number;
  kinds: Partial<Record<CacheKind, { bytes: number; entries: number }>>;
}

/**
 * Remove every entry of these kinds of cache (default: all), with the folders left empty. Only files Frugal writes
 * there are removed; the temporary files of a run writing meanwhile are left to it.
 */
export async function clearCache(kinds: readonly CacheKind[] = CACHE_KINDS, root = cacheRoot()): Promise<ClearResult> {
  const result: ClearResult = { folder: root, freed: 0, kinds: {} };
  const now = Date.now();
  for (const kind of kinds) {
    const top = cacheKindDir(kind, root);
    const { files, dirs } = await listCacheFiles(kind, root);
    const removed: CacheFile[] = [];
    for (const f of files) if ((!f.temporary || isStale(f, now)) && (await removeCacheFile(top, f.file))) removed.push(f);
    // Folders left empty, deepest first (one a concurrent run writes into again is not empty, and stays).
    for (const dir of dirs.sort((a, b) => b.length - a.length)) await fsp.rmdir(dir).catch(() => undefined);
    const { bytes, entries } = summarize(kind, root, removed);
    result.kinds[kind] = { bytes, entries };
    result.freed += bytes;
  }
  return result;
}

export interface PruneResult {
  /** Bytes of the limited kinds after pruning. */
  bytes: number;
  limit: number;
  /** Entries evicted, and their bytes. */
  evicted: number;
  freed: number;
}

/**
 * Hold the decoded-image and feature caches to the size limit: when they hold more, evict the least recently used
 * files (oldest modification time: a cache hit touches its file) until they hold at most 90% of it. Safe beside
 * concurrent runs: a file another run removes first is skipped, and a file evicted under a run is a cache miss there.
 */
export async function pruneCache(o: { root?: string; limit?: number } = {}): Promise<PruneResult> {
  const root = o.root ?? cacheRoot();
  const limit = o.limit ?? cacheLimit();
  const now = Date.now();
  const candidates: Array<CacheFile & { kind: CacheKind }> = [];
  let bytes = 0;
  for (const kind of LIMITED_CACHE_KINDS) {
    for (const f of (await listCacheFiles(kind, root)).files) {
      if (isStale(f, now)) await removeCacheFile(cacheKindDir(kind, root), f.file);
      else {
        bytes += f.bytes;
        if (!f.temporary) candidates.push({ ...f, kind });
      }
    }
  }
  const result: PruneResult = { bytes, limit, evicted: 0, freed: 0 };
  if (bytes <= limit) return result;
  const target = Math.floor(limit * LOW_WATER);
  candidates.sort((a, b) => a.mtimeMs - b.mtimeMs || a.file.localeCompare(b.file));
  for (const f of candidates) {
    if (result.bytes <= target) break;
    if (await removeCacheFile(cacheKindDir(f.kind, root), f.file)) {
      result.evicted++;
      result.freed += f.bytes;
    }
    // Removed by us or by another run: gone either way.
    result.bytes -= f.bytes;
  }
  return result;
}

/** Mark a cache entry as used now (least-recently-used eviction goes by modification time). Never throws. */
export async function touchCacheEntry(file: string): Promise<void> {
  const now = new Date();
  await fsp.utimes(file, now, now).catch(() => undefined);
}

/**
 * This process's writes into the limited caches of one cache folder, pruning so that they stay under the limit
 * without listing the cache on every write: a prune at the first write (to learn the size), another whenever the
 * size known from the last prune plus the bytes written since passes the limit, and one when a run's writes end
 * (`settle`, after a load or a feature extraction).
 */
export class CacheBudget {
  private knownBytes: number | null = null;
  private written = 0;
  private pruning: Promise<void> | null = null;

  constructor(readonly root: string) {}

  /** Note `bytes` written into the decoded-image or feature cache. */
  record(bytes: number): void {
    this.written += bytes;
    if (!this.pruning && (this.knownBytes === null || this.knownBytes + this.written > safeLimit())) void this.startPrune();
  }

  /** After a run's writes: prune when anything was written since the last prune began. Never throws. */
  async settle(): Promise<void> {
    await this.pruning;
    if (this.written > 0) await this.startPrune();
  }

  /** One prune at a time. */
  private startPrune(): Promise<void> {
    this.pruning ??= this.prune().finally(() => {
      this.pruning = null;
    });
    return this.pruning;
  }

  private async prune(): Promise<void> {
    this.written = 0;
    try {
      this.knownBytes = (await pruneCache({ root: this.root, limit: safeLimit() })).bytes;
    } catch {
      // An unreadable cache folder: the writes failed too, and there is nothing to prune.
    }
  }
}

/** The limit, or the default when $FRUGAL_CACHE_LIMIT changed to something invalid during the run (it was checked when caching began). */
function safeLimit(): number {
  try {
    return cacheLimit();
  } catch {
    return DEFAULT_CACHE_LIMIT;
  }
}

const budgets = new Map<string, CacheBudget>();

/** The process-wide budget of the cache folder `root` (default: $FRUGAL_CACHE). */
export function cacheBudget(root = cacheRoot()): CacheBudget {
  let budget = budgets.get(root);
  if (!budget) budgets.set(root, (budget = new CacheBudget(root)));
  return budget;
}
