/**
 * `Semaphore`: a counting semaphore with FIFO-fair, cancel-safe waiting.
 *
 * Invariant: `available` plus the permits held by live
 * {@linkcode SemaphorePermit}s plus the permits granted to waiters that have
 * not yet observed them equals the permits ever added (minus forgotten ones).
 * Waiters are served strictly in arrival order: a large request at the head
 * blocks smaller ones behind it (Tokio's semantics), so no request starves.
 * A cancelled waiter gives back what was granted to it; a cancelled head
 * lets the requests behind it be served. After `close()` every waiter and
 * every later acquire throws {@linkcode ClosedError}; permits still return.
 *
 * @module
 */

import { type Leaf, PENDING, type Poll } from "../runtime/operation.ts";
import { FastLeaf } from "./_fast_leaf.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { ClosedError } from "../runtime/errors.ts";
import { checkCount, type Waiter, WaitList } from "./_waitlist.ts";
import { trackResource } from "../runtime/instrument/resources.ts";

/**
 * The most permits a semaphore can hold (and one request can ask for).
 *
 * @example
 * ```ts
 * import { MAX_PERMITS, Semaphore } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const sem = new Semaphore(MAX_PERMITS);
 * assert.equal(sem.available, MAX_PERMITS);
 * assert.throws(() => sem.addPermits(1), RangeError);
 * assert.throws(() => new Semaphore(MAX_PERMITS + 1), RangeError);
 * ```
 */
export const MAX_PERMITS: number = 0x1fff_ffff;

class SemCore {
  available: number;
  closed = false;
  readonly waiters: WaitList<AcquireOp> = new WaitList();

  constructor(permits: number) {
    this.available = permits;
    trackResource(this, "semaphore", probeSemaphore);
  }

  release(n: number): void {
    this.available += n;
    if (this.available > MAX_PERMITS) {
      this.available -= n;
      throw new RangeError(`a semaphore holds at most ${MAX_PERMITS} permits`);
    }
    this.dispatch();
  }

  dispatch(): void {
    for (;;) {
      const w = this.waiters.head;
      if (w === null || w.n > this.available) return;
      this.waiters.shift();
      this.available -= w.n;
      w.granted = true;
      w.waker?.wake();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waiters.wakeAll();
  }
}

function probeSemaphore(c: SemCore): [number, string] {
  return [c.waiters.length, c.closed ? "closed" : `${c.available} permits free`];
}

let makePermit: (c: SemCore, n: number) => SemaphorePermit;

/**
 * Permits taken from a {@linkcode Semaphore}; `release()` (or the end of a
 * `using` block) gives them back, `forget()` drops them for good.
 *
 * @example
 * ```ts
 * import { run, Semaphore } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const sem = new Semaphore(3);
 * await run(function* () {
 *   using p = yield* sem.acquire(2);
 *   assert.equal(p.count, 2);
 *   assert.equal(sem.available, 1);
 * });
 * assert.equal(sem.available, 3); // given back at the end of the using block
 * ```
 */
export class SemaphorePermit implements Disposable {
  #c: SemCore | null = null;
  #n = 0;

  static {
    makePermit = (c: SemCore, n: number): SemaphorePermit => {
      const p = new SemaphorePermit();
      p.#c = c;
      p.#n = n;
      return p;
    };
  }

  private constructor() {}

  /** How many permits this holds (0 after release or forget). */
  get count(): number {
    return this.#n;
  }

  /** Give the permits back to the semaphore; later calls do nothing. */
  release(): void {
    const c = this.#c;
    if (c === null) return;
    this.#c = null;
    const n = this.#n;
    this.#n = 0;
    if (n !== 0) c.release(n);
  }

  /** Drop the permits without giving them back (the semaphore shrinks). */
  forget(): void {
    this.#c = null;
    this.#n = 0;
  }

  /** Same as {@linkcode SemaphorePermit.release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

class AcquireOp extends FastLeaf<SemaphorePermit> implements Waiter {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "acquire";
  }

  waker: Waker | null = null;
  before: Waiter | null = null;
  after: Waiter | null = null;
  queued = false;
  granted = false;
  readonly n: number;
  readonly #c: SemCore;

  constructor(c: SemCore, n: number) {
    super();
    this.#c = c;
    this.n = n;
  }

  protected tryFast(): Poll<SemaphorePermit> {
    const c = this.#c;
    if (c.closed || c.waiters.head !== null || c.available < this.n) return PENDING;
    c.available -= this.n;
    return makePermit(c, this.n);
  }

  protected poll(waker: Waker): Poll<SemaphorePermit> {
    const c = this.#c;
    if (this.granted) {
      this.granted = false;
      this.waker = null;
      return makePermit(c, this.n);
    }
    if (c.closed) {
      c.waiters.remove(this);
      this.waker = null;
      throw new ClosedError("the semaphore is closed");
    }
    this.waker = waker;
    if (this.queued) return PENDING;
    if (c.waiters.head === null && c.available >= this.n) {
      c.available -= this.n;
      this.waker = null;
      return makePermit(c, this.n);
    }
    c.waiters.push(this);
    return PENDING;
  }

  protected cancel(): void {
    const c = this.#c;
    this.waker = null;
    if (this.granted) {
      this.granted = false;
      c.release(this.n);
    } else if (this.queued) {
      const wasHead = c.waiters.head === this;
      c.waiters.remove(this);
      if (wasHead) c.dispatch();
    }
  }
}

/**
 * A counting semaphore: `acquire(n)` waits (FIFO) until `n` permits are
 * free and takes them.
 *
 * @example
 * ```ts
 * import { Semaphore } from "../mod.ts";
 * import { run, sleep, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const limit = new Semaphore(10);
 * let running = 0;
 * let peak = 0;
 * function* fetchOne() {
 *   using _p = yield* limit.acquire();
 *   peak = Math.max(peak, ++running); // at most 10 of these run at once
 *   yield* sleep(1);
 *   running--;
 * }
 * await run(function* () {
 *   const hs = Array.from({ length: 25 }, () => spawn(fetchOne));
 *   for (const h of hs) yield* h;
 * });
 * assert.equal(peak, 10);
 * ```
 */
export class Semaphore {
  /** The most permits a semaphore can hold. */
  static readonly MAX_PERMITS: number = MAX_PERMITS;
  #c: SemCore;

  /**
   * Make a semaphore with `permits` free permits (an integer, 0…MAX_PERMITS).
   *
   * @param permits the free permits to start with, an integer in 0…MAX_PERMITS.
   * @throws {RangeError} when `permits` is not such an integer.
   */
  constructor(permits: number) {
    checkCount(permits, MAX_PERMITS, "permits");
    this.#c = new SemCore(permits);
  }

  /**
   * Wait for `n` permits (FIFO) and take them. Throws RangeError for a bad
   * `n`, and ClosedError (from the operation) once the semaphore is closed.
   * Cancel-safe: a cancelled waiter takes nothing.
   *
   * @param n how many permits to take, an integer ≥ 1 (default 1).
   * @returns an operation (also awaitable) giving the permit; release it (or end its `using` block)
   *   to give them back.
   * @throws {RangeError} when `n` is bad.
   * @throws {ClosedError} (from the operation) once the semaphore is closed.
   * @example
   * ```ts
   * import { run, Semaphore } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const sem = new Semaphore(3);
   *   const work = () => assert.equal(sem.available, 0);
   *   const p = yield* sem.acquire(3);
   *   try {
   *     work();
   *   } finally {
   *     p.release();
   *   }
   *   assert.equal(sem.available, 3);
   * });
   * ```
   */
  acquire(n?: number): Leaf<SemaphorePermit> {
    n ??= 1;
    checkCount(n, MAX_PERMITS, "permits");
    return new AcquireOp(this.#c, n);
  }

  /**
   * Take `n` permits now if they are free and nobody waits ahead; otherwise
   * null. Throws ClosedError when closed, RangeError for a bad `n`.
   *
   * @param n how many permits to take (default 1).
   * @returns the permit, or null.
   * @throws {RangeError} when `n` is bad.
   * @throws {ClosedError} when the semaphore is closed.
   * @example
   * ```ts
   * import { Semaphore } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const s = new Semaphore(1);
   * const p = s.tryAcquire();
   * assert.notEqual(p, null);
   * assert.equal(s.tryAcquire(), null);
   * ```
   */
  tryAcquire(n?: number): SemaphorePermit | null {
    n ??= 1;
    checkCount(n, MAX_PERMITS, "permits");
    const c = this.#c;
    if (c.closed) throw new ClosedError("the semaphore is closed");
    if (c.waiters.head !== null || c.available < n) return null;
    c.available -= n;
    return makePermit(c, n);
  }

  /**
   * Add `n` permits (waking waiters that can now be served). RangeError if the
   * total would exceed MAX_PERMITS.
   *
   * @param n how many permits to add, an integer ≥ 0.
   * @throws {RangeError} when `n` is bad or the total would exceed MAX_PERMITS.
   * @example
   * ```ts
   * import { Semaphore } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const s = new Semaphore(0);
   * s.addPermits(2);
   * assert.equal(s.available, 2);
   * ```
   */
  addPermits(n: number): void {
    checkCount(n, MAX_PERMITS, "permits");
    this.#c.release(n);
  }

  /**
   * Close: every waiter and every later acquire throws ClosedError. Permits
   * already held may still be released.
   *
   * @example
   * ```ts
   * import { Semaphore } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const s = new Semaphore(1);
   * s.close();
   * assert.ok(s.isClosed);
   * ```
   */
  close(): void {
    this.#c.close();
  }

  /** True after `close()`. */
  get isClosed(): boolean {
    return this.#c.closed;
  }

  /** Free permits now. */
  get available(): number {
    return this.#c.available;
  }

  /** How many acquires wait. */
  get waiting(): number {
    return this.#c.waiters.length;
  }
}
