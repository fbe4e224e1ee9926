/**
 * Assembles a {@linkcode ConsoleSnapshot} from a scheduler's counters, its
 * instrumentation (when on) and the pool's counters. A runtime without
 * instrumentation still answers: its workers' counters, no tasks, empty
 * histograms.
 *
 * @module
 */

import type { Instrument } from "./instrument.ts";
import { BUCKETS, toHistogram } from "./histogram.ts";
import { resourceSnapshots } from "./resources.ts";
import { type ConsoleSnapshot, SNAPSHOT_VERSION, type WorkerSnapshot } from "./snapshot.ts";
import type { WorkerMetrics } from "../scheduler/scheduler.ts";

/** What the pool reports per worker (a subset of its metrics). */
export interface PoolCounters {
  /** Shared tasks started. */
  polls: number;
  /** Steal operations. */
  steals: number;
  /** Times parked. */
  parks: number;
  /** Ring + LIFO depth. */
  queueDepth: number;
}

const EMPTY = () => toHistogram(new Float64Array(BUCKETS + 1), 0, 0);

/**
 * One snapshot of everything the console draws.
 *
 * @param inst the main scheduler's instrumentation, or null when off.
 * @param main the main scheduler's counters.
 * @param ioByKind its reactor operations in flight, by kind.
 * @param pool each pool worker's counters.
 * @param uptimeNs time since the runtime started, ns (used when `inst` is null).
 * @returns the snapshot.
 * @example
 * ```ts
 * import { buildSnapshot } from "./console.ts";
 * import { Runtime } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const rt = new Runtime();
 * const snap = buildSnapshot(null, rt.metrics().perWorker[0], {}, [], 0);
 * assert.equal(snap.workers.length, 1);
 * assert.deepEqual(snap.tasks, []);
 * await rt.shutdown();
 * ```
 */
export function buildSnapshot(
  inst: Instrument | null,
  main: WorkerMetrics,
  ioByKind: Record<string, number>,
  pool: PoolCounters[],
  uptimeNs: number,
): ConsoleSnapshot {
  const got = inst?.tasks() ?? null;
  const w0: WorkerSnapshot = {
    worker: 0,
    polls: main.polls,
    steals: main.steals,
    parks: main.parks,
    localQueueDepth: main.localQueueDepth,
    injectQueueDepth: main.injectQueueDepth,
    ioInFlight: ioByKind,
    timersArmed: main.timers,
    pollTimes: inst?.pollTimes.toJSON() ?? EMPTY(),
    scheduledTimes: inst?.scheduledTimes.toJSON() ?? EMPTY(),
  };
  const workers = [w0];
  pool.forEach((p, i) =>
    workers.push({
      worker: i + 1,
      polls: p.polls,
      steals: p.steals,
      parks: p.parks,
      localQueueDepth: p.queueDepth,
      injectQueueDepth: 0,
      ioInFlight: {},
      timersArmed: 0,
      pollTimes: EMPTY(),
      scheduledTimes: EMPTY(),
    })
  );
  return {
    version: SNAPSHOT_VERSION,
    pid: Deno.pid,
    atMs: Date.now(),
    uptimeNs: got?.nowNs ?? uptimeNs,
    workers,
    tasks: got?.tasks ?? [],
    resources: inst !== null ? resourceSnapshots() : [],
    warnings: inst?.warnings() ?? [],
  };
}
