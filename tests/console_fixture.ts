/**
 * Hand-made console snapshots for the console's tests: a small daemon with
 * an accept loop, echo connections, a ticker, a lock with waiters and a few
 * warnings, plus builders for tasks and histograms.
 *
 * @module
 */

import type {
  ConsoleSnapshot,
  Histogram,
  TaskSnapshot,
  WorkerSnapshot,
} from "../runtime/instrument/snapshot.ts";
import { SNAPSHOT_VERSION } from "../runtime/instrument/snapshot.ts";

/** Bucket bounds 1us, 2us, 4us … 1.05s (21 bounds, 22 buckets). */
export const BOUNDS: number[] = Array.from({ length: 21 }, (_, i) => 1000 * 2 ** i);

/**
 * A histogram over `BOUNDS` with the given bucket counts (missing ones 0).
 *
 * @param counts samples per bucket, from the first
 * @param maxNs the largest sample
 * @returns the histogram
 */
export function histogram(counts: number[], maxNs: number): Histogram {
  const all = BOUNDS.map((_, i) => counts[i] ?? 0).concat([counts[BOUNDS.length] ?? 0]);
  const count = all.reduce((a, b) => a + b, 0);
  let sumNs = 0;
  all.forEach((c, i) => sumNs += c * (BOUNDS[i] ?? maxNs));
  return { bounds: BOUNDS, counts: all, count, sumNs, maxNs: count ? maxNs : 0 };
}

/**
 * A task with plausible numbers; `over` replaces any field.
 *
 * @param id its id
 * @param over fields to set
 * @returns the task
 */
export function task(id: number, over: Partial<TaskSnapshot> = {}): TaskSnapshot {
  return {
    id,
    name: null,
    spawnSite: "examples/echo.ts:120:7",
    state: "idle",
    worker: 0,
    polls: 10,
    busyNs: 50_000,
    scheduledNs: 5_000,
    idleNs: 1e9,
    wakes: 10,
    selfWakes: 0,
    sinceLastPollNs: 2e8,
    ageNs: 2e9,
    waitingOn: "recv",
    pollTimes: histogram([4, 3, 2, 1], 7_000),
    ...over,
  };
}

/**
 * A worker with queue depths and I/O in flight.
 *
 * @param worker its number
 * @param over fields to set
 * @returns the worker
 */
export function worker(worker: number, over: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return {
    worker,
    polls: 1234,
    steals: 0,
    parks: 99,
    localQueueDepth: 2,
    injectQueueDepth: 1,
    ioInFlight: { accept: 1, recv: 3 },
    timersArmed: 1,
    pollTimes: histogram([10, 5], 3_000),
    scheduledTimes: histogram([12, 3], 3_500),
    ...over,
  };
}

/**
 * The sample daemon's snapshot.
 *
 * @returns a snapshot with 5 tasks, 2 workers, 2 resources and 2 warnings
 */
export function sampleSnapshot(): ConsoleSnapshot {
  return {
    version: SNAPSHOT_VERSION,
    pid: 4242,
    atMs: 1_700_000_000_000,
    uptimeNs: 3_723e9,
    workers: [worker(0), worker(1, { localQueueDepth: 0, ioInFlight: { send: 2 } })],
    tasks: [
      task(1, {
        name: "accept loop",
        waitingOn: "accept",
        polls: 40,
        busyNs: 2_000_000,
        idleNs: 3_700e9,
        spawnSite: "examples/echo.ts:88:5",
      }),
      task(2, { name: "conn 127.0.0.1:50001", polls: 1500, busyNs: 9_000_000, idleNs: 20e9 }),
      task(3, { name: "conn 127.0.0.1:50002", polls: 7, busyNs: 300_000, idleNs: 50e9 }),
      task(4, {
        name: "ticker",
        state: "scheduled",
        waitingOn: "sleep",
        polls: 3600,
        busyNs: 40_000_000,
        idleNs: 1e9,
        spawnSite: "examples/echo.ts:60:3",
      }),
      task(5, {
        name: null,
        state: "running",
        worker: 1,
        waitingOn: null,
        polls: 2,
        busyNs: 70_000_000,
        idleNs: 0,
        pollTimes: histogram(
          [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
          2e9,
        ),
      }),
    ],
    resources: [
      {
        id: 1,
        kind: "mutex",
        name: "table",
        site: "examples/echo.ts:30:15",
        waiters: 0,
        detail: "unlocked",
      },
      {
        id: 2,
        kind: "semaphore",
        name: "limit",
        site: "examples/echo.ts:31:15",
        waiters: 3,
        detail: "0/64 permits",
      },
    ],
    warnings: [
      { kind: "long-poll", taskId: 5, taskName: null, message: "a poll took 2.00s", atNs: 3_000e9 },
      {
        kind: "self-wake-loop",
        taskId: 4,
        taskName: "ticker",
        message: "woke itself 100 polls in a row",
        atNs: 3_700e9,
      },
    ],
  };
}
