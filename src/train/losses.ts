import * as tf from '@tensorflow/tfjs-core';

/**
 * Cross-entropy between soft targets (rows summing to 1) and logits, averaged over the batch.
 * Hard labels are one-hot rows; mixup/cutmix and soft pseudo-labels are soft rows.
 * Optional per-sample weights (e.g. class weights) scale each sample's loss.
 */
export function softCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D, sampleWeights?: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const perSample = tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), -1));
    if (!sampleWeights) return tf.mean(perSample) as tf.Scalar;
    return tf.div(tf.sum(tf.mul(perSample, sampleWeights)), tf.maximum(tf.sum(sampleWeights), 1e-12)) as tf.Scalar;
  });
}

/** Label smoothing: t' = t (1 − ε) + ε / K, applied to target rows in place. */
export function smoothTargets(targets: Float32Array, numClasses: number, epsilon: number): Float32Array {
  if (epsilon <= 0) return targets;
  for (let i = 0; i < targets.length; i++) targets[i] = targets[i]! * (1 - epsilon) + epsilon / numClasses;
  return targets;
}

/** One-hot rows for integer labels. */
export function oneHot(labels: ArrayLike<number>, numClasses: number): Float32Array {
  const out = new Float32Array(labels.length * numClasses);
  for (let i = 0; i < labels.length; i++) out[i * numClasses + labels[i]!] = 1;
  return out;
}

/** Class weights inversely proportional to class frequency, normalised to mean 1 over samples. */
export function balancedClassWeights(counts: number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const k = counts.filter((c) => c > 0).length;
  return counts.map((c) => (c > 0 ? total / (k * c) : 0));
}
