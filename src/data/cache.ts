import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../util/fs.js';
import { cacheKindDir, touchCacheEntry } from '../util/cache-dir.js';
import type { ImageSpec, Decoded } from './decode.js';

const MAGIC = 0x46524743; // 'FRGC'
const HEADER = 16;

/** Content hash used as the cache key of an encoded file. */
export function contentHash(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/** The default folder of the decoded-image cache. */
export function defaultDecodedCacheDir(): string {
  return cacheKindDir('decoded');
}

/** Bytes of one entry of the decoded-image cache. */
export function decodedEntryBytes(spec: ImageSpec): number {
  return HEADER + spec.height * spec.width * spec.channels;
}

/**
 * Decoded pixels on disk, keyed by the encoded file's content hash and the size policy,
 * so a second run (or a renamed copy of a file) does not decode again. A hit touches its file (the cache's size
 * limit evicts the least recently used files, util/cache-dir); a file removed meanwhile is a miss.
 */
export class DecodedCache {
  constructor(readonly dir: string) {}

  private file(hash: string, spec: ImageSpec): string {
    const key = `${spec.height}x${spec.width}x${spec.channels}-${spec.resize}`;
    return path.join(this.dir, key, hash.slice(0, 2), `${hash}.px`);
  }

  async get(hash: string, spec: ImageSpec): Promise<Decoded | null> {
    const file = this.file(hash, spec);
    let buf: Buffer;
    try {
      buf = await fsp.readFile(file);
    } catch {
      return null;
    }
    const size = spec.height * spec.width * spec.channels;
    if (buf.length !== HEADER + size || buf.readUInt32LE(0) !== MAGIC) return null;
    await touchCacheEntry(file);
    return {
      image: { data: new Uint8Array(buf.buffer, buf.byteOffset + HEADER, size), height: spec.height, width: spec.width, channels: spec.channels },
      originalWidth: buf.readUInt32LE(4),
      originalHeight: buf.readUInt32LE(8),
    };
  }

  async put(hash: string, spec: ImageSpec, decoded: Decoded): Promise<void> {
    const buf = Buffer.alloc(HEADER + decoded.image.data.length);
    buf.writeUInt32LE(MAGIC, 0);
    buf.writeUInt32LE(decoded.originalWidth, 4);
    buf.writeUInt32LE(decoded.originalHeight, 8);
    buf.set(decoded.image.data, HEADER);
    await writeFileAtomic(this.file(hash, spec), buf);
  }
}
