import { promises as fsp, type Dirent } from 'node:fs';
import * as path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { FrugalError } from '../util/errors.js';
import { readIdxPair } from './idx.js';
import type { RawImage } from './image.js';

/** File extensions read as images. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

/** One image of a data set: a file (or an IDX record, whose pixels are already in memory) and its label. */
export interface Sample {
  /** File path, or `file#index` for an IDX record. */
  path: string;
  /** Index into `Dataset.classes`, or null when unlabeled. */
  label: number | null;
  /** Pixels already decoded (IDX records); absent for files. */
  pixels?: RawImage;
}

/** Something wrong with the input: a file that cannot be used, or a problem with the data set as a whole. */
export interface Problem {
  path: string;
  reason: string;
}

export type DatasetKind = 'folder' | 'csv' | 'unlabeled' | 'idx';

export interface Dataset {
  kind: DatasetKind;
  /** The source as given (folder, CSV file, IDX images file). */
  source: string;
  classes: string[];
  samples: Sample[];
  /** Problems found while listing (decoding finds more). */
  problems: Problem[];
}

export interface OpenOptions {
  /** Treat a folder as an unlabeled pool (images at any depth). Default: detected. */
  unlabeled?: boolean;
  /** For IDX sources: the labels file. Default: the sibling `*labels-idx1-ubyte[.gz]`. */
  labels?: string;
  /** For IDX sources: class names in label order. */
  classNames?: string[];
  /** Fail on the first problem instead of skipping and reporting it. */
  strict?: boolean;
}

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

function isIdxFile(name: string): boolean {
  return /idx\d-ubyte(\.gz)?$|\.idx(\.gz)?$/i.test(name);
}

/** Open a data set: an image folder (`root/<class>/<image>`), a CSV of `path,label`, an unlabeled folder or IDX files. */
export async function openDataset(source: string, options: OpenOptions = {}): Promise<Dataset> {
  let stat;
  try {
    stat = await fsp.stat(source);
  } catch {
    throw new FrugalError(`${source}: no such file or folder`);
  }
  let dataset: Dataset;
  if (stat.isDirectory()) {
    const unlabeled = options.unlabeled ?? (await hasImagesAtTop(source));
    dataset = unlabeled ? await openUnlabeledFolder(source) : await openImageFolder(source);
  } else if (source.toLowerCase().endsWith('.csv')) {
    dataset = await openCsv(source);
  } else if (isIdxFile(source)) {
    dataset = await openIdx(source, options.labels ?? siblingLabels(source), options.classNames);
  } else {
    throw new FrugalError(`${source}: not a data set (expected a folder, a .csv file or an IDX file)`);
  }
  if (options.strict && dataset.problems.length > 0) {
    const first = dataset.problems[0]!;
    throw new FrugalError(`${first.path}: ${first.reason}`);
  }
  return dataset;
}

async function hasImagesAtTop(dir: string): Promise<boolean> {
  const entries = await readDir(dir);
  return entries.some((e) => !e.isDirectory() && isImageFile(e.name));
}

async function readDir(dir: string): Promise<Dirent[]> {
  try {
    const entries = await fsp.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    throw new FrugalError(`${dir}: cannot read folder (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Class folders: every sub-folder of `root` is a class; images directly inside it are its samples. */
export async function openImageFolder(root: string): Promise<Dataset> {
  const problems: Problem[] = [];
  const samples: Sample[] = [];
  const classes: string[] = [];
  for (const entry of await readDir(root)) {
    const classDir = path.join(root, entry.name);
    // A class folder may be a link to a folder (a broken link is a problem, not silence).
    if (!(await isFolder(entry, classDir, problems))) continue;
    const files = (await listImages(classDir, false, problems)).sort();
    if (files.length === 0) {
      problems.push({ path: classDir, reason: 'empty class folder (no images): class skipped' });
      continue;
    }
    const label = classes.length;
    classes.push(entry.name);
    for (const file of files) samples.push({ path: file, label });
  }
  if (classes.length === 0) throw new FrugalError(`${root}: no class folders with images (expected ${root}/<class>/<image>)`);
  if (classes.length === 1) {
    problems.push({ path: root, reason: `only one class (${classes[0]}): a classifier needs at least two` });
  }
  return { kind: 'folder', source: root, classes, samples, problems };
}

/** An unlabeled pool: every image file under `root`, at any depth. */
export async function openUnlabeledFolder(root: string): Promise<Dataset> {
  const problems: Problem[] = [];
  const files = (await listImages(root, true, problems)).sort();
  if (files.length === 0) throw new FrugalError(`${root}: no images found`);
  return { kind: 'unlabeled', source: root, classes: [], samples: files.map((p) => ({ path: p, label: null })), problems };
}

/** Whether an entry is a folder, or a link to one; a broken link is recorded as a problem. */
async function isFolder(entry: Dirent, full: string, problems: Problem[]): Promise<boolean> {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return (await fsp.stat(full)).isDirectory();
  } catch (err) {
    problems.push({ path: full, reason: `broken link (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})` });
    return false;
  }
}

/** Image files in `dir` (and, `recursive`, below it, following links to folders once each: no loops). */
async function listImages(dir: string, recursive: boolean, problems: Problem[], visited = new Set<string>()): Promise<string[]> {
  const out: string[] = [];
  if (recursive) {
    const real = await fsp.realpath(dir).catch(() => dir);
    if (visited.has(real)) return out;
    visited.add(real);
  }
  for (const entry of await readDir(dir)) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() || (entry.isSymbolicLink() && !isImageFile(entry.name) && (await isFolder(entry, full, problems)))) {
      if (recursive) out.push(...(await listImages(full, true, problems, visited)));
      continue;
    }
    if (!isImageFile(entry.name)) continue;
    if (entry.isSymbolicLink()) {
      try {
        await fsp.stat(full);
      } catch (err) {
        problems.push({ path: full, reason: `unreadable file (${(err as NodeJS.ErrnoException).code ?? 'broken link'})` });
        continue;
      }
    }
    out.push(full);
  }
  return out;
}

/** A CSV of `path,label` (a header row is optional); paths are relative to the CSV's folder. */
export async function openCsv(file: string): Promise<Dataset> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new FrugalError(`${file}: cannot read CSV (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  // Each record with the line it ends on (csv-parse's info), so that messages name the file's own line numbers.
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parseCsv(text, { skip_empty_lines: true, trim: true, relax_column_count: true, info: true }) as unknown as typeof records;
  } catch (err) {
    throw new FrugalError(`${file}: malformed CSV (${(err as Error).message})`);
  }
  // Two columns, path and label: a column more would be ignored without a word, so it is an error naming the line.
  const wide = records.find(({ record }) => record.length > 2 && record.slice(2).some((cell) => cell !== ''));
  if (wide) {
    throw new FrugalError(
      `${file}: line ${wide.info.lines} has ${wide.record.length} columns (${wide.record.map((c) => JSON.stringify(c)).join(', ')}); ` +
        `a labels CSV has two, path and label: remove the others`,
    );
  }
  if (records.length > 0 && records[0]!.record[0]?.toLowerCase() === 'path') records = records.slice(1);
  const base = path.dirname(file);
  const problems: Problem[] = [];
  const entries: Array<{ path: string; label: string }> = [];
  // One image, one label: a path listed twice with the same label is used once (it would land in training and
  // validation both); with two labels it is an error naming both lines.
  const seen = new Map<string, { label: string; line: number }>();
  for (const { record: row, info } of records) {
    const [p, label] = row;
    const line = info.lines;
    if (!p || label === undefined || label === '') {
      problems.push({ path: `${file}:${line}`, reason: 'row needs a path and a label' });
      continue;
    }
    const full = path.resolve(base, p);
    try {
      const st = await fsp.stat(full);
      if (!st.isFile()) throw Object.assign(new Error(), { code: 'not a file' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push({ path: full, reason: code === 'ENOENT' ? `listed in ${file} but missing` : `unreadable (${code})` });
      continue;
    }
    const before = seen.get(full);
    if (before && before.label !== label)
      throw new FrugalError(`${file}: ${p} is labeled "${before.label}" on line ${before.line} and "${label}" on line ${line}: an image can have one label`);
    if (before) {
      problems.push({ path: `${file}:${line}`, reason: `${p} is listed again (first on line ${before.line}): used once` });
      continue;
    }
    seen.set(full, { label, line });
    entries.push({ path: full, label });
  }
  const classes = [...new Set(entries.map((e) => e.label))].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  if (classes.length === 1) problems.push({ path: file, reason: `only one class (${classes[0]}): a classifier needs at least two` });
  if (entries.length === 0) throw new FrugalError(`${file}: no usable rows`);
  return { kind: 'csv', source: file, classes, samples: entries.map((e) => ({ path: e.path, label: index.get(e.label)! })), problems };
}

function siblingLabels(imagesFile: string): string {
  const guess = imagesFile.replace(/images-idx3-ubyte/, 'labels-idx1-ubyte').replace(/images\.idx/, 'labels.idx');
  if (guess === imagesFile) throw new FrugalError((n) => `${imagesFile}: cannot guess the labels file; give it with ${n('labels')}`);
  return guess;
}

/** IDX images + labels, held in memory (grayscale or colour). */
export async function openIdx(imagesFile: string, labelsFile: string, classNames?: string[]): Promise<Dataset> {
  const { images, labels } = await readIdxPair(imagesFile, labelsFile);
  const [n, h, w, c = 1] = images.shape as [number, number, number, number?];
  if (c !== 1 && c !== 3) throw new FrugalError(`${imagesFile}: ${c} channels per pixel; only 1 or 3 are supported`);
  const numClasses = Math.max(...labels) + 1;
  const classes = classNames ?? Array.from({ length: numClasses }, (_, i) => String(i));
  if (classes.length < numClasses) {
    throw new FrugalError(`${labelsFile}: labels go up to ${numClasses - 1} but only ${classes.length} class names were given`);
  }
  const size = h * w * c;
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) {
    samples.push({
      path: `${imagesFile}#${i}`,
      label: labels[i]!,
      pixels: { data: images.data.subarray(i * size, (i + 1) * size), height: h, width: w, channels: c as 1 | 3 },
    });
  }
  return { kind: 'idx', source: imagesFile, classes, samples, problems: [] };
}
