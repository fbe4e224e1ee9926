/**
 * `BytesCodec`: items are whatever bytes arrived — no framing at all. For
 * `Framed` over a raw byte protocol, and as the simplest codec to copy.
 *
 * @module
 */

import type { Codec, DecodeBuffer, EncodeBuffer } from "./codec.ts";

/**
 * Decodes every buffered byte as one item (a copy); encodes an item as its bytes.
 *
 * @example
 * ```ts
 * import { BytesCodec, duplex, Framed, run } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = duplex(64);
 * const got = await run(function* () {
 *   yield* new Framed(a, new BytesCodec()).send(new Uint8Array([1, 2]));
 *   return yield* new Framed(b, new BytesCodec()).read();
 * });
 * assert.deepEqual(got, new Uint8Array([1, 2]));
 * ```
 */
export class BytesCodec implements Codec<Uint8Array> {
  /**
   * All buffered bytes (a copy), or null when there are none.
   *
   * @param src the buffered bytes
   * @returns the bytes, or null
   * @example
   * ```ts
   * import { BytesCodec } from "../../mod.ts";
   * import assert from "node:assert/strict";
   *
   * let bytes = new Uint8Array([9]);
   * const src = { get buffer() { return bytes; }, consume(n: number) { bytes = bytes.subarray(n); } };
   * assert.deepEqual(new BytesCodec().decode(src), new Uint8Array([9]));
   * assert.equal(new BytesCodec().decode(src), null);
   * ```
   */
  decode(src: DecodeBuffer): Uint8Array | null {
    const buf = src.buffer;
    if (buf.byteLength === 0) return null;
    const out = buf.slice();
    src.consume(buf.byteLength);
    return out;
  }

  /**
   * Append `item`'s bytes.
   *
   * @param item the bytes
   * @param dst where they go
   * @throws {TypeError} when `item` is not a Uint8Array.
   * @example
   * ```ts
   * import { BytesCodec } from "../../mod.ts";
   * import assert from "node:assert/strict";
   *
   * let out = new Uint8Array(0);
   * new BytesCodec().encode(new Uint8Array([3]), { reserve: (n) => (out = new Uint8Array(n)) });
   * assert.deepEqual([...out], [3]);
   * ```
   */
  encode(item: Uint8Array, dst: EncodeBuffer): void {
    if (!(item instanceof Uint8Array)) throw new TypeError("BytesCodec.encode takes a Uint8Array");
    dst.reserve(item.byteLength).set(item);
  }
}
