// Expected pixels follow PIL's nearest-neighbour affine sampler with torchvision's matrices:
// output (x, y) samples input (a*x' + b*y' + c, d*x' + e*y' + f), x' = x + 0.5, y' = y + 0.5,
// floored; fill 0 outside. Each case below notes the resulting source-pixel rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  crop,
  cutout,
  flipH,
  padCrop,
  randomResizedCrop,
  resizeBilinear,
  rotate,
  shearX,
  shearY,
  translateX,
  translateY,
} from '../../src/augment/ops/index.js';
import { G, gray, noise, rgb, rowsOf } from './helpers.js';

test('rotate 90° on a non-square image (affine path): out(y, x) = in(x, 4 - y)', () => {
  // PIL: matrix [0, -1, 4.5, 1, 0, -0.5] -> x_in = 4 - y, y_in = x (x = 4 falls outside: 0)
  assert.deepEqual(rowsOf(rotate(G(), 90)), [
    [50, 100, 150, 200, 0],
    [40, 90, 140, 190, 0],
    [30, 80, 130, 180, 0],
    [20, 70, 120, 170, 0],
  ]);
  // -90 = 270: x_in = y + 1, y_in = 4 - x
  assert.deepEqual(rowsOf(rotate(G(), -90)), [
    [0, 170, 120, 70, 20],
    [0, 180, 130, 80, 30],
    [0, 190, 140, 90, 40],
    [0, 200, 150, 100, 50],
  ]);
});

test("rotate uses PIL's exact transposes for 0, 180 and square 90/270", () => {
  assert.deepEqual(rowsOf(rotate(G(), 180)), [
    [200, 190, 180, 170, 160],
    [150, 140, 130, 120, 110],
    [100, 90, 80, 70, 60],
    [50, 40, 30, 20, 10],
  ]);
  assert.deepEqual(rowsOf(rotate(G(), 360)), rowsOf(G()));
  assert.deepEqual(rowsOf(rotate(G(), 0)), rowsOf(G()));
  const sq = gray([
    [0, 10, 20],
    [30, 40, 50],
    [60, 70, 80],
  ]);
  assert.deepEqual(rowsOf(rotate(sq, 90)), [
    [20, 50, 80],
    [10, 40, 70],
    [0, 30, 60],
  ]);
  assert.deepEqual(rowsOf(rotate(sq, 270)), [
    [60, 30, 0],
    [70, 40, 10],
    [80, 50, 20],
  ]);
});

test('rotate fills with the given colour', () => {
  const out = rotate(
    rgb([
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [
        [7, 8, 9],
        [10, 11, 12],
      ],
    ]),
    45,
    [200, 100, 50],
  );
  assert.equal(out.channels, 3);
  // every output pixel is either a source pixel or the fill colour
  const pixels = new Set(['1,2,3', '4,5,6', '7,8,9', '10,11,12', '200,100,50']);
  for (const row of rowsOf(out) as number[][][]) for (const p of row) assert.ok(pixels.has(p.join(',')), p.join(','));
});

test('shearX(s): x_in = x + floor(0.5 + s*(y + 0.5)) about the top-left corner', () => {
  // s = 0.5: row shifts 0, 1, 1, 2
  assert.deepEqual(rowsOf(shearX(G(), 0.5)), [
    [10, 20, 30, 40, 50],
    [70, 80, 90, 100, 0],
    [120, 130, 140, 150, 0],
    [180, 190, 200, 0, 0],
  ]);
  // s = -0.5: row shifts 0, -1, -1, -2
  assert.deepEqual(rowsOf(shearX(G(), -0.5)), [
    [10, 20, 30, 40, 50],
    [0, 60, 70, 80, 90],
    [0, 110, 120, 130, 140],
    [0, 0, 160, 170, 180],
  ]);
});

test('shearY(s): y_in = y + floor(0.5 + s*(x + 0.5))', () => {
  // s = 0.5: column shifts 0, 1, 1, 2, 2
  assert.deepEqual(rowsOf(shearY(G(), 0.5)), [
    [10, 70, 80, 140, 150],
    [60, 120, 130, 190, 200],
    [110, 170, 180, 0, 0],
    [160, 0, 0, 0, 0],
  ]);
});

test('translateX / translateY move by whole pixels (int() of the magnitude)', () => {
  assert.deepEqual(rowsOf(translateX(G(), 2)), [
    [0, 0, 10, 20, 30],
    [0, 0, 60, 70, 80],
    [0, 0, 110, 120, 130],
    [0, 0, 160, 170, 180],
  ]);
  assert.deepEqual(rowsOf(translateX(G(), -1.9)), [
    [20, 30, 40, 50, 0],
    [70, 80, 90, 100, 0],
    [120, 130, 140, 150, 0],
    [170, 180, 190, 200, 0],
  ]);
  assert.deepEqual(rowsOf(translateY(G(), 1)), [
    [0, 0, 0, 0, 0],
    [10, 20, 30, 40, 50],
    [60, 70, 80, 90, 100],
    [110, 120, 130, 140, 150],
  ]);
  assert.deepEqual(rowsOf(translateY(G(), -7)), rowsOf(gray(Array.from({ length: 4 }, () => [0, 0, 0, 0, 0]))));
});

test('flipH mirrors columns, keeping channel order', () => {
  assert.deepEqual(
    rowsOf(
      flipH(
        gray([
          [1, 2, 3],
          [4, 5, 6],
        ]),
      ),
    ),
    [
      [3, 2, 1],
      [6, 5, 4],
    ],
  );
  assert.deepEqual(
    rowsOf(
      flipH(
        rgb([
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ]),
      ),
    ),
    [
      [
        [4, 5, 6],
        [1, 2, 3],
      ],
    ],
  );
});

test('padCrop(pad, dx, dy): out(y, x) = in(y + dy - pad, x + dx - pad)', () => {
  assert.deepEqual(rowsOf(padCrop(G(), 2, 0, 4)), [
    [0, 0, 110, 120, 130],
    [0, 0, 160, 170, 180],
    [0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0],
  ]);
  assert.deepEqual(rowsOf(padCrop(G(), 3, 3, 3)), rowsOf(G()));
  assert.throws(() => padCrop(G(), 1, 3, 0), /dx, dy/);
});

test('cutout fills the size×size square centred at (x, y), clipped', () => {
  assert.deepEqual(rowsOf(cutout(G(), 2, 1, 2)), [
    [10, 0, 0, 40, 50],
    [60, 0, 0, 90, 100],
    [110, 120, 130, 140, 150],
    [160, 170, 180, 190, 200],
  ]);
  assert.deepEqual(rowsOf(cutout(G(), 0, 3, 3, 255)), [
    [10, 20, 30, 40, 50],
    [60, 70, 80, 90, 100],
    [255, 255, 130, 140, 150],
    [255, 255, 180, 190, 200],
  ]);
  assert.deepEqual(
    rowsOf(
      cutout(
        rgb([
          [
            [1, 1, 1],
            [2, 2, 2],
          ],
        ]),
        1,
        0,
        1,
        [7, 8, 9],
      ),
    ),
    [
      [
        [1, 1, 1],
        [7, 8, 9],
      ],
    ],
  );
  assert.deepEqual(rowsOf(cutout(G(), 2, 2, 0)), rowsOf(G()));
});

test('PIL bilinear resize: antialiased triangle filter, support scaled when shrinking', () => {
  // 4 -> 2: weights [3/7, 3/7, 1/7] and [1/7, 3/7, 3/7] -> 500/7 = 71.4, 1465/7 = 209.3
  assert.deepEqual(rowsOf(resizeBilinear(gray([[0, 100, 200, 255]]), 1, 2)), [[71, 209]]);
  // 2 -> 4: centres 0.25, 0.75, 1.25, 1.75 -> 0, 25, 75, 100 (edge taps clipped, weights renormalised)
  assert.deepEqual(rowsOf(resizeBilinear(gray([[0, 100]]), 1, 4)), [[0, 25, 75, 100]]);
});

test('randomResizedCrop = crop (zero outside) + PIL bilinear resize, horizontal pass first', () => {
  // rows [10,20,30,40] -> [17, 33]; [60,70,80,90] -> [67, 83]; then the two rows averaged
  assert.deepEqual(rowsOf(randomResizedCrop(G(), { top: 0, left: 0, height: 2, width: 4 }, 1, 2)), [[42, 58]]);
  assert.deepEqual(rowsOf(randomResizedCrop(G(), { top: -1, left: 3, height: 2, width: 3 }, 2, 3)), [
    [0, 0, 0],
    [40, 50, 0],
  ]);
  assert.deepEqual(rowsOf(crop(G(), { top: 1, left: 1, height: 2, width: 2 })), [
    [70, 80],
    [120, 130],
  ]);
  const full = noise(6, 7, 3);
  assert.deepEqual(randomResizedCrop(full, { top: 0, left: 0, height: 6, width: 7 }, 6, 7).data, full.data);
});
