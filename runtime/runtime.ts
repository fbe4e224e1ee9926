/**
 * The Runtime: a scheduler with its drivers, started by `run()` or built
 * with `Runtime.builder()`, and the free functions `run` and `spawn`.
 *
 * Where a task goes when spawned: inside a task poll, to the runtime polling
 * it; otherwise to the innermost runtime whose `run()` is in progress, else
 * to the default runtime (made on first use, never shut down, and holding
 * nothing that keeps the process alive once it has no tasks).
 *
 * Invariant: when `rt.run(main)` settles, every task it spawned has finished
 * (those still alive when `main` returned were cancelled), its timers and
 * I/O are released, and no call or message port of the runtime is pending.
 *
 * @module
 */

import { tryCurrentCore } from "./context.ts";
import { CancelledError, JoinError } from "./errors.ts";
import type { IoDriver } from "./io_driver.ts";
import type { JoinHandle } from "./join_handle.ts";
import { type Operation, setPromiser } from "./operation.ts";
import { Scheduler, type SchedulerConfig, type WorkerMetrics } from "./scheduler.ts";
import { type TaskBody, toIterator } from "./body.ts";
import type { Task } from "./task.ts";
import { Clock } from "../time/clock.ts";

/** Backends the I/O driver can use. */
export type Backend = "auto" | "io_uring" | "epoll" | "kqueue";

/** What `rt.metrics()` reports: per worker, and totals. */
export interface RuntimeMetrics {
  /** Number of workers. */
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
  /** Each worker's counters. */
  perWorker: WorkerMetrics[];
}

/** Options of `run()` and `new Runtime()`. */
export interface RuntimeOptions {
  /** Worker count (1 for now; the multi-worker pool extends this). */
  workers?: number;
  /** Ticks between inject-queue-first checks (default 31). */
  globalQueueInterval?: number;
  /** Ticks between driver polls (default 61). */
  eventInterval?: number;
  /** Leaf completions per task poll before a forced yield (default 128). */
  budget?: number;
  /** Reactor backend (default "auto", or env DOKIO_BACKEND). */
  backend?: Backend;
  /** Allow I/O (the reactor opens on first use). Default true. */
  enableIo?: boolean;
  /** Allow timers. Default true. */
  enableTime?: boolean;
  /** Start with the clock paused (deterministic timer tests). */
  startPaused?: boolean;
  /** Called for a failed task that nobody joined; default prints it. */
  onUnhandledError?: (error: JoinError) => void;
}

type IoFactory = (backend: Backend) => Promise<IoDriver>;
let ioFactory: IoFactory | null = null;

/**
 * Install how runtimes open their I/O driver (the networking layer does
 * this when it loads, so runtimes without networking never load the FFI
 * library).
 *
 * @example
 * ```ts ignore
 * setIoFactory((backend) => ReactorDriver.open(backend));
 * ```
 */
export function setIoFactory(f: IoFactory): void {
  ioFactory = f;
}

const active: Runtime[] = [];
const schedulers = new WeakMap<Runtime, Scheduler>();
let defaultRuntime: Runtime | null = null;

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be an integer >= 1`);
  return v;
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
  if (b !== "auto" && b !== "io_uring" && b !== "epoll" && b !== "kqueue") {
    throw new TypeError(`unknown backend "${b}" (auto, io_uring, epoll or kqueue)`);
  }
  return b;
}

/**
 * A Dokio runtime.
 *
 * @example
 * ```ts
 * import { Runtime, sleep } from "../mod.ts";
 * const rt = Runtime.builder().budget(64).build();
 * const v = await rt.run(function* () {
 *   yield* sleep(1);
 *   return "done";
 * });
 * console.assert(v === "done");
 * ```
 */
export class Runtime {
  #sched: Scheduler;
  #running = 0;
  #shutdown = false;

  /** Start building a runtime. */
  static builder(): RuntimeBuilder {
    return new RuntimeBuilder();
  }

  /** Make a runtime with `options` (see {@linkcode RuntimeOptions}). */
  constructor(options: RuntimeOptions = {}) {
    const workers = positiveInt("workers", options.workers, 1);
    if (workers !== 1) {
      throw new RangeError("dokio: this build runs one worker per runtime (workers(1))");
    }
    const config: SchedulerConfig = {
      globalQueueInterval: positiveInt("globalQueueInterval", options.globalQueueInterval, 31),
      eventInterval: positiveInt("eventInterval", options.eventInterval, 61),
      budget: positiveInt("budget", options.budget, 128),
      enableTime: options.enableTime ?? true,
      enableIo: options.enableIo ?? true,
      backend: backendOption(options.backend),
      onUnhandledError: options.onUnhandledError,
      clock: options.startPaused ? new Clock({ paused: true }) : undefined,
    };
    this.#sched = new Scheduler(config);
    schedulers.set(this, this.#sched);
    this.#sched.setIoFactory((b) => {
      if (ioFactory === null) {
        return Promise.reject(
          new Error("dokio: no I/O driver loaded (import the networking module)"),
        );
      }
      return ioFactory(b);
    });
  }

  /**
   * Run `main` to completion, then shut the runtime down (tasks still alive
   * are cancelled) and resolve to main's value. If main throws, the promise
   * rejects with that error.
   */
  async run<T>(main: TaskBody<T>): Promise<T> {
    if (this.#shutdown) throw new Error("dokio: run() on a runtime that was shut down");
    const task = this.#sched.spawn(toIterator(main));
    this.#running++;
    active.push(this);
    try {
      return await unwrapJoin(task);
    } finally {
      const i = active.lastIndexOf(this);
      if (i >= 0) active.splice(i, 1);
      if (--this.#running === 0) await this.shutdown();
    }
  }

  /** Spawn a task on this runtime. */
  spawn<T>(body: TaskBody<T>): JoinHandle<T> {
    return this.#sched.spawn(toIterator(body));
  }

  /**
   * Cancel every task, give them up to `timeoutMs` (default 1000) to run
   * their cleanup, then release the drivers.
   */
  async shutdown(timeoutMs = 1000): Promise<void> {
    if (this.#shutdown) return;
    this.#shutdown = true;
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
  }

  /** Counters for a console-like view. */
  metrics(): RuntimeMetrics {
    const w = this.#sched.metrics();
    return {
      workers: 1,
      activeTasks: w.activeTasks,
      spawnedTasks: w.spawned,
      timers: w.timers,
      ioInFlight: w.ioInFlight,
      backend: this.#sched.io?.backend ?? null,
      perWorker: [w],
    };
  }
}

/**
 * Builder of a {@linkcode Runtime}, with Tokio's knobs.
 *
 * @example
 * ```ts
 * import { Runtime } from "../mod.ts";
 * const rt = Runtime.builder().workers(1).eventInterval(61).globalQueueInterval(31).build();
 * await rt.shutdown();
 * ```
 */
export class RuntimeBuilder {
  #o: RuntimeOptions = {};
  /** Worker count. */
  workers(n: number): this {
    this.#o.workers = positiveInt("workers", n, 1);
    return this;
  }
  /** Ticks between inject-queue-first checks. */
  globalQueueInterval(n: number): this {
    this.#o.globalQueueInterval = positiveInt("globalQueueInterval", n, 1);
    return this;
  }
  /** Ticks between driver polls. */
  eventInterval(n: number): this {
    this.#o.eventInterval = positiveInt("eventInterval", n, 1);
    return this;
  }
  /** Leaf completions per task poll. */
  budget(n: number): this {
    this.#o.budget = positiveInt("budget", n, 1);
    return this;
  }
  /** Reactor backend. */
  backend(b: Backend): this {
    this.#o.backend = backendOption(b);
    return this;
  }
  /** Allow I/O. */
  enableIo(on = true): this {
    this.#o.enableIo = on;
    return this;
  }
  /** Allow timers. */
  enableTime(on = true): this {
    this.#o.enableTime = on;
    return this;
  }
  /** Start with a paused clock. */
  startPaused(on = true): this {
    this.#o.startPaused = on;
    return this;
  }
  /** Handler for failures nobody joined. */
  onUnhandledError(f: (error: JoinError) => void): this {
    this.#o.onUnhandledError = f;
    return this;
  }
  /** Make the runtime. */
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
 * @example
 * ```ts
 * import { run, sleep, spawn } from "../mod.ts";
 * const total = await run(function* () {
 *   const a = spawn(function* () {
 *     yield* sleep(1);
 *     return 1;
 *   });
 *   return (yield* a) + 1;
 * });
 * console.assert(total === 2);
 * ```
 */
export function run<T>(main: TaskBody<T>, options?: RuntimeOptions): Promise<T> {
  return new Runtime(options).run(main);
}

/**
 * Spawn a task: on the runtime polling the caller, else the innermost
 * running `run()`, else the default runtime. Returns its JoinHandle.
 * For hot loops pass a called generator (`spawn(handler(conn))`) rather
 * than a fresh generator closure: it is several times cheaper.
 *
 * @example
 * ```ts
 * import { run, spawn } from "../mod.ts";
 * function* double(x: number) {
 *   return x * 2;
 * }
 * const v = await run(function* () {
 *   return yield* spawn(double(21));
 * });
 * console.assert(v === 42);
 * ```
 */
export function spawn<T>(body: TaskBody<T>): JoinHandle<T> {
  return ambientScheduler().spawn(toIterator(body));
}

// `await op` outside a task: run the operation as a task on the ambient runtime.
setPromiser(<T>(op: Operation<T>): Promise<T> => {
  try {
    return unwrapJoin(ambientScheduler().spawn(op[Symbol.iterator]()));
  } catch (e) {
    return Promise.reject(e);
  }
});
