/**
 * Internal: the base of io/'s composite operations (a buffered read, a line,
 * a frame, a flush), written as small iterator classes instead of
 * generators so the hot paths allocate no generator and a finished
 * operation can be rearmed.
 *
 * A {@linkcode StepOp} is a state machine: `step(input)` either finishes
 * with a value, or starts an inner operation with `run(op)` and returns
 * {@linkcode AWAIT}; the inner operation's value is the next `step`'s input.
 * Every suspension of the inner operation is passed up to the task.
 * Invariant: at most one inner operation runs at a time; cancelling the
 * StepOp (`return()`) cancels it, and the StepOp keeps no bytes of its own
 * (state that must survive a cancellation lives in the object that made
 * the operation, e.g. the BufReader's buffer).
 *
 * @module
 */

import { type Operation, toPromise } from "../runtime/operation.ts";

/**
 * What `step` returns while it waits for the inner operation it started.
 *
 * @example
 * ```ts
 * import { AWAIT } from "./_step_op.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof AWAIT, "symbol");
 * ```
 */
export const AWAIT: unique symbol = Symbol("dokio.io.await");

/** Not started, or rearmed. */
const FRESH = 0;
/** Started and not finished. */
const RUNNING = 1;
/** Finished (value, error or cancellation). */
const DONE = 2;

/**
 * Base class of io/'s composite operations (see the module doc).
 *
 * @example
 * ```ts
 * import { AWAIT, StepOp } from "./_step_op.ts";
 * import { run } from "../runtime/mod.ts";
 * import type { Operation } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * function* seven(): Generator<never, number, unknown> {
 *   return 7;
 * }
 * // Runs `seven` twice and adds the results.
 * class Twice extends StepOp<number> {
 *   #sum = 0;
 *   #runs = 0;
 *   protected step(input: unknown): number | typeof AWAIT {
 *     if (this.#runs > 0) this.#sum += input as number;
 *     if (this.#runs++ < 2) return this.run(seven() as Operation<unknown>);
 *     return this.#sum;
 *   }
 * }
 * assert.equal(await run(new Twice()), 14);
 * ```
 */
export abstract class StepOp<T>
  implements Operation<T>, Iterator<unknown, T, unknown>, PromiseLike<T> {
  // Assigned in the constructor, not as class fields: a base class with
  // class fields keeps V8 from inlining its subclasses' construction.
  declare private stepInner: Iterator<unknown, unknown, unknown> | null;
  declare private stepState: number;

  /** A fresh operation. */
  constructor() {
    this.stepInner = null;
    this.stepState = FRESH;
  }

  /**
   * Advance: finish with a value, or `return this.run(op)` to wait for an
   * inner operation (its value is the next call's `input`). The first call
   * gets `undefined`.
   */
  protected abstract step(input: unknown): T | typeof AWAIT;

  /** Start `op` as the inner operation; return the result from `step`. */
  protected run(op: Operation<unknown>): typeof AWAIT {
    this.stepInner = op[Symbol.iterator]();
    return AWAIT;
  }

  /**
   * For subclasses that recycle a finished operation: make it fresh again
   * and return true; false while it was never run or is still running.
   */
  protected rearm(): boolean {
    if (this.stepState !== DONE) return false;
    this.stepState = FRESH;
    return true;
  }

  /** The operation is its own iterator. */
  [Symbol.iterator](): Iterator<unknown, T, unknown> {
    return this;
  }

  /** Resume: drive the inner operation, then step, until done or suspended. */
  next(): IteratorResult<unknown, T> {
    if (this.stepState === DONE) {
      throw new TypeError("an io operation was resumed after it finished");
    }
    this.stepState = RUNNING;
    let input: unknown = undefined;
    try {
      for (;;) {
        const inner = this.stepInner;
        if (inner !== null) {
          const r = inner.next();
          if (r.done !== true) return r;
          this.stepInner = null;
          input = r.value;
        }
        const out = this.step(input);
        if (out !== AWAIT) {
          this.stepState = DONE;
          return { done: true, value: out };
        }
      }
    } catch (e) {
      this.stepInner = null;
      this.stepState = DONE;
      throw e;
    }
  }

  /**
   * Called once when the operation is cancelled while running, after its
   * inner operation was cancelled: give back what must not be lost.
   */
  protected cancelled(): void {}

  /** Cancel: cancel the inner operation, then finish with `value`. */
  return(value?: unknown): IteratorResult<unknown, T> {
    const inner = this.stepInner;
    const wasRunning = this.stepState === RUNNING;
    this.stepInner = null;
    this.stepState = DONE;
    inner?.return?.(undefined);
    if (wasRunning) this.cancelled();
    return { done: true, value: value as T };
  }

  /** Throw into the operation: cancel it, then rethrow. */
  throw(e?: unknown): IteratorResult<unknown, T> {
    this.return();
    throw e;
  }

  /** Run this operation on the current (or default) runtime as a promise. */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return toPromise<T>(this).then(onfulfilled, onrejected);
  }
}
