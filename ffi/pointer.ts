/**
 * Addresses of JS memory as plain numbers, for writing into reactor records.
 *
 * `pointerOf(view)` is the address of the view's first byte. The base address
 * of each `ArrayBuffer` (or `SharedArrayBuffer`) is asked of Deno once and
 * cached in a `WeakMap` keyed by the buffer, so later calls cost a map lookup
 * plus an add. Reading `view.buffer` first makes V8 move a small on-heap typed
 * array's bytes to a fixed off-heap store, so the address stays valid for the
 * buffer's life. Invariant: the number returned is valid exactly as long as
 * the buffer is reachable and not detached; callers that hand it to C keep the
 * view referenced until the operation's completion arrives.
 *
 * @module
 */

const bases = new WeakMap<ArrayBufferLike, number>();

/**
 * The address of `view`'s first byte as a number (0 for an empty view whose
 * buffer has no storage).
 *
 * @throws {TypeError} when `view` is not an ArrayBufferView or its buffer is detached.
 * @example
 * ```ts
 * import { pointerOf } from "./pointer.ts";
 * import assert from "node:assert/strict";
 * const u = new Uint8Array(64);
 * assert.equal(pointerOf(u.subarray(8)), pointerOf(u) + 8);
 * ```
 */
export function pointerOf(view: ArrayBufferView): number {
  const buf = view.buffer;
  let base = bases.get(buf);
  if (base === undefined) base = baseOf(view, buf);
  return base + view.byteOffset;
}

function baseOf(view: ArrayBufferView, buf: ArrayBufferLike): number {
  if (!ArrayBuffer.isView(view)) throw new TypeError("pointerOf needs an ArrayBufferView");
  if ((buf as ArrayBuffer).detached === true) {
    throw new TypeError("pointerOf: the ArrayBuffer is detached");
  }
  if (buf.byteLength === 0) return 0;
  const p = Deno.UnsafePointer.of(new Uint8Array(buf));
  const base = p === null ? 0 : Number(Deno.UnsafePointer.value(p));
  if (base !== 0) bases.set(buf, base);
  return base;
}

/**
 * Encode a path as a NUL-terminated UTF-8 byte string, as `DK_OP_OPEN` wants.
 *
 * @throws {TypeError} when the path contains a NUL character.
 * @example
 * ```ts
 * import { cString } from "./pointer.ts";
 * import assert from "node:assert/strict";
 * const p = cString("/tmp/x");
 * assert.equal(p[p.length - 1], 0);
 * ```
 */
export function cString(s: string): Uint8Array {
  if (typeof s !== "string") throw new TypeError("cString needs a string");
  if (s.includes("\0")) throw new TypeError("a C string cannot contain NUL");
  const enc = new TextEncoder().encode(s);
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}
