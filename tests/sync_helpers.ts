/**
 * Shared helpers of the sync test suites (tests/sync_*_test.ts).
 *
 * @module
 */

import { yieldNow } from "../runtime/mod.ts";
import type { Operation } from "../runtime/operation.ts";

/**
 * Let the other tasks run: yield `n` times.
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * yield* settle();
 * ```
 */
export function* settle(n = 20): Generator<unknown, void, unknown> {
  for (let i = 0; i < n; i++) yield* yieldNow();
}

/**
 * Yield until `cond()` holds; fail after `max` yields.
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * yield* until(() => sem.waiting === 2);
 * ```
 */
export function* until(cond: () => boolean, max = 10_000): Generator<unknown, void, unknown> {
  for (let i = 0; i < max; i++) {
    if (cond()) return;
    yield* yieldNow();
  }
  throw new Error("condition not reached");
}

/**
 * Run `op`, recording whether its finally block ran in `log`.
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * spawn(logged(log, "a", m.lock()));
 * ```
 */
export function* logged<T>(
  log: string[],
  name: string,
  op: Operation<T>,
): Generator<unknown, T, unknown> {
  try {
    const v = yield* op;
    log.push(`${name}:done`);
    return v;
  } finally {
    log.push(`${name}:finally`);
  }
}
