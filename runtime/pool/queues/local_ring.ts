/**
 * A worker's local run queue: the {@link RingCore} work-stealing ring at the
 * production capacity of 256 task ids, in a SharedArrayBuffer.
 *
 * Invariant (from the core): one owner pushes at the tail and pops at the
 * head; stealers take `ceil(n/2)` with one CAS on the packed head
 * `steal << 16 | real`, one stealer per victim at a time; a push into a full
 * ring moves 128 tasks plus the new one to the overflow sink in one batch.
 * Every id pushed comes out exactly once.
 *
 * @module
 */

import { ringByteLength, RingCore } from "./ring_core.ts";

export type { Overflow } from "./ring_core.ts";

/**
 * Slots in a worker's local ring (Tokio's value).
 *
 * @example
 * ```ts
 * import { LOCAL_RING_CAPACITY, LocalRing } from "./local_ring.ts";
 * import assert from "node:assert/strict";
 *
 * const ring = new LocalRing(new SharedArrayBuffer(LocalRing.byteLength), 0);
 * const spilled: number[] = [];
 * const inject = {
 *   pushBatch(ids: Int32Array | number[], n: number) {
 *     for (let i = 0; i < n; i++) spilled.push(ids[i]);
 *   },
 * };
 * for (let id = 0; id <= LOCAL_RING_CAPACITY; id++) ring.push(id, inject);
 * assert.equal(spilled.length, LOCAL_RING_CAPACITY / 2 + 1); // half of it, plus the new id
 * ```
 */
export const LOCAL_RING_CAPACITY = 256;

/**
 * A worker's local ring of 256 task ids. A zero-filled region is an empty ring.
 *
 * @example
 * ```ts
 * import { LocalRing } from "./local_ring.ts";
 * import assert from "node:assert/strict";
 * const sab = new SharedArrayBuffer(LocalRing.byteLength * 2);
 * const mine = new LocalRing(sab, 0);
 * const other = new LocalRing(sab, LocalRing.byteLength);
 * const inject = { pushBatch(_ids: Int32Array | number[], _n: number) {} };
 * for (let id = 0; id < 10; id++) mine.push(id, inject);
 * assert.equal(mine.pop(), 0);
 * assert.equal(mine.stealInto(other), 5);
 * assert.equal(other.length, 4);
 * ```
 */
export class LocalRing extends RingCore {
  /** Bytes one ring occupies in the shared buffer (1152, a multiple of 64). */
  static readonly byteLength: number = ringByteLength(LOCAL_RING_CAPACITY);

  /**
   * View the ring at `byteOffset` (a multiple of 4; 64 recommended) of `sab`.
   *
   * @example
   * ```ts
   * import { LocalRing } from "./local_ring.ts";
   * import assert from "node:assert/strict";
   * const ring = new LocalRing(new SharedArrayBuffer(LocalRing.byteLength), 0);
   * assert.equal(ring.capacity, 256);
   * assert.equal(ring.isEmpty(), true);
   * ```
   */
  constructor(sab: SharedArrayBuffer, byteOffset: number) {
    super(sab, byteOffset, LOCAL_RING_CAPACITY);
  }
}
