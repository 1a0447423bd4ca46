import * as tfl from '@tensorflow/tfjs-layers';
import { dropout } from '../noise.js';
import { FEATURES, LOGITS, PROBS } from './registry.js';

type T = tfl.SymbolicTensor;

export function convBn(x: T, filters: number, kernel: number, stride: number, activation: 'relu' | 'relu6' | 'linear', name: string): T {
  let y = tfl.layers
    .conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'same', useBias: false, kernelInitializer: 'heNormal', name: `${name}_conv` })
    .apply(x) as T;
  y = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: `${name}_bn` }).apply(y) as T;
  if (activation !== 'linear') y = tfl.layers.activation({ activation, name: `${name}_${activation}` }).apply(y) as T;
  return y;
}

export function dwBn(x: T, stride: number, name: string, activation: 'relu6' | 'relu' = 'relu6'): T {
  let y = tfl.layers
    .depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false, depthwiseInitializer: 'heNormal', name: `${name}_dw` })
    .apply(x) as T;
  y = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: `${name}_dwbn` }).apply(y) as T;
  return tfl.layers.activation({ activation, name: `${name}_dw${activation}` }).apply(y) as T;
}

/** Global average pooling named `features`, optional dropout, dense `logits`, softmax `probs`. */
export function classifierHead(x: T, numClasses: number, dropoutRate = 0): T {
  let y = tfl.layers.globalAveragePooling2d({ name: FEATURES }).apply(x) as T;
  if (dropoutRate > 0) y = dropout(dropoutRate, 'head_dropout').apply(y) as T;
  y = tfl.layers.dense({ units: numClasses, kernelInitializer: 'glorotUniform', name: LOGITS }).apply(y) as T;
  return tfl.layers.activation({ activation: 'softmax', name: PROBS }).apply(y) as T;
}
