/**
 * Time: `sleep`, `sleepUntil`, `now`, `timeout`, `interval`, the test clock
 * control `time`, and (for runtime builders) the per-worker `TimeDriver`
 * with its `Clock` — a hierarchical timer wheel of 6 levels × 64 slots at
 * 1 ms resolution with O(1) insert and cancel.
 *
 * Invariant: no timer completes before its deadline.
 *
 * @example
 * ```ts
 * import { interval, sleep, timeout } from "./mod.ts";
 * import { run } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const v = await run(function* () {
 *   yield* sleep(10);
 *   const v = yield* timeout(100, (function* () {
 *     yield* sleep(5);
 *     return 42;
 *   })());
 *   const iv = interval(50);
 *   yield* iv.tick();
 *   return v;
 * });
 * assert.equal(v, 42);
 * ```
 *
 * @module
 */

export { now, Sleep, sleep, sleepUntil } from "./sleep.ts";
export { Timeout, timeout } from "./timeout.ts";
export { Interval, interval, type IntervalOptions, type MissedTickBehavior } from "./interval.ts";
export { time, type TimeControl } from "./clock_control.ts";
export { Clock, type ClockOptions } from "../runtime/time/clock.ts";
export { TimeDriver } from "../runtime/time/time_driver.ts";
export type { TimerEntry } from "../runtime/time/wheel.ts";
