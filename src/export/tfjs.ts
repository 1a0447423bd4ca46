import * as path from 'node:path';
import { FrugalError } from '../util/errors.js';
import { readModelMeta, readArtifacts, copyModelDir, META_FILE, MODEL_FILE, type ModelMeta } from '../models/model-dir.js';
import { WEIGHTS_FILE } from '../models/io.js';

/** What `exportTfjs` wrote. */
export interface TfjsExport {
  format: 'tfjs';
  out: string;
  files: string[];
}

/** An export never writes into the model's own folder (it would replace the model's files). */
export function assertOutsideModel(modelDir: string, out: string): void {
  if (path.resolve(out) === path.resolve(modelDir))
    throw new FrugalError((n) => `${n('out', out)} is the model's own folder: export into another folder (the model's files would be replaced)`);
}

/**
 * A model whose model.json is only its head (`headOnly`: the backbone runs outside TF.js, a graph or ONNX model) is
 * no TF.js model on its own: a FrugalError naming the folder, the backbone and `target`, what cannot run it.
 */
export function assertWholeLayersModel(modelDir: string, meta: ModelMeta, target: string): void {
  if (!meta.headOnly) return;
  const backbone = meta.backbone ? `${meta.backbone.source} (${meta.backbone.kind})` : 'not named';
  throw new FrugalError(
    `${modelDir}: its ${MODEL_FILE} is only the head; its backbone, ${backbone}, is not a TF.js layers model, so ${target} cannot run it; ` +
      'train it on a TF.js layers backbone (the built-in trunk, a Teachable Machine export) or from scratch',
  );
}

/**
 * Export a model as its TF.js files: model.json and weights.bin (loadable by any TF.js runtime, `tf.loadLayersModel`)
 * and frugal.json (classes, input size, preprocessing), checked against each other first. The folder written is a
 * Frugal model folder too; it is written as a whole (see `saveModelDir`).
 */
export async function exportTfjs(modelDir: string, out: string): Promise<TfjsExport> {
  assertOutsideModel(modelDir, out);
  const meta = await readModelMeta(modelDir);
  assertWholeLayersModel(modelDir, meta, 'TF.js');
  await readArtifacts(modelDir, meta); // model.json against its weights and against frugal.json's file list
  await copyModelDir(modelDir, out);
  return { format: 'tfjs', out, files: [MODEL_FILE, WEIGHTS_FILE, META_FILE] };
}
