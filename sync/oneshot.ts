/**
 * `oneshot`: a channel for exactly one value, from one sender to one
 * receiver.
 *
 * Invariant: the channel resolves once — to the sent value, or to closed
 * (the sender closed without sending, or the receiver closed). The receiver
 * is itself an operation and a PromiseLike: each `yield* rx` / `await rx`
 * waits afresh, so a receive cancelled by `select` can be retried and loses
 * nothing. A closed sender makes the receiver throw {@linkcode ClosedError}.
 *
 * @module
 */

import { Leaf, type Operation, PENDING, type Poll, toPromise } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { ClosedError } from "../runtime/errors.ts";

const OPEN = 0;
const SENT = 1;
const TAKEN = 2;
const CLOSED = 3;

class OneCore<T> {
  state = OPEN;
  value: T | undefined = undefined;
  rxWaker: Waker | null = null;
  rxOp: RecvOp<T> | null = null;
  txWaker: Waker | null = null;
  txOp: ClosedOp<T> | null = null;
  rxClosed = false;

  wakeRx(): void {
    const w = this.rxWaker;
    this.rxWaker = null;
    this.rxOp = null;
    w?.wake();
  }

  wakeTx(): void {
    const w = this.txWaker;
    this.txWaker = null;
    this.txOp = null;
    w?.wake();
  }
}

class RecvOp<T> extends Leaf<T> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "oneshot.recv";
  }

  readonly #c: OneCore<T>;
  constructor(c: OneCore<T>) {
    super();
    this.#c = c;
  }
  protected poll(waker: Waker): Poll<T> {
    const c = this.#c;
    if (c.state === SENT) {
      if (c.rxOp === this) c.rxOp = c.rxWaker = null;
      const v = c.value as T;
      c.value = undefined;
      c.state = TAKEN;
      return v;
    }
    if (c.state === TAKEN) throw new TypeError("the oneshot value was already received");
    if (c.state === CLOSED) {
      if (c.rxOp === this) c.rxOp = c.rxWaker = null;
      throw new ClosedError("the oneshot sender closed without sending");
    }
    c.rxOp = this;
    c.rxWaker = waker;
    return PENDING;
  }
  protected cancel(): void {
    const c = this.#c;
    if (c.rxOp === this) c.rxOp = c.rxWaker = null;
  }
}

class ClosedOp<T> extends Leaf<void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "oneshot.closed";
  }

  readonly #c: OneCore<T>;
  constructor(c: OneCore<T>) {
    super();
    this.#c = c;
  }
  protected poll(waker: Waker): Poll<void> {
    const c = this.#c;
    if (c.rxClosed) {
      if (c.txOp === this) c.txOp = c.txWaker = null;
      return;
    }
    c.txOp = this;
    c.txWaker = waker;
    return PENDING;
  }
  protected cancel(): void {
    const c = this.#c;
    if (c.txOp === this) c.txOp = c.txWaker = null;
  }
}

let makePair: <T>() => [OneshotSender<T>, OneshotReceiver<T>];

/**
 * Sends the one value of a {@linkcode oneshot} channel.
 *
 * @example
 * ```ts
 * import { oneshot } from "../mod.ts";
 * const [tx] = oneshot.channel<number>();
 * tx.send(1);
 * ```
 */
export class OneshotSender<T> implements Disposable {
  #c: OneCore<T>;

  private constructor(c: OneCore<T>) {
    this.#c = c;
  }

  static {
    makePair = <T>(): [OneshotSender<T>, OneshotReceiver<T>] => {
      const c = new OneCore<T>();
      return [new OneshotSender(c), newReceiver(c)];
    };
  }

  /**
   * Send the value. Throws ClosedError (carrying the value) when the receiver
   * closed, and TypeError when a value was already sent or this sender was
   * closed.
   *
   * @param value the value.
   * @throws {ClosedError} (carrying the value) when the receiver closed.
   * @throws {TypeError} when a value was already sent or this sender was closed.
   */
  send(value: T): void {
    const c = this.#c;
    if (c.state !== OPEN) throw new TypeError("this oneshot sender was already used");
    if (c.rxClosed) throw new ClosedError("the oneshot receiver is closed", value);
    c.value = value;
    c.state = SENT;
    c.wakeRx();
  }

  /** Close without sending: the receiver then throws ClosedError. Idempotent. */
  close(): void {
    const c = this.#c;
    if (c.state !== OPEN) return;
    c.state = CLOSED;
    c.wakeRx();
  }

  /** Same as {@linkcode OneshotSender.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** True when the receiver closed (a send would fail). */
  get isClosed(): boolean {
    return this.#c.rxClosed;
  }

  /**
   * Wait until the receiver closes (to stop computing an unwanted value).
   *
   * @returns an operation (also awaitable) that finishes when the receiver closes.
   * @example
   * ```ts
   * import { oneshot, run, sleep, spawn } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const [tx, rx] = oneshot.channel<number>();
   *   spawn(function* () {
   *     yield* sleep(1);
   *     rx.close(); // the receiver no longer wants the value
   *   });
   *   yield* tx.closed();
   *   assert.throws(() => tx.send(1)); // ClosedError: nobody would receive it
   * });
   * ```
   */
  closed(): Leaf<void> {
    return new ClosedOp(this.#c);
  }
}

let newReceiver: <T>(c: OneCore<T>) => OneshotReceiver<T>;

/**
 * Receives the value of a {@linkcode oneshot} channel: `yield* rx` or
 * `await rx`. Throws ClosedError when the sender closed without sending.
 *
 * @example
 * ```ts
 * import { oneshot } from "../mod.ts"; // loads the runtime that runs `await rx`
 * import assert from "node:assert/strict";
 * const [tx, rx] = oneshot.channel<string>();
 * tx.send("done");
 * assert.equal(await rx, "done");
 * ```
 */
export class OneshotReceiver<T> implements Operation<T>, PromiseLike<T>, Disposable {
  #c: OneCore<T>;

  private constructor(c: OneCore<T>) {
    this.#c = c;
  }

  static {
    newReceiver = <T>(c: OneCore<T>): OneshotReceiver<T> => new OneshotReceiver(c);
  }

  /**
   * A fresh wait for the value (what `yield* rx` runs).
   *
   * @returns an iterator that finishes with the value.
   * @throws {ClosedError} (from the iterator) when the sender closed without sending.
   */
  [Symbol.iterator](): Iterator<unknown, T, unknown> {
    return new RecvOp(this.#c);
  }

  /**
   * Wait for the value as a promise.
   *
   * @param onfulfilled called with the value.
   * @param onrejected called with the error (a ClosedError when the sender closed without sending).
   * @returns a promise of what the called handler returns.
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return toPromise<T>(this).then(onfulfilled, onrejected);
  }

  /**
   * The value if it was sent, else undefined (throws ClosedError when the
   * sender closed without sending).
   *
   * @returns the value, or undefined when it was not sent yet.
   * @throws {ClosedError} when the sender closed without sending.
   * @throws {TypeError} when the value was already received.
   * @example
   * ```ts
   * import { oneshot } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const [tx, rx] = oneshot.channel<number>();
   * tx.send(3);
   * assert.equal(rx.tryRecv(), 3);
   * ```
   */
  tryRecv(): T | undefined {
    const c = this.#c;
    if (c.state === SENT) {
      const v = c.value as T;
      c.value = undefined;
      c.state = TAKEN;
      return v;
    }
    if (c.state === CLOSED) {
      throw new ClosedError("the oneshot sender closed without sending");
    }
    return undefined;
  }

  /** Refuse the value: the sender's `send` fails from now on. Idempotent. */
  close(): void {
    const c = this.#c;
    if (c.rxClosed) return;
    c.rxClosed = true;
    c.wakeTx();
  }

  /** Same as {@linkcode OneshotReceiver.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A channel for one value: `oneshot.channel()`, as Tokio's `oneshot::channel()`.
 *
 * @returns the sender and the receiver.
 *
 * @example
 * ```ts
 * import { oneshot } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [tx, rx] = oneshot.channel<number>();
 * tx.send(42);
 * assert.equal(rx.tryRecv(), 42);
 * ```
 */
export function channel<T>(): [OneshotSender<T>, OneshotReceiver<T>] {
  return makePair<T>();
}
