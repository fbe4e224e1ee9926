/**
 * `timeout(ms, op)`: run `op` inside the current task, but give up after
 * `ms` milliseconds.
 *
 * The wrapper is an iterator that forwards `next`/`return`/`throw` to the
 * inner operation's iterator, so `op` may suspend any number of times. Its
 * timer (a {@linkcode Sleep} entry, armed at `op`'s first suspension with
 * the task's waker) wakes the task when the deadline passes.
 *
 * Invariant: on every resume the inner operation is resumed first (as
 * Tokio polls the future before the delay) — if it completes, its value
 * wins and the timer is unlinked. Only if it suspends again and the timer
 * has fired is it cancelled through its iterator's `return()` (its `finally`
 * blocks run, and may themselves suspend), after which the wrapper throws
 * `timeoutError(ms)` (a `DOMException` named "TimeoutError").
 *
 * @module
 */

import { type Operation, toPromise } from "../runtime/operation.ts";
import { currentWaker } from "../runtime/scheduler/context.ts";
import { timeoutError } from "../runtime/errors.ts";
import { arm, checkMs, disarm, makeSleep, type Sleep } from "./sleep.ts";
import { FIRED } from "../runtime/time/wheel.ts";
import { call, isThenable } from "../runtime/call.ts";
import { isOperation } from "../runtime/task/body.ts";
import { expectedOperation } from "../runtime/task/misuse.ts";

const FRESH = 0;
const RUNNING = 1;
/** Deadline passed; finishing the inner op's `finally` blocks, then throw. */
const EXPIRING = 2;
/** Cancelled from outside; finishing the inner op's `finally` blocks. */
const RETURNING = 3;
const DONE = 4;

/**
 * The operation returned by {@linkcode timeout}.
 *
 * @example
 * ```ts
 * import { run, sleep, timeout } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const v = await run(function* () {
 *   yield* timeout(50, sleep(10)); // completes
 *   return "in time";
 * });
 * assert.equal(v, "in time");
 * ```
 */
export class Timeout<T> implements Operation<T>, Iterator<unknown, T, unknown>, PromiseLike<T> {
  #op: Operation<T>;
  #inner: Iterator<unknown, T, unknown> | null;
  #timer: Sleep;
  #ms: number;
  #state: number;

  /**
   * Internal: use {@linkcode timeout}.
   *
   * @param ms the deadline, in milliseconds from the first resume.
   * @param op the operation to run.
   */
  constructor(ms: number, op: Operation<T>) {
    this.#op = op;
    this.#inner = null;
    this.#timer = makeSleep(ms);
    this.#ms = ms;
    this.#state = FRESH;
  }

  /**
   * The wrapper is its own iterator (single use).
   *
   * @returns this wrapper.
   */
  [Symbol.iterator](): Iterator<unknown, T, unknown> {
    return this;
  }

  /**
   * Resume the inner operation; expire it if the deadline has passed.
   *
   * @param value passed on to the inner operation.
   * @returns the inner operation's step.
   * @throws a `DOMException` named "TimeoutError" when the deadline passed; what the inner
   *   operation throws.
   * @throws {TypeError} when the wrapper already finished.
   */
  next(value?: unknown): IteratorResult<unknown, T> {
    const state = this.#state;
    if (state === RUNNING) {
      return this.#after(this.#forward(0, value));
    }
    if (state === FRESH) {
      this.#state = DONE;
      this.#inner = this.#op[Symbol.iterator]();
      this.#state = RUNNING;
      return this.#after(this.#forward(0, value));
    }
    if (state === EXPIRING || state === RETURNING) return this.#finishing(this.#forward(0, value));
    throw new TypeError("a timeout operation was resumed after it finished");
  }

  /**
   * Cancel: unlink the timer and cancel the inner operation.
   *
   * @param value the value to finish with.
   * @returns the inner operation's final step.
   */
  return(value?: unknown): IteratorResult<unknown, T> {
    const state = this.#state;
    if (state === FRESH || state === DONE) {
      this.#finish();
      return { done: true, value: value as T };
    }
    if (state === RUNNING || state === EXPIRING) {
      disarm(this.#timer);
      this.#state = RETURNING;
    }
    return this.#finishing(this.#forward(1, value));
  }

  /**
   * Throw into the inner operation.
   *
   * @param error the error to throw into the inner operation.
   * @returns the inner operation's step, if it caught `error`.
   * @throws `error` when the inner operation does not catch it.
   */
  throw(error?: unknown): IteratorResult<unknown, T> {
    const state = this.#state;
    if (state === FRESH || state === DONE) {
      this.#finish();
      throw error;
    }
    const r = this.#forward(2, error);
    return state === RUNNING ? this.#after(r) : this.#finishing(r);
  }

  /**
   * Run this operation on the current (or default) runtime as a promise.
   *
   * @param onfulfilled called with the inner operation's value.
   * @param onrejected called with the error (a "TimeoutError" when the deadline passed).
   * @returns a promise of what the called handler returns.
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return toPromise(this).then(onfulfilled, onrejected);
  }

  /** Resume the inner iterator (0 next, 1 return, 2 throw); finish if it throws. */
  #forward(how: number, v: unknown): IteratorResult<unknown, T> {
    const inner = this.#inner!;
    try {
      if (how === 0) return inner.next(v);
      if (how === 1) {
        return typeof inner.return === "function"
          ? inner.return(v as T)
          : { done: true, value: v as T };
      }
      if (typeof inner.throw === "function") return inner.throw(v);
    } catch (e) {
      this.#finish();
      throw e;
    }
    // An iterator without throw(): close it, then raise the error here.
    this.#forward(1, undefined);
    this.#finish();
    throw v;
  }

  /** After a resume in RUNNING: done → value; suspended → check the deadline. */
  #after(r: IteratorResult<unknown, T>): IteratorResult<unknown, T> {
    if (r.done) {
      this.#finish();
      return r;
    }
    const timer = this.#timer;
    if (timer.pos === FIRED) {
      this.#state = EXPIRING;
      return this.#finishing(this.#forward(1, undefined));
    }
    if (timer.pos < 0) arm(timer, currentWaker());
    return r;
  }

  /** While EXPIRING/RETURNING: pass suspensions through until the inner op is done. */
  #finishing(r: IteratorResult<unknown, T>): IteratorResult<unknown, T> {
    if (!r.done) return r;
    const expired = this.#state === EXPIRING;
    this.#finish();
    if (expired) throw timeoutError(this.#ms);
    return r;
  }

  #finish(): void {
    this.#state = DONE;
    disarm(this.#timer);
    this.#inner = null;
  }
}

/**
 * Run `op` with a deadline of `ms` milliseconds (finite, `>= 0`). Returns
 * `op`'s value if it finishes first; otherwise cancels `op` (its `finally`
 * blocks run) and throws a `DOMException` named "TimeoutError". `op` is
 * always resumed at least once, so `timeout(0, op)` succeeds when `op`
 * completes without suspending.
 *
 * `op` may also be a promise, as for `select`, `race`, `join` and `all`: it
 * is waited for as with `call(promise)`. A timeout then stops the wait, not
 * the work behind the promise; to abort that too, pass an operation that
 * owns it: `timeout(ms, call((signal) => fetch(url, { signal })))`.
 *
 * @param ms the deadline, in milliseconds from the first resume.
 * @param op the operation (or promise) to run.
 * @returns an operation (also awaitable) giving `op`'s value.
 * @throws {RangeError} when `ms` is negative, NaN or infinite.
 * @throws {TypeError} when `op` is neither an operation nor a promise (the
 * message says what to pass instead).
 * @example
 * ```ts
 * import { call, run, sleep, timeout } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * await run(function* () {
 *   assert.equal(yield* timeout(1000, call(Promise.resolve("fast"))), "fast");
 *   try {
 *     yield* timeout(10, sleep(1000));
 *     assert.fail("sleep(1000) should time out");
 *   } catch (e) {
 *     assert.equal((e as Error).name, "TimeoutError");
 *   }
 * });
 * ```
 */
export function timeout<T>(
  ms: number,
  op: Operation<T> | PromiseLike<T>,
): Operation<T> & PromiseLike<T> {
  checkMs(ms, "timeout");
  if (isOperation(op)) return new Timeout(ms, op as Operation<T>);
  if (isThenable(op)) return new Timeout(ms, call(op));
  throw expectedOperation("timeout()", op);
}
