/**
 * `OnceCell<T>`: a value set at most once, with an asynchronous
 * single-flight initialiser.
 *
 * Invariant: the cell goes EMPTY → INITIALISING → SET, or back to EMPTY when
 * the initialiser throws or is cancelled. Exactly one `getOrInit` caller
 * runs its initialiser at a time; the others wait. On success every waiter
 * gets the value; on failure the right to initialise passes to the oldest
 * waiter (which runs its own initialiser), and if that waiter is cancelled
 * before it started, to the next one.
 *
 * @module
 */

import { GenOp, Leaf, type Operation, PENDING, type Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { call } from "../runtime/mod.ts";
import { type Waiter, WaitList } from "./_waitlist.ts";
import { isOperation, isPromiseLike } from "./_op.ts";

const EMPTY = 0;
const INIT = 1;
const SET = 2;

class CellCore<T> {
  state = EMPTY;
  value: T | undefined = undefined;
  readonly waiters: WaitList<InitWait<T>> = new WaitList();

  /** The initialiser failed or was cancelled: hand the right to initialise on. */
  handOff(): void {
    const w = this.waiters.shift();
    if (w === null) {
      this.state = EMPTY;
      return;
    }
    w.granted = true;
    w.waker?.wake();
  }
}

/** Waits while another caller initialises; returns true when handed the right to initialise. */
class InitWait<T> extends Leaf<boolean> implements Waiter {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "once-cell";
  }

  waker: Waker | null = null;
  before: Waiter | null = null;
  after: Waiter | null = null;
  queued = false;
  granted = false;
  readonly #c: CellCore<T>;

  constructor(c: CellCore<T>) {
    super();
    this.#c = c;
  }

  protected poll(waker: Waker): Poll<boolean> {
    if (this.granted) {
      this.granted = false;
      this.waker = null;
      return true;
    }
    const c = this.#c;
    if (c.state !== INIT) {
      c.waiters.remove(this);
      this.waker = null;
      return false;
    }
    this.waker = waker;
    if (!this.queued) c.waiters.push(this);
    return PENDING;
  }

  protected cancel(): void {
    this.waker = null;
    if (this.granted) {
      this.granted = false;
      this.#c.handOff();
    } else {
      this.#c.waiters.remove(this);
    }
  }
}

function* getOrInitBody<T>(
  c: CellCore<T>,
  init: () => Operation<T> | PromiseLike<T> | T,
): Generator<unknown, T, unknown> {
  for (;;) {
    if (c.state === SET) return c.value as T;
    if (c.state === EMPTY) {
      c.state = INIT;
      break;
    }
    if (yield* new InitWait(c)) break;
  }
  let ok = false;
  try {
    const r = init();
    let v: T;
    if (isPromiseLike(r)) v = (yield* call(Promise.resolve(r))) as T;
    else if (isOperation(r)) v = (yield* r) as T;
    else v = r as T;
    c.value = v;
    c.state = SET;
    ok = true;
    c.waiters.wakeAll();
    return v;
  } finally {
    if (!ok) c.handOff();
  }
}

/**
 * A cell written once; `getOrInit` runs a single initialiser even when many
 * tasks ask at the same time.
 *
 * @example
 * ```ts
 * import { OnceCell } from "../mod.ts";
 * import { run } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const config = new OnceCell<string>();
 * let loads = 0;
 * function* handler() {
 *   return yield* config.getOrInit(() => {
 *     loads++;
 *     return Promise.resolve("port=80"); // e.g. Deno.readTextFile("app.conf")
 *   });
 * }
 * assert.equal(await run(handler), "port=80");
 * assert.equal(await run(handler), "port=80");
 * assert.equal(loads, 1);
 * ```
 */
export class OnceCell<T> {
  #c: CellCore<T> = new CellCore<T>();

  /**
   * The value, or undefined when not set yet.
   *
   * @returns the value, or undefined.
   * @example
   * ```ts
   * import { OnceCell } from "../mod.ts";
   * import assert from "node:assert/strict";
   * assert.equal(new OnceCell<number>().get(), undefined);
   * ```
   */
  get(): T | undefined {
    return this.#c.state === SET ? this.#c.value : undefined;
  }

  /**
   * Set the value if the cell is empty and nobody is initialising it.
   * Returns true when this call set it, false otherwise (nothing changes).
   *
   * @param value the value to store.
   * @returns true when this call set the value.
   * @example
   * ```ts
   * import { OnceCell } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const c = new OnceCell<number>();
   * assert.ok(c.set(1));
   * assert.equal(c.set(2), false);
   * assert.equal(c.get(), 1);
   * ```
   */
  set(value: T): boolean {
    const c = this.#c;
    if (c.state !== EMPTY) return false;
    c.value = value;
    c.state = SET;
    return true;
  }

  /** True once a value is set. */
  get isSet(): boolean {
    return this.#c.state === SET;
  }

  /**
   * The value, initialising it with `init` first if the cell is empty.
   * `init` may return an operation, a promise, or a plain value (an array is a
   * plain value; a generator object is an operation). Concurrent callers wait
   * for the running initialiser; if it throws or is cancelled, the next
   * waiter initialises with its own `init`.
   *
   * @param init makes the value: returns an operation, a promise or a plain value.
   * @returns an operation (also awaitable) giving the value.
   * @throws {TypeError} when `init` is not a function; (from the operation) what `init` throws.
   * @example
   * ```ts
   * import { OnceCell, run, sleep } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const cell = new OnceCell<number>();
   *   const v = yield* cell.getOrInit(function* () {
   *     yield* sleep(10);
   *     return 42;
   *   });
   *   assert.equal(v, 42);
   *   assert.equal(cell.get(), 42);
   * });
   * ```
   */
  getOrInit(init: () => Operation<T> | PromiseLike<T> | T): Operation<T> & PromiseLike<T> {
    if (typeof init !== "function") throw new TypeError("getOrInit needs a function");
    const c = this.#c;
    return new GenOp(() => getOrInitBody(c, init));
  }
}
