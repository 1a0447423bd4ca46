import { loadPredictor, type Predictor } from '../evaluate/predictor.js';
import { conformImage, type ImageSpec } from '../data/decode.js';
import { modelDigest } from '../models/model-dir.js';

/** A trained model used as a teacher: logits for images given at the student's input spec. */
export interface Teacher {
  id: string;
  dir: string;
  predictor: Predictor;
  classes: string[];
  /** Teacher logits (count×K) for images of `spec` (resized to the teacher's own input when they differ). */
  logits(pixels: Uint8Array, count: number, spec: ImageSpec): Promise<Float32Array>;
  dispose(): void;
}

/**
 * Load a model directory as a teacher. Its logits are log-probabilities: they differ from the
 * pre-softmax logits by a constant per row, which softmax(·/T) ignores, so any model works as a teacher.
 */
export async function loadTeacher(dir: string): Promise<Teacher> {
  const predictor = await loadPredictor(dir);
  const digest = await modelDigest(dir);
  const t = predictor.spec;
  return {
    id: `teacher-${digest.slice(0, 16)}`,
    dir,
    predictor,
    classes: predictor.classes,
    async logits(pixels, count, spec) {
      let input = pixels;
      if (spec.height !== t.height || spec.width !== t.width || spec.channels !== t.channels) {
        const size = spec.height * spec.width * spec.channels;
        const tsize = t.height * t.width * t.channels;
        input = new Uint8Array(count * tsize);
        for (let i = 0; i < count; i++) {
          const img = await conformImage(
            { data: pixels.subarray(i * size, (i + 1) * size), height: spec.height, width: spec.width, channels: spec.channels },
            { ...t },
          );
          input.set(img.data, i * tsize);
        }
      }
      const probs = await predictor.predict(input, count);
      const out = new Float32Array(probs.length);
      for (let i = 0; i < probs.length; i++) out[i] = Math.log(Math.max(probs[i]!, 1e-12));
      return out;
    },
    dispose() {
      predictor.dispose();
    },
  };
}
