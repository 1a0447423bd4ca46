import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AugmentPool } from '../../src/augment/pool.js';
import { augmentBatch } from '../../src/augment/batch.js';
import { buildPolicy, oneHotRows } from '../../src/augment/policies/index.js';
import { noise } from './helpers.js';

test('worker pool output is identical for 1 and 2 workers and to the in-process result', async () => {
  const policy = 'randaugment:n=2,m=9+mixup=0.2';
  const batch = Array.from({ length: 7 }, (_, i) => noise(20, 24, i % 2 ? 1 : 3, i + 10));
  const same = batch.map((_, i) => noise(20, 24, 3, i + 10)); // mixup needs one shape
  const targets = oneHotRows([0, 1, 2, 0, 1, 2, 0], 3);
  const before = batch.map((i) => i.data.slice());
  const expected = augmentBatch(buildPolicy('randaugment:n=2,m=9'), batch, 99);
  const expectedMix = augmentBatch(buildPolicy(policy), same, 5, targets);
  for (const workers of [1, 2]) {
    const pool = new AugmentPool({ policy: 'randaugment:n=2,m=9', workers });
    const mixPool = new AugmentPool({ policy, workers });
    try {
      const out = await pool.run(batch, 99);
      assert.deepEqual(
        out.images.map((i) => [i.height, i.width, i.channels, Array.from(i.data)]),
        expected.images.map((i) => [i.height, i.width, i.channels, Array.from(i.data)]),
      );
      const mixed = await mixPool.run(same, 5, targets);
      assert.deepEqual(mixed.targets, expectedMix.targets);
      assert.deepEqual(
        mixed.images.map((i) => Array.from(i.data)),
        expectedMix.images.map((i) => Array.from(i.data)),
      );
      // several batches in flight
      const outs = await Promise.all([pool.run(batch, 1), pool.run(batch, 2), pool.run(batch, 1)]);
      assert.deepEqual(
        outs[0]!.images.map((i) => Array.from(i.data)),
        outs[2]!.images.map((i) => Array.from(i.data)),
      );
    } finally {
      await pool.close();
      await mixPool.close();
    }
  }
  assert.deepEqual(
    batch.map((i) => i.data),
    before,
    'input images are copied, not detached',
  );
});

test('copyInputs: false hands whole-buffer images over (detached) with the same result', async () => {
  const batch = Array.from({ length: 3 }, (_, i) => noise(9, 8, 3, i + 1));
  const expected = augmentBatch(buildPolicy('trivial'), batch, 4).images.map((i) => Array.from(i.data));
  const pool = new AugmentPool({ policy: 'trivial', workers: 2, copyInputs: false });
  try {
    const owned = batch.map((i) => ({ ...i, data: i.data.slice() }));
    const shared = new Uint8Array(9 * 8 * 3 * 2);
    const view = { ...batch[0]!, data: shared.subarray(9 * 8 * 3) }; // a view: must be copied, not detached
    view.data.set(batch[0]!.data);
    const out = await pool.run([...owned, view], 4);
    assert.deepEqual(
      out.images.slice(0, 3).map((i) => Array.from(i.data)),
      expected,
    );
    assert.equal(owned[0]!.data.byteLength, 0, 'transferred');
    assert.equal(view.data.byteLength, 9 * 8 * 3, 'views are copied');
  } finally {
    await pool.close();
  }
});

test('a closed pool rejects new work', async () => {
  const pool = new AugmentPool({ policy: 'basic', workers: 1 });
  await pool.close();
  await assert.rejects(pool.run([noise(4, 4, 3)], 1), /closed/);
});
