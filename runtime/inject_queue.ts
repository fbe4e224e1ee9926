/**
 * The inject queue: an unbounded FIFO that takes work from outside the
 * worker's own polls and the overflow of its local ring.
 *
 * Invariant: entries leave in the order they came (a growable ring buffer;
 * O(1) push and pop, no `Array.shift`).
 *
 * @module
 */

/**
 * An unbounded FIFO ring that doubles when full.
 *
 * @example
 * ```ts
 * import { InjectQueue } from "./inject_queue.ts";
 * const q = new InjectQueue<string>();
 * q.push("a");
 * q.push("b");
 * console.assert(q.pop() === "a");
 * ```
 */
export class InjectQueue<T> {
  #buf: (T | undefined)[] = new Array(16).fill(undefined);
  #mask = 15;
  #head = 0;
  #len = 0;

  /** Entries queued. */
  get length(): number {
    return this.#len;
  }

  /** Append at the back. */
  push(item: T): void {
    if (this.#len === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#len) & this.#mask] = item;
    this.#len++;
  }

  /** Take from the front, or undefined when empty. */
  pop(): T | undefined {
    if (this.#len === 0) return undefined;
    const item = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#len--;
    return item;
  }

  #grow(): void {
    const old = this.#buf;
    const n = old.length;
    const buf: (T | undefined)[] = new Array(n * 2).fill(undefined);
    for (let k = 0; k < n; k++) buf[k] = old[(this.#head + k) & this.#mask];
    this.#buf = buf;
    this.#mask = n * 2 - 1;
    this.#head = 0;
  }
}
