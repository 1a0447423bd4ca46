import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { downloadModel, type DownloadRetry } from '../../src/models/backbones/download.js';
import { loadBackbone } from '../../src/models/backbones/load.js';
import { FrugalError, OptionError } from '../../src/util/errors.js';
import { tempDir } from '../helpers.js';
import { serveScript } from './fixtures.js';

/** Retries a few milliseconds apart, so that the tests stay quick. */
const QUICK_RETRIES = { retryDelaySeconds: 0.01 };
/** A test that would wait for Node's own 300 s limits fails here instead. */
const LIMIT = { timeout: 30_000 };

/** Cache entries, and temporary folders left behind. */
async function cacheContents(cache: string): Promise<{ entries: string[]; leftovers: string[] }> {
  const names = await fsp.readdir(cache).catch(() => [] as string[]);
  return { entries: names.filter((n) => !n.startsWith('.tmp')), leftovers: names.filter((n) => n.startsWith('.tmp')) };
}

/** Timers keeping the process alive. */
function liveTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

const hang = () => {}; // accept the request, never answer

test('a server that never answers: each attempt gives up after the timeout, then one clear error; no timer left', LIMIT, async () => {
  const cache = tempDir();
  const server = await serveScript(hang);
  try {
    const timersBefore = liveTimers();
    const t0 = performance.now();
    await assert.rejects(downloadModel(`${server.url}/model.json`, { cacheDir: cache, timeoutSeconds: 0.5, attempts: 2, ...QUICK_RETRIES }), (err) => {
      assert.ok(err instanceof FrugalError);
      assert.equal(
        err.message,
        `${server.url}/model.json: no answer within 0.5 s (tried 2 times); set \`timeoutSeconds\` or FRUGAL_DOWNLOAD_TIMEOUT (seconds) to wait longer, or use a local copy`,
      );
      return true;
    });
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(seconds >= 1 && seconds < 5, `gave up after ${seconds.toFixed(2)} s`);
    assert.equal(server.requests.length, 2);
    assert.deepEqual(await cacheContents(cache), { entries: [], leftovers: [] });
    assert.equal(liveTimers(), timersBefore);
    // Through loadBackbone, its `download` settings.
    await assert.rejects(
      loadBackbone(`${server.url}/net.onnx`, { cacheDir: cache, download: { timeoutSeconds: 0.2, attempts: 1 } }),
      /net\.onnx: no answer within 0\.2 s; set/,
    );
  } finally {
    await server.close();
  }
});

test('a server that sends part of the body, then stalls: the idle timeout gives up, naming the bytes received', LIMIT, async () => {
  const cache = tempDir();
  const server = await serveScript((_req, res) => {
    res.writeHead(200, { 'content-length': 1000 });
    res.write(Buffer.alloc(100)); // and no more
  });
  const progress: number[] = [];
  const retries: DownloadRetry[] = [];
  try {
    const t0 = performance.now();
    await assert.rejects(
      downloadModel(`${server.url}/net.onnx`, {
        cacheDir: cache,
        timeoutSeconds: 0.5,
        ...QUICK_RETRIES,
        onProgress: (bytes) => progress.push(bytes),
        onRetry: (r) => retries.push(r),
      }),
      /net\.onnx: no bytes for 0\.5 s after 100 of 1000 bytes \(tried 3 times\); set `timeoutSeconds` or FRUGAL_DOWNLOAD_TIMEOUT/,
    );
    assert.ok((performance.now() - t0) / 1000 < 6);
    assert.equal(server.requests.length, 3);
    assert.deepEqual(progress, [100, 100, 100]);
    assert.deepEqual(
      retries.map((r) => [r.attempt, r.attempts, r.reason, r.delaySeconds]),
      [
        [2, 3, 'no bytes for 0.5 s after 100 of 1000 bytes', 0.01],
        [3, 3, 'no bytes for 0.5 s after 100 of 1000 bytes', 0.02],
      ],
    );
    assert.deepEqual(await cacheContents(cache), { entries: [], leftovers: [] });
  } finally {
    await server.close();
  }
});

test('HTTP 503 twice, then the file (and 429 once for a weight file): retried, and the cache entry is complete', LIMIT, async () => {
  const cache = tempDir();
  const weights = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
  const modelJson = JSON.stringify({
    format: 'layers-model',
    modelTopology: {},
    weightsManifest: [{ paths: ['shard.bin'], weights: [{ name: 'w', shape: [4], dtype: 'float32' }] }],
  });
  const seen = new Map<string, number>();
  const server = await serveScript((req, res) => {
    const n = (seen.get(req.url!) ?? 0) + 1;
    seen.set(req.url!, n);
    if (req.url === '/model.json') {
      if (n <= 2) return res.writeHead(503).end('busy');
      return res.writeHead(200, { 'content-length': Buffer.byteLength(modelJson) }).end(modelJson);
    }
    if (n === 1) return res.writeHead(429).end('slow down');
    res.writeHead(200); // chunked: no content-length
    res.end(weights);
  });
  const retries: DownloadRetry[] = [];
  const lastProgress = new Map<string, [number, number | null]>();
  try {
    const timersBefore = liveTimers();
    const main = await downloadModel(`${server.url}/model.json`, {
      cacheDir: cache,
      ...QUICK_RETRIES,
      onRetry: (r) => retries.push(r),
      onProgress: (bytes, total, url) => lastProgress.set(url, [bytes, total]),
    });
    assert.deepEqual(server.requests, ['/model.json', '/model.json', '/model.json', '/shard.bin', '/shard.bin']);
    assert.deepEqual(
      retries.map((r) => [path.basename(r.url), r.attempt, r.reason]),
      [
        ['model.json', 2, 'server answered 503 Service Unavailable'],
        ['model.json', 3, 'server answered 503 Service Unavailable'],
        ['shard.bin', 2, 'server answered 429 Too Many Requests'],
      ],
    );
    // The last report of each file says it is complete, the chunked one too.
    assert.deepEqual(lastProgress.get(`${server.url}/model.json`), [modelJson.length, modelJson.length]);
    assert.deepEqual(lastProgress.get(`${server.url}/shard.bin`), [16, 16]);
    const dir = path.dirname(main);
    assert.equal(await fsp.readFile(main, 'utf8'), modelJson);
    assert.deepEqual(await fsp.readFile(path.join(dir, 'shard.bin')), weights);
    const complete = JSON.parse(await fsp.readFile(path.join(dir, '.complete.json'), 'utf8')) as { files: string[]; sha256: string };
    assert.deepEqual(complete.files, ['model.json', 'shard.bin']);
    assert.equal(complete.sha256, createHash('sha256').update(modelJson).digest('hex'));
    assert.deepEqual(await cacheContents(cache), { entries: [path.basename(dir)], leftovers: [] });
    assert.equal(liveTimers(), timersBefore);
    // Reused from the cache: no request.
    assert.equal(await downloadModel(`${server.url}/model.json`, { cacheDir: cache }), main);
    assert.equal(server.requests.length, 5);
  } finally {
    await server.close();
  }
});

test('only failures that may pass are retried: 404, 403 and a sha256 mismatch fail at once, a 500 is tried 3 times', LIMIT, async () => {
  const cache = tempDir();
  const server = await serveScript((req, res) => {
    if (req.url === '/missing.onnx') return res.writeHead(404).end();
    if (req.url === '/forbidden.onnx') return res.writeHead(403).end();
    if (req.url === '/broken.onnx') return res.writeHead(500).end();
    res.writeHead(200).end('onnx bytes');
  });
  try {
    const t0 = performance.now();
    // The default retry delay (1 s): any retry would show in the time taken.
    await assert.rejects(downloadModel(`${server.url}/missing.onnx`, { cacheDir: cache }), /missing\.onnx: server answered 404 Not Found$/);
    await assert.rejects(downloadModel(`${server.url}/forbidden.onnx`, { cacheDir: cache }), /forbidden\.onnx: server answered 403 Forbidden$/);
    await assert.rejects(downloadModel(`${server.url}/net.onnx`, { cacheDir: cache, sha256: '0'.repeat(64) }), /net\.onnx: sha256 mismatch/);
    assert.ok(performance.now() - t0 < 900, `took ${(performance.now() - t0).toFixed(0)} ms`);
    assert.deepEqual(server.requests, ['/missing.onnx', '/forbidden.onnx', '/net.onnx']);
    await assert.rejects(
      downloadModel(`${server.url}/broken.onnx`, { cacheDir: cache, ...QUICK_RETRIES }),
      /broken\.onnx: server answered 500 Internal Server Error \(tried 3 times\)$/,
    );
    assert.equal(server.requests.filter((r) => r === '/broken.onnx').length, 3);
    assert.deepEqual(await cacheContents(cache), { entries: [], leftovers: [] });
  } finally {
    await server.close();
  }
  // Nobody listens any more: a refused connection is retried too.
  await assert.rejects(
    downloadModel(`${server.url}/net.onnx`, { cacheDir: cache, ...QUICK_RETRIES }),
    /net\.onnx: download failed \(ECONNREFUSED\) \(tried 3 times\); no network\?/,
  );
});

test('FRUGAL_DOWNLOAD_TIMEOUT sets the timeout when no option does; bad values are clear errors before any request', LIMIT, async () => {
  const cache = tempDir();
  const server = await serveScript(hang);
  const url = `${server.url}/model.json`;
  try {
    process.env.FRUGAL_DOWNLOAD_TIMEOUT = '0.3';
    const t0 = performance.now();
    await assert.rejects(downloadModel(url, { cacheDir: cache, attempts: 1 }), /model\.json: no answer within 0\.3 s; set/);
    assert.ok((performance.now() - t0) / 1000 < 3);
    // The option wins over the variable.
    await assert.rejects(downloadModel(url, { cacheDir: cache, attempts: 1, timeoutSeconds: 0.2 }), /no answer within 0\.2 s/);
    assert.equal(server.requests.length, 2);
    for (const bad of ['abc', '0', '-1', 'Infinity']) {
      process.env.FRUGAL_DOWNLOAD_TIMEOUT = bad;
      await assert.rejects(downloadModel(url, { cacheDir: cache }), (err) => {
        assert.ok(err instanceof OptionError);
        assert.equal(err.message, `FRUGAL_DOWNLOAD_TIMEOUT must be a positive number of seconds, got "${bad}"`);
        return true;
      });
    }
    delete process.env.FRUGAL_DOWNLOAD_TIMEOUT;
    await assert.rejects(downloadModel(url, { cacheDir: cache, timeoutSeconds: 0 }), /`timeoutSeconds` must be a positive number of seconds, got 0/);
    await assert.rejects(downloadModel(url, { cacheDir: cache, attempts: 0 }), /`attempts` must be a whole number ≥ 1, got 0/);
    await assert.rejects(downloadModel(url, { cacheDir: cache, retryDelaySeconds: -1 }), /`retryDelaySeconds` must be a number of seconds ≥ 0/);
    assert.equal(server.requests.length, 2);
  } finally {
    delete process.env.FRUGAL_DOWNLOAD_TIMEOUT;
    await server.close();
  }
});
