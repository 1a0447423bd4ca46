import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pointsChange } from '../../src/evaluate/estimate.js';

test('pointsChange: a signed change in points, the sign of the rounded figure', () => {
  assert.equal(pointsChange(null), '–');
  assert.equal(pointsChange(0.0167), '+1.7 pts');
  assert.equal(pointsChange(-0.02), '-2.0 pts');
  assert.equal(pointsChange(0), '+0.0 pts');
  // 88.3% against 88.3% by a float's last bits: no "-0.0".
  assert.equal(pointsChange(0.8833333 - 0.8833334), '+0.0 pts');
  assert.equal(pointsChange(-0.0004), '+0.0 pts');
  assert.equal(pointsChange(-0.0006), '-0.1 pts');
});
