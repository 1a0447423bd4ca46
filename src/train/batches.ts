import { Rng } from '../util/rng.js';

/** One training batch: inputs (N×H×W×C image bytes, or N×D features), soft target rows (N×K) and optional extras. */
export interface Batch {
  count: number;
  inputs: Uint8Array | Float32Array;
  targets: Float32Array;
  /** Per-sample loss weights (class weights, pseudo-label weights). */
  weights?: Float32Array;
  /** Teacher logits for distillation (N×K), when the loss needs them. */
  teacher?: Float32Array;
  /** Whether each sample has a true label (distillation of unlabeled samples uses the soft term only). */
  labeled?: Uint8Array;
}

/** Where the loop gets its batches: a fixed number per epoch, in an order that depends only on the epoch (and seed). */
export interface BatchSource {
  batchesPerEpoch(): number;
  epoch(epoch: number): AsyncIterable<Batch>;
}

/** Transforms a batch before the step (augmentation, mixup...). Seeded by the rng it is given. */
export type BatchTransform = (batch: Batch, rng: Rng) => Batch | Promise<Batch>;

export interface ArraySourceOptions {
  batchSize: number;
  seed: number;
  /** Per-sample weights (N). */
  weights?: Float32Array;
  /** Teacher logits (N×K). */
  teacher?: Float32Array;
  labeled?: Uint8Array;
  /** Drop the last incomplete batch (keeps BatchNorm statistics sane for tiny remainders). */
  dropLast?: boolean;
  transform?: BatchTransform;
}

/**
 * Batches from images held in memory, shuffled per epoch with a seed derived from (seed, epoch),
 * so a resumed run sees exactly the batches an uninterrupted run would. The next batch is
 * prepared (and transformed, e.g. augmented in worker threads) while the current one trains.
 */
export class ArraySource implements BatchSource {
  private readonly imageSize: number;
  private readonly numClasses: number;

  constructor(
    readonly inputs: Uint8Array | Float32Array,
    readonly targets: Float32Array,
    readonly count: number,
    private readonly options: ArraySourceOptions,
  ) {
    this.imageSize = inputs.length / count;
    this.numClasses = targets.length / count;
    if (!Number.isInteger(this.imageSize) || !Number.isInteger(this.numClasses)) throw new Error('inputs/targets do not match the count');
  }

  batchesPerEpoch(): number {
    const { batchSize, dropLast } = this.options;
    const full = Math.floor(this.count / batchSize);
    return dropLast !== false && full > 0 ? full : Math.ceil(this.count / batchSize);
  }

  async *epoch(epoch: number): AsyncIterable<Batch> {
    const rng = new Rng(this.options.seed * 7919 + epoch * 104729 + 17);
    const order = rng.shuffle(Array.from({ length: this.count }, (_, i) => i));
    const n = this.batchesPerEpoch();
    const bs = this.options.batchSize;
    const make = (b: number) => {
      const idx = order.slice(b * bs, Math.min((b + 1) * bs, this.count));
      return this.prepare(idx, rng.fork());
    };
    let next = make(0);
    for (let b = 0; b < n; b++) {
      const current = await next;
      if (b + 1 < n) next = make(b + 1);
      yield current;
    }
  }

  private async prepare(idx: number[], rng: Rng): Promise<Batch> {
    const { weights, teacher, labeled, transform } = this.options;
    const k = this.numClasses;
    const batch: Batch = {
      count: idx.length,
      inputs: this.inputs instanceof Float32Array ? new Float32Array(idx.length * this.imageSize) : new Uint8Array(idx.length * this.imageSize),
      targets: new Float32Array(idx.length * k),
    };
    if (weights) batch.weights = new Float32Array(idx.length);
    if (teacher) batch.teacher = new Float32Array(idx.length * k);
    if (labeled) batch.labeled = new Uint8Array(idx.length);
    idx.forEach((src, i) => {
      batch.inputs.set(this.inputs.subarray(src * this.imageSize, (src + 1) * this.imageSize), i * this.imageSize);
      batch.targets.set(this.targets.subarray(src * k, (src + 1) * k), i * k);
      if (weights) batch.weights![i] = weights[src]!;
      if (teacher) batch.teacher!.set(teacher.subarray(src * k, (src + 1) * k), i * k);
      if (labeled) batch.labeled![i] = labeled[src]!;
    });
    return transform ? transform(batch, rng) : batch;
  }
}
