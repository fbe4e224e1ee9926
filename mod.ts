/**
 * Dokio: a Tokio-grade async runtime for Deno.
 *
 * Tasks are poll-driven state machines written as `function*` bodies that
 * run operations with `yield*`; the scheduler polls, wakes, budgets and
 * cancels them the way Tokio does. Every public operation is also
 * `PromiseLike`, so `await` works from async code.
 *
 * @example
 * ```ts
 * import { run, sleep, spawn } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * function* worker(id: number) {
 *   yield* sleep(5);
 *   return id * 10;
 * }
 *
 * const results = await run(function* () {
 *   const handles = [1, 2, 3].map((id) => spawn(worker(id)));
 *   const out: number[] = [];
 *   for (const h of handles) out.push(yield* h);
 *   return out;
 * });
 * assert.deepEqual(results, [10, 20, 30]);
 * ```
 *
 * @module
 */

export * from "./runtime/mod.ts";
export * from "./time/mod.ts";
export * from "./sync/mod.ts";
export * from "./runtime/pool/mod.ts";
export * from "./net/mod.ts";
export * from "./io/mod.ts";
export * from "./fs/mod.ts";
