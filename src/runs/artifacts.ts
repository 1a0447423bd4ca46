import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { FrugalError } from '../util/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import type { EpochLog } from '../train/callbacks.js';
import type { ClassificationReport } from '../evaluate/metrics.js';
import { renderSvg, searchHeatmap } from '../evaluate/charts.js';
import { copyModelDir, type ModelMeta } from '../models/model-dir.js';
import {
  RUN_ARTIFACTS,
  RUN_FILES,
  runFile,
  type AblationFile,
  type DataCheckFile,
  type DistillFile,
  type PreviewInfo,
  type RoundReport,
  type RunJson,
  type SearchFile,
} from './files.js';

/** Write one of a run folder's JSON files (atomically). */
export async function writeRunJson<K extends keyof RunJson>(dir: string, file: K, value: RunJson[K]): Promise<string> {
  const p = runFile(dir, file);
  await writeJsonAtomic(p, value);
  return p;
}

/** What the report needs from a training run: learning curves, held-out metrics and predictions. */
export async function writeRunArtifacts(
  dir: string,
  a: { history: EpochLog[]; report: ClassificationReport; classes: string[]; val: { paths: string[]; labels: Int32Array; count: number }; probs: Float32Array },
): Promise<void> {
  const k = a.classes.length;
  await writeRunJson(dir, 'history', a.history);
  await writeRunJson(dir, 'metrics', a.report);
  await writeRunJson(dir, 'predictions', {
    classes: a.classes,
    items: a.val.paths.map((p, i) => ({
      path: p,
      label: a.val.labels[i]!,
      probs: Array.from(a.probs.subarray(i * k, (i + 1) * k), (v) => Math.round(v * 1e5) / 1e5),
    })),
  });
}

/** An augmentation search's files: search.json and its heatmap (SVG and PNG). Returns their paths. */
export async function writeSearchFiles(dir: string, result: SearchFile): Promise<string[]> {
  await fsp.mkdir(dir, { recursive: true });
  const svg = await renderSvg(searchHeatmap(result.trials));
  await writeFileAtomic(runFile(dir, 'heatmapSvg'), svg);
  await writeFileAtomic(runFile(dir, 'heatmapPng'), await sharp(Buffer.from(svg)).png().toBuffer());
  result.files = (['search', 'heatmapSvg', 'heatmapPng'] as const).map((f) => runFile(dir, f));
  await writeRunJson(dir, 'search', result);
  return result.files;
}

/** An augmentation policy's preview (a PNG contact sheet) and what it shows. */
export async function writePreviewFiles(dir: string, png: Buffer, info: PreviewInfo): Promise<void> {
  await writeFileAtomic(runFile(dir, 'preview'), png);
  await writeRunJson(dir, 'previewInfo', info);
}

/** Copy a model directory with its run artefacts (the report reads them) into another folder. */
export async function copyRunModel(from: string, to: string): Promise<void> {
  await copyModelDir(from, to, RUN_ARTIFACTS);
}

/** What training commands leave in a run directory, as the report reads it. */
export interface RunArtifacts {
  dir: string;
  meta: ModelMeta | null;
  history: RunJson['history'] | null;
  metrics: RunJson['metrics'] | null;
  predictions: RunJson['predictions'] | null;
  ablation: AblationFile | null;
  search: SearchFile | null;
  rounds: RoundReport[] | null;
  distill: DistillFile | null;
  /** PNG bytes of the augmentation preview, and the policy it shows. */
  preview: Buffer | null;
  previewInfo: PreviewInfo | null;
  /** `frugal data check --run`'s findings about the data. */
  dataCheck: DataCheckFile | null;
}

/** Find a file in the run directory, else in its immediate subfolders (stage folders), in name order. */
async function find(dir: string, name: string): Promise<string | null> {
  const direct = path.join(dir, name);
  try {
    await fsp.access(direct);
    return direct;
  } catch {
    // look one level down
  }
  let entries: string[] = [];
  try {
    entries = (await fsp.readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return null;
  }
  for (const e of entries) {
    const p = path.join(dir, e, name);
    try {
      await fsp.access(p);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

async function json<T>(dir: string, name: string, topOnly = false): Promise<T | null> {
  const file = topOnly ? path.join(dir, name) : await find(dir, name);
  if (!file) return null;
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new FrugalError(`${file}: corrupt JSON (${(err as Error).message})`);
  }
}

/** Everything a run folder holds for the report: the model's own files at the top, a stage's files one level down. */
export async function readRunArtifacts(dir: string): Promise<RunArtifacts> {
  try {
    if (!(await fsp.stat(dir)).isDirectory()) throw new Error();
  } catch {
    throw new FrugalError(`${dir}: no such run directory`);
  }
  const previewFile = await find(dir, RUN_FILES.preview);
  const a: RunArtifacts = {
    dir,
    meta: await json(dir, RUN_FILES.meta, true),
    history: await json(dir, RUN_FILES.history, true),
    metrics: await json(dir, RUN_FILES.metrics, true),
    predictions: await json(dir, RUN_FILES.predictions, true),
    ablation: await json(dir, RUN_FILES.ablation),
    search: await json(dir, RUN_FILES.search),
    rounds: await json(dir, RUN_FILES.rounds),
    distill: await json(dir, RUN_FILES.distill),
    preview: previewFile ? await fsp.readFile(previewFile) : null,
    previewInfo: previewFile ? await json(path.dirname(previewFile), RUN_FILES.previewInfo, true) : null,
    dataCheck: await json(dir, RUN_FILES.dataCheck, true),
  };
  if (!a.meta && !a.metrics && !a.ablation && !a.search && !a.rounds && !a.dataCheck) {
    const files = [RUN_FILES.meta, RUN_FILES.metrics, RUN_FILES.ablation, RUN_FILES.search, RUN_FILES.rounds].join(', ');
    throw new FrugalError((n) => `${dir}: nothing to report (no ${files} or ${RUN_FILES.dataCheck}): give the ${n('out')} folder of a training command`);
  }
  return a;
}
