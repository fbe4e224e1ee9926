/**
 * The inject queue: an unbounded FIFO that takes work from outside the
 * worker's own polls and the overflow of its local ring.
 *
 * Invariant: entries leave in the order they came. Storage is a linked list
 * of fixed-size segments, so a push never copies what is queued (a burst of
 * a million spawns costs no re-allocation) and a drained segment is reused.
 *
 * @module
 */

const SEGMENT = 1024;

interface Segment<T> {
  items: (T | undefined)[];
  next: Segment<T> | null;
}

function segment<T>(): Segment<T> {
  return { items: new Array(SEGMENT).fill(undefined), next: null };
}

/**
 * An unbounded FIFO of fixed-size segments.
 *
 * @example
 * ```ts
 * import { InjectQueue } from "./inject_queue.ts";
 * import assert from "node:assert/strict";
 * const q = new InjectQueue<string>();
 * q.push("a");
 * q.push("b");
 * assert.equal(q.pop(), "a");
 * ```
 */
export class InjectQueue<T> {
  #head: Segment<T> = segment();
  #tail: Segment<T> = this.#head;
  #headPos = 0;
  #tailPos = 0;
  #len = 0;
  #spare: Segment<T> | null = null;

  /** Entries queued. */
  get length(): number {
    return this.#len;
  }

  /** Append at the back. */
  push(item: T): void {
    if (this.#tailPos === SEGMENT) {
      let s = this.#spare;
      if (s !== null) this.#spare = null;
      else s = segment();
      this.#tail.next = s;
      this.#tail = s;
      this.#tailPos = 0;
    }
    this.#tail.items[this.#tailPos++] = item;
    this.#len++;
  }

  /** Take from the front, or undefined when empty. */
  pop(): T | undefined {
    if (this.#len === 0) return undefined;
    if (this.#headPos === SEGMENT) {
      const old = this.#head;
      this.#head = old.next!;
      old.next = null;
      this.#spare = old;
      this.#headPos = 0;
    }
    const items = this.#head.items;
    const item = items[this.#headPos];
    items[this.#headPos++] = undefined;
    if (--this.#len === 0 && this.#head === this.#tail) this.#headPos = this.#tailPos = 0;
    return item;
  }
}
