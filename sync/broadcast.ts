/**
 * `broadcast`: a multi-producer, multi-consumer channel where every receiver
 * sees every message, with a bounded history.
 *
 * Invariant: messages get consecutive sequence numbers; the channel retains
 * the last `capacity` of them in a ring. Each receiver keeps the sequence
 * number it reads next. A receiver that fell behind by more than `capacity`
 * gets one {@linkcode LaggedError} whose `missed` counts the dropped
 * messages, and then continues from the oldest retained one. `send` never
 * waits. End of stream is `undefined` (as for `mpsc`): `recv()` gives it once
 * every Sender is closed and this receiver has read everything retained.
 *
 * @module
 */

import type { Leaf, Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { ClosedError } from "../runtime/errors.ts";
import { FanOut, FanOutWait, type ReceiverState } from "./_fanout.ts";
import { checkSendable } from "./_sendable.ts";

/**
 * Thrown by a broadcast `recv()` when the receiver fell behind and `missed`
 * messages were overwritten; the next `recv()` gives the oldest retained one.
 *
 * @example
 * ```ts
 * import { LaggedError } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const e = new LaggedError(3);
 * assert.equal(e.missed, 3);
 * assert.equal(e.name, "LaggedError");
 * ```
 */
export class LaggedError extends Error {
  /** How many messages this receiver missed. */
  readonly missed: number;
  /**
   * Make one for `missed` skipped messages.
   *
   * @param missed how many messages the receiver skipped.
   */
  constructor(missed: number) {
    super(`the broadcast receiver lagged and missed ${missed} message(s)`);
    this.name = "LaggedError";
    this.missed = missed;
  }
}

let makeSender: <T>(c: BCore<T>) => BroadcastSender<T>;
let makeReceiver: <T>(c: BCore<T>, next: number) => BroadcastReceiver<T>;

class BCore<T> extends FanOut {
  readonly ring: (T | undefined)[];
  readonly cap: number;
  tail = 0;

  constructor(cap: number) {
    super();
    this.cap = cap;
    this.ring = new Array(cap).fill(undefined);
  }
}

interface RxState extends ReceiverState {
  next: number;
}

/**
 * Check that `rx` is open (else ClosedError); if it fell behind the ring,
 * move it to the oldest retained message and give how many it missed (0 if
 * it did not).
 */
function catchUp<T>(c: BCore<T>, rx: RxState): number {
  if (rx.closed) throw new ClosedError("this broadcast receiver is closed");
  const oldest = c.tail - c.cap;
  if (rx.next >= oldest) return 0;
  const missed = oldest - rx.next;
  rx.next = oldest;
  return missed;
}

class RecvOp<T> extends FanOutWait<T | undefined, BCore<T>> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "broadcast.recv";
  }

  readonly #rx: RxState;

  constructor(c: BCore<T>, rx: RxState) {
    super(c);
    this.#rx = rx;
  }

  protected poll(waker: Waker): Poll<T | undefined> {
    const c = this.core;
    const rx = this.#rx;
    const missed = catchUp(c, rx);
    if (missed > 0) {
      this.settle();
      throw new LaggedError(missed);
    }
    if (rx.next < c.tail) {
      this.settle();
      return c.ring[rx.next++ % c.cap];
    }
    if (c.senders === 0) {
      this.settle();
      return undefined;
    }
    return this.park(waker);
  }
}

/**
 * The sending half of a broadcast channel; `send` never waits.
 *
 * @example
 * ```ts
 * import { broadcast } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [tx, rx] = broadcast.channel<string>(8);
 * tx.send("hi");
 * assert.equal(rx.tryRecv(), "hi");
 * ```
 */
export class BroadcastSender<T> implements Disposable {
  #c: BCore<T>;
  #closed = false;

  private constructor(c: BCore<T>) {
    this.#c = c;
  }

  static {
    makeSender = <T>(c: BCore<T>): BroadcastSender<T> => new BroadcastSender(c);
  }

  /**
   * Send `value` to every receiver; gives how many receivers there are.
   * Throws ClosedError (with the value) when there is no receiver or this
   * sender is closed, TypeError for `undefined`.
   *
   * @param value the message (not `undefined`).
   * @returns how many receivers there are.
   * @throws {ClosedError} (carrying the value) when there is no receiver or this sender is closed.
   * @throws {TypeError} when `value` is undefined.
   */
  send(value: T): number {
    const c = this.#c;
    checkSendable(value);
    if (this.#closed || c.receivers === 0) {
      throw new ClosedError("the broadcast channel has no receiver", value);
    }
    c.ring[c.tail % c.cap] = value;
    c.tail++;
    c.waiters.wakeAll();
    return c.receivers;
  }

  /**
   * A new receiver that sees messages sent from now on.
   *
   * @returns the new receiver.
   * @example
   * ```ts
   * import { broadcast } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const [tx, rx] = broadcast.channel<number>(4);
   * const rx2 = tx.subscribe();
   * tx.send(1);
   * assert.equal(rx.tryRecv(), 1);
   * assert.equal(rx2.tryRecv(), 1);
   * ```
   */
  subscribe(): BroadcastReceiver<T> {
    return makeReceiver(this.#c, this.#c.tail);
  }

  /**
   * Another sender for the same channel.
   *
   * @returns the new sender.
   * @throws {ClosedError} when this sender is closed.
   * @example
   * ```ts
   * import { broadcast } from "../mod.ts";
   * const [tx] = broadcast.channel<number>(4);
   * tx.clone().close();
   * ```
   */
  clone(): BroadcastSender<T> {
    this.#c.addSender(this.#closed);
    return new BroadcastSender(this.#c);
  }

  /** Close this sender; receivers end once every sender is closed. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#c.dropSender();
  }

  /** Same as {@linkcode BroadcastSender.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** How many open receivers there are. */
  get receiverCount(): number {
    return this.#c.receivers;
  }
}

/**
 * A receiving half of a broadcast channel. Each receiver reads every
 * message from its subscription on.
 *
 * @example
 * ```ts
 * import { broadcast, LaggedError, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [tx, rx] = broadcast.channel<number>(2);
 * for (let i = 1; i <= 3; i++) tx.send(i); // capacity 2: the receiver lags by one
 * tx.close();
 * const got = await run(function* () {
 *   const out: number[] = [];
 *   let v;
 *   while (true) {
 *     try {
 *       if ((v = yield* rx.recv()) === undefined) break;
 *       out.push(v);
 *     } catch (e) {
 *       if (e instanceof LaggedError) continue;
 *       throw e;
 *     }
 *   }
 *   return out;
 * });
 * assert.deepEqual(got, [2, 3]);
 * ```
 */
export class BroadcastReceiver<T> implements Disposable {
  #c: BCore<T>;
  #rx: RxState;

  private constructor(c: BCore<T>, next: number) {
    this.#c = c;
    this.#rx = { next, closed: false };
    c.receivers++;
  }

  static {
    makeReceiver = <T>(c: BCore<T>, next: number): BroadcastReceiver<T> =>
      new BroadcastReceiver(c, next);
  }

  /**
   * The next message, waiting for one; `undefined` once every sender closed
   * and this receiver read all retained messages. Throws LaggedError when it
   * fell behind. Cancel-safe: a cancelled recv consumes nothing.
   *
   * @returns an operation (also awaitable) giving the message, or `undefined` at the end.
   * @throws {LaggedError} (from the operation) when this receiver fell behind.
   * @throws {ClosedError} when this receiver is closed.
   * @example
   * ```ts
   * import { broadcast, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const [tx, rx] = broadcast.channel<string>(4);
   *   tx.send("a");
   *   const v = yield* rx.recv();
   *   assert.equal(v, "a");
   * });
   * ```
   */
  recv(): Leaf<T | undefined> {
    return new RecvOp(this.#c, this.#rx);
  }

  /**
   * The next message if there is one now, else undefined. Throws LaggedError
   * like `recv()`.
   *
   * @returns the message, or undefined.
   * @throws {LaggedError} when this receiver fell behind.
   * @throws {ClosedError} when this receiver is closed.
   * @example
   * ```ts
   * import { broadcast } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const [, rx] = broadcast.channel<number>(4);
   * assert.equal(rx.tryRecv(), undefined);
   * ```
   */
  tryRecv(): T | undefined {
    const c = this.#c;
    const rx = this.#rx;
    const missed = catchUp(c, rx);
    if (missed > 0) throw new LaggedError(missed);
    if (rx.next < c.tail) return c.ring[rx.next++ % c.cap];
    return undefined;
  }

  /**
   * A new receiver starting at the newest position (sees later messages only).
   *
   * @returns the new receiver.
   * @example
   * ```ts
   * import { broadcast } from "../mod.ts";
   * const [, rx] = broadcast.channel<number>(4);
   * rx.resubscribe().close();
   * ```
   */
  resubscribe(): BroadcastReceiver<T> {
    return makeReceiver(this.#c, this.#c.tail);
  }

  /** Stop receiving (senders no longer count this receiver). Idempotent. */
  close(): void {
    this.#c.dropReceiver(this.#rx);
  }

  /** Same as {@linkcode BroadcastReceiver.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Messages sent and not yet read by this receiver (may exceed capacity when lagging). */
  get length(): number {
    return this.#c.tail - this.#rx.next;
  }
}

/**
 * A broadcast channel retaining the last `capacity` messages:
 * `broadcast.channel(n)`, as Tokio's `broadcast::channel(n)`.
 *
 * @param capacity how many messages it keeps for slow receivers (an integer, 1…2^30).
 * @returns the sender and a first receiver (more come from `tx.subscribe()`).
 * @throws {RangeError} for a bad `capacity`.
 *
 * @example
 * ```ts
 * import { broadcast } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [tx, rx1] = broadcast.channel<string>(16);
 * const rx2 = tx.subscribe();
 * tx.send("x");
 * assert.equal(rx1.tryRecv(), "x");
 * assert.equal(rx2.tryRecv(), "x");
 * ```
 */
export function channel<T>(capacity: number): [BroadcastSender<T>, BroadcastReceiver<T>] {
  if (
    typeof capacity !== "number" || !Number.isInteger(capacity) || capacity < 1 ||
    capacity > 0x4000_0000
  ) {
    throw new RangeError(`capacity must be an integer in 1…2^30, got ${String(capacity)}`);
  }
  const c = new BCore<T>(capacity);
  return [makeSender(c), makeReceiver(c, 0)];
}
