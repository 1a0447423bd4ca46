import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FrugalError } from '../../util/errors.js';
import { toInputTensor } from '../preprocess.js';
import { FEATURES } from '../zoo/registry.js';
import type { Backbone, BackboneRef } from './types.js';
import { onnxForward, type OnnxForward } from '../onnx/forward.js';
import { parsePool, poolLayers, poolRef, poolTag, type FeaturePool } from './pooling.js';

const GLOBAL_POOLING = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D']);
const POOLING = new Set([...GLOBAL_POOLING, 'Flatten']);

/**
 * The default cut: a layer named `features`, else the last global pooling / flatten, else the input of the last
 * dense layer. A headless trunk (none of these, e.g. an ImageNet network saved without its top) whose output is a
 * spatial map is cut at its output layer, which the trunk then pools (global average by default).
 */
export function defaultCut(model: tfl.LayersModel): string {
  if (model.layers.some((l) => l.name === FEATURES)) return FEATURES;
  for (let i = model.layers.length - 1; i >= 0; i--) {
    if (POOLING.has(model.layers[i]!.getClassName())) return model.layers[i]!.name;
  }
  const dense = [...model.layers].reverse().find((l) => l.getClassName() === 'Dense');
  const inbound = dense?.inboundNodes[0]?.inboundLayers[0];
  if (inbound) return inbound.name;
  // A headless trunk: its output is a spatial map (pooled by the trunk), whatever the model nests.
  const out = model.outputs.length === 1 ? model.outputs[0]! : undefined;
  if (out && out.shape.length === 4) return out.sourceLayer.name;
  const nested = model.layers.filter((l) => l instanceof tfl.LayersModel);
  if (nested.length > 0) {
    // e.g. a Sequential of a trunk model and a head model (Teachable Machine's own nesting is found before: see load.ts).
    throw new FrugalError(
      (n) =>
        `model "${model.name}" nests other models (${nested.map((l) => l.name).join(', ')}) ` +
        'and Frugal does not look inside them for where the classifier starts; ' +
        `give ${n('cut', '<layer>')}, one of its top-level layers: ${model.layers.map((l) => l.name).join(', ')}`,
    );
  }
  throw new FrugalError((n) => `cannot find where the classifier starts in model "${model.name}"; give ${n('cut', '<layer>')}`);
}

/**
 * Pooling layers that `trunkModel` adds after a spatial cut, mapped to the layer they pool: in a trunk, the cut
 * is that layer (the added layers do not exist in the model the trunk was cut from).
 */
const ADDED_POOLING = new WeakMap<tfl.layers.Layer, string>();

/** The layer a global pooling layer pools (undefined for any other layer). */
function pooledInput(layer: tfl.layers.Layer): tfl.layers.Layer | undefined {
  return GLOBAL_POOLING.has(layer.getClassName()) ? layer.inboundNodes[0]?.inboundLayers[0] : undefined;
}

/** One cut point of a cut list: a layer and how its output is pooled. */
export interface CutPoint {
  layer: string;
  pool: FeaturePool;
}

/**
 * A cut as the `cut` option takes it: one layer name, or a comma-separated list of them (features from several
 * depths; a new head is then an ensemble of one head per cut point, see `buildHead`). Each entry may
 * carry its own pooling (`s2a_relu:grid2`); entries without one use `pool`.
 */
export function parseCutList(cut: string, pool: FeaturePool = 'avg'): CutPoint[] {
  const points = cut.split(',').map((entry) => {
    const [layer, p, extra] = entry.trim().split(':');
    if (!layer || extra !== undefined) throw new FrugalError((n) => `${n('cut', cut)}: each entry is <layer> or <layer>:<pool>`);
    return { layer, pool: p === undefined ? pool : parsePool(p) };
  });
  const seen = new Set<string>();
  for (const c of points) {
    const key = `${c.layer}:${c.pool}`;
    if (seen.has(key)) throw new FrugalError((n) => `${n('cut', cut)}: ${key} is listed twice`);
    seen.add(key);
  }
  return points;
}

/** The canonical text of a cut list (every entry with its pooling); a single point stays a bare layer name. */
export function formatCutList(points: CutPoint[]): string {
  return points.length === 1 ? points[0]!.layer : points.map((c) => `${c.layer}:${c.pool}`).join(',');
}

/** One cut point's output as a feature vector (symbolic). */
function cutOutput(model: tfl.LayersModel, point: CutPoint): tfl.SymbolicTensor {
  const { pool } = point;
  let layer = model.layers.find((l) => l.name === point.layer);
  if (!layer) {
    throw new FrugalError(
      (n) =>
        `${n('cut', point.layer)}: no such layer (layers: ${model.layers
          .slice(-12)
          .map((l) => l.name)
          .join(', ')}${model.layers.length > 12 ? ', …' : ''})`,
    );
  }
  if (pool !== 'avg') layer = pooledInput(layer) ?? layer;
  const out = layer.output as tfl.SymbolicTensor;
  if (Array.isArray(out)) throw new FrugalError((n) => `${n('cut', point.layer)}: the layer has several outputs`);
  if (out.shape.length === 4) {
    const pooled = poolLayers(out, pool, layer.name);
    ADDED_POOLING.set(pooled.sourceLayer, point.layer);
    return pooled;
  }
  if (out.shape.length !== 2) throw new FrugalError((n) => `${n('cut', point.layer)}: output of rank ${out.shape.length}, expected 2 or 4`);
  if (pool !== 'avg') throw new FrugalError((n) => `${n('pool', pool)}: layer "${layer.name}" already gives a feature vector, not a spatial map`);
  return out;
}

/**
 * The trunk: input → each cut point's layer output, pooled when spatial (global average by default). When a
 * cut layer is itself a global pooling layer (the default cut) and another pooling is asked for, the map that
 * layer pools is used instead. One output per cut point (a cut list, `parseCutList`, has several).
 */
export function trunkModel(model: tfl.LayersModel, points: CutPoint[]): tfl.LayersModel {
  const outputs = points.map((point) => cutOutput(model, point));
  return tfl.model({ inputs: model.inputs, outputs: outputs.length === 1 ? outputs[0]! : outputs, name: 'trunk' });
}

/**
 * Candidate cut points for `cut: 'auto'`: the default cut, then the outputs of the last `blocks` blocks that end
 * in a spatial map, from the top down (a block: consecutive layers with the same name prefix, see `blockOf`; a
 * batch norm, activation or dropout layer applied to a block's last layer belongs to that block, as MobileNetV2's
 * `Conv_1` → `Conv_1_bn` → `out_relu`). The block the default cut itself ends is not a separate candidate. On a
 * trunk (`trunkModel`), a cut that the trunk pools stands for the layer it pools.
 */
export function cutCandidates(model: tfl.LayersModel, blocks = 3): string[] {
  let top = defaultCut(model);
  const topLayer = model.layers.find((l) => l.name === top)!;
  top = ADDED_POOLING.get(topLayer) ?? top;
  // The map a global pooling cut pools is the same features again: not a separate candidate.
  const pooled = pooledInput(model.layers.find((l) => l.name === top)!)?.name;
  const ends: string[] = [];
  let current: string | null = null;
  let end: tfl.layers.Layer | null = null;
  for (const layer of model.layers) {
    const out = layer.output as tfl.SymbolicTensor;
    const spatial = !Array.isArray(out) && out.shape.length === 4 && layer.getClassName() !== 'InputLayer';
    const block: string | null = joinsBlock(layer, end) ? current : blockOf(layer.name);
    if (layer.name === top) {
      // The top's own block: its end so far is part of the top's block.
      if (spatial && block === current && ends.length > 0) ends.pop();
      break;
    }
    if (!spatial) continue;
    if (block === current) ends[ends.length - 1] = layer.name;
    else ends.push(layer.name);
    current = block;
    end = layer;
  }
  return [
    top,
    ...ends
      .filter((name) => name !== pooled)
      .reverse()
      .slice(0, blocks),
  ];
}

/** Layers that only transform their input's values elementwise (a block's normalisation, activation, dropout). */
const FOLLOWERS = new Set([
  'BatchNormalization',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'PReLU',
  'ELU',
  'ThresholdedReLU',
  'Softmax',
  'Dropout',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
]);

/** Whether `layer` is such a layer applied to `end` alone (so it belongs to `end`'s block whatever its name). */
function joinsBlock(layer: tfl.layers.Layer, end: tfl.layers.Layer | null): boolean {
  if (!end || !FOLLOWERS.has(layer.getClassName())) return false;
  const inbound = layer.inboundNodes[0]?.inboundLayers ?? [];
  return inbound.length === 1 && inbound[0] === end;
}

/** Block of a layer, from its name: `s1b0_a_conv` → `s1b0`, `b3_1_expand` → `b3_1`, `block_13_expand` → `block_13`. */
export function blockOf(layerName: string): string {
  const parts = layerName.split('_');
  return parts.length > 1 && /^\d+$/.test(parts[1]!) ? `${parts[0]}_${parts[1]}` : parts[0]!;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keras class names that TF.js layers knows under another name. */
const CLASS_ALIASES: Record<string, string> = {
  BatchNormalizationV1: 'BatchNormalization',
  BatchNormalizationV2: 'BatchNormalization',
  LecunNormal: 'LeCunNormal',
  LecunUniform: 'LeCunUniform',
};

/** Container classes: their config lists layers (a Sequential's may be the list itself, as older Keras wrote it). */
const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

function registered(className: string): boolean {
  return className in tf.serialization.SerializationMap.getMap().classNameMap;
}

/**
 * The model configuration in a TF.js layers `modelTopology`, made loadable by tfjs-layers (a copy; the argument is
 * not changed). The topology is either the model configuration itself (`class_name` at the top, as TF.js writes
 * it) or, as the TensorFlow.js converter writes models converted from Keras, under `model_config` beside
 * `keras_version`, `backend` and `training_config`. TF.js reads Keras 2.x configurations (class `Functional`,
 * `groups: 1`, `ragged`, `sparse`, a batch norm `axis: [3]`) as they are; what it does not:
 * - Keras class names it has under another name (`LecunNormal`, `BatchNormalizationV1`) are renamed;
 * - initializers it does not have become `Zeros` (the weights are loaded over them), regularizers `L1`/`L2`
 *   become `L1L2`, and other unknown regularizers and constraints (Keras training only) are dropped;
 * - dtype policies (objects) become `float32`, a Keras 3 InputLayer's `batch_shape` becomes `batch_input_shape`.
 * Layers it cannot build, and settings it would silently ignore (grouped convolutions, a leaky or thresholded
 * `ReLU`, global pooling with `keepdims`), are a FrugalError naming `file` and the layer.
 */
export function layersModelConfig(topology: unknown, file: string): Json {
  const root = isObject(topology) && isObject(topology.model_config) ? topology.model_config : topology;
  if (!isObject(root) || typeof root.class_name !== 'string') {
    throw new FrugalError(`${file}: not a TF.js layers model (no class_name in modelTopology or modelTopology.model_config)`);
  }
  const config = structuredClone(root);
  normalizeLayer(config, file, '(the model)');
  return config;
}

/**
 * A layers model configuration (from `layersModelConfig`) whose input layers take `height`×`width` images instead of
 * the size they were saved with (a copy). A fully convolutional trunk runs at any size with the same weights; a model
 * with a layer tied to its input size (a Flatten before a Dense) then fails to load its weights, which the caller
 * reports. Null when the inputs already have that size (or say none).
 */
export function withInputSize(config: Json, height: number, width: number): Json | null {
  const copy = structuredClone(config);
  const inner = copy.config;
  const layers = Array.isArray(inner) ? inner : isObject(inner) && Array.isArray(inner.layers) ? inner.layers : [];
  const sequential = copy.class_name === 'Sequential';
  let changed = false;
  for (const [i, layer] of layers.entries()) {
    if (!isObject(layer) || !isObject(layer.config)) continue;
    if (layer.class_name !== 'InputLayer' && !(sequential && i === 0)) continue;
    const shape = layer.config.batch_input_shape;
    if (!Array.isArray(shape) || shape.length !== 4) continue;
    if (shape[1] === height && shape[2] === width) continue;
    layer.config.batch_input_shape = [shape[0], height, width, shape[3]];
    changed = true;
  }
  return changed ? copy : null;
}

function normalizeLayer(layer: Json, file: string, where: string): void {
  const config = isObject(layer.config) ? layer.config : undefined;
  const name = String(layer.name ?? config?.name ?? where);
  const fail = (why: string): never => {
    throw new FrugalError(`${file}: layer "${name}" (${String(layer.class_name)}): ${why}`);
  };
  if (typeof layer.class_name !== 'string') return fail('no class_name');
  const cls = CLASS_ALIASES[layer.class_name] ?? layer.class_name;
  layer.class_name = cls;
  if (!registered(cls)) fail(`TF.js layers has no ${cls} layer (a layer only Keras/Python has, or a custom one), so Frugal cannot build this model`);
  if (MODEL_CLASSES.has(cls)) {
    const layers = Array.isArray(layer.config) ? layer.config : config?.layers;
    if (!Array.isArray(layers)) return fail('a model without a layer list');
    for (const [i, l] of layers.entries()) {
      if (!isObject(l)) fail(`layer ${i} is not an object`);
      normalizeLayer(l as Json, file, `#${i} of ${name}`);
    }
    return;
  }
  if (!config) return;
  if (isObject(config.layer)) normalizeLayer(config.layer, file, `the layer ${name} wraps`);
  for (const [key, value] of Object.entries(config)) {
    if (key.endsWith('_initializer')) config[key] = normalizeInitializer(value);
    else if (key.endsWith('_regularizer')) config[key] = normalizeRegularizer(value);
    else if (key.endsWith('_constraint') && isObject(value) && !registered(String(value.class_name))) config[key] = null;
  }
  if (isObject(config.dtype)) config.dtype = 'float32';
  if (cls === 'InputLayer' && config.batch_input_shape === undefined && Array.isArray(config.batch_shape)) {
    config.batch_input_shape = config.batch_shape;
    delete config.batch_shape;
  }
  if (typeof config.activation === 'string' && !registered(toCamel(config.activation))) fail(`TF.js layers has no activation "${config.activation}"`);
  if (config.groups !== undefined && config.groups !== null) {
    if (config.groups !== 1) fail(`a grouped convolution (groups ${String(config.groups)}), which TF.js layers does not have`);
    delete config.groups;
  }
  if (cls === 'BatchNormalization' && Array.isArray(config.axis)) {
    if (config.axis.length !== 1) fail(`normalises over axes [${config.axis.join(', ')}]; TF.js layers takes one axis`);
    config.axis = config.axis[0];
  }
  if (cls === 'ReLU' && ((config.negative_slope ?? 0) !== 0 || (config.threshold ?? 0) !== 0)) {
    fail('a ReLU with a negative slope or a threshold, which TF.js layers ignores');
  }
  if (GLOBAL_POOLING.has(cls) && config.keepdims === true) fail('global pooling with keepdims, which TF.js layers does not have');
}

/** Python's snake_case to TF.js's camelCase, as tfjs-layers converts a configuration's strings. */
function toCamel(text: string): string {
  return text.length <= 1 || !text.includes('_') ? text : text.replace(/[_]+(\w|$)/g, (_, c: string) => c.toUpperCase());
}

function normalizeInitializer(value: unknown): unknown {
  if (!isObject(value) || typeof value.class_name !== 'string') return value;
  const cls = CLASS_ALIASES[value.class_name] ?? value.class_name;
  return registered(cls) ? { ...value, class_name: cls } : { class_name: 'Zeros', config: {} };
}

function normalizeRegularizer(value: unknown): unknown {
  if (!isObject(value) || typeof value.class_name !== 'string') return value;
  const c = isObject(value.config) ? value.config : {};
  if (value.class_name === 'L1') return { class_name: 'L1L2', config: { l1: c.l1 ?? 0.01, l2: 0 } };
  if (value.class_name === 'L2') return { class_name: 'L1L2', config: { l1: 0, l2: c.l2 ?? 0.01 } };
  return registered(value.class_name) ? value : null;
}

/** A backbone over a TF.js layers model (trainable: fine-tuning works on it). */
export function layersBackbone(
  model: tfl.LayersModel,
  ref: Omit<BackboneRef, 'kind'>,
  digest: string,
  cut?: string,
  pool?: FeaturePool,
  owned = true,
): Backbone {
  // A cut list is kept in its canonical form (each entry with its pooling); its own pooling is then moot.
  const points = parseCutList(cut ?? ref.cut ?? defaultCut(model), pool ?? ref.pool ?? 'avg');
  const cutName = formatCutList(points);
  const poolName = points.length === 1 ? points[0]!.pool : 'avg';
  const trunk = trunkModel(model, points);
  const shape = model.inputs[0]!.shape;
  const { height, width, channels } = ref.input;
  if ((shape[1] != null && shape[1] !== height) || (shape[2] != null && shape[2] !== width) || (shape[3] != null && shape[3] !== channels)) {
    throw new FrugalError(`backbone input is [${shape.slice(1).join(', ')}], but ${height}×${width}×${channels} was asked for`);
  }
  const parts = trunk.outputs.map((o) => o.shape[1] as number);
  const featureDim = parts.reduce((a, b) => a + b, 0);
  const batch = 32;
  /** ONNX Runtime forward passes of the trunk (made on the first extract; null: TF.js runs them). */
  let forward: OnnxForward | null | undefined;
  return {
    kind: 'layers',
    id: `layers-${digest.slice(0, 16)}-${cutName.replaceAll(':', '-').replaceAll(',', '+')}${poolTag(poolName)}`,
    ref: { ...ref, kind: 'layers', cut: cutName, ...poolRef(poolName) },
    spec: ref.input,
    preprocessing: ref.preprocessing,
    featureDim,
    parts,
    cut: cutName,
    pool: poolName,
    trunk,
    recut: (c, p) => layersBackbone(model, { ...ref, cut: undefined, pool: undefined }, digest, c, p, false),
    async extract(pixels, count) {
      if (forward === undefined) forward = onnxForward(trunk, ref.preprocessing);
      if (forward) return concatRows(await forward.run(pixels, count), count);
      const size = height * width * channels;
      const out = new Float32Array(count * featureDim);
      for (let s = 0; s < count; s += batch) {
        const n = Math.min(batch, count - s);
        const f = tf.tidy(() => {
          const y = trunk.apply(toInputTensor(pixels.subarray(s * size, (s + n) * size), n, height, width, channels, ref.preprocessing), {
            training: false,
          }) as tf.Tensor | tf.Tensor[];
          return Array.isArray(y) ? tf.concat(y, 1) : y;
        });
        out.set(f.dataSync(), s * featureDim);
        f.dispose();
      }
      return out;
    },
    dispose() {
      void forward?.release();
      if (owned) model.dispose();
    },
  };
}

/** Per-image rows of several outputs (count × widths), side by side: count × (sum of widths). */
function concatRows(parts: Float32Array[], count: number): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const widths = parts.map((p) => p.length / count);
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(count * total);
  for (let i = 0; i < count; i++) {
    let o = i * total;
    parts.forEach((p, k) => {
      out.set(p.subarray(i * widths[k]!, (i + 1) * widths[k]!), o);
      o += widths[k]!;
    });
  }
  return out;
}

/** A backbone's cut for people: `cut at s2a_relu, pooled grid2`, or the points of a cut list and how their heads combine. */
export function describeCut(b: { kind: string; cut: string; pool: FeaturePool }): string {
  const points = b.kind === 'layers' ? parseCutList(b.cut, b.pool) : [{ layer: b.cut, pool: b.pool }];
  if (points.length === 1) return `cut at ${points[0]!.layer}, pooled ${points[0]!.pool}`;
  return `cut at ${points.length} points (${points.map((p) => `${p.layer}/${p.pool}`).join(', ')}), one head each, probabilities averaged`;
}
