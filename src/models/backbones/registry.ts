import type { Preprocessing } from '../preprocess.js';

/** A well-known public pretrained backbone, loadable by name. */
export interface RegistryEntry {
  name: string;
  description: string;
  /** URL of the TF.js model.json (layers or graph format). */
  url: string;
  format: 'layers' | 'graph';
  /** sha256 of model.json, when pinned. */
  sha256?: string;
  size: number;
  channels: 1 | 3;
  preprocessing: Preprocessing;
  /** Feature layer (layers) or output node (graph); default: the layer before the classifier. */
  cut?: string;
}

/** Inputs scaled to [-1, 1] (Keras MobileNet `preprocess_input`). */
const MINUS_ONE_TO_ONE: Preprocessing = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
/** Inputs scaled to [0, 1] (TF Hub image models). */
const ZERO_TO_ONE: Preprocessing = { mean: [0, 0, 0], std: [1, 1, 1] };

const entries: RegistryEntry[] = [
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

export function listPretrained(): RegistryEntry[] {
  return [...registry.values()];
}

/** Add or replace an entry (e.g. a company-internal mirror, or a test server). */
export function registerPretrained(entry: RegistryEntry): void {
  registry.set(entry.name, entry);
}
