import * as tfl from '@tensorflow/tfjs-layers';
import { registerArch, type ArchOptions } from './registry.js';
import { convBn, classifierHead } from './blocks.js';
import { dropPath } from '../noise.js';

type T = tfl.SymbolicTensor;

function basicBlock(x: T, filters: number, stride: number, dropRate: number, name: string): T {
  let y = convBn(x, filters, 3, stride, 'relu', `${name}_a`);
  y = convBn(y, filters, 3, 1, 'linear', `${name}_b`);
  if (dropRate > 0) y = dropPath(dropRate, `${name}_droppath`).apply(y) as T;
  const inChannels = x.shape[x.shape.length - 1];
  const shortcut = stride !== 1 || inChannels !== filters ? convBn(x, filters, 1, stride, 'linear', `${name}_proj`) : x;
  const sum = tfl.layers.add({ name: `${name}_add` }).apply([shortcut, y]) as T;
  return tfl.layers.activation({ activation: 'relu', name: `${name}_out` }).apply(sum) as T;
}

/** CIFAR-style ResNet (He et al. 2016): 6n+2 layers, stages of 16/32/64 filters (× width). */
export function cifarResNet(options: ArchOptions, blocksPerStage: number): tfl.LayersModel {
  const input = tfl.input({ shape: options.inputShape, name: 'image' });
  const width = options.width ?? 1;
  const filters = [16, 32, 64].map((f) => Math.max(8, Math.round(f * width)));
  let x = convBn(input, filters[0]!, 3, 1, 'relu', 'stem');
  const total = 3 * blocksPerStage;
  let k = 0;
  filters.forEach((f, stage) => {
    for (let b = 0; b < blocksPerStage; b++) {
      const rate = ((options.dropPath ?? 0) * (k + 1)) / total;
      x = basicBlock(x, f, stage > 0 && b === 0 ? 2 : 1, rate, `s${stage}b${b}`);
      k++;
    }
  });
  const output = classifierHead(x, options.numClasses, options.dropout ?? 0);
  return tfl.model({ inputs: input, outputs: output, name: `resnet${6 * blocksPerStage + 2}` });
}

registerArch({ name: 'resnet8', description: 'CIFAR-style ResNet-8 (1 basic block per stage, 16/32/64 × width)', build: (o) => cifarResNet(o, 1) });
registerArch({ name: 'resnet20', description: 'CIFAR-style ResNet-20 (3 basic blocks per stage, 16/32/64 × width)', build: (o) => cifarResNet(o, 3) });
