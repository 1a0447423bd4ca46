import * as tf from '@tensorflow/tfjs-core';
import { FrugalError } from '../../util/errors.js';
import { createSession, ort } from '../../engine/index.js';
import type { Backbone, BackboneRef } from './types.js';
import { poolMap, poolRef, poolTag, type FeaturePool } from './pooling.js';

/**
 * A frozen backbone run by onnxruntime-node. Pixels are normalised with the given mean/std and fed
 * in NCHW or NHWC layout; a spatial output is pooled into a feature vector (`pool`, default global average).
 */
export async function onnxBackbone(file: string, ref: Omit<BackboneRef, 'kind'>, digest: string, cut?: string, pool?: FeaturePool): Promise<Backbone> {
  let session: ort.InferenceSession;
  try {
    session = await createSession(file);
  } catch (err) {
    throw new FrugalError(`${file}: cannot load the ONNX model (${(err as Error).message.split('\n')[0]})`);
  }
  const inputName = ref.inputName ?? session.inputNames[0]!;
  if (!session.inputNames.includes(inputName)) throw new FrugalError(`${file}: no input named "${inputName}" (inputs: ${session.inputNames.join(', ')})`);
  const outputName = cut ?? ref.cut ?? session.outputNames[0]!;
  if (!session.outputNames.includes(outputName)) throw new FrugalError(`${file}: no output named "${outputName}" (outputs: ${session.outputNames.join(', ')})`);
  const layout = ref.layout ?? 'NCHW';
  const { height: h, width: w, channels: c } = ref.input;
  const { mean, std } = ref.preprocessing;

  const toTensor = (pixels: Uint8Array, n: number): ort.Tensor => {
    const data = new Float32Array(n * h * w * c);
    for (let i = 0; i < n; i++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let k = 0; k < c; k++) {
            const v = (pixels[((i * h + y) * w + x) * c + k]! / 255 - mean[k]!) / std[k]!;
            const o = layout === 'NCHW' ? ((i * c + k) * h + y) * w + x : ((i * h + y) * w + x) * c + k;
            data[o] = v;
          }
        }
      }
    }
    return new ort.Tensor('float32', data, layout === 'NCHW' ? [n, c, h, w] : [n, h, w, c]);
  };

  const poolName = pool ?? ref.pool ?? 'avg';
  const toVectors = (t: ort.Tensor): Float32Array => {
    const dims = t.dims;
    const data = t.data as Float32Array;
    if (dims.length !== 4) {
      if (poolName !== 'avg') throw new FrugalError((n) => `${n('pool', poolName)}: output "${outputName}" is not a spatial map`);
      return dims.length === 2 ? data : data.slice(); // flatten whatever else
    }
    // A spatial map, in the input's layout.
    const [n, a, b, d] = dims as [number, number, number, number];
    const pooled = tf.tidy(() => {
      const map = layout === 'NCHW' ? tf.transpose(tf.tensor4d(data, [n, a, b, d]), [0, 2, 3, 1]) : tf.tensor4d(data, [n, a, b, d]);
      return poolMap(map as tf.Tensor4D, poolName);
    });
    const out = pooled.dataSync() as Float32Array;
    pooled.dispose();
    return out;
  };

  const runBatch = async (pixels: Uint8Array, n: number): Promise<Float32Array> => {
    let result;
    try {
      result = await session.run({ [inputName]: toTensor(pixels, n) }, [outputName]);
    } catch (err) {
      throw new FrugalError(
        (n) => `${file}: inference failed (${(err as Error).message.split('\n')[0]}); check ${n('size')}, ${n('channels')} and ${n('layout')}`,
      );
    }
    return toVectors(result[outputName]!);
  };
  const probe = await runBatch(new Uint8Array(h * w * c), 1);
  const featureDim = probe.length;
  return {
    kind: 'onnx',
    id: `onnx-${digest.slice(0, 16)}-${outputName.replace(/[^\w.-]/g, '_')}-${layout}-${mean.join('_')}-${std.join('_')}${poolTag(poolName)}`,
    ref: { ...ref, kind: 'onnx', inputName, layout, cut: outputName, ...poolRef(poolName) },
    spec: ref.input,
    preprocessing: ref.preprocessing,
    featureDim,
    parts: [featureDim],
    cut: outputName,
    pool: poolName,
    async extract(pixels, count) {
      const out = new Float32Array(count * featureDim);
      const size = h * w * c;
      for (let s = 0; s < count; s += 32) {
        const n = Math.min(32, count - s);
        out.set(await runBatch(pixels.subarray(s * size, (s + n) * size), n), s * featureDim);
      }
      return out;
    },
    dispose() {
      void session.release();
    },
  };
}
