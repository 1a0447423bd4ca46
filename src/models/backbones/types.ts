import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageSpec } from '../../data/decode.js';
import type { Preprocessing } from '../preprocess.js';
import type { FeaturePool } from './pooling.js';

export type BackboneKind = 'layers' | 'graph' | 'onnx';

/** How to find a backbone again (stored in a model directory's frugal.json). */
export interface BackboneRef {
  kind: BackboneKind;
  /** Local path of the main file (model.json / .onnx) or model directory, or a URL or registry name. */
  source: string;
  sha256?: string;
  cut?: string;
  /** How a spatial cut output becomes a vector (default `avg`). */
  pool?: FeaturePool;
  inputName?: string;
  layout?: 'NCHW' | 'NHWC';
  input: ImageSpec;
  preprocessing: Preprocessing;
}

/** A pretrained feature extractor: images in, one feature vector per image out. */
export interface Backbone {
  kind: BackboneKind;
  /** Stable identity of the weights and cut point (keys the feature cache). */
  id: string;
  ref: BackboneRef;
  spec: ImageSpec;
  preprocessing: Preprocessing;
  featureDim: number;
  /**
   * Widths of the feature vector's parts, one per cut point (`[featureDim]` for a single cut). A cut list
   * (layers backbones) gives several: its features are the concatenation, and a new head is one head per part.
   */
  parts: number[];
  /** Name of the layer / node / output the features come from. */
  cut: string;
  /** How the cut's spatial output is pooled. */
  pool: FeaturePool;
  /** Features (count × featureDim) for `count` images of the spec's size, inference mode. */
  extract(pixels: Uint8Array, count: number): Promise<Float32Array>;
  /**
   * The trunk is a frozen ImageNet trunk made for transfer, whose own cut serves as the built-in trunk's does: a
   * Teachable Machine export's (Teachable Machine trains only its head). See `chooseCutWhenSmall`.
   */
  imagenetTrunk?: boolean;
  /** Layers backbones only: the trunk (image → features) as a trainable model. */
  trunk?: tfl.LayersModel;
  /** Layers backbones only: the same weights cut elsewhere (shares the model; disposing the original frees both). */
  recut?(cut: string, pool: FeaturePool): Backbone;
  dispose(): void;
}
