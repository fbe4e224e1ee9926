/**
 * The console's wire contract: what an instrumented runtime reports about
 * itself, and what `deno task console` draws. Plain data (JSON-safe), so a
 * snapshot can cross a socket, be saved to a file, and be rendered by a pure
 * function in tests.
 *
 * Invariant: every duration is in nanoseconds as a JS number (exact below
 * 2^53 ns ≈ 104 days); every histogram has `counts.length === bounds.length + 1`
 * (the last bucket counts samples above the last bound) and `count` equals the
 * sum of `counts`.
 *
 * The stream: the metrics server answers `GET /console` with
 * `content-type: application/x-ndjson`, one `ConsoleSnapshot` per line, one
 * line per update interval, until the client goes away.
 *
 * @module
 */

/** Version of this contract; a console refuses a stream of another version. */
export const SNAPSHOT_VERSION = 1;

/** Where a task is in its life, as the console shows it. */
export type TaskStateName =
  /** Alive, not queued: waiting for a wake. */
  | "idle"
  /** Woken (or new) and queued, not yet polled. */
  | "scheduled"
  /** Being polled now. */
  | "running"
  /** Finished with a value or an error. */
  | "done"
  /** Finished by cancellation. */
  | "cancelled";

/** A fixed-bucket histogram of durations. */
export interface Histogram {
  /** Upper bounds of the buckets, in ns, ascending. */
  bounds: number[];
  /** Samples per bucket; one more entry than `bounds` (the overflow bucket). */
  counts: number[];
  /** Number of samples (the sum of `counts`). */
  count: number;
  /** Sum of all samples, in ns. */
  sumNs: number;
  /** Largest sample, in ns (0 when empty). */
  maxNs: number;
}

/** One task, as the instrumentation saw it at the snapshot. */
export interface TaskSnapshot {
  /** The task's id, unique within the runtime. */
  id: number;
  /** The name given at spawn (`spawn(op, { name })`), or null. */
  name: string | null;
  /** Where it was spawned, `file:line:column`, or null when not known. */
  spawnSite: string | null;
  /** Its state now. */
  state: TaskStateName;
  /** The worker it runs on (0: the main thread's scheduler). */
  worker: number;
  /** Times polled. */
  polls: number;
  /** Time spent inside polls, in ns. */
  busyNs: number;
  /** Time spent woken but not yet polled, in ns. */
  scheduledNs: number;
  /** Time spent waiting for a wake, in ns. */
  idleNs: number;
  /** Wakes received. */
  wakes: number;
  /** Of those, wakes the task gave itself while being polled. */
  selfWakes: number;
  /** Time since its last poll ended (or since spawn when never polled), in ns. */
  sinceLastPollNs: number;
  /** Time since spawn, in ns. */
  ageNs: number;
  /** What the leaf it is suspended on is (`sleep`, `recv`, `accept`, `lock`, …), or null. */
  waitingOn: string | null;
  /** Its poll durations. */
  pollTimes: Histogram;
}

/** Which kind of trouble a warning reports. */
export type WarningKind =
  /** Woken, but not polled for longer than the threshold. */
  | "lost-wake"
  /** One poll ran longer than the threshold: it blocked its thread. */
  | "long-poll"
  /** The task woke itself many polls in a row (a busy loop through the scheduler). */
  | "self-wake-loop"
  /** The task failed and its JoinHandle was dropped without the error being seen. */
  | "lost-error";

/** A warning about one task. */
export interface TaskWarning {
  /** Which trouble. */
  kind: WarningKind;
  /** The task's id. */
  taskId: number;
  /** The task's name, or null. */
  taskName: string | null;
  /** One line a human reads. */
  message: string;
  /** When it was raised, ns since the runtime started. */
  atNs: number;
}

/** A sync resource with waiters (lock, semaphore, channel, …). */
export interface ResourceSnapshot {
  /** Unique within the runtime. */
  id: number;
  /** `mutex`, `rwlock`, `semaphore`, `notify`, `barrier`, `mpsc`, `oneshot`, `broadcast`, `watch`, … */
  kind: string;
  /** The name given at construction, or null. */
  name: string | null;
  /** Where it was created, `file:line:column`, or null. */
  site: string | null;
  /** Tasks waiting on it now. */
  waiters: number;
  /** Its own state in one short line (`locked`, `3/10 permits`, `12 queued`, …). */
  detail: string;
}

/** One worker's runtime series. */
export interface WorkerSnapshot {
  /** 0: the main thread's scheduler; 1…: pool workers. */
  worker: number;
  /** Task polls. */
  polls: number;
  /** Steal operations. */
  steals: number;
  /** Times it parked. */
  parks: number;
  /** Tasks in its local queue. */
  localQueueDepth: number;
  /** Tasks in its inject queue. */
  injectQueueDepth: number;
  /** Reactor operations in flight, by kind (`recv`, `send`, `accept`, …). */
  ioInFlight: Record<string, number>;
  /** Timers armed. */
  timersArmed: number;
  /** Poll durations of every task on this worker. */
  pollTimes: Histogram;
  /** Woken → polled delays of every task on this worker. */
  scheduledTimes: Histogram;
}

/** Everything the console draws, at one instant. */
export interface ConsoleSnapshot {
  /** `SNAPSHOT_VERSION` of the sender. */
  version: number;
  /** The daemon's process id. */
  pid: number;
  /** Wall-clock time of the snapshot, ms since the epoch. */
  atMs: number;
  /** Time since the runtime started, in ns. */
  uptimeNs: number;
  /** Per worker. */
  workers: WorkerSnapshot[];
  /** Live tasks, and finished ones for a short while after they finish. */
  tasks: TaskSnapshot[];
  /** Resources with their waiters. */
  resources: ResourceSnapshot[];
  /** Warnings raised, newest last (bounded). */
  warnings: TaskWarning[];
  /**
   * On the `/console` stream: the interval between its lines, ms (what the
   * client asked with `?interval=`, floored by the server). Absent from
   * `rt.consoleSnapshot()`.
   */
  intervalMs?: number;
}
