import { openDataset, type OpenOptions, type Problem, type DatasetKind } from './sources.js';
import { dropDuplicateFiles } from './duplicates.js';
import { Decoder } from './loader.js';
import { classBalance } from './split.js';

export interface NumberStats {
  min: number;
  max: number;
  mean: number;
  median: number;
}

export interface DataSummary {
  source: string;
  kind: DatasetKind;
  /** Usable images (decoded without error). */
  images: number;
  classes: Array<{ name: string; count: number }>;
  imbalance: { min: number; max: number; ratio: number | null };
  width: NumberStats | null;
  height: NumberStats | null;
  /** Every file or folder that cannot be used, with the reason. */
  problems: Problem[];
}

export interface InspectOptions extends OpenOptions {
  workers?: number;
  cache?: boolean | string;
  onProgress?: (done: number, total: number) => void;
}

/** Open and fully decode a data set: class counts, image sizes, and every bad file with its reason. */
export async function inspectData(source: string, options: InspectOptions = {}): Promise<DataSummary> {
  const dataset = await openDataset(source, options);
  // Decoding validates each file; a small target keeps it cheap (JPEG shrink-on-load).
  const decoder = new Decoder({
    spec: { height: 8, width: 8, channels: 3, resize: 'squash' },
    workers: options.workers,
    cache: options.cache ?? false,
    strict: options.strict,
    onProgress: options.onProgress,
  });
  const widths: number[] = [];
  const heights: number[] = [];
  const labels: number[] = [];
  // What training will use: files with the same bytes once (and an error for one image under two labels).
  const unique = dataset.kind === 'idx' ? null : await dropDuplicateFiles(dataset.samples, dataset.classes, source);
  const problems = [...dataset.problems, ...(unique?.problems ?? [])];
  try {
    for await (const batch of decoder.batches(unique?.samples ?? dataset.samples, 256)) {
      for (const s of batch.originalSizes) {
        widths.push(s.width);
        heights.push(s.height);
      }
      labels.push(...batch.labels);
      problems.push(...batch.problems);
    }
  } finally {
    await decoder.close();
  }
  const balance = classBalance(labels, dataset.classes.length);
  return {
    source,
    kind: dataset.kind,
    images: widths.length,
    classes: dataset.classes.map((name, i) => ({ name, count: balance.counts[i]! })),
    imbalance: {
      min: balance.min,
      max: balance.max,
      ratio: dataset.classes.length && Number.isFinite(balance.imbalanceRatio) ? balance.imbalanceRatio : null,
    },
    width: stats(widths),
    height: stats(heights),
    problems,
  };
}

export function stats(values: number[]): NumberStats | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return {
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    median: sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2,
  };
}
