import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { FrugalError } from '../../util/errors.js';
import { manifestBytes } from '../io.js';
import { insideFolder } from '../../util/fs.js';

export interface TfjsFiles {
  json: {
    format?: string;
    modelTopology: unknown;
    weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
    signature?: unknown;
    userDefinedMetadata?: Record<string, unknown>;
    modelInitializer?: unknown;
  };
  artifacts: tf.io.ModelArtifacts;
  /** sha256 of model.json and the weights together. */
  digest: string;
}

/** Read a TF.js model.json and its weight files from disk (layers or graph format). */
export async function readTfjsModel(modelJson: string): Promise<TfjsFiles> {
  let text: string;
  try {
    text = await fsp.readFile(modelJson, 'utf8');
  } catch {
    throw new FrugalError(`${modelJson}: cannot read model.json`);
  }
  let json: TfjsFiles['json'];
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FrugalError(`${modelJson}: corrupt JSON (${(err as Error).message})`);
  }
  if (!json?.modelTopology || !Array.isArray(json.weightsManifest))
    throw new FrugalError(`${modelJson}: not a TF.js model (no modelTopology / weightsManifest)`);
  const hash = createHash('sha256').update(text);
  const parts: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      try {
        const bytes = await fsp.readFile(insideFolder(path.dirname(modelJson), p, `${modelJson}: weights file`));
        hash.update(bytes);
        parts.push(bytes);
      } catch (err) {
        if (err instanceof FrugalError) throw err;
        throw new FrugalError(`${modelJson}: missing weights file ${p}`);
      }
    }
  }
  const weights = Buffer.concat(parts);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const expected = manifestBytes(specs);
  // String tensors (graph models only) have no fixed size; every other dtype does.
  if (!specs.some((w) => w.dtype === 'string') && weights.length !== expected) {
    throw new FrugalError(
      `${modelJson}: its weight files hold ${weights.length} bytes, but it declares ${expected} (${weights.length < expected ? 'truncated' : 'from another model'}?)`,
    );
  }
  return {
    json,
    digest: hash.digest('hex'),
    artifacts: {
      modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
      format: json.format,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
      signature: json.signature as tf.io.ModelArtifacts['signature'],
      userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'],
      modelInitializer: json.modelInitializer as tf.io.ModelArtifacts['modelInitializer'],
    },
  };
}

export async function fileDigest(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fsp.readFile(file))
    .digest('hex');
}
