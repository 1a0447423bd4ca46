import { promises as fsp } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { FrugalError } from '../util/errors.js';

/** An array read from an IDX file (the MNIST / Fashion-MNIST format). Only unsigned bytes are supported. */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

const TYPE_UBYTE = 0x08;

/** Read an IDX file, gzipped or not; the header must agree with the file's size. */
export async function readIdx(file: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    throw new FrugalError(`${file}: cannot read IDX file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      throw new FrugalError(`${file}: gzip data is corrupt or truncated`);
    }
  }
  return parseIdx(bytes, file);
}

export function parseIdx(bytes: Uint8Array, name = 'IDX data'): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new FrugalError(`${name}: not an IDX file (bad magic number)`);
  }
  const type = bytes[2]!;
  const rank = bytes[3]!;
  if (type !== TYPE_UBYTE) {
    throw new FrugalError(`${name}: IDX element type 0x${type.toString(16)} is not supported (only unsigned bytes, 0x08)`);
  }
  if (rank < 1 || rank > 4) throw new FrugalError(`${name}: IDX rank ${rank} is not supported`);
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize) throw new FrugalError(`${name}: IDX header is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const expected = shape.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerSize;
  if (actual !== expected) {
    throw new FrugalError(`${name}: IDX header says shape [${shape.join(', ')}] (${expected} bytes of data) but the file holds ${actual} bytes`);
  }
  return { shape, data: bytes.subarray(headerSize) };
}

/** Serialise an array as IDX (unsigned bytes). */
export function encodeIdx(shape: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  const view = new DataView(header.buffer);
  header[2] = TYPE_UBYTE;
  header[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/** Images and labels from a pair of IDX files; checks that they agree. */
export async function readIdxPair(imagesFile: string, labelsFile: string): Promise<{ images: IdxArray; labels: Uint8Array }> {
  const images = await readIdx(imagesFile);
  const labels = await readIdx(labelsFile);
  if (images.shape.length !== 3 && images.shape.length !== 4) {
    throw new FrugalError(`${imagesFile}: expected images of shape [N, H, W] or [N, H, W, C], got [${images.shape.join(', ')}]`);
  }
  if (labels.shape.length !== 1) {
    throw new FrugalError(`${labelsFile}: expected labels of shape [N], got [${labels.shape.join(', ')}]`);
  }
  if (labels.shape[0] !== images.shape[0]) {
    throw new FrugalError(`${labelsFile}: ${labels.shape[0]} labels for ${images.shape[0]} images in ${imagesFile}`);
  }
  return { images, labels: labels.data };
}
