import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { tempDir, runCli, CLI } from '../helpers.js';
import { writeToyFolder } from '../synthetic.js';

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('self-train killed mid-round resumes: finished shards are reused, the run completes', async () => {
  const root = tempDir();
  const labeled = await writeToyFolder(path.join(root, 'labeled'), 15, 16, 1);
  const pool = path.join(await writeToyFolder(path.join(root, 'pool-src'), 150, 16, 2));
  // The pool is unlabeled: flatten it.
  const flat = path.join(root, 'pool');
  await fsp.mkdir(flat);
  for (const cls of await fsp.readdir(pool))
    for (const f of await fsp.readdir(path.join(pool, cls))) await fsp.rename(path.join(pool, cls, f), path.join(flat, `${cls}-${f}`));
  const out = path.join(root, 'run');
  const args = [
    'self-train',
    labeled,
    '--unlabeled',
    flat,
    '--student',
    'cnn-tiny',
    '--rounds',
    '2',
    '--epochs',
    '4',
    '--shard-size',
    '16',
    '--augment',
    'randaugment:n=1,m=5',
    '--threshold',
    '0.4',
    '--seed',
    '3',
    '--out',
    out,
    '--json',
  ];
  const child = spawn(process.execPath, [CLI, ...args], { stdio: 'ignore', env: { ...process.env, FRUGAL_CACHE: path.join(root, 'cache') } });
  const exited = new Promise<string | null>((resolve) => child.on('exit', (_c, signal) => resolve(signal)));
  const shardsDir = path.join(out, 'round-1', 'pseudo');
  await waitFor(async () => (await fsp.readdir(shardsDir).catch(() => [])).filter((f) => f.endsWith('.bin')).length >= 2, 300_000);
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  const before = new Map<string, number>();
  for (const f of (await fsp.readdir(shardsDir)).filter((x) => x.endsWith('.bin'))) before.set(f, (await fsp.stat(path.join(shardsDir, f))).mtimeMs);
  assert.ok(before.size >= 2);
  assert.ok(!(await fsp.readdir(out)).includes('rounds.json'), 'the run must not have finished');
  // One finished shard damaged while the run was down: the resume must redo it (it was used as probabilities), and say so.
  const damaged = [...before.keys()].sort()[0]!;
  const size = (await fsp.stat(path.join(shardsDir, damaged))).size;
  await fsp.writeFile(path.join(shardsDir, damaged), Buffer.alloc(size, 7));
  before.delete(damaged);
  // Without --resume the folder is protected.
  const refused = runCli(args, { FRUGAL_CACHE: path.join(root, 'cache') });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /add --resume/);
  const resumed = runCli([...args, '--resume'], { FRUGAL_CACHE: path.join(root, 'cache') });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /note: 1 pseudo-label shard in .* did not match this run \(1: shard file not a shard of this version\) and was redone/);
  const r = JSON.parse(resumed.stdout);
  assert.equal(r.rounds[0].round, 0);
  assert.ok(r.rounds.length >= 2);
  for (const [f, mtime] of before) assert.equal((await fsp.stat(path.join(shardsDir, f))).mtimeMs, mtime, `shard ${f} was recomputed`);
  const shards = (await fsp.readdir(shardsDir)).filter((x) => x.endsWith('.bin'));
  assert.equal(shards.length, Math.ceil(450 / 16));
  assert.ok((await fsp.stat(path.join(out, 'rounds.json'))).isFile());
  const ev = runCli(['evaluate', out, labeled, '--json']);
  assert.equal(ev.status, 0, ev.stderr);
});
