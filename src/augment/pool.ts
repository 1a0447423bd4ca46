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

interface Task {
  msg: RunMessage;
  resolve: (images: RawImage[]) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: Task | null;
}

export class AugmentPool {
  readonly policy: Policy;
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private failure: Error | null = null;
  private readonly copyInputs: boolean;

  constructor(opts: AugmentPoolOptions) {
    const p = opts.policy;
    this.policy = typeof p === 'string' || !('image' in p) ? buildPolicy(p) : p;
    const n = opts.workers ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`AugmentPool: workers must be a positive integer, got ${n}`);
    this.size = n;
    this.copyInputs = opts.copyInputs ?? true;
    const url = new URL('./worker.js', import.meta.url);
    for (let i = 0; i < n; i++) {
      const worker = new Worker(url);
      const slot: Slot = { worker, busy: null };
      worker.unref();
      worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
      worker.on('error', (err) => this.fail(err instanceof Error ? err : new Error(String(err))));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`augmentation worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  /**
   * Augment one batch: the policy's per-image part on the workers, then its batch op (mixup /
   * cutmix) here. `targets` (one soft/one-hot row per image) are required when the policy mixes.
   */
  async run(images: readonly RawImage[], seed: number, targets?: Float32Array[]): Promise<AugmentedBatch> {
    if (this.closed) throw new Error('AugmentPool is closed');
    if (this.failure) throw this.failure;
    const n = images.length;
    const chunks = Math.min(this.size, n);
    const per = Math.ceil(n / Math.max(1, chunks));
    const parts: Promise<RawImage[]>[] = [];
    for (let start = 0; start < n; start += per) {
      const packed = toTransferable(images.slice(start, start + per), this.copyInputs);
      const msg: RunMessage = {
        type: 'run',
        id: this.nextId++,
        policy: this.policy.text,
        buffers: packed.buffers,
        shapes: packed.shapes,
        seed,
        startIndex: start,
      };
      parts.push(new Promise<RawImage[]>((resolve, reject) => this.enqueue({ msg, resolve, reject })));
    }
    const out = (await Promise.all(parts)).flat();
    return finishBatch(this.policy, out, seed, targets);
  }

  /** Stop the workers; pending batches are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('AugmentPool closed');
    for (const t of this.queue.splice(0)) t.reject(err);
    for (const s of this.slots) if (s.busy) s.busy.reject(err);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private enqueue(task: Task): void {
    if (this.failure) return task.reject(this.failure);
    this.queue.push(task);
    this.dispatch();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy) continue;
      const task = this.queue.shift()!;
      slot.busy = task;
      slot.worker.ref();
      slot.worker.postMessage(task.msg, task.msg.buffers);
    }
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    const task = slot.busy;
    slot.busy = null;
    slot.worker.unref();
    if (task && task.msg.id === reply.id) {
      if (reply.ok) task.resolve(fromTransferable(reply));
      else task.reject(new Error(`augmentation worker failed: ${reply.error}`));
    }
    this.dispatch();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const t of this.queue.splice(0)) t.reject(err);
    for (const s of this.slots) {
      if (s.busy) s.busy.reject(err);
      s.busy = null;
      s.worker.unref();
    }
  }
}
