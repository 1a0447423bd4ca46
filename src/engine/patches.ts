/**
 * Patch of tfjs-core's `tf.fused.conv2d` for training.
 *
 * tfjs-layers' Conv2D calls tf.fused.conv2d, which fuses a 'linear'
 * activation even while recording gradients: its customGrad then computes the
 * input AND filter gradients eagerly, including the input gradient of the
 * first layer, which nobody needs (on net M that wasted conv is ~12% of a
 * training step). While a gradient tape is recording we route the call through
 * the unfused ops (conv2d + add + activation) instead — the very path tfjs-core
 * itself takes for non-linear activations — so each input's gradient is only
 * computed when something needs it. Inference (no tape) keeps the fused kernel.
 */
import * as tf from '@tensorflow/tfjs-core';

type FusedConvArgs = Parameters<typeof tf.fused.conv2d>[0];

function activate(y: tf.Tensor4D, a: FusedConvArgs): tf.Tensor4D {
  switch (a.activation ?? 'linear') {
    case 'linear':
      return y;
    case 'relu':
      return tf.relu(y);
    case 'relu6':
      return tf.relu6(y);
    case 'elu':
      return tf.elu(y);
    case 'sigmoid':
      return tf.sigmoid(y);
    case 'leakyrelu':
      return tf.leakyRelu(y, a.leakyreluAlpha ?? 0.2);
    case 'prelu':
      return tf.prelu(y, a.preluActivationWeights as tf.Tensor) as tf.Tensor4D;
    default:
      throw new Error(`unknown fused activation '${a.activation as string}'`);
  }
}

let patched = false;

export function patchFusedConv2d(): void {
  if (patched) return;
  const fused = tf.fused as { conv2d: typeof tf.fused.conv2d };
  const original = fused.conv2d;
  const engine = tf.engine() as unknown as { state: { gradientDepth: number } };
  fused.conv2d = ((a: FusedConvArgs) => {
    if (engine.state.gradientDepth === 0) return original(a);
    return tf.tidy(() => {
      let y = tf.conv2d(a.x as tf.Tensor4D, a.filter as tf.Tensor4D, a.strides, a.pad, a.dataFormat ?? 'NHWC', a.dilations ?? [1, 1], a.dimRoundingMode);
      if (a.bias != null) {
        let b = a.bias as tf.Tensor;
        // NCHW bias [C] must broadcast over axis 1
        if (a.dataFormat === 'NCHW' && b.rank === 1) b = tf.reshape(b, [1, b.shape[0]!, 1, 1]);
        y = tf.add(y, b);
      }
      return activate(y, a);
    });
  }) as typeof tf.fused.conv2d;
  patched = true;
}
