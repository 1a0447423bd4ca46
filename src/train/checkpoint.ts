import { promises as fsp } from 'node:fs';
import { writeFileAtomic } from '../util/fs.js';
import { FrugalError } from '../util/errors.js';
import { decodeFramed, encodeFramed, type FramedProblem } from '../util/framed-file.js';

/** A run folder's checkpoint file (written after every epoch, read by a resume). */
export const CHECKPOINT_FILE = 'checkpoint.bin';

const MAGIC = 'FRCK1';

/** What a checkpoint that cannot be read is, by what is wrong with it. */
const CHECKPOINT_PROBLEMS: Record<FramedProblem, string> = {
  magic: 'not a Frugal checkpoint',
  truncated: 'checkpoint is truncated',
  header: 'checkpoint header is corrupt',
  checksum: 'checkpoint is corrupt (its checksum does not match)',
};

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
  const header = {
    epoch: state.epoch,
    t: state.optimizer.t,
    best: state.best ? { epoch: state.best.epoch, score: state.best.score, loss: state.best.loss } : null,
    info: state.info,
    lengths: Object.fromEntries(groups.map(([name, arrays]) => [name, arrays.map((a) => a.length)])),
  };
  const buf = encodeFramed(
    MAGIC,
    header,
    groups.flatMap(([, arrays]) => arrays),
  );
  await writeFileAtomic(file, buf);
}

export async function readCheckpoint(file: string): Promise<CheckpointState> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch {
    throw new FrugalError(`${file}: no checkpoint to resume from`);
  }
  const framed = decodeFramed<{
    epoch: number;
    t: number;
    best: { epoch: number; score: number; loss?: number } | null;
    info: Record<string, unknown>;
    lengths: Record<string, number[]>;
  }>(buf, MAGIC);
  if (typeof framed === 'string') throw new FrugalError(`${file}: ${CHECKPOINT_PROBLEMS[framed]}`);
  const { header, payload } = framed;
  let o = 0;
  const take = (name: string): Float32Array[] =>
    (header.lengths[name] ?? []).map((len) => {
      if (o + len * 4 > payload.length) throw new FrugalError(`${file}: ${CHECKPOINT_PROBLEMS.truncated}`);
      const a = new Float32Array(len);
      Buffer.from(a.buffer).set(payload.subarray(o, o + len * 4));
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
