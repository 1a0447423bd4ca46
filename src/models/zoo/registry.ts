import type * as tfl from '@tensorflow/tfjs-layers';

/** What every architecture builder takes: input shape, classes and noise settings. */
export interface ArchOptions {
  /** [height, width, channels] */
  inputShape: [number, number, number];
  numClasses: number;
  /** Dropout rate before the classifier. */
  dropout?: number;
  /** Stochastic-depth rate (largest, at the last block; linearly scaled down for earlier blocks). */
  dropPath?: number;
  /** Width multiplier, for architectures that have one. */
  width?: number;
}

export interface ArchInfo {
  name: string;
  description: string;
  build: (options: ArchOptions) => tfl.LayersModel;
}

const registry = new Map<string, ArchInfo>();

/** Register an architecture by name (timm-style registry). */
export function registerArch(info: ArchInfo): void {
  registry.set(info.name, info);
}

export function getArch(name: string): ArchInfo | undefined {
  return registry.get(name);
}

export function listArchs(): ArchInfo[] {
  return [...registry.values()];
}

/**
 * Layer names every zoo model uses, so transfer learning and distillation can find the cut point:
 * `features` is the global-pooling output, `logits` the classifier's pre-softmax output,
 * `probs` the softmax output (the model's output).
 */
export const FEATURES = 'features';
export const LOGITS = 'logits';
export const PROBS = 'probs';
