/**
 * Internal: what the fan-out channels (`broadcast`, `watch`) share — the
 * counts of open senders and receivers, one list of waiting receiver
 * operations that every change wakes at once ({@linkcode FanOut}), and the
 * base of those operations ({@linkcode FanOutWait}).
 *
 * Invariants: `senders` counts the open sender handles and `receivers` the
 * open receivers; when the last sender closes, every waiting operation is
 * woken so that it can see the end. A waiting operation is in `waiters`
 * exactly while it is pending, and leaves it (dropping its waker) when it
 * finishes or is cancelled.
 *
 * @module
 */

import { Leaf, PENDING } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { ClosedError } from "../runtime/errors.ts";
import { type Waiter, WaitList } from "./_waitlist.ts";

/**
 * The open/closed state of one receiver.
 *
 * @example
 * ```ts
 * import type { ReceiverState } from "./_fanout.ts";
 * const rx: ReceiverState = { closed: false };
 * ```
 */
export interface ReceiverState {
  /** True once the receiver was closed. */
  closed: boolean;
}

/**
 * The sender/receiver counts and wait list of a fan-out channel; the
 * channel's core extends it with its data.
 *
 * @example
 * ```ts
 * import { FanOut } from "./_fanout.ts";
 * import assert from "node:assert/strict";
 * const c = new FanOut();
 * c.addSender(false);
 * c.dropSender();
 * assert.equal(c.senders, 1);
 * ```
 */
export class FanOut {
  /** Open sender handles (the channel starts with one). */
  senders: number = 1;
  /** Open receivers. */
  receivers: number = 0;
  /** Receiver operations waiting for a change. */
  readonly waiters: WaitList<Waiter> = new WaitList();

  /** Count a clone of a sender handle; throws ClosedError when that handle is `closed`. */
  addSender(closed: boolean): void {
    if (closed) throw new ClosedError("cannot clone a closed sender");
    this.senders++;
  }

  /** A sender handle closed; the last one wakes every waiter. */
  dropSender(): void {
    if (--this.senders === 0) this.waiters.wakeAll();
  }

  /** Close the receiver whose state is `rx`, once (later calls do nothing). */
  dropReceiver(rx: ReceiverState): void {
    if (rx.closed) return;
    rx.closed = true;
    this.receivers--;
  }
}

/**
 * A receiver operation of a fan-out channel: it is its own node in the
 * core's wait list.
 *
 * @example
 * ```ts ignore
 * // Not run: a base for the channel waits; the watch and broadcast examples run its subclasses.
 * class ChangedOp<T> extends FanOutWait<void, WCore<T>> {
 *   protected poll(waker: Waker): Poll<void> {
 *     if (ready) return this.settle();
 *     return this.park(waker);
 *   }
 * }
 * ```
 */
export abstract class FanOutWait<T, C extends FanOut> extends Leaf<T> implements Waiter {
  // Fields are assigned in the constructor, not declared as class fields: a
  // base class with class fields keeps V8 from inlining its subclasses'
  // construction (see Leaf).
  /** The waker of the task it waits in, or null. */
  declare waker: Waker | null;
  /** The previous node in the wait list. */
  declare before: Waiter | null;
  /** The next node in the wait list. */
  declare after: Waiter | null;
  /** True while in the wait list. */
  declare queued: boolean;
  /** The channel's core. */
  declare protected readonly core: C;

  /** An operation on `core`. */
  constructor(core: C) {
    super();
    this.waker = null;
    this.before = null;
    this.after = null;
    this.queued = false;
    this.core = core;
  }

  /** Finishing: leave the wait list and drop the waker. */
  protected settle(): void {
    this.core.waiters.remove(this);
    this.waker = null;
  }

  /** Not ready: keep `waker` and be in the wait list. */
  protected park(waker: Waker): typeof PENDING {
    this.waker = waker;
    if (!this.queued) this.core.waiters.push(this);
    return PENDING;
  }

  /** Cancelled while pending: leave the wait list. */
  protected cancel(): void {
    this.waker = null;
    this.core.waiters.remove(this);
  }
}
