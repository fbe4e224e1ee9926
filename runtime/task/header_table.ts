/**
 * The table of task state words: one `Int32Array` slot per live task, with
 * a free list so slots are reused.
 *
 * Invariant: slot 0 is a permanent COMPLETE sentinel. A task releases its
 * slot when it completes and from then on points at slot 0, so a late wake
 * or abort through a stale reference reads "complete" and does nothing — it
 * can never touch the state of a newer task that reuses the slot.
 *
 * The local table grows by doubling (tasks hold indices, never views). A
 * table backed by a SharedArrayBuffer has a fixed capacity instead.
 *
 * @module
 */

import { COMPLETE } from "./task_state.ts";

/**
 * Index of the permanent COMPLETE sentinel slot.
 *
 * @example
 * ```ts
 * import { HeaderTable, SENTINEL_SLOT } from "./header_table.ts";
 * import { COMPLETE } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const t = new HeaderTable(4);
 * assert.equal(t.words[SENTINEL_SLOT], COMPLETE); // a stale wake reads "complete"
 * assert.notEqual(t.alloc(64), SENTINEL_SLOT); // never handed to a task
 * ```
 */
export const SENTINEL_SLOT = 0;

/**
 * A growable table of task state words with a free list.
 *
 * @example
 * ```ts
 * import { HeaderTable } from "./header_table.ts";
 * const t = new HeaderTable(4);
 * const i = t.alloc(64);
 * t.free(i);
 * ```
 */
export class HeaderTable {
  /** The state words; replaced when the table grows, so re-read it after alloc. */
  words: Int32Array;
  #free: Int32Array;
  #freeLen = 0;
  #next = SENTINEL_SLOT + 1;
  #live = 0;

  /** Make a table with room for `capacity` tasks before it grows. */
  constructor(capacity = 1024) {
    if (!Number.isInteger(capacity) || capacity < 2) {
      throw new RangeError("HeaderTable capacity must be an integer >= 2");
    }
    this.words = new Int32Array(capacity);
    this.words[SENTINEL_SLOT] = COMPLETE;
    this.#free = new Int32Array(capacity);
  }

  /** Live slots. */
  get live(): number {
    return this.#live;
  }

  /** Take a slot and set its word to `initial`. */
  alloc(initial: number): number {
    let i: number;
    if (this.#freeLen > 0) {
      i = this.#free[--this.#freeLen];
    } else {
      if (this.#next === this.words.length) this.#grow();
      i = this.#next++;
    }
    this.words[i] = initial;
    this.#live++;
    return i;
  }

  /** Give a slot back. */
  free(i: number): void {
    if (i <= SENTINEL_SLOT || i >= this.#next) badSlot(i);
    this.words[i] = COMPLETE;
    if (this.#freeLen === this.#free.length) this.#growFree();
    this.#free[this.#freeLen++] = i;
    this.#live--;
  }

  /** Double the free list (out of line: `free` is inlined into the scheduler's hot paths). */
  #growFree(): void {
    const f = new Int32Array(this.#free.length * 2);
    f.set(this.#free);
    this.#free = f;
  }

  #grow(): void {
    const w = new Int32Array(this.words.length * 2);
    w.set(this.words);
    this.words = w;
  }
}

/** Throw for a slot that is not in use (out of line: see `free`). */
function badSlot(i: number): never {
  throw new RangeError(`bad header slot ${i}`);
}
