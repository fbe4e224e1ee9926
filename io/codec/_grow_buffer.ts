/**
 * Internal: a growable byte buffer, the {@linkcode EncodeBuffer} that
 * `Framed` encodes each item into.
 *
 * @module
 */

import type { EncodeBuffer } from "./codec.ts";

/** Initial size, bytes. */
const INITIAL = 256;

/**
 * Bytes appended with `reserve`; `bytes` is what was appended since the last `clear`.
 *
 * @example
 * ```ts
 * import { GrowBuffer } from "./_grow_buffer.ts";
 * import assert from "node:assert/strict";
 *
 * const b = new GrowBuffer();
 * b.reserve(2).set([1, 2]);
 * b.reserve(1)[0] = 3;
 * assert.deepEqual([...b.bytes], [1, 2, 3]);
 * b.clear();
 * assert.equal(b.bytes.length, 0);
 * ```
 */
export class GrowBuffer implements EncodeBuffer {
  #buf = new Uint8Array(INITIAL);
  #len = 0;

  /** Append `n` bytes; the view to fill. */
  reserve(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`EncodeBuffer.reserve: bad length ${String(n)}`);
    }
    const need = this.#len + n;
    if (need > this.#buf.byteLength) {
      let size = this.#buf.byteLength * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    const start = this.#len;
    this.#len = need;
    return this.#buf.subarray(start, need);
  }

  /** The bytes appended since the last clear (a view). */
  get bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  /** Forget the appended bytes (keeps the memory unless it grew past `keep`). */
  clear(keep = 64 * 1024): void {
    this.#len = 0;
    if (this.#buf.byteLength > keep) this.#buf = new Uint8Array(INITIAL);
  }
}
