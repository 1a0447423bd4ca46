// Expected pixels follow PIL ImageEnhance: enhance(f) = Image.blend(degenerate, image, f), computed
// in float32 as in1 + f*(in2 - in1) and truncated (clipped to 0..255 when f is outside [0, 1]).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blendByte, brightness, color, contrast, grayMean, luma, sharpness } from '../../src/augment/ops/index.js';
import { G, gray, noise, P, rowsOf } from './helpers.js';

test("PIL's RGB->L luma is (R*19595 + G*38470 + B*7471 + 0x8000) >> 16", () => {
  assert.equal(luma(255, 0, 0), 76);
  assert.equal(luma(0, 255, 0), 150);
  assert.equal(luma(0, 0, 255), 29);
  // (the older R*299/1000 + G*587/1000 + B*114/1000 would give 140 here)
  assert.equal(luma(100, 150, 200), 141);
});

test('blend truncates in float32 and clips when extrapolating', () => {
  assert.equal(blendByte(0, 3, 0.5), 1); // 1.5 -> 1
  assert.equal(blendByte(76, 0, 2), 0); // -76 -> 0
  assert.equal(blendByte(0, 100, 1.27), 127); // float32(1.27)*100 = 126.999998 rounds to 127.0 in float32
  assert.equal(blendByte(0, 10, 1.27), 12);
});

test('brightness: blend with black, v*f truncated', () => {
  const v = gray([[0, 1, 3, 255, 128, 77]]);
  assert.deepEqual(rowsOf(brightness(v, 0.5)), [[0, 0, 1, 127, 64, 38]]);
  assert.deepEqual(rowsOf(brightness(v, 1.5)), [[0, 1, 4, 255, 192, 115]]);
  assert.deepEqual(rowsOf(brightness(v, 0)), [[0, 0, 0, 0, 0, 0]]);
  assert.deepEqual(rowsOf(brightness(gray([[100, 200, 50, 10]]), 1.0 + 0.26999998092651367)), [[127, 254, 63, 12]]);
});

test('contrast: blend with the rounded mean of the L image', () => {
  // mean of G = 105 -> out = trunc(105 + 0.5*(v - 105))
  assert.equal(grayMean(G()), 105);
  assert.deepEqual(rowsOf(contrast(G(), 0.5)), [
    [57, 62, 67, 72, 77],
    [82, 87, 92, 97, 102],
    [107, 112, 117, 122, 127],
    [132, 137, 142, 147, 152],
  ]);
  // P: luma 76, 150, 29, 141 -> mean 99
  assert.equal(grayMean(P()), 99);
  assert.deepEqual(rowsOf(contrast(P(), 0)), [
    [
      [99, 99, 99],
      [99, 99, 99],
    ],
    [
      [99, 99, 99],
      [99, 99, 99],
    ],
  ]);
  assert.deepEqual(rowsOf(contrast(P(), 0.5)), [
    [
      [177, 49, 49],
      [49, 177, 49],
    ],
    [
      [49, 49, 177],
      [99, 124, 149],
    ],
  ]);
});

test('color: blend each channel with the pixel luma', () => {
  assert.deepEqual(rowsOf(color(P(), 0.5)), [
    [
      [165, 38, 38],
      [75, 202, 75],
    ],
    [
      [14, 14, 142],
      [120, 145, 170],
    ],
  ]);
  assert.deepEqual(rowsOf(color(P(), 2)), [
    [
      [255, 0, 0],
      [0, 255, 0],
    ],
    [
      [0, 0, 255],
      [59, 159, 255],
    ],
  ]);
  assert.deepEqual(rowsOf(color(P(), 0)), [
    [
      [76, 76, 76],
      [150, 150, 150],
    ],
    [
      [29, 29, 29],
      [141, 141, 141],
    ],
  ]);
  // a grayscale image is its own L image
  assert.deepEqual(rowsOf(color(G(), 0)), rowsOf(G()));
});

test('sharpness: blend with SMOOTH ([[1,1,1],[1,5,1],[1,1,1]]/13, rounded), border kept', () => {
  // spike 130 at (1,1), 26 at (3,3): smooth interior = [[650/13, 130/13], [130/13, 156/13]] = [[50,10],[10,12]]
  const s = gray([
    [0, 0, 0, 0],
    [0, 130, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 26],
  ]);
  assert.deepEqual(rowsOf(sharpness(s, 0)), [
    [0, 0, 0, 0],
    [0, 50, 10, 0],
    [0, 10, 12, 0],
    [0, 0, 0, 26],
  ]);
  // 2*S - D clipped
  assert.deepEqual(rowsOf(sharpness(s, 2)), [
    [0, 0, 0, 0],
    [0, 210, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 26],
  ]);
  assert.deepEqual(rowsOf(sharpness(s, 0.5)), [
    [0, 0, 0, 0],
    [0, 90, 5, 0],
    [0, 5, 6, 0],
    [0, 0, 0, 26],
  ]);
  // rounding, not truncation: 100/13 = 7.7 -> 8, 20/13 = 1.5 -> 2
  const s2 = gray([
    [0, 0, 0, 0],
    [0, 20, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ]);
  assert.deepEqual(rowsOf(sharpness(s2, 0)), [
    [0, 0, 0, 0],
    [0, 8, 2, 0],
    [0, 2, 2, 0],
    [0, 0, 0, 0],
  ]);
  // a linear ramp is its own smooth image; tiny images are unchanged
  assert.deepEqual(rowsOf(sharpness(G(), 0)), rowsOf(G()));
  assert.deepEqual(rowsOf(sharpness(gray([[1, 2, 3]]), 0)), [[1, 2, 3]]);
});

test('sharpness on RGB filters each channel independently', () => {
  const img = noise(5, 6, 3, 3);
  const out = sharpness(img, 0);
  for (let c = 0; c < 3; c++) {
    const plane = gray(Array.from({ length: 5 }, (_, y) => Array.from({ length: 6 }, (_, x) => img.data[(y * 6 + x) * 3 + c]!)));
    const ref = sharpness(plane, 0);
    for (let p = 0; p < 30; p++) assert.equal(out.data[p * 3 + c], ref.data[p]);
  }
});
