import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { LOGITS } from '../models/zoo/registry.js';
import { blockOf } from '../models/backbones/layers.js';
import { stackHead } from '../models/head.js';
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

/** Trunk weights grouped into blocks, in order (layers without weights are skipped). */
export function trunkBlocks(trunk: tfl.LayersModel): Array<{ name: string; layers: tfl.layers.Layer[] }> {
  const blocks: Array<{ name: string; layers: tfl.layers.Layer[] }> = [];
  for (const layer of trunk.layers) {
    if (layer.trainableWeights.length === 0) continue;
    const name = blockOf(layer.name);
    const last = blocks[blocks.length - 1];
    if (last && last.name === name) last.layers.push(layer);
    else blocks.push({ name, layers: [layer] });
  }
  return blocks;
}

/** Fine-tuning trains a pretrained trunk at the head's learning rate × this. */
export const DEFAULT_TRUNK_LR_MULT = 0.1;

/**
 * A trainable over trunk + head: the head at the full rate, the unfrozen trunk blocks at
 * rate × `trunkLrMult` (× `lrDecay` per block counted from the top). BatchNorm layers of the trunk stay
 * in inference mode (frozen statistics) unless `trainBn`.
 */
export function fineTunable(
  trunk: tfl.LayersModel,
  head: tfl.LayersModel,
  o: { unfreeze?: 'all' | number; trunkLrMult?: number; lrDecay?: number; trainBn?: boolean },
): Trainable {
  const headLogits = logitsForward(head);
  const blocks = trunkBlocks(trunk);
  const n = o.unfreeze === undefined || o.unfreeze === 'all' ? blocks.length : Math.min(o.unfreeze, blocks.length);
  const mult = o.trunkLrMult ?? DEFAULT_TRUNK_LR_MULT;
  const params: Param[] = [];
  blocks.slice(blocks.length - n).forEach((block, i, arr) => {
    const m = mult * (o.lrDecay ?? 1) ** (arr.length - 1 - i);
    for (const layer of block.layers) for (const w of layer.trainableWeights) params.push({ variable: variableOf(w), lrMult: m, decay: decays(w) });
  });
  for (const w of head.trainableWeights) params.push({ variable: variableOf(w), lrMult: 1, decay: decays(w) });
  const full = stackHead(trunk, head);
  return {
    model: full,
    params,
    forward: (x, training) => headLogits(trunk.apply(x, { training: training && !!o.trainBn }) as tf.Tensor | tf.Tensor[], training),
  };
}

/**
 * A trainable over the head alone. Its input: feature vectors; for an ensemble head (one input per feature
 * part), the parts side by side, split here.
 */
export function headTrainable(head: tfl.LayersModel): Trainable {
  const logits = logitsForward(head);
  const parts = head.inputs.map((i) => i.shape[1] as number);
  return {
    model: head,
    forward: (x, training) => (parts.length === 1 ? logits(x, training) : tf.tidy(() => logits(tf.split(x, parts, 1), training))),
    params: head.trainableWeights.map((w) => ({ variable: variableOf(w), lrMult: 1, decay: decays(w) })),
  };
}
