/**
 * The multi-worker pool: shared tasks run on N Deno Workers that share work
 * through SharedArrayBuffer queues, plus a cross-worker byte channel and
 * notify, and what multi-core TCP serving (net/serve, `serve(rt, …)`) runs on. See
 * `pool.ts` for the design and its invariants.
 *
 * @example
 * ```ts ignore
 * // Not run: a pool worker imports the tasks by the URL of a module of their own (tests/pool_test.ts runs these calls).
 * import { defineTask, WorkerPool } from "./mod.ts";
 * import assert from "node:assert/strict";
 * // tasks.ts: export const sum = defineTask("sum", (xs: number[]) => xs.reduce((a, b) => a + b, 0));
 * const url = new URL("./tasks.ts", import.meta.url).href;
 * const pool = await WorkerPool.start({ workers: 2, modules: [url] });
 * assert.equal(await pool.spawnBlocking<number>(url, "sum", [1, 2, 3]), 6);
 * await pool.shutdown();
 * ```
 *
 * @module
 */

export {
  type PoolShutdownOptions,
  type PoolWorkerMetrics,
  WorkerPool,
  type WorkerPoolOptions,
} from "./pool.ts";
export { SharedJoinHandle } from "./handle.ts";
export {
  type ConnHandler,
  defineHandler,
  defineTask,
  type HandlerDef,
  type SharedArgs,
  type SharedFn,
  type SharedResult,
  type SharedTaskDef,
} from "./registry.ts";
export type { SharedArg } from "./codec.ts";
export {
  NotifiedShared,
  RecvShared,
  SendShared,
  SharedChannel,
  sharedChannel,
  type SharedChannelOptions,
  SharedNotify,
} from "./channel.ts";
export { Leaf, type Operation, PENDING, type Poll } from "../operation.ts";
export type { Waker } from "../task/waker.ts";
export { JoinError } from "../errors.ts";
export type { HandleOwner } from "./handle.ts";
