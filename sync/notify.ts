/**
 * `Notify`: wake one waiting task, or every task waiting now, without data.
 *
 * Invariant: `notifyOne()` either hands its notification to the oldest
 * waiter or, when nobody waits, stores it as a single permit (several stored
 * notifications coalesce into one); `notifyWaiters()` completes every
 * `notified()` operation made before the call (polled yet or not) and stores
 * nothing. A waiter cancelled after receiving a `notifyOne` notification but
 * before observing it forwards it (to the next waiter, or to the permit), so
 * no notification is lost.
 *
 * @module
 */

import { Leaf, PENDING, type Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { type Waiter, WaitList } from "./_waitlist.ts";
import { trackResource } from "../runtime/instrument/resources.ts";

const NONE = 0;
const ONE = 1;
const ALL = 2;

function probeNotify(c: NotifyCore): [number, string] {
  return [c.waiters.length, c.permit ? "permit stored" : "no permit"];
}

class NotifyCore {
  permit = false;
  generation = 0;
  readonly waiters: WaitList<NotifiedOp> = new WaitList();

  constructor() {
    trackResource(this, "notify", probeNotify);
  }

  notifyOne(): void {
    const w = this.waiters.shift();
    if (w === null) {
      this.permit = true;
      return;
    }
    w.got = ONE;
    w.waker?.wake();
  }

  notifyWaiters(): void {
    this.generation++;
    for (let w = this.waiters.head; w !== null; w = w.after as NotifiedOp | null) w.got = ALL;
    this.waiters.wakeAll();
  }
}

class NotifiedOp extends Leaf<void> implements Waiter {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "notified";
  }

  waker: Waker | null = null;
  before: Waiter | null = null;
  after: Waiter | null = null;
  queued = false;
  got = NONE;
  readonly #c: NotifyCore;
  readonly #gen: number;

  constructor(c: NotifyCore) {
    super();
    this.#c = c;
    this.#gen = c.generation;
  }

  protected poll(waker: Waker): Poll<void> {
    if (this.got !== NONE) {
      this.got = NONE;
      this.waker = null;
      return;
    }
    this.waker = waker;
    if (this.queued) return PENDING;
    const c = this.#c;
    if (c.generation !== this.#gen) {
      this.waker = null;
      return;
    }
    if (c.permit) {
      c.permit = false;
      this.waker = null;
      return;
    }
    c.waiters.push(this);
    return PENDING;
  }

  protected cancel(): void {
    this.waker = null;
    if (this.got === ONE) {
      this.got = NONE;
      this.#c.notifyOne();
    } else {
      this.#c.waiters.remove(this);
    }
  }
}

/**
 * A notification primitive: tasks wait with `notified()`, others wake them
 * with `notifyOne()` / `notifyWaiters()`.
 *
 * @example
 * ```ts
 * import { Notify } from "../mod.ts";
 * import { run } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const ready = new Notify();
 * function* consumer() {
 *   yield* ready.notified();
 *   return "woken";
 * }
 * ready.notifyOne(); // stored as a permit: the consumer does not wait
 * assert.equal(await run(consumer), "woken");
 * ```
 */
export class Notify {
  #c: NotifyCore = new NotifyCore();

  /**
   * An operation completing when this Notify is notified. A stored permit
   * completes it at once; a `notifyWaiters()` after this call (even before
   * the first poll) completes it. Cancel-safe.
   *
   * @returns an operation (also awaitable) that finishes when notified.
   * @example
   * ```ts
   * import { Notify, run, sleep, spawn } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const notify = new Notify();
   *   spawn(function* () {
   *     yield* sleep(1);
   *     notify.notifyOne();
   *   });
   *   yield* notify.notified();
   * });
   * ```
   */
  notified(): Leaf<void> {
    return new NotifiedOp(this.#c);
  }

  /**
   * Wake the oldest waiter, or store one permit for the next `notified()`
   * when nobody waits.
   *
   * @example
   * ```ts
   * import { Notify } from "../mod.ts";
   * new Notify().notifyOne();
   * ```
   */
  notifyOne(): void {
    this.#c.notifyOne();
  }

  /**
   * Wake every task waiting now (and every `notified()` made before this
   * call); stores no permit.
   *
   * @example
   * ```ts
   * import { Notify } from "../mod.ts";
   * new Notify().notifyWaiters();
   * ```
   */
  notifyWaiters(): void {
    this.#c.notifyWaiters();
  }

  /** How many tasks wait now. */
  get waiting(): number {
    return this.#c.waiters.length;
  }

  /** True when a `notifyOne()` permit is stored. */
  get hasPermit(): boolean {
    return this.#c.permit;
  }
}
