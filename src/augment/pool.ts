/**
 * A small reusable worker pool that applies an augmentation policy to batches of images.
 *
 * Each batch is split into contiguous chunks, one per worker; every image travels as its own
 * transferred ArrayBuffer (copied from the caller's image unless `copyInputs: false`; results come
 * back without a copy). Image i of a batch always
 * uses the generator imageRng(seed, i), and mixup/cutmix run on the calling thread with
 * batchRng(seed), so the output is identical for any worker count (and to augmentBatch()).
 */
import { Worker } from 'node:worker_threads';
import type { RawImage } from '../data/image.js';
import { LanePool, type Lane, type LaneEvents } from '../util/lane-pool.js';
import { finishBatch, type AugmentedBatch } from './batch.js';
import { buildPolicy } from './policies/index.js';
import type { Policy, PolicySpec } from './policies/types.js';
import { fromTransferable, toTransferable } from './transferable.js';
import type { RunMessage, WorkerReply } from './worker.js';

export interface AugmentPoolOptions {
  policy: string | PolicySpec | Policy;
  /** Number of worker threads (default 1). */
  workers?: number;
  /**
   * Copy input images before transferring them (default true). With false, images whose data spans a
   * whole ArrayBuffer are transferred as they are and become unusable (detached) for the caller.
   */
  copyInputs?: boolean;
}

const WORKER = new URL('./worker.js', import.meta.url);

/**
 * Worker threads (`LanePool`: started when there is work, idle ones not keeping the process alive; a worker that
 * fails fails its chunk, and one that exits is replaced).
 */
export class AugmentPool {
  readonly policy: Policy;
  private readonly pool: LanePool<RunMessage, WorkerReply, RawImage[]>;
  private readonly copyInputs: boolean;

  constructor(opts: AugmentPoolOptions) {
    const p = opts.policy;
    this.policy = typeof p === 'string' || !('image' in p) ? buildPolicy(p) : p;
    this.copyInputs = opts.copyInputs ?? true;
    this.pool = new LanePool(
      opts.workers ?? 1,
      startWorker,
      (reply) => (reply.ok ? fromTransferable(reply) : new Error(`augmentation worker failed: ${reply.error}`)),
      'AugmentPool',
    );
  }

  /** The most worker threads it runs. */
  get size(): number {
    return this.pool.size;
  }

  /**
   * Augment one batch: the policy's per-image part on the workers, then its batch op (mixup /
   * cutmix) here. `targets` (one soft/one-hot row per image) are required when the policy mixes.
   */
  async run(images: readonly RawImage[], seed: number, targets?: Float32Array[]): Promise<AugmentedBatch> {
    const n = images.length;
    const chunks = Math.min(this.size, n);
    const per = Math.ceil(n / Math.max(1, chunks));
    const parts: Promise<RawImage[]>[] = [];
    for (let start = 0; start < n; start += per) {
      const packed = toTransferable(images.slice(start, start + per), this.copyInputs);
      parts.push(
        this.pool.run({
          type: 'run',
          policy: this.policy.text,
          buffers: packed.buffers,
          shapes: packed.shapes,
          seed,
          startIndex: start,
        }),
      );
    }
    const out = (await Promise.all(parts)).flat();
    return finishBatch(this.policy, out, seed, targets);
  }

  /** Stop the workers; pending batches are rejected. */
  close(): Promise<void> {
    return this.pool.close();
  }
}

function startWorker(events: LaneEvents<WorkerReply>): Lane<RunMessage> {
  const worker = new Worker(WORKER);
  worker.on('message', (reply: WorkerReply) => events.reply(reply));
  worker.on('error', (err) => events.fail(err instanceof Error ? err : new Error(String(err))));
  worker.on('exit', (code) => events.exit(new Error(`augmentation worker exited with code ${code}`)));
  return {
    send: (msg) => worker.postMessage(msg, msg.buffers),
    hold: (busy) => (busy ? worker.ref() : worker.unref()),
    stop: async () => void (await worker.terminate()),
  };
}
