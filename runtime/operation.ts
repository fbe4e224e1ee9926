/**
 * Operations: the unit of asynchronous work a task runs.
 *
 * An `Operation<T>` is anything with `[Symbol.iterator]()` returning an
 * iterator whose final `return` value is `T`. Task bodies are `function*`
 * generators that run operations with `yield*`; the scheduler resumes a task
 * with `next()` and cancels it with `return()`, which runs its `finally`
 * blocks and reaches the leaf operation it was suspended in.
 *
 * A leaf operation (sleep, read, acquire, recv…) is a small iterator object
 * derived from {@linkcode Leaf}: when first resumed it polls its resource with
 * the current task's waker; if not ready it yields (the task suspends) and is
 * polled again after a wake. Invariant: a Leaf is polled only inside a task
 * poll, its `cancel()` runs at most once and only while it is pending, and
 * after it returned a value it never registers again. A pending Leaf may be
 * polled again without having been woken (a combinator such as `select`
 * re-polls every branch when any of them wakes the task): `poll` must then
 * re-check its state and keep exactly one registration.
 *
 * @module
 */

import type { Waker } from "./task/waker.ts";
import type { Operation } from "./operation_type.ts";
import { currentWaker } from "./scheduler/context.ts";
import { consumeBudget } from "./scheduler/coop.ts";

export type { Operation } from "./operation_type.ts";

/**
 * What a Leaf's `poll` returns while it is not ready.
 *
 * @example
 * ```ts
 * import { Leaf, PENDING, type Poll, run, type Waker } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * // Not ready on its first poll: asks to be polled again, then finishes.
 * class SecondPoll extends Leaf<string> {
 *   #polled = false;
 *   protected poll(waker: Waker): Poll<string> {
 *     if (this.#polled) return "ready";
 *     this.#polled = true;
 *     waker.wake();
 *     return PENDING;
 *   }
 *   protected cancel(): void {}
 * }
 *
 * assert.equal(await run(new SecondPoll()), "ready");
 * ```
 */
export const PENDING: unique symbol = Symbol("dokio.pending");
/**
 * The result of one poll: the value, or {@linkcode PENDING}.
 *
 * @example
 * ```ts
 * import { PENDING, type Poll } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * function tryPop(queue: number[]): Poll<number> {
 *   return queue.length > 0 ? queue.shift() as number : PENDING;
 * }
 * assert.equal(tryPop([7]), 7);
 * assert.equal(tryPop([]), PENDING);
 * ```
 */
export type Poll<T> = T | typeof PENDING;

/** Turns any operation into a promise; installed by the runtime module. */
type Promiser = <T>(op: Operation<T>) => Promise<T>;
let promiser: Promiser | null = null;

/**
 * Install the function that runs an operation to a promise (the runtime does
 * this when it loads). Not for users.
 *
 * @example
 * ```ts
 * import { setPromiser } from "./operation.ts";
 * // the runtime module calls: setPromiser((op) => spawnOnDefault(op));
 * ```
 */
export function setPromiser(fn: Promiser): void {
  promiser = fn;
}

/**
 * Run an operation to completion on the current (or default) runtime and
 * get a promise of its value. This is what `await op` does.
 *
 * @param op the operation to run.
 * @returns a promise of the operation's value; it rejects with the operation's error.
 * @example
 * ```ts
 * import { toPromise } from "../mod.ts";
 * import { sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const p: Promise<void> = toPromise(sleep(1));
 * assert.ok(p instanceof Promise);
 * await p;
 * ```
 */
export function toPromise<T>(op: Operation<T>): Promise<T> {
  if (promiser === null) {
    return Promise.reject(new Error("the runtime module is not loaded"));
  }
  return promiser(op);
}

const SUSPEND: IteratorYieldResult<undefined> = Object.freeze({ done: false, value: undefined });

/** Instrumented runtimes alive: while > 0, a suspending leaf records its class. */
let suspendWatchers = 0;
/**
 * The last operation that suspended while watched (what the task waits on):
 * a Leaf's class (its constructor), or what `noteSuspended` was given.
 */
let suspended: unknown = null;

/**
 * Start recording what tasks suspend on (an instrumented runtime calls this).
 * Off, a suspending leaf pays one compare.
 *
 * @returns the function that stops it.
 * @example
 * ```ts
 * import { noteSuspended, takeSuspended, watchSuspends } from "./operation.ts";
 * import assert from "node:assert/strict";
 * const stop = watchSuspends();
 * const op = { kind: "demo" };
 * noteSuspended(op);
 * assert.equal(takeSuspended(), op);
 * assert.equal(takeSuspended(), null);
 * stop();
 * ```
 */
export function watchSuspends(): () => void {
  suspendWatchers++;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--suspendWatchers === 0) suspended = null;
  };
}

/**
 * An operation that is not a {@linkcode Leaf} (a sleep, a yield) reports
 * that it suspends the task now; it should have a string `kind`.
 *
 * @param op the operation suspending.
 * @example
 * ```ts
 * import { noteSuspended } from "./operation.ts";
 * noteSuspended({ kind: "sleep" }); // no instrumented runtime: nothing kept
 * ```
 */
export function noteSuspended(op: unknown): void {
  if (suspendWatchers !== 0) suspended = op;
}

/**
 * The operation that last suspended (since the previous call), and forget it.
 *
 * @returns the operation (a Leaf's class, see `suspended`), or null.
 * @example
 * ```ts
 * import { takeSuspended } from "./operation.ts";
 * import assert from "node:assert/strict";
 * assert.equal(takeSuspended(), null);
 * ```
 */
export function takeSuspended(): unknown {
  const op = suspended;
  suspended = null;
  return op;
}

const DONE_VOID: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A Leaf's state before its first poll (or after `rearmLeaf`).
 *
 * @example
 * ```ts
 * import { Leaf, LEAF_DONE, LEAF_FRESH, PENDING, type Poll } from "./operation.ts";
 * import type { Waker } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * class Probe extends Leaf<number> {
 *   get state(): number {
 *     return this._leafState;
 *   }
 *   protected poll(_waker: Waker): Poll<number> {
 *     return PENDING;
 *   }
 *   protected cancel(): void {}
 * }
 * const p = new Probe();
 * assert.equal(p.state, LEAF_FRESH);
 * p.return();
 * assert.equal(p.state, LEAF_DONE);
 * ```
 */
export const LEAF_FRESH = 0;
/** A Leaf's state while a poll returned PENDING and it waits for a wake. */
const LEAF_WAITING = 1;
/**
 * A Leaf's state once it returned, threw or was cancelled; resuming it again
 * throws a TypeError.
 *
 * @example
 * ```ts
 * import { LEAF_DONE, LEAF_FRESH } from "./operation.ts";
 * import assert from "node:assert/strict";
 *
 * assert.notEqual(LEAF_DONE, LEAF_FRESH);
 * ```
 */
export const LEAF_DONE = 2;

/**
 * Base class of leaf operations. Subclasses implement `poll` (try to finish;
 * if not ready, arrange for `waker.wake()` and return `PENDING`) and `cancel`
 * (undo what `poll` arranged; called when the task is cancelled while this
 * operation is pending). A Leaf is single-use and is also `PromiseLike`, so
 * `await leaf` works outside tasks.
 *
 * @example
 * ```ts
 * import { Leaf, PENDING, type Poll } from "../mod.ts";
 * import type { Waker } from "../mod.ts";
 * class Ready extends Leaf<number> {
 *   protected poll(_waker: Waker): Poll<number> {
 *     return 42;
 *   }
 *   protected cancel(): void {}
 * }
 * ```
 */
export abstract class Leaf<T>
  implements Operation<T>, Iterator<unknown, T, unknown>, PromiseLike<T> {
  /** Internal: LEAF_FRESH, LEAF_WAITING or LEAF_DONE. */
  declare protected _leafState: number;

  /** A fresh leaf. */
  constructor() {
    // Assigned here, not as a class field: V8 does not inline the
    // construction of a subclass whose base declares class fields (~50 ns a
    // leaf, measured), and a leaf is made for nearly every operation.
    this._leafState = LEAF_FRESH;
  }

  /**
   * Try to finish. Return the value, or arrange for `waker.wake()` to be
   * called when progress is possible and return `PENDING`.
   *
   * @param waker wakes the task when this leaf can make progress.
   * @returns the value, or `PENDING` after arranging a wake-up.
   */
  protected abstract poll(waker: Waker): Poll<T>;

  /** Undo what a pending `poll` arranged (deregister, give back, cancel I/O). */
  protected abstract cancel(): void;

  /**
   * What a task suspended here waits on, as the console shows it (`sleep`,
   * `recv`, `accept`, `lock`, …). Subclasses override it; by default the
   * class name.
   *
   * @returns the kind name.
   */
  get kind(): string {
    return this.constructor.name;
  }

  /**
   * The leaf is its own iterator.
   *
   * @returns this leaf.
   */
  [Symbol.iterator](): Iterator<unknown, T, unknown> {
    return this;
  }

  /**
   * For subclasses that recycle a finished leaf (so a hot path allocates
   * nothing): when this leaf has finished, make it fresh again and return
   * true; false while it was never run or is still pending.
   *
   * @returns true when the leaf was finished and is fresh again.
   */
  protected rearmLeaf(): boolean {
    if (this._leafState !== LEAF_DONE) return false;
    this._leafState = LEAF_FRESH;
    return true;
  }

  /**
   * Resume: poll once with the current task's waker.
   *
   * @returns `done: true` with the value, or `done: false` while pending.
   * @throws {TypeError} when the leaf already finished; what `poll` throws.
   */
  next(): IteratorResult<unknown, T> {
    if (this._leafState === LEAF_DONE) {
      throw new TypeError("a leaf operation was resumed after it finished");
    }
    const waker = currentWaker();
    if (!consumeBudget()) {
      // Cooperative yield: let other tasks, timers and I/O run first.
      waker.wake();
      return SUSPEND;
    }
    let r: Poll<T>;
    try {
      r = this.poll(waker);
    } catch (e) {
      this._leafState = LEAF_DONE;
      throw e;
    }
    if (r === PENDING) {
      this._leafState = LEAF_WAITING;
      // Its class, not the leaf: what the console shows (`kind`) is per
      // class, and a class is old and the same for every leaf of it, so
      // keeping it costs no write barrier for a young object. (Its
      // constructor is one cached load; `Object.getPrototypeOf` costs ~20 ns.)
      if (suspendWatchers !== 0) suspended = this.constructor;
      return SUSPEND;
    }
    this._leafState = LEAF_DONE;
    return r === undefined ? DONE_VOID as IteratorReturnResult<T> : { done: true, value: r };
  }

  /**
   * Cancel: if pending, undo the registration; then finish with `value`.
   *
   * @param value the value to finish with.
   * @returns `done: true` with `value`.
   */
  return(value?: unknown): IteratorResult<unknown, T> {
    if (this._leafState === LEAF_WAITING) {
      this._leafState = LEAF_DONE;
      this.cancel();
    }
    this._leafState = LEAF_DONE;
    return { done: true, value: value as T };
  }

  /**
   * Throw into the leaf: cancel it if pending, then rethrow.
   *
   * @param e the error to rethrow.
   * @returns never: it always throws.
   * @throws `e`, after cancelling the leaf.
   */
  throw(e?: unknown): IteratorResult<unknown, T> {
    this.return();
    throw e;
  }

  /**
   * Run this operation on the current (or default) runtime as a promise.
   *
   * @param onfulfilled called with the operation's value.
   * @param onrejected called with the operation's error.
   * @returns a promise of what the called handler returns.
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return toPromise(this).then(onfulfilled, onrejected);
  }
}

/**
 * An operation made of a generator function (called once per run), also
 * awaitable outside tasks: how a method whose body is a `function*` returns
 * something that is both `yield*`-able in a task and `await`-able anywhere.
 *
 * @example
 * ```ts
 * import { GenOp, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * let runs = 0;
 * const op = new GenOp(function* () {
 *   runs++;
 *   return 1;
 * });
 * assert.equal(await run(op), 1); // in a task (yield* op inside one)
 * assert.equal(await op, 1); // awaited: a fresh run
 * assert.equal(runs, 2);
 * ```
 */
export class GenOp<T> implements Operation<T>, PromiseLike<T> {
  readonly #make: () => Iterator<unknown, T, unknown>;
  /**
   * Wrap `make`.
   *
   * @param make makes one run's iterator (usually a generator function); called once per run.
   */
  constructor(make: () => Iterator<unknown, T, unknown>) {
    this.#make = make;
  }
  /**
   * Start a run.
   *
   * @returns the run's iterator, from `make`.
   */
  [Symbol.iterator](): Iterator<unknown, T, unknown> {
    return this.#make();
  }
  /**
   * Run it as a task on the current (or default) runtime.
   *
   * @param onfulfilled called with the operation's result.
   * @param onrejected called with the operation's error.
   * @returns a promise of what the called handler returns.
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return toPromise(this).then(onfulfilled, onrejected);
  }
}
