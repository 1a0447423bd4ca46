import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { FrugalError } from '../util/errors.js';
import type { EpochLog } from '../train/loop.js';
import { writeJsonAtomic } from '../util/fs.js';
import type { ClassificationReport } from '../evaluate/metrics.js';
import type { ModelMeta } from '../models/model-dir.js';

/** What training commands leave in a run directory, as the report reads it. */
export interface RunArtifacts {
  dir: string;
  meta: ModelMeta | null;
  history: EpochLog[] | null;
  metrics: ClassificationReport | null;
  predictions: { classes: string[]; items: Array<{ path: string; label: number; probs: number[] }> } | null;
  ablation: { rows: Array<{ stage: string; accuracy: number; delta: number | null; seconds: number; dir: string; kept?: boolean }>; best: string } | null;
  search: { trials: Array<{ n: number; m: number; accuracy: number }>; best: { n: number; m: number; policy: string; accuracy: number }; mode: string; seconds: number } | null;
  rounds: Array<{ round: number; accuracy: number; keptTotal: number; kept: Record<string, number>; pseudoAccuracy: number | null; seconds: number }> | null;
  distill: { teacher: { accuracy: number; params: number; bytes: number; latencyMs: number }; student: { accuracy: number; params: number; bytes: number; latencyMs: number }; temperature: number; alpha: number } | null;
  /** PNG bytes of the augmentation preview, and the policy it shows. */
  preview: Buffer | null;
  previewInfo: { policy: string; rows: number; variants: number } | null;
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
    entries = (await fsp.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
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

export async function readRunArtifacts(dir: string): Promise<RunArtifacts> {
  try {
    if (!(await fsp.stat(dir)).isDirectory()) throw new Error();
  } catch {
    throw new FrugalError(`${dir}: no such run directory`);
  }
  const previewFile = await find(dir, 'preview.png');
  const a: RunArtifacts = {
    dir,
    meta: await json(dir, 'frugal.json', true),
    history: await json(dir, 'history.json', true),
    metrics: await json(dir, 'metrics.json', true),
    predictions: await json(dir, 'predictions.json', true),
    ablation: await json(dir, 'auto.json'),
    search: await json(dir, 'search.json'),
    rounds: await json(dir, 'rounds.json'),
    distill: await json(dir, 'distill.json'),
    preview: previewFile ? await fsp.readFile(previewFile) : null,
    previewInfo: previewFile ? await json(path.dirname(previewFile), 'preview.json', true) : null,
  };
  if (!a.meta && !a.metrics && !a.ablation && !a.search && !a.rounds) {
    throw new FrugalError(`${dir}: nothing to report (no frugal.json, metrics.json, auto.json, search.json or rounds.json): give the --out folder of a training command`);
  }
  return a;
}

/** What the report needs from a training run: learning curves, held-out metrics and predictions. */
export async function writeRunArtifacts(
  dir: string,
  a: { history: EpochLog[]; report: ClassificationReport; classes: string[]; val: { paths: string[]; labels: Int32Array; count: number }; probs: Float32Array },
): Promise<void> {
  const k = a.classes.length;
  await writeJsonAtomic(path.join(dir, 'history.json'), a.history);
  await writeJsonAtomic(path.join(dir, 'metrics.json'), a.report);
  await writeJsonAtomic(path.join(dir, 'predictions.json'), {
    classes: a.classes,
    items: a.val.paths.map((p, i) => ({ path: p, label: a.val.labels[i], probs: Array.from(a.probs.subarray(i * k, (i + 1) * k), (v) => Math.round(v * 1e5) / 1e5) })),
  });
}
