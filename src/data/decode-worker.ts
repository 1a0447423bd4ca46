import { serveWorker } from '../util/serve-worker.js';
import { loadImageFile, type LoadResult } from './load-image.js';
import type { ImageSpec } from './decode.js';

export interface DecodeRequest {
  file: string;
  spec: ImageSpec;
  cacheDir: string | null;
}

serveWorker<DecodeRequest, LoadResult>(async ({ file, spec, cacheDir }) => {
  const res = await loadImageFile(file, spec, cacheDir);
  if (!res.ok) return { res };
  // Copy into a buffer of its own so it can be transferred without copying again.
  const data = new Uint8Array(res.image.data);
  return { res: { ...res, image: { ...res.image, data } }, transfer: [data.buffer] };
});
