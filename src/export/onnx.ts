import { FrugalError } from '../util/errors.js';

/** What `exportOnnx` wrote. */
export interface OnnxExport {
  out: string;
  bytes: number;
  /** ONNX operator set the file declares. */
  opset: number;
}

/** Write a model directory as one ONNX file (NHWC float input, pixels normalised inside the graph). */
export async function exportOnnx(modelDir: string, out: string): Promise<OnnxExport> {
  throw new FrugalError(`${modelDir}: ONNX export is being written (${out})`);
}
