import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { FrugalError } from '../../util/errors.js';
import { manifestBytes } from '../io.js';
import type { Preprocessing } from '../preprocess.js';
import type { TfjsFiles } from './files.js';
import { layersModelConfig } from './layers.js';

/**
 * Teachable Machine (teachablemachine.withgoogle.com) image models, as its "TensorFlow.js" export writes them:
 * `model.json` + `weights.bin` (a TF.js layers model) and `metadata.json` (the class labels and versions).
 * The model is a Sequential of two Sequentials: the features (MobileNet's trunk, a functional model, then a
 * global average pooling) and the head (dense layers ending in a softmax).
 */

/** The file beside model.json that names the classes. */
export const TM_METADATA_FILE = 'metadata.json';

/** The npm package that loads Teachable Machine image models (`tmImage.load(model, metadata)`). */
export const TM_IMAGE_PACKAGE = '@teachablemachine/image';

/** The package version the export was checked against (its `metadata.json` says it, as Teachable Machine's does). */
export const TM_IMAGE_PACKAGE_VERSION = '0.8.5';

/** The image side Teachable Machine's library feeds when the metadata names none. */
export const TM_IMAGE_SIZE = 224;

/**
 * What Teachable Machine's library feeds a model (`capture`: pixel / 127 − 1, after cropping the image to its centre
 * square at `imageSize`), and ml5's `imageClassifier` too: on the 0..1 scale, mean = std = 127/255. It is not quite
 * Keras's [-1, 1] scaling (pixel / 127.5 − 1, mean = std = 0.5), which its MobileNet trunk was trained with: 255
 * becomes 1.0079, not 1.
 */
export const TM_PREPROCESSING: Preprocessing = { mean: [127 / 255, 127 / 255, 127 / 255], std: [127 / 255, 127 / 255, 127 / 255] };

const metadataSchema = z.looseObject({
  labels: z.array(z.string()).min(1),
  packageName: z.string().optional(),
  packageVersion: z.string().optional(),
  tfjsVersion: z.string().optional(),
  tmVersion: z.string().optional(),
  modelName: z.string().optional(),
  timeStamp: z.string().optional(),
  userMetadata: z.record(z.string(), z.unknown()).optional(),
  imageSize: z.number().int().positive().optional(),
  grayscale: z.boolean().optional(),
});

/** A Teachable Machine `metadata.json` (the fields `@teachablemachine/image` reads; others are kept). */
export type TeachableMachineMetadata = z.infer<typeof metadataSchema>;

/**
 * The Teachable Machine metadata beside a model.json in `dir`, or null when there is none (no `metadata.json`, or
 * one that is not Teachable Machine's: neither a `@teachablemachine/…` package name nor a `tmVersion`). A Teachable
 * Machine pose or audio model, or image metadata without labels, is a FrugalError naming the file.
 */
export async function readTeachableMachineMetadata(dir: string): Promise<TeachableMachineMetadata | null> {
  const file = path.join(dir, TM_METADATA_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FrugalError(`${file}: corrupt JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
  const { packageName, tmVersion } = json as { packageName?: unknown; tmVersion?: unknown };
  const fromTeachableMachine = (typeof packageName === 'string' && packageName.startsWith('@teachablemachine/')) || typeof tmVersion === 'string';
  if (!fromTeachableMachine) return null;
  if (packageName !== undefined && packageName !== TM_IMAGE_PACKAGE) {
    throw new FrugalError(
      `${file}: a Teachable Machine model for ${String(packageName)}, not an image model (${TM_IMAGE_PACKAGE}): Frugal takes image models only`,
    );
  }
  const parsed = metadataSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FrugalError(`${file}: invalid Teachable Machine metadata at "${issue.path.join('.') || '(root)'}": ${issue.message}`);
  }
  return parsed.data;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Layers that turn the trunk's map into the vector the head takes (TM: MobileNet V2 pools, V1 flattens). */
const FEATURE_POOLING = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Flatten']);

/** Where a Teachable Machine model nests its trunk: the functional model, and the pooling after it. */
export interface TeachableMachineNesting {
  /** The trunk: a functional model's JSON (`class_name` Model or Functional). */
  trunk: Json;
  /** The layers after it in the features Sequential (global pooling or flatten), as JSON. */
  pooling: Json[];
}

/** The layer list of a Sequential's JSON (its config's `layers`, or the config itself as older Keras wrote it). */
function sequentialLayers(layer: Json): Json[] | null {
  if (layer.class_name !== 'Sequential') return null;
  const layers = Array.isArray(layer.config) ? layer.config : isObject(layer.config) ? layer.config.layers : null;
  return Array.isArray(layers) && layers.every(isObject) ? layers : null;
}

/**
 * The nesting of a Teachable Machine image model in a model.json's topology: a Sequential whose first layer is a
 * Sequential of a functional trunk and its pooling (followed by the head), or null for any other model.
 */
export function teachableMachineNesting(topology: unknown): TeachableMachineNesting | null {
  const root = isObject(topology) && isObject(topology.model_config) ? topology.model_config : topology;
  if (!isObject(root)) return null;
  const features = sequentialLayers(root)?.[0];
  const inner = features ? sequentialLayers(features) : null;
  const trunk = inner?.[0];
  if (!inner || !trunk || (trunk.class_name !== 'Model' && trunk.class_name !== 'Functional')) return null;
  const pooling = inner.slice(1);
  if (!pooling.every((l) => FEATURE_POOLING.has(String(l.class_name)))) return null;
  return { trunk, pooling };
}

/**
 * The trunk of a nested Teachable Machine model as a model of its own: the functional trunk with the pooling after
 * it wired to its output (one flat functional model, so that its layers can be cut and fine-tuned like any
 * other), and only the weights of its layers (the head's are left out). `file` names the model.json in errors.
 */
export function teachableMachineTrunk(files: TfjsFiles, nesting: TeachableMachineNesting, file: string): tf.io.ModelArtifacts {
  const config = nesting.trunk.config;
  const fail = (why: string): never => {
    throw new FrugalError(`${file}: the Teachable Machine trunk ${why}`);
  };
  if (!isObject(config) || !Array.isArray(config.layers) || !Array.isArray(config.output_layers))
    return fail('is not a functional model (no layers or outputs)');
  if (config.output_layers.length !== 1) return fail(`has ${config.output_layers.length} outputs, not one`);
  const [outName, outNode, outTensor] = config.output_layers[0] as [string, number, number];
  let last: [string, number, number] = [outName, outNode, outTensor];
  const pooling = nesting.pooling.map((layer): Json => {
    const name = String((layer.config as Json).name);
    const entry = { ...layer, name, inbound_nodes: [[[...last, {}]]] };
    last = [name, 0, 0];
    return entry;
  });
  const layers = [...(config.layers as Json[]), ...pooling];
  const flat = { ...nesting.trunk, config: { ...config, layers, output_layers: [last] } };
  const names = new Set(layers.map((l) => String(l.name ?? (l.config as Json | undefined)?.name)));
  // Each weight is `<layer>/<weight>` (perhaps under a scope): keep those of the trunk's layers, in their bytes.
  const bytes = new Uint8Array(files.artifacts.weightData as ArrayBuffer);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const spec of files.artifacts.weightSpecs ?? []) {
    const size = manifestBytes([spec]);
    if (names.has(spec.name.split('/').at(-2) ?? '')) {
      specs.push(spec);
      parts.push(bytes.subarray(offset, offset + size));
    }
    offset += size;
  }
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    weightData.set(p, at);
    at += p.length;
  }
  return { modelTopology: layersModelConfig(flat, file), weightSpecs: specs, weightData: weightData.buffer };
}
