/**
 * `Mutex<T>`: an asynchronous lock guarding a value, handed over in FIFO
 * order.
 *
 * Invariant: at most one {@linkcode MutexGuard} is live at a time. A release
 * hands the lock straight to the oldest waiter (it stays locked), so a
 * newcomer can never barge ahead of a waiting task; hence "unlocked" implies
 * "nobody waits". A waiter cancelled after the lock was handed to it but
 * before it observed that passes the lock on to the next waiter; a waiter
 * cancelled while queued just leaves the queue.
 *
 * @module
 */

import { type Leaf, PENDING, type Poll } from "../runtime/operation.ts";
import { FastLeaf } from "./_fast_leaf.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { type Waiter, WaitList } from "./_waitlist.ts";
import { trackResource } from "../runtime/instrument/resources.ts";

class MutexCore<T> {
  value: T;
  locked = false;
  readonly waiters: WaitList<LockOp<T>> = new WaitList();

  constructor(value: T) {
    this.value = value;
    trackResource(this, "mutex", probeMutex);
  }

  unlock(): void {
    const w = this.waiters.shift();
    if (w === null) {
      this.locked = false;
      return;
    }
    w.granted = true;
    w.waker?.wake();
  }
}

function probeMutex(c: MutexCore<unknown>): [number, string] {
  return [c.waiters.length, c.locked ? "locked" : "unlocked"];
}

let makeGuard: <T>(core: MutexCore<T>) => MutexGuard<T>;

/**
 * Exclusive access to a {@linkcode Mutex}'s value until `release()` (or the
 * end of a `using` block).
 *
 * @example
 * ```ts
 * import { Mutex, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   const mutex = new Mutex(0);
 *   {
 *     using g = yield* mutex.lock();
 *     g.value += 1;
 *   }
 *   assert.equal(mutex.tryLock()?.value, 1);
 * });
 * ```
 */
export class MutexGuard<T> implements Disposable {
  #core: MutexCore<T> | null = null;

  static {
    makeGuard = <T>(core: MutexCore<T>): MutexGuard<T> => {
      const g = new MutexGuard<T>();
      g.#core = core;
      return g;
    };
  }

  private constructor() {}

  /** The guarded value. Throws a TypeError once the guard was released. */
  get value(): T {
    if (this.#core === null) throw new TypeError("the MutexGuard was released");
    return this.#core.value;
  }

  set value(v: T) {
    if (this.#core === null) throw new TypeError("the MutexGuard was released");
    this.#core.value = v;
  }

  /** True until the guard is released. */
  get held(): boolean {
    return this.#core !== null;
  }

  /** Unlock (handing the lock to the oldest waiter); later calls do nothing. */
  release(): void {
    const c = this.#core;
    if (c === null) return;
    this.#core = null;
    c.unlock();
  }

  /** Same as {@linkcode MutexGuard.release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

class LockOp<T> extends FastLeaf<MutexGuard<T>> implements Waiter {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "lock";
  }

  waker: Waker | null = null;
  before: Waiter | null = null;
  after: Waiter | null = null;
  queued = false;
  granted = false;
  readonly #c: MutexCore<T>;

  constructor(c: MutexCore<T>) {
    super();
    this.#c = c;
  }

  protected tryFast(): Poll<MutexGuard<T>> {
    // No waker needed: "unlocked" implies "nobody waits".
    const c = this.#c;
    if (c.locked) return PENDING;
    c.locked = true;
    return makeGuard(c);
  }

  protected poll(waker: Waker): Poll<MutexGuard<T>> {
    const c = this.#c;
    if (this.granted) {
      this.granted = false;
      this.waker = null;
      return makeGuard(c);
    }
    if (this.queued) {
      this.waker = waker;
      return PENDING;
    }
    if (!c.locked) {
      c.locked = true;
      return makeGuard(c);
    }
    this.waker = waker;
    c.waiters.push(this);
    return PENDING;
  }

  protected cancel(): void {
    if (this.granted) {
      this.granted = false;
      this.#c.unlock();
    } else {
      this.#c.waiters.remove(this);
    }
    this.waker = null;
  }
}

/**
 * An asynchronous, FIFO-fair mutual-exclusion lock holding a value of type
 * `T`. `lock()` is a cancel-safe operation: `yield*` it in a task, or
 * `await` it outside one.
 *
 * @example
 * ```ts
 * import { Mutex } from "../mod.ts";
 * import { run, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const m = new Mutex(0);
 * function* bump() {
 *   using g = yield* m.lock();
 *   g.value += 1;
 * }
 * await run(function* () {
 *   const hs = [spawn(bump), spawn(bump), spawn(bump)];
 *   for (const h of hs) yield* h;
 * });
 * assert.equal(m.tryLock()?.value, 3);
 * ```
 */
export class Mutex<T> {
  #c: MutexCore<T>;

  /**
   * Make an unlocked mutex guarding `value`.
   *
   * @param value the value the mutex guards.
   */
  constructor(value: T) {
    this.#c = new MutexCore(value);
  }

  /**
   * Wait for the lock (FIFO). Cancel-safe: a cancelled waiter takes nothing
   * and a lock handed to it passes on to the next waiter.
   *
   * @returns an operation (also awaitable) giving the guard; release it (or end its `using` block)
   *   to unlock.
   * @example
   * ```ts
   * import { Mutex, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const m = new Mutex<number[]>([]);
   *   const g = yield* m.lock();
   *   try {
   *     g.value.push(1);
   *   } finally {
   *     g.release();
   *   }
   *   assert.deepEqual(m.tryLock()?.value, [1]);
   * });
   * ```
   */
  lock(): Leaf<MutexGuard<T>> {
    return new LockOp(this.#c);
  }

  /**
   * Take the lock if it is free (then nobody waits for it); otherwise null.
   *
   * @returns the guard, or null when the lock is held.
   * @example
   * ```ts
   * import { Mutex } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const m = new Mutex("a");
   * const g = m.tryLock();
   * assert.notEqual(g, null);
   * assert.equal(m.tryLock(), null);
   * g?.release();
   * ```
   */
  tryLock(): MutexGuard<T> | null {
    const c = this.#c;
    if (c.locked) return null;
    c.locked = true;
    return makeGuard(c);
  }

  /** True while the lock is held or being handed to a waiter. */
  get isLocked(): boolean {
    return this.#c.locked;
  }

  /** How many tasks wait for the lock. */
  get waiting(): number {
    return this.#c.waiters.length;
  }
}
