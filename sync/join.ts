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
 * @param ops the operations (or promises).
 * @returns an operation (also awaitable) giving their values in order.
 * @throws {TypeError} when a branch is neither; (from the operation) the first error.
 * @example
 * ```ts
 * import { join } from "../mod.ts";
 * import { run, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 * function* loadUser(id: number) {
 *   yield* sleep(2);
 *   return { id, name: "ada" };
 * }
 * const posts = Promise.resolve(["hello"]); // a promise is a branch too
 * const [user, list] = await run(function* () {
 *   return yield* join(loadUser(7), posts);
 * });
 * assert.deepEqual(user, { id: 7, name: "ada" });
 * assert.deepEqual(list, ["hello"]);
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
 * @param ops the operations (or promises).
 * @returns an operation (also awaitable) giving their values in order.
 * @throws {TypeError} when `ops` is not an array; (from the operation) the first error.
 * @example
 * ```ts
 * import { all } from "../mod.ts";
 * import { run, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 * function* statSize(name: string) {
 *   yield* sleep(1);
 *   return name.length;
 * }
 * const files = ["a", "bb", "ccc"];
 * const sizes = await run(function* () {
 *   return yield* all(files.map((f) => statSize(f)));
 * });
 * assert.deepEqual(sizes, [1, 2, 3]);
 * ```
 */
export function all<T>(ops: readonly (Operation<T> | PromiseLike<T>)[]): Combinator<T[]> {
  if (!Array.isArray(ops)) {
    throw new TypeError("all() takes an array of operations or promises (`all([a, b])`)");
  }
  checkBranches("all()", ops);
  return makeCombinator(ALL, ops.slice());
}
