import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../util/rng.js';

/**
 * Training-time noise layers (the "noise" of Noisy Student): dropout and stochastic depth.
 * Their random masks come from one seeded stream, so a training run is repeatable given its seed
 * (tfjs's own Dropout draws from an unseeded generator). At inference they are the identity, and
 * saved models leave them out (see `stripNoiseLayers`).
 */
let noiseRng = new Rng(0);

/** Seed the stream that dropout and stochastic-depth masks are drawn from. */
export function seedNoise(seed: number): void {
  noiseRng = new Rng(seed);
}

function uniformMask(shape: number[], keep: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const scale = 1 / keep;
  for (let i = 0; i < n; i++) data[i] = noiseRng.next() < keep ? scale : 0;
  return tf.tensor(data, shape);
}

function isTraining(kwargs: Record<string, unknown>): boolean {
  return kwargs['training'] === true;
}

interface RateArgs {
  rate: number;
  name?: string;
}

/** Inverted dropout: zeroes each unit with probability `rate` while training. */
export class NoiseDropout extends tfl.layers.Layer {
  static className = 'FrugalDropout';
  readonly rate: number;

  constructor(args: RateArgs) {
    super({ name: args.name });
    this.rate = args.rate;
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (!isTraining(kwargs) || this.rate <= 0) return tf.clone(x);
    return tf.tidy(() => tf.mul(x, uniformMask(x.shape, 1 - this.rate)));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}

/** Stochastic depth: drops a whole residual branch per sample with probability `rate` while training. */
export class NoiseDropPath extends tfl.layers.Layer {
  static className = 'FrugalDropPath';
  readonly rate: number;

  constructor(args: RateArgs) {
    super({ name: args.name });
    this.rate = args.rate;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (!isTraining(kwargs) || this.rate <= 0) return tf.clone(x);
    const shape = [x.shape[0]!, ...x.shape.slice(1).map(() => 1)];
    return tf.tidy(() => tf.mul(x, uniformMask(shape, 1 - this.rate)));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}

tf.serialization.registerClass(NoiseDropout);
tf.serialization.registerClass(NoiseDropPath);

export const NOISE_CLASS_NAMES = new Set([
  NoiseDropout.className,
  NoiseDropPath.className,
  'Dropout',
  'SpatialDropout1D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
]);

export function dropout(rate: number, name?: string): NoiseDropout {
  return new NoiseDropout({ rate, name });
}

export function dropPath(rate: number, name?: string): NoiseDropPath {
  return new NoiseDropPath({ rate, name });
}
