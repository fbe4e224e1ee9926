/**
 * `BufWriter`: a buffer in front of a {@linkcode Writer}, so many small
 * writes become one write of the sink.
 *
 * Invariants:
 * - Bytes given to `write`/`writeAll` are copied into the buffer (or, when
 *   larger than the buffer, written straight through after what is
 *   buffered); they reach the sink in call order.
 * - `flush()` writes the buffer with the sink's `write` in a loop and drops
 *   each chunk from the buffer as the sink takes it, so a cancelled flush
 *   leaves exactly the bytes not yet taken buffered for the next flush.
 * - `shutdown()` flushes first, then shuts the sink down.
 * - One operation at a time: starting a write of the sink while another
 *   operation of this writer is writing to it throws TypeError.
 *
 * @module
 */

import type { Operation } from "../runtime/operation.ts";
import { type AWAIT, StepOp } from "./_step_op.ts";
import type { Writer } from "./writer.ts";

/** Default buffer size, bytes. */
const DEFAULT_CAPACITY = 8192;
/** The (unused) source of flush and shutdown ops. */
const EMPTY = new Uint8Array(0);

/**
 * Options of {@linkcode BufWriter}.
 *
 * @example
 * ```ts
 * import { BufWriter, type BufWriterOptions, duplex } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const options: BufWriterOptions = { capacity: 16 * 1024 };
 * assert.equal(new BufWriter(duplex(64)[0], options).capacity, 16 * 1024);
 * ```
 */
export interface BufWriterOptions {
  /** Buffer size in bytes (default 8192; at least 1). */
  capacity?: number;
}

function checkBuf(buf: Uint8Array, what: string): void {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${what} takes a Uint8Array`);
}

/** The op is not writing to the sink. */
const IDLE = 0;
/** The op is flushing the buffer. */
const FLUSHING = 1;
/** The op writes the caller's bytes straight to the sink. */
const THROUGH = 2;
/** The op is shutting the sink down (after its flush). */
const CLOSING = 3;

/** Kinds of {@linkcode WriteOp}. */
const WRITE = 0;
const WRITE_ALL = 1;
const FLUSH = 2;
const SHUTDOWN = 3;

/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const UTF8_PER_UNIT = 3;
const utf8 = new TextEncoder();

/**
 * Internal: one `write`, `writeAll`, `flush` or `shutdown`; what it has
 * written lives in the BufWriter (see the module doc).
 */
class WriteOp extends StepOp<number | void> {
  readonly #w: BufWriter;
  kind: number;
  src: Uint8Array;
  #off = 0;
  #doing = IDLE;
  constructor(w: BufWriter, kind: number, src: Uint8Array) {
    super();
    this.#w = w;
    this.kind = kind;
    this.src = src;
  }
  reuse(src: Uint8Array): boolean {
    if (!this.rearm()) return false;
    this.src = src;
    this.#off = 0;
    return true;
  }
  protected step(input: unknown): number | void | typeof AWAIT {
    const w = this.#w;
    const doing = this.#doing;
    this.#doing = IDLE;
    if (doing === FLUSHING) w.flushed(input as number);
    else if (doing === THROUGH) {
      w.throughDone();
      this.#off += input as number;
      if (this.kind === WRITE) return input as number;
    } else if (doing === CLOSING) {
      w.throughDone();
      return;
    }
    const kind = this.kind;
    if (kind === FLUSH || kind === SHUTDOWN) {
      if (w.buffered > 0) {
        this.#doing = FLUSHING;
        return this.run(w.flushSome());
      }
      if (kind === FLUSH) return;
      this.#doing = CLOSING;
      return this.run(w.shutdownSink());
    }
    const src = this.src;
    for (;;) {
      const left = src.byteLength - this.#off;
      if (left === 0) return kind === WRITE ? this.#off : undefined;
      // Fits: copy in (a plain write takes what fits and returns).
      const took = w.copyIn(src, this.#off, kind === WRITE || left <= w.spare);
      if (took > 0) {
        this.#off += took;
        if (kind === WRITE) return took;
        continue;
      }
      if (w.buffered > 0) {
        this.#doing = FLUSHING;
        return this.run(w.flushSome());
      }
      // Empty buffer and too big for it: straight through.
      this.#doing = THROUGH;
      return this.run(w.through(src.subarray(this.#off)));
    }
  }
  protected override cancelled(): void {
    if (this.#doing !== IDLE) this.#w.throughDone();
    this.#doing = IDLE;
  }
}

/** Internal: `writeString`: encode into the buffer, or encode then writeAll. */
class WriteStringOp extends StepOp<void> {
  readonly #w: BufWriter;
  #text: string;
  #writing = false;
  constructor(w: BufWriter, text: string) {
    super();
    this.#w = w;
    this.#text = text;
  }
  reuse(text: string): boolean {
    if (!this.rearm()) return false;
    this.#text = text;
    this.#writing = false;
    return true;
  }
  protected step(_input: unknown): void | typeof AWAIT {
    if (this.#writing || this.#w.encodeIn(this.#text)) return;
    this.#writing = true;
    return this.run(this.#w.writeAll(utf8.encode(this.#text)));
  }
}

/**
 * A buffered writer over any {@linkcode Writer}. Call `flush()` (or
 * `shutdown()`) when a message is complete: bytes sit in the buffer until
 * then, or until it fills.
 *
 * @example
 * ```ts
 * import { BufReader, BufWriter, duplex, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = duplex(1024);
 * const got = await run(function* () {
 *   const w = new BufWriter(a);
 *   const enc = new TextEncoder();
 *   yield* w.writeAll(enc.encode("+OK"));
 *   yield* w.writeAll(enc.encode("\r\n"));
 *   yield* w.flush(); // one write of the sink
 *   return yield* new BufReader(b).readLine();
 * });
 * assert.equal(got, "+OK");
 * ```
 */
export class BufWriter implements Writer {
  readonly #sink: Writer;
  readonly #buf: Uint8Array;
  #len = 0;
  #busy = false;
  #write: WriteOp | null = null;
  #writeAll: WriteOp | null = null;
  #flush: WriteOp | null = null;
  #writeStr: WriteStringOp | null = null;
  /** The last flushed prefix of the buffer (see flushSome). */
  #flushView: Uint8Array = EMPTY;

  /**
   * Wrap `writer`.
   *
   * @param writer the sink
   * @param options `capacity`: buffer size (default 8192)
   * @throws {TypeError} when `writer` has no `write` method.
   * @throws {RangeError} for a capacity that is not a positive integer.
   */
  constructor(writer: Writer, options?: BufWriterOptions) {
    options ??= {};
    if (writer === null || typeof writer !== "object" || typeof writer.write !== "function") {
      throw new TypeError("BufWriter takes a writer (an object with write(buf))");
    }
    const cap = options.capacity ?? DEFAULT_CAPACITY;
    if (!Number.isSafeInteger(cap) || cap < 1) {
      throw new RangeError(`BufWriter: capacity must be a positive integer, got ${String(cap)}`);
    }
    this.#sink = writer;
    this.#buf = new Uint8Array(cap);
  }

  /** The writer this one writes to. */
  get inner(): Writer {
    return this.#sink;
  }

  /** The buffer size, bytes. */
  get capacity(): number {
    return this.#buf.byteLength;
  }

  /** Bytes buffered and not yet written to the sink. */
  get buffered(): number {
    return this.#len;
  }

  /** Free room in the buffer, bytes. */
  get spare(): number {
    return this.#buf.byteLength - this.#len;
  }

  /**
   * Room to encode into in place: a view of the next `n` free bytes of the
   * buffer, or null when fewer than `n` are free or a flush is writing the
   * buffer now. Nothing is buffered until {@linkcode BufWriter.commit} says
   * how much of the view was filled, so an encoder writes its bytes once,
   * straight into the buffer, instead of into a buffer of its own that
   * `writeAll` then copies. The view is valid until the next call on this
   * writer.
   *
   * @param n how many bytes to reserve
   * @returns the view to fill, or null when they do not fit now
   * @throws {RangeError} when `n` is not a non-negative integer.
   * @example
   * ```ts
   * import { BufWriter, duplex, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * const w = new BufWriter(a, { capacity: 16 });
   * const room = w.reserve(3);
   * assert.ok(room !== null);
   * room.set([1, 2, 3]);
   * w.commit(3); // buffered, not yet written
   * assert.equal(w.buffered, 3);
   * assert.equal(w.reserve(14), null); // 13 bytes are free
   * const got = await run(function* () {
   *   yield* w.flush();
   *   const buf = new Uint8Array(8);
   *   const n = yield* b.read(buf);
   *   return [...buf.subarray(0, n ?? 0)];
   * });
   * assert.deepEqual(got, [1, 2, 3]);
   * ```
   */
  reserve(n: number): Uint8Array | null {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`BufWriter.reserve: bad length ${String(n)}`);
    }
    const len = this.#len;
    if (this.#busy || n > this.#buf.byteLength - len) return null;
    return this.#buf.subarray(len, len + n);
  }

  /**
   * Buffer the first `n` bytes of the room the last {@linkcode BufWriter.reserve}
   * gave, which the caller has filled.
   *
   * @param n how many bytes were written into the reserved view
   * @throws {RangeError} when `n` is not a non-negative integer or is more
   *   than the free room; {@linkcode TypeError} while a flush is writing the
   *   buffer.
   * @example
   * ```ts
   * import { BufWriter, duplex } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a] = duplex(64);
   * const w = new BufWriter(a, { capacity: 8 });
   * const room = w.reserve(4)!;
   * room[0] = 42;
   * w.commit(1); // only the first byte was used
   * assert.equal(w.buffered, 1);
   * assert.throws(() => w.commit(8), RangeError); // 7 bytes are free
   * ```
   */
  commit(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.#buf.byteLength - this.#len) {
      throw new RangeError(
        `BufWriter.commit: ${String(n)} bytes, ${this.#buf.byteLength - this.#len} free`,
      );
    }
    if (this.#busy) throw new TypeError("BufWriter.commit: a flush is writing the buffer");
    this.#len += n;
  }

  /**
   * Write a prefix of `buf`: what fits is copied into the buffer (no I/O);
   * when the buffer is full it is flushed first, and a `buf` at least as
   * large as an empty buffer is written straight through. Gives how many
   * bytes were taken.
   *
   * @param buf the bytes
   * @returns bytes taken (≥ 1 unless `buf` is empty)
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts
   * import { BufWriter, duplex } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const w = new BufWriter(duplex(64)[0], { capacity: 4 });
   * assert.equal(await w.write(new Uint8Array(3)), 3); // buffered, no I/O
   * assert.equal(await w.write(new Uint8Array(10)), 1); // what fits
   * assert.equal(w.buffered, 4);
   * ```
   */
  write(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    checkBuf(buf, "BufWriter.write");
    const op = this.#write;
    if (op !== null && op.reuse(buf)) return op as StepOp<number>;
    return (this.#write = new WriteOp(this, WRITE, buf)) as StepOp<number>;
  }

  /**
   * Write all of `buf` (buffered; flushed as the buffer fills).
   *
   * @param buf the bytes
   * @returns nothing, once every byte is buffered or written
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts
   * import { BufWriter, duplex } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const w = new BufWriter(duplex(64)[0]);
   * await w.writeAll(new TextEncoder().encode("hello"));
   * assert.equal(w.buffered, 5);
   * ```
   */
  writeAll(buf: Uint8Array): Operation<void> & PromiseLike<void> {
    checkBuf(buf, "BufWriter.writeAll");
    const op = this.#writeAll;
    if (op !== null && op.reuse(buf)) return op as StepOp<void>;
    return (this.#writeAll = new WriteOp(this, WRITE_ALL, buf)) as StepOp<void>;
  }

  /**
   * Write `text` as UTF-8. When the buffer has room for any encoding of it,
   * the text is encoded straight into the buffer (no intermediate array);
   * otherwise it is encoded first and written as {@linkcode BufWriter.writeAll}.
   *
   * @param text the string
   * @returns nothing, once every byte is buffered or written
   * @throws {TypeError} when `text` is not a string.
   * @example
   * ```ts
   * import { BufWriter, duplex } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const w = new BufWriter(duplex(64)[0]);
   * await w.writeString("héllo\n");
   * assert.equal(w.buffered, 7); // é is two bytes
   * ```
   */
  writeString(text: string): Operation<void> & PromiseLike<void> {
    if (typeof text !== "string") throw new TypeError("BufWriter.writeString takes a string");
    const op = this.#writeStr;
    if (op !== null && op.reuse(text)) return op;
    return this.#writeStr = new WriteStringOp(this, text);
  }

  /**
   * Write everything buffered to the sink. Cancel-safe: what the sink had
   * not taken stays buffered.
   *
   * @returns nothing, once the buffer is empty
   * @example
   * ```ts
   * import { BufWriter, duplex } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const w = new BufWriter(duplex(64)[0]);
   * await w.writeAll(new Uint8Array(3));
   * await w.flush();
   * assert.equal(w.buffered, 0);
   * ```
   */
  flush(): Operation<void> & PromiseLike<void> {
    const op = this.#flush;
    if (op !== null && op.reuse(op.src)) return op as StepOp<void>;
    return (this.#flush = new WriteOp(this, FLUSH, EMPTY)) as StepOp<void>;
  }

  /**
   * Flush, then shut the sink down (the peer sees end of stream).
   *
   * @returns nothing, once done
   * @example
   * ```ts
   * import { BufReader, BufWriter, duplex, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * const lines = await run(function* () {
   *   const w = new BufWriter(a);
   *   yield* w.writeAll(new TextEncoder().encode("last\n"));
   *   yield* w.shutdown();
   *   const r = new BufReader(b);
   *   return [yield* r.readLine(), yield* r.readLine()];
   * });
   * assert.deepEqual(lines, ["last", null]);
   * ```
   */
  shutdown(): Operation<void> & PromiseLike<void> {
    return new WriteOp(this, SHUTDOWN, EMPTY) as StepOp<void>;
  }

  // ---- internal: used by WriteOp ----

  /**
   * Internal: copy `src[off..]` into the buffer — as much as fits when
   * `partial`, else all of it or nothing; gives how many bytes.
   *
   * @param src the bytes to copy from.
   * @param off where in `src` to start.
   * @param partial true to copy as much as fits.
   * @returns how many bytes were copied.
   */
  copyIn(src: Uint8Array, off: number, partial: boolean): number {
    const left = src.byteLength - off;
    const room = this.#buf.byteLength - this.#len;
    if (room === 0 || (!partial && left > room)) return 0;
    // An empty buffer and a write at least as big as it: better written straight through.
    if (this.#len === 0 && left >= this.#buf.byteLength) return 0;
    const n = left < room ? left : room;
    if (n === 1) this.#buf[this.#len] = src[off];
    else this.#buf.set(off === 0 && n === left ? src : src.subarray(off, off + n), this.#len);
    this.#len += n;
    return n;
  }

  /**
   * Internal: encode `text` into the free room when it surely fits and no
   * write of the sink is in flight.
   *
   * @param text the string to encode
   * @returns true when it was encoded; false (nothing written) otherwise.
   */
  encodeIn(text: string): boolean {
    const len = this.#len;
    if (this.#busy || text.length * UTF8_PER_UNIT > this.#buf.byteLength - len) return false;
    const room = len === 0 ? this.#buf : this.#buf.subarray(len);
    this.#len = len + utf8.encodeInto(text, room).written;
    return true;
  }

  /**
   * Internal: start one write of the buffered bytes.
   *
   * @returns an operation giving how many bytes the sink took.
   */
  flushSome(): Operation<number> {
    this.#claim();
    // Messages of one size flush the same prefix again and again: keep its view.
    if (this.#flushView.byteLength !== this.#len) {
      this.#flushView = this.#buf.subarray(0, this.#len);
    }
    return this.#sink.write(this.#flushView);
  }

  /**
   * Internal: the sink took `n` of the buffered bytes.
   *
   * @param n how many of the buffered bytes the sink took.
   */
  flushed(n: number): void {
    this.#busy = false;
    const len = this.#len;
    if (n >= len) this.#len = 0;
    else {
      this.#buf.copyWithin(0, n, len);
      this.#len = len - n;
    }
  }

  /**
   * Internal: start one write of `bytes` straight to the sink.
   *
   * @param bytes the bytes to write.
   * @returns an operation giving how many bytes the sink took.
   */
  through(bytes: Uint8Array): Operation<number> {
    this.#claim();
    return this.#sink.write(bytes);
  }

  /**
   * Internal: start the sink's shutdown.
   *
   * @returns an operation that finishes once the sink is shut down.
   */
  shutdownSink(): Operation<void> {
    this.#claim();
    return this.#sink.shutdown();
  }

  /** Internal: a write or shutdown of the sink finished or was cancelled. */
  throughDone(): void {
    this.#busy = false;
  }

  #claim(): void {
    if (this.#busy) throw new TypeError("BufWriter: another operation is writing to the sink");
    this.#busy = true;
  }
}
