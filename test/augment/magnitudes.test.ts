import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeImage } from '../../src/data/image.js';
import {
  applyOp,
  linspaceF32,
  MAGNITUDE_FREE_OPS,
  magnitudeTable,
  magnitudeValue,
  OP_NAMES,
  RANDAUGMENT_OPS,
  SIGNED_OPS,
} from '../../src/augment/magnitudes.js';
import { G, noise, rowsOf } from './helpers.js';

test('RandAugment table matches torchvision (31 bins)', () => {
  assert.equal(RANDAUGMENT_OPS.length, 14);
  const f32 = Math.fround;
  // linspace(0, 0.3, 31), linspace(0, 0.9, 31): float32 values
  assert.equal(magnitudeValue('shear-x', 9, 224, 224), f32(0.09000000357627869));
  assert.equal(magnitudeValue('shear-y', 30, 224, 224), f32(0.3));
  assert.equal(magnitudeValue('brightness', 9, 224, 224), 0.26999998092651367); // not f32(0.27)
  assert.equal(magnitudeValue('color', 20, 224, 224), 0.5999999642372131); // not f32(0.6)
  assert.equal(magnitudeValue('sharpness', 30, 224, 224), f32(0.9));
  assert.equal(magnitudeValue('rotate', 9, 224, 224), 9);
  assert.equal(magnitudeValue('rotate', 30, 224, 224), 30);
  assert.equal(magnitudeValue('solarize', 0, 224, 224), 255);
  assert.equal(magnitudeValue('solarize', 9, 224, 224), 178.5);
  assert.equal(magnitudeValue('solarize', 30, 224, 224), 0);
  // 8 - round(arange(31) / 7.5)
  assert.deepEqual(magnitudeTable('posterize', 1, 1), [8, 8, 8, 8, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, 6, 5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4]);
  // translate: linspace(0, 150/331 * size, 31); torch: bin 9 of 224 -> 30.45317268371582
  assert.equal(magnitudeValue('translate-x', 9, 100, 224), 30.45317268371582);
  assert.equal(magnitudeValue('translate-y', 30, 224, 100), 101.51057434082031);
  assert.equal(magnitudeValue('translate-x', 30, 32, 32), f32((150 / 331) * 32));
  for (const op of ['identity', 'autocontrast', 'equalize'] as const) assert.equal(magnitudeValue(op, 9, 8, 8), null);
  assert.deepEqual([...SIGNED_OPS].filter((o) => (RANDAUGMENT_OPS as readonly string[]).includes(o)).sort(), [
    'brightness',
    'color',
    'contrast',
    'rotate',
    'sharpness',
    'shear-x',
    'shear-y',
    'translate-x',
    'translate-y',
  ]);
});

test('wide (TrivialAugmentWide) table matches torchvision', () => {
  assert.equal(magnitudeValue('shear-x', 30, 9, 9, 'wide'), Math.fround(0.99));
  assert.equal(magnitudeValue('translate-x', 30, 9, 9, 'wide'), 32);
  assert.equal(magnitudeValue('translate-y', 1, 9, 9, 'wide'), 1.0666667222976685);
  assert.equal(magnitudeValue('rotate', 30, 9, 9, 'wide'), 135);
  assert.equal(magnitudeValue('color', 30, 9, 9, 'wide'), Math.fround(0.99));
  assert.deepEqual(magnitudeTable('posterize', 1, 1, 'wide'), [8, 8, 8, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2]);
  assert.equal(magnitudeValue('solarize', 30, 9, 9, 'wide'), 0);
});

test('float32 linspace reproduces the stored tables', () => {
  assert.deepEqual(linspaceF32(0, 0.3, 31), magnitudeTable('shear-x', 1, 1));
  assert.deepEqual(linspaceF32(0, 0.9, 31), magnitudeTable('contrast', 1, 1));
  assert.deepEqual(linspaceF32(0, 0.99, 31), magnitudeTable('shear-y', 1, 1, 'wide'));
  assert.deepEqual(linspaceF32(0, 32, 31), magnitudeTable('translate-x', 1, 1, 'wide'));
});

test('applyOp at a bin equals the functional op at that strength', () => {
  const g = G();
  // rotate bin 30 = 30°, sign -1 -> -30°
  assert.deepEqual(
    applyOp(g, 'posterize', 30, 1).data,
    Uint8Array.from(g.data, (v) => v & 0xf0),
  );
  assert.deepEqual(
    applyOp(g, 'solarize', 15, 1).data,
    Uint8Array.from(g.data, (v) => (v < 127.5 ? v : 255 - v)),
  );
  // translate-x bin 30 on width 5: int(150/331*5 = 2.27) = 2 px; negative sign -> left
  assert.deepEqual(rowsOf(applyOp(g, 'translate-x', 30, -1))[0], [30, 40, 50, 0, 0]);
  assert.deepEqual(rowsOf(applyOp(g, 'translate-x', 30, 1))[0], [0, 0, 10, 20, 30]);
  // brightness bin 30: factor 1 - 0.9 (sign -1) -> trunc(v * float32(0.1...))
  assert.deepEqual(rowsOf(applyOp(g, 'brightness', 30, -1))[0], [1, 2, 3, 4, 5]);
  assert.throws(() => applyOp(g, 'blur', 3, 1), /unknown op/);
  assert.throws(() => applyOp(g, 'rotate', 31, 1), /bin/);
  assert.throws(() => applyOp(g, 'rotate', 3, 0), /sign/);
});

test('bin 0 is the identity for every op whose bin-0 setting is a no-op', () => {
  for (const c of [1, 3] as const) {
    const img = noise(11, 13, c, 9);
    for (const op of OP_NAMES) {
      if (MAGNITUDE_FREE_OPS.has(op) && op !== 'identity') continue;
      for (const sign of [1, -1]) {
        const out = applyOp(img, op, 0, sign);
        if (op === 'solarize') {
          // threshold 255: v < 255 kept, 255 inverted to 0
          assert.deepEqual(
            out.data,
            Uint8Array.from(img.data, (v) => (v === 255 ? 0 : v)),
            'solarize',
          );
        } else {
          assert.deepEqual(out.data, img.data, `${op} sign ${sign} channels ${c}`);
        }
      }
    }
  }
});

test('every op keeps dtype, shape and channel count for 1 and 3 channels', () => {
  for (const c of [1, 3] as const) {
    for (const [h, w] of [
      [1, 1],
      [2, 7],
      [17, 9],
    ] as const) {
      const img = noise(h, w, c, h * 31 + w);
      const before = img.data.slice();
      for (const op of OP_NAMES) {
        for (const bin of [0, 9, 30]) {
          const out = applyOp(img, op, bin, bin === 9 ? -1 : 1);
          assert.ok(out.data instanceof Uint8Array, op);
          assert.deepEqual([out.height, out.width, out.channels, out.data.length], [h, w, c, h * w * c], `${op} ${h}x${w}x${c}`);
          assert.notEqual(out.data, img.data, `${op} must not return the input buffer`);
        }
      }
      assert.deepEqual(img.data, before, 'ops must not modify their input');
    }
  }
});

test('extra ops at full strength: cutout, random-resized-crop, pad-crop are deterministic', () => {
  const img = noise(32, 32, 3, 4);
  assert.deepEqual(applyOp(img, 'cutout', 30, 1).data, applyOp(img, 'cutout', 30, 1).data);
  // cutout bin 30: a 16×16 square centred at (16, 16) -> rows/cols 8..23 zeroed
  const cut = applyOp(img, 'cutout', 30, 1);
  let zeros = 0;
  for (let i = 0; i < cut.data.length; i++) if (cut.data[i] !== img.data[i]) zeros++;
  assert.ok(zeros > 0 && zeros <= 16 * 16 * 3);
  for (let y = 8; y < 24; y++) for (let x = 8; x < 24; x++) assert.equal(cut.data[(y * 32 + x) * 3], 0);
  // pad-crop bin 30: pad 4, shift ±4 -> out(y, x) = in(y + 4, x + 4) for sign +1
  const pc = applyOp(img, 'pad-crop', 30, 1);
  assert.equal(pc.data[0], img.data[(4 * 32 + 4) * 3]);
  const pcn = applyOp(img, 'pad-crop', 30, -1);
  assert.equal(pcn.data[(4 * 32 + 4) * 3], img.data[0]);
  assert.equal(pcn.data[0], 0);
  assert.notDeepEqual(applyOp(img, 'random-resized-crop', 15, 1).data, img.data);
  const r = makeImage(4, 4, 1);
  assert.equal(applyOp(r, 'random-resized-crop', 30, -1).data.length, 16);
});
