/**
 * A minimal ONNX model writer (protobuf by hand) so tests can make small ONNX models without Python.
 * Supports float tensors, nodes with attributes of type int and ints, and graph inputs/outputs.
 */

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

const key = (field: number, wire: number) => varint((field << 3) | wire);
const int = (field: number, n: number) => [...key(field, 0), ...varint(n)];
const bytes = (field: number, b: number[] | Uint8Array) => [...key(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string) => bytes(field, [...new TextEncoder().encode(s)]);

export interface OnnxTensor {
  name: string;
  dims: number[];
  values: Float32Array;
}

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number | number[]>;
}

function tensorProto(t: OnnxTensor): number[] {
  const raw = new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength);
  return [...t.dims.flatMap((d) => int(1, d)), ...int(2, 1), ...str(8, t.name), ...bytes(9, raw)];
}

function valueInfo(name: string, dims: Array<number | string>): number[] {
  const shape = dims.flatMap((d) => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  const tensorType = [...int(1, 1), ...bytes(2, shape)];
  return [...str(1, name), ...bytes(2, bytes(1, tensorType))];
}

function attribute(name: string, v: number | number[]): number[] {
  // AttributeProto: name=1, i=3, ints=8, type=20 (INT=2, INTS=7)
  if (Array.isArray(v)) return [...str(1, name), ...v.flatMap((x) => int(8, x)), ...int(20, 7)];
  return [...str(1, name), ...int(3, v), ...int(20, 2)];
}

function nodeProto(n: OnnxNode, i: number): number[] {
  return [
    ...n.inputs.flatMap((x) => str(1, x)),
    ...n.outputs.flatMap((x) => str(2, x)),
    ...str(3, `node${i}`),
    ...str(4, n.op),
    ...Object.entries(n.attrs ?? {}).flatMap(([k, v]) => bytes(5, attribute(k, v))),
  ];
}

export function onnxModel(g: {
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: Array<{ name: string; dims: Array<number | string> }>;
  outputs: Array<{ name: string; dims: Array<number | string> }>;
}): Uint8Array {
  const graph = [
    ...g.nodes.flatMap((n, i) => bytes(1, nodeProto(n, i))),
    ...str(2, 'test-graph'),
    ...g.initializers.flatMap((t) => bytes(5, tensorProto(t))),
    ...g.inputs.flatMap((v) => bytes(11, valueInfo(v.name, v.dims))),
    ...g.outputs.flatMap((v) => bytes(12, valueInfo(v.name, v.dims))),
  ];
  const opset = [...str(1, ''), ...int(2, 13)];
  return new Uint8Array([...int(1, 7), ...str(2, 'frugal-test'), ...bytes(7, graph), ...bytes(8, opset)]);
}
