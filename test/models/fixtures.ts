import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getArch } from '../../src/models/zoo/index.js';
import { initWeights } from '../../src/models/init.js';
import { saveModelDir, newMeta } from '../../src/models/model-dir.js';
import { onnxModel } from '../onnx-writer.js';

/** A Frugal model directory (cnn-tiny, 16×16×1, 3 classes, seeded random weights). */
export async function makeFrugalModel(dir: string, seed = 1): Promise<string> {
  const model = getArch('cnn-tiny')!.build({ inputShape: [16, 16, 1], numClasses: 3 });
  initWeights(model, seed);
  await saveModelDir(dir, model, newMeta({ classes: ['a', 'b', 'c'], input: { height: 16, width: 16, channels: 1, resize: 'squash' }, preprocessing: { mean: [0.4], std: [0.3] } }));
  model.dispose();
  return dir;
}

/** A plain TF.js layers model directory (model.json + weights, no frugal.json), with a sidecar. */
export async function makeTfjsLayersDir(dir: string): Promise<string> {
  const src = await makeFrugalModel(path.join(dir, '..', `${path.basename(dir)}-src`));
  await fsp.mkdir(dir, { recursive: true });
  for (const f of ['model.json', 'weights.bin']) await fsp.copyFile(path.join(src, f), path.join(dir, f));
  await fsp.writeFile(path.join(dir, 'frugal-backbone.json'), JSON.stringify({ mean: [0.4], std: [0.3] }));
  return dir;
}

/** A TF.js graph model: features = mean over H,W of the image, times a 3×4 matrix. */
export async function makeGraphModel(dir: string): Promise<{ dir: string; w: Float32Array }> {
  const w = Float32Array.from({ length: 12 }, (_, i) => (i % 5) - 2 + i / 10);
  const dim = (sizes: number[]) => ({ dim: sizes.map((s) => ({ size: String(s) })) });
  const json = {
    format: 'graph-model',
    generatedBy: 'frugal-test',
    convertedBy: 'frugal-test',
    modelTopology: {
      node: [
        { name: 'image', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dim([-1, 8, 8, 3]) } } },
        { name: 'axes', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: dim([2]) } } } },
        { name: 'w', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dim([3, 4]) } } } },
        { name: 'pooled', op: 'Mean', input: ['image', 'axes'], attr: { keep_dims: { b: false }, T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' } } },
        { name: 'features', op: 'MatMul', input: ['pooled', 'w'], attr: { transpose_a: { b: false }, transpose_b: { b: false }, T: { type: 'DT_FLOAT' } } },
      ],
      library: {},
      versions: {},
    },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [{ name: 'axes', shape: [2], dtype: 'int32' }, { name: 'w', shape: [3, 4], dtype: 'float32' }] }],
  };
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
  const bin = Buffer.concat([Buffer.from(new Int32Array([1, 2]).buffer), Buffer.from(w.buffer)]);
  await fsp.writeFile(path.join(dir, 'group1-shard1of1.bin'), bin);
  await fsp.writeFile(path.join(dir, 'frugal-backbone.json'), JSON.stringify({ size: 8, channels: 3, mean: [0, 0, 0], std: [1, 1, 1] }));
  return { dir, w };
}

/** An ONNX model: 1×1 conv (4 filters) → ReLU → global average pool, NCHW 3×8×8 input, with a sidecar. */
export async function makeOnnxModel(file: string): Promise<{ file: string; w: Float32Array }> {
  const w = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, -1, 1]);
  const bytes = onnxModel({
    nodes: [
      { op: 'Conv', inputs: ['image', 'w'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['features'] },
    ],
    initializers: [{ name: 'w', dims: [4, 3, 1, 1], values: w }],
    inputs: [{ name: 'image', dims: ['N', 3, 8, 8] }],
    // `r`, the ReLU map before pooling, is a second output (a spatial cut).
    outputs: [
      { name: 'features', dims: ['N', 4, 1, 1] },
      { name: 'r', dims: ['N', 4, 8, 8] },
    ],
  });
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, bytes);
  await fsp.writeFile(`${file}.json`, JSON.stringify({ size: 8, channels: 3, mean: [0, 0, 0], std: [1, 1, 1], layout: 'NCHW' }));
  return { file, w };
}

/**
 * A local HTTP server over a folder. `/fail/...` answers 500; `/truncated/...` promises the full
 * length and sends half. Counts requests.
 */
export async function serveFolder(root: string): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push(url.pathname);
    let p = decodeURIComponent(url.pathname);
    const mode = p.startsWith('/fail/') ? 'fail' : p.startsWith('/truncated/') ? 'truncated' : 'ok';
    if (mode !== 'ok') p = p.slice(p.indexOf('/', 1));
    if (mode === 'fail') {
      res.writeHead(500);
      return res.end('boom');
    }
    try {
      const body = await fsp.readFile(path.join(root, p));
      res.writeHead(200, { 'content-length': body.length });
      if (mode === 'truncated') {
        res.write(body.subarray(0, body.length >> 1));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
