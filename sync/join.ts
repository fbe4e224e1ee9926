/**
 * `join` and `all`: run several operations concurrently inside the current
 * task and wait for every one of them.
 *
 * Invariant: the result array is in argument order, whatever order the
 * branches finish in. The first error cancels every other running branch
 * (their `finally` blocks run, their leaves deregister) and is rethrown.
 *
 * @module
 */

import type { Operation } from "../runtime/operation.ts";
import { ALL, checkBranches, type ValueOf } from "./_multi.ts";
import { type Combinator, makeCombinator } from "./select.ts";

/**
 * The values of a tuple of operations.
 *
 * @example
 * ```ts
 * import { join, run, type Values } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * function* num(): Generator<never, number, unknown> {
 *   return 1;
 * }
 * const ops = [num(), Promise.resolve("a")] as const;
 * const got: Values<typeof ops> = await run(function* () {
 *   return yield* join(...ops);
 * });
 * assert.deepEqual(got, [1, "a"]); // typed [number, string]
 * ```
 */
export type Values<T extends readonly unknown[]> = { -readonly [K in keyof T]: ValueOf<T[K]> };

/**
 * Wait for every operation (or promise); gives their values in order. The
 * first error cancels the rest and is rethrown.
 *
 * @example
 * ```ts ignore
 * import { join } from "./join.ts";
 * const [user, posts] = yield* join(loadUser(id), loadPosts(id));
 * ```
 */
export function join<T extends readonly (Operation<unknown> | PromiseLike<unknown>)[]>(
  ...ops: T
): Combinator<Values<T>> {
  checkBranches("join()", ops);
  return makeCombinator(ALL, ops.slice());
}

/**
 * Array form of {@linkcode join}: wait for every operation in `ops`.
 *
 * @example
 * ```ts ignore
 * import { all } from "./join.ts";
 * const sizes = yield* all(files.map((f) => statSize(f)));
 * ```
 */
export function all<T>(ops: readonly (Operation<T> | PromiseLike<T>)[]): Combinator<T[]> {
  if (!Array.isArray(ops)) {
    throw new TypeError("dokio: all() takes an array of operations or promises (`all([a, b])`)");
  }
  checkBranches("all()", ops);
  return makeCombinator(ALL, ops.slice());
}
