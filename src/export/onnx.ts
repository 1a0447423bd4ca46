import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FrugalError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { loadModelDir, readModelMeta } from '../models/model-dir.js';
import { assertWholeLayersModel } from './tfjs.js';
import { layersToOnnx, ONNX_OPSET } from '../models/onnx/convert.js';
import { ensureBackend } from '../engine/backend.js';

/** What `exportOnnx` wrote. */
export interface OnnxExport {
  out: string;
  bytes: number;
  /** ONNX operator set the file declares. */
  opset: number;
  /** The graph's input (NHWC float32, normalised as `preprocessing` says) and output (class probabilities). */
  input: string;
  output: string;
  classes: string[];
}

/** Metadata keys an exported ONNX model carries (`metadata_props`), each a JSON value. */
export const ONNX_METADATA_KEYS = ['frugal.classes', 'frugal.input', 'frugal.preprocessing'] as const;

/**
 * Write a model directory as one ONNX file: input `image` (N×H×W×C float32, pixels normalised as
 * x = (pixel / 255 − mean) / std), output `probs` (N×K class probabilities). The classes, the input size and
 * the preprocessing constants are recorded as metadata (`frugal.classes`, `frugal.input`, `frugal.preprocessing`).
 */
export async function exportOnnx(modelDir: string, out: string): Promise<OnnxExport> {
  assertWholeLayersModel(modelDir, await readModelMeta(modelDir), 'ONNX export');
  await ensureBackend();
  const { model, meta } = await loadModelDir(modelDir);
  try {
    let bytes: Uint8Array;
    try {
      bytes = layersToOnnx(model, {
        inputName: 'image',
        outputNames: ['probs'],
        graphName: path.basename(path.resolve(modelDir)),
        metadata: {
          'frugal.classes': JSON.stringify(meta.classes),
          'frugal.input': JSON.stringify({ ...meta.input, layout: 'NHWC', dtype: 'float32' }),
          'frugal.preprocessing': JSON.stringify({ ...meta.preprocessing, formula: 'x = (pixel / 255 - mean) / std' }),
        },
      });
    } catch (err) {
      if (err instanceof FrugalError) throw new FrugalError(`${modelDir}: ${err.message}`);
      throw err;
    }
    await fsp.mkdir(path.dirname(path.resolve(out)), { recursive: true });
    await writeFileAtomic(out, bytes);
    return { out, bytes: bytes.length, opset: ONNX_OPSET, input: 'image', output: 'probs', classes: meta.classes };
  } finally {
    model.dispose();
  }
}
