/**
 * `SharedJoinHandle`: the spawner's view of a shared task running on some pool
 * worker — `await` it, `yield*` it inside a Dokio task, or `abort()` it.
 *
 * Invariant: the handle settles exactly once (value, JoinError, or cancelled
 * JoinError); every joiner sees the same outcome; no promise is created until
 * someone calls `then`, so an unjoined failure is never an unhandled rejection.
 *
 * @module
 */

import type { JoinError } from "../errors.ts";
import { Leaf, type Operation, PENDING, type Poll } from "../operation.ts";
import type { Waker } from "../task/waker.ts";

const RUNNING = 0;
const OK = 1;
const FAILED = 2;

/**
 * Internal: what the pool calls on a handle.
 *
 * @example
 * ```ts
 * import { type HandleOwner, SharedJoinHandle } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * // A WorkerPool is the owner of the handles it makes; a stand-in records the abort.
 * const aborted: number[] = [];
 * const owner: HandleOwner = {
 *   abortShared(id: number): void {
 *     aborted.push(id);
 *   },
 * };
 * const h = new SharedJoinHandle<number>(7, owner);
 * h.abort();
 * assert.deepEqual(aborted, [7]);
 * ```
 */
export interface HandleOwner {
  /**
   * Abort task `id`.
   *
   * @param id the task's id.
   * @param handle the task's handle, to settle as cancelled.
   */
  abortShared(id: number, handle: SharedJoinHandle<unknown>): void;
}

/**
 * A handle to a shared task. `await h` or `yield* h` gives its value or throws
 * a JoinError (`cancelled` true after `abort()`); `cause` carries the remote
 * error's name and message.
 *
 * @example
 * ```ts ignore
 * // Not run: a pool worker imports the tasks by the URL of a module of their own (tests/pool_test.ts runs these calls).
 * import { WorkerPool } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = await WorkerPool.start({ workers: 2 });
 * const h = pool.spawnShared<number>(new URL("./tasks.ts", import.meta.url).href, "add", 1, 2);
 * assert.equal(await h, 3);
 * await pool.shutdown();
 * ```
 */
export class SharedJoinHandle<T> implements PromiseLike<T>, Operation<T> {
  /** The pool-wide task id (its header slot while it runs). */
  readonly id: number;
  #owner: HandleOwner;
  #state = RUNNING;
  #value: unknown = undefined;
  #wakers: Waker[] = [];
  #promise: Promise<T> | null = null;
  #resolve: ((v: T) => void) | null = null;
  #reject: ((e: unknown) => void) | null = null;

  /**
   * Internal: made by the pool.
   *
   * @param id the task's id in the pool.
   * @param owner the pool that aborts it.
   */
  constructor(id: number, owner: HandleOwner) {
    this.id = id;
    this.#owner = owner;
  }

  /**
   * Cancel the task. Before a worker started it (also while a worker that
   * claimed it still loads its module or receives its arguments) none of its
   * code runs and the handle rejects with a cancelled JoinError. Once
   * started, a generator task is cancelled at its next `yield*` (its
   * `finally` blocks run), an async function's AbortSignal is aborted, and
   * synchronous code (a plain function, a `spawnBlocking` job) runs to its
   * end: the handle then gives its value or error. No-op once finished.
   */
  abort(): void {
    if (this.#state !== RUNNING) return;
    this.#owner.abortShared(this.id, this as SharedJoinHandle<unknown>);
  }

  /**
   * True once settled.
   *
   * @returns true once the task settled.
   */
  isFinished(): boolean {
    return this.#state !== RUNNING;
  }

  /**
   * Internal: settle with a value.
   *
   * @param v the task's value.
   */
  _resolve(v: T): void {
    if (this.#state !== RUNNING) return;
    this.#state = OK;
    this.#value = v;
    this.#resolve?.(v);
    this.#wakeAll();
  }

  /**
   * Internal: settle with an error (a JoinError).
   *
   * @param e the task's failure.
   */
  _reject(e: JoinError): void {
    if (this.#state !== RUNNING) return;
    this.#state = FAILED;
    this.#value = e;
    this.#reject?.(e);
    this.#wakeAll();
  }

  #wakeAll(): void {
    const ws = this.#wakers;
    this.#wakers = [];
    for (const w of ws) w.wake();
  }

  /**
   * Internal: poll for the outcome (used by the join leaf).
   *
   * @param w woken when the task settles.
   * @returns the value, or `PENDING`.
   * @throws {JoinError} when the task failed or was aborted.
   */
  _poll(w: Waker): Poll<T> {
    if (this.#state === OK) return this.#value as T;
    if (this.#state === FAILED) throw this.#value;
    if (!this.#wakers.includes(w)) this.#wakers.push(w);
    return PENDING;
  }

  /**
   * Internal: drop a registration.
   *
   * @param w the waker `_poll` registered.
   */
  _unregister(w: Waker): void {
    const i = this.#wakers.indexOf(w);
    if (i >= 0) this.#wakers.splice(i, 1);
  }

  /**
   * Join inside a task: `const v = yield* handle`.
   *
   * @returns an iterator that finishes with the task's value.
   * @throws {JoinError} (from the iterator) when the task failed or was aborted.
   */
  [Symbol.iterator](): Iterator<unknown, T, unknown> {
    return new JoinShared(this);
  }

  /**
   * Await the outcome.
   *
   * @param onfulfilled called with the task's value.
   * @param onrejected called with the task's JoinError.
   * @returns a promise of what the called handler returns.
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (this.#promise === null) {
      if (this.#state === OK) this.#promise = Promise.resolve(this.#value as T);
      else if (this.#state === FAILED) this.#promise = Promise.reject(this.#value);
      else {
        this.#promise = new Promise<T>((res, rej) => {
          this.#resolve = res;
          this.#reject = rej;
        });
      }
    }
    return this.#promise.then(onfulfilled, onrejected);
  }
}

class JoinShared<T> extends Leaf<T> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "join";
  }

  #h: SharedJoinHandle<T>;
  #w: Waker | null = null;
  constructor(h: SharedJoinHandle<T>) {
    super();
    this.#h = h;
  }
  /** Try to finish; otherwise wait for the peer's wake. */
  protected poll(waker: Waker): Poll<T> {
    this.#w = waker;
    return this.#h._poll(waker);
  }
  /** Stop waiting (the pending wake is ignored). */
  protected cancel(): void {
    if (this.#w !== null) this.#h._unregister(this.#w);
  }
}
