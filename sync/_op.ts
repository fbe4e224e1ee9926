/**
 * Internal: telling operations, promises and plain values apart, for APIs
 * that accept any of them (`OnceCell.getOrInit`, `TaskTracker.spawn`).
 *
 * Rule: a thenable is a promise; an object with `[Symbol.iterator]` that is
 * not a built-in collection (Array, String, Map, Set, typed array) is an
 * operation; anything else is a plain value.
 *
 * @module
 */

import type { Operation } from "../runtime/operation.ts";

/**
 * True for objects with a callable `then`.
 *
 * @example
 * ```ts
 * import { isPromiseLike } from "./_op.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isPromiseLike(Promise.resolve(1)));
 * ```
 */
export function isPromiseLike(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === "object" || typeof x === "function") && x !== null &&
    typeof (x as { then?: unknown }).then === "function";
}

/**
 * True for operations (generator objects, leaves, anything with an iterator
 * that is not a built-in collection).
 *
 * @example
 * ```ts
 * import { isOperation } from "./_op.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isOperation((function* () {})()));
 * assert.equal(isOperation([1]), false);
 * ```
 */
export function isOperation(x: unknown): x is Operation<unknown> {
  if (typeof x !== "object" || x === null) return false;
  if (typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== "function") return false;
  return !(Array.isArray(x) || x instanceof Map || x instanceof Set || ArrayBuffer.isView(x));
}
