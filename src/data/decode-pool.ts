import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LanePool, type Lane, type LaneEvents } from '../util/lane-pool.js';
import type { DecodeReply, DecodeRequest } from './decode-worker.js';
import type { LoadResult } from './load-image.js';

const SCRIPT = fileURLToPath(new URL('./decode-worker.js', import.meta.url));

/**
 * Up to `size` decoding processes (`decode-worker.js`), each decoding one request at a time, started when there is
 * work for them (`LanePool`). Processes, not worker threads: libvips takes process-wide locks (GLib's signal lock,
 * its object argument lock) hundreds of times per image while it builds and frees a pipeline's operations, so two
 * decoding threads in one process wait on each other; two processes do not (docs/benchmarks.md, bench/decode).
 * Idle processes do not keep the parent alive, and exit with it; a process that dies fails its request, and the next
 * request starts another.
 */
export class DecodePool {
  private readonly pool: LanePool<DecodeRequest, DecodeReply, LoadResult[]>;
  /** The running processes (tests kill one). */
  readonly children = new Set<ChildProcess>();

  constructor(readonly size: number) {
    this.pool = new LanePool(
      size,
      (events) => this.spawn(events),
      (msg) => (msg.ok ? msg.res : new Error(msg.error)),
      'decode pool',
    );
  }

  run(req: DecodeRequest): Promise<LoadResult[]> {
    return this.pool.run(req);
  }

  /** Reject queued work and stop the processes. */
  close(): Promise<void> {
    return this.pool.close();
  }

  private spawn(events: LaneEvents<DecodeReply>): Lane<DecodeRequest> {
    // No inherited Node flags (--test, --inspect, …): the decoder needs none of them.
    const child = fork(SCRIPT, [], { serialization: 'advanced', execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.children.add(child);
    child.on('message', (msg: DecodeReply) => events.reply(msg));
    child.on('error', (err) => events.fail(err));
    child.on('exit', (code, signal) => {
      this.children.delete(child);
      events.exit(new Error(`decoding process exited (${signal ?? `code ${code}`})`));
    });
    return {
      send: (req) => child.send(req),
      hold: (busy) => hold(child, busy),
      stop: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          hold(child, true);
          child.kill();
        }),
    };
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
