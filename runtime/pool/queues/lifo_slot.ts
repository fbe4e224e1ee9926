/**
 * A worker's LIFO slot: one task id that runs before the local ring (Tokio's
 * "last spawned runs next" optimisation for message-passing patterns).
 *
 * One int32 word in a SharedArrayBuffer, changed only with `Atomics.exchange`,
 * so a value is never lost or duplicated: each id placed in the slot is
 * returned by exactly one later `swap`/`take`. The word stores `~id`, so a
 * zero-filled word is an empty slot (no initialisation needed); the API speaks
 * ids and -1 for empty.
 *
 * @module
 */

import { badTaskId, int32View } from "./ring_core.ts";

/**
 * One shared LIFO slot. The owner swaps new tasks in; other threads may `take`
 * (for instance at shutdown, or to steal from a blocked worker).
 *
 * @example
 * ```ts
 * import { LifoSlot } from "./lifo_slot.ts";
 * import assert from "node:assert/strict";
 * const slot = new LifoSlot(new SharedArrayBuffer(LifoSlot.byteLength), 0);
 * assert.equal(slot.swap(4), -1);
 * assert.equal(slot.swap(5), 4);
 * assert.equal(slot.take(), 5);
 * assert.equal(slot.take(), -1);
 * ```
 */
export class LifoSlot {
  /** Bytes a slot occupies (its own 64-byte line: the owner writes it per task). */
  static readonly byteLength: number = 64;
  readonly #i32: Int32Array;

  /**
   * View the slot at `byteOffset` (a multiple of 4) of `sab`.
   *
   * @example
   * ```ts
   * import { LifoSlot } from "./lifo_slot.ts";
   * import assert from "node:assert/strict";
   * const slot = new LifoSlot(new SharedArrayBuffer(64), 0);
   * assert.equal(slot.isEmpty(), true);
   * ```
   */
  constructor(sab: SharedArrayBuffer, byteOffset: number) {
    this.#i32 = int32View(sab, byteOffset, 4, "LifoSlot");
  }

  /**
   * Put `id` in the slot (or empty it with -1); returns what was there (-1 if empty).
   *
   * @example
   * ```ts
   * import { LifoSlot } from "./lifo_slot.ts";
   * import assert from "node:assert/strict";
   * const slot = new LifoSlot(new SharedArrayBuffer(64), 0);
   * slot.swap(1);
   * assert.equal(slot.swap(2), 1);
   * ```
   */
  swap(id: number): number {
    if ((id | 0) !== id || id < -1) badTaskId(id);
    return ~Atomics.exchange(this.#i32, 0, ~id);
  }

  /**
   * Empty the slot; returns the id it held or -1.
   *
   * @example
   * ```ts
   * import { LifoSlot } from "./lifo_slot.ts";
   * import assert from "node:assert/strict";
   * const slot = new LifoSlot(new SharedArrayBuffer(64), 0);
   * slot.swap(9);
   * assert.equal(slot.take(), 9);
   * assert.equal(slot.take(), -1);
   * ```
   */
  take(): number {
    return ~Atomics.exchange(this.#i32, 0, 0);
  }

  /**
   * The id in the slot now, or -1 (a snapshot).
   *
   * @example
   * ```ts
   * import { LifoSlot } from "./lifo_slot.ts";
   * import assert from "node:assert/strict";
   * const slot = new LifoSlot(new SharedArrayBuffer(64), 0);
   * slot.swap(3);
   * assert.equal(slot.peek(), 3);
   * ```
   */
  peek(): number {
    return ~Atomics.load(this.#i32, 0);
  }

  /**
   * Whether the slot is empty (a snapshot).
   *
   * @example
   * ```ts
   * import { LifoSlot } from "./lifo_slot.ts";
   * import assert from "node:assert/strict";
   * assert.equal(new LifoSlot(new SharedArrayBuffer(64), 0).isEmpty(), true);
   * ```
   */
  isEmpty(): boolean {
    return Atomics.load(this.#i32, 0) === 0;
  }
}
