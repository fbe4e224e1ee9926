/**
 * `BufReader`: a buffer in front of a {@linkcode Reader}, for reading lines,
 * delimited records and exact byte counts with few reads of the source.
 *
 * Invariants:
 * - The bytes buffered but not yet handed out are `buf[pos..end)`; every
 *   operation takes from there first and reads the source only when it
 *   needs more, into `buf[end..)`.
 * - Cancel safety: an operation keeps nothing of its own. A cancelled
 *   `readLine`/`readUntil`/`fillBuf`/`read` leaves every byte it had read in
 *   the buffer (the source's own read is cancel-safe, see {@linkcode Reader});
 *   a cancelled `readExact` puts the bytes it had already copied out back in
 *   front of the buffer. The next call sees them all.
 * - Nothing a peer sends makes the buffer grow past the line limit: a line
 *   longer than `maxLength` throws {@linkcode MaxLengthError} as soon as the
 *   limit is passed, and the next `readLine`/`readUntil` first drops the rest
 *   of that line (up to and including its delimiter) as it arrives.
 * - One operation at a time: starting a read of the source while another
 *   operation of this reader is reading it throws TypeError.
 *
 * @module
 */

import type { Operation } from "../runtime/operation.ts";
import { type AWAIT, StepOp } from "./_step_op.ts";
import { MaxLengthError } from "./max_length_error.ts";
import type { Reader } from "./reader.ts";

/** Default buffer size, bytes. */
const DEFAULT_CAPACITY = 8192;
/** Default longest line `readLine`/`readUntil` accept (not counting the delimiter), bytes. */
const DEFAULT_MAX_LENGTH = 64 * 1024;
/** The line feed byte, `\n`. */
const LF = 0x0a;
/** The carriage return byte, `\r`. */
const CR = 0x0d;
/** Room kept past `maxLength` while looking for a line's end: a `\r` and the `\n`. */
const LINE_END_ROOM = 2;

/** Shared UTF-8 decoder of `readLine` (invalid bytes become U+FFFD). */
const utf8 = new TextDecoder();
/** What `fillBuf` gives at end of stream. */
const EMPTY = new Uint8Array(0);

/**
 * Options of {@linkcode BufReader}.
 *
 * @example
 * ```ts
 * import { BufReader, type BufReaderOptions, duplex } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const options: BufReaderOptions = { capacity: 64 * 1024 };
 * const [, b] = duplex(1024);
 * assert.equal(new BufReader(b, options).capacity, 64 * 1024);
 * ```
 */
export interface BufReaderOptions {
  /** Buffer size in bytes (default 8192; at least 1). */
  capacity?: number;
}

/**
 * Options of {@linkcode BufReader.readLine} and {@linkcode BufReader.readUntil}.
 *
 * @example
 * ```ts
 * import { BufReader, duplex, MaxLengthError, type ReadLineOptions, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const options: ReadLineOptions = { maxLength: 4 };
 * const [a, b] = duplex(64);
 * const r = new BufReader(b);
 * const got = await run(function* () {
 *   yield* a.writeAll(new TextEncoder().encode("far too long\nok\n"));
 *   try {
 *     yield* r.readLine(options);
 *   } catch (e) {
 *     assert.ok(e instanceof MaxLengthError);
 *   }
 *   return yield* r.readLine(options); // the long line was dropped
 * });
 * assert.equal(got, "ok");
 * ```
 */
export interface ReadLineOptions {
  /** Longest line accepted, not counting its `\n` or `\r\n` (default 65536). */
  maxLength?: number;
}

function checkMaxLength(v: number | undefined, what: string): number {
  if (v === undefined) return DEFAULT_MAX_LENGTH;
  if (typeof v !== "number" || !(v >= 0) || (!Number.isSafeInteger(v) && v !== Infinity)) {
    throw new RangeError(`${what}: maxLength must be a non-negative integer, got ${String(v)}`);
  }
  return v;
}

function checkBuf(buf: Uint8Array, what: string): void {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${what} takes a Uint8Array`);
}

/** Below this many bytes a JS loop finds a byte sooner than a subarray's indexOf. */
const SHORT_SCAN = 128;

/**
 * The index of the first `byte` in `buf[from..to)`, or -1. (Never searches
 * past `to`: the buffer beyond it holds stale bytes, and a whole-buffer
 * indexOf would cost microseconds per call.)
 */
function findByte(buf: Uint8Array, byte: number, from: number, to: number): number {
  if (to - from <= SHORT_SCAN) {
    for (let i = from; i < to; i++) if (buf[i] === byte) return i;
    return -1;
  }
  const i = buf.subarray(from, to).indexOf(byte);
  return i < 0 ? -1 : from + i;
}

/** `readLine`: the line as a string, without its `\n` or `\r\n`. */
const AS_LINE = 0;
/** `readUntil`: the record's bytes, delimiter included. */
const AS_BYTES = 1;

/**
 * Internal: one `readLine`/`readUntil`. Its scanning state lives in the
 * BufReader, so a cancelled one loses nothing and a new one resumes the scan.
 */
class UntilOp extends StepOp<string | Uint8Array | null> {
  readonly #r: BufReader;
  delim = LF;
  maxLength = DEFAULT_MAX_LENGTH;
  mode = AS_LINE;
  #reading = false;
  constructor(r: BufReader) {
    super();
    this.#r = r;
  }
  reuse(delim: number, maxLength: number, mode: number): boolean {
    if (!this.rearm()) return false;
    this.delim = delim;
    this.maxLength = maxLength;
    this.mode = mode;
    return true;
  }
  protected step(input: unknown): string | Uint8Array | null | typeof AWAIT {
    const r = this.#r;
    if (this.#reading) {
      this.#reading = false;
      if (r.filled(input as number | null) === null) return r.takeRest(this.mode);
    }
    const hit = r.scan(this.delim, this.maxLength, this.mode);
    if (hit !== null) return hit;
    this.#reading = true;
    return this.run(r.fill());
  }
  protected override cancelled(): void {
    if (this.#reading) this.#r.fillCancelled();
    this.#reading = false;
  }
}

/** Internal: `read(dst)` through the buffer. */
class ReadOp extends StepOp<number | null> {
  readonly #r: BufReader;
  dst: Uint8Array;
  /** 0: not reading; 1: filling the buffer; 2: reading the source straight into dst. */
  #reading = NOT_READING;
  constructor(r: BufReader, dst: Uint8Array) {
    super();
    this.#r = r;
    this.dst = dst;
  }
  reuse(dst: Uint8Array): boolean {
    if (!this.rearm()) return false;
    this.dst = dst;
    return true;
  }
  protected step(input: unknown): number | null | typeof AWAIT {
    const r = this.#r;
    const how = this.#reading;
    this.#reading = NOT_READING;
    if (how === DIRECT) {
      r.directDone();
      return input as number | null;
    }
    if (how === FILLING && r.filled(input as number | null) === null) return null;
    if (this.dst.byteLength === 0) return 0;
    if (r.buffered > 0) return r.copyOut(this.dst);
    if (this.dst.byteLength >= r.capacity) {
      this.#reading = DIRECT;
      return this.run(r.direct(this.dst));
    }
    this.#reading = FILLING;
    return this.run(r.fill());
  }
  protected override cancelled(): void {
    if (this.#reading === FILLING) this.#r.fillCancelled();
    else if (this.#reading === DIRECT) this.#r.directDone();
    this.#reading = NOT_READING;
  }
}
/** ReadOp is not reading the source. */
const NOT_READING = 0;
/** ReadOp is filling the buffer. */
const FILLING = 1;
/** ReadOp reads the source straight into the caller's buffer (it is at least as big). */
const DIRECT = 2;

/** Internal: `readExact(dst)`; a cancelled one puts what it copied out back. */
class ReadExactOp extends StepOp<void> {
  readonly #r: BufReader;
  readonly #dst: Uint8Array;
  #off = 0;
  #reading = false;
  constructor(r: BufReader, dst: Uint8Array) {
    super();
    this.#r = r;
    this.#dst = dst;
  }
  protected step(input: unknown): void | typeof AWAIT {
    const r = this.#r;
    const dst = this.#dst;
    if (this.#reading) {
      this.#reading = false;
      if (r.filled(input as number | null) === null) {
        const off = this.#off;
        this.#off = 0;
        r.unread(dst.subarray(0, off));
        throw new Deno.errors.UnexpectedEof(
          `readExact: end of stream after ${off} of ${dst.byteLength} bytes`,
        );
      }
    }
    if (r.buffered > 0) this.#off += r.copyOut(dst.subarray(this.#off));
    if (this.#off === dst.byteLength) return;
    this.#reading = true;
    return this.run(r.fill());
  }
  protected override cancelled(): void {
    if (this.#reading) this.#r.fillCancelled();
    this.#reading = false;
    this.#r.unread(this.#dst.subarray(0, this.#off));
    this.#off = 0;
  }
}

/** Internal: `fillBuf()` and `fillMore()`. */
class FillOp extends StepOp<Uint8Array | number | null> {
  readonly #r: BufReader;
  readonly #more: boolean;
  #reading = false;
  constructor(r: BufReader, more: boolean) {
    super();
    this.#r = r;
    this.#more = more;
  }
  reuse(): boolean {
    return this.rearm();
  }
  protected step(input: unknown): Uint8Array | number | null | typeof AWAIT {
    const r = this.#r;
    if (this.#reading) {
      this.#reading = false;
      const n = r.filled(input as number | null);
      if (this.#more) return n;
      if (n === null) return EMPTY;
    }
    if (!this.#more && r.buffered > 0) return r.buffer;
    this.#reading = true;
    return this.run(r.fill());
  }
  protected override cancelled(): void {
    if (this.#reading) this.#r.fillCancelled();
    this.#reading = false;
  }
}

/**
 * A buffered reader over any {@linkcode Reader} (a `TcpStream`, a read half,
 * a duplex end, {@linkcode stdin}…). Every method returns an operation:
 * `yield*` it in a task or `await` it.
 *
 * @example
 * ```ts
 * import { BufReader, duplex, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [client, server] = duplex(1024);
 * const lines = await run(function* () {
 *   yield* client.writeAll(new TextEncoder().encode("PING\r\nECHO hi\n"));
 *   yield* client.shutdown();
 *   const r = new BufReader(server);
 *   const got: string[] = [];
 *   for (let l = yield* r.readLine(); l !== null; l = yield* r.readLine()) got.push(l);
 *   return got;
 * });
 * assert.deepEqual(lines, ["PING", "ECHO hi"]);
 * ```
 */
export class BufReader implements Reader {
  readonly #src: Reader;
  #buf: Uint8Array;
  readonly #capacity: number;
  #pos = 0;
  #end = 0;
  /** Bytes of `buf[pos..end)` already searched for the delimiter. */
  #scanned = 0;
  /** Dropping the rest of an over-long line, up to `#dropDelim`. */
  #dropping = false;
  #dropDelim = LF;
  /** A read of the source is in flight. */
  #busy = false;
  #until: UntilOp | null = null;
  #read: ReadOp | null = null;
  #fillOp: FillOp | null = null;
  #moreOp: FillOp | null = null;

  /**
   * Wrap `reader`.
   *
   * @param reader the source
   * @param options `capacity`: buffer size (default 8192)
   * @throws {TypeError} when `reader` has no `read` method.
   * @throws {RangeError} for a capacity that is not a positive integer.
   */
  constructor(reader: Reader, options?: BufReaderOptions) {
    options ??= {};
    if (reader === null || typeof reader !== "object" || typeof reader.read !== "function") {
      throw new TypeError("BufReader takes a reader (an object with read(buf))");
    }
    const cap = options.capacity ?? DEFAULT_CAPACITY;
    if (!Number.isSafeInteger(cap) || cap < 1) {
      throw new RangeError(`BufReader: capacity must be a positive integer, got ${String(cap)}`);
    }
    this.#src = reader;
    this.#capacity = cap;
    this.#buf = new Uint8Array(cap);
  }

  /** The reader this one reads from. */
  get inner(): Reader {
    return this.#src;
  }

  /** The buffer size given at construction, bytes. */
  get capacity(): number {
    return this.#capacity;
  }

  /** How many bytes are buffered and not yet consumed. */
  get buffered(): number {
    return this.#end - this.#pos;
  }

  /** The buffered bytes (a view into the buffer: valid until the next operation). */
  get buffer(): Uint8Array {
    return this.#pos === this.#end ? EMPTY : this.#buf.subarray(this.#pos, this.#end);
  }

  /**
   * Read into `buf`: bytes read (≥ 1), or `null` at end of stream (0 for an
   * empty `buf`). Takes buffered bytes first; a `buf` at least as large as
   * the buffer is read into directly when nothing is buffered.
   *
   * @param buf where to read to
   * @returns the number of bytes read, or null at end of stream
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts
   * import { BufReader, duplex, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * const r = new BufReader(b);
   * const n = await run(function* () {
   *   yield* a.writeAll(new Uint8Array([1, 2, 3]));
   *   return yield* r.read(new Uint8Array(2));
   * });
   * assert.equal(n, 2);
   * assert.deepEqual([...r.buffer], [3]);
   * ```
   */
  read(buf: Uint8Array): Operation<number | null> & PromiseLike<number | null> {
    checkBuf(buf, "BufReader.read");
    const op = this.#read;
    if (op !== null && op.reuse(buf)) return op;
    return this.#read = new ReadOp(this, buf);
  }

  /**
   * Fill `buf` completely. Cancel-safe: bytes copied before a cancellation
   * are put back and returned by the next read.
   *
   * @param buf where to read to
   * @returns nothing, once `buf` is full
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @throws {Deno.errors.UnexpectedEof} (when run) if the stream ends first;
   *   the bytes read so far stay buffered.
   * @example
   * ```ts
   * import { BufReader, duplex, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * const r = new BufReader(b);
   * const header = new Uint8Array(4);
   * await run(function* () {
   *   yield* a.writeAll(new Uint8Array([0, 0, 0, 5, 9]));
   *   yield* r.readExact(header);
   * });
   * assert.deepEqual([...header], [0, 0, 0, 5]);
   * ```
   */
  readExact(buf: Uint8Array): Operation<void> & PromiseLike<void> {
    checkBuf(buf, "BufReader.readExact");
    return new ReadExactOp(this, buf);
  }

  /**
   * Read one line: its text (UTF-8) without the `\n` or `\r\n` that ends
   * it; the last line of a stream may lack them; `null` at end of stream.
   * Cancel-safe.
   *
   * @param options `maxLength`: longest line accepted (default 65536 bytes)
   * @returns the line, or null at end of stream
   * @throws {RangeError} for a bad `maxLength`.
   * @throws {MaxLengthError} (when run) once a line passes `maxLength`; the
   *   rest of that line is dropped and the next call reads the line after.
   * @example
   * ```ts
   * import { BufReader, duplex, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * const r = new BufReader(b);
   * const line = await run(function* () {
   *   yield* a.writeAll(new TextEncoder().encode("héllo\r\nmore"));
   *   return yield* r.readLine();
   * });
   * assert.equal(line, "héllo");
   * ```
   */
  readLine(options?: ReadLineOptions): Operation<string | null> & PromiseLike<string | null> {
    const max = checkMaxLength(options?.maxLength, "BufReader.readLine");
    return this.#untilOp(LF, max, AS_LINE) as StepOp<string | null>;
  }

  /**
   * Read up to and including the next `byte`; at end of stream, what is
   * left (without it), or `null` when nothing is. Cancel-safe.
   *
   * @param byte the delimiter, 0..255
   * @param options `maxLength`: most bytes before the delimiter (default 65536)
   * @returns the bytes (a copy), or null at end of stream
   * @throws {RangeError} for a bad `byte` or `maxLength`.
   * @throws {MaxLengthError} (when run) as {@linkcode BufReader.readLine}.
   * @example
   * ```ts
   * import { BufReader, duplex, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * const r = new BufReader(b);
   * const rec = await run(function* () {
   *   yield* a.writeAll(new Uint8Array([1, 2, 0, 3]));
   *   return yield* r.readUntil(0);
   * });
   * assert.deepEqual(rec, new Uint8Array([1, 2, 0]));
   * ```
   */
  readUntil(
    byte: number,
    options?: ReadLineOptions,
  ): Operation<Uint8Array | null> & PromiseLike<Uint8Array | null> {
    if (!Number.isInteger(byte) || byte < 0 || byte > 255) {
      throw new RangeError(`BufReader.readUntil: byte must be 0..255, got ${String(byte)}`);
    }
    const max = checkMaxLength(options?.maxLength, "BufReader.readUntil");
    return this.#untilOp(byte, max, AS_BYTES) as StepOp<Uint8Array | null>;
  }

  #untilOp(delim: number, max: number, mode: number): UntilOp {
    const op = this.#until;
    if (op !== null && op.reuse(delim, max, mode)) return op;
    const fresh = new UntilOp(this);
    fresh.delim = delim;
    fresh.maxLength = max;
    fresh.mode = mode;
    return this.#until = fresh;
  }

  /**
   * The buffered bytes, reading the source first if none are; an empty
   * array at end of stream. The view stays valid until the next operation;
   * call {@linkcode BufReader.consume} for what was used. Cancel-safe.
   *
   * @returns a view of the buffered bytes (empty at end of stream)
   * @example
   * ```ts
   * import { BufReader, duplex, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * const r = new BufReader(b);
   * await run(function* () {
   *   yield* a.writeAll(new Uint8Array([7, 8, 9]));
   *   const bytes = yield* r.fillBuf();
   *   assert.equal(bytes[0], 7);
   *   r.consume(1);
   * });
   * assert.deepEqual([...r.buffer], [8, 9]);
   * ```
   */
  fillBuf(): Operation<Uint8Array> & PromiseLike<Uint8Array> {
    const op = this.#fillOp;
    if (op !== null && op.reuse()) return op as StepOp<Uint8Array>;
    return (this.#fillOp = new FillOp(this, false)) as StepOp<Uint8Array>;
  }

  /**
   * Read the source once more into the buffer, behind what is buffered
   * (the buffer grows when it is full): bytes added, or `null` at end of
   * stream. For parsers that need more bytes than are buffered (see
   * {@linkcode Framed}). Cancel-safe.
   *
   * @returns bytes added, or null at end of stream
   * @example
   * ```ts
   * import { BufReader, duplex, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * const r = new BufReader(b);
   * await run(function* () {
   *   yield* a.writeAll(new Uint8Array([1]));
   *   yield* r.fillMore();
   *   yield* a.writeAll(new Uint8Array([2]));
   *   yield* r.fillMore();
   * });
   * assert.deepEqual([...r.buffer], [1, 2]);
   * ```
   */
  fillMore(): Operation<number | null> & PromiseLike<number | null> {
    const op = this.#moreOp;
    if (op !== null && op.reuse()) return op as StepOp<number | null>;
    return (this.#moreOp = new FillOp(this, true)) as StepOp<number | null>;
  }

  /**
   * Mark `n` buffered bytes as used.
   *
   * @param n how many, 0..buffered
   * @throws {RangeError} when `n` is more than is buffered.
   * @example
   * ```ts
   * import { BufReader, duplex } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const r = new BufReader(duplex(8)[1]);
   * r.consume(0);
   * assert.throws(() => r.consume(1), RangeError);
   * ```
   */
  consume(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.#end - this.#pos) {
      throw new RangeError(
        `BufReader.consume: ${String(n)} is not within the ${this.#end - this.#pos} buffered bytes`,
      );
    }
    this.#pos += n;
    this.#scanned = 0;
  }

  /**
   * The lines of the stream: `yield* lines.next()` in a task (null at the
   * end), or `for await (const line of lines)`.
   *
   * @param options as for {@linkcode BufReader.readLine}
   * @returns the line iterator
   * @throws {RangeError} for a bad `maxLength`.
   * @example
   * ```ts
   * import { BufReader, duplex, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * const got = await run(function* () {
   *   yield* a.writeAll(new TextEncoder().encode("one\ntwo\n"));
   *   yield* a.shutdown();
   *   const lines = new BufReader(b).lines();
   *   const out: string[] = [];
   *   for (let l = yield* lines.next(); l !== null; l = yield* lines.next()) out.push(l);
   *   return out;
   * });
   * assert.deepEqual(got, ["one", "two"]);
   *
   * const [c, d] = duplex(64);
   * await c.writeAll(new TextEncoder().encode("x\ny\n"));
   * await c.shutdown();
   * const seen: string[] = [];
   * for await (const line of new BufReader(d).lines()) seen.push(line);
   * assert.deepEqual(seen, ["x", "y"]);
   * ```
   */
  lines(options?: ReadLineOptions): Lines {
    checkMaxLength(options?.maxLength, "BufReader.lines");
    return new Lines(this, options);
  }

  // ---- internal: used by this file's operations ----

  /**
   * Internal: start a read of the source into the free end of the buffer (made room first).
   *
   * @returns an operation giving the bytes read, or null at end of stream.
   */
  fill(): Operation<number | null> {
    if (this.#busy) throw new TypeError("BufReader: another operation is reading the source");
    const buf = this.#buf;
    if (this.#pos === this.#end) {
      this.#pos = this.#end = 0;
      this.#scanned = 0;
    } else if (this.#pos > 0 && buf.byteLength - this.#end < buf.byteLength >> 1) {
      // Less than half the buffer free at the end: move the partial record to
      // the front, so the next read is not a sliver.
      buf.copyWithin(0, this.#pos, this.#end);
      this.#end -= this.#pos;
      this.#pos = 0;
    } else if (this.#end === buf.byteLength) {
      const bigger = new Uint8Array(buf.byteLength * 2);
      bigger.set(buf.subarray(0, this.#end));
      this.#buf = bigger;
    }
    this.#busy = true;
    return this.#src.read(this.#end === 0 ? this.#buf : this.#buf.subarray(this.#end));
  }

  /**
   * Internal: a fill finished with `n` (null at end of stream); gives `n` back.
   *
   * @param n the bytes the fill read, or null at end of stream.
   * @returns `n`.
   */
  filled(n: number | null): number | null {
    this.#busy = false;
    if (n !== null) this.#end += n;
    return n;
  }

  /** Internal: a fill was cancelled (its bytes, if any, stay with the source). */
  fillCancelled(): void {
    this.#busy = false;
  }

  /**
   * Internal: start a read of the source straight into `dst`.
   *
   * @param dst where the bytes go.
   * @returns an operation giving the bytes read, or null at end of stream.
   */
  direct(dst: Uint8Array): Operation<number | null> {
    if (this.#busy) throw new TypeError("BufReader: another operation is reading the source");
    this.#busy = true;
    return this.#src.read(dst);
  }

  /** Internal: a direct read finished or was cancelled. */
  directDone(): void {
    this.#busy = false;
  }

  /**
   * Internal: move buffered bytes into `dst`; gives how many.
   *
   * @param dst where the bytes go.
   * @returns how many bytes were moved.
   */
  copyOut(dst: Uint8Array): number {
    const n = Math.min(dst.byteLength, this.#end - this.#pos);
    dst.set(this.#buf.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    this.#scanned = 0;
    return n;
  }

  /**
   * Internal: put `bytes` back in front of the buffered ones.
   *
   * @param bytes the bytes to put back.
   */
  unread(bytes: Uint8Array): void {
    const k = bytes.byteLength;
    if (k === 0) return;
    this.#scanned = 0;
    if (this.#pos >= k) {
      this.#pos -= k;
      this.#buf.set(bytes, this.#pos);
      return;
    }
    const have = this.#end - this.#pos;
    const next = new Uint8Array(Math.max(this.#buf.byteLength, k + have));
    next.set(bytes, 0);
    next.set(this.#buf.subarray(this.#pos, this.#end), k);
    this.#buf = next;
    this.#pos = 0;
    this.#end = k + have;
  }

  /**
   * Internal: find the next record ending in `delim` among the buffered
   * bytes and take it; null when more bytes are needed. Throws
   * MaxLengthError once the record passes `max`.
   *
   * @param delim the byte that ends a record.
   * @param max the longest record allowed, in bytes.
   * @param mode `AS_LINE`: text without the line end; otherwise the bytes through `delim`.
   * @returns the record, or null when more bytes are needed.
   * @throws {MaxLengthError} when the record passes `max`.
   */
  scan(delim: number, max: number, mode: number): string | Uint8Array | null {
    const buf = this.#buf;
    const end = this.#end;
    if (this.#dropping) {
      const i = findByte(buf, this.#dropDelim, this.#pos, end);
      if (i < 0) {
        this.#pos = this.#end = 0;
        return null;
      }
      this.#pos = i + 1;
      this.#dropping = false;
    }
    const pos = this.#pos;
    const i = findByte(buf, delim, pos + this.#scanned, end);
    if (i >= 0) {
      this.#pos = i + 1;
      this.#scanned = 0;
      let stop = i;
      if (mode === AS_LINE && stop > pos && buf[stop - 1] === CR) stop--;
      if (stop - pos > max) throw new MaxLengthError("line", max, stop - pos);
      return mode === AS_LINE ? utf8.decode(buf.subarray(pos, stop)) : buf.slice(pos, i + 1);
    }
    const have = end - pos;
    // A line of `max` bytes may still be followed by "\r\n": allow for them.
    if (have > max + (mode === AS_LINE ? LINE_END_ROOM - 1 : 0)) {
      this.#pos = this.#end = 0;
      this.#scanned = 0;
      this.#dropping = true;
      this.#dropDelim = delim;
      throw new MaxLengthError("line", max, have);
    }
    this.#scanned = have;
    return null;
  }

  /**
   * Internal: at end of stream, the unterminated rest as a record, or null.
   *
   * @param mode whether the record is given as text or bytes.
   * @returns the rest as a record, or null when nothing is left.
   */
  takeRest(mode: number): string | Uint8Array | null {
    const pos = this.#pos, end = this.#end;
    this.#scanned = 0;
    if (this.#dropping) {
      this.#dropping = false;
      this.#pos = this.#end = 0;
      return null;
    }
    if (end === pos) return null;
    this.#pos = this.#end = 0;
    const b = this.#buf.subarray(pos, end);
    return mode === AS_LINE ? utf8.decode(b) : b.slice();
  }
}

/**
 * The lines of a {@linkcode BufReader} (made by {@linkcode BufReader.lines}).
 *
 * @example
 * ```ts
 * import { BufReader, duplex, type Lines } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = duplex(64);
 * await a.writeAll(new TextEncoder().encode("a\nb"));
 * await a.shutdown();
 * const lines: Lines = new BufReader(b).lines();
 * assert.equal(await lines.next(), "a");
 * assert.equal(await lines.next(), "b");
 * assert.equal(await lines.next(), null);
 * ```
 */
export class Lines implements AsyncIterable<string> {
  readonly #r: BufReader;
  readonly #options: ReadLineOptions | undefined;

  /**
   * Internal: made by {@linkcode BufReader.lines}.
   *
   * @param r the reader
   * @param options readLine's options
   */
  constructor(r: BufReader, options: ReadLineOptions | undefined) {
    this.#r = r;
    this.#options = options;
  }

  /**
   * The next line, or `null` at end of stream (see {@linkcode BufReader.readLine}).
   *
   * @returns the line, or null at end of stream
   * @throws {MaxLengthError} (when run) for an over-long line; the next call goes on after it.
   * @example
   * ```ts
   * import { BufReader, duplex } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * await a.writeAll(new TextEncoder().encode("x\n"));
   * assert.equal(await new BufReader(b).lines().next(), "x");
   * ```
   */
  next(): Operation<string | null> & PromiseLike<string | null> {
    return this.#r.readLine(this.#options);
  }

  /**
   * `for await (const line of lines)` until the end of the stream.
   *
   * @returns an async iterator of the lines.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<string, void, undefined> {
    for (;;) {
      const line = await this.#r.readLine(this.#options);
      if (line === null) return;
      yield line;
    }
  }
}
