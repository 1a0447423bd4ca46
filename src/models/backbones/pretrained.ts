import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Preprocessing } from '../preprocess.js';
import type { ResizePolicy } from '../../data/decode.js';

/** A well-known pretrained backbone, loadable by name: shipped inside the package, or downloaded once and cached. */
export interface RegistryEntry {
  name: string;
  description: string;
  /** Built in: the model's folder inside the package (loaded with no network). */
  dir?: string;
  /** Else: URL of the TF.js model.json (layers or graph format), downloaded into the cache. */
  url?: string;
  format: 'layers' | 'graph';
  /** sha256 of model.json, when pinned. */
  sha256?: string;
  size: number;
  channels: 1 | 3;
  /** How images reach `size` (default: squash). */
  resize?: ResizePolicy;
  preprocessing: Preprocessing;
  /** Feature layer (layers) or output node (graph); default: the layer before the classifier. */
  cut?: string;
}

/** Inputs scaled to [-1, 1] (Keras MobileNet `preprocess_input`). */
const MINUS_ONE_TO_ONE: Preprocessing = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
/** Inputs scaled to [0, 1] (TF Hub image models). */
const ZERO_TO_ONE: Preprocessing = { mean: [0, 0, 0], std: [1, 1, 1] };

/** The package's `assets/models` folder (found from this file, in `src/` under tsx or in `dist/src/` after tsc). */
function assetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  let dir = here;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'assets', 'models');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  // A broken install: where dist/ expects it; loading a built-in model then says that it is missing.
  return path.join(here, '..', '..', '..', '..', 'assets', 'models');
}

/** The built-in default trunk of `train` and `auto` (a registry name). */
export const BUILTIN_TRUNK = 'mobilenetv2-0.35-imagenet';

const entries: RegistryEntry[] = [
  {
    name: BUILTIN_TRUNK,
    description: 'MobileNet V2, width 0.35, ImageNet, headless TF.js layers trunk (fine-tunable), 1280-d; built in (1.6 MB, Apache-2.0)',
    dir: path.join(assetsDir(), 'mobilenetv2-0.35-imagenet'),
    format: 'layers',
    sha256: '0b4632a1fdb411ce91a35ef7c24ceb51d4ea1d278cbc50a75581a7fc85a74873',
    size: 224,
    channels: 3,
    // The centre square, as ImageNet models are evaluated (and Teachable Machine feeds this trunk): chosen on the
    // real-photo validation tasks of bench/photos-head, where it beat squashing (docs/benchmarks.md).
    resize: 'center-crop',
    preprocessing: MINUS_ONE_TO_ONE,
    cut: 'out_relu',
  },
  {
    name: 'mobilenet-v1-0.25-224',
    description: 'MobileNet V1, width 0.25, ImageNet, TF.js layers model (fine-tunable), 256-d features',
    url: 'https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224/model.json',
    format: 'layers',
    size: 224,
    channels: 3,
    preprocessing: MINUS_ONE_TO_ONE,
    cut: 'conv_pw_13_relu',
  },
  {
    name: 'mobilenet-v2-1.0-224',
    description: 'MobileNet V2, width 1.0, ImageNet, TF Hub feature vector (graph model, frozen), 1280-d',
    url: 'https://tfhub.dev/google/tfjs-model/imagenet/mobilenet_v2_100_224/feature_vector/3/default/1/model.json?tfjs-format=file',
    format: 'graph',
    size: 224,
    channels: 3,
    preprocessing: ZERO_TO_ONE,
  },
  {
    name: 'mobilenet-v3-small-1.0-224',
    description: 'MobileNet V3 small, width 1.0, ImageNet, TF Hub feature vector (graph model, frozen), 1024-d',
    url: 'https://tfhub.dev/google/tfjs-model/imagenet/mobilenet_v3_small_100_224/feature_vector/5/default/1/model.json?tfjs-format=file',
    format: 'graph',
    size: 224,
    channels: 3,
    preprocessing: ZERO_TO_ONE,
  },
];

const registry = new Map(entries.map((e) => [e.name, e]));

export function getPretrained(name: string): RegistryEntry | undefined {
  return registry.get(name);
}

/** The word that asks a training command for no backbone (training from scratch). */
export const NO_BACKBONE = 'none';

/**
 * The backbone a training command transfers from: the one given; `none` means from scratch; when none is
 * given, the built-in trunk, unless a from-scratch architecture was asked for.
 */
export function resolveBackbone(backbone: string | undefined, scratchArch?: string): string | undefined {
  if (backbone === NO_BACKBONE) return undefined;
  if (backbone) return backbone;
  return scratchArch ? undefined : BUILTIN_TRUNK;
}

/** Whether an entry ships inside the package (no network needed). */
export function isBuiltin(entry: RegistryEntry): boolean {
  return entry.dir !== undefined;
}

export function listPretrained(): RegistryEntry[] {
  return [...registry.values()];
}

/** Add or replace an entry (e.g. a company-internal mirror, or a test server). */
export function registerPretrained(entry: RegistryEntry): void {
  registry.set(entry.name, entry);
}
