import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { initBackend } from '../../src/engine/backend.js';
import { selectForLabeling, HYBRID, type SelectionInput, type SuggestStrategy } from '../../src/recipes/active-selection.js';
import { suggestLabels } from '../../src/recipes/suggest.js';
import { trainFromScratch } from '../../src/recipes/scratch.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from '../helpers.js';
import { fixtureClasses, fixturePool } from '../fixture-sets.js';

const root = tempDir();

before(async () => {
  await initBackend('wasm');
  process.env.FRUGAL_CACHE = path.join(root, 'cache');
});

/** Points around `centre` (dim values), with Gaussian noise of `spread`. */
function blob(rng: Rng, centre: number[], count: number, spread: number): number[][] {
  return Array.from({ length: count }, () => centre.map((c) => c + rng.normal() * spread));
}

/** A selection input from points and each point's probabilities. */
function inputOf(points: number[][], probs: number[][], labeled: number[][] = []): SelectionInput {
  const dim = points[0]!.length;
  return {
    probs: Float32Array.from(probs.flat()),
    classes: probs[0]!.length,
    features: Float32Array.from(points.flat()),
    count: points.length,
    dim,
    labeledFeatures: Float32Array.from(labeled.flat()),
    labeledCount: labeled.length,
  };
}

const axis = (i: number, dim = 8, scale = 4) => Array.from({ length: dim }, (_, j) => (j === i ? scale : 0));

/**
 * Three classes in three blobs, the model fairly sure inside each (its confidence falling with the distance from the
 * blob's centre), and 8 near-copies of one image between blobs 0 and 1 that the model finds a toss-up.
 */
function poolWithDuplicates(): { input: SelectionInput; duplicates: Set<number> } {
  const rng = new Rng(5);
  const points: number[][] = [];
  const probs: number[][] = [];
  for (let c = 0; c < 3; c++) {
    for (const p of blob(rng, axis(c), 30, 1)) {
      points.push(p);
      const sure = 0.5 + 0.45 * Math.exp(-Math.hypot(...p.map((v, j) => v - axis(c)[j]!)) / 3);
      probs.push([0, 1, 2].map((k) => (k === c ? sure : (1 - sure) / 2)));
    }
  }
  const between = axis(0).map((v, j) => (v + axis(1)[j]!) / 2);
  const duplicates = new Set<number>();
  for (const p of blob(rng, between, 8, 1e-4)) {
    duplicates.add(points.length);
    points.push(p);
    probs.push([0.49, 0.48, 0.03]);
  }
  const labeled = [0, 1, 2].flatMap((c) => blob(rng, axis(c), 2, 1));
  return { input: inputOf(points, probs, labeled), duplicates };
}

test('selection: deterministic for a seed, no image twice, the count asked; random draws differ by seed', () => {
  const { input } = poolWithDuplicates();
  for (const strategy of ['uncertainty-diversity', 'uncertainty', 'random'] as SuggestStrategy[]) {
    const a = selectForLabeling(input, 12, strategy, 3);
    const b = selectForLabeling(input, 12, strategy, 3);
    assert.deepEqual(a, b, strategy);
    assert.equal(a.length, 12);
    assert.equal(new Set(a.map((p) => p.index)).size, 12, `${strategy}: an image twice`);
    for (const p of a) assert.ok(p.index >= 0 && p.index < input.count && p.uncertainty >= 0 && p.uncertainty <= 1);
  }
  const other = selectForLabeling(input, 12, 'random', 4).map((p) => p.index);
  assert.notDeepEqual(
    selectForLabeling(input, 12, 'random', 3).map((p) => p.index),
    other,
  );
  // More than the pool holds: the whole pool, once each.
  assert.equal(new Set(selectForLabeling(input, 1000, 'uncertainty-diversity', 0).map((p) => p.index)).size, input.count);
});

test('selection: the diversity term spreads the picks (fewer near-duplicates than pure uncertainty), over more than one guessed class', () => {
  const { input, duplicates } = poolWithDuplicates();
  const uncertain = selectForLabeling(input, 9, 'uncertainty', 0);
  const hybrid = selectForLabeling(input, 9, 'uncertainty-diversity', 0);
  const copies = (picks: typeof hybrid) => picks.filter((p) => duplicates.has(p.index)).length;
  // Pure uncertainty takes the 8 near-copies (the model's toss-ups) first; the hybrid at most one of them.
  assert.equal(copies(uncertain), 8);
  assert.ok(copies(hybrid) <= 1, `hybrid picked ${copies(hybrid)} near-copies`);
  assert.equal(new Set(hybrid.map((p) => p.guess)).size, 3);
  // Uncertainty still counts: the hybrid's picks are less sure on average than a random draw's.
  const mean = (picks: typeof hybrid) => picks.reduce((a, p) => a + p.uncertainty, 0) / picks.length;
  const random = [0, 1, 2, 3, 4].map((s) => mean(selectForLabeling(input, 9, 'random', s)));
  assert.ok(mean(hybrid) > Math.max(...random) - 0.05, `hybrid ${mean(hybrid)}, random ${random}`);
});

test('selection: guessed classes are not starved (one pick per two shares) nor flooded (at most classCap shares)', () => {
  const rng = new Rng(9);
  const points: number[][] = [];
  const probs: number[][] = [];
  // The model guesses class 0 or 1 for 120 images, class 2 for 3 (and is least sure about class 0's).
  const add = (ps: number[][], p: number[]) => {
    points.push(...ps);
    probs.push(...ps.map(() => p));
  };
  add(blob(rng, axis(0), 60, 1), [0.5, 0.4, 0.1]);
  add(blob(rng, axis(1), 60, 1), [0.1, 0.8, 0.1]);
  add(blob(rng, axis(2, 8, 1), 3, 0.1), [0.05, 0.05, 0.9]);
  const input = inputOf(points, probs);
  for (const seed of [0, 1, 2]) {
    const picks = selectForLabeling(input, 6, 'uncertainty-diversity', seed);
    const per = [0, 1, 2].map((c) => picks.filter((p) => p.guess === c).length);
    assert.ok(per[2]! >= 1, `seed ${seed}: class 2 starved (${per})`);
    assert.ok(Math.max(...per) <= Math.ceil(HYBRID.classCap * 2), `seed ${seed}: ${per}`);
  }
  // Pure uncertainty has no such rule: all 6 from class 0.
  assert.ok(selectForLabeling(input, 6, 'uncertainty', 0).every((p) => p.guess === 0));
});

const CLASSES = ['trouser', 'bag', 'sneaker'];

test('suggestLabels: the built-in trunk and the head train would fit rank the pool, or a model directory does; repeatable; copies of labeled images are left out', async () => {
  const labeled = await fixtureClasses(path.join(root, 'labeled'), CLASSES, 4);
  const pool = await fixturePool(path.join(root, 'pool'), CLASSES, 30);
  // A copy of a labeled image in the pool is not suggested: it is labeled already.
  const copy = path.join(pool, 'copy-of-labeled.png');
  await fsp.copyFile(path.join(labeled, 'bag', (await fsp.readdir(path.join(labeled, 'bag')))[0]!), copy);
  const stages: string[] = [];
  const res = await suggestLabels(labeled, { unlabeled: pool, count: 6, seed: 1, callbacks: [{ onStage: (s) => stages.push(s) }] });
  assert.equal(res.strategy, 'uncertainty-diversity');
  assert.equal(res.suggestions.length, 6);
  assert.deepEqual(
    res.suggestions.map((s) => s.rank),
    [1, 2, 3, 4, 5, 6],
  );
  assert.equal(new Set(res.suggestions.map((s) => s.path)).size, 6);
  assert.equal(res.poolImages, 30);
  assert.equal(res.labeledImages, 12);
  assert.deepEqual(res.classes, [...CLASSES].sort());
  assert.ok(res.problems.some((p) => p.path === copy && /labeled|training/.test(p.reason)));
  assert.ok(res.suggestions.every((s) => s.path !== copy && path.dirname(s.path) === pool));
  assert.ok(new Set(res.suggestions.map((s) => s.guess)).size > 1);
  for (const s of res.suggestions) assert.ok(s.confidence > 0 && s.confidence <= 1 && s.score >= 0 && s.score <= 1);
  assert.ok(stages.includes('fitting the head on the labeled images'));
  // The same inputs and seed: the same suggestions (features from the cache this time).
  const again = await suggestLabels(labeled, { unlabeled: pool, count: 6, seed: 1 });
  assert.deepEqual(again.suggestions, res.suggestions);
  // The default count: 2 per class.
  assert.equal((await suggestLabels(labeled, { unlabeled: pool, strategy: 'uncertainty' })).suggestions.length, 6);
  // A model from scratch at the images' own 28 px: its predictions rank the pool (decoded again at its input size), the
  // built-in trunk places the images.
  const scratch = path.join(root, 'scratch');
  await trainFromScratch(labeled, { out: scratch, arch: 'cnn-tiny', hyper: { epochs: 1, minSteps: 0, seed: 1 }, valSplit: 0.25 });
  const byModel = await suggestLabels(labeled, { unlabeled: pool, model: scratch, count: 4, strategy: 'uncertainty' });
  assert.equal(byModel.model, scratch);
  assert.equal(byModel.backbone.featureDim, 1280);
  assert.equal(byModel.suggestions.length, 4);
  const scores = byModel.suggestions.map((s) => s.score);
  assert.deepEqual(
    scores,
    [...scores].sort((a, b) => b - a),
  );
  await assert.rejects(suggestLabels(labeled, { unlabeled: pool, count: 0 }), /count/);
  await assert.rejects(suggestLabels(labeled, { unlabeled: pool, model: labeled, backbone: 'x' }), /`model` places the images with its own backbone/);
});
