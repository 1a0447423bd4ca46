import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DecodeReply, DecodeRequest } from './decode-worker.js';
import type { LoadResult } from './load-image.js';

interface Job {
  req: DecodeRequest;
  resolve: (res: LoadResult[]) => void;
  reject: (err: Error) => void;
}

interface Lane {
  child: ChildProcess;
  job: Job | null;
}

/**
 * Up to `size` decoding processes (`decode-worker.js`), each decoding one request at a time, started when there is
 * work for them. Processes, not worker threads: libvips takes process-wide locks (GLib's signal lock, its object
 * argument lock) hundreds of times per image while it builds and frees a pipeline's operations, so two decoding
 * threads in one process wait on each other; two processes do not (docs/benchmarks.md, bench/decode).
 * Idle processes do not keep the parent alive, and exit with it.
 */
export class DecodePool {
  private lanes: Lane[] = [];
  private queue: Job[] = [];
  private closed = false;
  private readonly script = fileURLToPath(new URL('./decode-worker.js', import.meta.url));

  constructor(readonly size: number) {}

  run(req: DecodeRequest): Promise<LoadResult[]> {
    if (this.closed) return Promise.reject(new Error('decode pool is closed'));
    return new Promise<LoadResult[]>((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const lane = this.lanes.find((l) => !l.job) ?? (this.lanes.length < this.size ? this.spawn() : null);
      if (!lane) break;
      const job = this.queue.shift()!;
      lane.job = job;
      hold(lane.child, true);
      lane.child.send(job.req);
    }
    for (const lane of this.lanes) if (!lane.job) hold(lane.child, false);
  }

  private spawn(): Lane {
    // No inherited Node flags (--test, --inspect, …): the decoder needs none of them.
    const child = fork(this.script, [], { serialization: 'advanced', execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const lane: Lane = { child, job: null };
    const fail = (err: Error) => {
      const job = lane.job;
      lane.job = null;
      job?.reject(err);
    };
    child.on('message', (msg: DecodeReply) => {
      const job = lane.job;
      lane.job = null;
      if (job) {
        if (msg.ok) job.resolve(msg.res);
        else job.reject(new Error(msg.error));
      }
      this.dispatch();
    });
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      this.lanes = this.lanes.filter((l) => l !== lane);
      fail(new Error(`decoding process exited (${signal ?? `code ${code}`})`));
      // Queued work goes to another process (a new one if need be).
      if (!this.closed) this.dispatch();
    });
    this.lanes.push(lane);
    return lane;
  }

  /** Reject queued work and stop the processes. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue) job.reject(new Error('decode pool closed'));
    this.queue = [];
    await Promise.all(
      this.lanes.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            hold(child, true);
            child.kill();
          }),
      ),
    );
  }
}

/** Whether a process keeps the parent's event loop alive (while it has work) or not (idle). */
function hold(child: ChildProcess, busy: boolean): void {
  const channel = child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
  if (busy) {
    child.ref();
    channel?.ref?.();
  } else {
    child.unref();
    channel?.unref?.();
  }
}
