/**
 * `Pool<T>`: a bounded pool of reusable resources (connections, usually),
 * after the pattern of the pools built on Tokio's semaphore: a
 * {@linkcode Semaphore} of `maxSize` permits bounds what is handed out,
 * `acquire()` gives a {@linkcode PoolGuard} that `using` gives back, idle
 * items past `idleTimeoutMs` are destroyed instead of reused, and broken
 * ones (`guard.discard()`, or `isBroken` says so) never return to the pool.
 *
 * Invariants:
 * - At most `maxSize` items exist at once (idle + in use + being created):
 *   each holds one permit from acquisition (or creation) until it is given
 *   back or destroyed.
 * - An item is handed to one guard at a time; a guard gives its item back
 *   once (a second release is a no-op).
 * - A failed `create` gives its permit back; the error reaches the caller.
 * - Idle items are reused newest first; the oldest are checked against the
 *   idle timeout on every acquire and release (there is no timer task, so
 *   an unused pool keeps its idle items until `close()` or its next use).
 *
 * @module
 */

import { call } from "../runtime/call.ts";
import { GenOp, type Operation } from "../runtime/operation.ts";
import { ClosedError } from "../runtime/errors.ts";
import { now } from "../time/sleep.ts";
import { isOperation, isPromiseLike } from "./_op.ts";
import { Semaphore, type SemaphorePermit } from "./semaphore.ts";

/**
 * Options of {@linkcode Pool}.
 *
 * @example
 * ```ts
 * import { Pool, type PoolOptions } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const options: PoolOptions<{ id: number }> = {
 *   create: () => ({ id: 1 }),
 *   maxSize: 4,
 *   idleTimeoutMs: 30_000,
 * };
 * assert.equal(new Pool(options).maxSize, 4);
 * ```
 */
export interface PoolOptions<T> {
  /** Make a new item: an operation, a promise or a value. */
  create: () => Operation<T> | PromiseLike<T> | T;
  /** Most items at once (≥ 1). */
  maxSize: number;
  /** An idle item older than this is destroyed instead of reused, ms (default: never). */
  idleTimeoutMs?: number;
  /** Checked when an item comes back: true drops it. */
  isBroken?: (item: T) => boolean;
  /** Release an item's resources (close a connection) when the pool drops it. */
  destroy?: (item: T) => void;
}

/** An idle item and when it was given back. */
interface Idle<T> {
  item: T;
  since: number;
}

/**
 * The item a {@linkcode Pool.acquire} handed out; `using` (or `release()`)
 * gives it back.
 *
 * @example
 * ```ts
 * import { Pool, type PoolGuard, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const pool = new Pool({ create: () => ({ n: 0 }), maxSize: 1 });
 * await run(function* () {
 *   using g: PoolGuard<{ n: number }> = yield* pool.acquire();
 *   g.value.n++;
 * });
 * assert.equal(pool.idle, 1); // given back at the end of the block
 * ```
 */
export class PoolGuard<T> implements Disposable {
  readonly #pool: Pool<T>;
  readonly #item: T;
  #permit: SemaphorePermit | null;
  #broken = false;

  /**
   * Internal: made by {@linkcode Pool.acquire}.
   *
   * @param pool the pool
   * @param item the item
   * @param permit the permit the item holds
   */
  constructor(pool: Pool<T>, item: T, permit: SemaphorePermit) {
    this.#pool = pool;
    this.#item = item;
    this.#permit = permit;
  }

  /**
   * The item.
   *
   * @throws {ClosedError} after the guard was released.
   */
  get value(): T {
    if (this.#permit === null) throw new ClosedError("the pool guard was released");
    return this.#item;
  }

  /** Mark the item broken: it is destroyed when released, never reused. */
  discard(): void {
    this.#broken = true;
  }

  /** Give the item back (or destroy it when broken). Idempotent. */
  release(): void {
    const permit = this.#permit;
    if (permit === null) return;
    this.#permit = null;
    this.#pool.giveBack(this.#item, this.#broken);
    permit.release();
  }

  /** Same as {@linkcode PoolGuard.release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * A pool of at most `maxSize` items, made on demand by `create`.
 *
 * @example
 * ```ts
 * import { Pool, run, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * let made = 0;
 * const pool = new Pool({ create: () => ({ id: ++made }), maxSize: 2 });
 * const seen = await run(function* () {
 *   const ids: number[] = [];
 *   const tasks = [1, 2, 3, 4].map(() =>
 *     spawn(function* () {
 *       using conn = yield* pool.acquire();
 *       ids.push(conn.value.id);
 *     })
 *   );
 *   for (const t of tasks) yield* t;
 *   return ids;
 * });
 * assert.equal(seen.length, 4);
 * assert.ok(made <= 2); // never more than maxSize items
 * ```
 */
export class Pool<T> {
  readonly #opts: PoolOptions<T>;
  readonly #sem: Semaphore;
  readonly #idle: Idle<T>[] = [];
  #live = 0;
  #closed = false;

  /**
   * Make an empty pool.
   *
   * @param options `create`, `maxSize`, and optionally `idleTimeoutMs`, `isBroken`, `destroy`
   * @throws {TypeError} when `create` is not a function.
   * @throws {RangeError} for a `maxSize` that is not a positive integer or a negative timeout.
   */
  constructor(options: PoolOptions<T>) {
    if (typeof options?.create !== "function") {
      throw new TypeError("Pool: create must be a function");
    }
    const max = options.maxSize;
    if (!Number.isSafeInteger(max) || max < 1 || max > Semaphore.MAX_PERMITS) {
      throw new RangeError(`Pool: maxSize must be a positive integer, got ${String(max)}`);
    }
    const idle = options.idleTimeoutMs;
    if (idle !== undefined && !(idle >= 0)) {
      throw new RangeError(`Pool: idleTimeoutMs must be >= 0, got ${String(idle)}`);
    }
    this.#opts = options;
    this.#sem = new Semaphore(max);
  }

  /** The most items at once. */
  get maxSize(): number {
    return this.#opts.maxSize;
  }

  /** Items that exist now (idle, in use or being created). */
  get size(): number {
    return this.#live;
  }

  /** Items waiting to be reused. */
  get idle(): number {
    return this.#idle.length;
  }

  /** Tasks waiting for an item. */
  get waiting(): number {
    return this.#sem.waiting;
  }

  /**
   * An item: an idle one (newest first), or a new one when fewer than
   * `maxSize` exist, or else the next one given back. Cancel-safe: a
   * cancelled acquire takes nothing.
   *
   * @returns an operation (also awaitable) giving a guard over the item
   * @throws {ClosedError} (when run) once the pool is closed.
   * @example
   * ```ts
   * import { Pool } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const pool = new Pool({ create: () => "conn", maxSize: 1 });
   * const g = await pool.acquire();
   * assert.equal(g.value, "conn");
   * assert.equal(pool.size, 1);
   * g.release();
   * ```
   */
  acquire(): Operation<PoolGuard<T>> & PromiseLike<PoolGuard<T>> {
    return new GenOp(() => this.#acquire());
  }

  *#acquire(): Generator<unknown, PoolGuard<T>, unknown> {
    if (this.#closed) throw new ClosedError("the pool is closed");
    const permit = yield* this.#sem.acquire();
    try {
      this.#prune();
      const idle = this.#idle.pop();
      if (idle !== undefined) return new PoolGuard(this, idle.item, permit);
      this.#live++;
      let item: T;
      try {
        item = yield* this.#create();
      } catch (e) {
        this.#live--;
        throw e;
      }
      if (this.#closed) {
        this.#live--;
        this.#opts.destroy?.(item);
        throw new ClosedError("the pool is closed");
      }
      return new PoolGuard(this, item, permit);
    } catch (e) {
      permit.release();
      throw e;
    }
  }

  *#create(): Generator<unknown, T, unknown> {
    const r = this.#opts.create();
    if (isOperation(r)) return yield* (r as Operation<T>);
    if (isPromiseLike(r)) return (yield* call(() => r as PromiseLike<T>)) as T;
    return r as T;
  }

  /** Drop idle items past the idle timeout (the oldest are at the bottom). */
  #prune(): void {
    const ttl = this.#opts.idleTimeoutMs;
    if (ttl === undefined || this.#idle.length === 0) return;
    const cutoff = now() - ttl;
    let n = 0;
    while (n < this.#idle.length && this.#idle[n].since <= cutoff) n++;
    if (n === 0) return;
    for (const d of this.#idle.splice(0, n)) this.#drop(d.item);
  }

  #drop(item: T): void {
    this.#live--;
    this.#opts.destroy?.(item);
  }

  /**
   * Internal: a guard gives its item back.
   *
   * @param item the item
   * @param broken the guard marked it broken
   */
  giveBack(item: T, broken: boolean): void {
    if (broken || this.#closed || this.#opts.isBroken?.(item) === true) this.#drop(item);
    else this.#idle.push({ item, since: now() });
    this.#prune();
  }

  /**
   * Close the pool: idle items are destroyed now, items in use when they
   * are given back; waiting and later acquires fail with ClosedError.
   * Idempotent.
   *
   * @example
   * ```ts
   * import { ClosedError, Pool } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const closed: string[] = [];
   * const pool = new Pool<string>({ create: () => "c", maxSize: 2, destroy: (c) => closed.push(c) });
   * (await pool.acquire()).release();
   * pool.close();
   * assert.deepEqual(closed, ["c"]);
   * await assert.rejects(async () => await pool.acquire(), ClosedError);
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sem.close();
    for (const d of this.#idle.splice(0)) this.#drop(d.item);
  }

  /** True once {@linkcode Pool.close} was called. */
  get isClosed(): boolean {
    return this.#closed;
  }
}
