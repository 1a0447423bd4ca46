import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import assert from 'node:assert/strict';

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

/** Element-wise closeness: |a − b| ≤ tol · (1 + |b|), or ≤ tol with `relative` false. */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4, relative = true): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (relative ? 1 + Math.abs(b[i]!) : 1), `[${i}] ${a[i]} vs ${b[i]}`);
}
