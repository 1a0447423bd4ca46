/**
 * Backend selection for Frugal.
 *
 * - 'auto': tfjs-node ('tensorflow') when the optional @tensorflow/tfjs-node
 *   package loads, else wasm (SIMD), never cpu unless asked for explicitly.
 * - The env var FRUGAL_BACKEND (auto|tensorflow|wasm|cpu) overrides an 'auto'
 *   request.
 *
 * Everything in the project shares ONE tfjs-core instance: tfjs-core, -layers
 * and the backends are all loaded through their package "main" (CommonJS node
 * bundles), which all `require('@tensorflow/tfjs-core')`.
 *
 * Note: the tfjs-core node bundle registers neither gradients nor chained ops
 * (write tf.square(t), not t.square()); tfjs-layers' bundle registers the
 * gradients, so this module imports tfjs-layers before installing Frugal's
 * kernels and gradient overrides (./wasm-kernels.ts, ./training-ops.ts).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { installTrainingKernels } from './wasm-kernels.js';

export { tf };

// Frugal's wasm kernels and gradient overrides are installed as soon as the
// engine is imported (idempotent; valid before or after the wasm backend
// initialises), so code that calls tf.setBackend('wasm') itself still trains.
installTrainingKernels();

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;

export interface BackendInfo {
  /** The backend now active in tfjs-core. */
  name: BackendName;
  /** What was asked for (after applying FRUGAL_BACKEND to 'auto'). */
  requested: BackendPreference;
  /** Worker threads used by the backend's kernels (1 for wasm in Node). */
  threads: number;
  /** Whether wasm runs its SIMD build (false for other backends). */
  simd: boolean;
  /** Why a preferred backend was skipped on the way, if one was. */
  fallbacks: string[];
  versions: Versions;
}

export interface Versions {
  node: string;
  'tfjs-core': string;
  'tfjs-layers': string | null;
  'tfjs-backend-wasm': string | null;
  'tfjs-backend-cpu': string | null;
  'tfjs-node': string | null;
}

export interface BackendProbe {
  name: BackendName;
  usable: boolean;
  reason: string;
  version: string | null;
}

export interface ProbeResult {
  backends: BackendProbe[];
  versions: Versions;
  /** Backend that initBackend('auto') would pick. */
  autoChoice: BackendName;
  wasm: { simd: boolean; threadsSupported: boolean; threads: number; wasmDir: string };
  /** Logical CPU cores Node sees. */
  cpus: number;
}

const require = createRequire(import.meta.url);
const TFJS_NODE = '@tensorflow/tfjs-node';

function packageVersion(pkg: string): string | null {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/** Directory holding the tfjs-backend-wasm .wasm binaries, with a trailing separator. */
export function wasmBinaryDir(): string {
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  return path.dirname(main) + path.sep;
}

function versions(): Versions {
  return {
    node: process.versions.node,
    'tfjs-core': tf.version_core,
    'tfjs-layers': packageVersion('@tensorflow/tfjs-layers'),
    'tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
    'tfjs-backend-cpu': packageVersion('@tensorflow/tfjs-backend-cpu'),
    'tfjs-node': packageVersion(TFJS_NODE),
  };
}

// ---------------------------------------------------------------------------
// Quietness: the cpu backend prints (console.warn, on first tensor write) a
// banner recommending tfjs-node. Mark it as already shown. It goes to stderr,
// but we keep stderr clean too.
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

// ---------------------------------------------------------------------------
let tfjsNodeState: { ok: boolean; reason: string; version: string | null } | null = null;

async function loadTfjsNode(): Promise<{ ok: boolean; reason: string; version: string | null }> {
  if (tfjsNodeState) return tfjsNodeState;
  try {
    // A variable specifier keeps TypeScript from requiring the (optional) types.
    const spec: string = TFJS_NODE;
    await import(spec);
    if (tf.findBackendFactory('tensorflow') == null) {
      tfjsNodeState = {
        ok: false,
        reason: 'tfjs-node loaded but registered no "tensorflow" backend (different tfjs-core instance?)',
        version: packageVersion(TFJS_NODE),
      };
    } else {
      tfjsNodeState = { ok: true, reason: 'loaded', version: packageVersion(TFJS_NODE) };
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    tfjsNodeState = { ok: false, reason: `${TFJS_NODE} not loadable: ${msg}`, version: null };
  }
  return tfjsNodeState;
}

let wasmConfigured = false;
function configureWasm(): void {
  if (wasmConfigured) return;
  // In Node, tfjs-backend-wasm disables its threaded build (the flag probe
  // returns false under IS_NODE), so the SIMD single-thread binary is used.
  tfwasm.setWasmPaths(wasmBinaryDir());
  wasmConfigured = true;
}

async function wasmFeatures(): Promise<{ simd: boolean; threadsSupported: boolean }> {
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const threadsSupported = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  return { simd, threadsSupported };
}

function wasmThreads(): number {
  try {
    return tfwasm.getThreadsCount();
  } catch {
    return 1;
  }
}

async function activate(name: BackendName): Promise<void> {
  if (name === 'wasm') configureWasm();
  installTrainingKernels();
  silenceCpuBanner();
  if (tf.getBackend() === name) return;
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

function resolvePreference(preferred: BackendPreference): BackendPreference {
  if (preferred !== 'auto') return preferred;
  const env = process.env['FRUGAL_BACKEND']?.trim().toLowerCase();
  if (!env) return 'auto';
  if (env === 'auto' || env === 'tensorflow' || env === 'wasm' || env === 'cpu') return env;
  if (env === 'node' || env === 'tfjs-node') return 'tensorflow';
  throw new Error(`FRUGAL_BACKEND must be one of auto|tensorflow|wasm|cpu, got '${env}'`);
}

let chain: Promise<unknown> = Promise.resolve();
/** The latest initialisation that has not failed (pending or done). */
let current: Promise<BackendInfo> | null = null;

/**
 * Selects and initialises a tfjs backend. Idempotent; concurrent calls are
 * serialised. An explicit 'tensorflow' request throws when tfjs-node is not
 * loadable; 'auto' falls back to wasm silently (the reason is in `fallbacks`).
 */
export function initBackend(preferred: BackendPreference = 'auto'): Promise<BackendInfo> {
  const run = chain.then(() => doInit(preferred));
  chain = run.catch(() => undefined);
  current = run;
  run.catch(() => {
    if (current === run) current = null;
  });
  return run;
}

/**
 * The backend `initBackend` chose, or when it was never called, the default one ('auto', or $FRUGAL_BACKEND),
 * started now. The library's entry points call this before they run a model, so a user never has to.
 */
export function ensureBackend(): Promise<BackendInfo> {
  return current ?? initBackend();
}

async function doInit(preferred: BackendPreference): Promise<BackendInfo> {
  const requested = resolvePreference(preferred);
  const fallbacks: string[] = [];
  let name: BackendName;
  if (requested === 'tensorflow' || requested === 'auto') {
    const n = await loadTfjsNode();
    if (n.ok) {
      name = 'tensorflow';
    } else if (requested === 'tensorflow') {
      throw new Error(`backend 'tensorflow' requested but ${n.reason}`);
    } else {
      fallbacks.push(`tensorflow: ${n.reason}`);
      name = 'wasm';
    }
  } else {
    name = requested;
  }
  try {
    await activate(name);
  } catch (e) {
    // tfjs-node loaded but failed to initialise: under 'auto', fall back to wasm.
    if (requested !== 'auto' || name !== 'tensorflow') throw e;
    fallbacks.push(`tensorflow: ${e instanceof Error ? e.message : String(e)}`);
    name = 'wasm';
    await activate(name);
  }
  return currentInfo(requested, fallbacks);
}

async function currentInfo(requested: BackendPreference, fallbacks: string[]): Promise<BackendInfo> {
  const name = tf.getBackend() as BackendName;
  let threads = 1;
  let simd = false;
  if (name === 'wasm') {
    simd = (await wasmFeatures()).simd;
    threads = wasmThreads();
  } else if (name === 'tensorflow') {
    threads = Number(process.env['TF_NUM_INTRAOP_THREADS']) || (await import('node:os')).cpus().length;
  }
  return { name, requested, threads, simd, fallbacks, versions: versions() };
}

/**
 * Reports, for each of tensorflow/wasm/cpu, whether it is usable and why not,
 * plus versions, SIMD/threads. Leaves the active backend as it was (it may
 * initialise wasm/cpu on the way, which is cheap and harmless).
 */
export async function probeBackends(): Promise<ProbeResult> {
  const os = await import('node:os');
  const before = tf.getBackend() as BackendName | undefined;
  const out: BackendProbe[] = [];

  const n = await loadTfjsNode();
  out.push({ name: 'tensorflow', usable: n.ok, reason: n.reason, version: n.version });

  let simd = false;
  let threadsSupported = false;
  try {
    configureWasm();
    ({ simd, threadsSupported } = await wasmFeatures());
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('initialisation failed');
    const t = tf.tidy(() => tf.sum(tf.add(tf.tensor1d([1, 2, 3]), 1)));
    const v = (await t.data())[0];
    t.dispose();
    if (v !== 9) throw new Error(`self-test returned ${v}`);
    out.push({
      name: 'wasm',
      usable: true,
      reason: `ok (${simd ? 'SIMD' : 'no SIMD'}, ${threadsSupported ? 'threads available' : 'single thread: threaded build disabled in Node'})`,
      version: packageVersion('@tensorflow/tfjs-backend-wasm'),
    });
  } catch (e) {
    out.push({ name: 'wasm', usable: false, reason: e instanceof Error ? e.message : String(e), version: packageVersion('@tensorflow/tfjs-backend-wasm') });
  }
  const threads = out[1]!.usable ? wasmThreads() : 0;

  try {
    silenceCpuBanner();
    const ok = await tf.setBackend('cpu');
    if (!ok) throw new Error('initialisation failed');
    out.push({ name: 'cpu', usable: true, reason: 'ok (pure JS, slow; only used when asked for)', version: packageVersion('@tensorflow/tfjs-backend-cpu') });
  } catch (e) {
    out.push({ name: 'cpu', usable: false, reason: e instanceof Error ? e.message : String(e), version: packageVersion('@tensorflow/tfjs-backend-cpu') });
  }

  const autoChoice: BackendName = n.ok ? 'tensorflow' : out[1]!.usable ? 'wasm' : 'cpu';
  // Leave the engine as it was; if no backend was chosen yet, on wasm (or cpu).
  const restore = before ?? (out[1]!.usable ? 'wasm' : 'cpu');
  if (tf.getBackend() !== restore) await tf.setBackend(restore);
  return {
    backends: out,
    versions: versions(),
    autoChoice,
    wasm: { simd, threadsSupported, threads, wasmDir: wasmBinaryDir() },
    cpus: os.cpus().length,
  };
}
