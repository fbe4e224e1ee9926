/**
 * Internal: a {@linkcode Leaf} with a fast path, for the sync operations that
 * usually finish at once (`lock`, `acquire`, `send`, `reserve`, `recv`).
 *
 * While the leaf is fresh (never polled: first resume, or again after a
 * cooperative-budget yield) a resume first calls `tryFast()`, which finishes
 * without a waker or a budget check when the resource is free (an unlocked
 * mutex, free permits, room in the channel, a queued message). When it
 * cannot, the leaf goes the ordinary way (`Leaf.next`: waker, budget, `poll`).
 * The leaf's phase is the Leaf's own state: `LEAF_FRESH` means "the fast path
 * may run", a fast finish sets `LEAF_DONE` (so a further resume throws, as
 * for any finished leaf), and after a first poll the fast path never runs
 * again. Invariant: `tryFast` runs only before any `poll`, so it never meets
 * a registration of its own to undo.
 *
 * @module
 */

import { Leaf, LEAF_DONE, LEAF_FRESH, PENDING, type Poll } from "../runtime/operation.ts";

/**
 * A leaf operation that first tries to finish without waiting.
 *
 * @example
 * ```ts
 * import { FastLeaf } from "./_fast_leaf.ts";
 * import { PENDING, type Poll, run, type Waker } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * class TakeOne extends FastLeaf<number> {
 *   constructor(readonly stock: number[]) {
 *     super();
 *   }
 *   protected tryFast(): Poll<number> {
 *     return this.stock.length > 0 ? this.stock.pop()! : PENDING;
 *   }
 *   protected poll(_waker: Waker): Poll<number> {
 *     return this.tryFast();
 *   }
 *   protected cancel(): void {}
 * }
 * assert.equal(await run(new TakeOne([7])), 7);
 * ```
 */
export abstract class FastLeaf<T> extends Leaf<T> {
  /**
   * Finish now if the resource is free (no waker, no registration), else
   * return `PENDING` to go the ordinary way.
   */
  protected abstract tryFast(): Poll<T>;

  /** Resume: the fast path while fresh, else (or when it misses) `Leaf.next`. */
  override next(): IteratorResult<unknown, T> {
    if (this._leafState === LEAF_FRESH) {
      const r = this.tryFast();
      if (r !== PENDING) {
        this._leafState = LEAF_DONE;
        return { done: true, value: r };
      }
    }
    return super.next();
  }
}
