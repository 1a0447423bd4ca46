/** Backend selection: auto fallback, idempotency, env override, probe, quiet output. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, probeBackends } from '../../src/engine/backend.js';

const backendJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/engine/backend.js');

test('auto picks wasm (tfjs-node absent) with SIMD, 1 thread; idempotent', async () => {
  const saved = process.env['FRUGAL_BACKEND'];
  delete process.env['FRUGAL_BACKEND'];
  try {
    const a = await initBackend();
    const b = await initBackend('auto');
    assert.equal(a.name, 'wasm');
    assert.equal(b.name, 'wasm');
    assert.equal(a.threads, 1);
    assert.equal(a.simd, true);
    assert.match(a.fallbacks[0] ?? '', /tensorflow/);
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(a.versions['tfjs-core'], tf.version_core);
  } finally {
    if (saved !== undefined) process.env['FRUGAL_BACKEND'] = saved;
  }
});

test('explicit cpu and back; explicit tensorflow throws a clear error', async () => {
  assert.equal((await initBackend('cpu')).name, 'cpu');
  assert.equal((await initBackend('wasm')).name, 'wasm');
  await assert.rejects(initBackend('tensorflow'), /tensorflow.*tfjs-node/);
  assert.equal(tf.getBackend(), 'wasm');
});

test('FRUGAL_BACKEND overrides auto; bad values are rejected', async () => {
  const saved = process.env['FRUGAL_BACKEND'];
  try {
    process.env['FRUGAL_BACKEND'] = 'cpu';
    assert.equal((await initBackend()).name, 'cpu');
    assert.equal((await initBackend('wasm')).name, 'wasm'); // explicit beats env
    process.env['FRUGAL_BACKEND'] = 'gpu';
    await assert.rejects(initBackend(), /FRUGAL_BACKEND/);
  } finally {
    if (saved === undefined) delete process.env['FRUGAL_BACKEND'];
    else process.env['FRUGAL_BACKEND'] = saved;
    await initBackend('wasm');
  }
});

test('probeBackends reports all three with reasons and versions, keeps the active backend', async () => {
  await initBackend('wasm');
  const p = await probeBackends();
  assert.deepEqual(
    p.backends.map((b) => b.name),
    ['tensorflow', 'wasm', 'cpu'],
  );
  assert.equal(p.backends[0]!.usable, false);
  assert.match(p.backends[0]!.reason, /tfjs-node/);
  assert.equal(p.backends[1]!.usable, true);
  assert.equal(p.backends[2]!.usable, true);
  assert.equal(p.autoChoice, 'wasm');
  assert.equal(p.wasm.simd, true);
  assert.equal(p.wasm.threads, 1);
  assert.equal(p.versions.node, process.versions.node);
  assert.equal(p.versions['tfjs-backend-wasm'], '4.22.0');
  assert.equal(tf.getBackend(), 'wasm');
});

test('nothing is printed on stdout or stderr (auto, cpu, training step), from another cwd', () => {
  const script = `
    const { initBackend, probeBackends, tf } = await import(${JSON.stringify(backendJs)});
    await initBackend('auto');
    const v = tf.variable(tf.ones([2, 2]));
    tf.train.sgd(0.1).minimize(() => tf.sum(tf.square(v)));
    await initBackend('cpu');
    tf.add(tf.ones([2]), 1).dataSync();
    await probeBackends();
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: '/', encoding: 'utf8', env: { ...process.env, FRUGAL_BACKEND: '' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, '');
});

test('ensureBackend starts the default backend on first use, and keeps one chosen with initBackend', () => {
  const script = `
    const { initBackend, ensureBackend, tf } = await import(${JSON.stringify(backendJs)});
    const first = await ensureBackend();
    const again = await ensureBackend();
    await initBackend('cpu');
    const chosen = await ensureBackend();
    console.log(JSON.stringify({ first: first.name, again: again.name, chosen: chosen.name, now: tf.getBackend() }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: '/', encoding: 'utf8', env: { ...process.env, FRUGAL_BACKEND: '' } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { first: 'wasm', again: 'wasm', chosen: 'cpu', now: 'cpu' });
});
