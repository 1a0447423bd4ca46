import * as path from 'node:path';
import { FrugalError } from '../util/errors.js';
import { exists, readJson } from '../util/fs.js';

/**
 * The state file of a resumable multi-stage run (self-train rounds, auto stages). A fresh run gets
 * `fresh`; with `resume`, the saved state, which must have been made with the same settings
 * (`fingerprint`). A folder that already holds a run is never overwritten without `resume`.
 */
export async function openRunState<S extends { fingerprint: unknown }>(file: string, fresh: S, resume: boolean | undefined, what: string): Promise<S> {
  if (!(await exists(file))) return fresh;
  if (!resume) throw new FrugalError(`${path.dirname(file)} already holds ${what}: add --resume to continue it, or choose another --out`);
  const state = await readJson<S>(file);
  if (JSON.stringify(state.fingerprint) !== JSON.stringify(fresh.fingerprint)) {
    throw new FrugalError(`${file}: the run was started with other settings; resume with the same options`);
  }
  return state;
}
