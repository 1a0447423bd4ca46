import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { LOGITS } from '../models/zoo/registry.js';
import type { Param } from './optimizers.js';

/**
 * What the training loop trains: a forward pass to logits and the parameters to update.
 * `model` is the whole classifier (the thing saved); its weights are the state checkpointed.
 */
export interface Trainable {
  model: tfl.LayersModel;
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
  params: Param[];
}

/** The underlying tf.Variable of a layers weight. */
export function variableOf(w: tfl.LayerVariable): tf.Variable {
  return w.read() as tf.Variable;
}

export function decays(w: tfl.LayerVariable): boolean {
  const short = w.originalName.split('/').pop()!;
  return short === 'kernel' || short === 'depthwise_kernel';
}

/**
 * A logits sub-model sharing weights with `model`: the input of its final softmax (the `logits`
 * layer as used in this model, even when that layer is shared with another model).
 */
export function logitsModel(model: tfl.LayersModel): tfl.LayersModel {
  const out = model.outputs[0]!;
  if (!isSoftmax(out) || out.inputs.length !== 1) {
    if (model.layers.some((l) => l.name === LOGITS)) throw new Error(`model "${model.name}" does not end in a softmax over its logits`);
    return model;
  }
  return tfl.model({ inputs: model.inputs, outputs: out.inputs[0]! });
}

function isSoftmax(t: tfl.SymbolicTensor): boolean {
  return t.sourceLayer.getClassName() === 'Activation' && t.sourceLayer.getConfig()['activation'] === 'softmax';
}

/** Input(s) → logits of a classifier, in training or inference mode. */
export type LogitsForward = (x: tf.Tensor | tf.Tensor[], training: boolean) => tf.Tensor2D;

/**
 * The forward pass to logits of a classifier. For an ensemble (`probs` = the mean of several softmaxes,
 * see `ensembleHeads`) the logits are log(mean of the members' probabilities), computed stably as
 * logsumexp over the members' log-softmaxes − log n: their softmax is the ensemble's output.
 */
export function logitsForward(model: tfl.LayersModel): LogitsForward {
  const out = model.outputs[0]!;
  const members = out.sourceLayer.getClassName() === 'Average' ? out.inputs : [];
  if (members.length > 1 && members.every(isSoftmax)) {
    const logits = tfl.model({ inputs: model.inputs, outputs: members.map((m) => m.inputs[0]!) });
    return (x, training) =>
      tf.tidy(() => {
        const zs = logits.apply(x, { training }) as tf.Tensor2D[];
        return tf.sub(tf.logSumExp(tf.stack(zs.map((z) => tf.logSoftmax(z))), 0), Math.log(zs.length)) as tf.Tensor2D;
      });
  }
  const logits = logitsModel(model);
  return (x, training) => logits.apply(x, { training }) as tf.Tensor2D;
}

/** Train every weight of a classifier (from scratch). */
export function wholeModel(model: tfl.LayersModel): Trainable {
  const forward = logitsForward(model);
  return {
    model,
    forward,
    params: model.trainableWeights.map((w) => ({ variable: variableOf(w), lrMult: 1, decay: decays(w) })),
  };
}
