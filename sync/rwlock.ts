/**
 * `RwLock<T>`: an asynchronous reader-writer lock, FIFO-fair and therefore
 * write-preferring.
 *
 * Invariant: either any number of read guards or one write guard is live.
 * Waiters form one FIFO queue; a release grants from its head: a writer when
 * nothing is held, or the whole run of readers at the head while no writer
 * holds the lock. A new reader queues behind a waiting writer, so writers are
 * never starved, and a writer waits only for the readers ahead of it.
 * Cancelling a waiter gives back what was granted to it (or leaves the queue
 * and lets the readers behind a cancelled writer in).
 *
 * @module
 */

import { Leaf, PENDING, type Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { type Waiter, WaitList } from "./_waitlist.ts";
import { trackResource } from "../runtime/instrument/resources.ts";

function probeRwLock(c: RwCore<unknown>): [number, string] {
  return [c.waiters.length, c.writer ? "write-locked" : `${c.readers} readers`];
}

class RwCore<T> {
  value: T;
  readers = 0;
  writer = false;
  readonly waiters: WaitList<RwOp<T, unknown>> = new WaitList();

  constructor(value: T) {
    this.value = value;
    trackResource(this, "rwlock", probeRwLock);
  }

  dispatch(): void {
    for (;;) {
      const w = this.waiters.head;
      if (w === null || this.writer) return;
      if (w.write) {
        if (this.readers !== 0) return;
        this.waiters.shift();
        this.writer = true;
        w.granted = true;
        w.waker?.wake();
        return;
      }
      this.waiters.shift();
      this.readers++;
      w.granted = true;
      w.waker?.wake();
    }
  }

  releaseRead(): void {
    if (--this.readers === 0) this.dispatch();
  }

  releaseWrite(): void {
    this.writer = false;
    this.dispatch();
  }
}

let makeRead: <T>(c: RwCore<T>) => RwLockReadGuard<T>;
let makeWrite: <T>(c: RwCore<T>) => RwLockWriteGuard<T>;

/**
 * Shared read access to an {@linkcode RwLock}'s value until released.
 *
 * @example
 * ```ts
 * import { run, RwLock } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const lock = new RwLock("config");
 * await run(function* () {
 *   using g = yield* lock.read();
 *   using g2 = yield* lock.read(); // readers share
 *   assert.equal(g.value, g2.value);
 * });
 * ```
 */
export class RwLockReadGuard<T> implements Disposable {
  #c: RwCore<T> | null = null;

  static {
    makeRead = <T>(c: RwCore<T>): RwLockReadGuard<T> => {
      const g = new RwLockReadGuard<T>();
      g.#c = c;
      return g;
    };
  }

  private constructor() {}

  /** The guarded value. Throws a TypeError once released. */
  get value(): T {
    if (this.#c === null) throw new TypeError("the RwLockReadGuard was released");
    return this.#c.value;
  }

  /** Give up read access; later calls do nothing. */
  release(): void {
    const c = this.#c;
    if (c === null) return;
    this.#c = null;
    c.releaseRead();
  }

  /** Same as {@linkcode RwLockReadGuard.release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * Exclusive write access to an {@linkcode RwLock}'s value until released.
 *
 * @example
 * ```ts
 * import { run, RwLock } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   const lock = new RwLock(1);
 *   {
 *     using g = yield* lock.write();
 *     g.value = g.value + 1;
 *   }
 *   assert.equal(lock.tryRead()?.value, 2);
 * });
 * ```
 */
export class RwLockWriteGuard<T> implements Disposable {
  #c: RwCore<T> | null = null;

  static {
    makeWrite = <T>(c: RwCore<T>): RwLockWriteGuard<T> => {
      const g = new RwLockWriteGuard<T>();
      g.#c = c;
      return g;
    };
  }

  private constructor() {}

  /** The guarded value. Throws a TypeError once released. */
  get value(): T {
    if (this.#c === null) throw new TypeError("the RwLockWriteGuard was released");
    return this.#c.value;
  }

  set value(v: T) {
    if (this.#c === null) throw new TypeError("the RwLockWriteGuard was released");
    this.#c.value = v;
  }

  /** Give up write access; later calls do nothing. */
  release(): void {
    const c = this.#c;
    if (c === null) return;
    this.#c = null;
    c.releaseWrite();
  }

  /** Same as {@linkcode RwLockWriteGuard.release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

abstract class RwOp<V, G> extends Leaf<G> implements Waiter {
  // Assigned in the constructor, not as class fields (see Leaf).
  declare waker: Waker | null;
  declare before: Waiter | null;
  declare after: Waiter | null;
  declare queued: boolean;
  declare granted: boolean;
  abstract readonly write: boolean;
  declare protected readonly c: RwCore<V>;

  constructor(c: RwCore<V>) {
    super();
    this.waker = null;
    this.before = null;
    this.after = null;
    this.queued = false;
    this.granted = false;
    this.c = c;
  }

  protected abstract tryTake(): boolean;

  protected pollGrant(waker: Waker): boolean {
    if (this.granted) {
      this.granted = false;
      this.waker = null;
      return true;
    }
    this.waker = waker;
    if (this.queued) return false;
    if (this.c.waiters.head === null && this.tryTake()) {
      this.waker = null;
      return true;
    }
    this.c.waiters.push(this);
    return false;
  }

  protected cancel(): void {
    const c = this.c;
    if (this.granted) {
      this.granted = false;
      if (this.write) c.releaseWrite();
      else c.releaseRead();
    } else {
      c.waiters.remove(this);
      c.dispatch();
    }
    this.waker = null;
  }
}

class ReadOp<T> extends RwOp<T, RwLockReadGuard<T>> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "read";
  }

  readonly write = false;
  protected tryTake(): boolean {
    if (this.c.writer) return false;
    this.c.readers++;
    return true;
  }
  protected poll(waker: Waker): Poll<RwLockReadGuard<T>> {
    return this.pollGrant(waker) ? makeRead(this.c) : PENDING;
  }
}

class WriteOp<T> extends RwOp<T, RwLockWriteGuard<T>> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "write";
  }

  readonly write = true;
  protected tryTake(): boolean {
    if (this.c.writer || this.c.readers !== 0) return false;
    this.c.writer = true;
    return true;
  }
  protected poll(waker: Waker): Poll<RwLockWriteGuard<T>> {
    return this.pollGrant(waker) ? makeWrite(this.c) : PENDING;
  }
}

/**
 * An asynchronous reader-writer lock holding a value of type `T`:
 * many readers or one writer, granted in FIFO order (a waiting writer blocks
 * new readers).
 *
 * @example
 * ```ts
 * import { RwLock } from "../mod.ts";
 * import { run } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const cfg = new RwLock({ port: 80 });
 * function* reader() {
 *   using g = yield* cfg.read();
 *   return g.value.port;
 * }
 * assert.equal(await run(reader), 80);
 * ```
 */
export class RwLock<T> {
  #c: RwCore<T>;

  /**
   * Make an unlocked RwLock guarding `value`.
   *
   * @param value the value the lock guards.
   */
  constructor(value: T) {
    this.#c = new RwCore(value);
  }

  /**
   * Wait for shared read access. Cancel-safe.
   *
   * @returns an operation (also awaitable) giving a read guard.
   * @example
   * ```ts
   * import { run, RwLock } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const lock = new RwLock("v");
   *   using g = yield* lock.read();
   *   assert.equal(g.value, "v");
   *   assert.equal(lock.tryWrite(), null); // a reader holds it
   * });
   * ```
   */
  read(): Leaf<RwLockReadGuard<T>> {
    return new ReadOp<T>(this.#c);
  }

  /**
   * Wait for exclusive write access. Cancel-safe.
   *
   * @returns an operation (also awaitable) giving the write guard.
   * @example
   * ```ts
   * import { run, RwLock } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const lock = new RwLock(0);
   *   const next = 7;
   *   {
   *     using g = yield* lock.write();
   *     g.value = next;
   *   }
   *   assert.equal(lock.tryRead()?.value, 7);
   * });
   * ```
   */
  write(): Leaf<RwLockWriteGuard<T>> {
    return new WriteOp<T>(this.#c);
  }

  /**
   * Read access now if no writer holds or waits for the lock; otherwise null.
   *
   * @returns a read guard, or null.
   * @example
   * ```ts
   * import { RwLock } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const l = new RwLock(1);
   * const a = l.tryRead(), b = l.tryRead();
   * assert.notEqual(a, null);
   * assert.notEqual(b, null);
   * assert.equal(l.tryWrite(), null);
   * a?.release(); b?.release();
   * ```
   */
  tryRead(): RwLockReadGuard<T> | null {
    const c = this.#c;
    if (c.writer || c.waiters.head !== null) return null;
    c.readers++;
    return makeRead(c);
  }

  /**
   * Write access now if the lock is free; otherwise null.
   *
   * @returns the write guard, or null.
   * @example
   * ```ts
   * import { RwLock } from "../mod.ts";
   * const l = new RwLock(1);
   * const w = l.tryWrite();
   * if (w) { w.value = 2; w.release(); }
   * ```
   */
  tryWrite(): RwLockWriteGuard<T> | null {
    const c = this.#c;
    if (c.writer || c.readers !== 0 || c.waiters.head !== null) return null;
    c.writer = true;
    return makeWrite(c);
  }

  /** How many read guards are live. */
  get readers(): number {
    return this.#c.readers;
  }

  /** True while a write guard is live (or being handed over). */
  get isWriteLocked(): boolean {
    return this.#c.writer;
  }
}
