import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileAtomic, cacheRoot } from '../util/fs.js';
import type { ImageSpec, Decoded } from './decode.js';

const MAGIC = 0x46524743; // 'FRGC'
const HEADER = 16;

/** Content hash used as the cache key of an encoded file. */
export function contentHash(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/** The default folder of the decoded-image cache. */
export function defaultDecodedCacheDir(): string {
  return path.join(cacheRoot(), 'decoded');
}

/**
 * Decoded pixels on disk, keyed by the encoded file's content hash and the size policy,
 * so a second run (or a renamed copy of a file) does not decode again.
 */
export class DecodedCache {
  constructor(readonly dir: string) {}

  private file(hash: string, spec: ImageSpec): string {
    const key = `${spec.height}x${spec.width}x${spec.channels}-${spec.resize}`;
    return path.join(this.dir, key, hash.slice(0, 2), `${hash}.px`);
  }

  async get(hash: string, spec: ImageSpec): Promise<Decoded | null> {
    let buf: Buffer;
    try {
      buf = await fsp.readFile(this.file(hash, spec));
    } catch {
      return null;
    }
    const size = spec.height * spec.width * spec.channels;
    if (buf.length !== HEADER + size || buf.readUInt32LE(0) !== MAGIC) return null;
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
