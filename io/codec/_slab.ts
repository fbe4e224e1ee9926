/**
 * Internal: copies of small decoded items carved out of shared 64 KiB
 * slabs, so a stream of small frames costs one ArrayBuffer per slab instead
 * of one per frame (an ArrayBuffer allocation costs about as much as
 * decoding a small frame). Node does the same for small Buffers.
 *
 * Trade-off, by design: an item is a view into its slab, so keeping one
 * small item alive keeps its slab's 64 KiB alive. Items over 4 KiB get an
 * ArrayBuffer of their own.
 *
 * @module
 */

/** Size of one slab, bytes. */
const SLAB_SIZE = 64 * 1024;
/** Largest item carved out of a slab, bytes. */
const MAX_SLAB_ITEM = 4 * 1024;
/** Slab offsets are kept 8-byte aligned so an item can be viewed as wider words. */
const ALIGN_MASK = 7;

let slab = new Uint8Array(SLAB_SIZE);
let used = 0;

/**
 * A copy of `src[from..to)`: a view into a shared slab when small, else its own array.
 *
 * @example
 * ```ts
 * import { copyOut } from "./_slab.ts";
 * import assert from "node:assert/strict";
 *
 * const src = new Uint8Array([1, 2, 3, 4]);
 * const item = copyOut(src, 1, 3);
 * src[1] = 9;
 * assert.deepEqual([...item], [2, 3]); // a copy
 * ```
 */
export function copyOut(src: Uint8Array, from: number, to: number): Uint8Array {
  const n = to - from;
  if (n > MAX_SLAB_ITEM || n === 0) return src.slice(from, to);
  if (used + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    used = 0;
  }
  const item = slab.subarray(used, used + n);
  item.set(src.subarray(from, to));
  used = (used + n + ALIGN_MASK) & ~ALIGN_MASK;
  return item;
}
