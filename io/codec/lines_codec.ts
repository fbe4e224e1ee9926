/**
 * `LinesCodec`: items are lines of UTF-8 text, ended by `\n` (a `\r`
 * before it is dropped too).
 *
 * Invariants: the codec remembers how far it has searched the buffered
 * bytes, so bytes arriving one at a time are searched once. A line longer
 * than `maxLength` throws {@linkcode MaxLengthError} as soon as the limit is
 * passed, without waiting for (or buffering) the rest; the codec then drops
 * bytes up to and including the next `\n` as they arrive, and the line
 * after is decoded normally: the stream stays usable. What `encode`
 * accepts decodes back as itself: a line holding `\n` or ending in `\r` is
 * refused.
 *
 * @module
 */

import { MaxLengthError } from "../max_length_error.ts";
import type { Codec, DecodeBuffer, EncodeBuffer } from "./codec.ts";

/** Default longest line, bytes (not counting `\n` / `\r\n`). */
const DEFAULT_MAX_LENGTH = 64 * 1024;
const LF = 0x0a;
const CR = 0x0d;

const utf8In = new TextDecoder();
const utf8Out = new TextEncoder();

/**
 * Options of {@linkcode LinesCodec}.
 *
 * @example
 * ```ts
 * import { LinesCodec, type LinesCodecOptions } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const options: LinesCodecOptions = { maxLength: 1024 };
 * assert.equal(new LinesCodec(options).maxLength, 1024);
 * ```
 */
export interface LinesCodecOptions {
  /** Longest line accepted, bytes, without its `\n`/`\r\n` (default 65536). */
  maxLength?: number;
}

/**
 * Lines codec for {@linkcode Framed}: decodes `\n`- or `\r\n`-ended lines
 * to strings (the last line of a stream may lack its end); encodes a string
 * as its UTF-8 bytes plus `\n`.
 *
 * @example
 * ```ts
 * import { duplex, Framed, LinesCodec, MaxLengthError, run } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = duplex(1024);
 * const got = await run(function* () {
 *   yield* a.writeAll(new TextEncoder().encode("ok\r\nthis one is too long\nfine\n"));
 *   yield* a.shutdown();
 *   const lines = new Framed(b, new LinesCodec({ maxLength: 8 }));
 *   const out: string[] = [];
 *   for (;;) {
 *     try {
 *       const line = yield* lines.read();
 *       if (line === null) return out;
 *       out.push(line);
 *     } catch (e) {
 *       assert.ok(e instanceof MaxLengthError);
 *       out.push("(too long)");
 *     }
 *   }
 * });
 * assert.deepEqual(got, ["ok", "(too long)", "fine"]);
 * ```
 */
export class LinesCodec implements Codec<string> {
  /** The longest line accepted, bytes. */
  readonly maxLength: number;
  /** Bytes at the front of the buffer already searched for `\n`. */
  #searched = 0;
  /** Dropping the rest of an over-long line. */
  #dropping = false;

  /**
   * Make one.
   *
   * @param options `maxLength` (default 65536)
   * @throws {RangeError} for a `maxLength` that is not a non-negative integer.
   */
  constructor(options?: LinesCodecOptions) {
    options ??= {};
    const max = options.maxLength ?? DEFAULT_MAX_LENGTH;
    if (
      typeof max !== "number" || !(max >= 0) || (!Number.isSafeInteger(max) && max !== Infinity)
    ) {
      throw new RangeError(
        `LinesCodec: maxLength must be a non-negative integer, got ${String(max)}`,
      );
    }
    this.maxLength = max;
  }

  /**
   * Decode one line (without its `\n`/`\r\n`), or null for more bytes.
   *
   * @param src the buffered bytes
   * @returns the line, or null
   * @throws {MaxLengthError} once a line passes `maxLength` (the rest is dropped).
   * @example
   * ```ts
   * import { LinesCodec } from "../../mod.ts";
   * import assert from "node:assert/strict";
   *
   * let bytes = new TextEncoder().encode("a\r\nb");
   * const src = { get buffer() { return bytes; }, consume(n: number) { bytes = bytes.subarray(n); } };
   * const codec = new LinesCodec();
   * assert.equal(codec.decode(src), "a");
   * assert.equal(codec.decode(src), null); // "b" has no end yet
   * ```
   */
  decode(src: DecodeBuffer): string | null {
    let buf = src.buffer;
    if (this.#dropping) {
      const i = buf.indexOf(LF);
      if (i < 0) {
        src.consume(buf.byteLength);
        return null;
      }
      src.consume(i + 1);
      this.#dropping = false;
      buf = src.buffer;
    }
    const i = buf.indexOf(LF, this.#searched);
    const max = this.maxLength;
    if (i < 0) {
      // A line of `max` bytes may still be followed by "\r\n".
      if (buf.byteLength > max + 1) {
        src.consume(buf.byteLength);
        this.#searched = 0;
        this.#dropping = true;
        throw new MaxLengthError("line", max, buf.byteLength);
      }
      this.#searched = buf.byteLength;
      return null;
    }
    this.#searched = 0;
    const stop = i > 0 && buf[i - 1] === CR ? i - 1 : i;
    if (stop > max) {
      src.consume(i + 1);
      throw new MaxLengthError("line", max, stop);
    }
    const line = utf8In.decode(buf.subarray(0, stop));
    src.consume(i + 1);
    return line;
  }

  /**
   * At end of stream: the last line, even without its `\n`.
   *
   * @param src the buffered bytes
   * @returns the line, or null when nothing is left
   * @throws {MaxLengthError} when the last line is over `maxLength`.
   * @example
   * ```ts
   * import { LinesCodec } from "../../mod.ts";
   * import assert from "node:assert/strict";
   *
   * let bytes = new TextEncoder().encode("tail");
   * const src = { get buffer() { return bytes; }, consume(n: number) { bytes = bytes.subarray(n); } };
   * assert.equal(new LinesCodec().decodeEof(src), "tail");
   * ```
   */
  decodeEof(src: DecodeBuffer): string | null {
    const line = this.decode(src);
    if (line !== null) return line;
    const buf = src.buffer;
    this.#searched = 0;
    if (this.#dropping) {
      this.#dropping = false;
      src.consume(buf.byteLength);
      return null;
    }
    if (buf.byteLength === 0) return null;
    const stop = buf[buf.byteLength - 1] === CR ? buf.byteLength - 1 : buf.byteLength;
    if (stop > this.maxLength) {
      // decode keeps up to maxLength + 1 bytes of a line (room for its "\r\n"): one too many here.
      src.consume(buf.byteLength);
      throw new MaxLengthError("line", this.maxLength, stop);
    }
    const rest = utf8In.decode(buf.subarray(0, stop));
    src.consume(buf.byteLength);
    return rest;
  }

  /**
   * Encode `line` and a `\n`.
   *
   * @param line the text (a string)
   * @param dst where the bytes go
   * @throws {TypeError} when `line` is not a string.
   * @throws {RangeError} when `line` holds a `\n` or ends with `\r` (it would not decode
   *   back as itself).
   * @throws {MaxLengthError} when the line's UTF-8 is over `maxLength`.
   * @example
   * ```ts
   * import { LinesCodec } from "../../mod.ts";
   * import assert from "node:assert/strict";
   *
   * let out = new Uint8Array(0);
   * new LinesCodec().encode("hi", { reserve: (n) => (out = new Uint8Array(n)) });
   * assert.deepEqual([...out], [0x68, 0x69, 0x0a]);
   * ```
   */
  encode(line: string, dst: EncodeBuffer): void {
    if (typeof line !== "string") throw new TypeError("LinesCodec.encode takes a string");
    if (line.includes("\n") || line.endsWith("\r")) {
      throw new RangeError("LinesCodec.encode: a line holds no \\n and does not end with \\r");
    }
    const bytes = utf8Out.encode(line);
    if (bytes.byteLength > this.maxLength) {
      throw new MaxLengthError("line", this.maxLength, bytes.byteLength);
    }
    const out = dst.reserve(bytes.byteLength + 1);
    out.set(bytes);
    out[bytes.byteLength] = LF;
  }
}
