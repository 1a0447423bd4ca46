import { promises as fsp, readFileSync } from 'node:fs';
import { decodeImage, type ImageSpec } from './decode.js';
import { DecodedCache, contentHash } from './cache.js';
import type { RawImage } from './image.js';

export type LoadResult = { ok: true; image: RawImage; originalWidth: number; originalHeight: number; cached: boolean } | { ok: false; reason: string };

/**
 * Read, decode and conform one image file, through the decoded-image cache when one is given. Never throws.
 * `syncRead` reads the file with one blocking call instead of four hops through libuv's thread pool (open, stat,
 * read, close): for a decode worker, whose thread has nothing else to do meanwhile.
 */
export async function loadImageFile(file: string, spec: ImageSpec, cacheDir: string | null, syncRead = false): Promise<LoadResult> {
  let bytes: Buffer;
  try {
    bytes = syncRead ? readFileSync(file) : await fsp.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: `unreadable file (${code === 'EISDIR' ? 'a folder, not a file' : (code ?? String(err))})` };
  }
  if (bytes.length === 0) return { ok: false, reason: 'empty file (0 bytes)' };
  const cache = cacheDir ? new DecodedCache(cacheDir) : null;
  const hash = cache ? contentHash(bytes) : '';
  if (cache) {
    const hit = await cache.get(hash, spec);
    if (hit) return { ok: true, ...hit, cached: true };
  }
  try {
    const decoded = await decodeImage(bytes, spec);
    if (cache) await cache.put(hash, spec, decoded).catch(() => undefined);
    return { ok: true, ...decoded, cached: false };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
