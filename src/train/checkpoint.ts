import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../util/fs.js';
import { FrugalError } from '../util/errors.js';

/** A run folder's checkpoint file (written after every epoch, read by a resume). */
export const CHECKPOINT_FILE = 'checkpoint.bin';

const MAGIC = 'FRCK1';

/** Everything needed to continue a training run exactly where an epoch ended. */
export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  /** The model's weights (all of them, BatchNorm statistics included), in `model.weights` order. */
  weights: Float32Array[];
  optimizer: { t: number; slots: Float32Array[] };
  /** Best epoch so far (validation accuracy, then validation loss), with its weights (best-model keeping). */
  best: { epoch: number; score: number; loss?: number; weights: Float32Array[] } | null;
  /** Per-epoch logs so far, early-stopping counter and anything else the caller needs. */
  info: Record<string, unknown>;
}

/** Write a checkpoint atomically (temp file, fsync, rename): a crash leaves the previous one intact. */
export async function writeCheckpoint(file: string, state: CheckpointState): Promise<void> {
  const groups: Array<[string, Float32Array[]]> = [
    ['weights', state.weights],
    ['slots', state.optimizer.slots],
    ['best', state.best?.weights ?? []],
  ];
  const checksum = createHash('sha256');
  for (const [, arrays] of groups) for (const a of arrays) checksum.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  const header = {
    checksum: checksum.digest('hex'),
    epoch: state.epoch,
    t: state.optimizer.t,
    best: state.best ? { epoch: state.best.epoch, score: state.best.score, loss: state.best.loss } : null,
    info: state.info,
    lengths: Object.fromEntries(groups.map(([name, arrays]) => [name, arrays.map((a) => a.length)])),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const total = groups.reduce((n, [, arrays]) => n + arrays.reduce((m, a) => m + a.length * 4, 0), 0);
  const pad = (4 - ((MAGIC.length + 4 + json.length) % 4)) % 4;
  const buf = Buffer.alloc(MAGIC.length + 4 + json.length + pad + total);
  buf.write(MAGIC, 0, 'ascii');
  buf.writeUInt32LE(json.length + pad, MAGIC.length);
  json.copy(buf, MAGIC.length + 4);
  buf.fill(0x20, MAGIC.length + 4 + json.length, MAGIC.length + 4 + json.length + pad);
  let o = MAGIC.length + 4 + json.length + pad;
  for (const [, arrays] of groups) {
    for (const a of arrays) {
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(buf, o);
      o += a.byteLength;
    }
  }
  await writeFileAtomic(file, buf);
}

export async function readCheckpoint(file: string): Promise<CheckpointState> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch {
    throw new FrugalError(`${file}: no checkpoint to resume from`);
  }
  if (buf.subarray(0, MAGIC.length).toString('ascii') !== MAGIC) throw new FrugalError(`${file}: not a Frugal checkpoint`);
  const jsonLength = buf.readUInt32LE(MAGIC.length);
  let header: {
    epoch: number;
    t: number;
    best: { epoch: number; score: number; loss?: number } | null;
    info: Record<string, unknown>;
    lengths: Record<string, number[]>;
    checksum?: string;
  };
  try {
    header = JSON.parse(buf.subarray(MAGIC.length + 4, MAGIC.length + 4 + jsonLength).toString('utf8'));
  } catch {
    throw new FrugalError(`${file}: checkpoint header is corrupt`);
  }
  let o = MAGIC.length + 4 + jsonLength;
  if (header.checksum && createHash('sha256').update(buf.subarray(o)).digest('hex') !== header.checksum) {
    throw new FrugalError(`${file}: checkpoint is corrupt (its checksum does not match)`);
  }
  const take = (name: string): Float32Array[] =>
    (header.lengths[name] ?? []).map((len) => {
      if (o + len * 4 > buf.length) throw new FrugalError(`${file}: checkpoint is truncated`);
      const a = new Float32Array(len);
      Buffer.from(a.buffer).set(buf.subarray(o, o + len * 4));
      o += len * 4;
      return a;
    });
  const weights = take('weights');
  const slots = take('slots');
  const best = take('best');
  return {
    epoch: header.epoch,
    weights,
    optimizer: { t: header.t, slots },
    best: header.best ? { ...header.best, weights: best } : null,
    info: header.info,
  };
}
