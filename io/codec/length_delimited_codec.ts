/**
 * `LengthDelimitedCodec`: each frame is an unsigned length of 1, 2, 4 or 8
 * bytes (big-endian by default) followed by that many payload bytes.
 *
 * Invariants: a length is checked against `maxFrameLength` as soon as its
 * header is in, before any payload is buffered — so a peer announcing 4 GiB
 * makes nothing big be allocated. An over-long frame throws
 * {@linkcode MaxLengthError}; its payload is then dropped as it arrives
 * (never buffered) and the next frame decodes normally.
 *
 * @module
 */

import { MaxLengthError } from "../max_length_error.ts";
import type { Codec, DecodeBuffer, EncodeBuffer } from "./codec.ts";
import { copyOut } from "./_slab.ts";

/** Default largest payload, bytes (8 MiB). */
const DEFAULT_MAX_FRAME = 8 * 1024 * 1024;
/** 2^32, to build a 64-bit length from two 32-bit halves. */
const TWO_POW_32 = 0x1_0000_0000;

/** Waiting for a header. */
const HEAD = 0;
/** Header read: waiting for `#need` payload bytes. */
const DATA = 1;
/** Dropping `#need` more payload bytes of an over-long frame. */
const SKIP = 2;

/**
 * Options of {@linkcode LengthDelimitedCodec}.
 *
 * @example
 * ```ts
 * import { LengthDelimitedCodec, type LengthDelimitedOptions } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const options: LengthDelimitedOptions = {
 *   lengthFieldBytes: 2,
 *   bigEndian: false,
 *   maxFrameLength: 1024,
 * };
 * assert.equal(new LengthDelimitedCodec(options).maxFrameLength, 1024);
 * ```
 */
export interface LengthDelimitedOptions {
  /** Size of the length field: 1, 2, 4 (default) or 8 bytes. */
  lengthFieldBytes?: 1 | 2 | 4 | 8;
  /** Byte order of the length field (default true: network order). */
  bigEndian?: boolean;
  /** Largest payload accepted and sent, bytes (default 8 MiB). */
  maxFrameLength?: number;
}

/**
 * Length-prefixed frames for {@linkcode Framed}: decodes to the payload (a
 * copy: frames up to 4 KiB are views into shared 64 KiB slabs, so a kept
 * small frame keeps its slab alive — copy it with `slice()` to keep it
 * long), encodes a Uint8Array with its length in front.
 *
 * @example
 * ```ts
 * import { duplex, Framed, LengthDelimitedCodec, MaxLengthError, run } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = duplex(64);
 * const got = await run(function* () {
 *   const f = new Framed(b, new LengthDelimitedCodec({ maxFrameLength: 4 }));
 *   // A 6-byte frame (over the limit), then a 1-byte one.
 *   yield* a.writeAll(new Uint8Array([0, 0, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0, 1, 42]));
 *   try {
 *     yield* f.read();
 *     assert.fail("the 6-byte frame is over the limit");
 *   } catch (e) {
 *     assert.ok(e instanceof MaxLengthError);
 *     assert.equal(e.length, 6);
 *   }
 *   return yield* f.read(); // the long frame was skipped
 * });
 * assert.deepEqual(got, new Uint8Array([42]));
 * ```
 */
export class LengthDelimitedCodec implements Codec<Uint8Array> {
  /** Largest payload accepted and sent, bytes. */
  readonly maxFrameLength: number;
  /** Size of the length field, bytes. */
  readonly lengthFieldBytes: 1 | 2 | 4 | 8;
  /** Byte order of the length field. */
  readonly bigEndian: boolean;
  /** Largest length the field can carry. */
  readonly #fieldMax: number;
  #state = HEAD;
  #need = 0;

  /**
   * Make one.
   *
   * @param options field size, byte order, largest frame
   * @throws {RangeError} for a field size other than 1, 2, 4, 8, or a bad `maxFrameLength`.
   */
  constructor(options?: LengthDelimitedOptions) {
    options ??= {};
    const field = options.lengthFieldBytes ?? 4;
    if (field !== 1 && field !== 2 && field !== 4 && field !== 8) {
      throw new RangeError(
        `LengthDelimitedCodec: lengthFieldBytes must be 1, 2, 4 or 8, got ${String(field)}`,
      );
    }
    const max = options.maxFrameLength ?? DEFAULT_MAX_FRAME;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new RangeError(
        `LengthDelimitedCodec: maxFrameLength must be a non-negative integer, got ${String(max)}`,
      );
    }
    this.lengthFieldBytes = field;
    this.bigEndian = options.bigEndian ?? true;
    this.maxFrameLength = max;
    this.#fieldMax = field === 8 ? Number.MAX_SAFE_INTEGER : 2 ** (8 * field) - 1;
  }

  /**
   * Decode one frame's payload, or null for more bytes.
   *
   * @param src the buffered bytes
   * @returns the payload (a copy), or null
   * @throws {MaxLengthError} for a length over `maxFrameLength` (its payload is then dropped).
   * @example
   * ```ts
   * import { LengthDelimitedCodec } from "../../mod.ts";
   * import assert from "node:assert/strict";
   *
   * let bytes = new Uint8Array([0, 2, 7, 8, 0]);
   * const src = { get buffer() { return bytes; }, consume(n: number) { bytes = bytes.subarray(n); } };
   * const codec = new LengthDelimitedCodec({ lengthFieldBytes: 2 });
   * assert.deepEqual(codec.decode(src), new Uint8Array([7, 8]));
   * assert.equal(codec.decode(src), null); // half a header
   * ```
   */
  decode(src: DecodeBuffer): Uint8Array | null {
    let buf = src.buffer;
    for (;;) {
      if (this.#state === SKIP) {
        const n = Math.min(this.#need, buf.byteLength);
        src.consume(n);
        this.#need -= n;
        if (this.#need > 0) return null;
        this.#state = HEAD;
        buf = src.buffer;
      }
      let at = 0;
      if (this.#state === HEAD) {
        const field = this.lengthFieldBytes;
        if (buf.byteLength < field) return null;
        const len = this.#readLength(buf);
        if (len > this.maxFrameLength) {
          src.consume(field);
          this.#state = SKIP;
          this.#need = len;
          throw new MaxLengthError("frame", this.maxFrameLength, len);
        }
        this.#state = DATA;
        this.#need = len;
        at = field;
      }
      const len = this.#need;
      if (buf.byteLength - at < len) {
        // Keep waiting for the payload; the header is taken now (it is parsed).
        if (at > 0) src.consume(at);
        return null;
      }
      const frame = copyOut(buf, at, at + len);
      src.consume(at + len);
      this.#state = HEAD;
      return frame;
    }
  }

  #readLength(b: Uint8Array): number {
    const be = this.bigEndian;
    switch (this.lengthFieldBytes) {
      case 1:
        return b[0];
      case 2:
        return be ? (b[0] << 8) | b[1] : (b[1] << 8) | b[0];
      case 4:
        return be ? u32(b, 0) : u32le(b, 0);
      default: {
        const hi = be ? u32(b, 0) : u32le(b, 4);
        const lo = be ? u32(b, 4) : u32le(b, 0);
        // Past 2^53 the exact value does not matter: it is over any maximum.
        return hi * TWO_POW_32 + lo;
      }
    }
  }

  /**
   * Append `frame` with its length in front.
   *
   * @param frame the payload
   * @param dst where the bytes go
   * @throws {TypeError} when `frame` is not a Uint8Array.
   * @throws {MaxLengthError} when it is longer than `maxFrameLength` (or the field can carry).
   * @example
   * ```ts
   * import { LengthDelimitedCodec } from "../../mod.ts";
   * import assert from "node:assert/strict";
   *
   * let out = new Uint8Array(0);
   * new LengthDelimitedCodec({ lengthFieldBytes: 1 })
   *   .encode(new Uint8Array([5, 6]), { reserve: (n) => (out = new Uint8Array(n)) });
   * assert.deepEqual([...out], [2, 5, 6]);
   * ```
   */
  encode(frame: Uint8Array, dst: EncodeBuffer): void {
    if (!(frame instanceof Uint8Array)) {
      throw new TypeError("LengthDelimitedCodec.encode takes a Uint8Array");
    }
    const len = frame.byteLength;
    const limit = Math.min(this.maxFrameLength, this.#fieldMax);
    if (len > limit) throw new MaxLengthError("frame", limit, len);
    const field = this.lengthFieldBytes;
    const out = dst.reserve(field + len);
    const be = this.bigEndian;
    // The length's bytes, least significant first, placed by byte order.
    let rest = len;
    for (let k = 0; k < field; k++) {
      out[be ? field - 1 - k : k] = rest % 256;
      rest = Math.floor(rest / 256);
    }
    out.set(frame, field);
  }
}

/** The big-endian unsigned 32-bit value at `b[at..at+4)`. */
function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** The little-endian unsigned 32-bit value at `b[at..at+4)`. */
function u32le(b: Uint8Array, at: number): number {
  return ((b[at + 3] << 24) | (b[at + 2] << 16) | (b[at + 1] << 8) | b[at]) >>> 0;
}
