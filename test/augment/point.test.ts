// Expected pixels below follow PIL's definitions (ImageOps.invert/posterize/solarize/
// autocontrast/equalize); each was derived by hand from the formula in the comment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeImage } from '../../src/data/image.js';
import { autocontrast, equalize, identity, invert, posterize, solarize } from '../../src/augment/ops/index.js';
import { G, gray, noise, rgb, rowsOf } from './helpers.js';

test('identity returns an equal copy, not the same buffer', () => {
  const g = G();
  const out = identity(g);
  assert.deepEqual(rowsOf(out), rowsOf(g));
  assert.notEqual(out.data, g.data);
});

test('invert: 255 - v', () => {
  assert.deepEqual(rowsOf(invert(gray([[0, 1, 128, 255]]))), [[255, 254, 127, 0]]);
  assert.deepEqual(rowsOf(invert(rgb([[[0, 100, 255]]]))), [[[255, 155, 0]]]);
});

test('posterize(3): v & 0b11100000', () => {
  assert.deepEqual(rowsOf(posterize(G(), 3)), [
    [0, 0, 0, 32, 32],
    [32, 64, 64, 64, 96],
    [96, 96, 128, 128, 128],
    [160, 160, 160, 160, 192],
  ]);
  assert.deepEqual(rowsOf(posterize(G(), 8)), rowsOf(G()));
  assert.deepEqual(rowsOf(posterize(gray([[255, 128, 127]]), 0)), [[0, 0, 0]]);
  assert.throws(() => posterize(G(), 9), /bits/);
});

test('solarize(t): v < t ? v : 255 - v; threshold 255 still inverts pure white', () => {
  assert.deepEqual(rowsOf(solarize(G(), 100)), [
    [10, 20, 30, 40, 50],
    [60, 70, 80, 90, 155],
    [145, 135, 125, 115, 105],
    [95, 85, 75, 65, 55],
  ]);
  assert.deepEqual(rowsOf(solarize(gray([[0, 254, 255]]), 255)), [[0, 254, 0]]);
  assert.deepEqual(rowsOf(solarize(gray([[0, 178, 179, 255]]), 178.5)), [[0, 178, 76, 0]]);
});

test('autocontrast: per channel, v -> int(v*255/(hi-lo) - lo*255/(hi-lo))', () => {
  // lo = 10, hi = 200: (v - 10) * 255 / 190, truncated
  assert.deepEqual(rowsOf(autocontrast(G())), [
    [0, 13, 26, 40, 53],
    [67, 80, 93, 107, 120],
    [134, 147, 161, 174, 187],
    [201, 214, 228, 241, 255],
  ]);
  // R: lo 10, hi 60 (scale 5.1); G already spans 0..255 (unchanged); B constant (hi <= lo: unchanged)
  const q = rgb([
    [
      [10, 0, 5],
      [20, 255, 5],
    ],
    [
      [30, 128, 5],
      [60, 64, 5],
    ],
  ]);
  assert.deepEqual(rowsOf(autocontrast(q)), [
    [
      [0, 0, 5],
      [51, 255, 5],
    ],
    [
      [102, 128, 5],
      [255, 64, 5],
    ],
  ]);
});

test('equalize: PIL histogram LUT (step = (total - last bin) // 255, n = step // 2, clipped at 255)', () => {
  // 1024 pixels: 300×10, 300×50, 300×100, 124×200. step = (1024-124)//255 = 3, n starts at 1:
  // lut[10] = 1//3 = 0, lut[50] = 301//3 = 100, lut[100] = 601//3 = 200, lut[200] = min(255, 901//3)
  const vals = [...Array(300).fill(10), ...Array(300).fill(50), ...Array(300).fill(100), ...Array(124).fill(200)] as number[];
  const img = makeImage(32, 32, 1, Uint8Array.from(vals));
  const out = equalize(img);
  const map = new Map<number, number>();
  for (let i = 0; i < vals.length; i++) map.set(vals[i]!, out.data[i]!);
  assert.deepEqual(
    [...map.entries()],
    [
      [10, 0],
      [50, 100],
      [100, 200],
      [200, 255],
    ],
  );
  // small images: step = 0 -> unchanged
  assert.deepEqual(rowsOf(equalize(G())), rowsOf(G()));
  // one level only -> unchanged
  assert.deepEqual(rowsOf(equalize(gray([[7, 7, 7]]))), [[7, 7, 7]]);
});

test('equalize works per channel on RGB', () => {
  const n = 1024;
  const img = makeImage(32, 32, 3);
  for (let i = 0; i < n; i++) {
    img.data[i * 3] = i < 512 ? 0 : 255; // R: two levels, step = 512//255 = 2 -> lut[0]=0, lut[255]=(1+512)//2=256 -> 255
    img.data[i * 3 + 1] = 9; // G: one level -> unchanged
    img.data[i * 3 + 2] = i < 900 ? 40 : 41; // B: step = 900//255 = 3, n=1 -> lut[40]=0, lut[41]=(1+900)//3=300 -> 255
  }
  const out = equalize(img);
  assert.deepEqual([out.data[0], out.data[1], out.data[2]], [0, 9, 0]);
  assert.deepEqual([out.data[3 * 1023], out.data[3 * 1023 + 1], out.data[3 * 1023 + 2]], [255, 9, 255]);
});

test('LUT ops agree on 4-byte-aligned and unaligned buffers', () => {
  const base = noise(7, 9, 3, 5);
  const buf = new Uint8Array(base.data.length + 1);
  buf.set(base.data, 1);
  const shifted = { ...base, data: buf.subarray(1) };
  for (const f of [invert, autocontrast, equalize, (i: typeof base) => solarize(i, 99), (i: typeof base) => posterize(i, 2)]) {
    assert.deepEqual(f(shifted).data, f(base).data);
  }
});
