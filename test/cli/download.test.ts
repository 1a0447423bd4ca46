import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tempDir, runCli, CLI } from '../helpers.js';
import { writeToyFolder } from '../synthetic.js';
import { serveScript } from '../models/fixtures.js';

const root = tempDir();
const cache = path.join(root, 'cache');
let toy: string;
let server: Awaited<ReturnType<typeof serveScript>>;

before(async () => {
  toy = await writeToyFolder(path.join(root, 'toy'), 4, 16, 3);
  server = await serveScript(() => {}); // accepts every request, answers none
});
after(() => server.close());

/** Run the CLI without blocking this process (its server has to accept the requests), timing it. */
function runCliAsync(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string; seconds: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, FRUGAL_CACHE: cache, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr, seconds: (performance.now() - t0) / 1000 })));
}

test(
  'a --backbone URL that never answers: exit 1 within seconds, one line saying what happened and what to do, no stack trace',
  { timeout: 60_000 },
  async () => {
    const url = `${server.url}/model.json`;
    const out = path.join(root, 'model');
    const json = await runCliAsync(['train', toy, '--out', out, '--backbone', url, '--download-timeout', '0.5', '--json']);
    assert.equal(json.status, 1, json.stderr);
    const message = `${url}: no answer within 0.5 s (tried 3 times); set --download-timeout or FRUGAL_DOWNLOAD_TIMEOUT (seconds) to wait longer, or use a local copy`;
    assert.equal(json.stderr, `error: ${message}\n`);
    assert.deepEqual(JSON.parse(json.stdout), { error: message, exitCode: 1 });
    // 3 attempts of 0.5 s, 1 s and 2 s apart, and the start: the process does not linger afterwards.
    assert.ok(json.seconds < 15, `exited after ${json.seconds.toFixed(1)} s`);
    assert.equal(server.requests.length, 3);
    assert.equal(existsSync(out), false);
    // FRUGAL_DOWNLOAD_TIMEOUT does the same; without --json each retry is a line on stderr, stdout stays empty.
    const plain = await runCliAsync(['train', toy, '--out', out, '--backbone', url], { FRUGAL_DOWNLOAD_TIMEOUT: '0.5' });
    assert.equal(plain.status, 1, plain.stderr);
    assert.equal(plain.stdout, '');
    assert.doesNotMatch(plain.stderr, /\n\s+at /);
    const lines = plain.stderr.trim().split('\n');
    assert.equal(lines.at(-1), `error: ${message}`);
    assert.deepEqual(
      lines.filter((l) => l.startsWith(url)),
      [`${url}: no answer within 0.5 s; attempt 2 of 3 in 1 s`, `${url}: no answer within 0.5 s; attempt 3 of 3 in 2 s`],
    );
    assert.ok(plain.seconds < 15, `exited after ${plain.seconds.toFixed(1)} s`);
  },
);

test('--download-timeout takes a positive number of seconds (else exit 2) on every command that takes --backbone; a bad FRUGAL_DOWNLOAD_TIMEOUT is one line', () => {
  const url = `${server.url}/model.json`;
  const out = path.join(root, 'x');
  for (const command of [['train'], ['auto'], ['augment', 'search']]) {
    for (const bad of ['abc', '0', '-1']) {
      const res = runCli([...command, toy, '--out', out, '--backbone', url, `--download-timeout=${bad}`]);
      assert.equal(res.status, 2, `${command.join(' ')} ${bad}: ${res.stderr}`);
      assert.match(res.stderr, new RegExp(`--download-timeout must be a positive number, got "${bad}"`));
    }
  }
  const scratch = runCli(['train', toy, '--out', out, '--backbone', 'none', '--download-timeout', '5']);
  assert.equal(scratch.status, 2);
  assert.match(scratch.stderr, /--download-timeout needs a backbone, but this run trains from scratch/);
  const env = runCli(['train', toy, '--out', out, '--backbone', url, '--json'], { FRUGAL_DOWNLOAD_TIMEOUT: 'soon', FRUGAL_CACHE: cache });
  assert.equal(env.status, 2);
  assert.equal(env.stderr, 'error: FRUGAL_DOWNLOAD_TIMEOUT must be a positive number of seconds, got "soon"\n');
});
