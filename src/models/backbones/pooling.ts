import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FrugalError } from '../../util/errors.js';

/**
 * How a spatial feature map (the cut layer's output, NHWC) becomes a feature vector:
 * - `avg`: global average pooling (C features; the usual choice, and the default);
 * - `max`: global max pooling (C features);
 * - `gridN`: average pooling into an N×N grid of cells, flattened (N·N·C features). On an S-wide side the
 *   cells start every ⌊S/N⌋ and are S − (N−1)·⌊S/N⌋ wide, so the last one ends at the edge: equal tiles
 *   when N divides S, slightly overlapping ones otherwise (7×7 into 2×2: rows 0–3 and 3–6). Keeps *where* a
 *   pattern is, which global pooling throws away: it helps when the objects are centred and aligned (product
 *   photos, scans) and the backbone's last layer is specialised to its own classes.
 */
export type FeaturePool = 'avg' | 'max' | `grid${number}`;

export const POOL_HELP = 'avg (global average, default), max (global max), or gridN (average over an N×N grid, flattened; N 1–8)';

/** The valid pooling names (also checked in sidecar JSON and frugal.json). */
export const POOL_PATTERN = /^(avg|max|grid[1-8])$/;

export function parsePool(text: string): FeaturePool {
  if (POOL_PATTERN.test(text)) return text as FeaturePool;
  throw new FrugalError((n) => `${n('pool')} must be ${POOL_HELP}; got "${text}"`);
}

/** Suffix of a backbone id for its pooling (none for the default), so each pooling has its own feature cache. */
export function poolTag(pool: FeaturePool): string {
  return pool === 'avg' ? '' : `-${pool}`;
}

/** The pooling as stored in a backbone reference (omitted for the default). */
export function poolRef(pool: FeaturePool): { pool?: FeaturePool } {
  return pool === 'avg' ? {} : { pool };
}

/** Window and stride of the N×N grid on a height×width map. */
function gridWindow(pool: FeaturePool, height: number, width: number): { window: [number, number]; stride: [number, number] } {
  const n = Number(pool.slice(4));
  if (height < n || width < n) throw new FrugalError((n) => `${n('pool', pool)}: the feature map is only ${height}×${width}`);
  const stride: [number, number] = [Math.floor(height / n), Math.floor(width / n)];
  return { window: [height - (n - 1) * stride[0], width - (n - 1) * stride[1]], stride };
}

/** Pool a spatial map (NHWC tensor) into feature vectors. */
export function poolMap(y: tf.Tensor4D, pool: FeaturePool): tf.Tensor2D {
  return tf.tidy(() => {
    if (pool === 'avg') return tf.mean(y, [1, 2]) as tf.Tensor2D;
    if (pool === 'max') return tf.max(y, [1, 2]) as tf.Tensor2D;
    const g = gridWindow(pool, y.shape[1], y.shape[2]);
    const cells = tf.avgPool(y, g.window, g.stride, 'valid');
    return tf.reshape(cells, [y.shape[0], -1]) as tf.Tensor2D;
  });
}

/** The same pooling as layers on a symbolic spatial map (NHWC), for trunks that can be fine-tuned. */
export function poolLayers(x: tfl.SymbolicTensor, pool: FeaturePool, name: string): tfl.SymbolicTensor {
  if (pool === 'avg') return tfl.layers.globalAveragePooling2d({ name: `${name}_gap` }).apply(x) as tfl.SymbolicTensor;
  if (pool === 'max') return tfl.layers.globalMaxPooling2d({ name: `${name}_gmp` }).apply(x) as tfl.SymbolicTensor;
  const g = gridWindow(pool, x.shape[1] as number, x.shape[2] as number);
  const cells = tfl.layers
    .averagePooling2d({ poolSize: g.window, strides: g.stride, padding: 'valid', name: `${name}_${pool}` })
    .apply(x) as tfl.SymbolicTensor;
  return tfl.layers.flatten({ name: `${name}_${pool}_flat` }).apply(cells) as tfl.SymbolicTensor;
}
