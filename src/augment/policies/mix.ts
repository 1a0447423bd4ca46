/**
 * Batch-level mixing with soft targets: mixup (Zhang et al. 2018) and cutmix (Yun et al. 2019),
 * pairing image i with image i−1 (torchvision.transforms.v2's `batch.roll(1, 0)`), with
 * λ ~ Beta(α, α) drawn once per batch.
 */
import { makeImage, type RawImage } from '../../data/image.js';
import type { Rng } from '../../util/rng.js';
import type { Batch, BatchOp } from './types.js';

/** One-hot target rows (one Float32Array per image) for integer class labels, as batch ops take them. */
export function oneHotRows(labels: readonly number[], numClasses: number): Float32Array[] {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`oneHotRows: numClasses must be a positive integer, got ${numClasses}`);
  return labels.map((l) => {
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) throw new RangeError(`oneHotRows: label ${l} is not in 0..${numClasses - 1}`);
    const row = new Float32Array(numClasses);
    row[l] = 1;
    return row;
  });
}

function checkBatch(batch: Batch, op: string): void {
  const { images, targets } = batch;
  if (images.length !== targets.length) throw new RangeError(`${op}: ${images.length} images but ${targets.length} target rows`);
  if (images.length === 0) return;
  const { height, width, channels } = images[0]!;
  const k = targets[0]!.length;
  for (let i = 0; i < images.length; i++) {
    const im = images[i]!;
    if (im.height !== height || im.width !== width || im.channels !== channels) {
      const shapes = `image ${i} is ${im.height}×${im.width}×${im.channels}, image 0 is ${height}×${width}×${channels}`;
      throw new RangeError(`${op}: all images in a batch must have the same shape (${shapes})`);
    }
    const row = targets[i]!;
    if (row.length !== k) throw new RangeError(`${op}: target rows must all have ${k} classes`);
    let s = 0;
    for (let j = 0; j < k; j++) {
      if (!(row[j]! >= 0)) throw new RangeError(`${op}: target row ${i} has a negative or NaN entry`);
      s += row[j]!;
    }
    if (Math.abs(s - 1) > 1e-4) throw new RangeError(`${op}: target row ${i} sums to ${s}, expected 1`);
  }
}

/** λ·a + (1−λ)·b, renormalised so the row sums to 1 in float32 as closely as possible. */
function mixRows(a: Float32Array, b: Float32Array, lam: number): Float32Array {
  const out = new Float32Array(a.length);
  let s = 0;
  for (let j = 0; j < a.length; j++) {
    const v = lam * a[j]! + (1 - lam) * b[j]!;
    out[j] = v;
    s += out[j]!;
  }
  if (s > 0 && s !== 1) for (let j = 0; j < a.length; j++) out[j] = out[j]! / s;
  return out;
}

function checkAlpha(alpha: number, op: string): void {
  if (!(Number.isFinite(alpha) && alpha > 0)) throw new RangeError(`${op}: alpha must be a positive number, got ${alpha}`);
}

/** mixup: x_i ← round(λ·x_i + (1−λ)·x_{i−1}), y_i ← λ·y_i + (1−λ)·y_{i−1}. */
export function mixup(alpha: number): BatchOp {
  checkAlpha(alpha, 'mixup');
  return (batch: Batch, rng: Rng): Batch => {
    checkBatch(batch, 'mixup');
    const n = batch.images.length;
    if (n === 0) return { images: [], targets: [] };
    const lam = rng.beta(alpha, alpha);
    const mu = 1 - lam;
    const images: RawImage[] = [];
    const targets: Float32Array[] = [];
    for (let i = 0; i < n; i++) {
      const j = (i + n - 1) % n;
      const a = batch.images[i]!;
      const b = batch.images[j]!.data;
      const out = makeImage(a.height, a.width, a.channels);
      const ad = a.data;
      const od = out.data;
      for (let p = 0; p < od.length; p++) od[p] = Math.round(lam * ad[p]! + mu * b[p]!);
      images.push(out);
      targets.push(mixRows(batch.targets[i]!, batch.targets[j]!, lam));
    }
    return { images, targets };
  };
}

/** The cutmix box for one batch (torchvision v2 CutMix conventions). */
export function cutmixBox(height: number, width: number, lam: number, rng: Rng): { x1: number; y1: number; x2: number; y2: number; lam: number } {
  const r = Math.sqrt(1 - lam);
  const cx = rng.int(width);
  const cy = rng.int(height);
  const hw = Math.trunc((r * width) / 2);
  const hh = Math.trunc((r * height) / 2);
  const x1 = Math.max(0, cx - hw);
  const y1 = Math.max(0, cy - hh);
  const x2 = Math.min(width, cx + hw);
  const y2 = Math.min(height, cy + hh);
  const adjusted = 1 - ((x2 - x1) * (y2 - y1)) / (width * height);
  return { x1, y1, x2, y2, lam: adjusted };
}

/** cutmix: paste a box of image i−1 into image i; targets mixed by the actual pasted area. */
export function cutmix(alpha: number): BatchOp {
  checkAlpha(alpha, 'cutmix');
  return (batch: Batch, rng: Rng): Batch => {
    checkBatch(batch, 'cutmix');
    const n = batch.images.length;
    if (n === 0) return { images: [], targets: [] };
    const { height, width, channels: c } = batch.images[0]!;
    const box = cutmixBox(height, width, rng.beta(alpha, alpha), rng);
    const images: RawImage[] = [];
    const targets: Float32Array[] = [];
    for (let i = 0; i < n; i++) {
      const j = (i + n - 1) % n;
      const out = makeImage(height, width, c, batch.images[i]!.data.slice());
      const src = batch.images[j]!.data;
      for (let y = box.y1; y < box.y2; y++) {
        const s = (y * width + box.x1) * c;
        out.data.set(src.subarray(s, s + (box.x2 - box.x1) * c), s);
      }
      images.push(out);
      targets.push(mixRows(batch.targets[i]!, batch.targets[j]!, box.lam));
    }
    return { images, targets };
  };
}

/** Both mixup and cutmix configured: each batch uses one of them with probability 1/2 (timm-style). */
export function eitherMix(a: BatchOp, b: BatchOp): BatchOp {
  return (batch: Batch, rng: Rng): Batch => (rng.chance(0.5) ? a(batch, rng) : b(batch, rng));
}
