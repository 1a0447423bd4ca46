import * as tfl from '@tensorflow/tfjs-layers';
import { dropout } from './noise.js';
import { LOGITS, PROBS } from './zoo/registry.js';

export interface HeadOptions {
  /** Units of an optional hidden dense layer (ReLU). */
  hidden?: number;
  dropout?: number;
  /**
   * How a linear head (no hidden layer, no dropout) on frozen features learns: `full-batch` solves its L2-regularised
   * logistic regression on all rows at once (penalty `l2`); `sgd` trains it in mini-batches like any other head.
   * Heads with a hidden layer or dropout always use `sgd`.
   */
  solver?: 'full-batch' | 'sgd';
  /** L2 penalty of the `full-batch` solver: mean cross-entropy + l2/2 · ‖W‖². */
  l2?: number;
}

/**
 * The new classifier head: [dense(hidden) + ReLU], [dropout], dense `logits`, softmax `probs`.
 * With several feature parts (a cut list: one part per cut point), an ensemble of one such head per part
 * whose probabilities are averaged (`ensembleHeads`).
 */
export function buildHead(featureDim: number | number[], numClasses: number, o: HeadOptions = {}): tfl.LayersModel {
  if (Array.isArray(featureDim)) {
    if (featureDim.length === 1) return buildHead(featureDim[0]!, numClasses, o);
    return ensembleHeads(featureDim.map((dim, i) => buildPartHead(dim, numClasses, o, i + 1)));
  }
  return branchHead(featureDim, numClasses, o, '');
}

function branchHead(featureDim: number, numClasses: number, o: HeadOptions, suffix: string): tfl.LayersModel {
  const input = tfl.input({ shape: [featureDim], name: `head_input${suffix}` });
  const out = applyHead(input, numClasses, o, suffix);
  return tfl.model({ inputs: input, outputs: out, name: `head${suffix}` });
}

/** The head for feature part `part` (from 1) of an ensemble; its layer names end in `_<part>`. */
export function buildPartHead(featureDim: number, numClasses: number, o: HeadOptions, part: number): tfl.LayersModel {
  return branchHead(featureDim, numClasses, o, `_${part}`);
}

/** Apply new head layers to a feature tensor (symbolic). */
export function applyHead(x: tfl.SymbolicTensor, numClasses: number, o: HeadOptions = {}, suffix = ''): tfl.SymbolicTensor {
  let y = x;
  if (o.hidden) y = tfl.layers.dense({ units: o.hidden, activation: 'relu', name: `head_hidden${suffix}` }).apply(y) as tfl.SymbolicTensor;
  if (o.dropout) y = dropout(o.dropout, `head_dropout${suffix}`).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.dense({ units: numClasses, name: `${LOGITS}${suffix}` }).apply(y) as tfl.SymbolicTensor;
  return tfl.layers.activation({ activation: 'softmax', name: `${PROBS}${suffix}` }).apply(y) as tfl.SymbolicTensor;
}

/**
 * Heads (each: feature part → probabilities, trained apart) as one model with one input per head whose
 * output, `probs`, is the mean of their probabilities. Shares the heads' layers.
 */
export function ensembleHeads(heads: tfl.LayersModel[]): tfl.LayersModel {
  if (heads.length === 1) return heads[0]!;
  const mean = tfl.layers.average({ name: PROBS }).apply(heads.map((h) => h.outputs[0]!)) as tfl.SymbolicTensor;
  return tfl.model({ inputs: heads.map((h) => h.inputs[0]!), outputs: mean, name: 'head' });
}

/**
 * Reuse a trained head's layers on top of a trunk's output(s): one model, image → probabilities. The head's
 * inputs take the trunk's outputs in order (one each; several for a cut list and an ensemble head).
 */
export function stackHead(trunk: tfl.LayersModel, head: tfl.LayersModel): tfl.LayersModel {
  if (head.inputs.length !== trunk.outputs.length)
    throw new Error(`head "${head.name}" takes ${head.inputs.length} inputs, the trunk gives ${trunk.outputs.length}`);
  const mapped = new Map<string, tfl.SymbolicTensor>();
  head.inputs.forEach((input, i) => mapped.set(input.sourceLayer.name, trunk.outputs[i]!));
  for (const layer of head.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const inputs = layer.inboundNodes[0]!.inboundLayers.map((l) => mapped.get(l.name)!);
    mapped.set(layer.name, layer.apply(inputs.length === 1 ? inputs[0]! : inputs) as tfl.SymbolicTensor);
  }
  return tfl.model({ inputs: trunk.inputs, outputs: mapped.get(head.outputs[0]!.sourceLayer.name)!, name: 'classifier' });
}
