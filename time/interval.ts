/**
 * `interval(period)`: ticks every `period` ms, the first one at once (or at
 * `startAt`), with Tokio's three policies for ticks missed because the
 * task was late to ask:
 *
 * - `"burst"` (default): the schedule is fixed (`start + k·period`); missed
 *   ticks complete back to back until the interval has caught up.
 * - `"delay"`: the next tick is one period after the late tick was taken;
 *   the schedule shifts.
 * - `"skip"`: missed ticks are dropped; the next tick is the next point of
 *   the original schedule (`start + k·period`) after now.
 *
 * A tick taken less than `min(5, period)` ms late counts as on time (timer
 * and scheduling jitter must not shift a "delay" schedule).
 *
 * Invariant: `tick()` never completes before the instant it returns (the
 * instant the tick was scheduled for), and returned instants strictly
 * increase. The interval owns one timer entry; tick it from one task at a
 * time.
 *
 * @module
 */

import { Leaf, type Operation, PENDING, type Poll } from "../runtime/operation.ts";
import { currentCore, tryCurrentCore } from "../runtime/scheduler/context.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { arm, disarm, Sleep } from "./sleep.ts";
import { IDLE } from "../runtime/time/wheel.ts";

/**
 * What an {@linkcode Interval} does about ticks it missed.
 *
 * @example
 * ```ts
 * import type { MissedTickBehavior } from "../mod.ts";
 * const b: MissedTickBehavior = "skip";
 * ```
 */
export type MissedTickBehavior = "burst" | "delay" | "skip";

/**
 * Options for {@linkcode interval}.
 *
 * @example
 * ```ts
 * import type { IntervalOptions } from "../mod.ts";
 * const opts: IntervalOptions = { missedTick: "delay" };
 * ```
 */
export interface IntervalOptions {
  /** Policy for missed ticks. Default `"burst"`. */
  missedTick?: MissedTickBehavior;
  /** Instant (a value of `now()`) of the first tick. Default: now. */
  startAt?: number;
}

/** `#pending` values: how to (re)start the schedule at the next tick poll. */
const START_NONE = 0;
const START_NOW = 1;
const START_AFTER_PERIOD = 2;

// Set by Interval's static block: access to its private state for Tick only.
let pollTick: (iv: Interval, waker: Waker) => Poll<number>;
let cancelTick: (iv: Interval) => void;

/**
 * A periodic timer. `yield* iv.tick()` waits for the next tick and returns
 * the instant it was scheduled for.
 *
 * @example
 * ```ts
 * import { interval, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 * // A paused clock jumps to each tick at once: three ticks 1000 ms apart.
 * const ticks = await run(function* () {
 *   const iv = interval(1000);
 *   const at: number[] = [];
 *   for (let i = 0; i < 3; i++) at.push(yield* iv.tick()); // the first tick at once
 *   return at;
 * }, { startPaused: true });
 * assert.deepEqual([ticks[1] - ticks[0], ticks[2] - ticks[1]], [1000, 1000]);
 * ```
 */
export class Interval {
  /** Milliseconds between ticks. */
  readonly period: number;
  /** The missed-tick policy. */
  readonly missedTick: MissedTickBehavior;
  #next: number;
  #pending: number;
  #timer: Sleep;

  /**
   * Internal: use {@linkcode interval}.
   *
   * @param period milliseconds between ticks.
   * @param missedTick the missed-tick policy.
   * @param startAt the first tick's instant, or undefined for now.
   */
  constructor(period: number, missedTick: MissedTickBehavior, startAt: number | undefined) {
    this.period = period;
    this.missedTick = missedTick;
    this.#timer = new Sleep(0, IDLE);
    this.#pending = START_NONE;
    this.#next = 0;
    if (startAt !== undefined) {
      this.#next = startAt;
    } else {
      const core = tryCurrentCore();
      if (core === null) this.#pending = START_NOW;
      else this.#next = core.time.now();
    }
  }

  /**
   * Wait for the next tick; returns the instant it was scheduled for.
   * Completes without suspending when that instant has already come.
   *
   * @returns an operation (also awaitable) giving the instant the tick was scheduled for.
   */
  tick(): Operation<number> & PromiseLike<number> {
    return new Tick(this);
  }

  /** Restart the schedule: the next tick comes one period from now. */
  reset(): void {
    const core = tryCurrentCore();
    if (core === null) {
      this.#pending = START_AFTER_PERIOD;
    } else {
      this.#pending = START_NONE;
      this.#next = core.time.now() + this.period;
    }
  }

  static {
    pollTick = (iv, waker) => iv.#pollTick(waker);
    cancelTick = (iv) => disarm(iv.#timer);
  }

  #pollTick(waker: Waker): Poll<number> {
    const time = currentCore().time;
    const now = time.now();
    if (this.#pending !== START_NONE) {
      this.#next = this.#pending === START_NOW ? now : now + this.period;
      this.#pending = START_NONE;
    }
    const scheduled = this.#next;
    const timer = this.#timer;
    if (now >= scheduled) {
      disarm(timer);
      this.#next = this.#following(scheduled, now);
      return scheduled;
    }
    const deadline = Math.ceil(scheduled);
    if (timer.pos >= 0 && timer.deadline === deadline) {
      timer.waker = waker;
      return PENDING;
    }
    disarm(timer);
    timer.deadline = deadline;
    timer.pos = IDLE;
    arm(timer, waker);
    return PENDING;
  }

  /** When the tick after one scheduled at `scheduled` and taken at `now` is due. */
  #following(scheduled: number, now: number): number {
    const period = this.period;
    const late = now - scheduled;
    if (late < Math.min(5, period) || this.missedTick === "burst") return scheduled + period;
    if (this.missedTick === "delay") return now + period;
    return now + period - (late % period);
  }
}

/** One `tick()` call: a leaf polling its interval. */
class Tick extends Leaf<number> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "interval";
  }

  #interval: Interval;

  constructor(interval: Interval) {
    super();
    this.#interval = interval;
  }

  protected poll(waker: Waker): Poll<number> {
    return pollTick(this.#interval, waker);
  }

  protected cancel(): void {
    cancelTick(this.#interval);
  }
}

const BEHAVIORS: readonly string[] = ["burst", "delay", "skip"];

/**
 * Make an interval ticking every `periodMs` (finite, `> 0`). The first tick
 * completes at once (or at `options.startAt`).
 *
 * @param periodMs milliseconds between ticks.
 * @param options `missedTick` policy and `startAt` instant.
 * @returns the interval.
 * @throws {RangeError} when `periodMs <= 0`, NaN or infinite, or `startAt`
 *   is not finite.
 * @throws {TypeError} when `missedTick` is not "burst", "delay" or "skip".
 * @example
 * ```ts
 * import { interval, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const n = await run(function* () {
 *   const iv = interval(100, { missedTick: "skip" });
 *   let ticks = 0;
 *   for (let i = 0; i < 3; i++, ticks++) yield* iv.tick();
 *   return ticks;
 * }, { startPaused: true });
 * assert.equal(n, 3);
 * assert.throws(() => interval(0), RangeError);
 * ```
 */
export function interval(periodMs: number, options?: IntervalOptions): Interval {
  if (typeof periodMs !== "number") {
    throw new TypeError(`interval: period must be a number, got ${typeof periodMs}`);
  }
  if (!(periodMs > 0) || periodMs === Infinity) {
    throw new RangeError(`interval: period must be a finite number > 0, got ${periodMs}`);
  }
  const missedTick = options?.missedTick ?? "burst";
  if (!BEHAVIORS.includes(missedTick)) {
    throw new TypeError(
      `interval: missedTick must be "burst", "delay" or "skip", got ${String(missedTick)}`,
    );
  }
  const startAt = options?.startAt;
  if (startAt !== undefined && (typeof startAt !== "number" || !Number.isFinite(startAt))) {
    throw new RangeError(`interval: startAt must be a finite number, got ${startAt}`);
  }
  return new Interval(periodMs, missedTick, startAt);
}
