/**
 * `TaskTracker`: counts the tasks spawned through it and lets a task wait
 * until the tracker is closed and all of them ended — the graceful-shutdown
 * companion of {@linkcode CancellationToken}.
 *
 * Invariant: `size` is the number of tracked tasks that have not ended
 * (by value, error or cancellation, also when cancelled before they ever
 * ran); `wait()` completes exactly when the tracker is closed and `size` is
 * 0. Closing does not stop `spawn`: it only allows `wait()` to finish.
 *
 * @module
 */

import { call, type JoinHandle, type TaskBody } from "../runtime/mod.ts";
import { spawnNamed, type SpawnOptions } from "../runtime/runtime.ts";
import { Leaf, type Operation, PENDING, type Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { type Waiter, WaitList } from "./_waitlist.ts";
import { isOperation, isPromiseLike } from "./_op.ts";
import { isGeneratorFunction } from "../runtime/task/body.ts";
import { expectedOperation } from "../runtime/task/misuse.ts";

class TrackerCore {
  size = 0;
  closed = false;
  readonly waiters: WaitList<WaitOp> = new WaitList();

  get idle(): boolean {
    return this.closed && this.size === 0;
  }

  ended(): void {
    if (--this.size === 0 && this.closed) this.waiters.wakeAll();
  }
}

type It<T> = Iterator<unknown, T, unknown>;

/** Wraps a task's iterator and tells the tracker once, however the task ends. */
class TrackedIter<T> implements It<T> {
  #inner: It<T>;
  #core: TrackerCore | null;

  constructor(inner: It<T>, core: TrackerCore) {
    this.#inner = inner;
    this.#core = core;
  }

  [Symbol.iterator](): this {
    return this;
  }

  #end(): void {
    const c = this.#core;
    if (c === null) return;
    this.#core = null;
    c.ended();
  }

  #watch(f: () => IteratorResult<unknown, T>): IteratorResult<unknown, T> {
    let r: IteratorResult<unknown, T>;
    try {
      r = f();
    } catch (e) {
      this.#end();
      throw e;
    }
    if (r.done) this.#end();
    return r;
  }

  next(v?: unknown): IteratorResult<unknown, T> {
    // The hot path (every resume of a tracked task): no closure, unlike return/throw.
    let r: IteratorResult<unknown, T>;
    try {
      r = this.#inner.next(v);
    } catch (e) {
      this.#end();
      throw e;
    }
    if (r.done) this.#end();
    return r;
  }

  return(v?: unknown): IteratorResult<unknown, T> {
    const inner = this.#inner;
    return this.#watch(() => inner.return ? inner.return(v as T) : { done: true, value: v as T });
  }

  throw(e?: unknown): IteratorResult<unknown, T> {
    const inner = this.#inner;
    return this.#watch(() => {
      if (inner.throw) return inner.throw(e);
      throw e;
    });
  }
}

function* factoryBody<T>(fn: (signal: AbortSignal) => unknown): Generator<unknown, T, unknown> {
  let op: Operation<T> | null = null;
  const v = yield* call((signal: AbortSignal) => {
    const r = fn(signal);
    if (isOperation(r)) {
      op = r as Operation<T>;
      return undefined;
    }
    return r as PromiseLike<unknown> | unknown;
  });
  if (op !== null) return yield* (op as Operation<T>);
  return v as T;
}

class WaitOp extends Leaf<void> implements Waiter {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "tracker.wait";
  }

  waker: Waker | null = null;
  before: Waiter | null = null;
  after: Waiter | null = null;
  queued = false;
  readonly #c: TrackerCore;

  constructor(c: TrackerCore) {
    super();
    this.#c = c;
  }

  protected poll(waker: Waker): Poll<void> {
    if (this.#c.idle) {
      this.#c.waiters.remove(this);
      this.waker = null;
      return;
    }
    this.waker = waker;
    if (!this.queued) this.#c.waiters.push(this);
    return PENDING;
  }

  protected cancel(): void {
    this.waker = null;
    this.#c.waiters.remove(this);
  }
}

/**
 * Tracks spawned tasks so shutdown can wait for them.
 *
 * @example
 * ```ts
 * import { TaskTracker } from "../mod.ts";
 * import { run, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const done: number[] = [];
 * function* handle(conn: number) {
 *   yield* sleep(conn);
 *   done.push(conn);
 * }
 * await run(function* () {
 *   const tracker = new TaskTracker();
 *   tracker.spawn(handle(2));
 *   tracker.spawn(handle(1));
 *   // on shutdown:
 *   tracker.close();
 *   yield* tracker.wait();
 * });
 * assert.deepEqual(done, [1, 2]);
 * ```
 */
export class TaskTracker {
  #c: TrackerCore = new TrackerCore();

  /**
   * Spawn a tracked task (same bodies as the runtime's `spawn`: an
   * operation, a generator function, an async function given an
   * AbortSignal, or a promise). Returns its JoinHandle.
   *
   * @param body an operation, a generator function, an async function given an AbortSignal, or a
   *   promise.
   * @param options the task's name (for the console and the metrics).
   * @returns the task's handle.
   * @throws {TypeError} when `body` is none of those.
   */
  spawn<T>(body: TaskBody<T>, options?: SpawnOptions): JoinHandle<T> {
    let inner: It<T>;
    if (typeof body === "function") {
      inner = isGeneratorFunction(body)
        ? (body as () => Operation<T>)()[Symbol.iterator]()
        : factoryBody<T>(body as (signal: AbortSignal) => unknown);
    } else if (isOperation(body)) {
      inner = (body as Operation<T>)[Symbol.iterator]();
    } else if (isPromiseLike(body)) {
      inner = call(body as PromiseLike<T>)[Symbol.iterator]();
    } else {
      throw expectedOperation("TaskTracker.spawn()", body);
    }
    const c = this.#c;
    c.size++;
    const tracked = new TrackedIter(inner, c);
    try {
      return spawnNamed<T>({ [Symbol.iterator]: () => tracked }, options?.name, body);
    } catch (e) {
      c.ended();
      throw e;
    }
  }

  /** Allow `wait()` to complete once every tracked task ended. Idempotent. */
  close(): void {
    const c = this.#c;
    if (c.closed) return;
    c.closed = true;
    if (c.size === 0) c.waiters.wakeAll();
  }

  /** Undo `close()`: `wait()` waits again. */
  reopen(): void {
    this.#c.closed = false;
  }

  /** True after `close()` (until `reopen()`). */
  get isClosed(): boolean {
    return this.#c.closed;
  }

  /** Tracked tasks that have not ended. */
  get size(): number {
    return this.#c.size;
  }

  /**
   * Wait until the tracker is closed and every tracked task ended.
   *
   * @returns an operation (also awaitable) that finishes when the tracker is closed and empty.
   * @example
   * ```ts
   * import { run, sleep, TaskTracker } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const tracker = new TaskTracker();
   *   let done = false;
   *   tracker.spawn(function* () {
   *     yield* sleep(2);
   *     done = true;
   *   });
   *   tracker.close();
   *   yield* tracker.wait();
   *   assert.equal(done, true);
   * });
   * ```
   */
  wait(): Leaf<void> {
    return new WaitOp(this.#c);
  }
}
