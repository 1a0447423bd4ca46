import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FrugalError } from './errors.js';

/**
 * Write a file atomically: write to a temporary sibling, fsync it, rename over the target,
 * then fsync the directory. A crash leaves either the old file or the new one, never half of one.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fsp.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

async function syncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

export async function readJson<T = unknown>(file: string): Promise<T> {
  return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
}

/** The user's cache directory for Frugal: $FRUGAL_CACHE, else $XDG_CACHE_HOME/frugal, else ~/.cache/frugal. */
export function cacheRoot(): string {
  if (process.env.FRUGAL_CACHE) return path.resolve(process.env.FRUGAL_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(process.env.HOME || process.cwd(), '.cache');
  return path.join(base, 'frugal');
}

const NEW_FOLDER = '.frugal-new-';
const OLD_FOLDER = '.frugal-old-';

/**
 * Write `files` (name, bytes; the last one completes the folder, e.g. a model's frugal.json) into `dir` as a whole.
 * A folder that does not hold the last file yet gets them one by one, each atomically, the last one last. A folder
 * that does is rebuilt beside itself (`.<name>.frugal-new-…`: links to everything else it holds, then the new
 * files) and swapped in; the previous folder is kept until the swap succeeded. A crash leaves the old folder or the
 * new one; the next write (or `interruptedWriteOf`) finds the previous one when the crash fell between the renames.
 */
export async function writeFolderAsWhole(dir: string, files: ReadonlyArray<readonly [string, Uint8Array]>): Promise<void> {
  await restoreInterruptedWrite(dir);
  const last = files[files.length - 1]![0];
  if (!(await exists(path.join(dir, last)))) {
    for (const [name, bytes] of files) await writeFileAtomic(path.join(dir, name), bytes);
    return;
  }
  const target = await fsp.realpath(dir);
  let fresh: string;
  try {
    fresh = await folderBeside(target);
  } catch {
    // No room beside the folder (e.g. its parent is read-only to us): write in place; frugal.json's file list
    // still tells a folder whose files disagree.
    for (const [name, bytes] of files) await writeFileAtomic(path.join(target, name), bytes);
    return;
  }
  await swapInFolder(fresh, target, async (into) => {
    await linkTree(target, into, new Set(files.map(([name]) => name)));
    for (const [name, bytes] of files) await writeFileAtomic(path.join(into, name), bytes);
  });
}

/** A new empty folder beside `target` (`.<name>.frugal-new-<pid>-…`) to build its replacement in (see `swapInFolder`). */
export async function folderBeside(target: string): Promise<string> {
  const fresh = path.join(path.dirname(target), `.${path.basename(target)}${NEW_FOLDER}${process.pid}-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(fresh);
  return fresh;
}

/**
 * Fill `fresh` (from `folderBeside`) and put it in `target`'s place. A folder already at `target` is moved aside
 * (`.<name>.frugal-old-…`) and removed only once the swap succeeded; when filling fails, `fresh` is removed and
 * `target` is untouched.
 */
export async function swapInFolder(fresh: string, target: string, fill: (fresh: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(fresh);
  const previous = (await exists(target)) ? path.join(parent, `.${path.basename(target)}${OLD_FOLDER}${process.pid}-${randomBytes(4).toString('hex')}`) : null;
  try {
    await fill(fresh);
    if (previous) await fsp.rename(target, previous);
  } catch (err) {
    await fsp.rm(fresh, { recursive: true, force: true });
    throw err;
  }
  try {
    await fsp.rename(fresh, target);
  } catch (err) {
    if (previous) await fsp.rename(previous, target);
    await fsp.rm(fresh, { recursive: true, force: true });
    throw err;
  }
  await syncDir(parent);
  if (previous) await fsp.rm(previous, { recursive: true, force: true });
}

/** Hard-link (or copy, where links are refused) everything under `from` into `to`, except the top-level `skip` names. */
async function linkTree(from: string, to: string, skip: ReadonlySet<string> = new Set()): Promise<void> {
  for (const entry of await fsp.readdir(from, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) {
      await fsp.mkdir(dst);
      await linkTree(src, dst);
    } else if (entry.isSymbolicLink()) {
      await fsp.symlink(await fsp.readlink(src), dst);
    } else {
      await fsp.link(src, dst).catch(() => fsp.copyFile(src, dst));
    }
  }
}

/** The folder `dir` was in before an interrupted `writeFolderAsWhole` (crashed between its two renames), if any. */
export async function interruptedWriteOf(dir: string): Promise<string | null> {
  if (await exists(dir)) return null;
  const parent = path.dirname(path.resolve(dir));
  const prefix = `.${path.basename(path.resolve(dir))}${OLD_FOLDER}`;
  const names = await fsp.readdir(parent).catch(() => [] as string[]);
  const found = names.filter((n) => n.startsWith(prefix)).sort();
  return found.length ? path.join(parent, found[found.length - 1]!) : null;
}

/** Put back the previous folder of an interrupted write, and remove half-built folders of writers that are gone. */
async function restoreInterruptedWrite(dir: string): Promise<void> {
  const previous = await interruptedWriteOf(dir);
  if (previous) await fsp.rename(previous, dir);
  const parent = path.dirname(path.resolve(dir));
  const prefix = `.${path.basename(path.resolve(dir))}${NEW_FOLDER}`;
  for (const name of await fsp.readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && !processAlive(pid)) await fsp.rm(path.join(parent, name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A name taken from data (a class name, a file name in a manifest) used as one path segment under a folder Frugal
 * writes or reads: it must not leave that folder (no separators, not `.` or `..`, not empty, no NUL).
 */
export function safeSegment(name: string, what: string): string {
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new FrugalError(`${what} ${JSON.stringify(name)} cannot be a folder or file name (it would leave the folder it belongs in)`);
  }
  return name;
}

/** A relative path taken from data (e.g. a weights file in model.json) that must stay inside `root`; returns it joined. */
export function insideFolder(root: string, relative: string, what: string): string {
  const full = path.resolve(root, relative);
  const base = path.resolve(root);
  if (path.isAbsolute(relative) || (full !== base && !full.startsWith(base + path.sep))) {
    throw new FrugalError(`${what} ${JSON.stringify(relative)} leaves ${root}`);
  }
  return full;
}
