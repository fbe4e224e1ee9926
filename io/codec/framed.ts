/**
 * `Framed(stream, codec)`: a byte stream seen as a stream of items — reads
 * go through a {@linkcode BufReader} and the codec's {@linkcode Decoder},
 * writes through its {@linkcode Encoder} and a {@linkcode BufWriter}.
 *
 * Invariants:
 * - Cancel safety of `read()`: the bytes live in the BufReader and are
 *   consumed only by a `decode` that returned an item (or skipped bad
 *   input), so a cancelled `read()` loses nothing; the next one goes on
 *   where it stopped.
 * - `write(item)` encodes when it runs (not when called), into a scratch
 *   buffer, then copies the bytes into the BufWriter: an item is written
 *   whole or, if the operation is cancelled while the BufWriter flushes,
 *   possibly in part — after a cancelled `write` the stream's framing is
 *   unknown (as with any half-sent message); `read` has no such limit.
 * - Bytes left at end of stream that the codec cannot make an item of are
 *   an error (`Deno.errors.UnexpectedEof`), not silently dropped.
 *
 * @module
 */

import type { Operation } from "../../runtime/operation.ts";
import { type AWAIT, StepOp } from "../_step_op.ts";
import { BufReader } from "../buf_reader.ts";
import { BufWriter } from "../buf_writer.ts";
import type { Reader } from "../reader.ts";
import type { Writer } from "../writer.ts";
import type { Decoder, EncodeBuffer, Encoder } from "./codec.ts";
import { GrowBuffer } from "./_grow_buffer.ts";

/**
 * Options of {@linkcode Framed}.
 *
 * @example
 * ```ts
 * import { duplex, Framed, type FramedOptions, LinesCodec } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const options: FramedOptions = { readCapacity: 16 * 1024, writeCapacity: 16 * 1024 };
 * const f = new Framed(duplex(64)[0], new LinesCodec(), options);
 * assert.ok(f instanceof Framed);
 * ```
 */
export interface FramedOptions {
  /** Initial read buffer size (default 8192); it grows to hold one item. */
  readCapacity?: number;
  /** Write buffer size (default 8192). */
  writeCapacity?: number;
}

/** Reading the source (not at its end). */
const OPEN = 0;
/** Waiting for more bytes. */
const READING = 1;
/** The source ended: only decodeEof is left. */
const AT_EOF = 2;

class ReadFrameOp<T> extends StepOp<T | null> {
  readonly #r: BufReader;
  readonly #codec: Decoder<T>;
  #state = OPEN;
  constructor(r: BufReader, codec: Decoder<T>) {
    super();
    this.#r = r;
    this.#codec = codec;
  }
  reuse(): boolean {
    if (!this.rearm()) return false;
    this.#state = OPEN;
    return true;
  }
  protected step(input: unknown): T | null | typeof AWAIT {
    const r = this.#r;
    const codec = this.#codec;
    if (this.#state === READING) this.#state = input === null ? AT_EOF : OPEN;
    if (this.#state === OPEN) {
      const item = codec.decode(r);
      if (item !== null) return item;
      this.#state = READING;
      return this.run(r.fillMore());
    }
    const item = codec.decodeEof !== undefined ? codec.decodeEof(r) : codec.decode(r);
    if (item !== null) return item;
    const left = r.buffered;
    if (left > 0) {
      r.consume(left);
      throw new Deno.errors.UnexpectedEof(
        `Framed: the stream ended inside an item (${left} bytes left)`,
      );
    }
    return null;
  }
  protected override cancelled(): void {
    this.#state = OPEN;
  }
}

/** Encode, then hand the bytes to the BufWriter. */
/**
 * Where `Framed.write` encodes: straight into the free room of the
 * {@linkcode BufWriter} (committed when the item is done), so a frame is
 * written once; an item that outgrows the room moves, with what it encoded
 * so far, to the scratch buffer, which `writeAll` then writes. A view it
 * gave stays valid only until the next `reserve` (as the
 * {@linkcode EncodeBuffer} contract says).
 */
class InPlaceEncode implements EncodeBuffer {
  readonly #w: BufWriter;
  readonly #scratch: GrowBuffer;
  #room: Uint8Array = EMPTY;
  #used = 0;
  /** The item moved to the scratch buffer. */
  spilled = false;
  constructor(w: BufWriter, scratch: GrowBuffer) {
    this.#w = w;
    this.#scratch = scratch;
  }
  /** Start an item (the scratch buffer is clear). */
  begin(): void {
    const w = this.#w;
    this.#room = w.reserve(w.spare) ?? EMPTY;
    this.#used = 0;
    this.spilled = false;
  }
  reserve(n: number): Uint8Array {
    if (!this.spilled) {
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new RangeError(`EncodeBuffer.reserve: bad length ${String(n)}`);
      }
      const end = this.#used + n;
      if (end <= this.#room.byteLength) {
        const view = this.#room.subarray(this.#used, end);
        this.#used = end;
        return view;
      }
      this.spilled = true;
      if (this.#used > 0) this.#scratch.reserve(this.#used).set(this.#room.subarray(0, this.#used));
    }
    return this.#scratch.reserve(n);
  }
  /** The item is encoded: true when it is in the writer's buffer, false when in the scratch. */
  end(): boolean {
    this.#room = EMPTY;
    if (this.spilled) return false;
    this.#w.commit(this.#used);
    return true;
  }
}

const EMPTY = new Uint8Array(0);

class WriteFrameOp<T> extends StepOp<void> {
  readonly #w: BufWriter;
  readonly #codec: Encoder<T>;
  readonly #scratch: GrowBuffer;
  readonly #inPlace: InPlaceEncode;
  #item: T;
  #started = false;
  constructor(w: BufWriter, codec: Encoder<T>, scratch: GrowBuffer, item: T) {
    super();
    this.#w = w;
    this.#codec = codec;
    this.#scratch = scratch;
    this.#inPlace = new InPlaceEncode(w, scratch);
    this.#item = item;
  }
  reuse(item: T): boolean {
    if (!this.rearm()) return false;
    this.#item = item;
    this.#started = false;
    return true;
  }
  protected step(_input: unknown): void | typeof AWAIT {
    const s = this.#scratch;
    if (this.#started) {
      s.clear();
      return;
    }
    this.#started = true;
    s.clear();
    const dst = this.#inPlace;
    dst.begin();
    this.#codec.encode(this.#item, dst);
    if (dst.end()) return;
    return this.run(this.#w.writeAll(s.bytes));
  }
  protected override cancelled(): void {
    this.#scratch.clear();
  }
}

/** `send`: write, then flush. */
class SendOp<T> extends StepOp<void> {
  readonly #f: Framed<unknown, T>;
  readonly #item: T;
  #stage = 0;
  constructor(f: Framed<unknown, T>, item: T) {
    super();
    this.#f = f;
    this.#item = item;
  }
  protected step(_input: unknown): void | typeof AWAIT {
    if (this.#stage === 0) {
      this.#stage = 1;
      return this.run(this.#f.write(this.#item));
    }
    if (this.#stage === 1) {
      this.#stage = 2;
      return this.run(this.#f.flush());
    }
  }
}

function hasRead(s: unknown): s is Reader {
  return typeof (s as Reader).read === "function";
}

function hasWrite(s: unknown): s is Writer {
  return typeof (s as Writer).write === "function" &&
    typeof (s as Writer).writeAll === "function" && typeof (s as Writer).shutdown === "function";
}

/**
 * A stream of items over a byte stream (a `TcpStream`, a split half, a
 * duplex end, stdio…) and a codec. `In` is what `read` gives, `Out` what
 * `write` takes. A read-only stream (a read half) may be given a
 * {@linkcode Decoder} alone, a write-only one an {@linkcode Encoder}.
 *
 * @example
 * ```ts
 * import { duplex, Framed, LengthDelimitedCodec, run } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = duplex(1024);
 * const codec = new LengthDelimitedCodec();
 * const got = await run(function* () {
 *   const out = new Framed(a, codec);
 *   yield* out.write(new Uint8Array([1, 2, 3]));
 *   yield* out.send(new Uint8Array([4])); // write + flush
 *   const inp = new Framed(b, new LengthDelimitedCodec());
 *   return [yield* inp.read(), yield* inp.read()];
 * });
 * assert.deepEqual(got, [new Uint8Array([1, 2, 3]), new Uint8Array([4])]);
 * ```
 */
export class Framed<In, Out = In> implements AsyncIterable<In> {
  readonly #r: BufReader | null;
  readonly #w: BufWriter | null;
  readonly #decoder: Decoder<In> | null;
  readonly #encoder: Encoder<Out> | null;
  readonly #scratch = new GrowBuffer();
  #readOp: ReadFrameOp<In> | null = null;
  #writeOp: WriteFrameOp<Out> | null = null;

  /**
   * Frame `stream` with `codec`.
   *
   * @param stream a reader, a writer, or both
   * @param codec a decoder (to read), an encoder (to write), or both
   * @param options buffer sizes
   * @throws {TypeError} when `stream` is neither a reader nor a writer, or
   *   `codec` neither decodes nor encodes.
   */
  constructor(
    stream: Reader | Writer | (Reader & Writer),
    codec: Decoder<In> | Encoder<Out> | (Decoder<In> & Encoder<Out>),
    options?: FramedOptions,
  ) {
    options ??= {};
    if (stream === null || typeof stream !== "object") {
      throw new TypeError("Framed takes a reader and/or writer stream");
    }
    const dec = typeof (codec as Decoder<In>)?.decode === "function" ? codec as Decoder<In> : null;
    const enc = typeof (codec as Encoder<Out>)?.encode === "function"
      ? codec as Encoder<Out>
      : null;
    if (dec === null && enc === null) throw new TypeError("Framed: codec has no decode or encode");
    this.#r = hasRead(stream) && dec !== null
      ? new BufReader(stream, { capacity: options.readCapacity })
      : null;
    this.#w = hasWrite(stream) && enc !== null
      ? new BufWriter(stream, { capacity: options.writeCapacity })
      : null;
    if (this.#r === null && this.#w === null) {
      throw new TypeError(
        "Framed: the stream can neither be read with nor written with this codec",
      );
    }
    this.#decoder = dec;
    this.#encoder = enc;
  }

  /** Bytes read and not yet decoded. */
  get readBuffered(): number {
    return this.#r?.buffered ?? 0;
  }

  /** Bytes encoded and not yet flushed. */
  get writeBuffered(): number {
    return this.#w?.buffered ?? 0;
  }

  /**
   * The next item, or `null` at a clean end of stream. Cancel-safe.
   *
   * @returns the item, or null at end of stream
   * @throws {TypeError} when the stream or codec cannot read.
   * @throws {Deno.errors.UnexpectedEof} (when run) if the stream ends inside an item.
   * @throws what the decoder throws (when run), e.g. {@linkcode MaxLengthError}.
   * @example
   * ```ts
   * import { duplex, Framed, LinesCodec, run } from "../../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * const f = new Framed(b, new LinesCodec());
   * const line = await run(function* () {
   *   yield* a.writeAll(new TextEncoder().encode("hi\n"));
   *   return yield* f.read();
   * });
   * assert.equal(line, "hi");
   * ```
   */
  read(): Operation<In | null> & PromiseLike<In | null> {
    const r = this.#r;
    if (r === null) throw new TypeError("Framed.read: this stream or codec cannot read");
    const op = this.#readOp;
    if (op !== null && op.reuse()) return op;
    return this.#readOp = new ReadFrameOp(r, this.#decoder!);
  }

  /**
   * Encode `item` into the write buffer (written out as it fills; call
   * {@linkcode Framed.flush} to send what is buffered).
   *
   * @param item what to write
   * @returns nothing, once the item is buffered
   * @throws {TypeError} when the stream or codec cannot write.
   * @throws what the encoder throws (when run); nothing is written then.
   * @example
   * ```ts
   * import { duplex, Framed, LinesCodec } from "../../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const f = new Framed(duplex(64)[0], new LinesCodec());
   * await f.write("hello");
   * assert.equal(f.writeBuffered, 6); // "hello\n", not sent yet
   * ```
   */
  write(item: Out): Operation<void> & PromiseLike<void> {
    const w = this.#writer("write");
    const op = this.#writeOp;
    if (op !== null && op.reuse(item)) return op;
    return this.#writeOp = new WriteFrameOp(w, this.#encoder!, this.#scratch, item);
  }

  /**
   * Write `item`, then flush.
   *
   * @param item what to send
   * @returns nothing, once the item was handed to the stream
   * @throws {TypeError} when the stream or codec cannot write.
   * @example
   * ```ts
   * import { duplex, Framed, LinesCodec } from "../../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * await new Framed(a, new LinesCodec()).send("ok");
   * assert.equal(await b.read(new Uint8Array(8)), 3);
   * ```
   */
  send(item: Out): Operation<void> & PromiseLike<void> {
    this.#writer("send");
    return new SendOp(this as Framed<unknown, Out>, item);
  }

  /**
   * Write everything buffered to the stream.
   *
   * @returns nothing, once the write buffer is empty
   * @throws {TypeError} when the stream or codec cannot write.
   * @example
   * ```ts
   * import { duplex, Framed, LinesCodec } from "../../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const f = new Framed(duplex(64)[0], new LinesCodec());
   * await f.write("a");
   * await f.flush();
   * assert.equal(f.writeBuffered, 0);
   * ```
   */
  flush(): Operation<void> & PromiseLike<void> {
    return this.#writer("flush").flush();
  }

  /**
   * Flush, then shut the stream's writing down.
   *
   * @returns nothing, once done
   * @throws {TypeError} when the stream or codec cannot write.
   * @example
   * ```ts
   * import { duplex, Framed, LinesCodec, run } from "../../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = duplex(64);
   * const got = await run(function* () {
   *   const out = new Framed(a, new LinesCodec());
   *   yield* out.write("bye");
   *   yield* out.shutdown();
   *   const inp = new Framed(b, new LinesCodec());
   *   return [yield* inp.read(), yield* inp.read()];
   * });
   * assert.deepEqual(got, ["bye", null]);
   * ```
   */
  shutdown(): Operation<void> & PromiseLike<void> {
    return this.#writer("shutdown").shutdown();
  }

  #writer(what: string): BufWriter {
    const w = this.#w;
    if (w === null) throw new TypeError(`Framed.${what}: this stream or codec cannot write`);
    return w;
  }

  /**
   * `for await (const item of framed)` until the end of the stream.
   *
   * @returns an async iterator of the decoded items.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<In, void, undefined> {
    for (;;) {
      const item = await this.read();
      if (item === null) return;
      yield item;
    }
  }
}
