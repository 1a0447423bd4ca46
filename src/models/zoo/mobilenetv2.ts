import * as tfl from '@tensorflow/tfjs-layers';
import { registerArch, type ArchOptions } from './registry.js';
import { convBn, dwBn, classifierHead } from './blocks.js';
import { dropPath } from '../noise.js';

type T = tfl.SymbolicTensor;

function makeDivisible(v: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

function invertedResidual(x: T, expand: number, filters: number, stride: number, dropRate: number, name: string): T {
  const inChannels = x.shape[x.shape.length - 1] as number;
  let y = x;
  if (expand !== 1) y = convBn(y, inChannels * expand, 1, 1, 'relu6', `${name}_expand`);
  y = dwBn(y, stride, name);
  y = convBn(y, filters, 1, 1, 'linear', `${name}_project`);
  if (stride === 1 && inChannels === filters) {
    if (dropRate > 0) y = dropPath(dropRate, `${name}_droppath`).apply(y) as T;
    return tfl.layers.add({ name: `${name}_add` }).apply([x, y]) as T;
  }
  return y;
}

/**
 * MobileNetV2 (Sandler et al. 2018) with a width multiplier. For small inputs (≤ 64 px) the stem
 * and first stages use stride 1 so that 28×28 or 32×32 images keep some spatial extent.
 */
export function mobileNetV2(options: ArchOptions): tfl.LayersModel {
  const width = options.width ?? 1;
  const small = Math.min(options.inputShape[0], options.inputShape[1]) <= 64;
  // (expansion, filters, repeats, stride)
  const settings: Array<[number, number, number, number]> = [
    [1, 16, 1, 1],
    [6, 24, 2, small ? 1 : 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, small ? 1 : 2],
    [6, 320, 1, 1],
  ];
  const input = tfl.input({ shape: options.inputShape, name: 'image' });
  let x = convBn(input, makeDivisible(32 * width), 3, small ? 1 : 2, 'relu6', 'stem');
  const total = settings.reduce((n, s) => n + s[2], 0);
  let k = 0;
  settings.forEach(([t, c, n, s], stage) => {
    for (let i = 0; i < n; i++) {
      const rate = ((options.dropPath ?? 0) * (k + 1)) / total;
      x = invertedResidual(x, t, makeDivisible(c * width), i === 0 ? s : 1, rate, `b${stage}_${i}`);
      k++;
    }
  });
  x = convBn(x, width > 1 ? makeDivisible(1280 * width) : 1280, 1, 1, 'relu6', 'top');
  const output = classifierHead(x, options.numClasses, options.dropout ?? 0.2);
  return tfl.model({ inputs: input, outputs: output, name: 'mobilenetv2' });
}

registerArch({ name: 'mobilenetv2', description: 'MobileNetV2 with a width multiplier (default 1.0)', build: (o) => mobileNetV2(o) });
registerArch({ name: 'mobilenetv2-0.35', description: 'MobileNetV2 at width 0.35', build: (o) => mobileNetV2({ ...o, width: o.width ?? 0.35 }) });
