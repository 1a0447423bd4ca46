import { FrugalError } from '../util/errors.js';
import { openDataset, type Dataset, type Problem, type Sample } from './sources.js';
import { decodeAll, subset, type DecodedBatch } from './loader.js';
import { stratifiedSplit, classBalance } from './split.js';
import { inferImageSpec } from './spec.js';
import { dropDuplicateFiles, dropTrainingCopies } from './duplicates.js';
import type { ImageSpec, ResizePolicy } from './decode.js';

/** The fraction of each class held out for validation when no validation data is given. */
export const DEFAULT_VAL_SPLIT = 0.2;

/** Labeled images decoded for training: a train part and a held-out validation part. */
export interface PreparedData {
  dataset: Dataset;
  spec: ImageSpec;
  classes: string[];
  train: DecodedBatch;
  val: DecodedBatch;
  /** Files skipped (listing + decoding), with reasons. */
  problems: Problem[];
}

export interface DataOptions {
  /** Separate validation data (same classes); default: a stratified split of the training data. */
  valData?: string;
  valSplit?: number;
  size?: number;
  channels?: 1 | 3;
  resize?: ResizePolicy;
  /** Use exactly this spec (e.g. a pretrained model's input). */
  spec?: ImageSpec;
  /** Class names for IDX sources (in label order). */
  classNames?: string[];
  strict?: boolean;
  workers?: number;
  /**
   * Decoded-image cache (see `DecodeOptions.cache`): default on; `false` reads and writes no cache, and turns the
   * feature cache off too unless the recipe's `featureCache` says otherwise.
   */
  cache?: boolean | string;
  seed?: number;
  /** Hold nothing out (cross-validation scores on the training images instead): `val` is empty. */
  noValidation?: boolean;
}

/** Open, decode and split labeled data for training; `onProgress` hears the decoding. */
export async function prepareData(
  source: string,
  o: DataOptions = {},
  onProgress?: (task: string, done: number, total: number) => void,
): Promise<PreparedData> {
  const dataset = await openDataset(source, { strict: o.strict, classNames: o.classNames });
  if (dataset.kind === 'unlabeled')
    throw new FrugalError(`${source}: training needs labeled images (root/<class>/<image> or a CSV), this folder has images but no class folders`);
  if (dataset.classes.length < 2) throw new FrugalError(`${source}: only one class (${dataset.classes[0]}); a classifier needs at least two`);
  const spec = o.spec ?? (await inferImageSpec(dataset, { size: o.size, channels: o.channels, resize: o.resize }));
  const decodeOpts = { spec, strict: o.strict, workers: o.workers, cache: o.cache };
  // Files with the same bytes are one image (IDX records are a published set's own split, taken as they are).
  const unique = dataset.kind === 'idx' ? null : await dropDuplicateFiles(dataset.samples, dataset.classes, source);
  const all = await decodeAll(unique?.samples ?? dataset.samples, { ...decodeOpts, onProgress: (d, t) => onProgress?.('decoding', d, t) });
  const problems = [...dataset.problems, ...(unique?.problems ?? []), ...all.problems];
  let train: DecodedBatch;
  let val: DecodedBatch;
  if (o.noValidation) {
    train = all;
    val = subset(all, []);
  } else if (o.valData) {
    const valSet = await openDataset(o.valData, { strict: o.strict });
    const index = new Map(dataset.classes.map((c, i) => [c, i]));
    let samples: Sample[] = valSet.samples.map((s) => {
      const name = valSet.classes[s.label!]!;
      if (!index.has(name)) throw new FrugalError(`${o.valData}: class "${name}" is not in the training data (${dataset.classes.join(', ')})`);
      return { ...s, label: index.get(name)! };
    });
    if (unique && valSet.kind !== 'idx') {
      const held = await dropTrainingCopies(samples, unique.digests, unique.samples);
      samples = held.samples;
      problems.push(...held.problems);
    }
    train = all;
    val = await decodeAll(samples, { ...decodeOpts, onProgress: (d, t) => onProgress?.('decoding validation', d, t) });
    problems.push(...valSet.problems, ...val.problems);
  } else {
    const split = stratifiedSplit(all.labels, o.valSplit ?? DEFAULT_VAL_SPLIT, o.seed ?? 0);
    if (split.val.length === 0)
      throw new FrugalError((n) => `${source}: too few images to hold any out for validation (give ${n('valSplit')} or ${n('valData')})`);
    train = subset(all, split.train);
    val = subset(all, split.val);
  }
  const counts = classBalance(train.labels, dataset.classes.length).counts;
  const empty = counts.findIndex((c) => c === 0);
  if (empty >= 0) throw new FrugalError(`${source}: class "${dataset.classes[empty]}" has no usable training images`);
  return { dataset, spec, classes: dataset.classes, train, val, problems };
}

/** A decoded batch as training-loop inputs. */
export function asInputs(b: DecodedBatch): { inputs: Uint8Array; labels: Int32Array; count: number } {
  return { inputs: b.pixels, labels: b.labels, count: b.count };
}
