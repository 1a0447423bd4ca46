import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { FrugalError } from '../util/errors.js';

/** Read a CSV of path,label for pool images (paths relative to the CSV's folder, or to the pool). */
export async function readPoolLabels(csv: string, pool: string): Promise<Map<string, string>> {
  let rows: string[][];
  try {
    rows = parse(await fsp.readFile(csv, 'utf8'), { skip_empty_lines: true, trim: true }) as string[][];
  } catch (err) {
    throw new FrugalError(`${csv}: cannot read pool labels (${(err as Error).message})`);
  }
  if (rows[0]?.[0]?.toLowerCase() === 'path') rows = rows.slice(1);
  const out = new Map<string, string>();
  for (const [p, label] of rows) {
    if (!p || !label) continue;
    const a = path.resolve(path.dirname(csv), p);
    const b = path.resolve(pool, p);
    out.set(a, label);
    out.set(b, label);
    out.set(path.join(pool, path.basename(p)), label);
  }
  return out;
}
