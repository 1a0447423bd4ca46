/** A decoding process of `DecodePool`: answers each request with the requested files loaded, in order. */
import { loadImageFile, type LoadResult } from './load-image.js';
import type { ImageSpec } from './decode.js';

/** A run of consecutive files: one message each way for the whole run. */
export interface DecodeRequest {
  files: string[];
  spec: ImageSpec;
  cacheDir: string | null;
}

export type DecodeReply = { ok: true; res: LoadResult[] } | { ok: false; error: string };

async function answer(req: DecodeRequest): Promise<DecodeReply> {
  try {
    const res: LoadResult[] = [];
    // A blocking read: this process has nothing else to do meanwhile.
    for (const file of req.files) res.push(await loadImageFile(file, req.spec, req.cacheDir, true));
    return { ok: true, res };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

if (process.send) {
  process.on('message', (req: DecodeRequest) => void answer(req).then((reply) => process.send!(reply)));
  // The parent is gone (it exited, or crashed): so is the reason to run.
  process.on('disconnect', () => process.exit(0));
}
