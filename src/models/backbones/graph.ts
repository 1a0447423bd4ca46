import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import { FrugalError } from '../../util/errors.js';
import { toInputTensor } from '../preprocess.js';
import type { Backbone, BackboneRef } from './types.js';
import { poolMap, poolRef, poolTag, type FeaturePool } from './pooling.js';

/** A frozen backbone over a TF.js graph model (e.g. a TF Hub feature-vector model). */
export async function graphBackbone(
  artifacts: tf.io.ModelArtifacts,
  ref: Omit<BackboneRef, 'kind'>,
  digest: string,
  cut?: string,
  pool?: FeaturePool,
): Promise<Backbone> {
  let model: tfconv.GraphModel;
  try {
    model = await tfconv.loadGraphModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw new FrugalError(`${ref.source}: cannot load the graph model (${(err as Error).message})`);
  }
  const output = cut ?? ref.cut ?? model.outputs[0]!.name;
  const poolName = pool ?? ref.pool ?? 'avg';
  const { height, width, channels } = ref.input;
  const size = height * width * channels;
  const run = (x: tf.Tensor) => {
    let y = model.execute(x, output) as tf.Tensor;
    if (y.rank === 4) y = poolMap(y as tf.Tensor4D, poolName);
    else if (poolName !== 'avg') throw new FrugalError((n) => `${n('pool', poolName)}: output "${output}" is not a spatial map`);
    if (y.rank !== 2) y = tf.reshape(y, [y.shape[0]!, -1]);
    return y;
  };
  const probe = tf.tidy(() => run(tf.zeros([1, height, width, channels])));
  const featureDim = probe.shape[1]!;
  probe.dispose();
  return {
    kind: 'graph',
    id: `graph-${digest.slice(0, 16)}-${output.replace(/[^\w.-]/g, '_')}${poolTag(poolName)}`,
    ref: { ...ref, kind: 'graph', cut: output, ...poolRef(poolName) },
    spec: ref.input,
    preprocessing: ref.preprocessing,
    featureDim,
    parts: [featureDim],
    cut: output,
    pool: poolName,
    async extract(pixels, count) {
      const out = new Float32Array(count * featureDim);
      for (let s = 0; s < count; s += 32) {
        const n = Math.min(32, count - s);
        const f = tf.tidy(() => run(toInputTensor(pixels.subarray(s * size, (s + n) * size), n, height, width, channels, ref.preprocessing)));
        out.set(f.dataSync(), s * featureDim);
        f.dispose();
      }
      return out;
    },
    dispose() {
      model.dispose();
    },
  };
}
