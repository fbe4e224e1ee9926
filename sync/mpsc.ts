/**
 * `mpsc`: multi-producer, single-consumer FIFO channels, bounded
 * ({@linkcode channel}) and unbounded ({@linkcode unbounded}).
 *
 * Invariant: messages live in a ring buffer (power-of-two size, grown by
 * doubling up to the capacity) and `len + reserved ≤ capacity`, where
 * `reserved` counts slots promised to {@linkcode Permit}s and to blocked
 * senders that were granted a slot but have not run yet. A freed slot is
 * handed straight to the oldest blocked sender, so senders are served in
 * FIFO order and a newcomer never overtakes a waiting one. Every waiter is
 * cancel-safe: a cancelled sender sends nothing and gives its granted slot to
 * the next; an unsent Permit returns its slot; a cancelled receiver takes no
 * message and passes its wake-up on.
 *
 * One Receiver, any number of tasks: several tasks may wait in `recv()` on
 * the same Receiver at once (a pool of consumers); each message goes to
 * exactly one of them. Only the Receiver object is single.
 *
 * Closing is by hand. JavaScript has no `Drop`, so a Sender nobody closes
 * keeps the channel open and its Receiver waits forever: close every Sender
 * (and Permit) when done — declare it with `using`, which closes it on every
 * path out of its scope, cancellation included — or call `close()` in a
 * `finally`. Every Sender, UnboundedSender, Permit and Receiver is
 * `Disposable`.
 *
 * End of stream is `undefined`: `recv()` gives `undefined` once the channel
 * is closed (every Sender and Permit closed, or the Receiver closed) and
 * drained. Therefore `undefined` cannot be sent (TypeError). `send` into a
 * channel whose Receiver closed throws {@linkcode ClosedError} carrying the
 * value; `trySend` returns `false` when the channel is full (a result, not an
 * error: it is the common case) and throws ClosedError when it is closed.
 * Using a Sender after its own `close()` throws ClosedError at the call.
 *
 * Fast paths allocate nothing beyond the operation object: a `send` with room
 * writes into the ring and returns on its first poll; a `recv` with a message
 * ready returns it on its first poll.
 *
 * @example
 * ```ts
 * import { mpsc, run, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [tx, rx] = mpsc.channel<number>(2);
 * const total = await run(function* () {
 *   const producer = spawn(function* () {
 *     for (let i = 1; i <= 5; i++) yield* tx.send(i); // waits while 2 are queued
 *     tx.close();
 *   });
 *   let sum = 0;
 *   for (let v = yield* rx.recv(); v !== undefined; v = yield* rx.recv()) sum += v;
 *   yield* producer;
 *   return sum;
 * });
 * assert.equal(total, 15);
 * ```
 *
 * @module
 */

import { type Leaf, PENDING, type Poll } from "../runtime/operation.ts";
import { FastLeaf } from "./_fast_leaf.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { ClosedError } from "../runtime/errors.ts";
import { type Waiter, WaitList } from "./_waitlist.ts";
import { checkSendable } from "./_sendable.ts";
import { trackResource } from "../runtime/instrument/resources.ts";

let makeSender: <T>(c: Chan<T>) => Sender<T>;
let makeUnboundedSender: <T>(c: Chan<T>) => UnboundedSender<T>;
let makeReceiver: <T>(c: Chan<T>) => Receiver<T>;
let makePermit: <T>(c: Chan<T>) => Permit<T>;
const MAX_CAPACITY = 0x4000_0000;
const INITIAL_RING = 32;

function probeChan(c: Chan<unknown>): [number, string] {
  const queued = c.cap === Infinity ? `${c.len} queued` : `${c.len}/${c.cap} queued`;
  return [c.sendWaiters.length + c.recvWaiters.length, queued];
}

class Chan<T> {
  buf: (T | undefined)[];
  mask: number;
  head = 0;
  len = 0;
  reserved = 0;
  senders = 1;
  rxClosed = false;
  readonly cap: number;
  readonly limit: number;
  readonly sendWaiters: WaitList<SlotNode> = new WaitList();
  readonly recvWaiters: WaitList<RecvNode> = new WaitList();

  constructor(cap: number) {
    this.cap = cap;
    this.limit = cap === Infinity ? MAX_CAPACITY : nextPow2(cap);
    const size = Math.min(this.limit, INITIAL_RING);
    this.buf = new Array(size).fill(undefined);
    this.mask = size - 1;
    trackResource(this, "mpsc", probeChan);
  }

  get recvClosed(): boolean {
    return this.rxClosed || (this.senders === 0 && this.reserved === 0);
  }

  push(v: T): void {
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) & this.mask] = v;
    this.len++;
    const w = this.recvWaiters.head;
    if (w !== null) {
      this.recvWaiters.shift();
      w.woken = true;
      w.waker?.wake();
    }
  }

  pop(): T {
    const h = this.head;
    const v = this.buf[h] as T;
    this.buf[h] = undefined;
    this.head = (h + 1) & this.mask;
    this.len--;
    if (this.sendWaiters.head !== null) this.grantSlot();
    return v;
  }

  grow(): void {
    const old = this.buf;
    const n = old.length;
    if (n >= this.limit) throw new RangeError("the channel is full");
    const next = new Array<T | undefined>(n * 2).fill(undefined);
    for (let i = 0; i < this.len; i++) next[i] = old[(this.head + i) & this.mask];
    this.buf = next;
    this.head = 0;
    this.mask = n * 2 - 1;
  }

  /** A slot is free and someone waits: promise it to the oldest waiter. */
  grantSlot(): void {
    const w = this.sendWaiters.shift();
    if (w === null) return;
    this.reserved++;
    w.granted = true;
    w.waker?.wake();
  }

  /** Give back a reserved slot. */
  unreserve(): void {
    this.reserved--;
    if (this.sendWaiters.head !== null) this.grantSlot();
    else if (this.reserved === 0 && this.senders === 0) this.recvWaiters.wakeAll();
  }

  /** Count a clone of a Sender; throws ClosedError when that Sender is `closed`. */
  addSender(closed: boolean): void {
    if (closed) throw new ClosedError("cannot clone a closed Sender");
    this.senders++;
  }

  dropSender(): void {
    if (--this.senders === 0 && this.reserved === 0) this.recvWaiters.wakeAll();
  }

  closeRx(): void {
    if (this.rxClosed) return;
    this.rxClosed = true;
    this.sendWaiters.wakeAll();
    this.recvWaiters.wakeAll();
  }
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function closedError<T>(v: T): ClosedError<T> {
  return new ClosedError("the channel is closed", v);
}

/** The queue node of a sender waiting for a slot (made only when it must wait). */
class SlotNode implements Waiter {
  waker: Waker | null = null;
  before: Waiter | null = null;
  after: Waiter | null = null;
  queued = false;
  granted = false;
}

/** Waits for a slot: `send` (then writes its value) and `reserve` (then makes a Permit). */
abstract class SlotOp<T, R> extends FastLeaf<R> {
  // Assigned in the constructor, not as class fields: a base class with class
  // fields keeps V8 from inlining its subclasses' construction (see Leaf).
  declare readonly c: Chan<T>;
  declare node: SlotNode | null;

  constructor(c: Chan<T>) {
    super();
    this.c = c;
    this.node = null;
  }

  /** Finish holding a slot (reserved already counted). */
  protected abstract done(): R;
  /** The value to report in a ClosedError. */
  protected abstract undelivered(): T | undefined;

  protected tryFast(): Poll<R> {
    // No waker needed: free room implies nobody waits (slots are handed to
    // waiters as soon as they free up).
    const c = this.c;
    if (c.len + c.reserved >= c.cap || c.rxClosed) return PENDING;
    c.reserved++;
    return this.done();
  }

  protected poll(waker: Waker): Poll<R> {
    const c = this.c;
    let n = this.node;
    if (c.rxClosed) {
      if (n !== null) {
        if (n.granted) {
          n.granted = false;
          c.reserved--;
        }
        c.sendWaiters.remove(n);
        n.waker = null;
      }
      throw closedError(this.undelivered());
    }
    if (n !== null) {
      if (n.granted) {
        n.granted = false;
        n.waker = null;
        return this.done();
      }
      n.waker = waker;
      if (n.queued) return PENDING;
    }
    if (c.sendWaiters.head === null && c.len + c.reserved < c.cap) {
      c.reserved++;
      if (n !== null) n.waker = null;
      return this.done();
    }
    if (n === null) n = this.node = new SlotNode();
    n.waker = waker;
    c.sendWaiters.push(n);
    return PENDING;
  }

  protected cancel(): void {
    const n = this.node;
    if (n === null) return;
    n.waker = null;
    if (n.granted) {
      n.granted = false;
      this.c.unreserve();
    } else {
      this.c.sendWaiters.remove(n);
    }
  }
}

class SendOp<T> extends SlotOp<T, void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "mpsc.send";
  }

  readonly value: T;
  constructor(c: Chan<T>, value: T) {
    super(c);
    this.value = value;
  }
  protected done(): void {
    this.c.reserved--;
    this.c.push(this.value);
  }
  protected undelivered(): T {
    return this.value;
  }
}

class ReserveOp<T> extends SlotOp<T, Permit<T>> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "mpsc.reserve";
  }

  protected done(): Permit<T> {
    return makePermit(this.c);
  }
  protected undelivered(): undefined {
    return undefined;
  }
}

/**
 * A reserved slot in a bounded channel: `send(v)` fills it without waiting;
 * `release()` (or the end of a `using` block) returns it unsent.
 *
 * @example
 * ```ts
 * import { mpsc, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   const [tx, rx] = mpsc.channel<number>(1);
 *   const compute = () => 42;
 *   {
 *     using permit = yield* tx.reserve(); // the slot is held: trySend now fails
 *     assert.equal(tx.trySend(0), false);
 *     permit.send(compute());
 *   }
 *   assert.equal(rx.tryRecv(), 42);
 * });
 * ```
 */
export class Permit<T> implements Disposable {
  #c: Chan<T> | null = null;

  static {
    makePermit = <T>(c: Chan<T>): Permit<T> => {
      const p = new Permit<T>();
      p.#c = c;
      return p;
    };
  }

  private constructor() {}

  /**
   * Send `value` into the reserved slot. Throws ClosedError (carrying the
   * value) if the Receiver closed meanwhile, TypeError if this Permit was
   * already used or `value` is undefined.
   *
   * @param value the message (not `undefined`).
   * @throws {ClosedError} (carrying the value) when the Receiver closed.
   * @throws {TypeError} when this Permit was already used or `value` is undefined.
   */
  send(value: T): void {
    const c = this.#c;
    if (c === null) throw new TypeError("this Permit was already used or released");
    checkSendable(value);
    this.#c = null;
    if (c.rxClosed) {
      c.unreserve();
      throw closedError(value);
    }
    c.reserved--;
    c.push(value);
  }

  /** Return the slot unsent; later calls do nothing. */
  release(): void {
    const c = this.#c;
    if (c === null) return;
    this.#c = null;
    c.unreserve();
  }

  /** Same as {@linkcode Permit.release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/** The queue node of a waiting receiver (made only when it must wait). */
class RecvNode implements Waiter {
  waker: Waker | null = null;
  before: Waiter | null = null;
  after: Waiter | null = null;
  queued = false;
  /** Picked by a push to take a message; must pass the wake-up on if it leaves. */
  woken = false;
}

class RecvOp<T, R> extends FastLeaf<R> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "mpsc.recv";
  }

  readonly c: Chan<T>;
  readonly out: T[] | null;
  readonly limit: number;
  node: RecvNode | null = null;

  constructor(c: Chan<T>, out: T[] | null, limit: number) {
    super();
    this.c = c;
    this.out = out;
    this.limit = limit;
  }

  protected tryFast(): Poll<R> {
    const c = this.c;
    if (c.len === 0 || this.out !== null) return PENDING;
    return c.pop() as unknown as R;
  }

  protected poll(waker: Waker): Poll<R> {
    const c = this.c;
    const n = this.node;
    if (this.limit === 0) return 0 as R;
    if (c.len > 0) {
      if (n !== null) {
        c.recvWaiters.remove(n);
        n.woken = false;
        n.waker = null;
      }
      const out = this.out;
      if (out === null) return c.pop() as unknown as R;
      let k = 0;
      while (k < this.limit && c.len > 0) {
        out.push(c.pop());
        k++;
      }
      return k as R;
    }
    if (c.recvClosed) {
      if (n !== null) {
        c.recvWaiters.remove(n);
        n.woken = false;
        n.waker = null;
      }
      return (this.out === null ? undefined : 0) as R;
    }
    const m = n ?? (this.node = new RecvNode());
    m.waker = waker;
    m.woken = false;
    if (!m.queued) c.recvWaiters.push(m);
    return PENDING;
  }

  protected cancel(): void {
    const n = this.node;
    if (n === null) return;
    const c = this.c;
    n.waker = null;
    if (n.queued) {
      c.recvWaiters.remove(n);
    } else if (n.woken) {
      // We were picked to take a message and are leaving: pass the wake-up on.
      n.woken = false;
      const w = c.recvWaiters.head;
      if (w !== null && (c.len > 0 || c.recvClosed)) {
        c.recvWaiters.shift();
        w.woken = true;
        w.waker?.wake();
      }
    }
  }
}

/**
 * The sending half of a bounded channel. Clone it for more producers; the
 * channel closes for the receiver when every clone (and every Permit) is
 * closed.
 *
 * @example
 * ```ts
 * import { mpsc, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   const [tx, rx] = mpsc.channel<string>(16);
 *   yield* tx.send("hello");
 *   assert.equal(yield* rx.recv(), "hello");
 * });
 * ```
 */
export class Sender<T> implements Disposable {
  #c: Chan<T>;
  #closed = false;

  /** Made by {@linkcode channel}; not for users. */
  private constructor(c: Chan<T>) {
    this.#c = c;
  }

  static {
    makeSender = <T>(c: Chan<T>): Sender<T> => new Sender(c);
  }

  /**
   * Send `value`, waiting for room (FIFO among blocked senders). Throws
   * ClosedError (with the value) when the Receiver is closed. Cancel-safe: a
   * cancelled send sends nothing.
   *
   * @param value the message (not `undefined`).
   * @returns an operation (also awaitable) that finishes once the message is queued.
   * @throws {ClosedError} (carrying the value) when the Receiver is closed.
   * @throws {TypeError} when `value` is undefined.
   * @example
   * ```ts
   * import { ClosedError, mpsc, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const [tx, rx] = mpsc.channel<number>(1);
   *   yield* tx.send(42);
   *   assert.equal(rx.tryRecv(), 42);
   *   rx.close();
   *   let refused: unknown;
   *   try {
   *     yield* tx.send(1);
   *   } catch (e) {
   *     refused = e;
   *   }
   *   assert.ok(refused instanceof ClosedError); // carrying the value
   *   assert.equal(refused.value, 1);
   * });
   * ```
   */
  send(value: T): Leaf<void> {
    if (this.#closed) throw closedError(value);
    checkSendable(value);
    return new SendOp(this.#c, value);
  }

  /**
   * Send now if there is room: true when sent, false when the channel is full.
   * Throws ClosedError (with the value) when the channel is closed.
   *
   * @param value the message (not `undefined`).
   * @returns true when sent, false when the channel is full.
   * @throws {ClosedError} (carrying the value) when the channel is closed.
   * @throws {TypeError} when `value` is undefined.
   * @example
   * ```ts
   * import { channel } from "./mpsc.ts";
   * import assert from "node:assert/strict";
   * const [tx, rx] = channel<number>(1);
   * assert.ok(tx.trySend(1));
   * assert.equal(tx.trySend(2), false);
   * assert.equal(rx.tryRecv(), 1);
   * ```
   */
  trySend(value: T): boolean {
    const c = this.#c;
    if (this.#closed || c.rxClosed) throw closedError(value);
    checkSendable(value);
    if (c.sendWaiters.head !== null || c.len + c.reserved >= c.cap) return false;
    c.push(value);
    return true;
  }

  /**
   * Wait for a slot and hold it as a {@linkcode Permit}; an unsent Permit
   * returns the slot. Throws ClosedError when the Receiver is closed.
   *
   * @returns an operation (also awaitable) giving the Permit.
   * @throws {ClosedError} when the Receiver is closed.
   * @example
   * ```ts
   * import { mpsc, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const [tx, rx] = mpsc.channel<number>(4);
   *   const permit = yield* tx.reserve();
   *   permit.send(1);
   *   assert.equal(rx.tryRecv(), 1);
   * });
   * ```
   */
  reserve(): Leaf<Permit<T>> {
    if (this.#closed) throw closedError(undefined);
    return new ReserveOp<T>(this.#c);
  }

  /**
   * A reserved slot now, or null when the channel is full. Throws ClosedError
   * when closed.
   *
   * @returns the Permit, or null when the channel is full.
   * @throws {ClosedError} when the channel is closed.
   * @example
   * ```ts
   * import { channel } from "./mpsc.ts";
   * const [tx] = channel<number>(1);
   * const p = tx.tryReserve();
   * p?.send(5);
   * ```
   */
  tryReserve(): Permit<T> | null {
    const c = this.#c;
    if (this.#closed || c.rxClosed) throw closedError(undefined);
    if (c.sendWaiters.head !== null || c.len + c.reserved >= c.cap) return null;
    c.reserved++;
    return makePermit(c);
  }

  /**
   * Another Sender for the same channel.
   *
   * @returns the new Sender.
   * @throws {ClosedError} when this Sender is closed.
   * @example
   * ```ts
   * import { channel } from "./mpsc.ts";
   * const [tx] = channel<number>(4);
   * const tx2 = tx.clone();
   * tx2.close();
   * ```
   */
  clone(): Sender<T> {
    this.#c.addSender(this.#closed);
    return new Sender(this.#c);
  }

  /** Close this Sender; the channel ends once every Sender is closed. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#c.dropSender();
  }

  /** Same as {@linkcode Sender.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** True when this Sender was closed or the Receiver closed. */
  get isClosed(): boolean {
    return this.#closed || this.#c.rxClosed;
  }

  /** Free slots now (capacity minus queued messages and reserved slots). */
  get capacity(): number {
    const c = this.#c;
    return Math.max(0, c.cap - c.len - c.reserved);
  }

  /** The capacity the channel was made with. */
  get maxCapacity(): number {
    return this.#c.cap;
  }
}

/**
 * The sending half of an unbounded channel: `send` never waits.
 *
 * @example
 * ```ts
 * import { unbounded } from "./mpsc.ts";
 * import assert from "node:assert/strict";
 * const [tx, rx] = unbounded<string>();
 * tx.send("a");
 * assert.equal(rx.tryRecv(), "a");
 * ```
 */
export class UnboundedSender<T> implements Disposable {
  #c: Chan<T>;
  #closed = false;

  private constructor(c: Chan<T>) {
    this.#c = c;
  }

  static {
    makeUnboundedSender = <T>(c: Chan<T>): UnboundedSender<T> => new UnboundedSender(c);
  }

  /**
   * Queue `value` now. Throws ClosedError (with the value) when the channel is
   * closed, TypeError for `undefined`.
   *
   * @param value the message (not `undefined`).
   * @throws {ClosedError} (carrying the value) when the channel is closed.
   * @throws {TypeError} when `value` is undefined.
   */
  send(value: T): void {
    const c = this.#c;
    if (this.#closed || c.rxClosed) throw closedError(value);
    checkSendable(value);
    c.push(value);
  }

  /**
   * Another sender for the same channel.
   *
   * @returns the new sender.
   * @throws {ClosedError} when this sender is closed.
   * @example
   * ```ts
   * import { unbounded } from "./mpsc.ts";
   * const [tx] = unbounded<number>();
   * tx.clone().close();
   * ```
   */
  clone(): UnboundedSender<T> {
    this.#c.addSender(this.#closed);
    return new UnboundedSender(this.#c);
  }

  /** Close this sender; the channel ends once every sender is closed. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#c.dropSender();
  }

  /** Same as {@linkcode UnboundedSender.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** True when this sender was closed or the Receiver closed. */
  get isClosed(): boolean {
    return this.#closed || this.#c.rxClosed;
  }
}

/**
 * The receiving half of a channel (bounded or unbounded).
 *
 * In a task: `let v; while ((v = yield* rx.recv()) !== undefined) use(v);`
 * Outside: `for await (const v of rx) use(v);`
 *
 * @example
 * ```ts
 * import { mpsc, run, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   const [tx, rx] = mpsc.channel<number>(8);
 *   spawn(function* () {
 *     for (const n of [1, 2, 3]) yield* tx.send(n);
 *     tx.close();
 *   });
 *   let total = 0;
 *   let v: number | undefined;
 *   while ((v = yield* rx.recv()) !== undefined) total += v;
 *   assert.equal(total, 6);
 * });
 * ```
 */
export class Receiver<T> implements Disposable, AsyncIterable<T> {
  #c: Chan<T>;

  private constructor(c: Chan<T>) {
    this.#c = c;
  }

  static {
    makeReceiver = <T>(c: Chan<T>): Receiver<T> => new Receiver(c);
  }

  /**
   * The next message, waiting for one; `undefined` once the channel is
   * closed and drained. Cancel-safe: a cancelled recv takes no message.
   *
   * @returns an operation (also awaitable) giving the message, or `undefined` at the end.
   * @example
   * ```ts
   * import { mpsc, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const [tx, rx] = mpsc.channel<string>(1);
   *   tx.trySend("x");
   *   const v = yield* rx.recv();
   *   assert.equal(v, "x");
   *   tx.close();
   *   assert.equal(yield* rx.recv(), undefined); // closed and drained
   * });
   * ```
   */
  recv(): Leaf<T | undefined> {
    return new RecvOp<T, T | undefined>(this.#c, null, 1);
  }

  /**
   * Wait for at least one message, then move up to `limit` queued messages
   * into `buf` (appended). Gives how many were moved: 0 only when the channel
   * is closed and drained, or `limit` is 0.
   *
   * @param buf the array the messages are appended to.
   * @param limit the most messages to move, an integer ≥ 0.
   * @returns an operation (also awaitable) giving how many messages were moved.
   * @throws {TypeError} when `buf` is not an array.
   * @throws {RangeError} when `limit` is not a non-negative integer.
   * @example
   * ```ts
   * import { mpsc, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const [tx, rx] = mpsc.channel<number>(8);
   *   for (const n of [1, 2, 3]) tx.trySend(n);
   *   const batch: number[] = [];
   *   const n = yield* rx.recvMany(batch, 64);
   *   assert.equal(n, 3);
   *   assert.deepEqual(batch, [1, 2, 3]);
   * });
   * ```
   */
  recvMany(buf: T[], limit: number): Leaf<number> {
    if (!Array.isArray(buf)) throw new TypeError("recvMany needs an array");
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(`limit must be a non-negative integer, got ${String(limit)}`);
    }
    return new RecvOp<T, number>(this.#c, buf, limit);
  }

  /**
   * The next message if one is queued now, else undefined (empty or closed:
   * tell them apart with {@linkcode Receiver.isClosed}).
   *
   * @returns the message, or undefined.
   * @example
   * ```ts
   * import { channel } from "./mpsc.ts";
   * import assert from "node:assert/strict";
   * const [tx, rx] = channel<number>(2);
   * tx.trySend(7);
   * assert.equal(rx.tryRecv(), 7);
   * assert.equal(rx.tryRecv(), undefined);
   * ```
   */
  tryRecv(): T | undefined {
    const c = this.#c;
    return c.len > 0 ? c.pop() : undefined;
  }

  /**
   * Close the receiving side: senders fail from now on; messages already
   * queued can still be received. Idempotent.
   *
   * @example
   * ```ts
   * import { channel } from "./mpsc.ts";
   * import assert from "node:assert/strict";
   * const [tx, rx] = channel<number>(2);
   * rx.close();
   * assert.ok(tx.isClosed);
   * ```
   */
  close(): void {
    this.#c.closeRx();
  }

  /** Same as {@linkcode Receiver.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** True when no more messages can arrive (queued ones may remain). */
  get isClosed(): boolean {
    return this.#c.recvClosed;
  }

  /** Messages queued now. */
  get length(): number {
    return this.#c.len;
  }

  /**
   * Receive until the channel is closed and drained (for use outside tasks).
   *
   * @returns an async iterator of the messages.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const v = await this.recv();
      if (v === undefined) return;
      yield v;
    }
  }
}

/**
 * A bounded channel holding at most `capacity` messages (an integer ≥ 1);
 * `send` waits while it is full.
 *
 * @param capacity the most messages the channel holds, an integer ≥ 1.
 * @returns the sender and the receiver.
 * @throws {RangeError} when `capacity` is not an integer ≥ 1 or is above the maximum.
 * @example
 * ```ts
 * import { channel } from "./mpsc.ts";
 * import assert from "node:assert/strict";
 * const [tx, rx] = channel<number>(16);
 * tx.trySend(1);
 * assert.equal(rx.tryRecv(), 1);
 * ```
 */
export function channel<T>(capacity: number): [Sender<T>, Receiver<T>] {
  if (typeof capacity !== "number" || !Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`capacity must be an integer ≥ 1, got ${String(capacity)}`);
  }
  if (capacity > MAX_CAPACITY) {
    throw new RangeError(`capacity must be at most ${MAX_CAPACITY}, got ${capacity}`);
  }
  const c = new Chan<T>(capacity);
  return [makeSender(c), makeReceiver(c)];
}

/**
 * An unbounded channel: `send` never waits (memory is the limit).
 *
 * @returns the sender and the receiver.
 * @example
 * ```ts
 * import { unbounded } from "./mpsc.ts";
 * import assert from "node:assert/strict";
 * const [tx, rx] = unbounded<number>();
 * tx.send(1);
 * assert.equal(rx.tryRecv(), 1);
 * ```
 */
export function unbounded<T>(): [UnboundedSender<T>, Receiver<T>] {
  const c = new Chan<T>(Infinity);
  return [makeUnboundedSender(c), makeReceiver(c)];
}
