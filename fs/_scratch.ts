/**
 * Internal: a pool of fs/'s own I/O buffers ("scratch"), so the hot paths
 * (opening a path, reading a small file, bouncing a read) reuse buffers
 * whose address is already known instead of paying for a new buffer and its
 * address lookup (~1 µs) per call.
 *
 * Invariant: a scratch buffer is given back only when no kernel op and no
 * worker thread can touch it any more (its op has completed); a buffer
 * whose op was cancelled stays with that op until its completion.
 *
 * @module
 */

/**
 * Bytes in one scratch buffer: fits a whole path (PATH_MAX is 4096) and a
 * small file.
 *
 * @example
 * ```ts
 * import { SCRATCH_SIZE } from "./_scratch.ts";
 * import assert from "node:assert/strict";
 * assert.ok(SCRATCH_SIZE > 4096);
 * ```
 */
export const SCRATCH_SIZE = 65536;
/** Buffers kept for reuse at most (4 MiB). */
const MAX_POOLED = 64;

const pool: Uint8Array[] = [];
/** Code units below this are ASCII: one UTF-8 byte each, the same value. */
const ASCII_END = 0x80;
const encoder = new TextEncoder();

/**
 * A scratch buffer of `SCRATCH_SIZE` bytes, from the pool when one is free.
 *
 * @example
 * ```ts
 * import { giveScratch, SCRATCH_SIZE, takeScratch } from "./_scratch.ts";
 * import assert from "node:assert/strict";
 * const b = takeScratch();
 * assert.equal(b.byteLength, SCRATCH_SIZE);
 * giveScratch(b);
 * ```
 */
export function takeScratch(): Uint8Array {
  return pool.pop() ?? new Uint8Array(SCRATCH_SIZE);
}

/**
 * Give a scratch buffer back (only once nothing can write into it).
 *
 * @example
 * ```ts
 * import { giveScratch, takeScratch } from "./_scratch.ts";
 * giveScratch(takeScratch());
 * ```
 */
export function giveScratch(b: Uint8Array): void {
  if (b.byteLength === SCRATCH_SIZE && pool.length < MAX_POOLED) pool.push(b);
}

/**
 * Encode `path` NUL-terminated at the start of `into`; the bytes used
 * (a view of `into`), or a fresh C string when it does not fit.
 *
 * @example
 * ```ts
 * import { cPath } from "./_scratch.ts";
 * import assert from "node:assert/strict";
 * const c = cPath("/tmp", new Uint8Array(16));
 * assert.equal(c.length, 5);
 * assert.equal(c[4], 0);
 * assert.deepEqual(cPath("/é", new Uint8Array(16)), new Uint8Array([0x2f, 0xc3, 0xa9, 0]));
 * ```
 */
export function cPath(path: string, into: Uint8Array): Uint8Array {
  const n = path.length;
  if (n < into.byteLength) {
    // ASCII, the usual path, byte by byte: cheaper than a call into the encoder per open.
    let i = 0;
    for (; i < n; i++) {
      const c = path.charCodeAt(i);
      if (c >= ASCII_END) break;
      into[i] = c;
    }
    if (i === n) {
      into[n] = 0;
      return into.subarray(0, n + 1);
    }
  }
  const r = encoder.encodeInto(path, into.subarray(0, into.byteLength - 1));
  if (r.read < path.length) {
    const enc = encoder.encode(path);
    const out = new Uint8Array(enc.byteLength + 1);
    out.set(enc);
    return out;
  }
  into[r.written] = 0;
  return into.subarray(0, r.written + 1);
}
