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
      throw new TypeError("call() takes a promise or a function returning one");
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
 * Await a promise inside a task: `const r = yield* call(fetch(url))`. Given
 * a function, it is called with an AbortSignal that aborts if the task is
 * cancelled while waiting.
 *
 * @param source a promise, or a function given an AbortSignal that returns one (or a value).
 * @returns an operation giving the promise's value; it throws the promise's rejection.
 * @throws {TypeError} when `source` is neither a promise nor a function.
 * @example
 * ```ts
 * import { run, call } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const n = await run(function* () {
 *   return yield* call(async (signal) => signal.aborted ? 0 : 7);
 * });
 * assert.equal(n, 7);
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
