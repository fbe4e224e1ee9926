/**
 * The example daemons' write-stall watcher (echo and mini-redis): a connection whose one
 * write has been in progress for its timeout is reported, once, so the daemon can close it — a
 * peer that never reads cannot hold a connection forever.
 *
 * Each connection's write path only marks its writes ({@link WriteWatch.begin} and
 * {@link WriteWatch.end}); a checker looks at every watched connection
 * {@link WRITE_CHECKS_PER_TIMEOUT} times per timeout ({@link WriteStallWatcher.check}). One write
 * is told from the next by the count of writes begun, so a write that completes followed by a
 * new one is never taken for one long write. The watcher counts a write's time from the first
 * check that sees it, so a stalled write is reported between 1 and
 * 1 + 1/{@link WRITE_CHECKS_PER_TIMEOUT} timeouts after it began.
 *
 * Who runs the checks is the daemon's choice: {@link WriteStallWatcher.run} checks while
 * anything is watched and then returns (echo: one checker per isolate, started by the first
 * connection); a daemon can also call `check(now())` from a loop of its own (mini-redis: one
 * task per server, aborted when it stops).
 *
 * @module
 */

import { now, sleep } from "../mod.ts";

/**
 * Checks per write timeout: a stalled write is reported within 1 + 1/WRITE_CHECKS_PER_TIMEOUT
 * timeouts of its start.
 *
 * @example
 * ```ts
 * import { WRITE_CHECKS_PER_TIMEOUT } from "./_write_stall.ts";
 * import assert from "node:assert/strict";
 * assert.equal(WRITE_CHECKS_PER_TIMEOUT, 4);
 * ```
 */
export const WRITE_CHECKS_PER_TIMEOUT = 4;

/** The timeout that means "never": such a watch counts its writes and is never reported. */
const NO_TIMEOUT = 0;

/**
 * One connection's writes, as its write path marks them and the watcher sees them. Made by
 * {@link WriteStallWatcher.watch}.
 *
 * @example
 * ```ts
 * import { WriteStallWatcher } from "./_write_stall.ts";
 * import assert from "node:assert/strict";
 * const w = new WriteStallWatcher().watch(1000, () => {});
 * w.begin();
 * assert.equal(w.writing, true);
 * w.end();
 * assert.equal(w.writing, false);
 * assert.equal(w.started, 1);
 * ```
 */
export class WriteWatch {
  /** How long one write may be in progress before it is reported, ms (0: never). */
  readonly timeoutMs: number;
  /** Called once for each write found in progress for `timeoutMs`. */
  readonly onStall: () => void;
  #writing = false;
  #started = 0;
  /** `#started` at the watcher's last look: the write it saw in progress, or the last one begun. */
  #seenWrite = 0;
  /** When the watcher first saw the write `#seenWrite` in progress, ms. */
  #seenSince = 0;
  /** The write `#seenWrite` has been reported. */
  #reported = false;

  /**
   * A watch with no write yet (a daemon gets one from {@link WriteStallWatcher.watch}).
   *
   * @param timeoutMs how long one write may be in progress, ms (0: never reported)
   * @param onStall called once per stalled write
   */
  constructor(timeoutMs: number, onStall: () => void) {
    this.timeoutMs = timeoutMs;
    this.onStall = onStall;
  }

  /** A write is in progress (between `begin()` and `end()`). */
  get writing(): boolean {
    return this.#writing;
  }

  /** How many writes have begun (one write is told from the next by it). */
  get started(): number {
    return this.#started;
  }

  /** A write begins (call {@link WriteWatch.end} when it has finished or failed). */
  begin(): void {
    this.#writing = true;
    this.#started++;
  }

  /** The write in progress has finished or failed. */
  end(): void {
    this.#writing = false;
  }

  /**
   * The watcher's look at `t`: whether the write in progress is one first seen at least
   * `timeoutMs` before `t` and not yet reported. Internal to {@link WriteStallWatcher.check}.
   *
   * @param t the time of the look, ms
   * @returns true at most once per write
   */
  stalledAt(t: number): boolean {
    if (!this.#writing || this.#started !== this.#seenWrite) {
      this.#seenWrite = this.#started;
      this.#seenSince = t;
      this.#reported = false;
      return false;
    }
    if (this.#reported || t - this.#seenSince < this.timeoutMs) return false;
    this.#reported = true;
    return true;
  }
}

/**
 * The connections of one checker: reports each write in progress for its watch's timeout.
 *
 * Contract: between two calls of {@link WriteStallWatcher.check} at least
 * 1/{@link WRITE_CHECKS_PER_TIMEOUT} of the shortest timeout should pass
 * ({@link WriteStallWatcher.checkEveryMs}); a write is reported (its watch's `onStall` called,
 * once) by the first check at least `timeoutMs` after the first check that saw it in progress.
 * A watch that is not writing, or whose writes each end before that, is never reported.
 *
 * @example
 * ```ts
 * import { WriteStallWatcher } from "./_write_stall.ts";
 * import assert from "node:assert/strict";
 * const watcher = new WriteStallWatcher();
 * const stalled: string[] = [];
 * const slow = watcher.watch(100, () => stalled.push("slow"));
 * const idle = watcher.watch(100, () => stalled.push("idle"));
 * assert.equal(watcher.checkEveryMs(), 25);
 * slow.begin();
 * assert.equal(watcher.check(0), 0); // first seen
 * assert.equal(watcher.check(99), 0);
 * assert.equal(watcher.check(100), 1); // in progress for the timeout
 * assert.equal(watcher.check(200), 0); // reported once
 * assert.deepEqual(stalled, ["slow"]);
 * watcher.unwatch(slow);
 * watcher.unwatch(idle);
 * assert.equal(watcher.size, 0);
 * ```
 */
export class WriteStallWatcher {
  readonly #watches: Set<WriteWatch> = new Set();

  /** How many connections are watched. */
  get size(): number {
    return this.#watches.size;
  }

  /**
   * Watch one connection's writes.
   *
   * @param timeoutMs how long one write may be in progress, ms (0: never; the watch is not
   *   kept, but still counts its writes)
   * @param onStall called once for each write in progress for `timeoutMs` (close the
   *   connection here; it should not throw)
   * @returns the watch its write path marks; {@link WriteStallWatcher.unwatch} it when the
   *   connection ends
   * @throws {RangeError} when `timeoutMs` is not a finite number >= 0
   *
   * @example
   * ```ts
   * import { WriteStallWatcher } from "./_write_stall.ts";
   * import assert from "node:assert/strict";
   * const watcher = new WriteStallWatcher();
   * const w = watcher.watch(0, () => {}); // no timeout
   * assert.equal(watcher.size, 0);
   * w.begin();
   * assert.equal(w.writing, true);
   * assert.throws(() => watcher.watch(-1, () => {}), RangeError);
   * ```
   */
  watch(timeoutMs: number, onStall: () => void): WriteWatch {
    if (!Number.isFinite(timeoutMs) || timeoutMs < NO_TIMEOUT) {
      throw new RangeError(`watch: timeoutMs must be a finite number >= 0, got ${timeoutMs}`);
    }
    const w = new WriteWatch(timeoutMs, onStall);
    if (timeoutMs !== NO_TIMEOUT) this.#watches.add(w);
    return w;
  }

  /**
   * Stop watching (the connection has ended); a watch not watched is ignored.
   *
   * @param w the watch {@link WriteStallWatcher.watch} returned
   *
   * @example
   * ```ts
   * import { WriteStallWatcher } from "./_write_stall.ts";
   * import assert from "node:assert/strict";
   * const watcher = new WriteStallWatcher();
   * const w = watcher.watch(50, () => {});
   * watcher.unwatch(w);
   * watcher.unwatch(w);
   * assert.equal(watcher.size, 0);
   * ```
   */
  unwatch(w: WriteWatch): void {
    this.#watches.delete(w);
  }

  /**
   * How long to wait between checks: the shortest watched timeout / WRITE_CHECKS_PER_TIMEOUT.
   *
   * @returns ms; Infinity when nothing is watched
   *
   * @example
   * ```ts
   * import { WriteStallWatcher } from "./_write_stall.ts";
   * import assert from "node:assert/strict";
   * const watcher = new WriteStallWatcher();
   * assert.equal(watcher.checkEveryMs(), Infinity);
   * watcher.watch(400, () => {});
   * watcher.watch(200, () => {});
   * assert.equal(watcher.checkEveryMs(), 50);
   * ```
   */
  checkEveryMs(): number {
    let shortest = Infinity;
    for (const w of this.#watches) shortest = Math.min(shortest, w.timeoutMs);
    return shortest / WRITE_CHECKS_PER_TIMEOUT;
  }

  /**
   * One check: report (call `onStall` of) each watch whose write has been in progress since a
   * check at least its timeout before `t` and has not been reported yet.
   *
   * @param t the time of the check, ms, on a clock that does not go back (`now()`)
   * @returns how many writes were reported
   *
   * @example
   * ```ts
   * import { WriteStallWatcher } from "./_write_stall.ts";
   * import assert from "node:assert/strict";
   * const watcher = new WriteStallWatcher();
   * const w = watcher.watch(100, () => {});
   * w.begin();
   * watcher.check(0);
   * w.end();
   * w.begin(); // a new write: its time starts at the next check
   * assert.equal(watcher.check(100), 0);
   * assert.equal(watcher.check(200), 1);
   * ```
   */
  check(t: number): number {
    let reported = 0;
    for (const w of this.#watches) {
      if (!w.stalledAt(t)) continue;
      reported++;
      w.onStall();
    }
    return reported;
  }

  /**
   * Check every {@link WriteStallWatcher.checkEveryMs} at `now()` while anything is watched;
   * returns once nothing is (after the sleep in progress then).
   *
   * @returns the checker's task body
   *
   * @example
   * ```ts
   * import { run, sleep } from "../mod.ts";
   * import { WriteStallWatcher } from "./_write_stall.ts";
   * import assert from "node:assert/strict";
   * const watcher = new WriteStallWatcher();
   * let stalls = 0;
   * const w = watcher.watch(40, () => {
   *   stalls++;
   *   watcher.unwatch(w); // the daemon closes the connection; it leaves the watcher
   * });
   * w.begin(); // and never ends
   * await run(function* () {
   *   yield* watcher.run(); // returns once w is unwatched
   * });
   * assert.equal(stalls, 1);
   * ```
   */
  *run(): Generator<unknown, void, unknown> {
    while (this.#watches.size > 0) {
      yield* sleep(this.checkEveryMs());
      this.check(now());
    }
  }
}
