import { promises as fsp } from 'node:fs';
import { probeImage, type ImageSpec, type ResizePolicy } from './decode.js';
import type { Dataset } from './sources.js';
import { Rng } from '../util/rng.js';

/**
 * Choose a model input spec for a data set when the user gives none: the images' own size when
 * they all share one small size (e.g. 28×28), else `fallbackSize` square; one channel when every
 * probed image is grayscale, else three.
 */
export async function inferImageSpec(
  dataset: Dataset,
  options: { size?: number; channels?: 1 | 3; resize?: ResizePolicy; fallbackSize?: number } = {},
): Promise<ImageSpec> {
  const resize = options.resize ?? 'squash';
  const probe = new Rng(1).shuffle([...dataset.samples]).slice(0, 32);
  const sizes = new Set<string>();
  let colour = false;
  let height = 0;
  let width = 0;
  for (const s of probe) {
    if (s.pixels) {
      sizes.add(`${s.pixels.height}x${s.pixels.width}`);
      height = s.pixels.height;
      width = s.pixels.width;
      if (s.pixels.channels === 3) colour = true;
      continue;
    }
    try {
      const info = await probeImage(await fsp.readFile(s.path));
      sizes.add(`${info.height}x${info.width}`);
      height = info.height;
      width = info.width;
      if (info.channels >= 3) colour = true;
    } catch {
      // bad files are reported when decoding
    }
  }
  const channels = options.channels ?? (colour ? 3 : 1);
  if (options.size) return { height: options.size, width: options.size, channels, resize };
  if (sizes.size === 1 && Math.max(height, width) <= 64) return { height, width, channels, resize };
  const side = options.fallbackSize ?? 96;
  return { height: side, width: side, channels, resize };
}
