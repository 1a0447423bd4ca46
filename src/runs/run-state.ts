import * as path from 'node:path';
import { FrugalError } from '../util/errors.js';
import { exists, readJson } from '../util/fs.js';
import { runFile, type RunJson } from './files.js';
import { writeRunJson } from './artifacts.js';

/** The state files of resumable multi-stage runs. */
export type RunStateFile = 'selfTrainState' | 'autoState';

/**
 * The state file of a resumable multi-stage run (self-train rounds, auto stages). A fresh run gets
 * `fresh`; with `resume`, the saved state, which must have been made with the same settings
 * (`fingerprint`). A folder that already holds a run is never overwritten without `resume`.
 */
export async function openRunState<K extends RunStateFile>(
  dir: string,
  file: K,
  fresh: RunJson[K],
  resume: boolean | undefined,
  what: string,
): Promise<RunJson[K]> {
  const p = runFile(dir, file);
  if (!(await exists(p))) return fresh;
  if (!resume) throw new FrugalError((n) => `${path.dirname(p)} already holds ${what}: add ${n('resume', true)} to continue it, or choose another ${n('out')}`);
  const state = await readJson<RunJson[K]>(p);
  if (JSON.stringify(state.fingerprint) !== JSON.stringify(fresh.fingerprint)) {
    throw new FrugalError(`${p}: the run was started with other settings; resume with the same options`);
  }
  return state;
}

/** Save a run's state (atomically: a crash leaves the previous state). */
export async function saveRunState<K extends RunStateFile>(dir: string, file: K, state: RunJson[K]): Promise<void> {
  await writeRunJson(dir, file, state);
}

/** Whether a folder holds a run of this kind that was started (and can be resumed). */
export async function hasRunState(dir: string, file: RunStateFile): Promise<boolean> {
  return exists(runFile(dir, file));
}
