/**
 * The timer wheel and time driver alone: a paused clock driven by hand and
 * fake wakers. Checks placement at every level, O(1) removal, cascading at
 * the exact process(), nextTimeout, autoAdvance, and a randomized run of
 * 100k deadlines and removals against a reference min-heap.
 */

import assert from "node:assert/strict";
import { Clock } from "../runtime/time/clock.ts";
import { TimeDriver } from "../runtime/time/time_driver.ts";
import { FIRED, IDLE, type TimerEntry, Wheel } from "../runtime/time/wheel.ts";

interface TestEntry extends TimerEntry {
  id: number;
  woken: number;
  removed: boolean;
}

function entry(deadline: number, onWake?: (e: TestEntry) => void): TestEntry {
  const e: TestEntry = {
    deadline,
    linkPrev: null,
    linkNext: null,
    pos: IDLE,
    waker: null,
    id: 0,
    woken: 0,
    removed: false,
  };
  e.waker = {
    wake() {
      e.woken++;
      onWake?.(e);
    },
  };
  return e;
}

function pausedDriver(start = 0): TimeDriver {
  const clock = new Clock({ paused: true });
  if (start > 0) clock.advance(start);
  return new TimeDriver(clock);
}

const L5 = 64 ** 5;
const RANGE = 64 ** 6;
const LEVEL_DEADLINES = [1, 63, 64, 4095, 4096, 262143, 262144, 16777216, L5 + 1, RANGE - 1];

Deno.test("wheel: each level fires at its deadline, not a ms before", () => {
  for (const d of [...LEVEL_DEADLINES, RANGE + 5, 3 * RANGE + 7]) {
    const driver = pausedDriver();
    const e = entry(d);
    driver.insert(e);
    assert.equal(driver.size, 1);
    assert.ok(e.pos >= 0, `linked for ${d}`);
    // Walk there in a few big steps, each processed, stopping 1 ms short.
    for (const frac of [0.25, 0.5, 0.999]) {
      driver.clock.advanceTo(Math.max(1, Math.floor(d * frac)) - 1);
      assert.equal(driver.process(), 0, `nothing fires at ${driver.now()} for ${d}`);
    }
    driver.clock.advanceTo(d - 1);
    assert.equal(driver.process(), 0, `not at ${d - 1}`);
    assert.equal(e.woken, 0);
    assert.ok(driver.nextTimeout() >= 0 && driver.nextTimeout() <= 1);
    driver.clock.advanceTo(d);
    assert.equal(driver.process(), 1, `fires at ${d}`);
    assert.equal(e.woken, 1);
    assert.equal(e.pos, FIRED);
    assert.equal(driver.size, 0);
    assert.equal(driver.nextTimeout(), -1);
  }
});

Deno.test("wheel: a jump straight past every level fires all, in deadline order", () => {
  const driver = pausedDriver();
  const order: number[] = [];
  const all = [...LEVEL_DEADLINES, RANGE + 5].reverse().map((d) =>
    entry(d, (e) => order.push(e.deadline))
  );
  for (const e of all) driver.insert(e);
  assert.equal(driver.size, all.length);
  driver.clock.advance(RANGE + 5);
  assert.equal(driver.process(), all.length);
  assert.deepEqual(order, [...LEVEL_DEADLINES, RANGE + 5]);
  assert.equal(driver.size, 0);
});

Deno.test("wheel: remove at every level unlinks in O(1) and never fires", () => {
  const driver = pausedDriver();
  const es = [...LEVEL_DEADLINES, RANGE + 5].map((d) => entry(d));
  for (const e of es) driver.insert(e);
  // Remove every other one, from the middle of lists too.
  const extra = es.map((e) => entry(e.deadline));
  for (const e of extra) driver.insert(e);
  assert.equal(driver.size, es.length * 2);
  for (const e of es) driver.remove(e);
  assert.equal(driver.size, es.length);
  for (const e of es) assert.equal(e.pos, IDLE);
  driver.remove(es[0]); // not linked: a no-op
  assert.equal(driver.size, es.length);
  driver.clock.advance(RANGE + 5);
  assert.equal(driver.process(), extra.length);
  for (const e of es) assert.equal(e.woken, 0);
  for (const e of extra) assert.equal(e.woken, 1);
});

Deno.test("wheel: same-deadline entries fire FIFO; re-insert moves an entry", () => {
  const driver = pausedDriver();
  const order: number[] = [];
  const es = [0, 1, 2, 3].map((i) => {
    const e = entry(100, () => order.push(i));
    driver.insert(e);
    return e;
  });
  es[1].deadline = 50;
  driver.insert(es[1]); // moved
  assert.equal(driver.size, 4);
  driver.clock.advance(50);
  assert.equal(driver.process(), 1);
  driver.clock.advance(50);
  assert.equal(driver.process(), 3);
  assert.deepEqual(order, [1, 0, 2, 3]);
});

Deno.test("wheel: due entries (deadline <= cursor) fire at the next process, not at insert", () => {
  const driver = pausedDriver(10);
  driver.process();
  const e = entry(10);
  const past = entry(3);
  driver.insert(e);
  driver.insert(past);
  assert.equal(e.woken, 0);
  assert.equal(driver.nextTimeout(), 0);
  assert.equal(driver.process(), 2);
  assert.equal(e.woken + past.woken, 2);
});

Deno.test("wheel: a waker inserting a due entry does not loop inside process()", () => {
  const driver = pausedDriver();
  let n = 0;
  let last = entry(0);
  const again = (): void => {
    n++;
    last = entry(0, again);
    driver.insert(last);
  };
  last = entry(0, again);
  driver.insert(last);
  assert.equal(driver.process(), 1);
  assert.equal(n, 1);
  assert.equal(driver.size, 1);
  assert.equal(driver.process(), 1);
  assert.equal(n, 2);
  driver.remove(last);
  assert.equal(driver.size, 0);
});

Deno.test("driver: nextTimeout is -1, exact for level 0, a lower bound above", () => {
  const driver = pausedDriver();
  assert.equal(driver.nextTimeout(), -1);
  const a = entry(10);
  driver.insert(a);
  assert.equal(driver.nextTimeout(), 10);
  driver.clock.advance(4);
  assert.equal(driver.nextTimeout(), 6);
  driver.clock.advance(0.5);
  assert.equal(driver.nextTimeout(), 6); // 5.5 ms rounded up
  driver.remove(a);
  assert.equal(driver.nextTimeout(), -1);
  const b = entry(100);
  driver.insert(b);
  const t = driver.nextTimeout();
  assert.ok(t > 0 && t <= 100 - 4.5, `lower bound, got ${t}`);
  // Parking for nextTimeout and processing, repeatedly, reaches the deadline exactly.
  let steps = 0;
  while (b.woken === 0) {
    const wait = driver.nextTimeout();
    assert.ok(wait >= 0);
    driver.clock.advance(wait);
    driver.process();
    assert.ok(b.woken === 0 || driver.now() >= 100);
    steps++;
    assert.ok(steps < 10);
  }
  assert.equal(Math.floor(driver.now()), 100);
});

Deno.test("driver: autoAdvance jumps a paused clock to the earliest deadline", () => {
  const driver = pausedDriver();
  assert.equal(driver.autoAdvance(), false); // nothing pending
  const a = entry(5000);
  const b = entry(70000);
  driver.insert(b);
  driver.insert(a);
  assert.equal(driver.autoAdvance(), true);
  assert.equal(driver.now(), 5000);
  assert.equal(driver.process(), 1);
  assert.equal(a.woken, 1);
  assert.equal(driver.autoAdvance(), true);
  assert.equal(driver.now(), 70000);
  assert.equal(driver.process(), 1);
  const far = entry(RANGE * 2 + 3);
  driver.insert(far);
  assert.equal(driver.autoAdvance(), true);
  assert.equal(driver.now(), RANGE * 2 + 3);
  assert.equal(driver.process(), 1);
  assert.equal(driver.autoAdvance(), false);

  const real = new TimeDriver();
  const c = entry(1e6);
  real.insert(c);
  assert.equal(real.autoAdvance(), false); // only on a paused clock
  real.remove(c);
});

Deno.test("driver: insert rejects NaN, rounds fractional deadlines up", () => {
  const driver = pausedDriver();
  assert.throws(() => driver.insert(entry(NaN)), RangeError);
  const e = entry(2.2);
  driver.insert(e);
  assert.equal(e.deadline, 3);
  driver.clock.advance(2.9);
  assert.equal(driver.process(), 0);
  driver.clock.advance(0.1);
  assert.equal(driver.process(), 1);
});

Deno.test("clock: pause, resume, advance, validation", () => {
  const clock = new Clock({ paused: true });
  assert.equal(clock.now(), 0);
  assert.ok(clock.isPaused);
  clock.advance(12.5);
  assert.equal(clock.now(), 12.5);
  assert.throws(() => clock.advance(-1), RangeError);
  assert.throws(() => clock.advance(NaN), RangeError);
  assert.throws(() => clock.advance(Infinity), RangeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => clock.advance("1" as any), TypeError);
  clock.advanceTo(5); // behind: no-op
  assert.equal(clock.now(), 12.5);
  clock.resume();
  assert.ok(!clock.isPaused);
  const t = clock.now();
  assert.ok(t >= 12.5 && t < 1000);
  clock.advance(1000);
  assert.ok(clock.now() >= t + 1000);
  clock.pause();
  const frozen = clock.now();
  assert.equal(clock.now(), frozen);
  let fake = 100;
  const custom = new Clock({ source: () => fake });
  fake = 130;
  assert.equal(custom.now(), 30);
});

/** A small seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Min-heap of entries by deadline: the reference model. */
class Heap {
  items: TestEntry[] = [];
  push(e: TestEntry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].deadline <= a[i].deadline) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  peek(): TestEntry | undefined {
    return this.items[0];
  }
  pop(): TestEntry {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && a[l].deadline < a[m].deadline) m = l;
        if (r < a.length && a[r].deadline < a[m].deadline) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

function randomDelay(r: () => number): number {
  const x = r();
  if (x < 0.35) return Math.floor(r() * 64);
  if (x < 0.65) return Math.floor(r() * 4096);
  if (x < 0.85) return Math.floor(r() * 262144);
  if (x < 0.97) return Math.floor(r() * 16777216);
  if (x < 0.995) return Math.floor(r() * 2 ** 33);
  return Math.floor(RANGE + r() * RANGE);
}

function randomized(seed: number, start: number, total: number): void {
  const r = rng(seed);
  const driver = pausedDriver(start);
  const ref = new Heap();
  const live: TestEntry[] = [];
  let wokenThisStep: TestEntry[] = [];
  const onWake = (e: TestEntry): void => {
    wokenThisStep.push(e);
  };
  let made = 0;
  let removed = 0;
  let fired = 0;
  const add = (): void => {
    const e = entry(Math.floor(driver.now()) + randomDelay(r), onWake);
    e.id = made++;
    driver.insert(e);
    ref.push(e);
    live.push(e);
  };
  for (let i = 0; i < total / 2; i++) add();
  let steps = 0;
  while (ref.items.length > 0 || made < total) {
    steps++;
    // Churn: add new entries relative to now, remove random live ones.
    const adds = made < total ? Math.floor(r() * 200) : 0;
    for (let i = 0; i < adds && made < total; i++) add();
    const rems = Math.floor(r() * 40);
    for (let i = 0; i < rems && live.length > 0; i++) {
      const k = Math.floor(r() * live.length);
      const e = live[k];
      live[k] = live[live.length - 1];
      live.pop();
      if (e.pos === FIRED) continue;
      driver.remove(e);
      e.removed = true;
      removed++;
    }
    // Move time: small steps, big jumps, or straight to the next deadline.
    const x = r();
    if (x < 0.5) driver.clock.advance(Math.floor(r() * 50));
    else if (x < 0.7) driver.clock.advance(r() * 5000);
    else if (x < 0.75) driver.clock.advance(Math.floor(r() * 2 ** 26));
    else driver.autoAdvance();
    const now = Math.floor(driver.now());
    wokenThisStep = [];
    const n = driver.process();
    // Reference: every live entry with deadline <= now fires now, nothing else.
    let expected = 0;
    while (ref.items.length > 0 && ref.peek()!.deadline <= now) {
      const e = ref.pop();
      if (e.removed) continue;
      expected++;
      assert.equal(e.pos, FIRED, `entry ${e.id} due ${e.deadline} not fired at ${now}`);
    }
    assert.equal(n, expected, `step ${steps} at ${now}`);
    assert.equal(wokenThisStep.length, expected);
    for (const e of wokenThisStep) {
      assert.ok(e.deadline <= now, `entry ${e.id} fired early: ${e.deadline} > ${now}`);
      assert.ok(!e.removed);
      assert.equal(e.woken, 1);
    }
    fired += n;
    // Drop removed entries from the top so size can be compared.
    assert.equal(driver.size, made - removed - fired);
    assert.ok(steps < 200000);
  }
  assert.equal(driver.size, 0);
  assert.equal(driver.nextTimeout(), -1);
  assert.equal(made, total);
  assert.ok(removed > total / 100 && fired > total / 2, `removed ${removed} fired ${fired}`);
}

Deno.test("wheel: 100k random deadlines and removals match a reference heap", () => {
  randomized(1, 0, 100_000);
});

Deno.test("wheel: random run across the 2^31 ms and the 64^6 ms boundaries", () => {
  randomized(2, 2 ** 31 - 3000, 20_000);
  randomized(3, RANGE - 70_000, 20_000);
});

Deno.test("wheel: Wheel used directly, start validation", () => {
  assert.throws(() => new Wheel(-1), RangeError);
  const w = new Wheel(100);
  const e = entry(164);
  w.insert(e);
  assert.equal(w.nextEvent(), 128); // level-1 slot start: a cascade point
  assert.equal(w.earliestDeadline(), 164);
  assert.equal(w.advance(163), 0);
  assert.equal(w.nextEvent(), 164);
  assert.equal(w.advance(164), 1);
  assert.equal(w.elapsed, 164);
});
