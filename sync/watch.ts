/**
 * `watch`: a single-value channel; receivers see the latest value and are
 * told when it changed.
 *
 * Invariant: the channel holds one value and a version number bumped by
 * every send. Each receiver remembers the version it last saw; `changed()`
 * completes as soon as the current version differs (so many sends between
 * two `changed()` calls coalesce into one wake) and marks it seen. Once
 * every sender is closed, `changed()` still reports a pending change, then
 * throws {@linkcode ClosedError}.
 *
 * @module
 */

import type { Leaf, Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { ClosedError } from "../runtime/errors.ts";
import { FanOut, FanOutWait, type ReceiverState } from "./_fanout.ts";

let makeSender: <T>(c: WCore<T>) => WatchSender<T>;
let makeReceiver: <T>(c: WCore<T>, seen: number) => WatchReceiver<T>;

class WCore<T> extends FanOut {
  value: T;
  version = 0;
  constructor(value: T) {
    super();
    this.value = value;
  }
  bump(): void {
    this.version++;
    this.waiters.wakeAll();
  }
}

interface RxState extends ReceiverState {
  seen: number;
}

class ChangedOp<T> extends FanOutWait<void, WCore<T>> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "watch.changed";
  }

  readonly #rx: RxState;

  constructor(c: WCore<T>, rx: RxState) {
    super(c);
    this.#rx = rx;
  }

  protected poll(waker: Waker): Poll<void> {
    const c = this.core;
    if (this.#rx.closed) throw new ClosedError("this watch receiver is closed");
    if (c.version !== this.#rx.seen) {
      this.#rx.seen = c.version;
      this.settle();
      return;
    }
    if (c.senders === 0) {
      this.settle();
      throw new ClosedError("every watch sender is closed");
    }
    return this.park(waker);
  }
}

/**
 * The sending half of a watch channel.
 *
 * @example
 * ```ts
 * import { watch } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [tx, rx] = watch.channel("idle");
 * tx.send("busy");
 * assert.equal(rx.borrow(), "busy");
 * ```
 */
export class WatchSender<T> implements Disposable {
  #c: WCore<T>;
  #closed = false;

  private constructor(c: WCore<T>) {
    this.#c = c;
  }

  static {
    makeSender = <T>(c: WCore<T>): WatchSender<T> => new WatchSender(c);
  }

  /**
   * Replace the value and notify receivers. Throws ClosedError (with the
   * value) when no receiver is open or this sender is closed; use
   * {@linkcode WatchSender.sendReplace} to update regardless.
   *
   * @param value the new value.
   * @throws {ClosedError} (carrying the value) when no receiver is open or this sender is closed.
   */
  send(value: T): void {
    const c = this.#c;
    if (this.#closed || c.receivers === 0) {
      throw new ClosedError("the watch channel has no receiver", value);
    }
    c.value = value;
    c.bump();
  }

  /**
   * Replace the value (even with no receiver) and notify; gives the old one.
   *
   * @param value the new value.
   * @returns the old value.
   * @throws {ClosedError} when this sender is closed.
   * @example
   * ```ts
   * import { watch } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const [tx] = watch.channel(1);
   * assert.equal(tx.sendReplace(2), 1);
   * assert.equal(tx.borrow(), 2);
   * ```
   */
  sendReplace(value: T): T {
    if (this.#closed) throw new ClosedError("this watch sender is closed", value);
    const c = this.#c;
    const old = c.value;
    c.value = value;
    c.bump();
    return old;
  }

  /**
   * Modify the value with `fn` and notify (even with no receiver). `fn` may
   * mutate the value in place and return undefined, or return the new value.
   *
   * @param fn changes the value in place (returning undefined), or returns the new one.
   * @throws {ClosedError} when this sender is closed.
   * @example
   * ```ts
   * import { watch } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const [tx] = watch.channel({ n: 0 });
   * tx.sendModify((s) => { s.n++; });
   * assert.equal(tx.borrow().n, 1);
   * ```
   */
  sendModify(fn: (value: T) => T | void): void {
    if (this.#closed) throw new ClosedError("this watch sender is closed");
    const c = this.#c;
    const r = fn(c.value);
    if (r !== undefined) c.value = r as T;
    c.bump();
  }

  /**
   * The current value.
   *
   * @returns the current value.
   */
  borrow(): T {
    return this.#c.value;
  }

  /**
   * A new receiver that has seen the current value.
   *
   * @returns the new receiver.
   * @example
   * ```ts
   * import { watch } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const [tx] = watch.channel(0);
   * const rx = tx.subscribe();
   * assert.equal(rx.hasChanged, false);
   * ```
   */
  subscribe(): WatchReceiver<T> {
    return makeReceiver(this.#c, this.#c.version);
  }

  /**
   * Another sender for the same channel.
   *
   * @returns the new sender.
   * @example
   * ```ts
   * import { watch } from "../mod.ts";
   * const [tx] = watch.channel(0);
   * tx.clone().close();
   * ```
   */
  clone(): WatchSender<T> {
    this.#c.addSender(this.#closed);
    return new WatchSender(this.#c);
  }

  /** Close this sender; receivers' `changed()` fails once every sender closed. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#c.dropSender();
  }

  /** Same as {@linkcode WatchSender.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** How many open receivers there are. */
  get receiverCount(): number {
    return this.#c.receivers;
  }
}

/**
 * A receiving half of a watch channel.
 *
 * @example
 * ```ts
 * import { run, sleep, spawn, watch } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [tx, rx] = watch.channel("v1");
 * const applied = await run(function* () {
 *   const seen: string[] = [];
 *   const h = spawn(function* () {
 *     for (;;) {
 *       try {
 *         yield* rx.changed();
 *       } catch {
 *         return; // every sender closed
 *       }
 *       seen.push(rx.borrow());
 *     }
 *   });
 *   yield* sleep(1);
 *   tx.send("v2");
 *   yield* sleep(1);
 *   tx.close();
 *   yield* h;
 *   return seen;
 * });
 * assert.deepEqual(applied, ["v2"]);
 * ```
 */
export class WatchReceiver<T> implements Disposable {
  #c: WCore<T>;
  #rx: RxState;

  private constructor(c: WCore<T>, seen: number) {
    this.#c = c;
    this.#rx = { seen, closed: false };
    c.receivers++;
  }

  static {
    makeReceiver = <T>(c: WCore<T>, seen: number): WatchReceiver<T> => new WatchReceiver(c, seen);
  }

  /**
   * The current value (does not mark it seen).
   *
   * @returns the current value.
   */
  borrow(): T {
    return this.#c.value;
  }

  /**
   * The current value, marking it seen.
   *
   * @returns the current value.
   * @example
   * ```ts
   * import { watch } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const [tx, rx] = watch.channel(1);
   * tx.send(2);
   * assert.equal(rx.borrowAndUpdate(), 2);
   * assert.equal(rx.hasChanged, false);
   * ```
   */
  borrowAndUpdate(): T {
    this.#rx.seen = this.#c.version;
    return this.#c.value;
  }

  /** True when the value changed since this receiver last saw it. */
  get hasChanged(): boolean {
    return this.#rx.seen !== this.#c.version;
  }

  /**
   * Wait until the value changes from the one last seen, and mark it seen.
   * Throws ClosedError once every sender closed and no change is pending.
   * Cancel-safe.
   *
   * @returns an operation (also awaitable) that finishes on a change.
   * @throws {ClosedError} (from the operation) when every sender closed and no change is pending,
   *   or this receiver is closed.
   * @example
   * ```ts
   * import { run, sleep, spawn, watch } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const [tx, rx] = watch.channel(0);
   *   spawn(function* () {
   *     yield* sleep(1);
   *     tx.send(1);
   *   });
   *   yield* rx.changed();
   *   assert.equal(rx.borrow(), 1);
   * });
   * ```
   */
  changed(): Leaf<void> {
    return new ChangedOp(this.#c, this.#rx);
  }

  /** Mark the current value seen. */
  markUnchanged(): void {
    this.#rx.seen = this.#c.version;
  }

  /** Mark the value unseen, so the next `changed()` completes at once. */
  markChanged(): void {
    this.#rx.seen = this.#c.version - 1;
  }

  /**
   * Another receiver with the same seen version.
   *
   * @returns the new receiver.
   * @example
   * ```ts
   * import { watch } from "../mod.ts";
   * const [, rx] = watch.channel(0);
   * rx.clone().close();
   * ```
   */
  clone(): WatchReceiver<T> {
    return makeReceiver(this.#c, this.#rx.seen);
  }

  /** Stop receiving. Idempotent. */
  close(): void {
    this.#c.dropReceiver(this.#rx);
  }

  /** Same as {@linkcode WatchReceiver.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A watch channel holding `initial`; the first receiver has seen it:
 * `watch.channel(v)`, as Tokio's `watch::channel(v)`.
 *
 * @param initial the value the channel starts with.
 * @returns the sender and a first receiver (more come from `tx.subscribe()`).
 *
 * @example
 * ```ts
 * import { watch } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [tx, rx] = watch.channel(0);
 * tx.send(1);
 * assert.ok(rx.hasChanged);
 * assert.equal(rx.borrow(), 1);
 * ```
 */
export function channel<T>(initial: T): [WatchSender<T>, WatchReceiver<T>] {
  const c = new WCore(initial);
  return [makeSender(c), makeReceiver(c, 0)];
}
