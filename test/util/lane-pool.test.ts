import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LanePool, type LaneEvents } from '../../src/util/lane-pool.js';

/** In-process lanes that answer when the test says so: requests are numbers, replies their doubles (or errors). */
function fakeLanes() {
  const lanes: Array<{ events: LaneEvents<{ ok: boolean; value: number }>; inbox: number[]; held: boolean; stopped: boolean }> = [];
  const start = (events: LaneEvents<{ ok: boolean; value: number }>) => {
    const lane = { events, inbox: [] as number[], held: false, stopped: false };
    lanes.push(lane);
    return {
      send: (req: number) => void lane.inbox.push(req),
      hold: (busy: boolean) => void (lane.held = busy),
      stop: async () => void (lane.stopped = true),
    };
  };
  const settle = (r: { ok: boolean; value: number }) => (r.ok ? r.value : new Error(`lane said no to ${r.value}`));
  return { lanes, pool: new LanePool(2, start, settle, 'test pool') };
}

const tick = () => new Promise((r) => setImmediate(r));

test('LanePool: lanes start with work, at most `size`, one request each; the rest waits for a free lane', async () => {
  const { lanes, pool } = fakeLanes();
  assert.equal(lanes.length, 0);
  const a = pool.run(1);
  const b = pool.run(2);
  const c = pool.run(3);
  assert.equal(lanes.length, 2);
  assert.deepEqual(
    lanes.map((l) => [l.inbox, l.held]),
    [
      [[1], true],
      [[2], true],
    ],
  );
  lanes[0]!.events.reply({ ok: true, value: 2 });
  assert.equal(await a, 2);
  // The free lane took the waiting request; no third lane.
  assert.deepEqual(lanes[0]!.inbox, [1, 3]);
  assert.equal(lanes.length, 2);
  lanes[1]!.events.reply({ ok: false, value: 2 });
  await assert.rejects(b, /lane said no to 2/);
  // An idle lane does not keep the process alive.
  assert.equal(lanes[1]!.held, false);
  lanes[0]!.events.reply({ ok: true, value: 6 });
  assert.equal(await c, 6);
  assert.equal(lanes[0]!.held, false);
  await pool.close();
});

test('LanePool: a lane that fails or exits fails its request only; an exited lane is replaced for the next', async () => {
  const { lanes, pool } = fakeLanes();
  const a = pool.run(1);
  const b = pool.run(2);
  lanes[0]!.events.fail(new Error('it broke'));
  await assert.rejects(a, /it broke/);
  lanes[1]!.events.exit(new Error('it exited'));
  await assert.rejects(b, /it exited/);
  const c = pool.run(3);
  const d = pool.run(4);
  await tick();
  // Lane 0 is still there (it only failed) and takes 3; lane 1 is gone, so a new lane takes 4.
  assert.deepEqual(lanes[0]!.inbox, [1, 3]);
  assert.equal(lanes.length, 3);
  assert.deepEqual(lanes[2]!.inbox, [4]);
  lanes[0]!.events.reply({ ok: true, value: 6 });
  lanes[2]!.events.reply({ ok: true, value: 8 });
  assert.deepEqual(await Promise.all([c, d]), [6, 8]);
  await pool.close();
});

test('LanePool: close rejects running and queued requests, stops every lane, and refuses new work', async () => {
  const { lanes, pool } = fakeLanes();
  const running = [pool.run(1), pool.run(2)];
  const queued = pool.run(3);
  await pool.close();
  for (const p of [...running, queued]) await assert.rejects(p, /test pool is closed/);
  assert.deepEqual(
    lanes.map((l) => l.stopped),
    [true, true],
  );
  await assert.rejects(pool.run(4), /test pool is closed/);
  // A late answer from a stopped lane goes nowhere.
  lanes[0]!.events.reply({ ok: true, value: 2 });
  assert.throws(
    () =>
      new LanePool(
        0,
        () => ({ send() {}, hold() {}, stop: async () => {} }),
        () => 0,
        'empty',
      ),
    /positive integer/,
  );
});
