import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { FrugalError } from '../../util/errors.js';
import { defined } from '../../util/objects.js';
import { exists } from '../../util/fs.js';
import { RESIZE_POLICIES, type ResizePolicy } from '../../data/decode.js';
import { readModelMeta, readArtifacts, META_FILE, MODEL_FILE } from '../model-dir.js';
import type { Preprocessing } from '../preprocess.js';
import { downloadModel, type DownloadSettings } from './download.js';
import { readTfjsModel, fileDigest, type TfjsFiles } from './files.js';
import { layersBackbone, layersModelConfig, withInputSize } from './layers.js';
import { graphBackbone } from './graph.js';
import { onnxBackbone } from './onnx.js';
import { getPretrained, listPretrained } from './pretrained.js';
import type { Backbone, BackboneRef } from './types.js';
import { POOL_PATTERN, type FeaturePool } from './pooling.js';
import { readTeachableMachineMetadata, teachableMachineNesting, teachableMachineTrunk, TM_PREPROCESSING } from './teachable-machine.js';

/** What the command line (or a sidecar JSON) can say about a backbone. */
export interface BackboneOptions {
  cut?: string;
  /** How a spatial cut output becomes a vector: avg (default), max, gridN. */
  pool?: FeaturePool;
  size?: number;
  height?: number;
  width?: number;
  channels?: 1 | 3;
  resize?: ResizePolicy;
  mean?: number[];
  std?: number[];
  inputName?: string;
  layout?: 'NCHW' | 'NHWC';
  sha256?: string;
  cacheDir?: string;
  /** For a URL or a registry download: timeout, attempts, retry delay, progress (default: `$FRUGAL_DOWNLOAD_TIMEOUT`, else 30 s; 3 attempts). */
  download?: DownloadSettings;
}

/** Sidecar file beside a model (`frugal-backbone.json`, or `<file>.json` for `<file>.onnx`). */
export const SIDECAR = 'frugal-backbone.json';

const sidecarSchema = z.object({
  size: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  width: z.number().int().positive().optional(),
  channels: z.union([z.literal(1), z.literal(3)]).optional(),
  resize: z.enum(RESIZE_POLICIES as [string, ...string[]]).optional(),
  mean: z.array(z.number()).optional(),
  std: z.array(z.number().positive()).optional(),
  inputName: z.string().optional(),
  layout: z.enum(['NCHW', 'NHWC']).optional(),
  cut: z.string().optional(),
  pool: z.string().regex(POOL_PATTERN, 'must be avg, max or grid1 … grid8').optional(),
});

async function readSidecar(file: string): Promise<BackboneOptions> {
  if (!(await exists(file))) return {};
  let json: unknown;
  try {
    json = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (err) {
    throw new FrugalError(`${file}: corrupt JSON (${(err as Error).message})`);
  }
  const parsed = sidecarSchema.safeParse(json);
  if (!parsed.success) throw new FrugalError(`${file}: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
  return parsed.data as BackboneOptions;
}

function inputOf(o: BackboneOptions, fallback?: { height?: number | null; width?: number | null; channels?: number | null }) {
  const height = o.height ?? o.size ?? fallback?.height ?? undefined;
  const width = o.width ?? o.size ?? fallback?.width ?? undefined;
  const channels = (o.channels ?? fallback?.channels ?? 3) as 1 | 3;
  if (!height || !width) throw new FrugalError((n) => `the backbone does not say its input size: give ${n('size')} (or "size" in its sidecar JSON)`);
  return { height, width, channels, resize: o.resize ?? 'squash' };
}

function preprocessingOf(o: BackboneOptions, channels: number, fallback: Preprocessing): Preprocessing {
  const fix = (v: number[] | undefined, d: number[], name: 'mean' | 'std') => {
    const x = v ?? d;
    if (x.length === channels) return x;
    if (x.length === 1) return new Array(channels).fill(x[0]);
    if (channels === 1) return [x.reduce((a, b) => a + b, 0) / x.length];
    throw new FrugalError((n) => `${n(name)} has ${x.length} values for the backbone's ${channels} input channels: give ${channels} (or one for all)`);
  };
  const std = fix(o.std, fallback.std, 'std');
  if (!std.every((v) => Number.isFinite(v) && v > 0)) throw new FrugalError((n) => `${n('std')} must be positive numbers, got ${std.join(', ')}`);
  return { mean: fix(o.mean, fallback.mean, 'mean'), std };
}

const DEFAULT_PRE: Preprocessing = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

/**
 * Load a backbone from: a registry name, a URL (TF.js model.json or .onnx, cached), a Frugal model
 * directory, a TF.js model directory or model.json (layers or graph; a Teachable Machine image export gives its
 * trunk, fed as Teachable Machine feeds it), or an .onnx file.
 * Options override what a sidecar JSON or the registry says.
 */
export async function loadBackbone(spec: string, options: BackboneOptions = {}): Promise<Backbone> {
  const entry = getPretrained(spec);
  if (entry) {
    const main = entry.dir
      ? await builtinModel(entry.dir, entry.sha256)
      : await downloadModel(entry.url!, { ...options.download, sha256: options.sha256 ?? entry.sha256, cacheDir: options.cacheDir });
    const o: BackboneOptions = {
      size: entry.size,
      channels: entry.channels,
      resize: entry.resize,
      mean: entry.preprocessing.mean,
      std: entry.preprocessing.std,
      cut: entry.cut,
      ...defined(options),
    };
    return loadLocal(main, o, spec);
  }
  if (/^https?:\/\//i.test(spec)) {
    const main = await downloadModel(spec, { ...options.download, sha256: options.sha256, cacheDir: options.cacheDir });
    return loadLocal(main, options, spec);
  }
  if (!(await exists(spec))) {
    throw new FrugalError(
      (n) =>
        `${n('backbone', spec)}: not a file, folder, URL or known backbone (known: ${listPretrained()
          .map((e) => e.name)
          .join(', ')})`,
    );
  }
  if (options.sha256) {
    const file = (await fsp.stat(spec)).isDirectory() ? path.join(spec, (await exists(path.join(spec, META_FILE))) ? 'weights.bin' : MODEL_FILE) : spec;
    const digest = await fileDigest(file);
    if (digest !== options.sha256.toLowerCase()) throw new FrugalError(`${file}: sha256 mismatch (expected ${options.sha256}, got ${digest})`);
  }
  return loadLocal(spec, options, spec);
}

/** A model shipped inside the package: its model.json, checked against the registry's digest. */
async function builtinModel(dir: string, sha256?: string): Promise<string> {
  const main = path.join(dir, MODEL_FILE);
  if (!(await exists(main))) throw new FrugalError(`${main}: the built-in model is missing (reinstall frugal)`);
  if (sha256) {
    const digest = await fileDigest(main);
    if (digest !== sha256) throw new FrugalError(`${main}: the built-in model was changed (sha256 ${digest}, expected ${sha256}; reinstall frugal)`);
  }
  return main;
}

async function loadLocal(target: string, options: BackboneOptions, source: string): Promise<Backbone> {
  const stat = await fsp.stat(target);
  if (!stat.isDirectory() && target.toLowerCase().endsWith('.onnx')) {
    const side = { ...(await readSidecar(`${target}.json`)), ...(await readSidecar(path.join(path.dirname(target), SIDECAR))) };
    const o = { ...side, ...defined(options) };
    const input = inputOf(o);
    const ref: Omit<BackboneRef, 'kind'> = {
      source: /^https?:/.test(source) ? source : path.resolve(target),
      input,
      preprocessing: preprocessingOf(o, input.channels, DEFAULT_PRE),
      inputName: o.inputName,
      layout: o.layout,
      sha256: options.sha256,
    };
    return onnxBackbone(target, ref, await fileDigest(target), o.cut, o.pool);
  }
  const dir = stat.isDirectory() ? target : path.dirname(target);
  const modelJson = stat.isDirectory() ? path.join(dir, MODEL_FILE) : target;
  if (stat.isDirectory() && (await exists(path.join(dir, META_FILE)))) {
    // A model directory written by Frugal: its input spec and preprocessing come along.
    const meta = await readModelMeta(dir);
    await readArtifacts(dir, meta); // its files must be the ones its frugal.json was written with
    const files = await readTfjsModel(modelJson);
    const model = await tfl.loadLayersModel(tf.io.fromMemory(files.artifacts));
    const o = { ...defined(options) };
    const ref: Omit<BackboneRef, 'kind'> = {
      source: path.resolve(dir),
      input: { ...meta.input, resize: o.resize ?? meta.input.resize },
      preprocessing: meta.preprocessing,
      sha256: options.sha256,
    };
    return layersBackbone(model, ref, files.digest, o.cut, o.pool);
  }
  if (!(await exists(modelJson))) throw new FrugalError(`${target}: no ${MODEL_FILE} (expected a TF.js model, a Frugal model directory or an .onnx file)`);
  const files = await readTfjsModel(modelJson);
  const o = { ...(await readSidecar(path.join(dir, SIDECAR))), ...defined(options) };
  const isGraph = tfjsModelKind(files.json, modelJson) === 'graph';
  const resolvedSource = /^https?:/.test(source) || getPretrained(source) ? source : path.resolve(modelJson);
  if (isGraph) {
    const input = inputOf(o);
    return graphBackbone(
      files.artifacts,
      { source: resolvedSource, input, preprocessing: preprocessingOf(o, input.channels, DEFAULT_PRE), sha256: options.sha256 },
      files.digest,
      o.cut,
      o.pool,
    );
  }
  const teachableMachine = await teachableMachineBackbone(dir, modelJson, files, o, { source: resolvedSource, sha256: options.sha256 });
  if (teachableMachine) return teachableMachine;
  // Keras-converted topologies (under `model_config`, Keras 2.x configs) are normalised for tfjs-layers first.
  const config = layersModelConfig(files.json.modelTopology, modelJson);
  const height = o.height ?? o.size;
  const width = o.width ?? o.size;
  const resized = height && width ? withInputSize(config, height, width) : null;
  const model = await buildLayersModel({ ...files.artifacts, modelTopology: resized ?? config }, modelJson, resized ? `${height}×${width}` : undefined);
  const shape = model.inputs[0]!.shape;
  const input = inputOf(o, { height: shape[1], width: shape[2], channels: shape[3] });
  return layersBackbone(
    model,
    { source: resolvedSource, input, preprocessing: preprocessingOf(o, input.channels, DEFAULT_PRE), sha256: options.sha256 },
    files.digest,
    o.cut,
    o.pool,
  );
}

/** `resizedTo`: the input size the model was asked to run at, other than its own (named when that fails). */
async function buildLayersModel(artifacts: tf.io.ModelArtifacts, modelJson: string, resizedTo?: string): Promise<tfl.LayersModel> {
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    if (err instanceof FrugalError) throw err;
    const what = resizedTo ? `cannot run the layers model on ${resizedTo} images, other than the size it was saved with` : 'cannot build the layers model';
    throw new FrugalError(`${modelJson}: ${what} (${(err as Error).message})`);
  }
}

/**
 * A Teachable Machine image model (a Teachable Machine `metadata.json` beside its model.json, or its nesting of a
 * trunk model in two Sequentials) as a backbone: its trunk (up to the pooling before its head) for a new head, fed
 * as Teachable Machine's library feeds it: the image's centre square at the metadata's `imageSize` (default 224),
 * pixel / 127 − 1 (`TM_PREPROCESSING`). Options (and a sidecar) override these. Null for any other model.
 */
async function teachableMachineBackbone(
  dir: string,
  modelJson: string,
  files: TfjsFiles,
  o: BackboneOptions,
  ref: Pick<BackboneRef, 'source' | 'sha256'>,
): Promise<Backbone | null> {
  const metadata = await readTeachableMachineMetadata(dir);
  const nesting = teachableMachineNesting(files.json.modelTopology);
  if (!metadata && !nesting) return null;
  const artifacts = nesting
    ? teachableMachineTrunk(files, nesting, modelJson)
    : { ...files.artifacts, modelTopology: layersModelConfig(files.json.modelTopology, modelJson) };
  const model = await buildLayersModel(artifacts, modelJson);
  try {
    const shape = model.inputs[0]!.shape;
    const fromMetadata: BackboneOptions = { resize: 'center-crop', size: metadata?.imageSize, channels: metadata?.grayscale ? 1 : undefined };
    const input = inputOf({ ...defined(fromMetadata), ...o }, { height: shape[1], width: shape[2], channels: shape[3] });
    const backbone = layersBackbone(model, { ...ref, input, preprocessing: preprocessingOf(o, input.channels, TM_PREPROCESSING) }, files.digest, o.cut, o.pool);
    // Nested as Teachable Machine nests it: its frozen ImageNet trunk (a flat model, e.g. Frugal's export, may be fine-tuned).
    return nesting ? { ...backbone, imagenetTrunk: true } : backbone;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/**
 * Whether a TF.js model.json holds a graph model or a layers model: its `format` when it says, else its topology
 * (a graph model's has `node` / `versions`; a layers model's has `class_name`, at the top as TF.js writes it or
 * under `model_config` as the TensorFlow.js converter writes models converted from Keras).
 */
function tfjsModelKind(json: { format?: string; modelTopology: unknown }, file: string): 'graph' | 'layers' {
  const topology = (json.modelTopology ?? {}) as { class_name?: unknown; model_config?: { class_name?: unknown }; node?: unknown; versions?: unknown };
  const layers = typeof topology.class_name === 'string' || typeof topology.model_config?.class_name === 'string';
  const graph = Array.isArray(topology.node) || topology.versions !== undefined;
  if (json.format === 'graph-model') return 'graph';
  if (json.format === 'layers-model') {
    if (!layers) throw new FrugalError(`${file}: format "layers-model", but modelTopology has no class_name (at the top or under model_config)`);
    return 'layers';
  }
  if (layers) return 'layers';
  if (graph) return 'graph';
  throw new FrugalError(
    `${file}: neither a TF.js layers model (no class_name in modelTopology or its model_config) nor a graph model (no node list in modelTopology)`,
  );
}

/** Reload a backbone from the reference stored in a model directory. */
export async function loadBackboneRef(ref: BackboneRef): Promise<Backbone> {
  return loadBackbone(ref.source, {
    cut: ref.cut,
    pool: ref.pool,
    height: ref.input.height,
    width: ref.input.width,
    channels: ref.input.channels,
    resize: ref.input.resize,
    mean: ref.preprocessing.mean,
    std: ref.preprocessing.std,
    inputName: ref.inputName,
    layout: ref.layout,
    sha256: ref.sha256,
  });
}
