/**
 * Internal: drives several operations inside ONE task — the engine of
 * `select`, `race`, `join` and `all`.
 *
 * Every resume re-polls each still-running branch (a pending leaf may be
 * re-polled without a wake; see runtime/operation.ts), starting at a
 * rotating index unless biased. When the outcome is known (a winner, the
 * last value of a join, or an error) every other running branch is
 * cancelled with `return()`, so its `finally` blocks run and the leaf it
 * waits in deregisters. A loser whose `finally` itself suspends is driven
 * to its end before the outcome is delivered. Invariant: a branch is in
 * `its` (non-null) exactly while it is running and not yet cancelled.
 *
 * @module
 */

import { call } from "../runtime/mod.ts";
import { isOperation, isPromiseLike } from "./_op.ts";
import type { Operation } from "../runtime/operation.ts";
import { expectedOperation, rejectYielded } from "../runtime/task/misuse.ts";

/**
 * Select: first finished branch wins with `{ key, value }`.
 *
 * @example
 * ```ts
 * import { MultiIter, SELECT } from "./_multi.ts";
 * import assert from "node:assert/strict";
 *
 * function* ready<T>(v: T): Generator<never, T, unknown> {
 *   return v;
 * }
 * const it = new MultiIter(SELECT, [ready(1), ready(2)], ["a", "b"], true);
 * assert.deepEqual(it.next(), { done: true, value: { key: "a", value: 1 } });
 * ```
 */
export const SELECT = 0;
/**
 * Race: first finished branch wins with its value.
 *
 * @example
 * ```ts
 * import { MultiIter, RACE } from "./_multi.ts";
 * import assert from "node:assert/strict";
 *
 * function* ready<T>(v: T): Generator<never, T, unknown> {
 *   return v;
 * }
 * const it = new MultiIter(RACE, [ready(1), ready(2)], null, true);
 * assert.deepEqual(it.next(), { done: true, value: 1 });
 * ```
 */
export const RACE = 1;
/**
 * All: every branch must finish; values in order.
 *
 * @example
 * ```ts
 * import { ALL, MultiIter } from "./_multi.ts";
 * import assert from "node:assert/strict";
 *
 * function* ready<T>(v: T): Generator<never, T, unknown> {
 *   return v;
 * }
 * const it = new MultiIter(ALL, [ready(1), ready(2)], null, false);
 * assert.deepEqual(it.next(), { done: true, value: [1, 2] });
 * ```
 */
export const ALL = 2;

const SUSPEND: IteratorYieldResult<undefined> = Object.freeze({ done: false, value: undefined });
type It = Iterator<unknown, unknown, unknown>;
let rotation = 0;

/**
 * Turn a branch (operation or promise) into its iterator.
 *
 * @example
 * ```ts ignore
 * // Not run: called by the combinators while they run; their examples run it.
 * const it = startBranch(sleep(1));
 * ```
 */
export function startBranch(b: unknown): It {
  if (isOperation(b)) return b[Symbol.iterator]();
  if (isPromiseLike(b)) return call(b)[Symbol.iterator]();
  throw expectedOperation("a combinator branch", b);
}

/**
 * Validate branches before any iterator starts; `what` names the caller in
 * the error (which says what to pass instead).
 *
 * @example
 * ```ts ignore
 * // Not run: called by select, race, join and all, whose examples run it.
 * checkBranches("race()", [op1, op2]);
 * ```
 */
export function checkBranches(what: string, list: readonly unknown[]): void {
  for (const b of list) {
    if (!isOperation(b) && !isPromiseLike(b)) throw expectedOperation(what, b);
  }
}

/**
 * The iterator driving the branches of one combinator run.
 *
 * @example
 * ```ts ignore
 * // Not run: made by select, race, join and all, whose examples run it.
 * const it = new MultiIter(ALL, [a, b], null, false);
 * ```
 */
export class MultiIter implements Iterator<unknown, unknown, unknown> {
  readonly #mode: number;
  readonly #its: (It | null)[];
  readonly #keys: readonly string[] | null;
  readonly #biased: boolean;
  #start: number;
  #remaining: number;
  #results: unknown[] | null;
  #draining: It[] | null = null;
  #ok = true;
  #outcome: unknown = undefined;
  #finished = false;

  /** Start every branch's iterator (no branch code runs yet). */
  constructor(
    mode: number,
    branches: readonly unknown[],
    keys: readonly string[] | null,
    biased: boolean,
  ) {
    this.#mode = mode;
    this.#keys = keys;
    this.#biased = biased;
    const n = branches.length;
    const its: (It | null)[] = new Array(n);
    try {
      for (let i = 0; i < n; i++) its[i] = startBranch(branches[i]);
    } catch (e) {
      for (const it of its) it?.return?.(undefined);
      throw e;
    }
    this.#its = its;
    this.#remaining = n;
    this.#results = mode === ALL ? new Array(n) : null;
    this.#start = biased || n === 0 ? 0 : rotation++ % n;
  }

  /** The iterator protocol: this object is its own iterator. */
  [Symbol.iterator](): this {
    return this;
  }

  /** Poll the running branches once (or keep draining cancelled ones). */
  next(): IteratorResult<unknown, unknown> {
    if (this.#finished) throw new TypeError("a combinator was resumed after it finished");
    if (this.#draining !== null) return this.#drain();
    const its = this.#its;
    const n = its.length;
    if (this.#mode === ALL && this.#remaining === 0) {
      this.#finished = true;
      return { done: true, value: this.#results };
    }
    const start = this.#start;
    for (let k = 0; k < n; k++) {
      let i = start + k;
      if (i >= n) i -= n;
      const it = its[i];
      if (it === null) continue;
      let r: IteratorResult<unknown, unknown>;
      try {
        r = it.next();
        // `yield x` instead of `yield* x` in a branch: throw the fix into it.
        if (r.value !== undefined && r.done !== true) r = rejectYielded(it, r.value);
      } catch (e) {
        its[i] = null;
        this.#remaining--;
        return this.#settle(false, e);
      }
      if (!r.done) continue;
      its[i] = null;
      this.#remaining--;
      if (this.#mode === ALL) {
        (this.#results as unknown[])[i] = r.value;
        if (this.#remaining === 0) {
          this.#finished = true;
          return { done: true, value: this.#results };
        }
      } else if (this.#mode === SELECT) {
        return this.#settle(true, { key: (this.#keys as readonly string[])[i], value: r.value });
      } else {
        return this.#settle(true, r.value);
      }
    }
    if (!this.#biased && n > 1) this.#start = start + 1 === n ? 0 : start + 1;
    return SUSPEND;
  }

  /** The task is being cancelled: cancel every running branch. */
  return(value?: unknown): IteratorResult<unknown, unknown> {
    this.#finished = true;
    const pending = this.#draining ?? [];
    this.#draining = null;
    for (const it of pending) safeReturn(it);
    const its = this.#its;
    for (let i = 0; i < its.length; i++) {
      const it = its[i];
      if (it === null) continue;
      its[i] = null;
      safeReturn(it);
    }
    return { done: true, value };
  }

  /** An error thrown into the task: cancel the branches, then rethrow. */
  throw(e?: unknown): IteratorResult<unknown, unknown> {
    this.return();
    throw e;
  }

  #settle(ok: boolean, outcome: unknown): IteratorResult<unknown, unknown> {
    this.#ok = ok;
    this.#outcome = outcome;
    const its = this.#its;
    const draining: It[] = [];
    for (let i = 0; i < its.length; i++) {
      const it = its[i];
      if (it === null) continue;
      its[i] = null;
      try {
        const r = it.return?.(undefined);
        if (r !== undefined && !r.done) draining.push(it);
      } catch {
        // A loser failing while being cancelled does not change the outcome.
      }
    }
    if (draining.length === 0) return this.#deliver();
    this.#draining = draining;
    return SUSPEND;
  }

  #drain(): IteratorResult<unknown, unknown> {
    const d = this.#draining as It[];
    for (let i = d.length - 1; i >= 0; i--) {
      try {
        if (!d[i].next().done) continue;
      } catch {
        // ignored, as in #settle
      }
      d.splice(i, 1);
    }
    if (d.length !== 0) return SUSPEND;
    this.#draining = null;
    return this.#deliver();
  }

  #deliver(): IteratorResult<unknown, unknown> {
    this.#finished = true;
    if (!this.#ok) throw this.#outcome;
    return { done: true, value: this.#outcome };
  }
}

function safeReturn(it: It): void {
  try {
    it.return?.(undefined);
  } catch {
    // cancellation errors of a branch are not the caller's
  }
}

/**
 * The value type of an operation or promise.
 *
 * @example
 * ```ts ignore
 * // Not run: a type-level sketch; the select and join examples use ValueOf.
 * type N = ValueOf<Operation<number>>; // number
 * ```
 */
export type ValueOf<O> = O extends Operation<infer T> ? T : O extends PromiseLike<infer P> ? P
: never;
