import * as tfl from '@tensorflow/tfjs-layers';
import onnxProto from 'onnx-proto';
import { FrugalError } from '../../util/errors.js';
import { NOISE_CLASS_NAMES } from '../noise.js';
import type { Preprocessing } from '../preprocess.js';

const { onnx } = onnxProto;

/** The ONNX operator set our graphs declare (ONNX Runtime 1.x supports it, and so does every recent ONNX reader). */
export const ONNX_OPSET = 13;
/** The ONNX IR version written (that of ONNX 1.10, the `onnx-proto` schema). */
export const ONNX_IR_VERSION = 8;

export interface OnnxConversion {
  /** Name of the graph input: the image batch, NHWC. */
  inputName?: string;
  /**
   * Take raw pixels (uint8, NHWC) and normalise them inside the graph with these constants, instead of a float
   * input that is already normalised (the TF.js model's own input).
   */
  pixels?: Preprocessing;
  /** Names of the graph outputs, one per model output (default: the output layers' names). */
  outputNames?: string[];
  /** Key/value metadata stored in the model (`metadata_props`). */
  metadata?: Record<string, string>;
  /** The graph's name (default: the model's). */
  graphName?: string;
}

/** The layer classes the converter turns into ONNX (nested models are converted layer by layer). */
export const ONNX_LAYER_CLASSES: ReadonlySet<string> = new Set([
  'InputLayer',
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'BatchNormalization',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Softmax',
  'Add',
  'Multiply',
  'Average',
  'Maximum',
  'Minimum',
  'Subtract',
  'Concatenate',
  'ZeroPadding2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Flatten',
  'Dense',
  'Rescaling',
  ...NOISE_CLASS_NAMES,
]);

/** The layers of a model (and of the models it nests) that the converter cannot handle, by class. */
export function unsupportedLayers(model: tfl.LayersModel): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (m: tfl.LayersModel) => {
    for (const layer of m.layers) {
      if (layer instanceof tfl.LayersModel) {
        walk(layer);
        continue;
      }
      const cls = layer.getClassName();
      if (!ONNX_LAYER_CLASSES.has(cls) || !supportedConfig(layer)) out.set(cls, [...(out.get(cls) ?? []), layer.name]);
    }
  };
  walk(model);
  return out;
}

/** Settings of a supported class that the converter still cannot express (channels-first data, odd axes). */
function supportedConfig(layer: tfl.layers.Layer): boolean {
  const c = layer.getConfig();
  if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast') return false;
  if (layer.getClassName() === 'BatchNormalization') {
    const axis = Number(c.axis);
    const rank = layer.inboundNodes[0]?.inputTensors[0]?.shape.length ?? 4;
    return axis === -1 || axis === rank - 1;
  }
  return c.activation == null || activationOp(String(c.activation)) !== null;
}

/**
 * Convert a TF.js layers model (with the models it nests) to an ONNX model, weights included. The graph input
 * is NHWC like the TF.js model's; inside, spatial tensors are NCHW (ONNX's layout for Conv and pooling) and
 * are laid out back to NHWC only where the model's semantics need it (a Flatten, or a spatial output).
 */
export function layersToOnnx(model: tfl.LayersModel, options: OnnxConversion = {}): Uint8Array {
  const missing = unsupportedLayers(model);
  if (missing.size > 0) {
    const list = [...missing].map(([cls, names]) => `${cls} (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''})`);
    throw new FrugalError(`model "${model.name}" has layers Frugal cannot convert to ONNX: ${list.join('; ')}`);
  }
  if (model.inputs.length !== 1) throw new FrugalError(`model "${model.name}" has ${model.inputs.length} inputs; ONNX conversion takes one image input`);
  const g = new GraphBuilder();
  const input = model.inputs[0]!;
  const inShape = shapeOf(input);
  const inputName = options.inputName ?? input.sourceLayer.name;
  g.reserve(inputName);
  let x: Value = { name: inputName, shape: inShape };
  if (options.pixels) {
    const channels = inShape[inShape.length - 1]!;
    const { mean, std } = options.pixels;
    const scale = new Float32Array(channels).map((_, c) => 1 / (255 * std[c]!));
    const shift = new Float32Array(channels).map((_, c) => -mean[c]! / std[c]!);
    const float = g.node('Cast', [inputName], { to: onnx.TensorProto.DataType.FLOAT });
    const scaled = g.node('Mul', [float, g.floats('pixel_scale', scale, [channels])]);
    x = { name: g.node('Add', [scaled, g.floats('pixel_shift', shift, [channels])]), shape: inShape };
  }
  const outputNames = options.outputNames ?? model.outputs.map((o) => o.sourceLayer.name);
  if (outputNames.length !== model.outputs.length)
    throw new FrugalError(`model "${model.name}" has ${model.outputs.length} outputs, ${outputNames.length} names given`);
  for (const name of outputNames) g.reserve(name);
  const outputs = convertModel(model, [toInternal(g, x)], g);
  const graphOutputs = outputs.map((v, i) => {
    const name = outputNames[i]!;
    const external = fromInternal(g, v);
    g.nodes.push({ opType: 'Identity', input: [external.name], output: [name], name: `${name}_out` });
    return valueInfo(name, external.shape, onnx.TensorProto.DataType.FLOAT);
  });
  const graph: onnxProto.onnx.IGraphProto = {
    name: options.graphName ?? model.name,
    node: g.nodes,
    initializer: g.initializers,
    input: [valueInfo(inputName, inShape, options.pixels ? onnx.TensorProto.DataType.UINT8 : onnx.TensorProto.DataType.FLOAT)],
    output: graphOutputs,
  };
  const proto = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'frugal',
    producerVersion: '0.1.0',
    graph,
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(proto).finish();
}

/** A tensor in the graph: its ONNX name and its Keras shape (NHWC, batch null). Rank-4 values are stored NCHW. */
interface Value {
  name: string;
  shape: Array<number | null>;
}

function shapeOf(t: tfl.SymbolicTensor): Array<number | null> {
  return [...t.shape];
}

/** NHWC graph value → the internal layout (NCHW for rank 4). */
function toInternal(g: GraphBuilder, v: Value): Value {
  if (v.shape.length !== 4) return v;
  return { name: g.node('Transpose', [v.name], { perm: [0, 3, 1, 2] }), shape: v.shape };
}

/** Internal value → NHWC. */
function fromInternal(g: GraphBuilder, v: Value): Value {
  if (v.shape.length !== 4) return v;
  return { name: g.node('Transpose', [v.name], { perm: [0, 2, 3, 1] }), shape: v.shape };
}

type AttrValue = number | number[] | string;

/** Collects nodes and initializers, with unique names. */
class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();
  private count = 0;

  reserve(name: string): void {
    if (this.used.has(name)) throw new FrugalError(`ONNX conversion: the name "${name}" is used twice`);
    this.used.add(name);
  }

  unique(base: string): string {
    const clean = base.replace(/[^\w./-]/g, '_');
    let name = clean;
    while (this.used.has(name)) name = `${clean}_${++this.count}`;
    this.used.add(name);
    return name;
  }

  /** Add a node with one output; returns the output's name. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, base = op.toLowerCase()): string {
    const out = this.unique(base);
    this.nodes.push({
      opType: op,
      input: inputs,
      output: [out],
      name: this.unique(`${out}_node`),
      attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
    });
    return out;
  }

  floats(base: string, values: Float32Array, dims: number[]): string {
    const name = this.unique(base);
    const raw = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
    return name;
  }

  int64s(base: string, values: number[]): string {
    const name = this.unique(base);
    const raw = new Uint8Array(new BigInt64Array(values.map((v) => BigInt(v))).buffer);
    this.initializers.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw });
    return name;
  }

  scalar(base: string, value: number): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims: [], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(new Float32Array([value]).buffer) });
    return name;
  }
}

/** Attributes ONNX types as float (every other number we write is an int). */
const FLOAT_ATTRIBUTES = new Set(['epsilon', 'alpha', 'beta', 'gamma']);

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (FLOAT_ATTRIBUTES.has(name)) return { name, type: T.FLOAT, f: v };
  return { name, type: T.INT, i: v };
}

function valueInfo(name: string, shape: Array<number | null>, elemType: number): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: shape.map((d) => (d == null ? { dimParam: 'N' } : { dimValue: d })) } } },
  };
}

/** Convert a (possibly nested) model given the names of its inputs (internal layout); returns its outputs. */
function convertModel(model: tfl.LayersModel, inputs: Value[], g: GraphBuilder): Value[] {
  const values = new Map<number, Value>();
  model.inputs.forEach((t, i) => values.set(t.id, inputs[i]!));
  const visit = (t: tfl.SymbolicTensor): Value => {
    const known = values.get(t.id);
    if (known) return known;
    const node = t.sourceLayer.inboundNodes[t.nodeIndex]!;
    const ins = node.inputTensors.map(visit);
    const outs = convertLayer(t.sourceLayer, ins, node.outputTensors, g);
    node.outputTensors.forEach((o, i) => values.set(o.id, outs[i]!));
    return values.get(t.id)!;
  };
  return model.outputs.map(visit);
}

/** Weights of a layer by their short name (`kernel`, `bias`, `gamma`, …), as float32 values and shape. */
function weightsOf(layer: tfl.layers.Layer): Map<string, { values: Float32Array; shape: number[] }> {
  const out = new Map<string, { values: Float32Array; shape: number[] }>();
  const tensors = layer.getWeights();
  layer.weights.forEach((w, i) => {
    const short = w.originalName.split('/').pop()!.replace(/_\d+$/, '');
    out.set(short, { values: tensors[i]!.dataSync() as Float32Array, shape: [...tensors[i]!.shape] });
  });
  return out;
}

function pair(v: unknown): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[v.length > 1 ? 1 : 0])];
  return [Number(v), Number(v)];
}

/** Explicit ONNX pads ([top, left, bottom, right]) for TF's `same` or `valid` padding on a known input size. */
function padsFor(
  padding: string,
  inH: number | null,
  inW: number | null,
  kernel: [number, number],
  stride: [number, number],
  dilation: [number, number],
): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (inH == null || inW == null) throw new FrugalError('ONNX conversion: `same` padding needs a known input size');
  const total = (size: number, k: number, s: number, d: number) => Math.max((Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0);
  const th = total(inH, kernel[0], stride[0], dilation[0]);
  const tw = total(inW, kernel[1], stride[1], dilation[1]);
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

/** The ONNX op(s) of a Keras activation name; null when there is none we write. */
function activationOp(name: string): string | null {
  const key = name.toLowerCase().replaceAll('_', '');
  const known: Record<string, string> = {
    linear: 'Identity',
    relu: 'Relu',
    relu6: 'Clip6',
    sigmoid: 'Sigmoid',
    tanh: 'Tanh',
    softmax: 'Softmax',
    elu: 'Elu',
    selu: 'Selu',
    softplus: 'Softplus',
    softsign: 'Softsign',
    hardsigmoid: 'HardSigmoid',
    swish: 'Swish',
    mish: 'Mish',
  };
  return known[key] ?? null;
}

function applyActivation(g: GraphBuilder, v: Value, activation: string, base: string): Value {
  const op = activationOp(activation);
  if (op === null) throw new FrugalError(`ONNX conversion: activation "${activation}" (layer ${base}) is not supported`);
  const rank = v.shape.length;
  switch (op) {
    case 'Identity':
      return v;
    case 'Clip6':
      return clip(g, v, 0, 6, base);
    case 'Softmax':
      return { name: g.node('Softmax', [v.name], { axis: rank === 4 ? 1 : -1 }, base), shape: v.shape };
    case 'Selu':
      return { name: g.node('Selu', [v.name], { alpha: 1.6732632423543772, gamma: 1.0507009873554805 }, base), shape: v.shape };
    case 'HardSigmoid':
      return { name: g.node('HardSigmoid', [v.name], { alpha: 0.2, beta: 0.5 }, base), shape: v.shape };
    case 'Swish':
      return { name: g.node('Mul', [v.name, g.node('Sigmoid', [v.name])], {}, base), shape: v.shape };
    case 'Mish': {
      const t = g.node('Tanh', [g.node('Softplus', [v.name])]);
      return { name: g.node('Mul', [v.name, t], {}, base), shape: v.shape };
    }
    default:
      return { name: g.node(op, [v.name], {}, base), shape: v.shape };
  }
}

function clip(g: GraphBuilder, v: Value, min: number, max: number, base: string): Value {
  return { name: g.node('Clip', [v.name, g.scalar(`${base}_min`, min), g.scalar(`${base}_max`, max)], {}, base), shape: v.shape };
}

/** A Keras channels-last axis of a rank-`rank` tensor, as the axis of our internal layout. */
function internalAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (rank !== 4) return a;
  return [0, 2, 3, 1][a]!;
}

/** [kh, kw, cin, cout] → [cout, cin, kh, kw] */
function convKernel(w: { values: Float32Array; shape: number[] }): { values: Float32Array; dims: number[] } {
  const [kh, kw, cin, cout] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = w.values[((y * kw + x) * cin + i) * cout + o]!;
  return { values: out, dims: [cout, cin, kh, kw] };
}

/** Depthwise [kh, kw, cin, m] → grouped [cin·m, 1, kh, kw] (output channel c·m + j, as TF orders them). */
function depthwiseKernel(w: { values: Float32Array; shape: number[] }): { values: Float32Array; dims: number[] } {
  const [kh, kw, cin, m] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let c = 0; c < cin; c++) for (let j = 0; j < m; j++) out[((c * m + j) * kh + y) * kw + x] = w.values[((y * kw + x) * cin + c) * m + j]!;
  return { values: out, dims: [cin * m, 1, kh, kw] };
}

/** Merge layers that are one variadic element-wise ONNX op. */
const ELEMENTWISE_MERGE: Record<string, string> = { Add: 'Sum', Average: 'Mean', Maximum: 'Max', Minimum: 'Min' };

function convertLayer(layer: tfl.layers.Layer, ins: Value[], outTensors: tfl.SymbolicTensor[], g: GraphBuilder): Value[] {
  if (layer instanceof tfl.LayersModel) return convertModel(layer, ins, g);
  const cls = layer.getClassName();
  const c = layer.getConfig();
  const name = layer.name;
  const x = ins[0]!;
  const outShape = shapeOf(outTensors[0]!);
  const one = (out: string): Value[] => [{ name: out, shape: outShape }];
  if (cls === 'InputLayer' || NOISE_CLASS_NAMES.has(cls)) return [{ ...x, shape: outShape }];
  const elementwise = ELEMENTWISE_MERGE[cls];
  if (elementwise)
    return one(
      g.node(
        elementwise,
        ins.map((v) => v.name),
        {},
        name,
      ),
    );
  switch (cls) {
    case 'Conv2D':
    case 'DepthwiseConv2D':
    case 'SeparableConv2D': {
      const w = weightsOf(layer);
      const kernel = pair(c.kernelSize);
      const stride = pair(c.strides);
      const dilation = pair(c.dilationRate ?? 1);
      const pads = padsFor(String(c.padding), x.shape[1] ?? null, x.shape[2] ?? null, kernel, stride, dilation);
      const attrs = { kernel_shape: kernel, strides: stride, dilations: dilation, pads };
      let y: string;
      if (cls === 'Conv2D') {
        const k = convKernel(w.get('kernel')!);
        const inputs = [x.name, g.floats(`${name}_W`, k.values, k.dims)];
        if (w.has('bias')) inputs.push(g.floats(`${name}_B`, w.get('bias')!.values, [k.dims[0]!]));
        y = g.node('Conv', inputs, { ...attrs, group: 1 }, name);
      } else {
        const dw = depthwiseKernel(w.get('depthwise_kernel')!);
        const channels = w.get('depthwise_kernel')!.shape[2]!;
        const inputs = [x.name, g.floats(`${name}_W`, dw.values, dw.dims)];
        if (cls === 'DepthwiseConv2D' && w.has('bias')) inputs.push(g.floats(`${name}_B`, w.get('bias')!.values, [dw.dims[0]!]));
        y = g.node('Conv', inputs, { ...attrs, group: channels }, cls === 'DepthwiseConv2D' ? name : `${name}_depthwise`);
        if (cls === 'SeparableConv2D') {
          const pk = convKernel(w.get('pointwise_kernel')!);
          const pin = [y, g.floats(`${name}_pointwise_W`, pk.values, pk.dims)];
          if (w.has('bias')) pin.push(g.floats(`${name}_B`, w.get('bias')!.values, [pk.dims[0]!]));
          y = g.node('Conv', pin, { kernel_shape: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], group: 1 }, name);
        }
      }
      return [applyActivation(g, { name: y, shape: outShape }, String(c.activation ?? 'linear'), `${name}_act`)];
    }
    case 'BatchNormalization': {
      const w = weightsOf(layer);
      const mean = w.get('moving_mean')!.values;
      const n = mean.length;
      const gamma = w.get('gamma')?.values ?? new Float32Array(n).fill(1);
      const beta = w.get('beta')?.values ?? new Float32Array(n);
      const inputs = [
        x.name,
        g.floats(`${name}_gamma`, gamma, [n]),
        g.floats(`${name}_beta`, beta, [n]),
        g.floats(`${name}_mean`, mean, [n]),
        g.floats(`${name}_var`, w.get('moving_variance')!.values, [n]),
      ];
      return one(g.node('BatchNormalization', inputs, { epsilon: Number(c.epsilon) }, name));
    }
    case 'Activation':
      return [applyActivation(g, { name: x.name, shape: outShape }, String(c.activation), name)];
    case 'ReLU': {
      const max = c.maxValue as number | null | undefined;
      return max == null ? one(g.node('Relu', [x.name], {}, name)) : [clip(g, x, 0, max, name)];
    }
    case 'LeakyReLU':
      return one(g.node('LeakyRelu', [x.name], { alpha: Number(c.alpha ?? 0.3) }, name));
    case 'ELU':
      return one(g.node('Elu', [x.name], { alpha: Number(c.alpha ?? 1) }, name));
    case 'Softmax':
      return one(g.node('Softmax', [x.name], { axis: internalAxis(Number(c.axis ?? -1), x.shape.length) }, name));
    case 'Subtract':
      return one(g.node('Sub', [ins[0]!.name, ins[1]!.name], {}, name));
    case 'Multiply':
      return one(ins.slice(1).reduce((acc, v, i) => g.node('Mul', [acc, v.name], {}, i === ins.length - 2 ? name : `${name}_part`), ins[0]!.name));
    case 'Concatenate':
      return one(
        g.node(
          'Concat',
          ins.map((v) => v.name),
          { axis: internalAxis(Number(c.axis ?? -1), x.shape.length) },
          name,
        ),
      );
    case 'ZeroPadding2D': {
      const p = c.padding as [[number, number], [number, number]];
      const pads = g.int64s(`${name}_pads`, [0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]]);
      return one(g.node('Pad', [x.name, pads], { mode: 'constant' }, name));
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const kernel = pair(c.poolSize);
      const stride = pair(c.strides ?? c.poolSize);
      const pads = padsFor(String(c.padding), x.shape[1] ?? null, x.shape[2] ?? null, kernel, stride, [1, 1]);
      return one(g.node(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x.name], { kernel_shape: kernel, strides: stride, pads }, name));
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D': {
      const pooled = g.node(cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name], {}, `${name}_map`);
      return one(g.node('Flatten', [pooled], { axis: 1 }, name));
    }
    case 'Flatten': {
      if (x.shape.length === 2) return [{ ...x, shape: outShape }];
      return one(g.node('Flatten', [fromInternal(g, x).name], { axis: 1 }, name));
    }
    case 'Dense': {
      if (x.shape.length !== 2) throw new FrugalError(`ONNX conversion: dense layer "${name}" takes a rank-${x.shape.length} input; only rank 2 is supported`);
      const w = weightsOf(layer);
      const kernel = w.get('kernel')!;
      const inputs = [x.name, g.floats(`${name}_W`, kernel.values, kernel.shape)];
      if (w.has('bias')) inputs.push(g.floats(`${name}_B`, w.get('bias')!.values, [kernel.shape[1]!]));
      const y = g.node('Gemm', inputs, {}, name);
      return [applyActivation(g, { name: y, shape: outShape }, String(c.activation ?? 'linear'), `${name}_act`)];
    }
    case 'Rescaling': {
      const scaled = g.node('Mul', [x.name, g.scalar(`${name}_scale`, Number(c.scale))], {}, `${name}_scaled`);
      return one(g.node('Add', [scaled, g.scalar(`${name}_offset`, Number(c.offset ?? 0))], {}, name));
    }
    default:
      throw new FrugalError(`ONNX conversion: layer "${name}" (${cls}) is not supported`);
  }
}
