/**
 * The `Operation<T>` interface on its own, importing nothing. operation.ts
 * (whose leaves use the scheduler's context) re-exports it; the task layer's
 * JoinHandle, which the scheduler's context names, extends it from here, so
 * no import cycle runs through operation.ts.
 *
 * @module
 */

/**
 * A suspendable computation producing `T`, run with `yield*` inside a
 * `function*` task body.
 *
 * @example
 * ```ts
 * import type { Operation } from "../mod.ts";
 * function* double(x: number): Operation<number> {
 *   return x * 2;
 * }
 * ```
 */
export interface Operation<T> {
  /**
   * Start the operation: the iterator the task resumes.
   *
   * @returns the iterator a task drives with `yield*`.
   */
  [Symbol.iterator](): Iterator<unknown, T, unknown>;
}
