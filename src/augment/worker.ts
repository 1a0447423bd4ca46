/** Worker thread for AugmentPool: applies a policy's per-image part to batches of images. */
import { parentPort } from 'node:worker_threads';
import { augmentImages } from './batch.js';
import { buildPolicy } from './policies/index.js';
import type { Policy } from './policies/types.js';
import { fromTransferable, toTransferable, type Shape } from './transferable.js';

export interface RunMessage {
  type: 'run';
  policy: string;
  buffers: ArrayBuffer[];
  shapes: Shape[];
  seed: number;
  startIndex: number;
}

export type WorkerReply = { ok: true; buffers: ArrayBuffer[]; shapes: Shape[] } | { ok: false; error: string };

const policies = new Map<string, Policy>();

parentPort!.on('message', (msg: RunMessage) => {
  try {
    let policy = policies.get(msg.policy);
    if (!policy) {
      policy = buildPolicy(msg.policy);
      policies.set(msg.policy, policy);
    }
    const images = fromTransferable(msg);
    // op results own fresh buffers, so they go back without a copy
    const out = toTransferable(augmentImages(policy, images, msg.seed, msg.startIndex), false);
    const reply: WorkerReply = { ok: true, buffers: out.buffers, shapes: out.shapes };
    parentPort!.postMessage(reply, out.buffers);
  } catch (err) {
    const reply: WorkerReply = { ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    parentPort!.postMessage(reply);
  }
});
