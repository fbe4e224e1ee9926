/**
 * The clock a time driver reads: milliseconds since the driver started,
 * either real (from `performance.now()`) or paused (virtual, as Tokio's
 * `test-util`: it moves only by `advance()` or the scheduler's auto-advance).
 *
 * Invariant: `now()` never decreases — pausing freezes it (rounded up to
 * the ms), resuming continues from the frozen value, advancing only moves it
 * forward.
 *
 * @module
 */

/**
 * Options for {@linkcode Clock}.
 *
 * @example
 * ```ts
 * import type { ClockOptions } from "../../mod.ts";
 * const opts: ClockOptions = { paused: true };
 * ```
 */
export interface ClockOptions {
  /** Start paused at 0 ms (deterministic tests). Default false. */
  paused?: boolean;
  /**
   * The monotonic time source in ms (default `performance.now()`, ~100 ns a
   * call here). A runtime may plug a cheaper one, e.g. `clock_gettime`
   * through FFI (~40 ns). It must never decrease.
   */
  source?: () => number;
}

const defaultSource = (): number => performance.now();

/**
 * A monotonic millisecond clock that can be paused and advanced by hand.
 *
 * @example
 * ```ts
 * import { Clock } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const clock = new Clock({ paused: true });
 * clock.advance(250);
 * assert.equal(clock.now(), 250);
 * ```
 */
export class Clock {
  #source: () => number;
  #origin: number;
  #paused: boolean;
  #frozen: number;

  /**
   * A clock reading 0 now; paused if `options.paused`.
   *
   * @param options `paused` to start paused; `source` for the real time.
   * @throws {TypeError} when `options.source` is not a function.
   */
  constructor(options?: ClockOptions) {
    const source = options?.source ?? defaultSource;
    if (typeof source !== "function") throw new TypeError("Clock: source must be a function");
    this.#source = source;
    this.#origin = source();
    this.#paused = options?.paused === true;
    this.#frozen = 0;
  }

  /**
   * Milliseconds since the clock was made (fractional on a real clock).
   *
   * @returns the milliseconds since the clock was made.
   */
  now(): number {
    return this.#paused ? this.#frozen : this.#source() - this.#origin;
  }

  /** True while time is frozen. */
  get isPaused(): boolean {
    return this.#paused;
  }

  /**
   * Freeze time, rounded up to a whole ms (so that on a paused clock
   * `sleep(n)` then `advance(n)` fires it: no fractional offset is left).
   * Pausing a paused clock does nothing.
   */
  pause(): void {
    if (this.#paused) return;
    this.#frozen = Math.ceil(this.#source() - this.#origin);
    this.#paused = true;
  }

  /** Let time run again from the frozen value (no jump). No-op when running. */
  resume(): void {
    if (!this.#paused) return;
    this.#origin = this.#source() - this.#frozen;
    this.#paused = false;
  }

  /**
   * Move time forward by `ms` (finite, `>= 0`). On a running clock this
   * shifts it ahead too. Timers are not fired here: the driver fires them
   * at its next `process()`.
   *
   * @param ms how far to move, in milliseconds.
   * @throws {TypeError} when `ms` is not a number.
   * @throws {RangeError} when `ms` is negative or not finite.
   */
  advance(ms: number): void {
    if (typeof ms !== "number") {
      throw new TypeError(`advance: ms must be a number, got ${typeof ms}`);
    }
    if (!(ms >= 0) || ms === Infinity) {
      throw new RangeError(`advance: ms must be a finite number >= 0, got ${ms}`);
    }
    if (this.#paused) this.#frozen += ms;
    else this.#origin -= ms;
  }

  /**
   * Move time forward to `instant` (a value of `now()`); does nothing if
   * the clock already reads at or past it.
   *
   * @param instant the reading to move to.
   * @throws {RangeError} when `instant` is not a number.
   */
  advanceTo(instant: number): void {
    if (typeof instant !== "number" || Number.isNaN(instant)) {
      throw new RangeError(`advanceTo: instant must be a number, got ${instant}`);
    }
    const now = this.now();
    if (!(instant > now) || instant === Infinity) return;
    if (this.#paused) this.#frozen = instant;
    else this.#origin -= instant - now;
  }
}
