import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FrugalError } from '../../util/errors.js';
import { toInputTensor } from '../preprocess.js';
import { FEATURES } from '../zoo/registry.js';
import type { Backbone, BackboneRef } from './types.js';
import { parsePool, poolLayers, poolRef, poolTag, type FeaturePool } from './pooling.js';

const GLOBAL_POOLING = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D']);
const POOLING = new Set([...GLOBAL_POOLING, 'Flatten']);

/** The default cut: a layer named `features`, else the last global pooling / flatten, else the input of the last dense layer. */
export function defaultCut(model: tfl.LayersModel): string {
  if (model.layers.some((l) => l.name === FEATURES)) return FEATURES;
  for (let i = model.layers.length - 1; i >= 0; i--) {
    if (POOLING.has(model.layers[i]!.getClassName())) return model.layers[i]!.name;
  }
  const dense = [...model.layers].reverse().find((l) => l.getClassName() === 'Dense');
  const inbound = dense?.inboundNodes[0]?.inboundLayers[0];
  if (inbound) return inbound.name;
  throw new FrugalError(`cannot find where the classifier starts in model "${model.name}"; give --cut <layer>`);
}

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
 * A cut as given to `--cut`: one layer name, or a comma-separated list of them (features from several
 * depths; a new head is then an ensemble of one head per cut point, see `buildHead`). Each entry may
 * carry its own pooling (`s2a_relu:grid2`); entries without one use `pool`.
 */
export function parseCutList(cut: string, pool: FeaturePool = 'avg'): CutPoint[] {
  const points = cut.split(',').map((entry) => {
    const [layer, p, extra] = entry.trim().split(':');
    if (!layer || extra !== undefined) throw new FrugalError(`--cut ${cut}: each entry is <layer> or <layer>:<pool>`);
    return { layer, pool: p === undefined ? pool : parsePool(p) };
  });
  const seen = new Set<string>();
  for (const c of points) {
    const key = `${c.layer}:${c.pool}`;
    if (seen.has(key)) throw new FrugalError(`--cut ${cut}: ${key} is listed twice`);
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
    throw new FrugalError(`--cut ${point.layer}: no such layer (layers: ${model.layers.slice(-12).map((l) => l.name).join(', ')}${model.layers.length > 12 ? ', …' : ''})`);
  }
  if (pool !== 'avg') layer = pooledInput(layer) ?? layer;
  const out = layer.output as tfl.SymbolicTensor;
  if (Array.isArray(out)) throw new FrugalError(`--cut ${point.layer}: the layer has several outputs`);
  if (out.shape.length === 4) return poolLayers(out, pool, layer.name);
  if (out.shape.length !== 2) throw new FrugalError(`--cut ${point.layer}: output of rank ${out.shape.length}, expected 2 or 4`);
  if (pool !== 'avg') throw new FrugalError(`--pool ${pool}: layer "${layer.name}" already gives a feature vector, not a spatial map`);
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
 * Candidate cut points for `--cut auto`: the default cut, then the outputs of the last `blocks` blocks that end
 * in a spatial map, from the top down (a block: consecutive layers with the same name prefix, see `blockOf`).
 */
export function cutCandidates(model: tfl.LayersModel, blocks = 3): string[] {
  const top = defaultCut(model);
  // The map a global pooling cut pools is the same features again: not a separate candidate.
  const pooled = pooledInput(model.layers.find((l) => l.name === top)!)?.name;
  const ends: string[] = [];
  let current: string | null = null;
  for (const layer of model.layers) {
    if (layer.name === top) break;
    const out = layer.output as tfl.SymbolicTensor;
    if (Array.isArray(out) || out.shape.length !== 4 || layer.getClassName() === 'InputLayer') continue;
    const block = blockOf(layer.name);
    if (block === current) ends[ends.length - 1] = layer.name;
    else ends.push(layer.name);
    current = block;
  }
  return [top, ...ends.filter((name) => name !== pooled).reverse().slice(0, blocks)];
}

/** Block of a layer, from its name: `s1b0_a_conv` → `s1b0`, `b3_1_expand` → `b3_1`, `block_13_expand` → `block_13`. */
export function blockOf(layerName: string): string {
  const parts = layerName.split('_');
  return parts.length > 1 && /^\d+$/.test(parts[1]!) ? `${parts[0]}_${parts[1]}` : parts[0]!;
}

/** A backbone over a TF.js layers model (trainable: fine-tuning works on it). */
export function layersBackbone(model: tfl.LayersModel, ref: Omit<BackboneRef, 'kind'>, digest: string, cut?: string, pool?: FeaturePool, owned = true): Backbone {
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
      const size = height * width * channels;
      const out = new Float32Array(count * featureDim);
      for (let s = 0; s < count; s += batch) {
        const n = Math.min(batch, count - s);
        const f = tf.tidy(() => {
          const y = trunk.apply(toInputTensor(pixels.subarray(s * size, (s + n) * size), n, height, width, channels, ref.preprocessing), { training: false }) as tf.Tensor | tf.Tensor[];
          return Array.isArray(y) ? tf.concat(y, 1) : y;
        });
        out.set(f.dataSync(), s * featureDim);
        f.dispose();
      }
      return out;
    },
    dispose() {
      if (owned) model.dispose();
    },
  };
}

/** A backbone's cut for people: `cut at s2a_relu, pooled grid2`, or the points of a cut list and how their heads combine. */
export function describeCut(b: { kind: string; cut: string; pool: FeaturePool }): string {
  const points = b.kind === 'layers' ? parseCutList(b.cut, b.pool) : [{ layer: b.cut, pool: b.pool }];
  if (points.length === 1) return `cut at ${points[0]!.layer}, pooled ${points[0]!.pool}`;
  return `cut at ${points.length} points (${points.map((p) => `${p.layer}/${p.pool}`).join(', ')}), one head each, probabilities averaged`;
}
