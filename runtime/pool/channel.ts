/**
 * Cross-worker byte channel and notify over a SharedArrayBuffer.
 *
 * `sharedChannel(capacity)` is a single-producer single-consumer ring of
 * length-prefixed messages: `send(bytes)` copies a Uint8Array in (4-byte
 * little-endian length, then the bytes, wrapping at the end), `recv()` copies
 * one out. It is just a SharedArrayBuffer: post `channel.buffer` to a worker
 * and rebuild it there with `SharedChannel.from(buffer)`.
 *
 * Memory (int32 words): 0 head (bytes consumed, a wrapping counter, written by
 * the receiver), 16 tail (bytes produced, written by the sender), 32 closed,
 * 48 data sequence (bumped by the sender), 64 space sequence (bumped by the
 * receiver), 80/96 "receiver/sender is waiting" flags; bytes from offset 448.
 *
 * Invariants: `0 ≤ tail − head ≤ capacity`; bytes in `[head, tail)` are only
 * read by the receiver and bytes outside only written by the sender, each
 * ordered by the `Atomics.store` of tail/head that publishes them (JS Atomics
 * are sequentially consistent). A full channel makes `send` wait, an empty one
 * makes `recv` wait: first a short spin (`spin` checks, default 0), then
 * `Atomics.waitAsync` on the other side's sequence word, so the isolate is
 * never blocked and its timers and I/O keep running. A waiter announces itself
 * in its flag before re-checking the ring, so a peer that publishes after the
 * re-check sees the flag and notifies — no wake is lost.
 *
 * One sender and one receiver at a time (any threads); `close()` from either
 * side wakes both: the receiver drains what is left, then gets `null`.
 *
 * `SharedNotify` is a cross-worker Notify: `notifyOne()` stores one permit
 * (Tokio's semantics: a later `notified()` consumes it at once),
 * `notifyWaiters()` releases everyone waiting now.
 *
 * @module
 */

import { ClosedError } from "../errors.ts";
import { Leaf, PENDING, type Poll } from "../operation.ts";
import type { Waker } from "../task/waker.ts";
// `await channel.send(...)` outside a task runs the leaf on the ambient runtime.
import "../runtime.ts";

const HEAD = 0;
const TAIL = 16;
const CLOSED = 32;
const DATA_SEQ = 48;
const SPACE_SEQ = 64;
const RECV_WAITING = 80;
const SEND_WAITING = 96;
const DATA_OFFSET = 448;

/**
 * Options of {@link sharedChannel}.
 *
 * @example
 * ```ts
 * import { sharedChannel, type SharedChannelOptions } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const options: SharedChannelOptions = { spin: 64 };
 * const ch = sharedChannel(1024, options);
 * await ch.send(new Uint8Array([1, 2, 3]));
 * assert.deepEqual(await ch.recv(), new Uint8Array([1, 2, 3]));
 * ch.close();
 * ```
 */
export interface SharedChannelOptions {
  /** Busy checks before parking with `Atomics.waitAsync` (default 0). Spinning trades CPU for latency. */
  spin?: number;
}

/**
 * Re-check interval of a parked channel end. A `waitAsync` resolution is
 * posted to this isolate from another thread, and Deno does not always wake
 * an event loop that is asleep for it; so a parked end also re-checks on a
 * short timer and a lost notification costs at most this much latency.
 */
const RECHECK_MS = 20;
/** V8 drops the waiter after this, so re-checks leave no waiters behind. */
const WAIT_LIMIT_MS = 1000;

/** Start waiting on `i32[word]` while it equals `seen`; wake `waker` after. */
function waitOn(
  i32: Int32Array,
  word: number,
  seen: number,
  waker: Waker,
  token: { live: boolean },
) {
  const w = Atomics.waitAsync(i32, word, seen, WAIT_LIMIT_MS);
  if (!w.async) {
    waker.wake();
    return;
  }
  const timer = setTimeout(() => {
    if (token.live) waker.wake();
  }, RECHECK_MS);
  w.value.then(() => {
    clearTimeout(timer);
    if (token.live) waker.wake();
  });
}

/**
 * A single-producer single-consumer byte channel in a SharedArrayBuffer.
 *
 * @example
 * ```ts
 * import { run, sharedChannel } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const ch = sharedChannel(1024);
 * await ch.send(new Uint8Array([1, 2, 3]));
 * assert.deepEqual(await ch.recv(), new Uint8Array([1, 2, 3]));
 * ```
 */
export class SharedChannel implements Disposable {
  /** The shared memory: post it to a worker and call `SharedChannel.from` there. */
  readonly buffer: SharedArrayBuffer;
  /** Ring capacity in bytes (a power of two). */
  readonly capacity: number;
  /** Busy checks before parking. */
  spin: number;
  /** @internal */
  readonly i32: Int32Array;
  #u8: Uint8Array;
  #mask: number;

  /**
   * View an existing channel buffer (made by {@link sharedChannel}).
   *
   * @param buffer the channel's buffer.
   * @param options `spin`: polls before parking.
   * @throws {TypeError} when `buffer` is not a SharedArrayBuffer.
   * @throws {RangeError} when `buffer` is not a channel buffer, or `spin` is not a non-negative
   *   integer.
   */
  constructor(buffer: SharedArrayBuffer, options?: SharedChannelOptions) {
    options ??= {};
    if (!(buffer instanceof SharedArrayBuffer)) {
      throw new TypeError("SharedChannel: expected a SharedArrayBuffer");
    }
    const cap = buffer.byteLength - DATA_OFFSET;
    if (cap < 8 || (cap & (cap - 1)) !== 0) {
      throw new RangeError("SharedChannel: not a channel buffer (bad size)");
    }
    this.buffer = buffer;
    this.capacity = cap;
    this.spin = spinOption(options.spin);
    this.i32 = new Int32Array(buffer, 0, DATA_OFFSET / 4);
    this.#u8 = new Uint8Array(buffer, DATA_OFFSET, cap);
    this.#mask = cap - 1;
  }

  /**
   * Rebuild a channel from its buffer (in another worker).
   *
   * @param buffer the channel's buffer, as posted from another worker.
   * @param options `spin`: polls before parking.
   * @returns a view of the same channel.
   * @throws {TypeError} when `buffer` is not a SharedArrayBuffer.
   * @throws {RangeError} when `buffer` is not a channel buffer.
   * @example
   * ```ts
   * import { SharedChannel, sharedChannel } from "../../mod.ts";
   * import assert from "node:assert/strict";
   * const ch = sharedChannel(1024);
   * // In a worker: self.onmessage = (e) => { const ch = SharedChannel.from(e.data); };
   * const view = SharedChannel.from(ch.buffer);
   * view.trySend(new Uint8Array([9]));
   * assert.deepEqual(ch.tryRecv(), new Uint8Array([9]));
   * ```
   */
  static from(buffer: SharedArrayBuffer, options?: SharedChannelOptions): SharedChannel {
    return new SharedChannel(buffer, options);
  }

  /** True once either side closed it. */
  get closed(): boolean {
    return Atomics.load(this.i32, CLOSED) !== 0;
  }

  /** Bytes queued (length prefixes included), a snapshot. */
  get queuedBytes(): number {
    return (Atomics.load(this.i32, TAIL) - Atomics.load(this.i32, HEAD)) | 0;
  }

  /**
   * Send without waiting: false when there is no room now. Throws ClosedError
   * when closed, RangeError when `bytes` can never fit.
   *
   * @param bytes the message.
   * @returns true when sent, false when there is no room now.
   * @throws {TypeError} when `bytes` is not a Uint8Array.
   * @throws {RangeError} when `bytes` can never fit.
   * @throws {ClosedError} when the channel is closed.
   * @example
   * ```ts
   * import { run, sharedChannel } from "../../mod.ts";
   * import assert from "node:assert/strict";
   * const ch = sharedChannel(64);
   * const msg = new Uint8Array(8);
   * if (!ch.trySend(msg)) await ch.send(msg);
   * assert.ok(ch.queuedBytes > 0);
   * ```
   */
  trySend(bytes: Uint8Array): boolean {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("send: expected a Uint8Array");
    const len = bytes.length;
    if (len + 4 > this.capacity) {
      throw new RangeError(
        `send: a ${len}-byte message cannot fit a ${this.capacity}-byte channel`,
      );
    }
    const i32 = this.i32;
    if (Atomics.load(i32, CLOSED) !== 0) throw new ClosedError("channel closed", bytes);
    const tail = i32[TAIL]; // only the sender writes it
    const used = (tail - Atomics.load(i32, HEAD)) | 0;
    if (this.capacity - used < len + 4) return false;
    const u8 = this.#u8;
    const m = this.#mask;
    u8[tail & m] = len;
    u8[(tail + 1) & m] = len >>> 8;
    u8[(tail + 2) & m] = len >>> 16;
    u8[(tail + 3) & m] = len >>> 24;
    const at = (tail + 4) & m;
    const first = Math.min(len, this.capacity - at);
    if (len <= 16) {
      for (let k = 0; k < len; k++) u8[(at + k) & m] = bytes[k];
    } else {
      u8.set(first === len ? bytes : bytes.subarray(0, first), at);
      if (first < len) u8.set(bytes.subarray(first), 0);
    }
    Atomics.store(i32, TAIL, (tail + 4 + len) | 0);
    Atomics.add(i32, DATA_SEQ, 1);
    if (Atomics.load(i32, RECV_WAITING) !== 0) {
      Atomics.store(i32, RECV_WAITING, 0);
      Atomics.notify(i32, DATA_SEQ);
    }
    return true;
  }

  /**
   * Receive without waiting: a message, `undefined` when empty, `null` when
   * closed and drained.
   *
   * @returns the message, `undefined` when the channel is empty, `null` when closed and drained.
   * @example
   * ```ts
   * import { run, sharedChannel } from "../../mod.ts";
   * import assert from "node:assert/strict";
   * const ch = sharedChannel(64);
   * assert.equal(ch.tryRecv(), undefined); // empty
   * ch.trySend(new Uint8Array([1]));
   * assert.deepEqual(ch.tryRecv(), new Uint8Array([1]));
   * ch.close();
   * assert.equal(ch.tryRecv(), null); // closed and drained
   * ```
   */
  tryRecv(): Uint8Array | null | undefined {
    const i32 = this.i32;
    const head = i32[HEAD]; // only the receiver writes it
    if (Atomics.load(i32, TAIL) === head) {
      // Re-check after seeing "closed": a message published before the close is still delivered.
      if (Atomics.load(i32, CLOSED) !== 0 && Atomics.load(i32, TAIL) === head) return null;
      return undefined;
    }
    const u8 = this.#u8;
    const m = this.#mask;
    const len = (u8[head & m] | (u8[(head + 1) & m] << 8) | (u8[(head + 2) & m] << 16) |
      (u8[(head + 3) & m] << 24)) >>> 0;
    const at = (head + 4) & m;
    const out = new Uint8Array(len);
    if (len <= 16) {
      for (let k = 0; k < len; k++) out[k] = u8[(at + k) & m];
    } else {
      const first = Math.min(len, this.capacity - at);
      out.set(u8.subarray(at, at + first), 0);
      if (first < len) out.set(u8.subarray(0, len - first), first);
    }
    Atomics.store(i32, HEAD, (head + 4 + len) | 0);
    Atomics.add(i32, SPACE_SEQ, 1);
    if (Atomics.load(i32, SEND_WAITING) !== 0) {
      Atomics.store(i32, SEND_WAITING, 0);
      Atomics.notify(i32, SPACE_SEQ);
    }
    return out;
  }

  /**
   * Send `bytes`, waiting while the channel is full. Throws ClosedError when closed.
   *
   * @param bytes the message.
   * @returns an operation (also awaitable) that finishes once sent.
   * @throws {ClosedError} (from the operation) when the channel is closed.
   * @example
   * ```ts
   * import { run, sharedChannel } from "../../mod.ts";
   * import assert from "node:assert/strict";
   * const ch = sharedChannel(64);
   * await run(function* () {
   *   yield* ch.send(new TextEncoder().encode("hi"));
   * });
   * assert.equal(new TextDecoder().decode(ch.tryRecv() as Uint8Array), "hi");
   * ```
   */
  send(bytes: Uint8Array): SendShared {
    return new SendShared(this, bytes);
  }

  /**
   * Receive one message, waiting while empty; `null` once closed and drained.
   *
   * @returns an operation (also awaitable) giving the message, or `null` once closed and drained.
   * @example
   * ```ts
   * import { run, sharedChannel } from "../../mod.ts";
   * import assert from "node:assert/strict";
   * const ch = sharedChannel(64);
   * ch.trySend(new Uint8Array([1]));
   * ch.trySend(new Uint8Array([2]));
   * ch.close();
   * const got = await run(function* () {
   *   const out: number[] = [];
   *   for (let m = yield* ch.recv(); m !== null; m = yield* ch.recv()) out.push(m[0]);
   *   return out;
   * });
   * assert.deepEqual(got, [1, 2]);
   * ```
   */
  recv(): RecvShared {
    return new RecvShared(this);
  }

  /**
   * Close from either side: pending and future sends throw, the receiver
   * drains what is queued and then gets `null`.
   *
   * @example
   * ```ts
   * import { run, sharedChannel } from "../../mod.ts";
   * import assert from "node:assert/strict";
   * const ch = sharedChannel(64);
   * ch.close();
   * assert.equal(ch.closed, true);
   * assert.equal(await ch.recv(), null);
   * ```
   */
  close(): void {
    const i32 = this.i32;
    if (Atomics.exchange(i32, CLOSED, 1) !== 0) return;
    Atomics.add(i32, DATA_SEQ, 1);
    Atomics.add(i32, SPACE_SEQ, 1);
    Atomics.notify(i32, DATA_SEQ);
    Atomics.notify(i32, SPACE_SEQ);
  }

  /** `using ch = sharedChannel(n)`: close it on every path out of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function spinOption(spin: unknown): number {
  if (spin === undefined) return 0;
  if (typeof spin !== "number" || !Number.isInteger(spin) || spin < 0) {
    throw new RangeError(`spin must be a non-negative integer, got ${spin}`);
  }
  return spin;
}

/**
 * The send leaf of {@link SharedChannel} (`yield*` or `await` it).
 *
 * @example
 * ```ts
 * import { run, sharedChannel } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const ch = sharedChannel(64);
 * await ch.send(new Uint8Array(8));
 * assert.equal((await ch.recv())?.byteLength, 8);
 * ```
 */
export class SendShared extends Leaf<void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "shared.send";
  }

  #ch: SharedChannel;
  #bytes: Uint8Array;
  #token = { live: true };
  /**
   * Made by `SharedChannel.send`.
   *
   * @param ch the channel to send on.
   * @param bytes the message.
   */
  constructor(ch: SharedChannel, bytes: Uint8Array) {
    super();
    this.#ch = ch;
    this.#bytes = bytes;
  }
  /**
   * Try to finish; otherwise wait for the peer's wake.
   *
   * @param waker woken when room frees up.
   * @returns nothing once sent, or `PENDING`.
   * @throws {ClosedError} when the channel closed.
   */
  protected poll(waker: Waker): Poll<void> {
    const ch = this.#ch;
    if (ch.trySend(this.#bytes)) return undefined;
    for (let k = ch.spin; k > 0; k--) if (ch.trySend(this.#bytes)) return undefined;
    const i32 = ch.i32;
    Atomics.store(i32, SEND_WAITING, 1);
    const seen = Atomics.load(i32, SPACE_SEQ);
    if (ch.trySend(this.#bytes)) return undefined;
    this.#token.live = false;
    this.#token = { live: true };
    waitOn(i32, SPACE_SEQ, seen, waker, this.#token);
    return PENDING;
  }
  /** Stop waiting (the pending wake is ignored). */
  protected cancel(): void {
    this.#token.live = false;
  }
}

/**
 * The receive leaf of {@link SharedChannel} (`yield*` or `await` it).
 *
 * @example
 * ```ts
 * import { run, sharedChannel } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const ch = sharedChannel(64);
 * ch.trySend(new Uint8Array([5]));
 * const msg = await ch.recv();
 * assert.deepEqual(msg, new Uint8Array([5]));
 * ```
 */
export class RecvShared extends Leaf<Uint8Array | null> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "shared.recv";
  }

  #ch: SharedChannel;
  #token = { live: true };
  /**
   * Made by `SharedChannel.recv`.
   *
   * @param ch the channel to receive from.
   */
  constructor(ch: SharedChannel) {
    super();
    this.#ch = ch;
  }
  /**
   * Try to finish; otherwise wait for the peer's wake.
   *
   * @param waker woken when a message or the close arrives.
   * @returns the message, `null` once closed and drained, or `PENDING`.
   */
  protected poll(waker: Waker): Poll<Uint8Array | null> {
    const ch = this.#ch;
    let m = ch.tryRecv();
    if (m !== undefined) return m;
    for (let k = ch.spin; k > 0; k--) {
      m = ch.tryRecv();
      if (m !== undefined) return m;
    }
    const i32 = ch.i32;
    Atomics.store(i32, RECV_WAITING, 1);
    const seen = Atomics.load(i32, DATA_SEQ);
    m = ch.tryRecv();
    if (m !== undefined) return m;
    this.#token.live = false;
    this.#token = { live: true };
    waitOn(i32, DATA_SEQ, seen, waker, this.#token);
    return PENDING;
  }
  /** Stop waiting (the pending wake is ignored). */
  protected cancel(): void {
    this.#token.live = false;
  }
}

/**
 * Make a byte channel with a ring of at least `capacity` bytes (rounded up to
 * a power of two, minimum 64).
 *
 * @param capacity the ring's size in bytes (rounded up to a power of two, at least 64).
 * @param options `spin`: polls before parking.
 * @returns a new channel; post its `buffer` to another worker.
 * @throws {RangeError} when `capacity` is not a positive integer or above 2^30.
 * @example
 * ```ts
 * import { sharedChannel } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const ch = sharedChannel(4096);
 * // worker.postMessage(ch.buffer): the worker rebuilds it with SharedChannel.from
 * assert.ok(ch.buffer instanceof SharedArrayBuffer);
 * assert.throws(() => sharedChannel(0), RangeError);
 * ```
 */
export function sharedChannel(capacity: number, options?: SharedChannelOptions): SharedChannel {
  if (typeof capacity !== "number" || !Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`sharedChannel: capacity must be a positive integer, got ${capacity}`);
  }
  if (capacity > 1 << 30) throw new RangeError("sharedChannel: capacity above 2^30 bytes");
  let cap = 64;
  while (cap < capacity) cap *= 2;
  return new SharedChannel(new SharedArrayBuffer(DATA_OFFSET + cap), options);
}

const PERMIT = 0;
const WAITERS_GEN = 16;
const BELL = 32;

/**
 * A Notify that works across workers: `notifyOne()` leaves one permit for the
 * next `notified()` (or releases a current waiter), `notifyWaiters()` releases
 * every waiter present now. Post `notify.buffer`, rebuild with `new SharedNotify(buffer)`.
 *
 * @example
 * ```ts
 * import { SharedNotify } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const n = new SharedNotify();
 * n.notifyOne();
 * const t0 = performance.now();
 * await n.notified(); // returns at once: the permit was stored
 * assert.ok(performance.now() - t0 < 5_000);
 * ```
 */
export class SharedNotify {
  /** The shared memory (three int32 words on separate lines). */
  readonly buffer: SharedArrayBuffer;
  /** @internal */
  readonly i32: Int32Array;

  /**
   * A new notify, or a view of an existing one's buffer.
   *
   * @param buffer an existing notify's buffer, or none for a new one.
   * @throws {TypeError} when `buffer` is not a SharedArrayBuffer.
   * @throws {RangeError} when `buffer` is too small.
   */
  constructor(buffer?: SharedArrayBuffer) {
    if (buffer !== undefined && !(buffer instanceof SharedArrayBuffer)) {
      throw new TypeError("SharedNotify: expected a SharedArrayBuffer");
    }
    this.buffer = buffer ?? new SharedArrayBuffer(192);
    if (this.buffer.byteLength < 192) throw new RangeError("SharedNotify: buffer too small");
    this.i32 = new Int32Array(this.buffer, 0, 48);
  }

  /** Store a permit (at most one) and wake waiters so one of them takes it. */
  notifyOne(): void {
    Atomics.store(this.i32, PERMIT, 1);
    Atomics.add(this.i32, BELL, 1);
    Atomics.notify(this.i32, BELL);
  }

  /** Release every task waiting in `notified()` now (no permit is stored). */
  notifyWaiters(): void {
    Atomics.add(this.i32, WAITERS_GEN, 1);
    Atomics.add(this.i32, BELL, 1);
    Atomics.notify(this.i32, BELL);
  }

  /**
   * Wait for a notification (`yield*` or `await`).
   *
   * @returns an operation (also awaitable) that finishes when notified.
   */
  notified(): NotifiedShared {
    return new NotifiedShared(this);
  }
}

/**
 * The wait leaf of {@link SharedNotify}.
 *
 * @example
 * ```ts
 * import { run, SharedNotify } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const notify = new SharedNotify();
 * notify.notifyOne();
 * const v = await run(function* () {
 *   yield* notify.notified();
 *   return "notified";
 * });
 * assert.equal(v, "notified");
 * ```
 */
export class NotifiedShared extends Leaf<void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "shared.notified";
  }

  #n: SharedNotify;
  #gen = 0;
  #first = true;
  #token = { live: true };
  /**
   * Made by `SharedNotify.notified`.
   *
   * @param n the notify to wait on.
   */
  constructor(n: SharedNotify) {
    super();
    this.#n = n;
  }
  /**
   * Try to finish; otherwise wait for the peer's wake.
   *
   * @param waker woken when a notification arrives.
   * @returns nothing once notified, or `PENDING`.
   */
  protected poll(waker: Waker): Poll<void> {
    const i32 = this.#n.i32;
    const bell = Atomics.load(i32, BELL);
    if (this.#first) {
      this.#first = false;
      this.#gen = Atomics.load(i32, WAITERS_GEN);
    } else if (Atomics.load(i32, WAITERS_GEN) !== this.#gen) return undefined;
    if (Atomics.compareExchange(i32, PERMIT, 1, 0) === 1) return undefined;
    this.#token.live = false;
    this.#token = { live: true };
    waitOn(i32, BELL, bell, waker, this.#token);
    return PENDING;
  }
  /** Stop waiting (the pending wake is ignored). */
  protected cancel(): void {
    this.#token.live = false;
  }
}
