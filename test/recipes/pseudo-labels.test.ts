import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { initBackend } from '../../src/engine/backend.js';
import { newMeta } from '../../src/models/model-dir.js';
import { candidatesOf, pseudoLabelPool, selectPseudoLabels, type PseudoLabelOptions } from '../../src/recipes/pseudo-labels.js';
import type { Predictor } from '../../src/evaluate/predictor.js';
import type { Sample } from '../../src/data/sources.js';
import { shardFile } from '../../src/runs/files.js';
import { tempDir } from '../helpers.js';
import { writeToyFolder } from '../synthetic.js';

before(async () => {
  await initBackend('wasm');
});

const spec = { height: 16, width: 16, channels: 1 as const, resize: 'squash' as const };

/** A teacher whose probabilities follow each image's mean brightness: any change of an image changes its row. */
const teacher: Predictor = {
  classes: ['dark', 'mid', 'light'],
  spec,
  meta: newMeta({ classes: ['dark', 'mid', 'light'], input: spec, preprocessing: { mean: [0], std: [1] } }),
  async predict(pixels, count) {
    const size = 16 * 16;
    const out = new Float32Array(count * 3);
    for (let i = 0; i < count; i++) {
      let m = 0;
      for (let j = 0; j < size; j++) m += pixels[i * size + j]! / 255 / size;
      const row = [Math.exp(-8 * m * m), Math.exp(-8 * (m - 0.5) ** 2), Math.exp(-8 * (m - 1) ** 2)];
      const z = row[0]! + row[1]! + row[2]!;
      out.set(
        row.map((v) => v / z),
        i * 3,
      );
    }
    return out;
  },
  dispose() {},
};

test('pseudo-label shards are identified by content: a shard of another teacher, shard size or pool, or a damaged one, is redone and said so', async () => {
  const root = tempDir();
  const folder = await writeToyFolder(path.join(root, 'pool'), 10, 16, 5);
  const pool: Sample[] = [];
  for (const cls of (await fsp.readdir(folder)).sort())
    for (const f of (await fsp.readdir(path.join(folder, cls))).sort()) pool.push({ path: path.join(folder, cls, f), label: null });
  const dir = path.join(root, 'pseudo');
  const run = async (over: Partial<PseudoLabelOptions> = {}) => {
    const notices: string[] = [];
    const res = await pseudoLabelPool(teacher, pool, {
      dir,
      shardSize: 8,
      teacherId: 'teacher-a',
      cache: false,
      onRedone: (m) => void notices.push(m),
      ...over,
    });
    return { ...res, notices };
  };
  const fresh = await run();
  assert.equal(fresh.computedShards, 4);
  assert.equal(fresh.candidates.length, 30);
  // The same run again: every shard is reused.
  const again = await run();
  assert.deepEqual([again.reusedShards, again.computedShards, again.redoneShards], [4, 0, 0]);
  assert.deepEqual(again.candidates, fresh.candidates);
  assert.deepEqual(again.notices, []);
  // A shard overwritten with random bytes (it was used as probabilities before): redone, same result as a fresh run.
  await fsp.writeFile(path.join(dir, shardFile(1)), randomBytes((await fsp.stat(path.join(dir, shardFile(1)))).size));
  const damaged = await run();
  assert.deepEqual([damaged.reusedShards, damaged.redoneShards], [3, 1]);
  assert.deepEqual(damaged.candidates, fresh.candidates);
  assert.match(damaged.notices.join('\n'), /1 pseudo-label shard in .* did not match this run \(1: shard file not a shard of this version\) and was redone/);
  // Another teacher: all redone.
  const otherTeacher = await run({ teacherId: 'teacher-b' });
  assert.equal(otherTeacher.redoneShards, 4);
  assert.match(otherTeacher.notices.join('\n'), /4: another teacher/);
  // Another shard size (shards were reused by position before): redone where a shard's images differ.
  const resized = await run({ shardSize: 16, teacherId: 'teacher-b' });
  assert.deepEqual([resized.reusedShards, resized.redoneShards], [0, 2]);
  assert.match(resized.notices.join('\n'), /another shard size/);
  assert.deepEqual(resized.candidates, fresh.candidates);
  // One pool image's content changes: its shard is redone and its row follows the new image.
  const changed = pool[20]!.path;
  await sharp(Buffer.alloc(16 * 16, 255), { raw: { width: 16, height: 16, channels: 1 } })
    .png()
    .toFile(changed + '.tmp.png');
  await fsp.rename(changed + '.tmp.png', changed);
  const edited = await run({ shardSize: 16, teacherId: 'teacher-b' });
  assert.deepEqual([edited.reusedShards, edited.redoneShards], [1, 1]);
  assert.match(edited.notices.join('\n'), /the pool images changed/);
  assert.equal(edited.candidates.find((c) => c.index === 20)!.label, 2);
  assert.deepEqual(
    edited.candidates.filter((c) => c.index !== 20),
    fresh.candidates.filter((c) => c.index !== 20),
  );
});

test('selectPseudoLabels: the confident ones; balanced, each class the mean count of its most confident, a short class repeated', () => {
  // Class 0: 6 confident images, class 1: 2, class 2: 1 confident and 1 below the threshold.
  const c = (index: number, label: number, confidence: number) => ({ index, label, confidence });
  const candidates = [...[0.99, 0.98, 0.97, 0.96, 0.95, 0.9].map((p, i) => c(i, 0, p)), c(6, 1, 0.85), c(7, 1, 0.95), c(8, 2, 0.81), c(9, 2, 0.5)];
  const plain = selectPseudoLabels(candidates, { threshold: 0.8, numClasses: 3 });
  assert.deepEqual(
    plain.map((x) => x.index),
    [0, 1, 2, 3, 4, 5, 6, 7, 8],
  );
  // 9 confident over 3 classes: 3 rows per class.
  const balanced = selectPseudoLabels(candidates, { threshold: 0.8, balance: true, numClasses: 3 });
  assert.deepEqual(
    balanced.map((x) => x.index),
    [0, 1, 2, 7, 6, 7, 8, 8, 8],
  );
});

test("candidatesOf: each row's likeliest class (the first on a tie) and its probability; a row of NaN (a failed image) left out", () => {
  const probs = Float32Array.from([0.2, 0.7, 0.1, NaN, NaN, NaN, 0.4, 0.2, 0.4]);
  assert.deepEqual(
    candidatesOf(probs, 3, 10).map((c) => [c.index, c.label, Math.round(c.confidence * 10) / 10]),
    [
      [10, 1, 0.7],
      [12, 0, 0.4],
    ],
  );
});
