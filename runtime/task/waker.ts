/**
 * The waker: what a suspended operation calls when it may make progress.
 *
 * Invariant: waking is idempotent until the task is next polled — however
 * many times `wake()` is called, the task is queued at most once, and a wake
 * of a finished task does nothing. A Task is its own waker, so registering a
 * waker allocates nothing.
 *
 * @module
 */

/**
 * Something that can be woken. Leaf operations keep the waker they were
 * polled with and call `wake()` when their resource is ready.
 *
 * @example
 * ```ts
 * import type { Waker } from "../../mod.ts";
 * const log: string[] = [];
 * const waker: Waker = { wake: () => log.push("woken") };
 * waker.wake();
 * ```
 */
export interface Waker {
  /** Schedule the owner to be polled again. Safe to call any number of times. */
  wake(): void;
}
