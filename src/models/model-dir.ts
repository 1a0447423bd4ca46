import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type * as tfl from '@tensorflow/tfjs-layers';
import { FrugalError } from '../util/errors.js';
import { createHash } from 'node:crypto';
import { writeFolderAsWhole, interruptedWriteOf, insideFolder } from '../util/fs.js';
import { RESIZE_POLICIES, type ImageSpec } from '../data/decode.js';
import { serializeModel, deserializeModel, manifestBytes, WEIGHTS_FILE, type LayersArtifacts } from './io.js';
import type { Preprocessing } from './preprocess.js';
import type { BackboneRef } from './backbones/types.js';
import { POOL_PATTERN } from './backbones/pooling.js';

export const META_FILE = 'frugal.json';
export const MODEL_FILE = 'model.json';

const metaSchema = z.object({
  format: z.literal('frugal-model'),
  version: z.literal(1),
  classes: z.array(z.string()).min(2),
  input: z.object({
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    channels: z.union([z.literal(1), z.literal(3)]),
    resize: z.enum(RESIZE_POLICIES as [string, ...string[]]),
  }),
  preprocessing: z.object({ mean: z.array(z.number()), std: z.array(z.number().positive()) }),
  /** Architecture name and options, when the model came from the zoo. */
  arch: z.string().optional(),
  /** The pretrained backbone this model was built on. With `headOnly`, model.json is only the head
   *  (features → probabilities) and the backbone (graph or ONNX) is loaded from this reference. */
  backbone: z
    .object({
      kind: z.enum(['layers', 'graph', 'onnx']),
      source: z.string(),
      sha256: z.string().optional(),
      cut: z.string().optional(),
      pool: z.string().regex(POOL_PATTERN).optional(),
      inputName: z.string().optional(),
      layout: z.enum(['NCHW', 'NHWC']).optional(),
      input: z.object({
        height: z.number(),
        width: z.number(),
        channels: z.union([z.literal(1), z.literal(3)]),
        resize: z.enum(RESIZE_POLICIES as [string, ...string[]]),
      }),
      preprocessing: z.object({ mean: z.array(z.number()), std: z.array(z.number()) }),
    })
    .optional(),
  headOnly: z.boolean().optional(),
  archOptions: z.record(z.string(), z.unknown()).optional(),
  params: z.number().int().nonnegative().optional(),
  /** The size and sha256 of each file of the model (model.json, weights.bin) as written with this frugal.json. */
  files: z.record(z.string(), z.object({ bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })).optional(),
  /** Held-out metrics measured when the model was written. */
  metrics: z.record(z.string(), z.unknown()).optional(),
  /** How it was trained: command, options, seed, history summary. */
  training: z.record(z.string(), z.unknown()).optional(),
  createdAt: z.string().optional(),
});

export type ModelMeta = Omit<z.infer<typeof metaSchema>, 'input' | 'preprocessing' | 'backbone'> & {
  input: ImageSpec;
  preprocessing: Preprocessing;
  backbone?: BackboneRef;
};

export function newMeta(fields: Omit<ModelMeta, 'format' | 'version'>): ModelMeta {
  return { format: 'frugal-model', version: 1, createdAt: new Date().toISOString(), ...fields };
}

export interface LoadedModel {
  dir: string;
  model: tfl.LayersModel;
  meta: ModelMeta;
}

/**
 * Write a model directory: TF.js `model.json` + `weights.bin` (noise layers stripped, loadable by
 * any TF.js runtime) and `frugal.json` (classes, input spec, preprocessing, metrics, training, and the
 * size and sha256 of the other two files). The folder is written as a whole: a folder that already
 * holds a model is rebuilt beside it and swapped in, so a crash leaves the old model or the new one.
 */
export async function saveModelDir(dir: string, model: tfl.LayersModel, meta: ModelMeta): Promise<void> {
  metaSchema.parse(meta);
  const art = await serializeModel(model);
  const modelJson = jsonBytes(art.modelJson);
  const weights = Buffer.from(art.weights.buffer, art.weights.byteOffset, art.weights.byteLength);
  const files = { [MODEL_FILE]: fileRecord(modelJson), [WEIGHTS_FILE]: fileRecord(weights) };
  await writeFolderAsWhole(dir, [
    [WEIGHTS_FILE, weights],
    [MODEL_FILE, modelJson],
    [META_FILE, jsonBytes({ ...meta, files })],
  ]);
}

/**
 * Copy a model from one directory into another, with `alsoFiles` where they exist (a run's artefacts), as a whole
 * (see `saveModelDir`). frugal.json goes last: it completes a directory.
 */
export async function copyModelDir(from: string, to: string, alsoFiles: readonly string[] = []): Promise<void> {
  const files: Array<[string, Buffer]> = [];
  for (const f of [MODEL_FILE, WEIGHTS_FILE, ...alsoFiles, META_FILE]) {
    try {
      files.push([f, await fsp.readFile(path.join(from, f))]);
    } catch {
      if (f === MODEL_FILE || f === WEIGHTS_FILE || f === META_FILE) throw new FrugalError(`${from}: missing ${f}`);
    }
  }
  await writeFolderAsWhole(to, files);
}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, null, 2) + '\n');
}

function fileRecord(bytes: Uint8Array): { bytes: number; sha256: string } {
  return { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** sha256 of a model directory's files (model.json, weights, frugal.json): identifies the model, e.g. a teacher. */
export async function modelDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const f of [MODEL_FILE, WEIGHTS_FILE, META_FILE]) hash.update(await fsp.readFile(path.join(dir, f)).catch(() => Buffer.alloc(0)));
  return hash.digest('hex');
}

/** Read and validate a model directory's `frugal.json`, with clear errors. */
export async function readModelMeta(dir: string): Promise<ModelMeta> {
  let stat;
  try {
    stat = await fsp.stat(dir);
  } catch {
    const previous = await interruptedWriteOf(dir);
    if (previous) {
      throw new FrugalError(
        `${dir}: missing; writing a new model into it was interrupted, and the previous model is in ${previous} (rename it back, or write the model again)`,
      );
    }
    throw new FrugalError(`${dir}: no such model directory`);
  }
  if (!stat.isDirectory()) throw new FrugalError(`${dir}: not a model directory (expected a folder with ${META_FILE} and ${MODEL_FILE})`);
  const metaFile = path.join(dir, META_FILE);
  let raw: string;
  try {
    raw = await fsp.readFile(metaFile, 'utf8');
  } catch {
    throw new FrugalError(`${dir}: not a Frugal model directory (no ${META_FILE})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new FrugalError(`${metaFile}: corrupt JSON (${(err as Error).message})`);
  }
  const parsed = metaSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FrugalError(`${metaFile}: invalid model metadata at "${issue.path.join('.') || '(root)'}": ${issue.message}`);
  }
  return parsed.data as ModelMeta;
}

/**
 * Read `model.json` + weights, checking that the weights file matches the manifest and, when `meta` lists the files
 * it was written with, that both are those files (a folder whose files disagree is refused).
 */
export async function readArtifacts(dir: string, meta?: Pick<ModelMeta, 'files'>): Promise<LayersArtifacts> {
  const modelFile = path.join(dir, MODEL_FILE);
  let modelJson: LayersArtifacts['modelJson'];
  let modelBytes: Buffer;
  try {
    modelBytes = await fsp.readFile(modelFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FrugalError(code === 'ENOENT' ? `${dir}: missing ${MODEL_FILE}` : `${modelFile}: cannot read (${(err as Error).message})`);
  }
  checkRecorded(dir, MODEL_FILE, modelBytes, meta);
  try {
    modelJson = JSON.parse(modelBytes.toString('utf8'));
  } catch (err) {
    throw new FrugalError(`${modelFile}: corrupt JSON (${(err as Error).message})`);
  }
  if (!modelJson?.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new FrugalError(`${modelFile}: not a TF.js layers model (no modelTopology / weightsManifest)`);
  }
  const parts: Uint8Array[] = [];
  for (const group of modelJson.weightsManifest) {
    for (const p of group.paths) {
      const file = insideFolder(dir, p, `${modelFile}: weights file`);
      try {
        parts.push(await fsp.readFile(file));
      } catch {
        throw new FrugalError(`${dir}: missing weights file ${p}`);
      }
    }
  }
  const weights = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  if (modelJson.weightsManifest.length === 1 && modelJson.weightsManifest[0]!.paths.length === 1) {
    checkRecorded(dir, modelJson.weightsManifest[0]!.paths[0]!, weights, meta);
  }
  const expected = manifestBytes(modelJson.weightsManifest.flatMap((g) => g.weights));
  if (weights.length !== expected) {
    throw new FrugalError(`${dir}: weights are corrupt or truncated (${weights.length} bytes, ${MODEL_FILE} expects ${expected})`);
  }
  return { modelJson: { ...modelJson, weightsManifest: [{ paths: [WEIGHTS_FILE], weights: modelJson.weightsManifest.flatMap((g) => g.weights) }] }, weights };
}

/** A file must be the one frugal.json was written with, when it records it. */
function checkRecorded(dir: string, file: string, bytes: Uint8Array, meta: Pick<ModelMeta, 'files'> | undefined): void {
  const recorded = meta?.files?.[file];
  if (!recorded) return;
  const actual = fileRecord(bytes);
  if (actual.bytes !== recorded.bytes || actual.sha256 !== recorded.sha256) {
    throw new FrugalError(
      `${path.join(dir, file)}: not the file ${META_FILE} was written with (${actual.bytes} bytes, sha256 ${actual.sha256.slice(0, 12)}…; ` +
        `recorded ${recorded.bytes} bytes, ${recorded.sha256.slice(0, 12)}…): the folder mixes two models; train or copy the model again`,
    );
  }
}

/** Load a model directory written by Frugal; fails clearly on a wrong or corrupt directory. */
export async function loadModelDir(dir: string): Promise<LoadedModel> {
  const meta = await readModelMeta(dir);
  const art = await readArtifacts(dir, meta);
  let model: tfl.LayersModel;
  try {
    model = await deserializeModel(art);
  } catch (err) {
    throw new FrugalError(`${path.join(dir, MODEL_FILE)}: cannot build the model (${(err as Error).message})`);
  }
  const shape = model.inputs[0]!.shape;
  const { height, width, channels } = meta.input;
  if (meta.headOnly) {
    if (!meta.backbone) throw new FrugalError(`${dir}: ${META_FILE} says headOnly but names no backbone`);
  } else if (shape[1] !== height || shape[2] !== width || shape[3] !== channels) {
    throw new FrugalError(`${dir}: model input [${shape.slice(1).join(', ')}] does not match ${META_FILE} input ${height}×${width}×${channels}`);
  }
  const outputs = model.outputs[0]!.shape[1];
  if (outputs !== meta.classes.length) {
    throw new FrugalError(`${dir}: model has ${outputs} outputs but ${META_FILE} names ${meta.classes.length} classes`);
  }
  return { dir, model, meta };
}
