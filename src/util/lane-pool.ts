/**
 * A pool of up to `size` lanes (a child process or a worker thread each), each doing one request at a time, started
 * when there is work for them. The lane kind is the caller's (`LaneFactory`); the queue, dispatch, idle references,
 * failure and shutdown are here, once.
 *
 * - A lane that fails (its reply says so, it raises an error or it exits) fails only the request it was doing; a
 *   lane that exits is replaced when there is work for it.
 * - Idle lanes do not keep the parent's event loop alive (`Lane.hold(false)`).
 * - `close` rejects queued and running requests and stops every lane.
 */

/** One process or thread, as the pool drives it. */
export interface Lane<Req> {
  /** Hand it a request; its answer comes as `LaneEvents.reply`. */
  send(req: Req): void;
  /** Keep the parent alive while it works (true) or not while it idles (false). */
  hold(busy: boolean): void;
  /** Stop it; resolves once it is gone. */
  stop(): Promise<void>;
}

/** What a lane reports to its pool. */
export interface LaneEvents<Reply> {
  reply(msg: Reply): void;
  /** The request it was doing failed (an error it raised, or its failure to start). */
  fail(err: Error): void;
  /** It is gone (`err` says how): its request fails, and the pool will start another lane if there is work. */
  exit(err: Error): void;
}

/** Starts a lane that reports to `events`. */
export type LaneFactory<Req, Reply> = (events: LaneEvents<Reply>) => Lane<Req>;

interface Job<Req, Res> {
  req: Req;
  resolve: (res: Res) => void;
  reject: (err: Error) => void;
}

interface Slot<Req, Res> {
  lane: Lane<Req>;
  job: Job<Req, Res> | null;
}

export class LanePool<Req, Reply, Res> {
  private slots: Slot<Req, Res>[] = [];
  private queue: Job<Req, Res>[] = [];
  private closed = false;

  /**
   * `settle` turns a lane's reply into the request's result, or into the error that fails it; `name` names the pool
   * in its errors ("<name> is closed").
   */
  constructor(
    readonly size: number,
    private readonly start: LaneFactory<Req, Reply>,
    private readonly settle: (reply: Reply) => Res | Error,
    private readonly name: string,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`${name}: the number of workers must be a positive integer, got ${size}`);
  }

  run(req: Req): Promise<Res> {
    if (this.closed) return Promise.reject(new Error(`${this.name} is closed`));
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.dispatch();
    });
  }

  /** Reject queued and running work and stop the lanes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error(`${this.name} is closed`);
    for (const job of this.queue.splice(0)) job.reject(err);
    const slots = this.slots;
    this.slots = [];
    for (const slot of slots) {
      slot.job?.reject(err);
      slot.job = null;
    }
    await Promise.all(slots.map((s) => s.lane.stop()));
  }

  private dispatch(): void {
    if (this.closed) return;
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => !s.job) ?? (this.slots.length < this.size ? this.spawn() : null);
      if (!slot) break;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.lane.hold(true);
      slot.lane.send(job.req);
    }
    for (const slot of this.slots) if (!slot.job) slot.lane.hold(false);
  }

  private spawn(): Slot<Req, Res> {
    // The slot exists before its lane: a lane may report (fail to start) while it is being built.
    const slot = { job: null } as unknown as Slot<Req, Res>;
    const take = () => {
      const job = slot.job;
      slot.job = null;
      return job;
    };
    slot.lane = this.start({
      reply: (msg) => {
        const job = take();
        if (job) {
          const res = this.settle(msg);
          if (res instanceof Error) job.reject(res);
          else job.resolve(res);
        }
        this.dispatch();
      },
      // Its exit (which follows an error) frees the slot and dispatches.
      fail: (err) => take()?.reject(err),
      exit: (err) => {
        this.slots = this.slots.filter((s) => s !== slot);
        take()?.reject(err);
        // Queued work goes to another lane (a new one if need be).
        this.dispatch();
      },
    });
    this.slots.push(slot);
    return slot;
  }
}
