import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { FrugalError } from '../util/errors.js';
import type { Problem, Sample } from './sources.js';

/** How many files are read at once while hashing. */
const READ_AHEAD = 16;

/** The sha1 of each sample's bytes (a file's, or an IDX record's pixels); null where the file cannot be read. */
export async function contentDigests(samples: readonly Sample[]): Promise<Array<string | null>> {
  const out = new Array<string | null>(samples.length).fill(null);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < samples.length; i = next++) {
      const x = samples[i]!;
      const bytes = x.pixels ? x.pixels.data : await fsp.readFile(x.path).catch(() => null);
      out[i] = bytes && bytes.length ? createHash('sha1').update(bytes).digest('hex') : null;
    }
  };
  await Promise.all(Array.from({ length: READ_AHEAD }, worker));
  return out;
}

export interface DeduplicatedSamples {
  samples: Sample[];
  /** Content digest per kept sample (null: unreadable, left for the decoder to report). */
  digests: Array<string | null>;
  /** One entry per file left out: which kept file holds the same image. */
  problems: Problem[];
}

/**
 * One image, one sample: files with the same bytes under the same label are used once (the first in the data's
 * order), so that no image lands in training and validation both; the same bytes under two labels are an error
 * naming both files. Files that cannot be read are kept (the decoder reports them).
 */
export async function dropDuplicateFiles(samples: readonly Sample[], classes: readonly string[], source: string): Promise<DeduplicatedSamples> {
  const all = await contentDigests(samples);
  const first = new Map<string, number>();
  const kept: Sample[] = [];
  const digests: Array<string | null> = [];
  const problems: Problem[] = [];
  samples.forEach((x, i) => {
    const digest = all[i]!;
    const earlier = digest === null ? undefined : first.get(digest);
    if (earlier === undefined) {
      if (digest !== null) first.set(digest, i);
      kept.push(x);
      digests.push(digest);
      return;
    }
    const other = samples[earlier]!;
    if (other.label !== x.label) {
      throw new FrugalError(
        `${source}: ${other.path} ("${classes[other.label!]}") and ${x.path} ("${classes[x.label!]}") are the same image (identical bytes) ` +
          `under two labels: an image can have one label; remove or relabel one of them`,
      );
    }
    problems.push({ path: x.path, reason: `the same image as ${other.path} (identical bytes): used once` });
  });
  return { samples: kept, digests, problems };
}

/**
 * Validation samples that are training images (identical bytes) would not be held out: they are left out of
 * validation and reported.
 */
export async function dropTrainingCopies(
  val: readonly Sample[],
  trainDigests: ReadonlyArray<string | null>,
  train: readonly Sample[],
): Promise<{ samples: Sample[]; problems: Problem[] }> {
  const inTraining = new Map<string, string>();
  trainDigests.forEach((d, i) => d !== null && !inTraining.has(d) && inTraining.set(d, train[i]!.path));
  const digests = await contentDigests(val);
  const samples: Sample[] = [];
  const problems: Problem[] = [];
  val.forEach((x, i) => {
    const copy = digests[i] === null ? undefined : inTraining.get(digests[i]!);
    if (copy === undefined) samples.push(x);
    else problems.push({ path: x.path, reason: `the same image as training file ${copy} (identical bytes): not held out` });
  });
  return { samples, problems };
}
