import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { Rng } from '../src/util/rng.js';

/** Pixels of a 3-class toy problem: horizontal stripes, vertical stripes, blobs — with noise. */
export function toyImages(n: number, size: number, seed: number): { pixels: Uint8Array; labels: Int32Array } {
  const rng = new Rng(seed);
  const pixels = new Uint8Array(n * size * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = i % 3;
    labels[i] = y;
    const phase = rng.int(4);
    const period = 3 + rng.int(3);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        let v: number;
        if (y === 0) v = Math.floor((r + phase) / period) % 2 ? 200 : 40;
        else if (y === 1) v = Math.floor((c + phase) / period) % 2 ? 200 : 40;
        else v = Math.hypot(r - size / 2, c - size / 2) < size / 4 + phase ? 210 : 30;
        pixels[i * size * size + r * size + c] = Math.max(0, Math.min(255, v + rng.normal() * 30));
      }
    }
  }
  return { pixels, labels };
}

export const TOY_CLASSES = ['horizontal', 'vertical', 'blob'];

/** Write the toy problem as an image folder of PNGs. */
export async function writeToyFolder(root: string, perClass: number, size: number, seed: number): Promise<string> {
  const { pixels, labels } = toyImages(perClass * 3, size, seed);
  for (let i = 0; i < labels.length; i++) {
    const dir = path.join(root, TOY_CLASSES[labels[i]!]!);
    await fsp.mkdir(dir, { recursive: true });
    await sharp(pixels.subarray(i * size * size, (i + 1) * size * size), { raw: { width: size, height: size, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(path.join(dir, `${String(i).padStart(4, '0')}.png`));
  }
  return root;
}
