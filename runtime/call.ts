/**
 * `call(promise)`: wait for a promise inside a task.
 *
 * Invariant: the task is woken exactly when the promise settles; if the task
 * is cancelled first, the settlement is ignored and, for a factory call, the
 * AbortSignal handed to the factory is aborted.
 *
 * @module
 */

import { CancelledError } from "./errors.ts";
import { Leaf, PENDING, type Poll } from "./operation.ts";
import type { Waker } from "./task/waker.ts";

const WAITING = 0;
const RESOLVED = 1;
const REJECTED = 2;

/**
 * The leaf behind {@linkcode call}: starts the promise (or calls the factory
 * with an AbortSignal) on first poll and completes when it settles.
 *
 * @example
 * ```ts
 * import { run, call } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const v = await run(function* () {
 *   return yield* call(Promise.resolve(5));
 * });
 * assert.equal(v, 5);
 * ```
 */
export class PromiseWait<T> extends Leaf<T> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "promise";
  }

  #source: PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T> | T);
  #state = WAITING;
  #value: unknown = undefined;
  #waker: Waker | null = null;
  #started = false;
  #ctl: AbortController | null = null;

  /**
   * Wait for `source`: a promise, or a factory given an AbortSignal.
   *
   * @param source a promise, or a function given an AbortSignal that returns one (or a value).
   * @throws {TypeError} when `source` is neither.
   */
  constructor(source: PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T> | T)) {
    super();
    if (typeof source !== "function" && !isThenable(source)) {
      throw new TypeError(
        "call() takes a promise or a function returning one: " +
          "`call((signal) => fetch(url, { signal }))` (aborted when the task is cancelled) " +
          "or `call(promise)`; an operation is run with `yield*` instead",
      );
    }
    this.#source = source;
  }

  /**
   * Start the promise on first poll; finish when it settled.
   *
   * @param waker woken when the promise settles.
   * @returns the promise's value, or `PENDING`.
   * @throws the promise's rejection.
   */
  protected poll(waker: Waker): Poll<T> {
    if (!this.#started) {
      this.#started = true;
      let p: PromiseLike<T> | T;
      if (typeof this.#source === "function") {
        this.#ctl = new AbortController();
        p = this.#source(this.#ctl.signal);
      } else {
        p = this.#source;
      }
      if (!isThenable(p)) return p as T;
      p.then(
        (v) => this.#settle(RESOLVED, v),
        (e) => this.#settle(REJECTED, e),
      );
    }
    if (this.#state === RESOLVED) return this.#value as T;
    if (this.#state === REJECTED) throw this.#value;
    this.#waker = waker;
    return PENDING;
  }

  #settle(state: number, value: unknown): void {
    if (this.#state !== WAITING) return;
    this.#state = state;
    this.#value = value;
    const w = this.#waker;
    this.#waker = null;
    if (w !== null) w.wake();
  }

  /** Ignore the settlement and abort the factory's signal. */
  protected cancel(): void {
    this.#waker = null;
    this.#state = REJECTED; // ignore a later settlement
    this.#ctl?.abort(new CancelledError());
  }
}

/**
 * Wait for a promise inside a task. Lead with the factory form:
 *
 * `const res = yield* call((signal) => fetch(url, { signal }))`
 *
 * The function is called when the task first waits, with an AbortSignal
 * that aborts if the task is cancelled while waiting (an `abort()`, a lost
 * `select`, a `timeout`, runtime shutdown), so the work behind the promise
 * stops too. The promise form, `yield* call(fetch(url))`, can only stop
 * waiting: the request was started before `call` saw it and nothing can
 * abort it, so a cancelled or timed-out task leaves it running to its end.
 *
 * @param source a function given an AbortSignal and returning a promise (or
 * a value), or a promise.
 * @returns an operation (also awaitable) giving the promise's value; it
 * throws what the promise rejects with.
 * @throws {TypeError} when `source` is neither a function nor a promise.
 * @example
 * ```ts
 * import { call, run, sleep, timeout } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * let aborted = false;
 * const slow = (signal: AbortSignal) =>
 *   new Promise<string>((resolve) => {
 *     const t = setTimeout(() => resolve("late"), 1000);
 *     signal.addEventListener("abort", () => {
 *       clearTimeout(t);
 *       aborted = true;
 *     });
 *   });
 * await run(function* () {
 *   assert.equal(yield* call(Promise.resolve(7)), 7);
 *   try {
 *     yield* timeout(10, call(slow));
 *   } catch (e) {
 *     assert.equal((e as Error).name, "TimeoutError");
 *   }
 *   yield* sleep(1);
 * });
 * assert.ok(aborted); // the timeout aborted the work, not only the wait
 * ```
 */
export function call<T>(
  source: PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T> | T),
): PromiseWait<T> {
  return new PromiseWait(source);
}

/**
 * Whether `v` has a callable `then`.
 *
 * @example
 * ```ts
 * import { isThenable } from "./call.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isThenable(Promise.resolve(1)));
 * assert.equal(isThenable(1), false);
 * ```
 */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === "object" || typeof v === "function") &&
    typeof (v as { then?: unknown }).then === "function";
}
