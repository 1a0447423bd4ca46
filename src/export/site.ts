import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { FrugalError } from '../util/errors.js';
import { readModelMeta, readArtifacts, META_FILE, MODEL_FILE } from '../models/model-dir.js';
import { WEIGHTS_FILE } from '../models/io.js';
import { assertWholeLayersModel } from './tfjs.js';

const require = createRequire(import.meta.url);
/** The demo page's own files (index.html, app.js), shipped in the package. */
const SITE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'export', 'site');

const VENDOR: Array<[pkg: string, file: string]> = [
  ['@tensorflow/tfjs-core', 'tf-core.min.js'],
  ['@tensorflow/tfjs-layers', 'tf-layers.min.js'],
  ['@tensorflow/tfjs-backend-cpu', 'tf-backend-cpu.min.js'],
  ['@tensorflow/tfjs-backend-wasm', 'tf-backend-wasm.min.js'],
  ['@tensorflow/tfjs-backend-wasm', 'tfjs-backend-wasm.wasm'],
  ['@tensorflow/tfjs-backend-wasm', 'tfjs-backend-wasm-simd.wasm'],
  ['@tensorflow/tfjs-backend-wasm', 'tfjs-backend-wasm-threaded-simd.wasm'],
];

/**
 * Write the browser demo as a static site: index.html, app.js, TF.js bundles, and the model
 * (model.json, weights, frugal.json) — it works from any static host, or `frugal serve`.
 */
export async function exportSite(modelDir: string, out: string): Promise<{ out: string; files: string[] }> {
  const meta = await readModelMeta(modelDir);
  assertWholeLayersModel(modelDir, meta, 'the browser');
  await readArtifacts(modelDir, meta); // validates model.json against the weights and frugal.json's file list
  await fsp.mkdir(path.join(out, 'vendor'), { recursive: true });
  await fsp.mkdir(path.join(out, 'model'), { recursive: true });
  const files: string[] = [];
  const copy = async (src: string, rel: string) => {
    await fsp.copyFile(src, path.join(out, rel));
    files.push(rel);
  };
  for (const f of ['index.html', 'app.js']) await copy(path.join(SITE, f), f);
  for (const [pkg, file] of VENDOR) await copy(path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'dist', file), path.join('vendor', file));
  for (const f of [MODEL_FILE, WEIGHTS_FILE, META_FILE]) await copy(path.join(modelDir, f), path.join('model', f));
  return { out, files };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
};

/** Serve a folder over HTTP on the loopback interface (or `host`). */
export async function serveStatic(root: string, port = 0, host = '127.0.0.1'): Promise<{ url: string; close: () => Promise<void> }> {
  const base = path.resolve(root);
  const serveFile = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    let rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (rel.endsWith('/')) rel += 'index.html';
    const file = path.resolve(base, '.' + rel);
    if (!file.startsWith(base + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await fsp.readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  };
  const server = http.createServer((req, res) => void serveFile(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new FrugalError(`cannot listen on ${host}:${port} (${(err as NodeJS.ErrnoException).code})`)));
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return { url: `http://${host}:${address.port}/`, close: () => new Promise((r) => server.close(() => r())) };
}
