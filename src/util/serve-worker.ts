import { parentPort } from 'node:worker_threads';

/** Inside a worker thread: answer each request of a `WorkerPool` with `handler`'s result. */
export function serveWorker<Req, Res>(handler: (req: Req) => Promise<{ res: Res; transfer?: ArrayBuffer[] }>): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorker must run in a worker thread');
  const answer = async (req: Req) => {
    try {
      const { res, transfer } = await handler(req);
      port.postMessage({ ok: true, res }, transfer ?? []);
    } catch (err) {
      port.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  };
  port.on('message', (req: Req) => void answer(req));
}
