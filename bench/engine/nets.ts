/**
 * The two reference nets used by the engine tests and benchmark (the same
 * architectures are built in PyTorch by bench/engine/torch_nets.py).
 *
 * - Net M (MobileNet-like): 96x96x3, batch 32.
 * - Net R (ResNet-like):    32x32x3, batch 64.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export interface NetSpec {
  name: 'M' | 'R';
  size: number;
  batch: number;
  build: (size?: number, seed?: number) => tfl.LayersModel;
}

function init(seed: number, k: { n: number }) {
  return tfl.initializers.heNormal({ seed: seed * 1000 + k.n++ });
}

/** conv3x3/2 16 + 9 depthwise-separable blocks + GAP + dense 10 (logits). */
export function buildNetM(size = 96, seed = 1): tfl.LayersModel {
  const k = { n: 0 };
  const m = tfl.sequential({ name: 'netM' });
  const bn = () => tfl.layers.batchNormalization({});
  const relu6 = () => tfl.layers.activation({ activation: 'relu6' });
  m.add(
    tfl.layers.conv2d({
      inputShape: [size, size, 3],
      filters: 16,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      kernelInitializer: init(seed, k),
    }),
  );
  m.add(bn());
  m.add(relu6());
  const blocks: Array<[number, number]> = [
    [32, 1],
    [64, 2],
    [64, 1],
    [128, 2],
    [128, 1],
    [256, 2],
    [256, 1],
    [256, 1],
    [512, 2],
  ];
  for (const [filters, stride] of blocks) {
    m.add(
      tfl.layers.depthwiseConv2d({
        kernelSize: 3,
        strides: stride,
        padding: 'same',
        useBias: false,
        depthwiseInitializer: init(seed, k),
      }),
    );
    m.add(bn());
    m.add(relu6());
    m.add(
      tfl.layers.conv2d({
        filters,
        kernelSize: 1,
        strides: 1,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(seed, k),
      }),
    );
    m.add(bn());
    m.add(relu6());
  }
  m.add(tfl.layers.globalAveragePooling2d({}));
  m.add(tfl.layers.dense({ units: 10, kernelInitializer: tfl.initializers.glorotUniform({ seed }) }));
  return m;
}

/** conv3x3 32 + BN + ReLU, 3 basic residual blocks (32, 64/2, 128/2), GAP, dense 10. */
export function buildNetR(size = 32, seed = 1): tfl.LayersModel {
  const k = { n: 0 };
  const input = tfl.input({ shape: [size, size, 3] });
  const conv = (filters: number, kernelSize: number, strides: number) =>
    tfl.layers.conv2d({
      filters,
      kernelSize,
      strides,
      padding: 'same',
      useBias: false,
      kernelInitializer: init(seed, k),
    });
  const bn = () => tfl.layers.batchNormalization({});
  const relu = () => tfl.layers.activation({ activation: 'relu' });
  let x = relu().apply(bn().apply(conv(32, 3, 1).apply(input))) as tfl.SymbolicTensor;
  let cin = 32;
  for (const [filters, stride] of [
    [32, 1],
    [64, 2],
    [128, 2],
  ] as Array<[number, number]>) {
    let y = relu().apply(bn().apply(conv(filters, 3, stride).apply(x))) as tfl.SymbolicTensor;
    y = bn().apply(conv(filters, 3, 1).apply(y)) as tfl.SymbolicTensor;
    let s = x;
    if (stride !== 1 || cin !== filters) s = bn().apply(conv(filters, 1, stride).apply(x)) as tfl.SymbolicTensor;
    x = relu().apply(tfl.layers.add().apply([y, s])) as tfl.SymbolicTensor;
    cin = filters;
  }
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 10, kernelInitializer: tfl.initializers.glorotUniform({ seed }) }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'netR' });
}

export const NETS: Record<'M' | 'R', NetSpec> = {
  M: { name: 'M', size: 96, batch: 32, build: buildNetM },
  R: { name: 'R', size: 32, batch: 64, build: buildNetR },
};

/** Softmax cross-entropy of logits vs integer labels (one-hot), mean over the batch. */
export function lossFn(model: tfl.LayersModel, x: tf.Tensor, yOneHot: tf.Tensor): tf.Scalar {
  const logits = model.apply(x, { training: true }) as tf.Tensor;
  return tf.losses.softmaxCrossEntropy(yOneHot, logits) as tf.Scalar;
}

/** One SGD-momentum training step; returns nothing (no sync), disposes everything it makes. */
export function makeTrainStep(model: tfl.LayersModel, lr = 0.01): (x: tf.Tensor, y: tf.Tensor) => void {
  const opt = tf.train.momentum(lr, 0.9);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return (x, y) => {
    const cost = opt.minimize(() => lossFn(model, x, y), false, vars);
    cost?.dispose();
  };
}

/** Deterministic pseudo-random batch (uniform [-1,1) images, labels i % 10 one-hot). */
export function makeBatch(batch: number, size: number, seed = 7): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const n = batch * size * size * 3;
  const v = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    v[i] = (s / 4294967296) * 2 - 1;
  }
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 10);
  return {
    x: tf.tensor4d(v, [batch, size, size, 3]),
    y: tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32') as tf.Tensor2D),
  };
}
