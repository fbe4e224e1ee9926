/**
 * `CancellationToken`: a cooperative cancellation flag forming a tree.
 *
 * Invariant: once cancelled a token stays cancelled; cancelling a token
 * cancels its whole subtree (children, grandchildren…) in one call, wakes
 * every `cancelled()` waiter and aborts its `signal`; cancelling a child
 * never affects its parent. A child made from a cancelled parent is born
 * cancelled. A child detaches from its parent when it is cancelled or
 * disposed, so short-lived children do not accumulate.
 *
 * @module
 */

import { GenOp, Leaf, type Operation, PENDING, type Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { CancelledError } from "../runtime/errors.ts";
import { type Waiter, WaitList } from "./_waitlist.ts";
import { select } from "./select.ts";

class CancelledOp extends Leaf<void> implements Waiter {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "cancelled";
  }

  waker: Waker | null = null;
  before: Waiter | null = null;
  after: Waiter | null = null;
  queued = false;
  readonly #t: CancellationToken;
  readonly #list: WaitList<CancelledOp>;

  constructor(t: CancellationToken, list: WaitList<CancelledOp>) {
    super();
    this.#t = t;
    this.#list = list;
  }

  protected poll(waker: Waker): Poll<void> {
    if (this.#t.isCancelled) {
      this.#list.remove(this);
      this.waker = null;
      return;
    }
    this.waker = waker;
    if (!this.queued) this.#list.push(this);
    return PENDING;
  }

  protected cancel(): void {
    this.waker = null;
    this.#list.remove(this);
  }
}

function* untilCancelled<T>(
  token: CancellationToken,
  op: Operation<T> | PromiseLike<T>,
): Generator<unknown, T | undefined, unknown> {
  const r = yield* select({ cancelled: token.cancelled(), value: op }, { biased: true });
  return r.key === "value" ? r.value as T : undefined;
}

/**
 * A cancellation flag with child tokens, an `AbortSignal` view and a
 * waitable `cancelled()` operation.
 *
 * @example
 * ```ts
 * import { CancellationToken } from "../mod.ts";
 * import { mpsc, run, sleep, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const shutdown = new CancellationToken();
 * const [_tx, rx] = mpsc.channel<string>(1); // nothing is ever sent
 * function* worker(token: CancellationToken) {
 *   const v = yield* token.runUntilCancelled(rx.recv());
 *   if (v === undefined) return "stopped"; // cancelled (or channel closed)
 *   return v;
 * }
 * const r = await run(function* () {
 *   const h = spawn(worker(shutdown));
 *   yield* sleep(1);
 *   shutdown.cancel();
 *   return yield* h;
 * });
 * assert.equal(r, "stopped");
 * ```
 */
export class CancellationToken implements Disposable {
  #cancelled = false;
  #parent: CancellationToken | null = null;
  #children: Set<CancellationToken> | null = null;
  #waiters: WaitList<CancelledOp> | null = null;
  #ctl: AbortController | null = null;

  /** Make a root token (not cancelled). */
  constructor() {}

  /** True once cancelled (directly or through an ancestor). */
  get isCancelled(): boolean {
    return this.#cancelled;
  }

  /**
   * Cancel this token and every descendant. Idempotent.
   *
   * @example
   * ```ts
   * import { CancellationToken } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const t = new CancellationToken();
   * const c = t.child();
   * t.cancel();
   * assert.ok(c.isCancelled);
   * ```
   */
  cancel(): void {
    if (this.#cancelled) return;
    const p = this.#parent;
    if (p !== null) p.#children?.delete(this);
    this.#parent = null;
    // Iterative walk: a deep chain of children must not overflow the stack.
    const stack: CancellationToken[] = [this];
    while (stack.length > 0) {
      const t = stack.pop() as CancellationToken;
      if (t.#cancelled) continue;
      t.#cancelled = true;
      t.#parent = null;
      const kids = t.#children;
      t.#children = null;
      if (kids !== null) { for (const k of kids) stack.push(k); }
      t.#waiters?.wakeAll();
      t.#waiters = null;
      t.#ctl?.abort(new CancelledError("the cancellation token was cancelled"));
    }
  }

  /**
   * An operation that completes once this token is cancelled. Cancel-safe.
   *
   * @returns an operation (also awaitable) that finishes on cancellation.
   * @example
   * ```ts
   * import { CancellationToken, run, sleep, spawn } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const token = new CancellationToken();
   *   spawn(function* () {
   *     yield* sleep(1);
   *     token.cancel();
   *   });
   *   yield* token.cancelled();
   *   assert.equal(token.isCancelled, true);
   * });
   * ```
   */
  cancelled(): Leaf<void> {
    if (this.#waiters === null) this.#waiters = new WaitList();
    return new CancelledOp(this, this.#waiters);
  }

  /**
   * A child token: cancelled with this one; cancelling it leaves this one
   * alone.
   *
   * @returns the child token (already cancelled when this one is).
   * @example
   * ```ts
   * import { CancellationToken } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const root = new CancellationToken();
   * root.child().cancel();
   * assert.equal(root.isCancelled, false);
   * ```
   */
  child(): CancellationToken {
    const c = new CancellationToken();
    if (this.#cancelled) {
      c.cancel();
      return c;
    }
    c.#parent = this;
    (this.#children ??= new Set()).add(c);
    return c;
  }

  /**
   * An AbortSignal that aborts (with a CancelledError reason) when this token
   * is cancelled — to hand to `fetch` and other web APIs.
   */
  get signal(): AbortSignal {
    if (this.#ctl === null) {
      this.#ctl = new AbortController();
      if (this.#cancelled) {
        this.#ctl.abort(new CancelledError("the cancellation token was cancelled"));
      }
    }
    return this.#ctl.signal;
  }

  /**
   * Run `op` until it finishes (its value) or this token is cancelled first
   * (undefined; `op` is then cancelled). Cancellation wins a tie.
   *
   * @param op the operation (or promise) to run.
   * @returns an operation (also awaitable) giving `op`'s value, or undefined when cancelled first.
   * @throws (from the operation) what `op` throws.
   * @example
   * ```ts
   * import { CancellationToken, mpsc, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const token = new CancellationToken();
   *   const [tx, rx] = mpsc.channel<string>(1);
   *   tx.trySend("m");
   *   const msg = yield* token.runUntilCancelled(rx.recv());
   *   assert.equal(msg, "m");
   *   token.cancel();
   *   assert.equal(yield* token.runUntilCancelled(rx.recv()), undefined); // cancelled first
   * });
   * ```
   */
  runUntilCancelled<T>(
    op: Operation<T> | PromiseLike<T>,
  ): Operation<T | undefined> & PromiseLike<T | undefined> {
    return new GenOp(() => untilCancelled(this, op));
  }

  /** Detach from the parent without cancelling (what dropping a child does in Tokio). */
  [Symbol.dispose](): void {
    const p = this.#parent;
    if (p !== null) p.#children?.delete(this);
    this.#parent = null;
  }
}
