/**
 * A worker's local run queue: a ring of {@linkcode LOCAL_QUEUE_CAPACITY}
 * entries, FIFO, owned by one worker.
 *
 * Invariant: `tail - head` is the length and never exceeds the capacity; a
 * push into a full ring first moves the older half, in order, to the
 * overflow queue (the global inject queue), so pushes never fail and order
 * is kept within each queue. (The SharedArrayBuffer ring in
 * `runtime/pool/queues/` has the same shape, with a packed steal/real head.)
 *
 * @module
 */

/**
 * Entries a local queue holds before overflowing half to the inject queue.
 *
 * @example
 * ```ts
 * import { LOCAL_QUEUE_CAPACITY, LocalQueue } from "./local_queue.ts";
 * import assert from "node:assert/strict";
 *
 * const q = new LocalQueue<number>();
 * const spill: number[] = [];
 * for (let i = 0; i <= LOCAL_QUEUE_CAPACITY; i++) q.push(i, spill);
 * assert.equal(spill.length, LOCAL_QUEUE_CAPACITY / 2); // the older half moved out
 * assert.equal(q.length, LOCAL_QUEUE_CAPACITY / 2 + 1);
 * ```
 */
export const LOCAL_QUEUE_CAPACITY = 256;
const MASK = LOCAL_QUEUE_CAPACITY - 1;

/**
 * Where a full local queue moves half its entries.
 *
 * @example
 * ```ts
 * import { LOCAL_QUEUE_CAPACITY, LocalQueue, type Overflow } from "./local_queue.ts";
 * import assert from "node:assert/strict";
 *
 * const moved: string[] = [];
 * const inject: Overflow<string> = {
 *   push(item) {
 *     moved.push(item);
 *   },
 * };
 * const q = new LocalQueue<string>();
 * for (let i = 0; i <= LOCAL_QUEUE_CAPACITY; i++) q.push(`t${i}`, inject);
 * assert.deepEqual(moved.slice(0, 2), ["t0", "t1"]); // oldest first, in order
 * ```
 */
export interface Overflow<T> {
  /** Append one entry at the back. */
  push(item: T): void;
}

/**
 * The local ring.
 *
 * @example
 * ```ts
 * import { LocalQueue } from "./local_queue.ts";
 * import assert from "node:assert/strict";
 * const q = new LocalQueue<number>();
 * const spill: number[] = [];
 * q.push(1, spill);
 * assert.equal(q.pop(), 1);
 * ```
 */
export class LocalQueue<T> {
  #buf: (T | undefined)[] = new Array(LOCAL_QUEUE_CAPACITY).fill(undefined);
  #head = 0;
  #tail = 0;

  /** Entries queued. */
  get length(): number {
    return this.#tail - this.#head;
  }

  /** Push at the back; when full, move the older half to `overflow` first. */
  push(item: T, overflow: Overflow<T>): void {
    if (this.#tail - this.#head === LOCAL_QUEUE_CAPACITY) {
      const half = LOCAL_QUEUE_CAPACITY >>> 1;
      for (let k = 0; k < half; k++) {
        const j = this.#head++ & MASK;
        overflow.push(this.#buf[j] as T);
        this.#buf[j] = undefined;
      }
    }
    this.#buf[this.#tail++ & MASK] = item;
  }

  /** Pop from the front, or undefined when empty. */
  pop(): T | undefined {
    if (this.#head === this.#tail) return undefined;
    const j = this.#head++ & MASK;
    const item = this.#buf[j];
    this.#buf[j] = undefined;
    if (this.#head === this.#tail) this.#head = this.#tail = 0;
    return item;
  }
}
