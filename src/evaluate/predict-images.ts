import { promises as fsp } from 'node:fs';
import { openUnlabeledFolder, type Sample } from '../data/sources.js';
import { Decoder } from '../data/loader.js';
import { FrugalError } from '../util/errors.js';
import type { Predictor } from './predictor.js';

export interface Prediction {
  path: string;
  top: Array<{ class: string; probability: number }>;
}

export interface PredictOptions {
  top?: number;
  workers?: number;
  cache?: boolean | string;
  batchSize?: number;
  strict?: boolean;
}

/** Expand image files and folders (any depth) into samples. */
export async function collectInputs(inputs: string[]): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const input of inputs) {
    let st;
    try {
      st = await fsp.stat(input);
    } catch {
      throw new FrugalError(`${input}: no such file or folder`);
    }
    if (st.isDirectory()) samples.push(...(await openUnlabeledFolder(input)).samples);
    else samples.push({ path: input, label: null });
  }
  return samples;
}

/**
 * Predict the top classes of images, streaming them in batches with bounded memory.
 * Yields one result per image, in order; bad files yield an error entry instead.
 */
export async function* predictImages(
  predictor: Predictor,
  samples: Sample[],
  o: PredictOptions = {},
): AsyncGenerator<Prediction | { path: string; error: string }> {
  const decoder = new Decoder({ spec: predictor.spec, workers: o.workers, cache: o.cache, strict: o.strict });
  const k = predictor.classes.length;
  const top = Math.min(o.top ?? 3, k);
  try {
    for await (const batch of decoder.batches(samples, o.batchSize ?? 128)) {
      for (const p of batch.problems) yield { path: p.path, error: p.reason };
      const probs = await predictor.predict(batch.pixels, batch.count);
      for (let i = 0; i < batch.count; i++) {
        const row = Array.from(probs.subarray(i * k, (i + 1) * k));
        const order = row
          .map((p, j) => [p, j] as const)
          .sort((a, b) => b[0] - a[0])
          .slice(0, top);
        yield { path: batch.paths[i]!, top: order.map(([p, j]) => ({ class: predictor.classes[j]!, probability: p })) };
      }
    }
  } finally {
    await decoder.close();
  }
}
