/**
 * What the scheduler needs from a worker's I/O driver (implemented over the
 * C reactor in runtime/io/reactor_driver.ts).
 *
 * Invariant: completions are dispatched (their tasks woken) only from
 * `pollNow()` and `dispatch()`, never from inside `park()`'s promise, so the
 * scheduler controls when wakes happen.
 *
 * @module
 */

/**
 * A worker's I/O driver as the scheduler sees it.
 *
 * @example
 * ```ts ignore
 * // Not run: the scheduler owns the driver; the net examples run this path.
 * const n = io.pollNow(); // harvest and dispatch without waiting
 * ```
 */
export interface IoDriver {
  /** Operations submitted to the reactor and not yet completed. */
  readonly inFlight: number;
  /**
   * Operations in flight by kind (`recv`, `send`, `accept`, …; the ops'
   * `kind`), counted on call (for the instrumentation, not the hot path).
   */
  inFlightByKind(): Record<string, number>;
  /** The reactor backend in use ("io_uring", "epoll", "kqueue"). */
  readonly backend: string;
  /** Submit what is queued, harvest completions without waiting, wake their tasks; returns the count. */
  pollNow(): number;
  /** Submit, wait up to `timeoutMs` synchronously (blocks the thread), dispatch; returns the count. */
  pollFor(timeoutMs: number): number;
  /** Submit what is queued and wait up to `timeoutMs` (-1: forever) in a nonblocking call. */
  park(timeoutMs: number): Promise<void>;
  /** Wake the tasks of the completions the last park harvested. */
  dispatch(): number;
  /** Interrupt a park in progress (from a wake). */
  wake(): void;
  /** Cancel what is in flight and release the reactor. */
  close(): Promise<void>;
}
