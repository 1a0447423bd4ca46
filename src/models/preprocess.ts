import * as tf from '@tensorflow/tfjs-core';

/** How pixels become model inputs: x = (pixel / 255 − mean) / std, per channel. */
export interface Preprocessing {
  mean: number[];
  std: number[];
}

export const IMAGENET_PREPROCESSING: Preprocessing = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** Per-channel mean and std of a pixel batch (N×H×W×C bytes), on the 0..1 scale. */
export function fitPreprocessing(pixels: Uint8Array, channels: number): Preprocessing {
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  const n = pixels.length / channels;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]! / 255;
    sum[i % channels] += v;
    sq[i % channels] += v * v;
  }
  const mean = [...sum].map((s) => s / n);
  const std = [...sq].map((s, c) => Math.sqrt(Math.max(s / n - mean[c]! ** 2, 1e-6)));
  return { mean: mean.map(round), std: std.map(round) };
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/** Normalise `count` images of `height×width×channels` bytes into a float32 NHWC tensor. */
export function toInputTensor(pixels: Uint8Array, count: number, height: number, width: number, channels: number, pre: Preprocessing): tf.Tensor4D {
  const size = count * height * width * channels;
  const out = new Float32Array(size);
  const scale = pre.std.map((s) => 1 / (255 * s));
  const shift = pre.mean.map((m, c) => -m / pre.std[c]!);
  for (let i = 0; i < size; i++) {
    const c = i % channels;
    out[i] = pixels[i]! * scale[c]! + shift[c]!;
  }
  return tf.tensor4d(out, [count, height, width, channels]);
}
