import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import {
  basic,
  buildPolicy,
  cutmix,
  formatPolicy,
  mixup,
  oneHotRows,
  parsePolicy,
  PolicyParseError,
  randAugment,
  trivialAugmentWide,
} from '../../src/augment/policies/index.js';
import { augmentBatch } from '../../src/augment/batch.js';
import { noise } from './helpers.js';

const images = (n: number, c: 1 | 3 = 3) => Array.from({ length: n }, (_, i) => noise(16, 12, c, i + 1));

test('same seed gives the same output; different seeds differ', () => {
  for (const text of ['randaugment:n=2,m=9', 'trivial', 'basic', 'basic+randaugment:n=1,m=5']) {
    const p = buildPolicy(text);
    const batch = images(6);
    const a = augmentBatch(p, batch, 7).images.map((i) => i.data);
    const b = augmentBatch(p, batch, 7).images.map((i) => i.data);
    const c = augmentBatch(p, batch, 8).images.map((i) => i.data);
    assert.deepEqual(a, b, text);
    assert.notDeepEqual(a, c, text);
    for (const f of [randAugment(2, 9), trivialAugmentWide(), basic()]) {
      assert.deepEqual(f(batch[0]!, new Rng(3)).data, f(batch[0]!, new Rng(3)).data);
    }
  }
});

test('policies keep shape and dtype for 1 and 3 channels and never modify the input', () => {
  for (const c of [1, 3] as const) {
    const batch = images(4, c);
    const before = batch.map((i) => i.data.slice());
    for (const text of ['randaugment:n=3,m=30', 'trivial', 'basic:pad=3,flip=1', 'none']) {
      const out = augmentBatch(buildPolicy(text), batch, 1).images;
      out.forEach((o, i) => {
        assert.ok(o.data instanceof Uint8Array);
        assert.deepEqual([o.height, o.width, o.channels], [batch[i]!.height, batch[i]!.width, c]);
      });
    }
    assert.deepEqual(
      batch.map((i) => i.data),
      before,
    );
  }
});

test('randaugment with m=0 only changes images through solarize(255), autocontrast and equalize', () => {
  // with these seeds the draws are all no-op ops at bin 0 except where noted: check a weaker property
  const img = noise(10, 10, 3, 42);
  const noWhite = { ...img, data: img.data.map((v) => Math.min(v, 200)) };
  let unchanged = 0;
  for (let s = 0; s < 40; s++) {
    const out = randAugment(1, 0)(noWhite, new Rng(s));
    if (Buffer.compare(Buffer.from(out.data), Buffer.from(noWhite.data)) === 0) unchanged++;
  }
  // 12 of the 14 ops are identities at bin 0 on an image without 255s
  assert.ok(unchanged >= 25, `unchanged ${unchanged}/40`);
});

test('mixup: soft targets mix with lambda and rows sum to 1', () => {
  const batch = images(5);
  const targets = oneHotRows([0, 1, 2, 1, 3], 4);
  const out = mixup(0.2)({ images: batch, targets }, new Rng(1));
  assert.equal(out.images.length, 5);
  for (const row of out.targets) {
    const s = row.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(s - 1) < 1e-6, `row sums to ${s}`);
  }
  // the image is the same lambda blend as the target: t[i][label_i] = lambda (labels differ from i-1)
  const lam = out.targets[1]![1]!;
  assert.ok(Math.abs(out.targets[1]![0]! - (1 - lam)) < 1e-6);
  const i = 17;
  assert.ok(Math.abs(out.images[1]!.data[i]! - (lam * batch[1]!.data[i]! + (1 - lam) * batch[0]!.data[i]!)) <= 0.5 + 1e-6);
  const again = mixup(0.2)({ images: batch, targets }, new Rng(1));
  assert.deepEqual(again.targets, out.targets);
});

test('cutmix: pasted area decides the mix, rows sum to 1', () => {
  const batch = images(4);
  const targets = oneHotRows([0, 1, 2, 3], 4);
  for (let seed = 0; seed < 10; seed++) {
    const out = cutmix(1.0)({ images: batch, targets }, new Rng(seed));
    for (let k = 0; k < 4; k++) {
      const row = out.targets[k]!;
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-6);
      // fraction of pixels taken from the partner equals the partner's weight
      let fromPartner = 0;
      const own = batch[k]!.data;
      const other = batch[(k + 3) % 4]!.data;
      const o = out.images[k]!.data;
      for (let p = 0; p < o.length; p += 3) {
        if (
          o[p] === other[p] &&
          o[p + 1] === other[p + 1] &&
          o[p + 2] === other[p + 2] &&
          !(own[p] === other[p] && own[p + 1] === other[p + 1] && own[p + 2] === other[p + 2])
        )
          fromPartner++;
      }
      assert.ok(Math.abs(fromPartner / (16 * 12) - row[(k + 3) % 4]!) < 1e-6, `seed ${seed}`);
    }
  }
});

test('batch ops validate their input', () => {
  assert.throws(() => mixup(0), /alpha/);
  assert.throws(() => cutmix(-1), /alpha/);
  assert.throws(() => mixup(1)({ images: [noise(4, 4, 3), noise(5, 4, 3)], targets: oneHotRows([0, 1], 2) }, new Rng(1)), /same shape/);
  assert.throws(() => mixup(1)({ images: [noise(4, 4, 3)], targets: [Float32Array.from([0.5, 0.2])] }, new Rng(1)), /sums to/);
  assert.throws(() => oneHotRows([3], 3), /label/);
  assert.throws(() => augmentBatch(buildPolicy('basic+mixup=0.2'), images(2), 1), /needs targets/);
});

test('augmentBatch applies the batch op with soft targets', () => {
  const p = buildPolicy('randaugment:n=2,m=9+cutmix=1.0+mixup=0.2');
  const out = augmentBatch(p, images(4), 3, oneHotRows([0, 1, 2, 3], 4));
  assert.equal(out.targets!.length, 4);
  for (const row of out.targets!) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-6);
});

test('policy strings parse, format canonically and round-trip', () => {
  const cases: [string, string][] = [
    ['randaugment:n=2,m=9', 'randaugment:n=2,m=9'],
    ['randaugment', 'randaugment:n=2,m=9'],
    ['RandAugment: m=5 , n=1', 'randaugment:n=1,m=5'],
    ['trivial', 'trivial'],
    ['basic', 'basic'],
    ['basic:pad=4', 'basic:pad=4'],
    ['basic:flip=0.25,pad=2', 'basic:pad=2,flip=0.25'],
    ['none', 'none'],
    ['randaugment:n=2,m=9+mixup=0.2', 'randaugment:n=2,m=9+mixup=0.2'],
    ['trivial + cutmix=1.0', 'trivial+cutmix=1.0'],
    ['basic+randaugment:n=1,m=5+cutmix', 'basic+randaugment:n=1,m=5+cutmix=1.0'],
    ['mixup', 'none+mixup=0.2'],
    ['none+mixup:alpha=0.4', 'none+mixup=0.4'],
    ['randaugment:n=2,m=9+mixup=0.2+cutmix=1', 'randaugment:n=2,m=9+mixup=0.2+cutmix=1.0'],
  ];
  for (const [input, canonical] of cases) {
    const spec = parsePolicy(input);
    assert.equal(formatPolicy(spec), canonical, input);
    assert.deepEqual(parsePolicy(formatPolicy(spec)), spec, input);
    assert.equal(buildPolicy(input).text, canonical);
  }
  assert.deepEqual(parsePolicy('basic+randaugment:n=1,m=5+mixup=0.2'), {
    stages: [{ kind: 'basic' }, { kind: 'randaugment', n: 1, m: 5 }],
    mix: [{ kind: 'mixup', alpha: 0.2 }],
  });
});

test('bad policy strings give clear errors', () => {
  const bad: [string, RegExp][] = [
    ['', /empty policy/],
    ['   ', /empty policy/],
    ['randaug', /unknown term 'randaug' \(expected one of none, basic, trivial, randaugment, mixup, cutmix\)/],
    ['randaugment:n=2,m=31', /m must be an integer 0\.\.30, got 31/],
    ['randaugment:n=-1', /n must be an integer/],
    ['randaugment:n=1.5', /n must be an integer/],
    ['randaugment:n=x', /randaugment n must be a number, got "x"/],
    ['randaugment:k=3', /'randaugment' has no parameter 'k' \(allowed: n, m\)/],
    ['randaugment:n=1,n=2', /given twice/],
    ['randaugment:', /needs parameters/],
    ['randaugment=3', /takes parameters as 'randaugment:key=value'/],
    ['randaugment:n', /must look like key=value/],
    ['trivial:m=3', /'trivial' takes no parameters/],
    ['none+basic', /'none' cannot be combined/],
    ['basic++mixup=0.2', /empty term/],
    ['basic+', /empty term/],
    ['mixup=0', /alpha must be > 0/],
    ['mixup=-1', /alpha must be > 0/],
    ['mixup=abc', /mixup alpha must be a number/],
    ['mixup=0.2+mixup=0.3', /'mixup' appears more than once/],
    ['trivial+trivial', /appears more than once/],
    ['basic:flip=2', /probability/],
    ['basic:pad=-2', /pad must be an integer/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parsePolicy(text),
      (err: unknown) => err instanceof PolicyParseError && re.test(err.message),
      text,
    );
  }
});
