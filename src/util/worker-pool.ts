import { Worker } from 'node:worker_threads';

interface Job<Req, Res> {
  req: Req;
  transfer: ArrayBuffer[];
  resolve: (res: Res) => void;
  reject: (err: Error) => void;
}

interface Lane<Req, Res> {
  worker: Worker;
  job: Job<Req, Res> | null;
}

/**
 * A fixed set of worker threads, each running one job at a time (so N workers use at most N cores).
 * Workers are created by `script` and answer `{ ok, res | error }` to each `req` (see `serveWorker`).
 * Idle workers do not keep the process alive.
 */
export class WorkerPool<Req, Res> {
  private lanes: Lane<Req, Res>[] = [];
  private queue: Job<Req, Res>[] = [];
  private closed = false;

  constructor(script: URL, size: number, workerData?: unknown) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const worker = new Worker(script, { workerData });
      const lane: Lane<Req, Res> = { worker, job: null };
      worker.on('message', (msg: { ok: boolean; res?: Res; error?: string }) => {
        const job = lane.job;
        lane.job = null;
        if (job) {
          if (msg.ok) job.resolve(msg.res as Res);
          else job.reject(new Error(msg.error));
        }
        this.dispatch();
      });
      worker.on('error', (err) => {
        lane.job?.reject(err);
        lane.job = null;
      });
      worker.unref();
      this.lanes.push(lane);
    }
  }

  get size(): number {
    return this.lanes.length;
  }

  run(req: Req, transfer: ArrayBuffer[] = []): Promise<Res> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ req, transfer, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const lane of this.lanes) {
      if (lane.job) {
        lane.worker.ref();
        continue;
      }
      const job = this.queue.shift();
      if (!job) {
        lane.worker.unref();
        continue;
      }
      lane.job = job;
      lane.worker.ref();
      lane.worker.postMessage(job.req, job.transfer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue) job.reject(new Error('worker pool closed'));
    this.queue = [];
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }
}
