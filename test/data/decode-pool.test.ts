import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DecodePool } from '../../src/data/decode-pool.js';
import { openDataset } from '../../src/data/sources.js';
import { ROOT, FIXTURE } from '../helpers.js';

const spec = { height: 28, width: 28, channels: 1 as const, resize: 'squash' as const };

test('a decoding process that dies fails its request; the pool starts another for the next', async () => {
  const files = (await openDataset(path.join(FIXTURE, 'test'))).samples.slice(0, 3).map((s) => s.path);
  const pool = new DecodePool(1);
  try {
    const first = await pool.run({ files, spec, cacheDir: null });
    assert.deepEqual(
      first.map((r) => r.ok),
      [true, true, true],
    );
    const pending = pool.run({ files, spec, cacheDir: null });
    assert.equal(pool.children.size, 1);
    [...pool.children][0]!.kill('SIGKILL');
    await assert.rejects(pending, /decoding process exited \(SIGKILL\)/);
    const again = await pool.run({ files, spec, cacheDir: null });
    assert.deepEqual(
      again.map((r) => r.ok && r.image.data.length),
      [784, 784, 784],
    );
  } finally {
    await pool.close();
  }
});

test('a decoder left open does not keep the process alive, and its decoding processes exit with it', async () => {
  const loader = pathToFileURL(path.join(ROOT, 'dist', 'src', 'data', 'loader.js')).href;
  const file = (await openDataset(path.join(FIXTURE, 'test'))).samples[0]!.path;
  const script = `
    import { readdirSync, readFileSync } from 'node:fs';
    import { Decoder } from ${JSON.stringify(loader)};
    const samples = Array.from({ length: 12 }, () => ({ path: ${JSON.stringify(file)}, label: 0 }));
    const decoder = new Decoder({ spec: ${JSON.stringify(spec)}, workers: 2, cache: false });
    let count = 0;
    for await (const b of decoder.batches(samples, 5)) count += b.count;
    // Not closed. Its decoding processes, where /proc lists them:
    const children = [];
    for (const pid of ${JSON.stringify(existsSync('/proc'))} ? readdirSync('/proc') : []) {
      try {
        const stat = readFileSync('/proc/' + pid + '/stat', 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) children.push(Number(pid));
      } catch {}
    }
    console.log(JSON.stringify({ count, children }));
  `;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(res.status, 0, res.stderr);
  const { count, children } = JSON.parse(res.stdout) as { count: number; children: number[] };
  assert.equal(count, 12);
  if (!existsSync('/proc')) return;
  assert.equal(children.length, 2);
  // They exit when their parent's IPC channel closes (a zombie is gone too: only its parent could reap it).
  const running = () => children.filter((pid) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readStat(pid)));
  for (let i = 0; i < 50 && running().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(running(), []);
});

function readStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}
