/**
 * Time operations driven by hand: a fake task (waker) and a paused clock,
 * the context set with `enter()`, iterators resumed with `next()` — then a
 * few end-to-end runs through `run()` with a paused clock.
 */

import assert from "node:assert/strict";
import { type Core, enter } from "../runtime/scheduler/context.ts";
import type { Operation } from "../runtime/operation.ts";
import { run, spawn } from "../runtime/runtime.ts";
import { Clock } from "../runtime/time/clock.ts";
import { TimeDriver } from "../runtime/time/time_driver.ts";
import { interval, type MissedTickBehavior } from "../time/interval.ts";
import { now, sleep, sleepUntil } from "../time/sleep.ts";
import { timeout } from "../time/timeout.ts";
import { time } from "../time/clock_control.ts";

class FakeTask {
  woken = 0;
  wake(): void {
    this.woken++;
  }
}

interface Harness {
  driver: TimeDriver;
  task: FakeTask;
  /** Run `fn` with the fake task and driver as the current context. */
  poll<R>(fn: () => R): R;
  /** Advance the paused clock and fire what is due. */
  advance(ms: number): number;
}

/** A worker core with a time driver only: no I/O, no spawning (the timer tests poll by hand). */
function timeOnlyCore(time: TimeDriver): Core {
  return {
    time,
    io: null,
    closed: false,
    openIo: () => Promise.reject(new Error("no I/O in this test")),
    spawn: () => {
      throw new Error("no spawning in this test");
    },
  };
}

function harness(): Harness {
  const driver = new TimeDriver(new Clock({ paused: true }));
  const task = new FakeTask();
  return {
    driver,
    task,
    poll<R>(fn: () => R): R {
      enter(task, timeOnlyCore(driver));
      try {
        return fn();
      } finally {
        enter(null, null);
      }
    },
    advance(ms: number): number {
      driver.clock.advance(ms);
      return driver.process();
    },
  };
}

function iter<T>(op: Operation<T>): Iterator<unknown, T, unknown> {
  return op[Symbol.iterator]();
}

Deno.test("sleep: suspends, fires at its deadline, completes on the next resume", () => {
  const h = harness();
  const it = h.poll(() => iter(sleep(10)));
  assert.equal(h.poll(() => it.next()).done, false);
  assert.equal(h.driver.size, 1);
  assert.equal(h.driver.nextTimeout(), 10);
  assert.equal(h.advance(9), 0);
  assert.equal(h.task.woken, 0);
  assert.equal(h.poll(() => it.next()).done, false); // spurious re-poll keeps one registration
  assert.equal(h.driver.size, 1);
  assert.equal(h.advance(1), 1);
  assert.equal(h.task.woken, 1);
  assert.equal(h.driver.size, 0);
  const r = h.poll(() => it.next());
  assert.equal(r.done, true);
  assert.equal(r.value, undefined);
});

Deno.test("sleep(0) yields once and completes at the next process()", () => {
  const h = harness();
  const it = h.poll(() => iter(sleep(0)));
  assert.equal(h.poll(() => it.next()).done, false);
  assert.equal(h.driver.nextTimeout(), 0);
  assert.equal(h.driver.process(), 1); // no time passes
  assert.equal(h.task.woken, 1);
  assert.equal(h.poll(() => it.next()).done, true);
});

Deno.test("sleep: fractional ms round up; the deadline is fixed when sleep() is called", () => {
  const h = harness();
  const frac = h.poll(() => iter(sleep(1.5)));
  h.poll(() => frac.next());
  assert.equal(h.advance(1.9), 0);
  assert.equal(h.advance(0.1), 1); // at 2.0
  // Made at t=2 inside the runtime, first polled at t=7: due at 12, not 17.
  const early = h.poll(() => iter(sleep(10)));
  h.advance(5);
  h.poll(() => early.next());
  assert.equal(h.advance(4), 0); // t=11
  assert.equal(h.advance(1), 1); // t=12
  // Made outside any runtime: resolved against the clock at first poll (t=12 → 22).
  const outside = iter(sleep(10));
  h.advance(3);
  h.poll(() => outside.next()); // t=15 → due 25
  assert.equal(h.advance(9), 0);
  assert.equal(h.advance(1), 1);
  assert.equal(h.poll(() => outside.next()).done, true);
});

Deno.test("sleep: cancelling a pending sleep unlinks its timer", () => {
  const h = harness();
  const its = h.poll(() => [iter(sleep(5)), iter(sleep(5000)), iter(sleep(5))]);
  for (const it of its) h.poll(() => it.next());
  assert.equal(h.driver.size, 3);
  assert.deepEqual(its[1].return!(), { done: true, value: undefined });
  assert.equal(h.driver.size, 2);
  its[0].return!();
  assert.equal(h.driver.size, 1);
  assert.equal(h.advance(10000), 1);
  assert.equal(h.task.woken, 1);
});

Deno.test("sleep/sleepUntil: bad arguments throw at the call", () => {
  assert.throws(() => sleep(-1), RangeError);
  assert.throws(() => sleep(NaN), RangeError);
  assert.throws(() => sleep(Infinity), RangeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => sleep("5" as any), TypeError);
  assert.throws(() => sleepUntil(NaN), RangeError);
  assert.throws(() => sleepUntil(-Infinity), RangeError);
  assert.throws(() => timeout(-5, sleep(1)), RangeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => timeout(5, 42 as any), TypeError);
  assert.throws(() => interval(0), RangeError);
  assert.throws(() => interval(-3), RangeError);
  assert.throws(() => interval(NaN), RangeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => interval(10, { missedTick: "never" as any }), TypeError);
  assert.throws(() => interval(10, { startAt: NaN }), RangeError);
  assert.throws(() => time.advance(-1), RangeError);
});

Deno.test("sleepUntil and now(): instants on the runtime's clock", () => {
  const h = harness();
  h.advance(100);
  assert.equal(h.poll(() => now()), 100);
  assert.ok(now() > 0); // performance.now() outside
  const it = iter(sleepUntil(130.2));
  h.poll(() => it.next());
  assert.equal(h.advance(30.5), 0); // 130.5 floors to 130 < 131
  assert.equal(h.advance(0.5), 1);
  const past = iter(sleepUntil(3));
  assert.equal(h.poll(() => past.next()).done, false); // still yields once
  assert.equal(h.driver.process(), 1);
  assert.equal(h.poll(() => past.next()).done, true);
});

function* sleeps(log: string[], n: number, ms: number, value: number): Generator<unknown, number> {
  try {
    for (let i = 0; i < n; i++) {
      yield* sleep(ms);
      log.push(`slept ${i}`);
    }
    return value;
  } finally {
    log.push("finally");
  }
}

/** Drive `it` on a paused clock until it finishes; returns its value or throws. */
function drive<T>(h: Harness, it: Iterator<unknown, T, unknown>, maxSteps = 100): T {
  for (let i = 0; i < maxSteps; i++) {
    const r = h.poll(() => it.next());
    if (r.done) return r.value;
    if (h.task.woken === 0) {
      assert.ok(h.driver.autoAdvance(), "a pending operation with no timer would hang");
    }
    h.task.woken = 0;
    h.driver.process();
  }
  throw new Error("did not finish");
}

Deno.test("timeout: the op's value when it finishes first; its timer is removed", () => {
  const h = harness();
  const log: string[] = [];
  const it = h.poll(() => iter(timeout(100, sleeps(log, 3, 10, 7))));
  assert.equal(h.poll(() => it.next()).done, false);
  assert.equal(h.driver.size, 2); // the inner sleep and the deadline
  assert.equal(drive(h, it), 7);
  assert.equal(h.driver.now(), 30);
  assert.deepEqual(log, ["slept 0", "slept 1", "slept 2", "finally"]);
  assert.equal(h.driver.size, 0);
  // Finishing without suspending never arms the timer.
  // deno-lint-ignore require-yield
  function* instant(): Generator<never, string> {
    return "now";
  }
  assert.equal(drive(h, h.poll(() => iter(timeout(0, instant())))), "now");
  assert.equal(h.driver.size, 0);
});

Deno.test("timeout: the deadline wins → op's finally runs, then TimeoutError", () => {
  const h = harness();
  const log: string[] = [];
  const it = h.poll(() => iter(timeout(25, sleeps(log, 3, 10, 7))));
  let err: unknown;
  try {
    drive(h, it);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DOMException);
  assert.equal((err as DOMException).name, "TimeoutError");
  assert.deepEqual(log, ["slept 0", "slept 1", "finally"]);
  assert.equal(h.driver.now(), 25);
  assert.equal(h.driver.size, 0); // the inner sleep was cancelled too
});

Deno.test("timeout: a tie goes to the op (it is resumed first)", () => {
  const h = harness();
  const it = h.poll(() => iter(timeout(10, sleeps([], 1, 10, 1))));
  assert.equal(drive(h, it), 1);
});

Deno.test("timeout: an op whose finally suspends is finished before the error", () => {
  const h = harness();
  const log: string[] = [];
  function* stubborn(): Generator<unknown, number> {
    try {
      yield* sleep(1000);
      return 1;
    } finally {
      yield* sleep(5);
      log.push("cleaned up");
    }
  }
  const it = h.poll(() => iter(timeout(10, stubborn())));
  assert.throws(() => drive(h, it), (e: Error) => e.name === "TimeoutError");
  assert.deepEqual(log, ["cleaned up"]);
  assert.equal(h.driver.now(), 15);
  assert.equal(h.driver.size, 0);
});

Deno.test("timeout: cancelled from outside → op's finally runs, timer removed", () => {
  const h = harness();
  const log: string[] = [];
  const it = h.poll(() => iter(timeout(50, sleeps(log, 3, 10, 7))));
  h.poll(() => it.next());
  assert.equal(h.driver.size, 2);
  const r = h.poll(() => it.return!(undefined));
  assert.equal(r.done, true);
  assert.deepEqual(log, ["finally"]);
  assert.equal(h.driver.size, 0);
  assert.throws(() => it.next(), TypeError); // single use
});

Deno.test("timeout: an error thrown by the op passes through and removes the timer", () => {
  const h = harness();
  function* failing(): Generator<unknown, number> {
    yield* sleep(5);
    throw new Error("boom");
  }
  const it = h.poll(() => iter(timeout(50, failing())));
  assert.throws(() => drive(h, it), /boom/);
  assert.equal(h.driver.size, 0);
});

/** Take one tick: returns [scheduled instant, whether it suspended]. */
function tickNow(h: Harness, iv: ReturnType<typeof interval>): number | "pending" {
  const it = h.poll(() => iter(iv.tick()));
  const r = h.poll(() => it.next());
  if (r.done) return r.value;
  h.poll(() => it.return!(undefined));
  return "pending";
}

function ticksAfterMiss(behavior: MissedTickBehavior): number[] {
  const h = harness();
  const iv = h.poll(() => interval(10, { missedTick: behavior }));
  const seen: number[] = [];
  seen.push(tickNow(h, iv) as number); // first tick at once: 0
  h.advance(35); // ticks at 10, 20, 30 missed
  for (let i = 0; i < 5; i++) {
    const it = h.poll(() => iter(iv.tick()));
    seen.push(drive(h, it));
  }
  return seen;
}

Deno.test("interval: first tick at once, then every period", () => {
  const h = harness();
  const iv = h.poll(() => interval(10));
  assert.equal(iv.period, 10);
  assert.equal(tickNow(h, iv), 0);
  const it = h.poll(() => iter(iv.tick()));
  assert.equal(h.poll(() => it.next()).done, false);
  assert.equal(h.advance(9), 0);
  assert.equal(h.advance(1), 1);
  assert.deepEqual(h.poll(() => it.next()), { done: true, value: 10 });
  // A cancelled pending tick removes its timer.
  const it2 = h.poll(() => iter(iv.tick()));
  h.poll(() => it2.next());
  assert.equal(h.driver.size, 1);
  h.poll(() => it2.return!(undefined));
  assert.equal(h.driver.size, 0);
});

Deno.test("interval: missed ticks — burst catches up back to back", () => {
  assert.deepEqual(ticksAfterMiss("burst"), [0, 10, 20, 30, 40, 50]);
});

Deno.test("interval: missed ticks — delay restarts one period after the late tick", () => {
  assert.deepEqual(ticksAfterMiss("delay"), [0, 10, 45, 55, 65, 75]);
});

Deno.test("interval: missed ticks — skip goes to the next point of the schedule", () => {
  assert.deepEqual(ticksAfterMiss("skip"), [0, 10, 40, 50, 60, 70]);
});

Deno.test("interval: burst ticks complete without suspending; startAt and reset", () => {
  const h = harness();
  const iv = h.poll(() => interval(10));
  tickNow(h, iv);
  h.advance(35);
  assert.equal(tickNow(h, iv), 10);
  assert.equal(tickNow(h, iv), 20);
  assert.equal(tickNow(h, iv), 30);
  assert.equal(tickNow(h, iv), "pending");
  h.poll(() => iv.reset()); // now 35 → next at 45
  const it = h.poll(() => iter(iv.tick()));
  assert.equal(drive(h, it), 45);
  const later = h.poll(() => interval(5, { startAt: 100 }));
  assert.equal(tickNow(h, later), "pending");
  const it2 = h.poll(() => iter(later.tick()));
  assert.equal(drive(h, it2), 100);
  assert.equal(h.driver.now(), 100);
});

Deno.test("time control: pause, advance fires due timers and yields once", () => {
  const driver = new TimeDriver(new Clock());
  const task = new FakeTask();
  enter(task, timeOnlyCore(driver));
  try {
    time.pause();
    assert.ok(time.isPaused());
    const t0 = driver.now();
    const s = iter(sleep(100));
    s.next();
    const adv = iter(time.advance(100));
    assert.equal(adv.next().done, false); // yields once…
    assert.equal(driver.now(), t0 + 100);
    assert.equal(driver.size, 0); // …after firing the sleep
    assert.equal(task.woken, 2); // the sleep's wake and advance's own
    assert.equal(adv.next().done, true);
    assert.equal(s.next().done, true);
    time.resume();
    assert.ok(!time.isPaused());
  } finally {
    enter(null, null);
  }
  assert.throws(() => time.pause(), /no runtime/);
});

// ---- end to end through run() with a paused clock ----

Deno.test("run: a paused clock auto-advances through sleeps deterministically", async () => {
  const wall = performance.now();
  const order: string[] = [];
  const result = await run(function* () {
    const start = now();
    const a = spawn(function* () {
      yield* sleep(60_000);
      order.push("a");
      return now() - start;
    });
    const b = spawn(function* () {
      yield* sleep(1_000);
      order.push("b");
      return now() - start;
    });
    return [yield* a, yield* b];
  }, { startPaused: true, enableIo: false });
  assert.deepEqual(result, [60_000, 1_000]);
  assert.deepEqual(order, ["b", "a"]);
  assert.ok(performance.now() - wall < 5_000, "virtual time, not real time");
});

Deno.test("run: timeout and interval end to end on a paused clock", async () => {
  const out = await run(function* () {
    const start = now();
    let timedOut = "";
    try {
      yield* timeout(500, sleep(10_000));
    } catch (e) {
      timedOut = (e as Error).name;
    }
    const iv = interval(100);
    const ticks: number[] = [];
    for (let i = 0; i < 4; i++) ticks.push((yield* iv.tick()) - start);
    const v = yield* timeout(1000, sleep(10));
    return { timedOut, ticks, v, elapsed: now() - start };
  }, { startPaused: true, enableIo: false });
  assert.equal(out.timedOut, "TimeoutError");
  assert.deepEqual(out.ticks, [500, 600, 700, 800]);
  assert.equal(out.v, undefined);
  assert.equal(out.elapsed, 810);
});

Deno.test("run: a real-clock sleep is never early", async () => {
  const elapsed = await run(function* () {
    const t0 = performance.now();
    yield* sleep(15);
    return performance.now() - t0;
  }, { enableIo: false });
  assert.ok(elapsed >= 15, `slept ${elapsed} ms`);
});

Deno.test("await sleep() outside a task", async () => {
  const t0 = performance.now();
  await sleep(5);
  assert.ok(performance.now() - t0 >= 5);
});
