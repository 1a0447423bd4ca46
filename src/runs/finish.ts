import type * as tfl from '@tensorflow/tfjs-layers';
import type { EpochLog } from '../train/callbacks.js';
import { classificationReport, type ClassificationReport } from '../evaluate/metrics.js';
import { countParams } from '../models/init.js';
import { newMeta, saveModelDir, type ModelMeta } from '../models/model-dir.js';
import { writeRunArtifacts } from './artifacts.js';

/** What a training recipe knows at its end. */
export interface RunEnding {
  /** The model to save. */
  model: tfl.LayersModel;
  classes: string[];
  /** The held-out images (labels in `classes`' order) and the model's probabilities for them (N×K). */
  val: { paths: string[]; labels: Int32Array; count: number };
  probs: Float32Array;
  history: EpochLog[];
  /** frugal.json besides classes, parameters and metrics: input, preprocessing, architecture or backbone, training. */
  meta: Omit<ModelMeta, 'format' | 'version' | 'createdAt' | 'classes' | 'params' | 'metrics'>;
  /** Held-out figures for frugal.json's metrics beside those of the classification report (after `accuracy`). */
  metrics?: Record<string, unknown>;
}

/**
 * The step that ends every training recipe: score the held-out images, write the model directory (its frugal.json
 * with the held-out metrics) and the artefacts the report reads (learning curves, metrics, predictions).
 */
export async function finishRun(dir: string, e: RunEnding): Promise<ClassificationReport> {
  const report = classificationReport(e.probs, e.val.labels, e.classes);
  const { training, ...describe } = e.meta;
  const metrics = { accuracy: report.accuracy, ...e.metrics, valImages: e.val.count, top3: report.topK['3'], macroF1: report.macroF1, ece: report.ece };
  await saveModelDir(dir, e.model, newMeta({ classes: e.classes, ...describe, params: countParams(e.model), metrics, training }));
  await writeRunArtifacts(dir, { history: e.history, report, classes: e.classes, val: e.val, probs: e.probs });
  return report;
}
