import * as tfl from '@tensorflow/tfjs-layers';
import { dropout } from './noise.js';
import { LOGITS, PROBS } from './zoo/registry.js';

export interface HeadOptions {
  /** Units of an optional hidden dense layer (ReLU). */
  hidden?: number;
  dropout?: number;
}

/** The new classifier head: [dense(hidden) + ReLU], [dropout], dense `logits`, softmax `probs`. */
export function buildHead(featureDim: number, numClasses: number, o: HeadOptions = {}): tfl.LayersModel {
  const input = tfl.input({ shape: [featureDim], name: 'head_input' });
  const out = applyHead(input, numClasses, o);
  return tfl.model({ inputs: input, outputs: out, name: 'head' });
}

/** Apply new head layers to a feature tensor (symbolic). */
export function applyHead(x: tfl.SymbolicTensor, numClasses: number, o: HeadOptions = {}): tfl.SymbolicTensor {
  let y = x;
  if (o.hidden) y = tfl.layers.dense({ units: o.hidden, activation: 'relu', name: 'head_hidden' }).apply(y) as tfl.SymbolicTensor;
  if (o.dropout) y = dropout(o.dropout, 'head_dropout').apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.dense({ units: numClasses, name: LOGITS }).apply(y) as tfl.SymbolicTensor;
  return tfl.layers.activation({ activation: 'softmax', name: PROBS }).apply(y) as tfl.SymbolicTensor;
}

/** Reuse a trained head's layers on top of a trunk's output: one model, image → probabilities. */
export function stackHead(trunk: tfl.LayersModel, head: tfl.LayersModel): tfl.LayersModel {
  let y = trunk.outputs[0]!;
  for (const layer of head.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    y = layer.apply(y) as tfl.SymbolicTensor;
  }
  return tfl.model({ inputs: trunk.inputs, outputs: y, name: 'classifier' });
}
