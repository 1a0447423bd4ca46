import type * as tfl from '@tensorflow/tfjs-layers';
import { createSession, forwardEngine, ort } from '../../engine/index.js';
import { FrugalError } from '../../util/errors.js';
import type { Preprocessing } from '../preprocess.js';
import { layersToOnnx } from './convert.js';

/**
 * Forward passes of a TF.js layers model on ONNX Runtime: the model is converted to ONNX (raw uint8 NHWC
 * pixels in, normalised inside the graph) and run with one intra-op thread per core. The conversion is redone
 * when the model's weights change (a trunk being fine-tuned), so a forward pass always sees the current weights.
 */
export interface OnnxForward {
  /** Each model output, in the model's output order (`count` rows each), for `count` images of the input's size. */
  run(pixels: Uint8Array, count: number): Promise<Float32Array[]>;
  release(): Promise<void>;
}

const BATCH = 32;
const told = new Set<string>();

/** Say something about the forward engine once per process (on stderr; stdout may carry `--json`). */
function noteOnce(message: string): void {
  if (told.has(message)) return;
  told.add(message);
  process.stderr.write(`note: ${message}\n`);
}

/** A cheap fingerprint of a model's current weights (every value's bits), to notice training in between. */
export function weightsFingerprint(model: tfl.LayersModel): number {
  let h = 0x811c9dc5;
  for (const w of model.weights) {
    const values = w.read().dataSync() as Float32Array;
    const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ bits[i]!, 16777619);
  }
  return h >>> 0;
}

/**
 * ONNX Runtime forward passes for `model`, or null when they are off (`FRUGAL_FORWARD=tfjs`) or the model does
 * not convert (the reason is said once on stderr, and TF.js runs it instead).
 */
export function onnxForward(model: tfl.LayersModel, preprocessing: Preprocessing): OnnxForward | null {
  if (forwardEngine() === 'tfjs') return null;
  const convert = () => layersToOnnx(model, { pixels: preprocessing, inputName: 'pixels' });
  // Converted now, so that a model that does not convert says so here rather than on its first batch; the bytes
  // serve the first session unless the weights change before it.
  let converted: { bytes: Uint8Array; fingerprint: number } | null;
  try {
    converted = { bytes: convert(), fingerprint: weightsFingerprint(model) };
  } catch (err) {
    if (!(err instanceof FrugalError)) throw err;
    noteOnce(`${err.message}; forward passes run on TF.js instead of ONNX Runtime (slower)`);
    return null;
  }
  let session: ort.InferenceSession | null = null;
  let fingerprint = -1;
  const current = async (): Promise<ort.InferenceSession> => {
    const now = weightsFingerprint(model);
    if (session && now === fingerprint) return session;
    await session?.release();
    session = await createSession(converted?.fingerprint === now ? converted.bytes : convert());
    converted = null;
    fingerprint = now;
    return session;
  };
  const shape = model.inputs[0]!.shape;
  const [height, width, channels] = [shape[1]!, shape[2]!, shape[3]!];
  return {
    async run(pixels, count) {
      const s = await current();
      const size = height * width * channels;
      const widths = model.outputs.map((o) => o.shape.slice(1).reduce((a: number, b) => a * (b ?? 1), 1));
      const outs = widths.map((w) => new Float32Array(count * w));
      for (let start = 0; start < count; start += BATCH) {
        const n = Math.min(BATCH, count - start);
        const input = new ort.Tensor('uint8', pixels.subarray(start * size, (start + n) * size), [n, height, width, channels]);
        const result = await s.run({ pixels: input });
        s.outputNames.forEach((name, i) => {
          const t = result[name]!;
          outs[i]!.set(t.data as Float32Array, start * widths[i]!);
          t.dispose();
        });
      }
      return outs;
    },
    async release() {
      await session?.release();
      session = null;
    },
  };
}
