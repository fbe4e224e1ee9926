/**
 * The Runtime: a scheduler with its drivers, started by `run()` or built
 * with `Runtime.builder()`, and the free functions `run` and `spawn`.
 *
 * Where a task goes when spawned: inside a task poll, to the runtime polling
 * it; otherwise to the innermost runtime whose `run()` is in progress, else
 * to the default runtime (made on first use, never shut down, and holding
 * nothing that keeps the process alive once it has no tasks).
 *
 * The pool (`poolSize(n)`) is not Tokio's
 * `worker_threads`: a started generator cannot leave its isolate, so local
 * tasks (`spawn`, `rt.spawn`, `run`'s main) always run on the thread that
 * made the runtime, on its own scheduler, whatever the pool size. What uses
 * the other cores is a *shared task* (a function registered with
 * `defineTask` in a module, plus plain-data arguments): `rt.spawnShared`,
 * `rt.spawnBlocking` and `serve(rt, …)` run on a `WorkerPool` of worker
 * threads that the runtime starts lazily, on first use. The main thread
 * keeps its scheduler for local tasks and coordinates the pool (queues
 * shared tasks, collects results, starts and stops servers).
 * - `poolSize(n)`: the pool has n worker threads (besides the main thread).
 * - `poolSize(1)`, the default: no pool until a shared spawn or `serve` asks
 *   for one; then a pool of one worker (so `spawnBlocking` still keeps CPU
 *   work off the main thread — running it inline would block the main event
 *   loop, which is what it exists to avoid).
 * - Why the default stays 1 rather than `navigator.hardwareConcurrency`: it
 *   changes nothing for local tasks (they cannot move), each pool worker is a
 *   whole isolate with its own reactor (tens of ms to start, ~10 MB), and the
 *   number of cores to give a server is the user's call
 *   (`poolSize(navigator.hardwareConcurrency)` is one line).
 * - `workers(n)` is the old name of `poolSize(n)`, kept as a deprecated alias.
 * - `replaceDead()`: a pool worker that dies is replaced at its index (see
 *   pool.ts); off by default.
 * - An idle pool does not keep the process alive: a program that never calls
 *   `shutdown()` exits once its shared tasks are done (see pool.ts).
 *
 * Who shuts a runtime down: whoever made it. The free `run(main)` makes an
 * ephemeral runtime and shuts it down when `main` settles. A runtime the
 * user made (`new Runtime()`, `Runtime.builder().build()`) lives until
 * `rt.shutdown()` (or the end of an `await using` block): `rt.run(main)`
 * can be called again and again, as Tokio's `block_on`, and tasks `main`
 * left running keep running on it. Why: the user who built a runtime (its
 * pool, its reactor, its servers) is the one who knows when it is no longer
 * needed — a test helper, a REPL or a server's setup and main phases run
 * several `main`s on one runtime — while `run()`'s runtime has no other
 * owner, so nobody else could shut it down.
 *
 * Invariant: when `rt.shutdown()` settles (and so when the free `run(main)`
 * settles), every task of the runtime has finished (those still alive were
 * cancelled), its timers and I/O are released, its servers are closed, its
 * pool's workers are terminated, and no call or message port of the runtime
 * is pending.
 *
 * @module
 */

import { tryCurrentCore } from "./scheduler/context.ts";
import { CancelledError, JoinError } from "./errors.ts";
import type { JoinHandle } from "./task/join_handle.ts";
import { type Operation, setPromiser } from "./operation.ts";
import { Scheduler, type SchedulerConfig, type WorkerMetrics } from "./scheduler/scheduler.ts";
import { type TaskBody, toIterator } from "./task/body.ts";
import type { Task } from "./task/task.ts";
import { Clock } from "./time/clock.ts";
import { nativeClockSource, nativeTurn } from "../ffi/native_clock.ts";
import { type Backend, BACKEND_NAMES, DK_FILE_WORKERS_MAX, isBackend } from "../ffi/layout.ts";
import { type PoolWorkerMetrics, WorkerPool } from "./pool/pool.ts";
import type { SharedJoinHandle } from "./pool/handle.ts";
import type { SharedArg } from "./pool/codec.ts";
import type { SharedArgs, SharedFn, SharedResult, SharedTaskDef } from "./pool/registry.ts";
import type { InstrumentOptions } from "./instrument/instrument.ts";
import { buildSnapshot } from "./instrument/console.ts";
import { prometheusText } from "./instrument/prometheus.ts";
import { trackingResources } from "./instrument/resources.ts";
import type { ConsoleSnapshot } from "./instrument/snapshot.ts";
import {
  DEFAULT_METRICS_HOSTNAME,
  type MetricsServer,
  type MetricsServerOptions,
  serveMetricsOf,
} from "./instrument/server.ts";

export type { Backend };

/**
 * What `rt.metrics()` reports: per worker, and totals. `perWorker[0]` is the
 * main thread's scheduler; entries 1… are the pool workers (once the pool
 * started), with the counters a pool worker keeps — `polls` (shared tasks
 * started), `steals`, `stolenTasks`, `parks`, `unparks`, and its ring +
 * LIFO depth as `localQueueDepth` — and 0 in the fields it does not count.
 * The task, timer and I/O totals are the main thread's.
 *
 * @example
 * ```ts
 * import { Runtime, type RuntimeMetrics, sleep, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const rt = new Runtime();
 * const m: RuntimeMetrics = await rt.run(function* () {
 *   spawn(sleep(50)); // still sleeping when the snapshot is taken
 *   yield* sleep(1);
 *   return rt.metrics();
 * });
 * assert.equal(m.workers, 1); // no pool started: the main thread only
 * assert.equal(m.perWorker.length, m.workers);
 * assert.deepEqual(m.pool, []);
 * assert.ok(m.activeTasks >= 2 && m.timers >= 1);
 * ```
 */
export interface RuntimeMetrics {
  /** Threads running Dokio schedulers: 1 (main) + pool workers started (= `perWorker.length`). */
  workers: number;
  /** Tasks alive now. */
  activeTasks: number;
  /** Tasks spawned since start. */
  spawnedTasks: number;
  /** Pending timers. */
  timers: number;
  /** Reactor operations in flight. */
  ioInFlight: number;
  /** The I/O backend in use, or null when I/O was not opened. */
  backend: string | null;
  /** Each worker's counters: the main thread's, then each pool worker's. */
  perWorker: WorkerMetrics[];
  /** The pool workers' own counters (with `alive`); empty until the pool started. */
  pool: PoolWorkerMetrics[];
}

/**
 * Options of `run()` and `new Runtime()`.
 *
 * @example
 * ```ts
 * import { run, type RuntimeOptions, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * // A paused clock jumps to the next timer when every task waits: a minute passes at once.
 * const options: RuntimeOptions = { startPaused: true, budget: 64 };
 * const t0 = Date.now();
 * const v = await run(function* () {
 *   yield* sleep(60_000);
 *   return "done";
 * }, options);
 * assert.equal(v, "done");
 * assert.ok(Date.now() - t0 < 30_000);
 * ```
 */
export interface RuntimeOptions {
  /**
   * Threads of the pool that runs shared tasks (`spawnShared`,
   * `spawnBlocking`, `serve`), 1..256 (default 1), started on first use.
   * Not Tokio's `worker_threads`: local tasks (`spawn`) always run on the
   * thread that made the runtime (see the module doc).
   */
  poolSize?: number;
  /** @deprecated The old name of {@linkcode RuntimeOptions.poolSize}. */
  workers?: number;
  /**
   * Start a new pool worker in the place of one that died (an uncaught error, or terminated)
   * once its thread has exited, at the same index (default false: the pool goes on with
   * fewer, and fails what is queued once none is left). Tasks the dead one was running fail
   * either way; with every worker dead, queued tasks wait for the replacement.
   */
  replaceDead?: boolean;
  /** Ticks between inject-queue-first checks (default 31). */
  globalQueueInterval?: number;
  /** Ticks between driver polls (default 61). */
  eventInterval?: number;
  /** Leaf completions per task poll before a forced yield (default 128). */
  budget?: number;
  /** Reactor backend (default "auto", or env DOKIO_BACKEND). */
  backend?: Backend;
  /**
   * Most threads of the reactor's file pool, 1..64 (default 4, or env `DOKIO_FILE_WORKERS`). On
   * epoll/kqueue they run file opens and regular-file I/O (`fs/`), one job each at a time, ops on
   * one fd in order; io_uring does file I/O in the kernel and ignores it.
   */
  fileWorkers?: number;
  /** Allow I/O (the reactor opens on first use). Default true. */
  enableIo?: boolean;
  /** Allow timers. Default true. */
  enableTime?: boolean;
  /** Start with the clock paused (deterministic timer tests). */
  startPaused?: boolean;
  /** Called for a failed task that nobody joined; default prints it. */
  onUnhandledError?: (error: JoinError) => void;
  /**
   * Task instrumentation for `rt.consoleSnapshot()`, `rt.metricsText()` and
   * `rt.serveMetrics()`: true, or thresholds (see runtime/instrument/).
   * Default off — or on when the env var `DOKIO_CONSOLE` is set (not "0")
   * or `DOKIO_METRICS=host:port` is (then the first runtime made serves
   * metrics there).
   */
  instrument?: boolean | InstrumentOptions;
}

/**
 * Options of `spawn(body, options)`.
 *
 * @example
 * ```ts
 * import { run, spawn, type SpawnOptions } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const opts: SpawnOptions = { name: "worker-1" };
 * assert.equal(await run(function* () {
 *   return yield* spawn(function* () {
 *     return 1;
 *   }, opts);
 * }), 1);
 * ```
 */
export interface SpawnOptions {
  /** A name for the console and the metrics (task series are per name). */
  name?: string;
}

/**
 * Something a user-API module runs on a runtime's pool (a multi-worker TCP
 * server, say) that the runtime must close when it shuts down.
 */
export interface Service {
  /** Stop it, giving what it serves up to `timeoutMs` to finish. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * What user-API modules (`net/serve`) may ask of a runtime beyond its public
 * methods, without reaching into its private fields.
 */
export interface RuntimeHooks {
  /** The runtime's worker pool, started on first use; throws once shut down. */
  pool(): WorkerPool;
  /** Whether `shutdown()` has begun. */
  isShutdown(): boolean;
  /** Close `svc` on shutdown; returns the function that forgets it. */
  track(svc: Service): () => void;
}

const hooks = new WeakMap<Runtime, RuntimeHooks>();

/**
 * The hooks of `rt` (for the user-API layer; not part of the public surface).
 *
 * @param rt a runtime.
 * @returns its hooks.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime, runtimeHooks } from "./runtime.ts";
 * const rt = new Runtime();
 * assert.equal(runtimeHooks(rt).isShutdown(), false);
 * await rt.shutdown();
 * assert.equal(runtimeHooks(rt).isShutdown(), true);
 * ```
 */
export function runtimeHooks(rt: Runtime): RuntimeHooks {
  return hooks.get(rt)!;
}

const active: Runtime[] = [];
const schedulers = new WeakMap<Runtime, Scheduler>();
let defaultRuntime: Runtime | null = null;

function workerCount(v: number | undefined): number {
  const n = positiveInt("poolSize", v, 1);
  if (n > 256) throw new RangeError("poolSize must be an integer in 1..256");
  return n;
}

function replaceDeadOption(v: boolean | undefined): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new TypeError("replaceDead must be a boolean");
  return v;
}

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be an integer >= 1`);
  return v;
}

function readEnvVar(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Whether `DOKIO_METRICS` was already served by a runtime of this isolate. */
let envMetricsServed = false;

function instrumentOption(v: boolean | InstrumentOptions | undefined): InstrumentOptions | null {
  if (v === false) return null;
  if (v === true) return {};
  if (v !== undefined) return v;
  const c = readEnvVar("DOKIO_CONSOLE");
  if ((c !== undefined && c !== "" && c !== "0") || (readEnvVar("DOKIO_METRICS") ?? "") !== "") {
    return {};
  }
  return null;
}

/**
 * Parse `host:port` (`[v6]:port`, or `:port` / `port` for loopback).
 *
 * @param v the address.
 * @returns hostname and port.
 * @throws {TypeError} when it is not an address with a port.
 */
function parseHostPort(v: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]*):)?(\d+)$/.exec(v.trim());
  if (m === null) throw new TypeError(`expected host:port, got "${v}"`);
  return { hostname: m[1] ?? (m[2] || DEFAULT_METRICS_HOSTNAME), port: Number(m[3]) };
}

/** The file-pool size: the option, else env DOKIO_FILE_WORKERS, else undefined (C's default). */
function fileWorkersOption(v: number | undefined): number | undefined {
  let n: number | undefined = v;
  let from = "fileWorkers";
  if (n === undefined) {
    const env = readEnvVar("DOKIO_FILE_WORKERS");
    if (env === undefined || env === "") return undefined;
    n = /^\d+$/.test(env) ? Number(env) : NaN;
    from = `DOKIO_FILE_WORKERS ("${env}")`;
  }
  if (!Number.isInteger(n) || n < 1 || n > DK_FILE_WORKERS_MAX) {
    throw new RangeError(`${from} must be an integer in 1..${DK_FILE_WORKERS_MAX}`);
  }
  return n;
}

function backendOption(v: Backend | undefined): Backend {
  let b: string | undefined = v;
  if (b === undefined) {
    try {
      b = Deno.env.get("DOKIO_BACKEND") || "auto";
    } catch {
      b = "auto";
    }
  }
  if (!isBackend(b)) {
    throw new TypeError(`unknown backend "${b}" (${[...BACKEND_NAMES, "deno"].join(", ")})`);
  }
  return b;
}

/**
 * A Dokio runtime.
 *
 * @example
 * ```ts
 * import { Runtime, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const rt = Runtime.builder().budget(64).build();
 * const v = await rt.run(function* () {
 *   yield* sleep(1);
 *   return "done";
 * });
 * assert.equal(v, "done");
 * ```
 */
export class Runtime {
  #sched: Scheduler;
  #shutdown = false;
  /** Settles when a shutdown that has begun is over. */
  #stopped: Promise<void> = Promise.resolve();
  #poolSize: number;
  #replaceDead: boolean;
  #pool: WorkerPool | null = null;
  #services = new Set<Service>();
  /** performance.now() at construction (uptime without instrumentation). */
  #startedMs = performance.now();
  #stopResources: (() => void) | null = null;

  /**
   * Start building a runtime.
   *
   * @returns a fresh {@linkcode RuntimeBuilder}.
   */
  static builder(): RuntimeBuilder {
    return new RuntimeBuilder();
  }

  /**
   * Make a runtime with `options` (see {@linkcode RuntimeOptions}).
   *
   * @param options the runtime's options.
   * @throws {RangeError} when `poolSize`, `budget` or an interval is not a positive integer (or
   *   poolSize > 256), or `fileWorkers` (or env `DOKIO_FILE_WORKERS`) is not an integer in 1..64.
   * @throws {TypeError} when the backend is unknown, or `replaceDead` is not a boolean.
   */
  constructor(options?: RuntimeOptions) {
    options ??= {};
    this.#poolSize = workerCount(options.poolSize ?? options.workers);
    this.#replaceDead = replaceDeadOption(options.replaceDead);
    // The native monotonic clock when the reactor library is at hand
    // (a timer costs one clock read; ~40 ns instead of ~100 ns).
    const nativeClock = nativeClockSource();
    const config: SchedulerConfig = {
      globalQueueInterval: positiveInt("globalQueueInterval", options.globalQueueInterval, 31),
      eventInterval: positiveInt("eventInterval", options.eventInterval, 61),
      budget: positiveInt("budget", options.budget, 128),
      enableTime: options.enableTime ?? true,
      enableIo: options.enableIo ?? true,
      backend: backendOption(options.backend),
      fileWorkers: fileWorkersOption(options.fileWorkers),
      onUnhandledError: options.onUnhandledError,
      clock: new Clock({ paused: options.startPaused === true, source: nativeClock ?? undefined }),
      turn: nativeTurn(),
      realClock: nativeClock,
      instrument: instrumentOption(options.instrument),
    };
    this.#sched = new Scheduler(config);
    if (config.instrument !== null) this.#stopResources = trackingResources();
    schedulers.set(this, this.#sched);
    hooks.set(this, {
      pool: () => this.#getPool(),
      isShutdown: () => this.#shutdown,
      track: (svc) => {
        this.#services.add(svc);
        return () => this.#services.delete(svc);
      },
    });
    const envMetrics = readEnvVar("DOKIO_METRICS") ?? "";
    if (envMetrics !== "" && !envMetricsServed) {
      envMetricsServed = true;
      this.serveMetrics(parseHostPort(envMetrics)).then(
        (srv) =>
          console.error(`dokio: metrics on ${srv.url}/metrics, console stream ${srv.url}/console`),
        (e) => console.error(`dokio: DOKIO_METRICS=${envMetrics}: ${e?.message ?? e}`),
      );
    }
  }

  /**
   * Run `main` to completion on this runtime and resolve to its value (as
   * Tokio's `block_on`). The runtime stays up: call `run` again, spawn on
   * it, and shut it down with {@linkcode Runtime.shutdown} (or
   * `await using rt = new Runtime()`) when done. Tasks `main` spawned and
   * did not join keep running until then. (The free {@linkcode run} is the
   * one that shuts its runtime down: nobody else owns it.)
   *
   * @param main a generator function, a called generator, or an async function.
   * @param options `name`: the main task's name (the console shows it, as
   *   `spawn`'s does).
   * @returns a promise of main's value; it rejects with main's error.
   * @throws {Error} (as a rejection) when this runtime was already shut down.
   * @throws {TypeError} (as a rejection) when `main` is not a task body.
   *
   * @example
   * ```ts
   * import { Runtime, sleep } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * await using rt = new Runtime(); // shut down at the end of the block
   * assert.equal(await rt.run(function* () {
   *   yield* sleep(1);
   *   return 1;
   * }), 1);
   * assert.equal(await rt.run(function* () {
   *   return 2;
   * }, { name: "second" }), 2); // again, on the same runtime; this main task has a name
   * ```
   */
  async run<T>(main: TaskBody<T>, options?: SpawnOptions): Promise<T> {
    if (this.#shutdown) throw new Error("run() on a runtime that was shut down");
    const task = spawnOn(this.#sched, main, options?.name, main) as Task<T>;
    active.push(this);
    try {
      return await unwrapJoin(task);
    } finally {
      const i = active.lastIndexOf(this);
      if (i >= 0) active.splice(i, 1);
    }
  }

  /**
   * Spawn a task on this runtime.
   *
   * @param body a generator function, a called generator, or an async function.
   * @param options the task's name (for the console and the metrics; see {@linkcode SpawnOptions}).
   * @returns the task's handle.
   * @throws {TypeError} when `body` is not a task body.
   * @throws {Error} when the runtime was shut down.
   */
  spawn<T>(body: TaskBody<T>, options?: SpawnOptions): JoinHandle<T> {
    return spawnOn(this.#sched, body, options?.name, body);
  }

  /**
   * Whether task instrumentation is on (see {@linkcode RuntimeOptions.instrument}).
   *
   * @returns true when on.
   */
  get instrumented(): boolean {
    return this.#sched.instrument !== null;
  }

  /**
   * What `deno task console` draws, now: per-worker series, every live task
   * (and those finished in the last seconds), resources with waiters, and
   * the warnings. Without instrumentation only the worker counters are
   * filled (no tasks, empty histograms).
   *
   * @returns the snapshot (plain data, see runtime/instrument/snapshot.ts).
   * @example
   * ```ts
   * import { Runtime, sleep, spawn } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await using rt = new Runtime({ instrument: true });
   * const snap = await rt.run(function* () {
   *   spawn(sleep(50), { name: "sleeper" });
   *   yield* sleep(5);
   *   return rt.consoleSnapshot();
   * });
   * const t = snap.tasks.find((t) => t.name === "sleeper");
   * assert.equal(t?.waitingOn, "sleep");
   * assert.equal(t?.state, "idle");
   * ```
   */
  consoleSnapshot(): ConsoleSnapshot {
    const s = this.#sched;
    return buildSnapshot(
      s.instrument,
      s.metrics(),
      s.io?.inFlightByKind() ?? {},
      (this.#pool?.metrics() ?? []).map((p) => ({
        polls: p.polls,
        steals: p.steals,
        parks: p.parks,
        queueDepth: p.queueDepth,
      })),
      (performance.now() - this.#startedMs) * 1e6,
    );
  }

  /**
   * The Prometheus text exposition of this runtime (what `/metrics` serves).
   *
   * @returns the exposition text.
   * @example
   * ```ts
   * import { Runtime } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await using rt = new Runtime({ instrument: true });
   * await rt.run(function* () {});
   * assert.match(rt.metricsText(), /^dokio_tasks_spawned_total 1$/m);
   * ```
   */
  metricsText(): string {
    const m = this.metrics();
    return prometheusText(
      this.consoleSnapshot(),
      { spawnedTasks: m.spawnedTasks, activeTasks: m.activeTasks, backend: m.backend },
      this.#sched.instrument,
    );
  }

  /**
   * Serve `/metrics` (Prometheus text) and `/console` (the NDJSON snapshot
   * stream `deno task console` reads) over HTTP, on loopback unless told
   * otherwise. Closed by `shutdown()`, or by the server's `close()`.
   *
   * @param options port (default 6669; 0 picks one), hostname (default 127.0.0.1), stream interval.
   * @returns the server once it listens.
   * @throws {RangeError} for a bad port or interval.
   * @throws {Error} (as a rejection) when the port is taken or the runtime was shut down.
   * @example
   * ```ts
   * import { Runtime } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await using rt = new Runtime({ instrument: true });
   * const srv = await rt.serveMetrics({ port: 0 });
   * const res = await fetch(`${srv.url}/metrics`);
   * assert.equal(res.status, 200);
   * await res.body?.cancel();
   * ```
   */
  async serveMetrics(options?: MetricsServerOptions): Promise<MetricsServer> {
    if (this.#shutdown) throw new Error("serveMetrics() on a runtime that was shut down");
    const srv = await serveMetricsOf(this, options);
    const forget = runtimeHooks(this).track({ close: () => srv.close() });
    return {
      hostname: srv.hostname,
      port: srv.port,
      url: srv.url,
      close: () => {
        forget();
        return srv.close();
      },
    };
  }

  /** The pool, started on first use (see the module doc). */
  #getPool(): WorkerPool {
    if (this.#shutdown) throw new Error("the runtime was shut down");
    if (this.#pool === null) {
      this.#pool = WorkerPool.create({ workers: this.#poolSize, replaceDead: this.#replaceDead });
    }
    return this.#pool;
  }

  /**
   * Run a shared task on a pool worker with plain-data arguments: `task` is
   * what `defineTask` returned, so the arguments and the result are typed
   * from its function (`rt.spawnShared(square, 12)` gives a number); or, for
   * names known only at run time, the URL of the module that defines it and
   * its name. Generator functions run as tasks there (abortable); the handle
   * is awaitable, `yield*`-able and has `abort()`.
   *
   * @param task the task's definition (or its module's URL, then its name).
   * @param args plain-data arguments (copied to the worker).
   * @returns the task's handle.
   * @throws {Error} when the runtime was shut down, the pool cannot take work, or this
   *   runs inside a pool worker (guard the program's main code with `import.meta.main`).
   * @throws {TypeError} when the task is not a definition nor a URL and a name, or an argument
   *   cannot be sent.
   * @example
   * ```ts ignore
   * // Not run: a pool worker imports the tasks by the URL of a module of their own (tests/pool_test.ts runs these calls).
   * // tasks.ts: export const sum = defineTask("sum", (xs: number[]) => xs.reduce((a, b) => a + b, 0));
   * import { sum } from "./tasks.ts";
   * const rt = Runtime.builder().poolSize(2).build();
   * assert.equal(await rt.spawnShared(sum, [1, 2, 3]), 6); // typed: number
   * const url = new URL("./tasks.ts", import.meta.url).href;
   * assert.equal(await rt.spawnShared<number>(url, "sum", [4]), 4); // by URL and name
   * await rt.shutdown();
   * ```
   */
  spawnShared<F extends SharedFn>(
    task: SharedTaskDef<F>,
    ...args: SharedArgs<F>
  ): SharedJoinHandle<SharedResult<F>>;
  /**
   * Run the shared task `name` of the module at `moduleUrl` (see the definition form).
   *
   * @param moduleUrl the URL of the module that defines the task.
   * @param name the name given to `defineTask`.
   * @param args plain-data arguments (copied to the worker).
   * @returns the task's handle.
   */
  spawnShared<T>(moduleUrl: string, name: string, ...args: SharedArg[]): SharedJoinHandle<T>;
  spawnShared(
    task: SharedTaskDef<SharedFn> | string,
    ...rest: unknown[]
  ): SharedJoinHandle<unknown> {
    return this.#getPool().spawnShared(task as SharedTaskDef<SharedFn>, ...rest);
  }

  /**
   * Run a CPU job on a pool worker, called inline there (no task machinery;
   * not abortable once started): `task` as for `spawnShared`. Always off the
   * main thread, also with `poolSize(1)` (a pool of one worker).
   *
   * @param task the job's definition (or its module's URL, then its name).
   * @param args plain-data arguments (copied to the worker).
   * @returns the job's handle.
   * @throws {Error} when the runtime was shut down, the pool cannot take work, or this
   *   runs inside a pool worker.
   * @throws {TypeError} when the task is not a definition nor a URL and a name, or an argument
   *   cannot be sent.
   * @example
   * ```ts ignore
   * // Not run: a pool worker imports the tasks by the URL of a module of their own (tests/pool_test.ts runs these calls).
   * const parts = await Promise.all(chunks.map((c) => rt.spawnBlocking(sum, c)));
   * ```
   */
  spawnBlocking<F extends SharedFn>(
    task: SharedTaskDef<F>,
    ...args: SharedArgs<F>
  ): SharedJoinHandle<SharedResult<F>>;
  /**
   * Run the CPU job `name` of the module at `moduleUrl` (see the definition form).
   *
   * @param moduleUrl the URL of the module that defines the job.
   * @param name the name given to `defineTask`.
   * @param args plain-data arguments (copied to the worker).
   * @returns the job's handle.
   */
  spawnBlocking<T>(moduleUrl: string, name: string, ...args: SharedArg[]): SharedJoinHandle<T>;
  spawnBlocking(
    task: SharedTaskDef<SharedFn> | string,
    ...rest: unknown[]
  ): SharedJoinHandle<unknown> {
    return this.#getPool().spawnBlocking(task as SharedTaskDef<SharedFn>, ...rest);
  }

  /**
   * Cancel every task, give them up to `timeoutMs` (default 1000) to run
   * their cleanup, then release the drivers. Servers still open are closed
   * (draining for up to `timeoutMs`), shared tasks still running are
   * cancelled and the pool's workers terminated.
   *
   * @param timeoutMs how long tasks may take to clean up, in milliseconds (default 1000).
   * @returns a promise that resolves once the runtime has stopped.
   */
  async shutdown(timeoutMs?: number): Promise<void> {
    timeoutMs ??= 1000;
    if (this.#shutdown) return await this.#stopped;
    let stopped!: () => void;
    this.#stopped = new Promise((r) => stopped = r);
    try {
      await this.#stop(timeoutMs);
    } finally {
      stopped();
    }
  }

  /**
   * Same as `shutdown()`, for `await using`.
   *
   * @returns a promise that resolves once the runtime has stopped.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  async #stop(timeoutMs: number): Promise<void> {
    this.#shutdown = true;
    if (this.#services.size > 0) {
      await Promise.allSettled([...this.#services].map((svc) => svc.close(timeoutMs)));
    }
    const s = this.#sched;
    s.abortAll();
    if (s.liveTasks > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        s.whenIdle(),
        new Promise<void>((r) => {
          timer = setTimeout(r, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (s.liveTasks > 0) s.abortAll(); // forced: out of suspended finally blocks
    }
    await s.close();
    this.#stopResources?.();
    if (this.#pool !== null) await this.#pool.shutdown({ timeoutMs: 0 });
  }

  /**
   * Counters for a console-like view (see {@linkcode RuntimeMetrics}).
   *
   * @returns a snapshot of the counters.
   */
  metrics(): RuntimeMetrics {
    const w = this.#sched.metrics();
    const pool = this.#pool?.metrics() ?? [];
    const perWorker: WorkerMetrics[] = [w];
    for (const p of pool) {
      perWorker.push({
        polls: p.polls,
        lifoPolls: 0,
        steals: p.steals,
        stolenTasks: p.stolenTasks,
        parks: p.parks,
        unparks: p.unparks,
        hops: 0,
        driverPolls: 0,
        localQueueDepth: p.queueDepth,
        injectQueueDepth: 0,
        spawned: 0,
        activeTasks: 0,
        timers: 0,
        ioInFlight: 0,
      });
    }
    return {
      workers: perWorker.length,
      activeTasks: w.activeTasks,
      spawnedTasks: w.spawned,
      timers: w.timers,
      ioInFlight: w.ioInFlight,
      backend: this.#sched.io?.backend ?? null,
      perWorker,
      pool,
    };
  }
}

/**
 * Builder of a {@linkcode Runtime}, with Tokio's knobs.
 *
 * @example
 * ```ts
 * import { Runtime } from "../mod.ts";
 * const rt = Runtime.builder().poolSize(1).eventInterval(61).globalQueueInterval(31).build();
 * await rt.shutdown();
 * ```
 */
export class RuntimeBuilder {
  #o: RuntimeOptions = {};
  /**
   * Threads of the pool that runs shared tasks, 1..256 (see
   * {@linkcode RuntimeOptions.poolSize}). Local tasks (`spawn`) stay on the
   * calling thread whatever this is: it is not Tokio's `worker_threads`.
   *
   * @param n the number of pool threads, 1 to 256.
   * @returns this builder.
   * @throws {RangeError} when `n` is not an integer in 1..256.
   */
  poolSize(n: number): this {
    this.#o.poolSize = workerCount(n);
    return this;
  }
  /**
   * The old name of {@linkcode RuntimeBuilder.poolSize}.
   *
   * @deprecated Use `poolSize(n)`: only shared tasks use the pool.
   * @param n the number of pool threads, 1 to 256.
   * @returns this builder.
   * @throws {RangeError} when `n` is not an integer in 1..256.
   */
  workers(n: number): this {
    return this.poolSize(n);
  }
  /**
   * Replace a pool worker that died (see {@linkcode RuntimeOptions.replaceDead}).
   *
   * @param on true (default) to start a new worker at a dead one's index; false to go on
   *   with fewer.
   * @returns this builder.
   * @throws {TypeError} when `on` is not a boolean.
   * @example
   * ```ts
   * import { Runtime } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const rt = Runtime.builder().poolSize(2).replaceDead().build();
   * assert.deepEqual(rt.metrics().pool, []); // the pool starts on first use
   * await rt.shutdown();
   * ```
   */
  replaceDead(on?: boolean): this {
    this.#o.replaceDead = replaceDeadOption(on ?? true);
    return this;
  }
  /**
   * Ticks between inject-queue-first checks.
   *
   * @param n the interval in scheduler ticks (an integer >= 1).
   * @returns this builder.
   * @throws {RangeError} when `n` is not an integer >= 1.
   */
  globalQueueInterval(n: number): this {
    this.#o.globalQueueInterval = positiveInt("globalQueueInterval", n, 1);
    return this;
  }
  /**
   * Ticks between driver polls.
   *
   * @param n the interval in scheduler ticks (an integer >= 1).
   * @returns this builder.
   * @throws {RangeError} when `n` is not an integer >= 1.
   */
  eventInterval(n: number): this {
    this.#o.eventInterval = positiveInt("eventInterval", n, 1);
    return this;
  }
  /**
   * Leaf completions per task poll.
   *
   * @param n the budget (an integer >= 1).
   * @returns this builder.
   * @throws {RangeError} when `n` is not an integer >= 1.
   */
  budget(n: number): this {
    this.#o.budget = positiveInt("budget", n, 1);
    return this;
  }
  /**
   * Reactor backend.
   *
   * @param b "auto", "io_uring", "epoll" or "kqueue".
   * @returns this builder.
   * @throws {TypeError} when `b` is none of those.
   */
  backend(b: Backend): this {
    this.#o.backend = backendOption(b);
    return this;
  }
  /**
   * Most threads of the reactor's file pool (see {@linkcode RuntimeOptions.fileWorkers}).
   *
   * @param n the pool size, an integer in 1..64.
   * @returns this builder.
   * @throws {RangeError} when `n` is not an integer in 1..64.
   */
  fileWorkers(n: number): this {
    this.#o.fileWorkers = fileWorkersOption(n);
    return this;
  }
  /**
   * Allow I/O.
   *
   * @param on false to refuse I/O on this runtime.
   * @returns this builder.
   */
  enableIo(on?: boolean): this {
    on ??= true;
    this.#o.enableIo = on;
    return this;
  }
  /**
   * Allow timers.
   *
   * @param on false to refuse timers on this runtime.
   * @returns this builder.
   */
  enableTime(on?: boolean): this {
    on ??= true;
    this.#o.enableTime = on;
    return this;
  }
  /**
   * Start with a paused clock.
   *
   * @param on true to start with the clock paused.
   * @returns this builder.
   */
  startPaused(on?: boolean): this {
    on ??= true;
    this.#o.startPaused = on;
    return this;
  }
  /**
   * Handler for failures nobody joined.
   *
   * @param f called with the JoinError of each failed task nobody joined.
   * @returns this builder.
   */
  onUnhandledError(f: (error: JoinError) => void): this {
    this.#o.onUnhandledError = f;
    return this;
  }
  /**
   * Task instrumentation (see {@linkcode RuntimeOptions.instrument}).
   *
   * @param on true (default) or thresholds; false to turn it off even when `DOKIO_CONSOLE` is set.
   * @returns this builder.
   */
  instrument(on?: boolean | InstrumentOptions): this {
    this.#o.instrument = on ?? true;
    return this;
  }
  /**
   * Make the runtime.
   *
   * @returns a new runtime with the options set so far.
   */
  build(): Runtime {
    return new Runtime({ ...this.#o });
  }
}

function unwrapJoin<T>(task: Task<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    task.then(resolve, (e) => {
      if (e instanceof JoinError) {
        reject(e.cancelled ? (e.cause ?? new CancelledError()) : e.cause);
      } else reject(e);
    });
  });
}

/** The scheduler that `spawn` outside a task uses. */
function ambientScheduler(): Scheduler {
  const core = tryCurrentCore();
  if (core instanceof Scheduler) return core;
  if (active.length > 0) return schedulers.get(active[active.length - 1])!;
  if (defaultRuntime === null) defaultRuntime = new Runtime();
  return schedulers.get(defaultRuntime)!;
}

/**
 * Start a runtime, run `main` to completion, shut it down and resolve to
 * main's value. `main` is a generator function, an operation, or an async
 * function.
 *
 * @param main a generator function, a called generator, or an async function.
 * @param options the runtime's options (see {@linkcode RuntimeOptions}).
 * @returns a promise of main's value; it rejects with main's error.
 * @throws {RangeError} when an option is out of range.
 * @throws {TypeError} when `main` is not a task body or the backend is unknown.
 * @example
 * ```ts
 * import { run, sleep, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const total = await run(function* () {
 *   const a = spawn(function* () {
 *     yield* sleep(1);
 *     return 1;
 *   });
 *   return (yield* a) + 1;
 * });
 * assert.equal(total, 2);
 * ```
 */
export function run<T>(main: TaskBody<T>, options?: RuntimeOptions): Promise<T> {
  return runThenShutdown(new Runtime(options), main);
}

/** The free run's body: its runtime has no other owner, so it shuts it down. */
async function runThenShutdown<T>(rt: Runtime, main: TaskBody<T>): Promise<T> {
  try {
    return await rt.run(main);
  } finally {
    await rt.shutdown();
  }
}

/**
 * Spawn a task: on the runtime polling the caller, else the innermost
 * running `run()`, else the default runtime. Returns its JoinHandle.
 * For hot loops pass a called generator (`spawn(handler(conn))`) rather
 * than a fresh generator closure: it is several times cheaper.
 *
 * @param body a generator function, a called generator, or an async function.
 * @param options the task's name (for the console and the metrics; see {@linkcode SpawnOptions}).
 * @returns the task's handle.
 * @throws {TypeError} when `body` is not a task body.
 * @example
 * ```ts
 * import { run, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * function* double(x: number) {
 *   return x * 2;
 * }
 * const v = await run(function* () {
 *   return yield* spawn(double(21));
 * });
 * assert.equal(v, 42);
 * ```
 */
export function spawn<T>(body: TaskBody<T>, options?: SpawnOptions): JoinHandle<T> {
  return spawnOn(ambientScheduler(), body, options?.name, body);
}

/**
 * Spawn on `sched`; when instrumented, name the task and take its spawn site
 * (cached under `key`'s site key: the body the user passed).
 */
function spawnOn<T>(
  sched: Scheduler,
  body: TaskBody<T>,
  name: string | undefined,
  key: unknown,
): JoinHandle<T> {
  return sched.spawn(toIterator(body), name ?? null, key);
}

/**
 * `spawn` for the spawners built on it (`JoinSet`, `TaskTracker`): `key` is
 * the body the user passed, whose site is the one shown. Not for users.
 *
 * @param body the body to run (possibly a wrapper around the user's).
 * @param name the task's name, if any.
 * @param key the user's body (the spawn-site cache key).
 * @returns the task's handle.
 * @throws {TypeError} when `body` is not a task body.
 * @example
 * ```ts
 * import { run } from "../mod.ts";
 * import { spawnNamed } from "./runtime.ts";
 * import assert from "node:assert/strict";
 * function* one() {
 *   return 1;
 * }
 * assert.equal(await run(function* () {
 *   return yield* spawnNamed(one(), "one", one);
 * }), 1);
 * ```
 */
export function spawnNamed<T>(
  body: TaskBody<T>,
  name: string | undefined,
  key: unknown,
): JoinHandle<T> {
  return spawnOn(ambientScheduler(), body, name, key);
}

// `await op` outside a task: run the operation as a task on the ambient runtime.
setPromiser(<T>(op: Operation<T>): Promise<T> => {
  try {
    return unwrapJoin(ambientScheduler().spawn(op[Symbol.iterator]()));
  } catch (e) {
    return Promise.reject(e);
  }
});
