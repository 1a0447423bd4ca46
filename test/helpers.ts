import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

/** Repository root (tests run from dist/test/...). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'fmnist');
export const CLI = path.join(ROOT, 'bin', 'frugal.js');

/** A temporary folder removed after the test file. */
export function tempDir(prefix = 'frugal-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Run the CLI in a child process. */
export function runCli(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FRUGAL_CACHE: process.env.FRUGAL_CACHE ?? path.join(tmpdir(), 'frugal-test-cache'), ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
}
