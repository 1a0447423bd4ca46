import { FrugalError } from '../util/errors.js';
import { openDataset, type Problem } from '../data/sources.js';
import { Decoder } from '../data/loader.js';
import { classificationReport, argmax, type ClassificationReport } from './metrics.js';
import { loadPredictor, type Predictor } from './predictor.js';
import { ensureBackend } from '../engine/backend.js';

export interface EvaluateOptions {
  strict?: boolean;
  workers?: number;
  cache?: boolean | string;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface EvaluateResult extends ClassificationReport {
  model: string;
  data: string;
  classes: string[];
  problems: Problem[];
  /** Held-out items with their predictions (for the report: confident mistakes). */
  predictions: Array<{ path: string; label: number; predicted: number; confidence: number }>;
}

/** Evaluate a model directory on labeled data, streaming the images with bounded memory. */
export async function evaluateModel(modelDir: string, source: string, o: EvaluateOptions = {}): Promise<EvaluateResult> {
  await ensureBackend();
  const predictor = await loadPredictor(modelDir);
  try {
    return await evaluatePredictor(predictor, modelDir, source, o);
  } finally {
    predictor.dispose();
  }
}

export async function evaluatePredictor(predictor: Predictor, modelName: string, source: string, o: EvaluateOptions = {}): Promise<EvaluateResult> {
  const dataset = await openDataset(source, { strict: o.strict });
  if (dataset.kind === 'unlabeled') throw new FrugalError(`${source}: evaluation needs labeled images (root/<class>/<image> or a CSV)`);
  const index = new Map(predictor.classes.map((c, i) => [c, i]));
  const unknown = dataset.classes.filter((c) => !index.has(c));
  if (unknown.length) {
    throw new FrugalError(
      `${source}: class${unknown.length > 1 ? 'es' : ''} ${unknown.map((c) => `"${c}"`).join(', ')} not known to the model (${predictor.classes.join(', ')})`,
    );
  }
  const samples = dataset.samples.map((s) => ({ ...s, label: index.get(dataset.classes[s.label!]!)! }));
  const decoder = new Decoder({ spec: predictor.spec, strict: o.strict, workers: o.workers, cache: o.cache, onProgress: o.onProgress });
  const k = predictor.classes.length;
  const probs = new Float32Array(samples.length * k);
  const labels: number[] = [];
  const paths: string[] = [];
  const problems: Problem[] = [...dataset.problems];
  try {
    for await (const batch of decoder.batches(samples, o.batchSize ?? 256)) {
      const p = await predictor.predict(batch.pixels, batch.count);
      probs.set(p, labels.length * k);
      labels.push(...batch.labels);
      paths.push(...batch.paths);
      problems.push(...batch.problems);
    }
  } finally {
    await decoder.close();
  }
  // No accuracy on data that cannot support one: zero usable images is an error, naming why they were skipped.
  if (labels.length === 0) {
    const shown = problems.slice(0, 3).map((q) => `${q.path}: ${q.reason}`);
    throw new FrugalError(
      `${source}: no usable images to evaluate on` +
        (problems.length ? ` (${problems.length} skipped: ${shown.join('; ')}${problems.length > shown.length ? '; …' : ''})` : ''),
    );
  }
  const used = probs.subarray(0, labels.length * k);
  const report = classificationReport(used, labels, predictor.classes);
  return {
    model: modelName,
    data: source,
    classes: predictor.classes,
    ...report,
    problems,
    predictions: paths.map((p, i) => {
      const pred = argmax(used, i * k, k);
      return { path: p, label: labels[i]!, predicted: pred, confidence: used[i * k + pred]! };
    }),
  };
}
