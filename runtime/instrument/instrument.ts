/**
 * Task instrumentation of one scheduler: per-task counts and times, the
 * worker's poll-time and scheduled-time histograms, and the warnings
 * (lost wake, long poll, self-wake loop, lost error). The scheduler holds a
 * nullable `Instrument`; off (null) it costs one well-predicted null check
 * per poll, wake and spawn and nothing else.
 *
 * Storage: one row per task in two typed arrays (times in a Float64Array,
 * counts and flags in a Uint32Array), indexed by the task's header slot,
 * so an instrumented spawn allocates nothing and touches two cache lines;
 * the name and spawn site are one descriptor id (site.ts interns them). A
 * task's own poll-time histogram is a row it takes from a pooled table at
 * its second poll and gives back when it ends (its one first sample is its
 * busy time). Finished tasks are copied into a small ring, kept for the
 * console for {@linkcode KEEP_FINISHED_MS}.
 *
 * Time, and why it is sampled: a clock read (`performance.now()`) costs
 * about 100 ns here, more than a whole `yieldNow` round. So the clock is
 * read once per *window* of polls, not twice per poll: a window opens at a
 * poll start (reusing the last reading when the previous window ended just
 * before, in the same batch) and closes after `stride` polls, or when the
 * batch ends or the drivers do work. The window's time is split evenly among its polls,
 * which enter it as they end.
 * `stride` is 1 (every poll timed exactly) until polls are seen to be
 * fast: it doubles after each window whose polls averaged under
 * {@linkcode FAST_POLL_NS}, up to {@linkcode MAX_STRIDE}, and falls back to
 * 1 after a slower one. Busy time per task is exact at stride 1 and split
 * evenly among at most MAX_STRIDE fast polls otherwise; a long poll that
 * happens in a window of several polls cannot be told from its neighbours,
 * so it is counted on the worker (`unattributedLongPolls`), the stride drops
 * to 1 and the next one is attributed. A wake (or spawn) made inside a poll
 * does not read the clock: the task is stamped when that window closes. One
 * made outside any poll (I/O completions, timers, another thread, Deno's
 * callbacks) reads it at once, so a long wait after it is seen.
 *
 * Warnings (each kind at most once per task, and at most
 * {@linkcode WARNINGS_PER_SECOND} of a kind per second — all are counted;
 * the list keeps the newest {@linkcode MAX_WARNINGS}):
 * - `long-poll`: one poll took more than `longPollMs` (default
 *   {@linkcode LONG_POLL_MS}): it held the thread.
 * - `lost-wake`: woken but not polled for more than `lostWakeMs` (default
 *   {@linkcode LOST_WAKE_MS}), seen at its late poll or at a snapshot (a
 *   new task's wait for its first poll is scheduled time, not a lost wake).
 * - `self-wake-loop`: `selfWakeLoop` (default {@linkcode SELF_WAKE_LOOP})
 *   polls in a row ended with the task having woken itself.
 * - `lost-error`: the task failed and the runtime reported the error as
 *   unhandled — its handle was detached, or the runtime went idle or shut
 *   down with nobody having joined it. JS gives no sound "handle dropped"
 *   event (a finalizer runs at an unknown GC, and a failed task is kept for
 *   a later joiner), so these are the points where the runtime itself knows
 *   nobody will see the error.
 *
 * @module
 */

import type { Task } from "../task/task.ts";
import { SENTINEL_SLOT } from "../task/header_table.ts";
import {
  bucketOf,
  BUCKETS,
  FIRST_BOUND_NS,
  FIRST_LOG2,
  HistogramBuilder,
  LAST_BOUND_NS,
  singleSample,
  toHistogram,
} from "./histogram.ts";
import type { TaskSnapshot, TaskStateName, TaskWarning, WarningKind } from "./snapshot.ts";
import { takeSuspended, watchSuspends } from "../operation.ts";
import { descriptor, descriptorName, descriptorSite, NO_DESCRIPTOR } from "./site.ts";

/** Default long-poll threshold, ms. */
export const LONG_POLL_MS = 10;
/** Default lost-wake threshold, ms. */
export const LOST_WAKE_MS = 1000;
/** Default self-wake loop length, polls in a row. */
export const SELF_WAKE_LOOP = 1000;
/** How long finished tasks stay in the snapshots, ms. */
export const KEEP_FINISHED_MS = 5000;
/** Most polls timed by one clock reading. */
export const MAX_STRIDE = 64;
/** Polls faster than this on average may share a clock reading, ns. */
export const FAST_POLL_NS = 2000;
/** Warnings kept. */
export const MAX_WARNINGS = 256;
/** Warnings of one kind kept per second at most (the rest are only counted). */
export const WARNINGS_PER_SECOND = 20;
/** Finished tasks kept for the console. */
const MAX_FINISHED = 256;
/** Distinct task names with series of their own; more share the name `(other)`. */
export const MAX_NAMES = 64;
const INITIAL_CAPACITY = 1024;

/**
 * Settings of the instrumentation (`new Runtime({ instrument: { … } })`).
 *
 * @example
 * ```ts
 * import type { InstrumentOptions } from "./instrument.ts";
 * const strict: InstrumentOptions = { longPollMs: 5, lostWakeMs: 200, selfWakeLoop: 100 };
 * ```
 */
export interface InstrumentOptions {
  /** A poll longer than this (ms) raises `long-poll` (default 10). */
  longPollMs?: number;
  /** Woken and not polled for longer than this (ms) raises `lost-wake` (default 1000). */
  lostWakeMs?: number;
  /** This many self-woken polls in a row raise `self-wake-loop` (default 1000). */
  selfWakeLoop?: number;
}

const S_IDLE = 0;
const S_SCHEDULED = 1;
const S_RUNNING = 2;
const S_DONE = 3;
const S_CANCELLED = 4;
const STATE_NAMES: readonly TaskStateName[] = ["idle", "scheduled", "running", "done", "cancelled"];

// The Float64 row of a task: times in ns since the instrument started.
const F_BUSY = 0;
const F_SCHED = 1;
const F_IDLE = 2;
const F_SPAWNED = 3;
const F_LAST_END = 4;
const F_READY = 5;
const F_MAX = 6;
/** Row length (one spare entry: a power of two indexes with a shift). */
const F_ROW = 8;
// The Uint32 row of a task.
const U_POLLS = 0;
/** Wakes by others (self-wakes are U_SELF_WAKES; the snapshot adds them). */
const U_WAKES = 1;
const U_SELF_WAKES = 2;
const U_STATE = 3;
const U_WARNED = 4;
/** U_SELF_WAKES at its last poll that did not wake itself (the self-wake run starts there). */
const U_SELF_BASE = 5;
const U_DESC = 6;
/**
 * Its poll-time histogram: 0 before its first poll; 1…H_ROW after one poll,
 * its bucket plus one (its one sample is its busy time); from HIST_ROW on,
 * HIST_ROW plus its row in the histogram pool (taken at its second poll).
 */
const U_HIST = 7;
const U_ROW = 8;
/** Entries of one histogram row (the buckets and the overflow bucket). */
const H_ROW = BUCKETS + 1;
/** U_HIST values from here on name a pool row. */
const HIST_ROW = H_ROW + 1;
const INITIAL_HISTS = 64;

/** A time waiting for the next clock reading. */
const UNSTAMPED = -1;
/** Not known (polled before its wake was stamped, or already used): no wait counted. */
const UNKNOWN = -2;

const W_LONG = 1;
const W_LOST_WAKE = 2;
const W_SELF = 4;

/** Totals of the tasks of one name (finished ones folded in). */
export interface NameTotals {
  /** Tasks spawned under the name. */
  spawned: number;
  /** Of those, finished. */
  finished: number;
  /** Polls. */
  polls: number;
  /** Busy time, ns. */
  busyNs: number;
  /** Scheduled time, ns. */
  scheduledNs: number;
}

function newTotals(): NameTotals {
  return { spawned: 0, finished: 0, polls: 0, busyNs: 0, scheduledNs: 0 };
}

/** A finished task's row, copied out (made into a snapshot only when one is taken). */
class Finished {
  id = 0;
  desc = NO_DESCRIPTOR;
  cancelled = false;
  polls = 0;
  busy = 0;
  sched = 0;
  idle = 0;
  wakes = 0;
  selfWakes = 0;
  spawnedAt = 0;
  lastEnd = 0;
  max = 0;
  /** Its histogram as U_HIST says (HIST_ROW: in `hist`). */
  hv = 0;
  readonly hist: Float64Array = new Float64Array(H_ROW);
  ready = UNKNOWN;
  atNs = 0;
  totals: NameTotals = newTotals();
}

/**
 * The instrumentation of one scheduler (worker 0: the main thread).
 *
 * @example
 * ```ts
 * import { Runtime, sleep, spawn } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using rt = new Runtime({ instrument: true });
 * await rt.run(function* () {
 *   yield* spawn(function* () {
 *     yield* sleep(1);
 *   }, { name: "napper" });
 * });
 * const t = rt.consoleSnapshot().tasks.find((t) => t.name === "napper");
 * assert.equal(t?.polls, 2);
 * ```
 */
export class Instrument {
  /** Thresholds in ns. */
  readonly longPollNs: number;
  readonly lostWakeNs: number;
  readonly selfWakeLoop: number;
  /** The worker's poll durations. */
  readonly pollTimes: HistogramBuilder = new HistogramBuilder();
  /** The worker's woken → polled delays. */
  readonly scheduledTimes: HistogramBuilder = new HistogramBuilder();
  /** Totals since start. */
  totalPolls = 0;
  totalSelfWakes = 0;
  /** Wakes by others (a self-wake is counted in totalSelfWakes only). */
  #otherWakes = 0;
  totalBusyNs = 0;
  /** Wakes, self-wakes included. */
  get totalWakes(): number {
    return this.#otherWakes + this.totalSelfWakes;
  }
  /** Long polls hidden in a window of several polls (see the module doc). */
  unattributedLongPolls = 0;
  /** Warnings raised, by kind. */
  readonly warningCounts: Record<WarningKind, number> = {
    "lost-wake": 0,
    "long-poll": 0,
    "self-wake-loop": 0,
    "lost-error": 0,
  };

  readonly #clock: () => number;
  readonly #originMs: number;
  readonly #tasks: (Task<unknown> | undefined)[];
  readonly #stopWatch: () => void;

  #cap = 0;
  #f = new Float64Array(0);
  #u = new Uint32Array(0);
  /** What each idle task suspended on (a leaf), by slot; set at poll ends only (dense). */
  #leaves: unknown[] = [];
  /**
   * The pool of per-task poll-time histograms: rows of H_ROW counts; a task
   * takes one at its second poll (U_HIST) and gives it back when it ends.
   */
  #h = new Float64Array(INITIAL_HISTS * H_ROW);
  /** Free rows of #h (a stack), and how many rows exist. */
  #hFree = new Int32Array(INITIAL_HISTS);
  #hFreeLen = 0;
  #hRows = 0;

  /** Slots woken or spawned since the last clock reading. */
  #unstamped = new Int32Array(INITIAL_CAPACITY);
  #unstampedLen = 0;
  readonly #win = new Int32Array(MAX_STRIDE);
  readonly #winSelf = new Uint8Array(MAX_STRIDE);
  readonly #winFin: (Finished | null)[] = new Array(MAX_STRIDE).fill(null);
  /** Entries of the open window whose task finished (#winFin set). */
  #finsInWindow = 0;
  #winLen = 0;
  #winStart = 0;
  #stride = 1;
  #chain = false;
  #last = 0;

  /** Ring of the last MAX_FINISHED finished tasks; #finishedNext is the next to overwrite. */
  readonly #finished: Finished[] = Array.from({ length: MAX_FINISHED }, () => new Finished());
  #finishedNext = 0;
  #finishedCount = 0;
  #warnings: TaskWarning[] = [];
  /** Start of the current second of warnings, and how many of each kind were kept in it. */
  #warnSecond = 0;
  #warnsThisSecond: Record<WarningKind, number> = {
    "lost-wake": 0,
    "long-poll": 0,
    "self-wake-loop": 0,
    "lost-error": 0,
  };
  /** Totals by name, and by descriptor id (a cache of the same objects). */
  #byName = new Map<string, NameTotals>();
  #byDesc: (NameTotals | undefined)[] = [];
  #failedDescs = new Map<number, number>();

  /**
   * Instrument the scheduler whose owner list is `tasks`.
   *
   * @param tasks the scheduler's live tasks by slot.
   * @param clock real time in ms (the scheduler's realClock).
   * @param options thresholds.
   */
  constructor(
    tasks: (Task<unknown> | undefined)[],
    clock: () => number,
    options?: InstrumentOptions,
  ) {
    this.#tasks = tasks;
    this.#clock = clock;
    this.#originMs = clock();
    this.longPollNs = positive("longPollMs", options?.longPollMs, LONG_POLL_MS) * 1e6;
    this.lostWakeNs = positive("lostWakeMs", options?.lostWakeMs, LOST_WAKE_MS) * 1e6;
    this.selfWakeLoop = positive("selfWakeLoop", options?.selfWakeLoop, SELF_WAKE_LOOP);
    this.#stopWatch = watchSuspends();
    this.#grow(INITIAL_CAPACITY);
  }

  /** Ns since this instrument started, now (reads the clock). */
  nowNs(): number {
    return (this.#clock() - this.#originMs) * 1e6;
  }

  /** Stop listening for suspends (the runtime shut down). */
  close(): void {
    this.#stopWatch();
  }

  #grow(min: number): void {
    let cap = this.#cap === 0 ? INITIAL_CAPACITY : this.#cap * 2;
    while (cap < min) cap *= 2;
    const f = new Float64Array(cap * F_ROW);
    f.set(this.#f);
    this.#f = f;
    const u = new Uint32Array(cap * U_ROW);
    u.set(this.#u);
    this.#u = u;
    const leaves = this.#leaves;
    for (let i = this.#cap; i < cap; i++) leaves.push(null);
    this.#cap = cap;
  }

  /** A free row of the histogram pool, zeroed; returns its offset in #h. */
  #takeHistRow(): number {
    let row: number;
    if (this.#hFreeLen > 0) row = this.#hFree[--this.#hFreeLen];
    else {
      row = this.#hRows++;
      if (this.#hRows * H_ROW > this.#h.length) {
        const h = new Float64Array(this.#h.length * 2);
        h.set(this.#h);
        this.#h = h;
        const free = new Int32Array(this.#hFree.length * 2);
        free.set(this.#hFree);
        this.#hFree = free;
      }
    }
    const at = row * H_ROW;
    this.#h.fill(0, at, at + H_ROW);
    return at;
  }

  /** Count a poll in bucket `b` for the task whose U row is at `q`, holding no pool row yet (`hv`). */
  #histAdd(q: number, hv: number, b: number): void {
    if (hv === 0) {
      this.#u[q + U_HIST] = b + 1;
      return;
    }
    const at = this.#takeHistRow();
    this.#h[at + hv - 1] = 1;
    this.#h[at + b]++;
    this.#u[q + U_HIST] = at / H_ROW + HIST_ROW;
  }

  /** A clock reading, ns since start. */
  #read(): number {
    const t = (this.#clock() - this.#originMs) * 1e6;
    this.#last = t;
    return t;
  }

  #pushUnstamped(s: number): void {
    if (this.#unstampedLen === this.#unstamped.length) {
      const b = new Int32Array(this.#unstamped.length * 2);
      b.set(this.#unstamped);
      this.#unstamped = b;
    }
    this.#unstamped[this.#unstampedLen++] = s;
  }

  /** Give every task woken or spawned since the last reading the time `t`. */
  #stamp(t: number): void {
    const n = this.#unstampedLen;
    if (n === 0) return;
    const u = this.#unstamped;
    const f = this.#f;
    const polls = this.#u;
    for (let i = 0; i < n; i++) {
      const s = u[i];
      const r = s * F_ROW;
      if (f[r + F_SPAWNED] === UNSTAMPED) {
        f[r + F_SPAWNED] = t;
        f[r + F_LAST_END] = t;
      }
      if (f[r + F_READY] === UNSTAMPED) {
        if (polls[s * U_ROW + U_POLLS] > 0) {
          const idle = t - f[r + F_LAST_END];
          if (idle > 0) f[r + F_IDLE] += idle;
        }
        f[r + F_READY] = t;
      }
    }
    this.#unstampedLen = 0;
  }

  /** A task was spawned (its slot is fresh). */
  spawned(task: Task<unknown>): void {
    const s = task.slot;
    if (s >= this.#cap) this.#grow(s + 1);
    const f = this.#f;
    const r = s * F_ROW;
    f[r + F_BUSY] = 0;
    f[r + F_SCHED] = 0;
    f[r + F_IDLE] = 0;
    f[r + F_SPAWNED] = UNSTAMPED;
    f[r + F_LAST_END] = 0;
    f[r + F_READY] = UNSTAMPED;
    f[r + F_MAX] = 0;
    const u = this.#u;
    const q = s * U_ROW;
    u[q + U_POLLS] = 0;
    u[q + U_WAKES] = 0;
    u[q + U_SELF_WAKES] = 0;
    u[q + U_STATE] = S_SCHEDULED;
    u[q + U_WARNED] = 0;
    u[q + U_SELF_BASE] = 0;
    u[q + U_DESC] = NO_DESCRIPTOR;
    u[q + U_HIST] = 0;
    this.#later(s);
  }

  /**
   * Stamp slot `s` (woken or spawned): at the end of the current window
   * when inside a poll, else now (a wake from the drivers or from outside
   * the runtime: the clock is read, so a wait that follows is measured).
   */
  #later(s: number): void {
    this.#pushUnstamped(s);
    if (!this.#chain) this.#stamp(this.#read());
  }

  /**
   * Name a task and give its spawn site (the spawn functions call this).
   *
   * @param task the task just spawned.
   * @param name its name, or null.
   * @param key the body the user passed (the spawn-site cache key, see site.ts).
   */
  describe(task: Task<unknown>, name: string | null, key: unknown): void {
    const s = task.slot;
    if (s >= this.#cap || this.#tasks[s] !== task) return;
    const d = descriptor(key, name);
    this.#u[s * U_ROW + U_DESC] = d;
    this.#totalsOf(d).spawned++;
  }

  /** `task` was woken by someone else and queued (not a wake during its own poll). */
  woken(task: Task<unknown>): void {
    const s = task.slot;
    const q = s * U_ROW;
    this.#u[q + U_WAKES]++;
    this.#u[q + U_STATE] = S_SCHEDULED;
    this.#f[s * F_ROW + F_READY] = UNSTAMPED;
    this.#otherWakes++;
    this.#later(s);
  }

  /** `task` was queued by an abort (not counted as a wake). */
  aborted(task: Task<unknown>): void {
    const s = task.slot;
    if (s === SENTINEL_SLOT || this.#u[s * U_ROW + U_STATE] !== S_IDLE) return;
    this.#u[s * U_ROW + U_STATE] = S_SCHEDULED;
    this.#f[s * F_ROW + F_READY] = UNSTAMPED;
    this.#later(s);
  }

  /**
   * A poll of `task` begins. Its window entry is made when it ends
   * (pollEnd, finished): a window holds finished polls only.
   */
  pollStart(task: Task<unknown>): void {
    if (!this.#chain) this.#open();
    this.#u[task.slot * U_ROW + U_STATE] = S_RUNNING;
  }

  /** Start a chain of windows: read the clock (outside a batch's run of polls). */
  #open(): void {
    const t = this.#read();
    this.#stamp(t);
    this.#winStart = t;
    this.#chain = true;
  }

  /**
   * The poll of `task` returned and the task lives on; `notified` when it
   * woke itself during the poll (it is queued again at once).
   */
  pollEnd(task: Task<unknown>, notified: boolean): void {
    const s = task.slot;
    const i = this.#winLen;
    const u = this.#u;
    const q = s * U_ROW;
    if (notified) {
      takeSuspended();
      this.#win[i] = ~s;
      u[q + U_STATE] = S_SCHEDULED;
      const self = u[q + U_SELF_WAKES] + 1;
      u[q + U_SELF_WAKES] = self;
      this.totalSelfWakes++;
      if (self - u[q + U_SELF_BASE] === this.selfWakeLoop) {
        this.#warn(s, W_SELF, "self-wake-loop", this.selfWakeLoop);
      }
    } else {
      this.#win[i] = s;
      this.#leaves[s] = takeSuspended();
      u[q + U_STATE] = S_IDLE;
      u[q + U_SELF_BASE] = u[q + U_SELF_WAKES];
    }
    this.#winLen = i + 1;
    if (i + 1 >= this.#stride) this.#closeWindow();
  }

  /** End the current window, if any, and the chain of readings (drivers, hops, parks). */
  breakChain(): void {
    if (this.#winLen > 0) this.#closeWindow();
    this.#chain = false;
  }

  #closeWindow(): void {
    const t = this.#read();
    const k = this.#winLen;
    this.#winLen = 0;
    const start = this.#winStart;
    const total = t - start;
    const d = total / k;
    const long = k === 1 && d > this.longPollNs;
    if (this.#finsInWindow === 0) this.#chargeLive(start, d, 0, k, long);
    else this.#chargeMixed(start, d, k, long);
    this.totalPolls += k;
    this.pollTimes.addMany(d, k);
    this.totalBusyNs += total;
    if (k > 1 && total > this.longPollNs) {
      this.unattributedLongPolls++;
      this.#stride = 1;
    } else if (d < FAST_POLL_NS) {
      if (this.#stride < MAX_STRIDE) this.#stride <<= 1;
    } else this.#stride = 1;
    this.#winStart = t;
    this.#stamp(t);
  }

  /** A woken task waited `wait` ns to be polled: the worker's scheduled-time histogram. */
  #scheduled(wait: number): void {
    this.scheduledTimes.counts[bucketOf(wait)]++;
    this.scheduledTimes.sumNs += wait;
    if (wait > this.scheduledTimes.maxNs) this.scheduledTimes.maxNs = wait;
  }

  /**
   * Charge the window's entries `from`…`to`-1, polls of live tasks, `d` ns
   * each from `start` (the loop every poll goes through); `long`: the one
   * poll of the window ran past longPollNs.
   */
  #chargeLive(start: number, d: number, from: number, to: number, long: boolean): void {
    const b = bucketOf(d);
    const win = this.#win;
    const f = this.#f;
    const u = this.#u;
    const sc = this.scheduledTimes.counts;
    const lostWakeNs = this.lostWakeNs;
    let scSum = 0;
    let scMax = 0;
    for (let i = from; i < to; i++) {
      const e = win[i];
      const s = e < 0 ? ~e : e;
      const r = s * F_ROW;
      const q = s * U_ROW;
      const polls = u[q + U_POLLS];
      const ready = f[r + F_READY];
      if (ready >= 0) {
        const wait = start > ready ? start - ready : 0;
        f[r + F_SCHED] += wait;
        // bucketOf, inline (this loop runs once per poll).
        sc[
          wait <= FIRST_BOUND_NS
            ? 0
            : wait > LAST_BOUND_NS
            ? BUCKETS
            : (33 - Math.clz32(Math.ceil(wait) - 1) - FIRST_LOG2) >> 1
        ]++;
        scSum += wait;
        if (wait > scMax) scMax = wait;
        if (wait > lostWakeNs && polls > 0) this.#warn(s, W_LOST_WAKE, "lost-wake", wait);
        f[r + F_READY] = UNKNOWN;
      }
      u[q + U_POLLS] = polls + 1;
      f[r + F_BUSY] += d;
      const hv = u[q + U_HIST];
      if (hv >= HIST_ROW) this.#h[(hv - HIST_ROW) * H_ROW + b]++;
      else this.#histAdd(q, hv, b);
      if (d > f[r + F_MAX]) f[r + F_MAX] = d;
      if (long) this.#warn(s, W_LONG, "long-poll", d);
      start += d;
      f[r + F_LAST_END] = start;
      if (e < 0) f[r + F_READY] = start;
    }
    this.scheduledTimes.sumNs += scSum;
    if (scMax > this.scheduledTimes.maxNs) this.scheduledTimes.maxNs = scMax;
  }

  /** #chargeLive for a window holding polls of finished tasks (their rows are in the ring). */
  #chargeMixed(start: number, d: number, k: number, long: boolean): void {
    const b = bucketOf(d);
    this.#finsInWindow = 0;
    for (let i = 0; i < k; i++) {
      const fin = this.#winFin[i];
      if (fin === null) {
        let j = i + 1;
        while (j < k && this.#winFin[j] === null) j++;
        this.#chargeLive(start, d, i, j, long);
        start += d * (j - i);
        i = j - 1;
        continue;
      }
      this.#winFin[i] = null;
      if (fin.ready >= 0) {
        const wait = start > fin.ready ? start - fin.ready : 0;
        fin.ready = UNKNOWN;
        fin.sched += wait;
        fin.totals.scheduledNs += wait;
        this.#scheduled(wait);
        if (wait > this.lostWakeNs && fin.polls > 0) {
          this.#raiseFor(fin.id, fin.desc, "lost-wake", wait);
        }
      }
      if (long) this.#raiseFor(fin.id, fin.desc, "long-poll", d);
      fin.polls++;
      fin.busy += d;
      fin.totals.polls++;
      fin.totals.busyNs += d;
      if (fin.hv === 0) fin.hv = b + 1;
      else {
        if (fin.hv < HIST_ROW) {
          fin.hist.fill(0);
          fin.hist[fin.hv - 1] = 1;
          fin.hv = HIST_ROW;
        }
        fin.hist[b]++;
      }
      if (d > fin.max) fin.max = d;
      start += d;
      fin.lastEnd = start;
      fin.atNs = start;
    }
  }

  /**
   * `task` finished at the end of the poll just begun (its slot is still
   * set): its row moves to the ring of finished tasks; polls of it still in
   * the open window are charged there when the window closes.
   */
  finished(task: Task<unknown>, cancelled: boolean, failed: boolean): void {
    const s = task.slot;
    takeSuspended();
    const f = this.#f;
    const u = this.#u;
    const r = s * F_ROW;
    const q = s * U_ROW;
    const desc = u[q + U_DESC];
    const totals = this.#totalsOf(desc);
    const fin = this.#finished[this.#finishedNext];
    this.#finishedNext = (this.#finishedNext + 1) % MAX_FINISHED;
    if (this.#finishedCount < MAX_FINISHED) this.#finishedCount++;
    fin.id = task.id;
    fin.desc = desc;
    fin.cancelled = cancelled;
    fin.polls = u[q + U_POLLS];
    fin.wakes = u[q + U_WAKES] + u[q + U_SELF_WAKES];
    fin.selfWakes = u[q + U_SELF_WAKES];
    fin.busy = f[r + F_BUSY];
    fin.sched = f[r + F_SCHED];
    fin.idle = f[r + F_IDLE];
    fin.spawnedAt = f[r + F_SPAWNED];
    fin.lastEnd = f[r + F_LAST_END];
    fin.max = f[r + F_MAX];
    const hv = u[q + U_HIST];
    fin.hv = hv;
    if (hv >= HIST_ROW) {
      const at = (hv - HIST_ROW) * H_ROW;
      fin.hist.set(this.#h.subarray(at, at + H_ROW));
      this.#hFree[this.#hFreeLen++] = hv - HIST_ROW;
      fin.hv = HIST_ROW;
    }
    u[q + U_HIST] = 0;
    fin.ready = f[r + F_READY];
    fin.atNs = this.#last;
    fin.totals = totals;
    totals.finished++;
    totals.polls += fin.polls;
    totals.busyNs += fin.busy;
    totals.scheduledNs += fin.sched;
    const n = this.#winLen;
    for (let i = 0; i < n; i++) {
      if (this.#win[i] === s && this.#winFin[i] === null) {
        this.#winFin[i] = fin;
        this.#finsInWindow++;
      }
    }
    // The entry of this, its last poll.
    this.#win[n] = s;
    this.#winSelf[n] = 0;
    this.#winFin[n] = fin;
    this.#finsInWindow++;
    this.#winLen = n + 1;
    if (failed) {
      this.#failedDescs.set(task.id, desc);
      if (this.#failedDescs.size > MAX_FINISHED) {
        this.#failedDescs.delete(this.#failedDescs.keys().next().value!);
      }
    }
    u[q + U_STATE] = cancelled ? S_CANCELLED : S_DONE;
    if (this.#leaves[s] != null) this.#leaves[s] = null;
    if (n + 1 >= this.#stride) this.#closeWindow();
  }

  /** The totals of the tasks of descriptor `d` (per name; MAX_NAMES names, then `(other)`). */
  #totalsOf(d: number): NameTotals {
    const hit = this.#byDesc[d];
    if (hit !== undefined) return hit;
    let key = descriptorName(d) ?? "(unnamed)";
    let t = this.#byName.get(key);
    if (t === undefined) {
      if (this.#byName.size >= MAX_NAMES) key = "(other)";
      t = this.#byName.get(key);
      if (t === undefined) {
        t = newTotals();
        this.#byName.set(key, t);
      }
    }
    this.#byDesc[d] = t;
    return t;
  }

  /** A failed task's error was reported as unhandled (nobody will join it). */
  lostError(task: Task<unknown>): void {
    const d = this.#failedDescs.get(task.id) ?? NO_DESCRIPTOR;
    this.#failedDescs.delete(task.id);
    this.warningCounts["lost-error"]++;
    this.#push({
      kind: "lost-error",
      taskId: task.id,
      taskName: descriptorName(d),
      message: "failed, and nobody joined it: the error was only reported as unhandled",
      atNs: this.nowNs(),
    });
  }

  /**
   * Raise `kind` for the task in slot `s` once per task (`bit`); `value` is
   * the duration (ns) or count the message gives.
   */
  #warn(s: number, bit: number, kind: WarningKind | "queued", value: number): void {
    const q = s * U_ROW;
    if ((this.#u[q + U_WARNED] & bit) !== 0) return;
    this.#u[q + U_WARNED] |= bit;
    this.#raiseFor(this.#tasks[s]?.id ?? 0, this.#u[q + U_DESC], kind, value);
  }

  /**
   * Raise a warning, at most WARNINGS_PER_SECOND of each kind per second
   * (a queue of a million tasks all waiting past the threshold must not
   * make a million warnings); the count includes those left out.
   */
  #raiseFor(taskId: number, desc: number, kind: WarningKind | "queued", value: number): void {
    const k: WarningKind = kind === "queued" ? "lost-wake" : kind;
    this.warningCounts[k]++;
    if (this.#last - this.#warnSecond >= 1e9) {
      this.#warnSecond = this.#last;
      this.#warnsThisSecond = {
        "lost-wake": 0,
        "long-poll": 0,
        "self-wake-loop": 0,
        "lost-error": 0,
      };
    }
    if (++this.#warnsThisSecond[k] > WARNINGS_PER_SECOND) return;
    this.#push({
      kind: k,
      taskId,
      taskName: descriptorName(desc),
      message: warningText(kind, value),
      atNs: this.#last,
    });
  }

  #push(w: TaskWarning): void {
    this.#warnings.push(w);
    if (this.#warnings.length > MAX_WARNINGS) this.#warnings.shift();
  }

  #snapTask(task: Task<unknown>, s: number, now: number): TaskSnapshot {
    const f = this.#f;
    const u = this.#u;
    const r = s * F_ROW;
    const q = s * U_ROW;
    const st = u[q + U_STATE];
    const polls = u[q + U_POLLS];
    const spawned = f[r + F_SPAWNED];
    const lastEnd = spawned === UNSTAMPED ? now : f[r + F_LAST_END];
    let idle = f[r + F_IDLE];
    if (st === S_IDLE && polls > 0 && now > lastEnd) idle += now - lastEnd;
    let scheduled = f[r + F_SCHED];
    const ready = f[r + F_READY];
    if (st === S_SCHEDULED && ready >= 0 && now > ready) scheduled += now - ready;
    const hv = u[q + U_HIST];
    const d = u[q + U_DESC];
    return {
      id: task.id,
      name: descriptorName(d),
      spawnSite: descriptorSite(d),
      state: STATE_NAMES[st],
      worker: 0,
      polls,
      busyNs: f[r + F_BUSY],
      scheduledNs: scheduled,
      idleNs: idle,
      wakes: u[q + U_WAKES] + u[q + U_SELF_WAKES],
      selfWakes: u[q + U_SELF_WAKES],
      sinceLastPollNs: Math.max(0, now - lastEnd),
      ageNs: spawned === UNSTAMPED ? 0 : Math.max(0, now - spawned),
      waitingOn: st === S_IDLE ? kindOf(this.#leaves[s]) : null,
      pollTimes: hv >= HIST_ROW
        ? toHistogram(
          this.#h.subarray((hv - HIST_ROW) * H_ROW, (hv - HIST_ROW + 1) * H_ROW),
          f[r + F_BUSY],
          f[r + F_MAX],
        )
        : singleSample(hv === 0 ? -1 : f[r + F_BUSY]),
    };
  }

  /**
   * The tasks now: live ones, then those finished within KEEP_FINISHED_MS.
   * Also raises `lost-wake` for tasks woken too long ago and still queued.
   *
   * @returns the task snapshots and the reading they are relative to.
   */
  tasks(): { nowNs: number; tasks: TaskSnapshot[] } {
    // Called from inside a poll, polls may wait in the window: settle them
    // (the window's time up to now is theirs; this poll goes on in the next).
    if (this.#winLen > 0) this.#closeWindow();
    else this.#stamp(this.#read());
    const now = this.#last;
    const out: TaskSnapshot[] = [];
    const tasks = this.#tasks;
    const n = Math.min(tasks.length, this.#cap);
    for (let s = 1; s < n; s++) {
      const t = tasks[s];
      if (t === undefined || t.slot !== s) continue;
      const ready = this.#f[s * F_ROW + F_READY];
      if (
        this.#u[s * U_ROW + U_STATE] === S_SCHEDULED && ready >= 0 &&
        now - ready > this.lostWakeNs && this.#u[s * U_ROW + U_POLLS] > 0
      ) {
        this.#warn(s, W_LOST_WAKE, "queued", now - ready);
      }
      out.push(this.#snapTask(t, s, now));
    }
    const keep = now - KEEP_FINISHED_MS * 1e6;
    for (let i = 0; i < this.#finishedCount; i++) {
      const f = this.#finished[(this.#finishedNext - 1 - i + MAX_FINISHED) % MAX_FINISHED];
      if (f.atNs < keep) break;
      out.push(finishedSnapshot(f, now));
    }
    return { nowNs: now, tasks: out };
  }

  /**
   * The warnings raised, oldest first (bounded).
   *
   * @returns a copy of the list.
   */
  warnings(): TaskWarning[] {
    return [...this.#warnings];
  }

  /**
   * Totals per task name: finished tasks folded in, live ones added now.
   *
   * @returns name → totals (at most MAX_NAMES + 1 names).
   */
  nameTotals(): Map<string, NameTotals & { alive: number }> {
    const out = new Map<string, NameTotals & { alive: number }>();
    const byTotals = new Map<NameTotals, NameTotals & { alive: number }>();
    for (const [k, v] of this.#byName) {
      const e = { ...v, alive: 0 };
      out.set(k, e);
      byTotals.set(v, e);
    }
    const tasks = this.#tasks;
    const n = Math.min(tasks.length, this.#cap);
    for (let s = 1; s < n; s++) {
      const t = tasks[s];
      if (t === undefined || t.slot !== s) continue;
      const own = this.#totalsOf(this.#u[s * U_ROW + U_DESC]);
      let e = byTotals.get(own);
      if (e === undefined) {
        e = { ...newTotals(), alive: 0 };
        byTotals.set(own, e);
        out.set(descriptorName(this.#u[s * U_ROW + U_DESC]) ?? "(unnamed)", e);
      }
      e.alive++;
      e.polls += this.#u[s * U_ROW + U_POLLS];
      e.busyNs += this.#f[s * F_ROW + F_BUSY];
      e.scheduledNs += this.#f[s * F_ROW + F_SCHED];
    }
    return out;
  }
}

function finishedSnapshot(f: Finished, now: number): TaskSnapshot {
  const spawned = f.spawnedAt === UNSTAMPED ? f.atNs : f.spawnedAt;
  return {
    id: f.id,
    name: descriptorName(f.desc),
    spawnSite: descriptorSite(f.desc),
    state: f.cancelled ? "cancelled" : "done",
    worker: 0,
    polls: f.polls,
    busyNs: f.busy,
    scheduledNs: f.sched,
    idleNs: f.idle,
    wakes: f.wakes,
    selfWakes: f.selfWakes,
    sinceLastPollNs: Math.max(0, now - (f.lastEnd > 0 ? f.lastEnd : f.atNs)),
    ageNs: Math.max(0, now - spawned),
    waitingOn: null,
    pollTimes: f.hv >= HIST_ROW
      ? toHistogram(f.hist, f.busy, f.max)
      : singleSample(f.hv === 0 ? -1 : f.busy),
  };
}

function kindOf(leaf: unknown): string | null {
  if (leaf === null || leaf === undefined) return null;
  const k = (leaf as { kind?: unknown }).kind;
  return typeof k === "string" ? k : null;
}

function warningText(kind: WarningKind | "queued", value: number): string {
  switch (kind) {
    case "lost-wake":
      return `woken ${ms(value)} before it was polled`;
    case "queued":
      return `woken ${ms(value)} ago and not yet polled`;
    case "long-poll":
      return `one poll ran ${ms(value)}, blocking its thread`;
    case "self-wake-loop":
      return `woke itself ${value} polls in a row`;
    default:
      return "failed, and nobody joined it: the error was only reported as unhandled";
  }
}

function ms(ns: number): string {
  return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 0)} ms`;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a number > 0`);
  return v;
}
