import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { FrugalError } from '../../util/errors.js';
import { cacheRoot, exists } from '../../util/fs.js';

export interface DownloadOptions {
  /** Expected sha256 (hex) of the main file (model.json or the .onnx file). */
  sha256?: string;
  /** Cache folder; default $FRUGAL_CACHE/models. */
  cacheDir?: string;
  /** Called with bytes received so far. */
  onProgress?: (bytes: number, total: number | null) => void;
}

const COMPLETE = '.complete.json';

export function modelCacheDir(): string {
  return path.join(cacheRoot(), 'models');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Download a model (a TF.js `model.json` with its weight files, or a single file such as an `.onnx`)
 * into the cache and return the local path of its main file. An entry is complete or absent: files
 * go to a temporary folder that is renamed into place only after every file arrived whole and the
 * sha256 (when given) matched. A complete entry is reused without any network access.
 */
export async function downloadModel(url: string, o: DownloadOptions = {}): Promise<string> {
  const root = o.cacheDir ?? modelCacheDir();
  const key = sha256(new TextEncoder().encode(url)).slice(0, 24);
  const dir = path.join(root, key);
  const mainName = mainFileName(url);
  if (await exists(path.join(dir, COMPLETE))) {
    const main = path.join(dir, mainName);
    if (!o.sha256 || sha256(await fsp.readFile(main)) === o.sha256.toLowerCase()) return main;
    // The cached entry does not match the expected hash: replace it.
    await fsp.rm(dir, { recursive: true, force: true });
  }
  await fsp.mkdir(root, { recursive: true });
  const tmp = path.join(root, `.tmp-${key}-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(tmp);
  try {
    const main = await fetchBytes(url, o.onProgress);
    if (o.sha256 && sha256(main) !== o.sha256.toLowerCase()) {
      throw new FrugalError(`${url}: sha256 mismatch (expected ${o.sha256.toLowerCase()}, got ${sha256(main)}); nothing was cached`);
    }
    await fsp.writeFile(path.join(tmp, mainName), main);
    const files = [mainName];
    if (mainName.endsWith('.json')) {
      let manifest: { weightsManifest?: Array<{ paths: string[]; weights: Array<{ shape: number[]; dtype: string; quantization?: { dtype: string } }> }> };
      try {
        manifest = JSON.parse(new TextDecoder().decode(main));
      } catch {
        throw new FrugalError(`${url}: not a TF.js model.json (invalid JSON)`);
      }
      for (const group of manifest.weightsManifest ?? []) {
        let received = 0;
        for (const p of group.paths) {
          if (p.includes('..') || path.isAbsolute(p)) throw new FrugalError(`${url}: weight path "${p}" leaves the model folder`);
          const bytes = await fetchBytes(new URL(p, url).href, o.onProgress);
          await fsp.mkdir(path.dirname(path.join(tmp, p)), { recursive: true });
          await fsp.writeFile(path.join(tmp, p), bytes);
          files.push(p);
          received += bytes.length;
        }
        const expected = group.weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * bytesPer(w.quantization?.dtype ?? w.dtype), 0);
        if (received !== expected) throw new FrugalError(`${url}: weight files hold ${received} bytes, model.json expects ${expected} (truncated download?)`);
      }
    }
    await fsp.writeFile(path.join(tmp, COMPLETE), JSON.stringify({ url, sha256: sha256(main), files, downloadedAt: new Date().toISOString() }, null, 2));
    try {
      await fsp.rename(tmp, dir);
    } catch (err) {
      // Someone else completed the same entry meanwhile: keep theirs.
      if (!(await exists(path.join(dir, COMPLETE)))) throw err;
      await fsp.rm(tmp, { recursive: true, force: true });
    }
    return path.join(dir, mainName);
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

function mainFileName(url: string): string {
  const last = new URL(url).pathname.split('/').pop() || 'model.json';
  return /\.(json|onnx)$/i.test(last) ? last : 'model.json';
}

function bytesPer(dtype: string): number {
  return dtype === 'uint8' || dtype === 'bool' ? 1 : dtype === 'uint16' || dtype === 'float16' ? 2 : 4;
}

async function fetchBytes(url: string, onProgress?: (bytes: number, total: number | null) => void): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new FrugalError(
      `${url}: download failed (${cause?.code ?? cause?.message ?? (err as Error).message}); no network? a cached copy is used when there is one`,
    );
  }
  if (!res.ok) throw new FrugalError(`${url}: server answered ${res.status} ${res.statusText}`);
  const total = res.headers.get('content-length') ? Number(res.headers.get('content-length')) : null;
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.length;
      onProgress?.(received, total);
    }
  } catch (err) {
    throw new FrugalError(`${url}: download interrupted after ${received} bytes${total ? ` of ${total}` : ''} (${(err as Error).message})`);
  }
  if (total !== null && received !== total) throw new FrugalError(`${url}: download truncated (${received} of ${total} bytes)`);
  const out = new Uint8Array(received);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
