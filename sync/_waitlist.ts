/**
 * Internal: an intrusive FIFO list of waiting operations, shared by every
 * primitive in `sync/`.
 *
 * The waiting operation object itself is the list node (it carries `before`,
 * `after` and `queued`), so waiting allocates nothing beyond the operation the
 * caller already made, and removal on cancellation is O(1). Invariant: a
 * node is in at most one list, and `queued` is true exactly while it is.
 *
 * @module
 */

import type { Waker } from "../runtime/task/waker.ts";

/**
 * A node of a {@linkcode WaitList}: a pending operation and its task's waker.
 *
 * @example
 * ```ts
 * import type { Waiter } from "./_waitlist.ts";
 * const w: Waiter = { waker: null, before: null, after: null, queued: false };
 * ```
 */
export interface Waiter {
  /** The waker of the task the operation was last polled in. */
  waker: Waker | null;
  /** The previous node, or null at the head. */
  before: Waiter | null;
  /** The next node, or null at the tail. */
  after: Waiter | null;
  /** True while the node is in a list. */
  queued: boolean;
}

/**
 * A doubly linked FIFO of {@linkcode Waiter}s.
 *
 * @example
 * ```ts
 * import { WaitList, type Waiter } from "./_waitlist.ts";
 * import assert from "node:assert/strict";
 * const list = new WaitList<Waiter>();
 * const w: Waiter = { waker: null, before: null, after: null, queued: false };
 * list.push(w);
 * assert.equal(list.shift(), w);
 * assert.equal(list.head, null);
 * ```
 */
export class WaitList<W extends Waiter> {
  /** The oldest node, or null when empty. */
  head: W | null = null;
  /** The newest node, or null when empty. */
  tail: W | null = null;
  /** How many nodes are queued. */
  length: number = 0;

  /** Append `w` (which must not be queued). */
  push(w: W): void {
    w.queued = true;
    w.after = null;
    w.before = this.tail;
    if (this.tail === null) this.head = w;
    else this.tail.after = w;
    this.tail = w;
    this.length++;
  }

  /** Remove `w` if it is queued here; no-op otherwise. */
  remove(w: W): void {
    if (!w.queued) return;
    w.queued = false;
    const p = w.before as W | null;
    const n = w.after as W | null;
    if (p === null) this.head = n;
    else p.after = n;
    if (n === null) this.tail = p;
    else n.before = p;
    w.before = null;
    w.after = null;
    this.length--;
  }

  /** Remove and return the oldest node, or null. */
  shift(): W | null {
    const w = this.head;
    if (w === null) return null;
    this.remove(w);
    return w;
  }

  /** Remove every node, waking each (oldest first). */
  wakeAll(): void {
    let w = this.head;
    this.head = null;
    this.tail = null;
    this.length = 0;
    while (w !== null) {
      const n = w.after as W | null;
      w.queued = false;
      w.before = null;
      w.after = null;
      const k = w.waker;
      if (k !== null) k.wake();
      w = n;
    }
  }
}

/**
 * Validate a count argument: a non-negative safe integer no larger than `max`.
 *
 * @example
 * ```ts
 * import { checkCount } from "./_waitlist.ts";
 * checkCount(3, 10, "permits");
 * ```
 */
export function checkCount(n: number, max: number, what: string): void {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${String(n)}`);
  }
  if (n > max) throw new RangeError(`${what} must be at most ${max}, got ${n}`);
}
