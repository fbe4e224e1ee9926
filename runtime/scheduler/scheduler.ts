/**
 * One worker's scheduler: run queues, the poll loop, parking, and the
 * bridge to Deno's event loop.
 *
 * Queues, as Tokio's worker: a LIFO slot (a task woken by the task being
 * polled runs next, at most {@linkcode MAX_LIFO_POLLS} times in a row), a
 * local ring of 256, and the inject FIFO (overflow and remote wakes), checked
 * first every `globalQueueInterval` ticks. When the local ring runs dry, the
 * inject queue's front task runs and up to {@linkcode INJECT_BATCH} - 1 of
 * those behind it move to the ring, so a task they wake (a joiner) queues
 * behind them instead of running between each two. Every `eventInterval`
 * ticks, and whenever the queues run dry, the drivers are polled without
 * waiting (I/O completions, expired timers).
 *
 * Living with Deno: the loop runs synchronous batches; after about
 * {@linkcode BATCH_MS} of busy work it yields to Deno with a MessageChannel
 * hop so promises, `fetch` and Deno's timers progress. With nothing to run it
 * parks: in the reactor's nonblocking wait when I/O is in flight (a wake
 * interrupts it), else on a plain promise with a `setTimeout` for the next
 * timer. With no live task it stops and holds nothing that keeps the
 * process alive.
 *
 * Invariant: a task is polled only after a successful `toRunning`, and is
 * re-queued only by the party that won the Submit/OkNotified transition, so
 * no task is ever queued twice or polled concurrently.
 *
 * @module
 */

import { type Core, enter, tryCurrentCore } from "./context.ts";
import { resetBudget } from "./coop.ts";
import { JoinError } from "../errors.ts";
import { HeaderTable, SENTINEL_SLOT } from "../task/header_table.ts";
import { InjectQueue } from "./inject_queue.ts";
import type { IoDriver } from "../io/io_driver.ts";
import { ReactorDriver } from "../io/reactor_driver.ts";
import { LOCAL_QUEUE_CAPACITY, LocalQueue } from "./local_queue.ts";
import {
  CANCELLED_OUTCOME,
  FAILED,
  GENERATOR_BODY,
  JOIN_DETACHED,
  JOIN_NONE,
  OK,
  resumeGenerator,
  Task,
  type TaskOwner,
} from "../task/task.ts";
import {
  CANCELLED,
  INITIAL_STATE,
  LOCAL,
  toComplete,
  ToIdle,
  toIdle,
  toIdleFast,
  ToNotified,
  toNotifiedAndCancel,
  toNotifiedByRefLocal,
  ToRunning,
  toRunning,
  toRunningFast,
} from "../task/task_state.ts";
import { TimeDriver } from "../time/time_driver.ts";
import { rejectYielded } from "../task/misuse.ts";
import type { Clock } from "../time/clock.ts";
import type { Backend } from "../../ffi/layout.ts";
import { Instrument, type InstrumentOptions } from "../instrument/instrument.ts";

/**
 * Consecutive LIFO-slot polls before the slot's task goes to the queue.
 *
 * @example
 * ```ts
 * import { MAX_LIFO_POLLS } from "./scheduler.ts";
 * import assert from "node:assert/strict";
 *
 * // Two tasks waking each other run back to back at most this often, then the queue gets a turn.
 * assert.equal(MAX_LIFO_POLLS, 3);
 * ```
 */
export const MAX_LIFO_POLLS = 3;

/**
 * Tasks taken from the inject queue at once when the local ring is empty:
 * the one polled next and up to this many - 1 moved to the ring (Tokio's
 * multi-thread worker takes a batch of at most half its ring too). Half the
 * ring, so the ring never overflows back while they wait.
 *
 * @example
 * ```ts
 * import { INJECT_BATCH } from "./scheduler.ts";
 * import { LOCAL_QUEUE_CAPACITY } from "./local_queue.ts";
 * import assert from "node:assert/strict";
 * assert.equal(INJECT_BATCH, LOCAL_QUEUE_CAPACITY / 2);
 * ```
 */
export const INJECT_BATCH = LOCAL_QUEUE_CAPACITY >>> 1;
/**
 * Busy time after which the loop yields to Deno's event loop.
 *
 * @example
 * ```ts
 * import { BATCH_MS, MACROTASK_MS } from "./scheduler.ts";
 * import assert from "node:assert/strict";
 *
 * // Busy work hops to Deno every ~BATCH_MS; only every ~MACROTASK_MS is the hop a full turn.
 * assert.ok(BATCH_MS < MACROTASK_MS);
 * ```
 */
export const BATCH_MS = 4;
/**
 * Longest synchronous reactor wait before parking in a nonblocking one. A
 * park hands the wait to another thread and back (two thread wake-ups and a
 * Deno event-loop turn), so a server whose peers pause a little longer than
 * this (a loaded machine, a slow client) parks for nearly every batch: at 1
 * ms the echo and mini-redis servers spent 4–8% more CPU per round trip at
 * load ~8 than at 4 ms (bench/echo_ab.ts and bench/redis_ab.ts).
 *
 * @example
 * ```ts
 * import { BATCH_MS, SYNC_WAIT_MS } from "./scheduler.ts";
 * import assert from "node:assert/strict";
 *
 * // A synchronous reactor wait never outlasts a batch.
 * assert.ok(SYNC_WAIT_MS <= BATCH_MS);
 * ```
 */
export const SYNC_WAIT_MS = 4;
/**
 * Busy time after which the yield is a real event-loop turn, so Deno polls
 * its own I/O: a zero-timeout reactor park (~15 µs) when the reactor is
 * open, else the config's `turn` (a nonblocking native call, ~20 µs), else
 * a `setTimeout(0)` (~2 ms here, so taken less often).
 *
 * @example
 * ```ts
 * import { MACROTASK_MS, MACROTASK_TIMER_MS } from "./scheduler.ts";
 * import assert from "node:assert/strict";
 *
 * // With a cheap turn (open reactor, or `config.turn`) Deno gets one more often.
 * assert.ok(MACROTASK_MS < MACROTASK_TIMER_MS);
 * ```
 */
export const MACROTASK_MS = 10;
/**
 * The same, for a runtime whose only turn is a timer.
 *
 * @example
 * ```ts
 * import { MACROTASK_TIMER_MS } from "./scheduler.ts";
 * import assert from "node:assert/strict";
 *
 * // A setTimeout(0) turn costs ~2 ms, so it is taken at most every 50 ms of busy time.
 * assert.equal(MACROTASK_TIMER_MS, 50);
 * ```
 */
export const MACROTASK_TIMER_MS = 50;

/**
 * Settings of one scheduler (see RuntimeBuilder).
 *
 * @example
 * ```ts
 * import { Scheduler, type SchedulerConfig } from "./scheduler.ts";
 * import assert from "node:assert/strict";
 *
 * const config: SchedulerConfig = {
 *   globalQueueInterval: 31,
 *   eventInterval: 61,
 *   budget: 128,
 *   enableTime: true,
 *   enableIo: false,
 *   backend: "auto",
 * };
 * const s = new Scheduler(config);
 * assert.equal(s.liveTasks, 0);
 * await assert.rejects(s.openIo(), /I\/O is disabled/);
 * ```
 */
export interface SchedulerConfig {
  /** Ticks between checks of the inject queue first (Tokio: 31). */
  globalQueueInterval: number;
  /** Ticks between driver polls (Tokio: 61). */
  eventInterval: number;
  /** Leaf completions allowed per task poll (Tokio: 128). */
  budget: number;
  /** Whether timers may be used. */
  enableTime: boolean;
  /** Open the I/O driver on first use; null driver when false. */
  enableIo: boolean;
  /** Reactor backend for the I/O driver. */
  backend: Backend;
  /** Most file-pool threads of an epoll/kqueue reactor (undefined: the library's default). */
  fileWorkers?: number;
  /** A clock to use (tests), else a real one. */
  clock?: Clock;
  /**
   * Real time in ms for the loop's own accounting (batch length, time since
   * Deno last ran) — never paused; default `performance.now()`.
   */
  realClock?: (() => number) | null;
  /**
   * A cheap real event-loop turn (a call that completes from another thread,
   * e.g. a nonblocking FFI call): used instead of `setTimeout(0)` when no
   * reactor is open. A MessageChannel hop does not let Deno poll its I/O.
   */
  turn?: (() => Promise<unknown>) | null;
  /** Called with the error of a failed task nobody joined. */
  onUnhandledError?: (error: JoinError) => void;
  /** Instrument tasks (runtime/instrument/); null or absent: off, no cost. */
  instrument?: InstrumentOptions | null;
}

/**
 * Counters of one worker, as `rt.metrics()` reports them.
 *
 * @example
 * ```ts
 * import { Runtime, spawn, type WorkerMetrics, yieldNow } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const rt = new Runtime();
 * const main: WorkerMetrics = await rt.run(function* () {
 *   yield* spawn(function* () {
 *     yield* yieldNow();
 *   });
 *   return rt.metrics().perWorker[0]; // the main thread's scheduler
 * });
 * assert.ok(main.spawned >= 2); // run's main task and the one it spawned
 * assert.ok(main.polls >= 3);
 * ```
 */
export interface WorkerMetrics {
  /** Task polls (including cancellations). */
  polls: number;
  /** Of those, polls of the LIFO slot. */
  lifoPolls: number;
  /** Steal operations (multi-worker only). */
  steals: number;
  /** Tasks taken by steals. */
  stolenTasks: number;
  /** Times the worker parked. */
  parks: number;
  /** Times a parked worker was woken early by a wake. */
  unparks: number;
  /** Yields to Deno's event loop. */
  hops: number;
  /** Driver polls (event ticks and dry-queue checks). */
  driverPolls: number;
  /** Tasks waiting in the local ring. */
  localQueueDepth: number;
  /** Tasks waiting in the inject queue. */
  injectQueueDepth: number;
  /** Tasks spawned on this worker. */
  spawned: number;
  /** Tasks alive now. */
  activeTasks: number;
  /** Pending timers. */
  timers: number;
  /** Reactor operations in flight. */
  ioInFlight: number;
}

const WAIT_GOT_WORK = 0;
const WAIT_NOTHING = 1;
const WAIT_YIELD_FIRST = 2;

const IDLE = 0; // stopped: a spawn starts the loop in a microtask
const HOPPING = 1; // a hop message is posted
const RUNNING = 2; // inside a batch
const PARKED_IO = 3; // in the reactor's nonblocking wait
const PARKED_JS = 4; // waiting on a promise / setTimeout

/** #lastMacrotask after a park: Deno's loop had the thread until the next #drive. */
const SINCE_PARK = -1;

/**
 * A single worker's scheduler and its drivers.
 *
 * @example
 * ```ts ignore
 * // Not run: a Scheduler is made by a Runtime, which owns and drives it; the Runtime examples run one.
 * const s = new Scheduler(config);
 * const t = s.spawn(body());
 * ```
 */
export class Scheduler implements Core, TaskOwner {
  /** This worker's time driver. */
  readonly time: TimeDriver;
  /** This worker's I/O driver, once opened. */
  io: IoDriver | null = null;
  /** Task state words. */
  readonly headers: HeaderTable = new HeaderTable(1024);
  /** Live tasks by header slot (the owner list). */
  readonly tasks: (Task<unknown> | undefined)[] = [undefined];
  readonly config: SchedulerConfig;
  /** The task instrumentation, or null when off (one null check per poll, wake and spawn). */
  readonly instrument: Instrument | null;

  #lifo: Task<unknown> | null = null;
  #local = new LocalQueue<Task<unknown>>();
  #inject = new InjectQueue<Task<unknown>>();
  #polling: Task<unknown> | null = null;
  #state = IDLE;
  /** Real time for the loop's own accounting (config.realClock). */
  readonly #realNow: () => number;
  /** Ticks left until the next driver poll (eventInterval) and inject-first pop (globalQueueInterval). */
  #toEvent: number;
  #toGlobal: number;
  #channel: MessageChannel | null = null;
  #unparkFn: (() => void) | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #ioWakeSent = false;
  /** Real time Deno's loop last had a turn; SINCE_PARK: parked since (read at the next #drive). */
  #lastMacrotask = SINCE_PARK;
  #unobserved = new Set<Task<unknown>>();
  #idleWaiters: (() => void)[] = [];
  #closed = false;
  #ioOpening: Promise<IoDriver> | null = null;

  readonly #m: WorkerMetrics = {
    polls: 0,
    lifoPolls: 0,
    steals: 0,
    stolenTasks: 0,
    parks: 0,
    unparks: 0,
    hops: 0,
    driverPolls: 0,
    localQueueDepth: 0,
    injectQueueDepth: 0,
    spawned: 0,
    activeTasks: 0,
    timers: 0,
    ioInFlight: 0,
  };

  /** Make a scheduler with `config`. */
  constructor(config: SchedulerConfig) {
    this.config = config;
    this.time = new TimeDriver(config.clock);
    this.#realNow = config.realClock ?? (() => performance.now());
    this.#toEvent = config.eventInterval;
    this.#toGlobal = config.globalQueueInterval;
    this.instrument = config.instrument != null
      ? new Instrument(this.tasks, this.#realNow, config.instrument)
      : null;
  }

  /** The I/O driver, opening it on first use. */
  openIo(): Promise<IoDriver> {
    if (this.io !== null) return Promise.resolve(this.io);
    if (!this.config.enableIo) {
      return Promise.reject(new Error("I/O is disabled on this runtime (enableIo(false))"));
    }
    if (this.#ioOpening === null) {
      this.#ioOpening = ReactorDriver.open(this.config.backend, this.config.fileWorkers).then(
        (io) => {
          if (this.#closed) {
            io.close();
            throw new Error("the runtime shut down");
          }
          this.io = io;
          return io;
        },
      );
      this.#ioOpening.catch(() => {
        this.#ioOpening = null;
      });
    }
    return this.#ioOpening;
  }

  /** Live tasks. */
  get liveTasks(): number {
    return this.headers.live;
  }

  /** Whether the scheduler was shut down. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Create a task for `iter` and queue it.
   *
   * @param iter the task's body.
   * @param name its name for the instrumentation, or null.
   * @param key what the user passed (the instrumentation's spawn-site cache key; `iter` if absent).
   * @returns the task (its own JoinHandle).
   */
  spawn<T>(
    iter: Iterator<unknown, T, unknown>,
    name: string | null = null,
    key: unknown = iter,
  ): Task<T> {
    if (this.#closed) throw new Error("spawn on a runtime that was shut down");
    const slot = this.headers.alloc(INITIAL_STATE);
    const task = new Task<T>(this, iter, slot);
    this.tasks[slot] = task as Task<unknown>;
    this.#m.spawned++;
    if (this.instrument !== null) this.instrument.spawned(task as Task<unknown>, name, key);
    this.#enqueue(task as Task<unknown>);
    return task;
  }

  /** Wake `task` (its waker calls this). */
  wake(task: Task<unknown>): void {
    if (toNotifiedByRefLocal(this.headers.words, task.slot) === ToNotified.Submit) {
      // Queue first, then tell the instrumentation: the optimizing compiler
      // inlines calls in order within a budget, and the queueing is the
      // part every runtime runs.
      this.#enqueue(task);
      if (this.instrument !== null) this.instrument.woken(task);
    }
  }

  /** Abort `task`. */
  abort(task: Task<unknown>): void {
    if (toNotifiedAndCancel(this.headers.words, task.slot, LOCAL) === ToNotified.Submit) {
      if (this.instrument !== null) this.instrument.aborted(task);
      this.#enqueue(task);
    }
  }

  #enqueue(task: Task<unknown>): void {
    const polling = this.#polling;
    if (polling !== null && polling !== task) {
      // Woken or spawned by the task being polled: it runs next (LIFO slot).
      const prev = this.#lifo;
      this.#lifo = task;
      if (prev !== null) this.#local.push(prev, this.#inject);
      return;
    }
    this.#local.push(task, this.#inject);
    // Inside a batch or with a hop posted the loop runs anyway. (Tested here,
    // not in #kick: the rare call stays out of line where wakes and spawns
    // are inlined, and leaves the optimizing compiler's budget to the rest.)
    const state = this.#state;
    if (state !== RUNNING && state !== HOPPING) this.#kick();
  }

  /** Make sure the loop will run: post a hop when idle, interrupt a park. */
  #kick(): void {
    switch (this.#state) {
      case IDLE:
        // Stopped (no live task): Deno's loop had the thread since, so start
        // in a microtask, not a MessageChannel hop (a macrotask, ~50 µs here).
        this.#state = HOPPING;
        queueMicrotask(this.#start);
        break;
      case PARKED_IO:
        if (!this.#ioWakeSent) {
          this.#ioWakeSent = true;
          this.#m.unparks++;
          this.io!.wake();
        }
        break;
      case PARKED_JS: {
        const f = this.#unparkFn;
        if (f !== null) {
          this.#unparkFn = null;
          this.#m.unparks++;
          if (this.#timer !== undefined) {
            clearTimeout(this.#timer);
            this.#timer = undefined;
          }
          f();
        }
        break;
      }
    }
  }

  /** #drive as a callback (a stopped runtime starts in a microtask). */
  readonly #start = (): void => this.#drive();

  #hop(): void {
    this.#state = HOPPING;
    if (this.#channel === null) {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => this.#drive();
      this.#channel = ch;
    }
    this.#m.hops++;
    this.#channel.port2.postMessage(null);
  }

  #closeChannel(): void {
    const ch = this.#channel;
    if (ch !== null) {
      // Detach first: closing a port may deliver a pending message synchronously.
      this.#channel = null;
      ch.port1.onmessage = null;
      ch.port1.close();
      ch.port2.close();
    }
  }

  /** Run batches until the queues are empty, then park or stop. */
  #drive(): void {
    // A stale hop message while running or parked: the park's own return drives the loop.
    if (this.#state === RUNNING || this.#state === PARKED_IO || this.#state === PARKED_JS) return;
    // Called from a nested context (a runtime driven inside another's task)?
    const outer = tryCurrentCore();
    if (outer !== null) {
      queueMicrotask(() => this.#drive());
      return;
    }
    this.#state = RUNNING;
    const entered = this.#realNow();
    // Parked until now: Deno's loop had the thread, so count busy time from here.
    if (this.#lastMacrotask === SINCE_PARK) this.#lastMacrotask = entered;
    let start = entered;
    for (;;) {
      if (this.instrument !== null) this.instrument.resume(start);
      const stopped = this.#runBatch(start);
      if (this.instrument !== null) this.instrument.breakChain();
      enter(null, null);
      resetBudget(Infinity);
      if (stopped) break;
      // Dry. With I/O in flight, first wait briefly in a synchronous reactor
      // call: completions usually arrive within microseconds on a busy
      // server, and a synchronous wait costs one syscall where a parked
      // (nonblocking) wait costs a thread hand-off each way. Bounded by
      // SYNC_WAIT_MS, by the next timer, and by BATCH_MS since Deno last ran.
      const w = this.#syncWait(entered);
      if (w === WAIT_NOTHING) {
        this.#lastMacrotask = SINCE_PARK; // read at the next #drive, not now: one clock read less
        this.#parkOrStop();
        return;
      }
      if (w === WAIT_YIELD_FIRST) break;
      start = this.#realNow();
      if (start - entered > BATCH_MS) break;
    }
    {
      const now = this.#realNow();
      const io = this.io;
      const withIo = io !== null && io.inFlight > 0;
      const turn = this.config.turn;
      const every = withIo || turn ? MACROTASK_MS : MACROTASK_TIMER_MS;
      if (now - this.#lastMacrotask > every) {
        // Deno polls its own I/O (fetch, sockets) only between macrotasks:
        // a MessageChannel hop is not enough, so every MACROTASK_MS of busy
        // time take one real timer turn.
        this.#lastMacrotask = now;
        this.#m.hops++;
        if (withIo) {
          // A zero-timeout nonblocking reactor wait is such a turn too, and
          // costs ~15 µs where a setTimeout(0) costs ~1–2 ms here.
          this.#parkIo(io!, 0);
          return;
        }
        this.#state = HOPPING;
        if (turn) {
          turn().then(() => this.#drive(), () => this.#drive());
        } else setTimeout(() => this.#drive(), 0);
        return;
      }
      this.#hop();
    }
  }

  /**
   * One short synchronous reactor wait. WAIT_GOT_WORK: completions (or a due
   * timer) arrived; WAIT_NOTHING: nothing came, park; WAIT_YIELD_FIRST: Deno
   * has not run for BATCH_MS, hop to it first and wait after.
   */
  #syncWait(entered: number): number {
    const io = this.io;
    if (io === null || io.inFlight === 0 || this.time.clock.isPaused) return WAIT_NOTHING;
    let t = SYNC_WAIT_MS;
    if (this.time.size > 0) {
      const next = this.time.nextTimeout();
      if (next === 0) return WAIT_GOT_WORK;
      if (next < t) t = next;
    }
    if (this.#realNow() - entered > BATCH_MS) return WAIT_YIELD_FIRST;
    this.#m.driverPolls++;
    return io.pollFor(t) > 0 ? WAIT_GOT_WORK : WAIT_NOTHING;
  }

  /** Returns true when it stopped for a hop (work remains), false when dry. */
  #runBatch(start: number): boolean {
    for (;;) {
      // Count-downs rather than `tick % interval` (an integer division per
      // task costs more than the rest of this loop's bookkeeping).
      if (--this.#toEvent === 0) {
        this.#toEvent = this.config.eventInterval;
        this.#pollDrivers();
        const now = this.#realNow();
        if (this.instrument !== null) this.instrument.resume(now);
        if (now - start > BATCH_MS) return true;
      }
      let task: Task<unknown> | undefined;
      if (--this.#toGlobal === 0) {
        this.#toGlobal = this.config.globalQueueInterval;
        task = this.#inject.pop() ?? this.#local.pop();
      } else task = this.#local.pop() ?? this.#fromInject();
      if (task === undefined) {
        this.#pollDrivers();
        task = this.#local.pop() ?? this.#fromInject();
        if (task === undefined) return false;
        if (this.instrument !== null) this.instrument.resumeNow();
      }
      this.#runTask(task);
      // Drain the LIFO slot: at most MAX_LIFO_POLLS in a row.
      let lifoRuns = 0;
      while (this.#lifo !== null) {
        const next = this.#lifo;
        this.#lifo = null;
        if (lifoRuns++ === MAX_LIFO_POLLS) {
          this.#local.push(next, this.#inject);
          break;
        }
        this.#m.lifoPolls++;
        this.#runTask(next);
      }
    }
  }

  /**
   * The local ring is empty: the inject queue's front task (undefined if
   * none), with up to INJECT_BATCH - 1 of the tasks behind it moved, in
   * order, to the ring.
   */
  #fromInject(): Task<unknown> | undefined {
    const inject = this.#inject;
    const task = inject.pop();
    if (task === undefined) return undefined;
    const n = Math.min(inject.length, INJECT_BATCH - 1);
    for (let i = 0; i < n; i++) this.#local.push(inject.pop()!, inject);
    return task;
  }

  #pollDrivers(): void {
    this.#m.driverPolls++;
    const withIo = this.io !== null && this.io.inFlight > 0;
    if (!withIo && this.time.size === 0) return;
    // End the instrument's window; the drivers' wakes get the reading taken after them.
    if (this.instrument !== null) this.instrument.driversBegin();
    if (withIo) this.io!.pollNow();
    if (this.time.size > 0) this.time.process();
  }

  #runTask(task: Task<unknown>): void {
    const slot = task.slot;
    if (slot === SENTINEL_SLOT) return; // completed while queued (cancel path)
    const words = this.headers.words;
    if (!toRunningFast(words, slot)) {
      const r = toRunning(words, slot, LOCAL);
      if (r === ToRunning.Failed || r === ToRunning.Dealloc) return; // a stale entry
      if (r === ToRunning.Cancelled) {
        this.#cancelTask(task);
        return;
      }
    }
    this.#beginPoll(task);
    let res: IteratorResult<unknown, unknown>;
    try {
      const body = task.body as Iterator<unknown, unknown, unknown>;
      res = (task.bits & GENERATOR_BODY) !== 0 ? resumeGenerator.call(body) : body.next();
      // `yield x` instead of `yield* x`: throw the fix into the task.
      if (res.value !== undefined && res.done !== true) res = rejectYielded(body, res.value);
    } catch (e) {
      this.#leave();
      this.#finish(task, task.cancelling ? CANCELLED_OUTCOME : FAILED, e);
      return;
    }
    this.#leave();
    if (res.done === true) {
      if (task.cancelling) this.#finish(task, CANCELLED_OUTCOME, undefined);
      else this.#finish(task, OK, res.value);
      return;
    }
    // `headers.words` is read again: tasks spawned during the poll may have
    // grown the table (a new, larger Int32Array).
    const wordsNow = this.headers.words;
    if (toIdleFast(wordsNow, slot)) {
      // Woken during its own poll (yieldNow, budget): the running reference
      // moves to the new queue entry; back of the queue.
      this.#local.push(task, this.#inject);
      if (this.instrument !== null) this.instrument.pollEndSelf(task);
      return;
    }
    if (this.instrument !== null) this.instrument.pollEnd(task);
    // Not notified, or cancelled meanwhile (toIdle cannot say OkNotified here).
    if (toIdle(wordsNow, slot, LOCAL) === ToIdle.Cancelled) this.#cancelTask(task);
  }

  /** Start a poll of `task`: count it, make it the polling task, set its context and budget. */
  #beginPoll(task: Task<unknown>): void {
    this.#m.polls++;
    this.#polling = task;
    enter(task, this);
    resetBudget(this.config.budget);
  }

  /**
   * End a poll. The ambient context (task, core, budget) stays set until
   * the batch ends (#runBatch clears it): the next poll overwrites it, and
   * only the LIFO decision in #enqueue must see "not polling" at once.
   */
  #leave(): void {
    this.#polling = null;
  }

  /** Cancel a task that this worker owns (RUNNING is set): `return()` its body. */
  #cancelTask(task: Task<unknown>): void {
    this.#beginPoll(task);
    let res: IteratorResult<unknown, unknown>;
    try {
      const body = task.body as Iterator<unknown, unknown, unknown>;
      res = body.return!(undefined);
      if (res.value !== undefined && res.done !== true) res = rejectYielded(body, res.value);
    } catch (e) {
      this.#leave();
      this.#finish(task, FAILED, e);
      return;
    }
    this.#leave();
    if (res.done === true) {
      this.#finish(task, CANCELLED_OUTCOME, undefined);
      return;
    }
    // Its finally block suspended (async cleanup): let it run to the end as a
    // cancelled task. A second abort forces it out of the finally block.
    if (this.instrument !== null) this.instrument.pollEnd(task);
    task.cancelling = true;
    LOCAL.and(this.headers.words, task.slot, ~CANCELLED);
    if (toIdle(this.headers.words, task.slot, LOCAL) === ToIdle.OkNotified) {
      this.#local.push(task, this.#inject);
    }
  }

  #finish(task: Task<unknown>, outcome: number, result: unknown): void {
    if (this.instrument !== null) {
      this.instrument.finished(task, outcome === CANCELLED_OUTCOME, outcome === FAILED);
    }
    task.complete(outcome, result);
    const slot = task.slot;
    toComplete(this.headers.words, slot, LOCAL);
    this.tasks[slot] = undefined;
    this.headers.free(slot);
    task.slot = SENTINEL_SLOT;
    const w = task.joinWakers;
    task.joinWakers = null;
    if (outcome === FAILED) {
      const join = task.joinState;
      if (join === JOIN_DETACHED) this.reportUnobserved(task);
      else if (join === JOIN_NONE && w === null) this.#unobserved.add(task);
    }
    if (w !== null) {
      if (Array.isArray(w)) { for (const x of w) x.wake(); }
      else w.wake();
    }
    if (this.headers.live === 0 && this.#idleWaiters.length > 0) {
      const ws = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const f of ws) queueMicrotask(f);
    }
  }

  /** A failed task's error was seen by a joiner. */
  observed(task: Task<unknown>): void {
    this.#unobserved.delete(task);
  }

  /** Report a failure nobody will see otherwise. */
  reportUnobserved(task: Task<unknown>): void {
    this.#unobserved.delete(task);
    this.instrument?.lostError(task);
    const err = new JoinError(task.id, task.result, false);
    if (this.config.onUnhandledError) this.config.onUnhandledError(err);
    else console.error(`dokio: unhandled failure in task ${task.id}:`, task.result);
  }

  /** Report every failure that was never joined (at shutdown). */
  reportAllUnobserved(): void {
    for (const t of [...this.#unobserved]) this.reportUnobserved(t);
  }

  #parkOrStop(): void {
    if (this.headers.live === 0) this.reportAllUnobserved();
    if (this.headers.live === 0 && this.time.size === 0) {
      this.#state = IDLE;
      this.#closeChannel();
      return;
    }
    let timeout = this.time.size > 0 ? this.time.nextTimeout() : -1;
    if (timeout >= 0 && this.time.clock.isPaused) {
      // A paused clock jumps to the next timer when there is nothing else to do.
      if (this.time.autoAdvance()) timeout = 0;
    }
    if (timeout === 0) {
      this.#hop();
      return;
    }
    this.#m.parks++;
    const io = this.io;
    if (io !== null && io.inFlight > 0) {
      this.#parkIo(io, timeout);
      return;
    }
    this.#state = PARKED_JS;
    this.#closeChannel();
    new Promise<void>((resolve) => {
      this.#unparkFn = resolve;
      if (timeout > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#unparkFn = null;
          resolve();
        }, timeout);
      }
    }).then(() => {
      this.#state = IDLE;
      this.#drive();
    });
  }

  /** Wait in the reactor's nonblocking call; a wake interrupts it. */
  #parkIo(io: IoDriver, timeoutMs: number): void {
    this.#state = PARKED_IO;
    this.#ioWakeSent = false;
    io.park(timeoutMs).then(() => this.#afterIoPark(), (e) => this.#fatal(e));
  }

  #afterIoPark(): void {
    // Dispatch while marked RUNNING, so the wakes it makes only queue tasks
    // (no stale hop is posted), then run the loop.
    this.#state = RUNNING;
    this.io?.dispatch();
    this.#state = IDLE;
    this.#drive();
  }

  #fatal(e: unknown): void {
    this.#state = IDLE;
    console.error("dokio: the I/O driver failed:", e);
    this.#drive();
  }

  /** Resolve when no task is alive. */
  whenIdle(): Promise<void> {
    if (this.headers.live === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /**
   * Ask every live task to cancel. Each is marked CANCELLED and queued (if
   * idle); the loop then cancels it. Nothing runs re-entrantly here, so this
   * is safe from inside a task poll.
   */
  abortAll(): void {
    // Stop once every live task was seen: after a burst the owner list is
    // long and mostly empty.
    const tasks = this.tasks;
    let left = this.headers.live;
    for (let i = 1; left > 0 && i < tasks.length; i++) {
      const t = tasks[i];
      if (t === undefined || t.slot === SENTINEL_SLOT) continue;
      left--;
      this.abort(t);
    }
    if (this.#polling === null) this.#kick();
  }

  /** Stop: tasks are expected to be finished; release drivers. */
  async close(): Promise<void> {
    this.#closed = true;
    this.reportAllUnobserved();
    this.instrument?.close();
    this.#closeChannel();
    if (this.#unparkFn !== null) {
      clearTimeout(this.#timer);
      const f = this.#unparkFn;
      this.#unparkFn = null;
      f();
    }
    if (this.#ioOpening !== null) {
      try {
        await this.#ioOpening;
      } catch { /* it failed; nothing to close */ }
    }
    const io = this.io;
    this.io = null;
    if (io !== null) {
      if (this.#state === PARKED_IO) io.wake();
      await io.close();
    }
  }

  /** A snapshot of this worker's counters. */
  metrics(): WorkerMetrics {
    const m = { ...this.#m };
    m.localQueueDepth = this.#local.length + (this.#lifo !== null ? 1 : 0);
    m.injectQueueDepth = this.#inject.length;
    m.activeTasks = this.headers.live;
    m.timers = this.time.size;
    m.ioInFlight = this.io?.inFlight ?? 0;
    return m;
  }
}
