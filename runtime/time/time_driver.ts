/**
 * The per-worker time driver: a {@linkcode Wheel} read against a
 * {@linkcode Clock}. The scheduler asks it how long it may park
 * (`nextTimeout`), fires due timers (`process`) and, on a paused clock,
 * jumps time to the next deadline when nothing else can run (`autoAdvance`).
 *
 * Invariant: a timer fires at the first `process()` whose clock reading
 * (floored to the ms) is at or past its deadline — never before it.
 *
 * @module
 */

import { Clock } from "./clock.ts";
import { type TimerEntry, Wheel } from "./wheel.ts";

export type { TimerEntry } from "./wheel.ts";

/** Longest wait `nextTimeout` reports: `setTimeout`'s and a C int's limit. */
const MAX_WAIT = 2147483647;

/**
 * A worker's timers and clock.
 *
 * @example
 * ```ts
 * import { TimeDriver } from "../../mod.ts";
 * import { Clock } from "../../mod.ts";
 * import { IDLE, type TimerEntry } from "./wheel.ts";
 * import assert from "node:assert/strict";
 * const driver = new TimeDriver(new Clock({ paused: true }));
 * let woken = false;
 * const e: TimerEntry = {
 *   deadline: 10, linkPrev: null, linkNext: null, pos: IDLE, waker: { wake: () => (woken = true) },
 * };
 * driver.insert(e);
 * assert.equal(driver.nextTimeout(), 10);
 * driver.clock.advance(10);
 * assert.equal(driver.process(), 1);
 * assert.ok(woken);
 * ```
 */
export class TimeDriver {
  /** The clock timers are measured against. */
  readonly clock: Clock;
  #wheel: Wheel;

  /**
   * A driver on `clock` (default: a new real-time clock).
   *
   * @param clock the clock the driver reads.
   */
  constructor(clock?: Clock) {
    this.clock = clock ?? new Clock();
    const start = Math.floor(this.clock.now());
    this.#wheel = new Wheel(start > 0 ? start : 0);
  }

  /**
   * The current time in ms on this driver's clock.
   *
   * @returns the current time in milliseconds.
   */
  now(): number {
    return this.clock.now();
  }

  /** Pending timers. */
  get size(): number {
    return this.#wheel.size;
  }

  /**
   * Register `entry` to fire at `entry.deadline` (ms on this clock; rounded
   * up to an integer). A deadline at or before the last `process()` fires at
   * the next one. Re-inserting a linked entry moves it.
   *
   * @param entry the timer to register.
   * @throws {RangeError} when the entry's deadline is NaN.
   */
  insert(entry: TimerEntry): void {
    const d = entry.deadline;
    if (d !== (d | 0)) {
      if (Number.isNaN(d)) throw new RangeError("timer deadline is NaN");
      entry.deadline = Math.ceil(d);
    }
    this.#wheel.insert(entry);
  }

  /**
   * Unregister `entry`; a no-op when it is not pending.
   *
   * @param entry the timer to unregister.
   */
  remove(entry: TimerEntry): void {
    this.#wheel.remove(entry);
  }

  /**
   * Milliseconds until the earliest pending timer could fire (0 when one is
   * due now), or -1 when none is pending. Cheap: O(levels). May return
   * less than the true wait (a slot's start, or at most 2^31-1 ms so it
   * fits `setTimeout` and a C `int`) — parking that long and calling
   * `process()` again is always correct.
   *
   * @returns milliseconds to wait, 0 when a timer is due, or -1 when none is pending.
   */
  nextTimeout(): number {
    const t = this.#wheel.nextEvent();
    if (t < 0) return -1;
    const d = t - this.clock.now();
    if (d <= 0) return 0;
    return d < MAX_WAIT ? Math.ceil(d) : MAX_WAIT;
  }

  /**
   * Fire every timer due at `clock.now()`; returns how many fired.
   *
   * @returns how many timers fired.
   */
  process(): number {
    return this.#wheel.advance(Math.floor(this.clock.now()));
  }

  /**
   * On a paused clock with a timer pending, move the clock to the earliest
   * deadline (if it is not already there) and return true; otherwise false.
   * Fires nothing: call `process()` next.
   *
   * @returns true when the clock moved to a pending deadline.
   */
  autoAdvance(): boolean {
    if (!this.clock.isPaused || this.#wheel.size === 0) return false;
    const t = this.#wheel.earliestDeadline();
    if (t === Infinity) return false;
    this.clock.advanceTo(t);
    return true;
  }
}
