/**
 * `select` and `race`: run several operations concurrently inside the
 * current task and finish with the first to complete; cancel the others.
 *
 * Invariant: when the winner finishes, every other branch is cancelled with
 * `return()` before `select` returns — its `finally` blocks have run and the
 * leaf it waited in has deregistered (a timer is cancelled, a waiter leaves
 * its queue and takes nothing). Unless `biased`, the branch polled first
 * rotates from one poll to the next, so no ready branch always loses. An
 * error thrown by a branch cancels the others and is rethrown.
 *
 * @module
 */

import { toPromise } from "../runtime/operation.ts";
import type { Operation } from "../runtime/operation.ts";
import { checkBranches, MultiIter, RACE, SELECT, type ValueOf } from "./_multi.ts";

export type { ValueOf } from "./_multi.ts";

/**
 * Options of {@linkcode select}.
 *
 * @example
 * ```ts
 * import { run, select, type SelectOptions } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * function* now<T>(v: T): Generator<never, T, unknown> {
 *   return v;
 * }
 * const options: SelectOptions = { biased: true };
 * for (let i = 0; i < 3; i++) {
 *   // Both branches are ready at once: biased, the first declared always wins.
 *   const r = await run(function* () {
 *     return yield* select({ first: now(1), second: now(2) }, options);
 *   });
 *   assert.equal(r.key, "first");
 * }
 * ```
 */
export interface SelectOptions {
  /** Poll the branches in declaration order every time (default: rotating start). */
  biased?: boolean;
}

/**
 * What {@linkcode select} gives: the winning key and its value (a
 * discriminated union over the branches).
 *
 * @example
 * ```ts
 * import { mpsc, run, select, type SelectResult, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [tx, rx] = mpsc.channel<string>(1);
 * tx.trySend("hi");
 * const out = await run(function* () {
 *   const branches = { msg: rx.recv(), tick: sleep(1000) };
 *   const r: SelectResult<typeof branches> = yield* select(branches);
 *   // `r.key` narrows `r.value`: string | undefined for "msg", void for "tick".
 *   return r.key === "msg" ? r.value : "timed out";
 * });
 * assert.equal(out, "hi");
 * ```
 */
export type SelectResult<B> = {
  [K in Extract<keyof B, string>]: { key: K; value: ValueOf<B[K]> };
}[Extract<keyof B, string>];

/**
 * An operation that is also awaitable (made by the combinators).
 *
 * @example
 * ```ts
 * import { type Combinator, join, run, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * function* after<T>(ms: number, v: T): Generator<unknown, T, unknown> {
 *   yield* sleep(ms);
 *   return v;
 * }
 * // `yield*` it inside a task…
 * const both: Combinator<[number, string]> = join(after(2, 1), after(1, "b"));
 * assert.deepEqual(await run(function* () {
 *   return yield* both;
 * }), [1, "b"]);
 * // …or `await` it from async code.
 * assert.deepEqual(await join(after(1, 2), after(1, "c")), [2, "c"]);
 * ```
 */
export interface Combinator<T> extends Operation<T>, PromiseLike<T> {}

class SelectOp<T> implements Combinator<T> {
  readonly #mode: number;
  readonly #branches: readonly unknown[];
  readonly #keys: readonly string[] | null;
  readonly #biased: boolean;

  constructor(mode: number, branches: readonly unknown[], keys: string[] | null, biased: boolean) {
    this.#mode = mode;
    this.#branches = branches;
    this.#keys = keys;
    this.#biased = biased;
  }

  [Symbol.iterator](): Iterator<unknown, T, unknown> {
    return new MultiIter(this.#mode, this.#branches, this.#keys, this.#biased) as Iterator<
      unknown,
      T,
      unknown
    >;
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return toPromise<T>(this).then(onfulfilled, onrejected);
  }
}

/**
 * Wait for the first of several operations (or promises) to finish; the
 * others are cancelled. Gives `{ key, value }` of the winner.
 *
 * @param branches the operations (or promises) by name, at least one.
 * @param options `biased: true` polls them in order instead of a random start.
 * @returns an operation (also awaitable) giving `{ key, value }` of the winner.
 * @throws {TypeError} when `branches` is not an object with a branch; (from the operation) what the
 *   first branch to fail throws.
 * @example
 * ```ts
 * import { select } from "../mod.ts";
 * import { mpsc, run, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [tx, rx] = mpsc.channel<string>(1);
 * tx.trySend("hi");
 * const r = await run(function* () {
 *   return yield* select({ msg: rx.recv(), tick: sleep(1000) });
 * });
 * assert.equal(r.key, "msg"); // the losing sleep was cancelled
 * assert.equal(r.value, "hi");
 * ```
 */
export function select<B extends Record<string, Operation<unknown> | PromiseLike<unknown>>>(
  branches: B,
  options?: SelectOptions,
): Combinator<SelectResult<B>> {
  if (typeof branches !== "object" || branches === null) {
    throw new TypeError(
      "select() takes an object of named branches (`select({ msg: rx.recv(), tick: sleep(10) })`)",
    );
  }
  const keys = Object.keys(branches);
  if (keys.length === 0) throw new TypeError("select() needs at least one branch");
  const list = keys.map((k) => branches[k]);
  checkBranches("select()", list);
  return new SelectOp(SELECT, list, keys, options?.biased === true);
}

/**
 * Wait for the first of several operations (or promises) to finish and give
 * its value; the others are cancelled.
 *
 * @param ops the operations (or promises) to race, at least one.
 * @param options `biased: true` polls them in order instead of a random start.
 * @returns an operation (also awaitable) giving the winner's value.
 * @throws {TypeError} when `ops` is not a non-empty array; (from the operation) what the first
 *   branch to fail throws.
 * @example
 * ```ts
 * import { race } from "../mod.ts";
 * import { run, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 * function* fetchFrom(name: string, ms: number) {
 *   yield* sleep(ms);
 *   return name;
 * }
 * const first = await run(function* () {
 *   return yield* race([fetchFrom("a", 50), fetchFrom("b", 1)]);
 * });
 * assert.equal(first, "b");
 * ```
 */
export function race<T>(
  ops: readonly (Operation<T> | PromiseLike<T>)[],
  options?: SelectOptions,
): Combinator<T> {
  if (!Array.isArray(ops)) {
    throw new TypeError("race() takes an array of operations or promises (`race([a, b])`)");
  }
  if (ops.length === 0) throw new TypeError("race() needs at least one operation");
  checkBranches("race()", ops);
  return new SelectOp(RACE, ops.slice(), null, options?.biased === true);
}

/**
 * A combinator running `list` in `mode` (`ALL`, `RACE` or `SELECT` of `_multi.ts`), unchecked.
 *
 * @internal Used by join.ts.
 * @example
 * ```ts
 * import { ALL, RACE } from "./_multi.ts";
 * import { makeCombinator } from "./select.ts";
 * import assert from "node:assert/strict";
 *
 * // What join() and all() return: every branch, values in order.
 * const both = makeCombinator<number[]>(ALL, [Promise.resolve(1), Promise.resolve(2)]);
 * assert.deepEqual(await both, [1, 2]);
 * assert.equal(await makeCombinator<string>(RACE, [Promise.resolve("first")]), "first");
 * ```
 */
export function makeCombinator<T>(mode: number, list: readonly unknown[]): Combinator<T> {
  return new SelectOp(mode, list, null, false);
}
