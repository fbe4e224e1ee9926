/**
 * Dokio's synchronisation toolkit: locks, semaphores, notifications,
 * barriers, once-cells, channels, cancellation tokens, task tracking and the
 * `select`/`join` combinators — every waiting method is a cancel-safe
 * operation (`yield*` it in a task, `await` it outside).
 *
 * Channels are namespaces, as in Tokio: `mpsc.channel(n)`, `mpsc.unbounded()`,
 * `oneshot.channel()`, `broadcast.channel(n)`, `watch.channel(v)`. End of
 * stream is `undefined` for every multi-message channel.
 *
 * @example
 * ```ts
 * import { mpsc, Mutex } from "./mod.ts";
 * import { run, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const [tx, rx] = mpsc.channel<number>(64);
 * const total = new Mutex(0);
 * await run(function* () {
 *   const producer = spawn(function* () {
 *     for (let i = 1; i <= 3; i++) yield* tx.send(i);
 *     tx.close();
 *   });
 *   let v: number | undefined;
 *   while ((v = yield* rx.recv()) !== undefined) {
 *     using g = yield* total.lock();
 *     g.value += v;
 *   }
 *   yield* producer;
 * });
 * assert.equal(total.tryLock()?.value, 6);
 * ```
 *
 * @module
 */

export { Mutex, MutexGuard } from "./mutex.ts";
export { RwLock, RwLockReadGuard, RwLockWriteGuard } from "./rwlock.ts";
export { MAX_PERMITS, Semaphore, SemaphorePermit } from "./semaphore.ts";
export { Notify } from "./notify.ts";
export { Barrier, type BarrierWaitResult } from "./barrier.ts";
export { OnceCell } from "./once_cell.ts";
export * as mpsc from "./mpsc.ts";
export * as oneshot from "./oneshot.ts";
export { OneshotReceiver, OneshotSender } from "./oneshot.ts";
export * as broadcast from "./broadcast.ts";
export { BroadcastReceiver, BroadcastSender, LaggedError } from "./broadcast.ts";
export * as watch from "./watch.ts";
export { WatchReceiver, WatchSender } from "./watch.ts";
// The mpsc classes under their own names too, so `deno doc` lists their members
// without `--filter mpsc` (a namespace's members are folded away).
export type {
  Permit as MpscPermit,
  Receiver as MpscReceiver,
  Sender as MpscSender,
  UnboundedSender as MpscUnboundedSender,
} from "./mpsc.ts";
export { CancellationToken } from "./cancellation_token.ts";
export { TaskTracker } from "./task_tracker.ts";
export {
  type Combinator,
  race,
  select,
  type SelectOptions,
  type SelectResult,
  type ValueOf,
} from "./select.ts";
export { all, join, type Values } from "./join.ts";
export { shutdownSignal, type ShutdownSignalOptions } from "./shutdown.ts";
export { Pool, PoolGuard, type PoolOptions } from "./pool.ts";
