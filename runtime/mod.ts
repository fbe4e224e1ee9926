/**
 * The runtime core: tasks, spawning, joining, the scheduler.
 *
 * @module
 */

export type { Operation, Poll } from "./operation.ts";
export { GenOp, Leaf, PENDING, toPromise } from "./operation.ts";
export type { Waker } from "./task/waker.ts";
export { CancelledError, ClosedError, JoinError, timeoutError } from "./errors.ts";
export type { JoinHandle } from "./task/join_handle.ts";
export { JoinSet } from "./task/join_set.ts";
export { YieldNow, yieldNow } from "./scheduler/yield_now.ts";
export { call, PromiseWait } from "./call.ts";
export type { TaskBody } from "./task/body.ts";
export {
  type Backend,
  run,
  Runtime,
  RuntimeBuilder,
  type RuntimeMetrics,
  type RuntimeOptions,
  spawn,
  type SpawnOptions,
} from "./runtime.ts";
export type { InstrumentOptions } from "./instrument/instrument.ts";
export type { MetricsServer, MetricsServerOptions } from "./instrument/server.ts";
export type {
  ConsoleSnapshot,
  Histogram,
  ResourceSnapshot,
  TaskSnapshot,
  TaskStateName,
  TaskWarning,
  WarningKind,
  WorkerSnapshot,
} from "./instrument/snapshot.ts";
export type { WorkerMetrics } from "./scheduler/scheduler.ts";
