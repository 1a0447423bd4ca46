import * as tf from '@tensorflow/tfjs-core';
import type { LossFn } from './loop.js';

export interface DistillOptions {
  /** Softening temperature T (≥ 1 softens). */
  temperature: number;
  /** Weight α of the distillation term; 1 − α weighs the cross-entropy with the labels. */
  alpha: number;
}

/**
 * Knowledge-distillation loss (Hinton et al. 2015), per sample:
 *   α · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α) · CE(y, s)
 * where t are the teacher's logits and s the student's. Samples without a label (`labeled` = 0)
 * keep the distillation term alone: α · T² · KL(...). Averaged over the batch (optionally weighted).
 */
export function distillationLoss(
  student: tf.Tensor2D,
  teacher: tf.Tensor2D,
  targets: tf.Tensor2D,
  o: DistillOptions,
  labeled?: tf.Tensor1D,
  weights?: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => {
    const T = o.temperature;
    const pt = tf.softmax(tf.div(teacher, T));
    const logPt = tf.logSoftmax(tf.div(teacher, T));
    const logPs = tf.logSoftmax(tf.div(student, T));
    const kl = tf.sum(tf.mul(pt, tf.sub(logPt, logPs)), -1);
    const kd = tf.mul(kl, o.alpha * T * T);
    const ce = tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(student)), -1));
    const mask = labeled ?? tf.onesLike(kd);
    const perSample = tf.add(kd, tf.mul(mask, tf.mul(ce, 1 - o.alpha)));
    if (!weights) return tf.mean(perSample) as tf.Scalar;
    return tf.div(tf.sum(tf.mul(perSample, weights)), tf.maximum(tf.sum(weights), 1e-12)) as tf.Scalar;
  });
}

/** The distillation loss as the training loop's loss function (teacher logits come with each batch). */
export function distillLossFn(o: DistillOptions): LossFn {
  return (logits, b) => {
    if (!b.teacher) throw new Error('distillation needs teacher logits in every batch');
    return distillationLoss(logits, b.teacher, b.targets, o, b.labeled, b.weights);
  };
}
