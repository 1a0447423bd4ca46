import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { FrugalError } from '../util/errors.js';
import { safeSegment } from '../util/fs.js';
import { readIdxPair } from './idx.js';
import { samplePerClass } from './split.js';

export interface FromIdxOptions {
  /** Keep only these labels (default: all). */
  classes?: number[];
  /** At most this many images per class, drawn with `seed` (default: all). */
  perClass?: number;
  seed?: number;
  /** Folder names in label order (default: the label numbers). */
  classNames?: string[];
  onProgress?: (done: number, total: number) => void;
}

export interface FromIdxResult {
  out: string;
  written: number;
  classes: Array<{ label: number; name: string; count: number }>;
}

/** Write IDX images as an image-folder data set of PNGs, `out/<class name>/<index>.png`, pixels unchanged. */
export async function writeIdxAsFolder(imagesFile: string, labelsFile: string, out: string, options: FromIdxOptions = {}): Promise<FromIdxResult> {
  const { images, labels } = await readIdxPair(imagesFile, labelsFile);
  const [n, h, w, c = 1] = images.shape as [number, number, number, number?];
  if (c !== 1 && c !== 3) throw new FrugalError(`${imagesFile}: ${c} channels per pixel; only 1 or 3 are supported`);
  const maxLabel = Math.max(...labels);
  const wanted = options.classes ?? Array.from({ length: maxLabel + 1 }, (_, i) => i);
  for (const k of wanted) {
    if (!Number.isInteger(k) || k < 0 || k > maxLabel) throw new FrugalError((n) => `${n('classes')}: ${k} is not a label in ${labelsFile} (0..${maxLabel})`);
  }
  const names = options.classNames;
  if (names && names.length !== wanted.length && names.length !== maxLabel + 1) {
    throw new FrugalError((n) => `${n('classNames')}: ${names.length} names given for ${wanted.length} classes`);
  }
  for (const name of names ?? []) safeSegment(name, 'class name');
  const nameOf = (label: number) =>
    safeSegment(names ? (names.length === wanted.length ? names[wanted.indexOf(label)]! : names[label]!) : String(label), 'class name');
  const keep = new Set(wanted);
  let indices = Array.from({ length: n }, (_, i) => i).filter((i) => keep.has(labels[i]!));
  if (options.perClass !== undefined) {
    const picked = samplePerClass(
      indices.map((i) => labels[i]!),
      options.perClass,
      options.seed ?? 0,
    );
    indices = picked.map((j) => indices[j]!);
  }
  const size = h * w * c;
  const digits = String(n - 1).length;
  const counts = new Map<number, number>();
  for (const k of wanted) await fsp.mkdir(path.join(out, nameOf(k)), { recursive: true });
  let done = 0;
  let next = 0;
  const writeOne = async (i: number) => {
    const label = labels[i]!;
    const file = path.join(out, nameOf(label), `${String(i).padStart(digits, '0')}.png`);
    const pixels = images.data.subarray(i * size, (i + 1) * size);
    await sharp(pixels, { raw: { width: w, height: h, channels: c } })
      .toColourspace(c === 1 ? 'b-w' : 'srgb')
      .png({ compressionLevel: 9 })
      .toFile(file);
    counts.set(label, (counts.get(label) ?? 0) + 1);
    done++;
    options.onProgress?.(done, indices.length);
  };
  const lanes = Array.from({ length: 8 }, async () => {
    while (next < indices.length) await writeOne(indices[next++]!);
  });
  await Promise.all(lanes);
  return {
    out,
    written: done,
    classes: wanted.map((label) => ({ label, name: nameOf(label), count: counts.get(label) ?? 0 })),
  };
}
