import sharp from 'sharp';
import type { RawImage } from '../data/image.js';
import { augmentImages } from './batch.js';
import type { Policy } from './policies/types.js';
import { buildPolicy } from './policies/index.js';
import { openDataset } from '../data/sources.js';
import { decodeAll } from '../data/loader.js';
import { inferImageSpec } from '../data/spec.js';
import { samplePerClass } from '../data/split.js';
import { FrugalError } from '../util/errors.js';

export interface PreviewOptions {
  /** Augmented variants per original (columns after the original). */
  variants?: number;
  /** Pixel size of each cell (images are scaled up with nearest neighbour). */
  cell?: number;
  seed?: number;
  gap?: number;
}

/**
 * A contact sheet: one row per original image — the original first, then augmented variants —
 * so a user sees what a policy does before training. Returns PNG bytes.
 */
export async function contactSheet(images: RawImage[], policy: Policy, o: PreviewOptions = {}): Promise<Buffer> {
  const variants = o.variants ?? 7;
  const gap = o.gap ?? 4;
  const h0 = images[0]!.height;
  const w0 = images[0]!.width;
  const scale = Math.max(1, Math.round((o.cell ?? 96) / Math.max(h0, w0)));
  const cw = w0 * scale;
  const ch = h0 * scale;
  const cols = variants + 1;
  const width = cols * cw + (cols + 1) * gap + gap * 2;
  const height = images.length * ch + (images.length + 1) * gap;
  const tiles: sharp.OverlayOptions[] = [];
  for (let r = 0; r < images.length; r++) {
    const original = images[r]!;
    const row = [
      original,
      ...augmentImages(
        policy,
        Array.from({ length: variants }, () => original),
        (o.seed ?? 0) * 7919 + r,
      ),
    ];
    for (let c = 0; c < row.length; c++) {
      const img = row[c]!;
      const png = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: img.channels } })
        .resize(cw, ch, { kernel: 'nearest', fit: 'fill' })
        .png()
        .toBuffer();
      // A wider gap after the original column separates it from the variants.
      tiles.push({ input: png, left: gap + c * (cw + gap) + (c > 0 ? gap * 2 : 0), top: gap + r * (ch + gap) });
    }
  }
  return sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(tiles)
    .png()
    .toBuffer();
}

/** Contact sheet PNG for a data set: one original per class first, then more. */
export async function previewPng(
  data: string,
  policyText: string,
  o: { rows?: number; variants?: number; size?: number; seed?: number } = {},
): Promise<Buffer> {
  const policy = buildPolicy(policyText);
  const dataset = await openDataset(data);
  const spec = await inferImageSpec(dataset, { size: o.size });
  const rows = o.rows ?? 8;
  const labels = dataset.samples.map((s) => s.label ?? 0);
  const picked = samplePerClass(labels, Math.ceil(rows / Math.max(1, dataset.classes.length)), o.seed ?? 0);
  const order = [...picked].sort((a, b) => labels[a]! - labels[b]! || a - b);
  const byRound: number[] = [];
  for (let r = 0; byRound.length < Math.min(rows, order.length); r++) {
    for (const cls of new Set(order.map((i) => labels[i]!))) {
      const ofClass = order.filter((i) => labels[i] === cls);
      if (ofClass[r] !== undefined && byRound.length < rows) byRound.push(ofClass[r]!);
    }
    if (r > rows) break;
  }
  const decoded = await decodeAll(
    byRound.map((i) => dataset.samples[i]!),
    { spec, cache: false },
  );
  const size = spec.height * spec.width * spec.channels;
  const images = Array.from({ length: decoded.count }, (_, i) => ({
    data: decoded.pixels.subarray(i * size, (i + 1) * size),
    height: spec.height,
    width: spec.width,
    channels: spec.channels,
  }));
  if (images.length === 0) throw new FrugalError(`${data}: no decodable images to preview`);
  return contactSheet(images, policy, { variants: o.variants, seed: o.seed });
}
