import * as tfl from '@tensorflow/tfjs-layers';
import { registerArch, type ArchOptions } from './registry.js';
import { convBn, classifierHead } from './blocks.js';

/** A small VGG-style CNN: [conv-bn-relu ×2, max-pool] × stages, then the classifier head. */
export function smallCnn(options: ArchOptions, widths = [32, 64, 128]): tfl.LayersModel {
  const input = tfl.input({ shape: options.inputShape, name: 'image' });
  let x = input;
  const width = options.width ?? 1;
  widths.forEach((w, i) => {
    const f = Math.max(8, Math.round(w * width));
    x = convBn(x, f, 3, 1, 'relu', `s${i}a`);
    x = convBn(x, f, 3, 1, 'relu', `s${i}b`);
    if (i < widths.length - 1) x = tfl.layers.maxPooling2d({ poolSize: 2, name: `s${i}_pool` }).apply(x) as tfl.SymbolicTensor;
  });
  const output = classifierHead(x, options.numClasses, options.dropout ?? 0);
  return tfl.model({ inputs: input, outputs: output, name: 'cnn_small' });
}

registerArch({
  name: 'cnn-small',
  description: 'small VGG-style CNN (3 stages of 2 conv3×3, 32/64/128 filters × width)',
  build: (o) => smallCnn(o),
});
registerArch({
  name: 'cnn-tiny',
  description: 'tiny CNN (2 stages, 16/32 filters × width): a distillation student',
  build: (o) => smallCnn(o, [16, 32]),
});
