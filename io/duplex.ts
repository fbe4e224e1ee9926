/**
 * `duplex(capacity)`: an in-memory, two-way byte pipe — two connected
 * {@linkcode DuplexStream} ends, each a {@linkcode Reader} and a
 * {@linkcode Writer}. For tests of protocol code without sockets, and for
 * joining two tasks with a byte stream.
 *
 * Invariants:
 * - Each direction is a ring of `capacity` bytes. A write takes what fits
 *   and suspends while the ring is full (that is the backpressure); a read
 *   takes what is there and suspends while it is empty.
 * - Cancel safety: a read or write either completed on the poll that
 *   returned (bytes moved) or moved nothing; `writeAll` moves bytes as room
 *   appears, and a cancelled one has delivered exactly the prefix it copied.
 * - `shutdown()` ends this end's writing direction: the other end reads
 *   what is left, then `null`. `close()` ends both directions: the other
 *   end's writes throw `IoError` "EPIPE", its reads give what is left then
 *   `null`; this end's own operations throw {@linkcode ClosedError}.
 *
 * @module
 */

import { IoError } from "../ffi/errors.ts";
import { ClosedError } from "../runtime/errors.ts";
import { Leaf, type Operation, PENDING, type Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

/** EPIPE on Linux and macOS: what a write to a closed peer reports. */
const EPIPE = 32;

/** One direction of a duplex: a byte ring with one reader and one writer side. */
class Pipe {
  readonly ring: Uint8Array;
  head = 0;
  len = 0;
  /** The writer shut down or closed: no more bytes come. */
  writeEnded = false;
  /** The reader closed: bytes written are lost, so writes fail. */
  readEnded = false;
  reader: Waker | null = null;
  writer: Waker | null = null;

  constructor(capacity: number) {
    this.ring = new Uint8Array(capacity);
  }

  /** Copy up to `dst.length` bytes out; gives how many. */
  take(dst: Uint8Array): number {
    const ring = this.ring;
    const cap = ring.byteLength;
    const n = Math.min(dst.byteLength, this.len);
    const first = Math.min(n, cap - this.head);
    dst.set(ring.subarray(this.head, this.head + first));
    if (n > first) dst.set(ring.subarray(0, n - first), first);
    this.head = (this.head + n) % cap;
    this.len -= n;
    if (this.len === 0) this.head = 0;
    this.wakeWriter();
    return n;
  }

  /** Copy up to the free room from `src`; gives how many. */
  put(src: Uint8Array): number {
    const ring = this.ring;
    const cap = ring.byteLength;
    const n = Math.min(src.byteLength, cap - this.len);
    const tail = (this.head + this.len) % cap;
    const first = Math.min(n, cap - tail);
    ring.set(src.subarray(0, first), tail);
    if (n > first) ring.set(src.subarray(first, n), 0);
    this.len += n;
    this.wakeReader();
    return n;
  }

  wakeReader(): void {
    const w = this.reader;
    this.reader = null;
    w?.wake();
  }

  wakeWriter(): void {
    const w = this.writer;
    this.writer = null;
    w?.wake();
  }
}

/** An end's view of its two pipes. */
class End {
  readonly rx: Pipe;
  readonly tx: Pipe;
  closed = false;
  constructor(rx: Pipe, tx: Pipe) {
    this.rx = rx;
    this.tx = tx;
  }
  checkOpen(): void {
    if (this.closed) throw new ClosedError("DuplexStream is closed");
  }
}

class DuplexRead extends Leaf<number | null> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "duplex.read";
  }

  readonly #end: End;
  readonly #buf: Uint8Array;
  constructor(end: End, buf: Uint8Array) {
    super();
    this.#end = end;
    this.#buf = buf;
  }
  protected poll(waker: Waker): Poll<number | null> {
    const end = this.#end;
    end.checkOpen();
    const p = end.rx;
    if (this.#buf.byteLength === 0) return 0;
    if (p.len > 0) {
      p.reader = null;
      return p.take(this.#buf);
    }
    if (p.writeEnded) return null;
    p.reader = waker;
    return PENDING;
  }
  protected cancel(): void {
    this.#end.rx.reader = null;
  }
}

class DuplexWrite extends Leaf<number | void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "duplex.write";
  }

  readonly #end: End;
  readonly #buf: Uint8Array;
  readonly #all: boolean;
  #off = 0;
  constructor(end: End, buf: Uint8Array, all: boolean) {
    super();
    this.#end = end;
    this.#buf = buf;
    this.#all = all;
  }
  protected poll(waker: Waker): Poll<number | void> {
    const end = this.#end;
    end.checkOpen();
    const p = end.tx;
    if (p.writeEnded) throw new ClosedError("DuplexStream: writing after shutdown()");
    if (p.readEnded) {
      throw new IoError(EPIPE, "EPIPE", "write", "duplex: the other end is closed");
    }
    const buf = this.#buf;
    if (this.#off < buf.byteLength && p.len < p.ring.byteLength) {
      this.#off += p.put(this.#off === 0 ? buf : buf.subarray(this.#off));
    }
    if (this.#off === buf.byteLength || (!this.#all && this.#off > 0)) {
      p.writer = null;
      return this.#all ? undefined : this.#off;
    }
    p.writer = waker;
    return PENDING;
  }
  protected cancel(): void {
    this.#end.tx.writer = null;
  }
}

class DuplexShutdown extends Leaf<void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "duplex.shutdown";
  }

  readonly #end: End;
  constructor(end: End) {
    super();
    this.#end = end;
  }
  protected poll(_waker: Waker): Poll<void> {
    this.#end.checkOpen();
    const p = this.#end.tx;
    p.writeEnded = true;
    p.wakeReader();
  }
  protected cancel(): void {}
}

/**
 * One end of a {@linkcode duplex} pipe: what it writes the other end reads,
 * and the other way round.
 *
 * @example
 * ```ts
 * import { duplex, type DuplexStream, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [a, b]: [DuplexStream, DuplexStream] = duplex(8);
 * const n = await run(function* () {
 *   yield* b.writeAll(new Uint8Array([1, 2, 3]));
 *   return yield* a.read(new Uint8Array(8));
 * });
 * assert.equal(n, 3);
 * ```
 */
export class DuplexStream implements Reader, Writer, Disposable {
  readonly #end: End;

  /**
   * Internal: made by {@linkcode duplex}.
   *
   * @param end this end's pipes
   */
  constructor(end: End) {
    if (!(end instanceof End)) throw new TypeError("DuplexStream is made by duplex()");
    this.#end = end;
  }

  /**
   * Read into `buf`: bytes read (≥ 1), or `null` once the other end shut
   * down or closed and everything it wrote was read. Waits while nothing
   * is buffered.
   *
   * @param buf where to read to
   * @returns bytes read, or null at end of stream
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @throws {ClosedError} (when run) once this end is closed.
   * @example
   * ```ts
   * import { duplex } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(8);
   * await b.shutdown();
   * assert.equal(await a.read(new Uint8Array(4)), null);
   * ```
   */
  read(buf: Uint8Array): Operation<number | null> & PromiseLike<number | null> {
    if (!(buf instanceof Uint8Array)) throw new TypeError("DuplexStream.read takes a Uint8Array");
    return new DuplexRead(this.#end, buf);
  }

  /**
   * Write what fits of `buf` (waits while the pipe is full); gives how many
   * bytes were taken.
   *
   * @param buf the bytes
   * @returns bytes taken (≥ 1 unless `buf` is empty)
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @throws {IoError} (when run) "EPIPE" once the other end is closed.
   * @throws {ClosedError} (when run) after this end's shutdown or close.
   * @example
   * ```ts
   * import { duplex } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a] = duplex(4);
   * assert.equal(await a.write(new Uint8Array(10)), 4); // the pipe holds 4
   * ```
   */
  write(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    if (!(buf instanceof Uint8Array)) throw new TypeError("DuplexStream.write takes a Uint8Array");
    return new DuplexWrite(this.#end, buf, false) as Leaf<number>;
  }

  /**
   * Write all of `buf`, waiting for room as the other end reads.
   *
   * @param buf the bytes
   * @returns nothing, once every byte is in the pipe
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @throws {IoError} (when run) "EPIPE" once the other end is closed.
   * @throws {ClosedError} (when run) after this end's shutdown or close.
   * @example
   * ```ts
   * import { duplex } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * await a.writeAll(new Uint8Array(64));
   * assert.equal(await b.read(new Uint8Array(100)), 64);
   * ```
   */
  writeAll(buf: Uint8Array): Operation<void> & PromiseLike<void> {
    if (!(buf instanceof Uint8Array)) {
      throw new TypeError("DuplexStream.writeAll takes a Uint8Array");
    }
    return new DuplexWrite(this.#end, buf, true) as Leaf<void>;
  }

  /**
   * End this end's writing: the other end reads what is left, then `null`.
   * Reading goes on.
   *
   * @returns nothing
   * @throws {ClosedError} (when run) once this end is closed.
   * @example
   * ```ts
   * import { duplex } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(8);
   * await a.writeAll(new Uint8Array([5]));
   * await a.shutdown();
   * assert.equal(await b.read(new Uint8Array(4)), 1);
   * assert.equal(await b.read(new Uint8Array(4)), null);
   * ```
   */
  shutdown(): Operation<void> & PromiseLike<void> {
    return new DuplexShutdown(this.#end);
  }

  /**
   * Close this end (idempotent): the other end reads what is left then
   * `null`, and its writes throw `IoError` "EPIPE"; waiting operations of
   * either end are woken.
   *
   * @example
   * ```ts
   * import { duplex, IoError } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(8);
   * a.close();
   * await assert.rejects(async () => await b.write(new Uint8Array(1)), IoError);
   * ```
   */
  close(): void {
    const end = this.#end;
    if (end.closed) return;
    end.closed = true;
    end.tx.writeEnded = true;
    end.rx.readEnded = true;
    end.tx.wakeReader();
    end.tx.wakeWriter();
    end.rx.wakeReader();
    end.rx.wakeWriter();
  }

  /** `using` support: closes this end. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Make an in-memory pipe with `capacity` bytes of buffer in each direction.
 *
 * @param capacity bytes each direction buffers before a writer waits
 * @returns the two connected ends
 * @throws {RangeError} when `capacity` is not a positive integer.
 * @example
 * ```ts
 * import { duplex, run, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = duplex(4);
 * const total = await run(function* () {
 *   // The writer waits while 4 bytes are unread: backpressure.
 *   const writer = spawn(function* () {
 *     yield* a.writeAll(new Uint8Array(10));
 *     yield* a.shutdown();
 *   });
 *   let got = 0;
 *   const buf = new Uint8Array(3);
 *   for (let n = yield* b.read(buf); n !== null; n = yield* b.read(buf)) got += n;
 *   yield* writer;
 *   return got;
 * });
 * assert.equal(total, 10);
 * ```
 */
export function duplex(capacity: number): [DuplexStream, DuplexStream] {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`duplex: capacity must be a positive integer, got ${String(capacity)}`);
  }
  const ab = new Pipe(capacity), ba = new Pipe(capacity);
  return [new DuplexStream(new End(ba, ab)), new DuplexStream(new End(ab, ba))];
}
