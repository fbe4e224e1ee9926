/**
 * The codec contract of {@linkcode Framed}: a {@linkcode Decoder} turns
 * buffered bytes into items, an {@linkcode Encoder} turns items into bytes.
 * {@linkcode LinesCodec}, {@linkcode LengthDelimitedCodec} and
 * {@linkcode BytesCodec} implement both; a protocol of your own implements
 * the pair and gets `Framed`'s buffering, cancel safety and iteration.
 *
 * @module
 */

/**
 * The bytes a {@linkcode Decoder} reads from: `buffer` is every byte
 * received and not yet consumed (a view, valid until the decoder returns);
 * `consume(n)` drops the first `n` of them. A {@linkcode BufReader} is one.
 *
 * @example
 * ```ts
 * import type { DecodeBuffer } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * let bytes = new Uint8Array([1, 2, 3]);
 * const src: DecodeBuffer = {
 *   get buffer() {
 *     return bytes;
 *   },
 *   consume(n: number) {
 *     bytes = bytes.subarray(n);
 *   },
 * };
 * src.consume(2);
 * assert.deepEqual([...src.buffer], [3]);
 * ```
 */
export interface DecodeBuffer {
  /** The unconsumed bytes (a view: copy what you keep). */
  readonly buffer: Uint8Array;
  /**
   * Drop the first `n` unconsumed bytes.
   *
   * @param n how many bytes to drop.
   */
  consume(n: number): void;
}

/**
 * Where an {@linkcode Encoder} writes: `reserve(n)` appends `n` bytes and
 * gives a view of them to fill. Fill each view before the next `reserve`:
 * a later call may move the bytes reserved so far (`Framed` encodes
 * straight into its writer's buffer and moves an item that outgrows it).
 *
 * @example
 * ```ts
 * import type { EncodeBuffer } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const chunks: Uint8Array[] = [];
 * const dst: EncodeBuffer = {
 *   reserve(n: number) {
 *     const b = new Uint8Array(n);
 *     chunks.push(b);
 *     return b;
 *   },
 * };
 * dst.reserve(2).set([7, 8]);
 * assert.deepEqual([...chunks[0]], [7, 8]);
 * ```
 */
export interface EncodeBuffer {
  /**
   * Append `n` bytes; gives the view to fill them through.
   *
   * @param n how many bytes to append.
   * @returns the view to write them through.
   */
  reserve(n: number): Uint8Array;
}

/**
 * Turns bytes into items of type `T` (never `null`: `null` means "need
 * more bytes").
 *
 * Contract: `decode(src)` either consumes the bytes of one item from the
 * front of `src.buffer` and returns the item, or consumes nothing it will
 * need later and returns `null` (`Framed` then reads more and calls again).
 * It may throw for bad input; it must then leave itself and `src` so that
 * the next call can go on (skip the bad part: consume it now, or remember
 * to drop it as it arrives). At end of stream `Framed` calls `decodeEof`
 * (default: `decode`, and leftover bytes are an error) until it gives `null`.
 *
 * @example
 * ```ts
 * import { type DecodeBuffer, type Decoder, duplex, Framed, run } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * // Items are single bytes, as numbers.
 * class ByteDecoder implements Decoder<number> {
 *   decode(src: DecodeBuffer): number | null {
 *     if (src.buffer.length === 0) return null;
 *     const b = src.buffer[0];
 *     src.consume(1);
 *     return b;
 *   }
 * }
 * const [a, b] = duplex(16);
 * const got = await run(function* () {
 *   yield* a.writeAll(new Uint8Array([4, 2]));
 *   yield* a.shutdown();
 *   const f = new Framed(b, new ByteDecoder());
 *   return [yield* f.read(), yield* f.read(), yield* f.read()];
 * });
 * assert.deepEqual(got, [4, 2, null]);
 * ```
 */
export interface Decoder<T> {
  /**
   * Decode one item from the front of `src`, or return null to wait for more bytes.
   *
   * @param src the bytes received so far.
   * @returns the item, or null to wait for more bytes.
   */
  decode(src: DecodeBuffer): T | null;
  /**
   * At end of stream: decode what is left (called until it returns null).
   *
   * @param src the bytes left at end of stream.
   * @returns the item, or null when nothing is left.
   */
  decodeEof?(src: DecodeBuffer): T | null;
}

/**
 * Turns items of type `T` into bytes.
 *
 * @example
 * ```ts
 * import { duplex, type EncodeBuffer, type Encoder, Framed, run } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * // Items are numbers 0..255, one byte each.
 * class ByteEncoder implements Encoder<number> {
 *   encode(item: number, dst: EncodeBuffer): void {
 *     dst.reserve(1)[0] = item;
 *   }
 * }
 * const [a, b] = duplex(16);
 * const n = await run(function* () {
 *   const f = new Framed(a, new ByteEncoder());
 *   yield* f.write(9);
 *   yield* f.flush();
 *   return yield* b.read(new Uint8Array(4));
 * });
 * assert.equal(n, 1);
 * ```
 */
export interface Encoder<T> {
  /**
   * Append the bytes of `item` to `dst`; throw (writing nothing) for an item it cannot encode.
   *
   * @param item the item to encode.
   * @param dst the buffer to append to.
   */
  encode(item: T, dst: EncodeBuffer): void;
}

/**
 * A decoder and encoder of the same protocol.
 *
 * @example
 * ```ts
 * import { type Codec, LinesCodec } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const codec: Codec<string> = new LinesCodec();
 * assert.equal(typeof codec.decode, "function");
 * ```
 */
export interface Codec<In, Out = In> extends Decoder<In>, Encoder<Out> {}
