/**
 * Net V for the engine benchmark: the built-in trunk (MobileNetV2 width 0.35, ImageNet weights,
 * 224×224×3 → 1280 features) with a new 10-class head, every layer trainable (fine-tuning end to end).
 * PyTorch's counterpart (bench/engine/torch_nets.py): torchvision.models.mobilenet_v2(width_mult=0.35,
 * num_classes=10). Kept apart from nets.ts so that the engine tests, which import nets.ts, do not load the
 * backbone machinery.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { loadBackbone } from '../../src/models/backbones/load.js';
import { BUILTIN_TRUNK } from '../../src/models/backbones/pretrained.js';
import { buildHead, stackHead } from '../../src/models/head.js';
import type { Preprocessing } from '../../src/models/preprocess.js';
import { LOGITS } from '../../src/models/zoo/registry.js';

export const NET_V = { name: 'V', size: 224, batch: 32 } as const;

export interface NetV {
  /** Image → logits (the head's dense layer, before its softmax): what the train step and TF.js forward run. */
  logits: tfl.LayersModel;
  /** Image → probabilities: the model Frugal would save and convert to ONNX. Shares `logits`' layers. */
  classifier: tfl.LayersModel;
  /** The trunk's input normalisation (pixels / 255 → [-1, 1]). */
  preprocessing: Preprocessing;
}

export async function buildNetV(classes = 10): Promise<NetV> {
  const bb = await loadBackbone(BUILTIN_TRUNK);
  const classifier = stackHead(bb.trunk!, buildHead(bb.featureDim, classes));
  classifier.trainable = true;
  for (const layer of classifier.layers) layer.trainable = true;
  // The logits in the stacked graph: the input of the softmax (the head's own graph is the dense layer's other node).
  const out = classifier.outputs[0]!.inputs[0]!;
  if (out.sourceLayer.name !== LOGITS) throw new Error(`the classifier's softmax takes "${out.sourceLayer.name}", not "${LOGITS}"`);
  const logits = tfl.model({ inputs: classifier.inputs, outputs: out, name: 'netV' });
  return { logits, classifier, preprocessing: bb.preprocessing };
}
