import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { FrugalError, OptionError, type OptionMessage } from '../../util/errors.js';
import { exists } from '../../util/fs.js';
import { cacheKindDir, MODEL_ENTRY_COMPLETE } from '../../util/cache-dir.js';
import { manifestBytes } from '../io.js';

/** How downloads wait and retry, and what they report while they run. */
export interface DownloadSettings {
  /**
   * Seconds to wait for the server's answer, and for the next bytes once the body flows, before an attempt gives up;
   * default `$FRUGAL_DOWNLOAD_TIMEOUT`, else 30.
   */
  timeoutSeconds?: number;
  /** Tries per file when a failure may pass (no answer, stalled or cut body, refused or reset connection, HTTP 5xx, 429 or 408); default 3, 1 for no retry. */
  attempts?: number;
  /** Wait before the first retry, doubled before each next one; default 1. */
  retryDelaySeconds?: number;
  /** Called with the bytes of `url` received so far (once more with `total` equal to them when the file is complete). */
  onProgress?: (bytes: number, total: number | null, url: string) => void;
  /** Called before each retry: what failed, and how long until the next attempt. */
  onRetry?: (retry: DownloadRetry) => void;
}

export interface DownloadRetry {
  url: string;
  /** The attempt that comes next (2 for the first retry). */
  attempt: number;
  attempts: number;
  reason: string;
  delaySeconds: number;
}

export interface DownloadOptions extends DownloadSettings {
  /** Expected sha256 (hex) of the main file (model.json or the .onnx file). */
  sha256?: string;
  /** Cache folder; default $FRUGAL_CACHE/models. */
  cacheDir?: string;
}

/** Seconds without an answer (or without new bytes) before a download attempt gives up, unless told otherwise. */
export const DEFAULT_DOWNLOAD_TIMEOUT_SECONDS = 30;
export const DEFAULT_DOWNLOAD_ATTEMPTS = 3;
export const DEFAULT_RETRY_DELAY_SECONDS = 1;
/** The environment variable that sets the download timeout (seconds) when no option does. */
export const DOWNLOAD_TIMEOUT_ENV = 'FRUGAL_DOWNLOAD_TIMEOUT';
/** The longest delay a Node timer takes (longer ones fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function modelCacheDir(): string {
  return cacheKindDir('models');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Download a model (a TF.js `model.json` with its weight files, or a single file such as an `.onnx`)
 * into the cache and return the local path of its main file. An entry is complete or absent: files
 * go to a temporary folder that is renamed into place only after every file arrived whole and the
 * sha256 (when given) matched. A complete entry is reused without any network access. Each file gets `attempts`
 * tries against failures that may pass (no answer or no bytes within `timeoutSeconds`, a cut body, a refused or reset
 * connection, HTTP 5xx or 429), `retryDelaySeconds` apart, doubling; a 404, a 403 or a sha256 mismatch fails at once.
 */
export async function downloadModel(url: string, options: DownloadOptions = {}): Promise<string> {
  // Bad settings are reported before anything else, a cached entry or not.
  const o = { ...options, ...downloadSettings(options) };
  const root = o.cacheDir ?? modelCacheDir();
  const key = sha256(new TextEncoder().encode(url)).slice(0, 24);
  const dir = path.join(root, key);
  const mainName = mainFileName(url);
  if (await exists(path.join(dir, MODEL_ENTRY_COMPLETE))) {
    const main = path.join(dir, mainName);
    if (!o.sha256 || sha256(await fsp.readFile(main)) === o.sha256.toLowerCase()) return main;
    // The cached entry does not match the expected hash: replace it.
    await fsp.rm(dir, { recursive: true, force: true });
  }
  await fsp.mkdir(root, { recursive: true });
  const tmp = path.join(root, `.tmp-${key}-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(tmp);
  try {
    const main = await fetchBytes(url, o);
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
          const bytes = await fetchBytes(new URL(p, url).href, o);
          await fsp.mkdir(path.dirname(path.join(tmp, p)), { recursive: true });
          await fsp.writeFile(path.join(tmp, p), bytes);
          files.push(p);
          received += bytes.length;
        }
        const expected = manifestBytes(group.weights);
        if (received !== expected) throw new FrugalError(`${url}: weight files hold ${received} bytes, model.json expects ${expected} (truncated download?)`);
      }
    }
    await fsp.writeFile(
      path.join(tmp, MODEL_ENTRY_COMPLETE),
      JSON.stringify({ url, sha256: sha256(main), files, downloadedAt: new Date().toISOString() }, null, 2),
    );
    try {
      await fsp.rename(tmp, dir);
    } catch (err) {
      // Someone else completed the same entry meanwhile: keep theirs.
      if (!(await exists(path.join(dir, MODEL_ENTRY_COMPLETE)))) throw err;
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

/** The settings in force: the options, then `$FRUGAL_DOWNLOAD_TIMEOUT` for the timeout, then the defaults. Bad values are errors. */
export function downloadSettings(o: DownloadSettings = {}): Required<Pick<DownloadSettings, 'timeoutSeconds' | 'attempts' | 'retryDelaySeconds'>> {
  const timeoutSeconds = o.timeoutSeconds ?? timeoutFromEnv() ?? DEFAULT_DOWNLOAD_TIMEOUT_SECONDS;
  if (!(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0))
    throw new OptionError((n) => `${n('timeoutSeconds')} must be a positive number of seconds, got ${timeoutSeconds}`);
  const attempts = o.attempts ?? DEFAULT_DOWNLOAD_ATTEMPTS;
  if (!(Number.isInteger(attempts) && attempts >= 1)) throw new OptionError((n) => `${n('attempts')} must be a whole number ≥ 1, got ${attempts}`);
  const retryDelaySeconds = o.retryDelaySeconds ?? DEFAULT_RETRY_DELAY_SECONDS;
  if (!(Number.isFinite(retryDelaySeconds) && retryDelaySeconds >= 0))
    throw new OptionError((n) => `${n('retryDelaySeconds')} must be a number of seconds ≥ 0, got ${retryDelaySeconds}`);
  return { timeoutSeconds, attempts, retryDelaySeconds };
}

function timeoutFromEnv(): number | undefined {
  const raw = process.env[DOWNLOAD_TIMEOUT_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (!(Number.isFinite(seconds) && seconds > 0)) throw new OptionError(`${DOWNLOAD_TIMEOUT_ENV} must be a positive number of seconds, got "${raw}"`);
  return seconds;
}

/** Connection errors that may pass on their own (a server restarting, a flaky network), so worth another attempt. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Why one attempt failed, whether another one may succeed, and what to suggest when none is left. */
class AttemptFailure extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly hint: OptionMessage = () => '',
  ) {
    super(message);
  }
}

const waitLonger: OptionMessage = (n) => `; set ${n('timeoutSeconds')} or ${DOWNLOAD_TIMEOUT_ENV} (seconds) to wait longer, or use a local copy`;

/** `url`'s bytes, with a fresh attempt after a failure that may pass, waiting longer before each. */
async function fetchBytes(url: string, o: DownloadSettings & ReturnType<typeof downloadSettings>): Promise<Uint8Array> {
  const { timeoutSeconds, attempts, retryDelaySeconds } = o;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchOnce(url, timeoutSeconds, o.onProgress);
    } catch (err) {
      if (!(err instanceof AttemptFailure)) throw err;
      if (!err.transient || attempt >= attempts) {
        const tried = attempt > 1 ? ` (tried ${attempt} times)` : '';
        throw new FrugalError((n) => `${url}: ${err.message}${tried}${err.hint(n)}`);
      }
      const delaySeconds = retryDelaySeconds * 2 ** (attempt - 1);
      o.onRetry?.({ url, attempt: attempt + 1, attempts, reason: err.message, delaySeconds });
      await new Promise((resolve) => setTimeout(resolve, Math.min(delaySeconds * 1000, MAX_TIMER_MS)));
    }
  }
}

/**
 * One attempt at `url`: gives up when the server does not answer within `timeoutSeconds`, or sends no bytes for that
 * long once the body flows. Its timer is cleared whichever way it ends, so nothing keeps the process alive.
 */
async function fetchOnce(url: string, timeoutSeconds: number, onProgress?: DownloadSettings['onProgress']): Promise<Uint8Array> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const restartTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => {
        timedOut = true;
        controller.abort();
      },
      Math.min(timeoutSeconds * 1000, MAX_TIMER_MS),
    );
  };
  let received = 0;
  let total: number | null = null;
  try {
    restartTimer();
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'follow', signal: controller.signal });
    } catch (err) {
      if (timedOut) throw new AttemptFailure(`no answer within ${timeoutSeconds} s`, true, waitLonger);
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const code = cause?.code;
      throw new AttemptFailure(
        `download failed (${code ?? cause?.message ?? (err as Error).message})`,
        code !== undefined && TRANSIENT_CODES.has(code),
        () => '; no network? a cached copy is used when there is one',
      );
    }
    if (!res.ok) {
      controller.abort(); // the error page is not needed: free the connection
      throw new AttemptFailure(`server answered ${res.status} ${res.statusText}`, res.status >= 500 || res.status === 429 || res.status === 408);
    }
    total = res.headers.get('content-length') ? Number(res.headers.get('content-length')) : null;
    const chunks: Uint8Array[] = [];
    try {
      const reader = res.body!.getReader();
      for (;;) {
        restartTimer();
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.length;
        onProgress?.(received, total, url);
      }
    } catch (err) {
      const of = total !== null ? ` of ${total}` : '';
      if (timedOut) throw new AttemptFailure(`no bytes for ${timeoutSeconds} s after ${received}${of} bytes`, true, waitLonger);
      throw new AttemptFailure(`download interrupted after ${received} bytes${of} (${(err as Error).message})`, true);
    }
    if (total !== null && received !== total) throw new AttemptFailure(`download truncated (${received} of ${total} bytes)`, true);
    if (total === null) onProgress?.(received, received, url);
    const out = new Uint8Array(received);
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  } catch (err) {
    controller.abort();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
