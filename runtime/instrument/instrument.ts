/**
 * Task instrumentation of one scheduler: per-task counts and times, the
 * worker's poll-time and scheduled-time histograms, and the warnings
 * (lost wake, long poll, self-wake loop, lost error). The scheduler holds a
 * nullable `Instrument`; off (null) it costs one well-predicted null check
 * per poll, wake and spawn and nothing else.
 *
 * Storage, by the task's header slot, in typed arrays (an instrumented
 * spawn allocates nothing): every live task has a birth record (its spawn
 * time, and its name and spawn site as one descriptor id that site.ts
 * interns), written at its spawn. Its row (times in a Float64Array, counts
 * and flags in a Uint32Array) is taken only at the end of its first poll
 * if it lives on (or when a snapshot reads it): a task that ends in its
 * first poll never has one, so spawning and joining a million short tasks
 * writes and reads 12 bytes each, not a row (INSTRUMENT_ROW on
 * `Task.bits` says which tasks have one). A task's own poll-time
 * histogram is a row it takes from a pooled table at its second poll and
 * gives back when it ends (its one first sample is its busy time). Two
 * things live on the task object itself (`Task.bits`, which a poll has in
 * cache anyway): the count of its self-wakes not yet moved to its row
 * (moved every {@linkcode SELF_FLUSH}, at its next other poll, its end and
 * any snapshot) and INSTRUMENT_ARMED, "the wait of its next poll is timed".
 * Finished tasks are copied into small rings (the last 256 of each kind),
 * kept for the console for {@linkcode KEEP_FINISHED_MS}: one of entries
 * for tasks that had a row, and one of typed-array columns for tasks that
 * ended in their first poll (id, descriptor with the outcome, spawn time,
 * end, busy time: all such a task has); a snapshot merges the two by end
 * time. The name's totals of first-poll ends take a run of them of one
 * name at once (when a task of another name ends, or the totals are read).
 * The spawn path keeps the last unnamed generator body kind's descriptor,
 * so a loop of spawns interns it once.
 *
 * Time, and why it is estimated: a clock read (`performance.now()`) costs
 * about 100 ns here, more than a whole `yieldNow` round, and a poll that
 * touches a row of its own costs a cache miss. So the clock is read once
 * per *window* of polls: a window starts at a reading the scheduler takes
 * (a batch's start, the end of a driver poll that did work) or at the end
 * of the previous window, and closes after `stride` polls, or when the
 * batch ends or the drivers do work. `stride` is 1 until polls are seen to
 * be fast: it doubles after each window whose polls averaged under
 * {@linkcode FAST_POLL_NS}, up to {@linkcode MAX_STRIDE}, and falls back to
 * 1 after a slower one.
 * - At stride 1 (slow polls) every poll is timed exactly: busy time, its
 *   bucket, the task's longest poll, the wait since its wake.
 * - A fast poll (stride > 1) is counted exactly (polls, self-wakes, wakes)
 *   and timed at the estimate, the last fast window's time per poll: the
 *   poll's end is the window's start plus its place in it times the
 *   estimate, and its busy time and bucket are charged ("folded") at that
 *   estimate when the task's row is next read (its next slow poll, its
 *   end, a snapshot). The worker's totals and poll-time histogram get each
 *   window's real time.
 * - A task's scheduled time is not summed wait by wait: it is the rest of
 *   its life, neither busy nor idle (idle runs from the end of a poll that
 *   left it waiting to the wake by someone else).
 * - The lost-wake check takes every wait from a spawn or a wake by
 *   someone else, and one in {@linkcode SELF_SAMPLE} waits after a fast
 *   self-wake (a self-wake at stride 1 is timed every time). The worker's
 *   scheduled-time histogram takes the same waits, but of those after a
 *   spawn or a wake by someone else made inside a window of fast polls (a
 *   few estimated polls long, or a task's wait for its first poll when it
 *   also ends there) one in {@linkcode WAKE_SAMPLE}, counted WAKE_SAMPLE
 *   times; sampled self-wakes count SELF_SAMPLE times.
 * A long poll in a window of several polls cannot be told from its
 * neighbours, so it is counted on the worker (`unattributedLongPolls`), the
 * stride drops to 1 and the next one is attributed. A wake or a spawn made
 * inside a poll does not read the clock: it is dated at that poll's start
 * (exact at stride 1, the estimate otherwise: the task's wait includes the
 * rest of the poll that woke or spawned it, as it does), so a million
 * spawns in one poll are not walked again when it ends, and a task woken
 * and polled within one window has its wait and its idle time counted. A
 * wake or spawn made by the drivers (I/O completions, timers) gets the
 * reading the polls after them start at. One made outside the runtime
 * (another thread, Deno's callbacks) reads it at once, so a long wait after
 * it is seen.
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
 *   polls in a row ended with the task having woken itself (seen when its
 *   self-wakes move to its row: at most SELF_FLUSH - 1 polls late; the
 *   message gives the run seen).
 * - `lost-error`: the task failed and the runtime reported the error as
 *   unhandled — its handle was detached, or the runtime went idle or shut
 *   down with nobody having joined it. JS gives no sound "handle dropped"
 *   event (a finalizer runs at an unknown GC, and a failed task is kept for
 *   a later joiner), so these are the points where the runtime itself knows
 *   nobody will see the error.
 *
 * @module
 */

import {
  GENERATOR_BODY,
  INSTRUMENT_ARMED,
  INSTRUMENT_COUNT_SHIFT,
  INSTRUMENT_ROW,
  type Task,
} from "../task/task.ts";
import { SENTINEL_SLOT } from "../task/header_table.ts";
import { bucketOf, BUCKETS, HistogramBuilder, singleSample, toHistogram } from "./histogram.ts";
import type { TaskSnapshot, TaskStateName, TaskWarning, WarningKind } from "./snapshot.ts";
import { takeSuspended, watchSuspends } from "../operation.ts";
import { tryCurrentWaker } from "../scheduler/context.ts";
import { descriptor, descriptorName, descriptorSite, NO_DESCRIPTOR, siteKey } from "./site.ts";

/** Default long-poll threshold, ms. */
export const LONG_POLL_MS = 10;
/** Default lost-wake threshold, ms. */
export const LOST_WAKE_MS = 1000;
/** Default self-wake loop length, polls in a row. */
export const SELF_WAKE_LOOP = 1000;
/** How long finished tasks stay in the snapshots, ms. */
export const KEEP_FINISHED_MS = 5000;
/** Most polls timed by one clock reading. */
export const MAX_STRIDE = 128;
/** Polls faster than this on average may share a clock reading, ns. */
export const FAST_POLL_NS = 2000;
/** Warnings kept. */
export const MAX_WARNINGS = 256;
/** Warnings of one kind kept per second at most (the rest are only counted). */
export const WARNINGS_PER_SECOND = 20;
/** Finished tasks kept for the console (a power of two: the ring index is masked). */
const MAX_FINISHED = 256;
/** Distinct task names with series of their own; more share the name `(other)`. */
export const MAX_NAMES = 64;
const INITIAL_CAPACITY = 1024;
/** Rows grow by this factor (a copy each time: fewer, larger steps). */
const GROWTH = 4;

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

// The Float64 row of a task: times in ns since the instrument started, and
// the counts a self-woken poll updates (the first four: what such a poll
// touches shares one cache line however the row is aligned by 16 bytes).
const F_LAST_END = 0;
const F_READY = 1;
/** Self-wakes (a count). */
const F_SELF_WAKES = 2;
/** F_SELF_WAKES at its last poll that did not wake itself (the self-wake run starts there). */
const F_SELF_BASE = 3;
const F_BUSY = 4;
const F_IDLE = 5;
const F_MAX = 6;
/** Entries of a Float64 row: 7 used, 8 keep a row in one 64-byte line. */
const F_ROW = 8;
// The Uint32 row of a task.
/** Polls that did not end in a self-wake (its polls: these plus F_SELF_WAKES). */
const U_OTHER_POLLS = 0;
/** Wakes by others (self-wakes are F_SELF_WAKES; the snapshot adds them). */
const U_WAKES = 1;
/** Its polls whose time is in F_BUSY and its histogram (the rest are fast polls not yet folded in). */
const U_FOLDED = 2;
const U_STATE = 3;
const U_WARNED = 4;
/** How many waits the one timed from F_READY stands for (while the task is INSTRUMENT_ARMED; 0: only checked for a lost wake). */
const U_WEIGHT = 5;
/**
 * Its poll-time histogram: 0 before its first poll; 1…H_ROW after one poll,
 * its bucket plus one (its one sample is its busy time); from HIST_ROW on,
 * HIST_ROW plus its row in the histogram pool (taken at its second poll).
 */
const U_HIST = 6;
const U_ROW = 7;

/** Entries of one histogram row (the buckets and the overflow bucket). */
const H_ROW = BUCKETS + 1;
/** U_HIST values from here on name a pool row. */
const HIST_ROW = H_ROW + 1;
const INITIAL_HISTS = 64;

/** `Object.prototype.isPrototypeOf` (the spawn path's body-kind check). */
const isPrototypeOf = Object.prototype.isPrototypeOf as (this: object, v: unknown) => boolean;

/** A time waiting for the next clock reading. */
const UNSTAMPED = -1;
/** Not known (polled before its wake was stamped, or already used): no wait counted. */
const UNKNOWN = -2;
/**
 * One fast self-woken poll in this many has its wait for the next poll
 * timed (the task is marked INSTRUMENT_ARMED), and that wait counts this
 * many times in the worker's scheduled-time histogram.
 */
export const SELF_SAMPLE = 32;
/**
 * One wait in this many after a wake by another task inside a window of
 * fast polls goes to the worker's scheduled-time histogram, counted this
 * many times (such a wait is a few estimated polls long; the lost-wake
 * check still reads every one).
 */
export const WAKE_SAMPLE = 16;
/** Self-wakes counted on the task (in `Task.bits`) before they move to its row, at most. */
export const SELF_FLUSH = 32;
/** One self-wake in `Task.bits`. */
const PENDING_UNIT = 1 << INSTRUMENT_COUNT_SHIFT;
/** The bits of `Task.bits` below the count. */
const BELOW_COUNT = PENDING_UNIT - 1;
/** The poll-time estimate before any window closed, ns. */
const FIRST_ESTIMATE_NS = 1000;

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
  /** Wakes by others (a self-wake is counted in its task's row only). */
  #otherWakes = 0;
  /** Self-wakes of the finished tasks (the live ones are in their rows). */
  #finishedSelfWakes = 0;
  totalBusyNs = 0;
  /** Wakes, self-wakes included. */
  get totalWakes(): number {
    return this.#otherWakes + this.totalSelfWakes;
  }
  /** Self-wakes (a task woke itself during its poll: yieldNow, budget). */
  get totalSelfWakes(): number {
    let n = this.#finishedSelfWakes;
    const tasks = this.#tasks;
    const f = this.#f;
    const end = Math.min(tasks.length, this.#cap);
    for (let s = 1; s < end; s++) {
      const t = tasks[s];
      if (t !== undefined && t.slot === s && (t.bits & INSTRUMENT_ROW) !== 0) {
        n += f[s * F_ROW + F_SELF_WAKES] + (t.bits >>> INSTRUMENT_COUNT_SHIFT);
      }
    }
    return n;
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

  /** Slots the birth records have room for, and the records: spawn times and descriptors. */
  #cap = 0;
  #bornAt = new Float64Array(0);
  #bornDesc = new Uint32Array(0);
  /** Slots the rows have room for, and one past the highest slot that ever took a row. */
  #rowCap = 0;
  #rowHigh = 0;
  #f = new Float64Array(0);
  #u = new Uint32Array(0);
  /**
   * What each idle task suspended on (a leaf's class, or what
   * `noteSuspended` was given: its `kind` names it), by slot; set at poll
   * ends only (dense).
   */
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
  /** Polls in the open window, and its start (a clock reading). */
  #winLen = 0;
  #winStart = 0;
  /** The last closed window's time per poll: what a fast poll is charged. */
  #est = FIRST_ESTIMATE_NS;
  #estBucket = bucketOf(FIRST_ESTIMATE_NS);
  /** The slot polled last (a window of one poll closed by a break is its own). */
  #lastSlot = 0;
  /** Fast self-woken polls until the next one whose wait is timed. */
  #sampleIn = SELF_SAMPLE;
  /** Wakes by others inside windows of fast polls until the next one sampled. */
  #wakeSampleIn = WAKE_SAMPLE;
  /** `Task.bits` from which its self-wakes move to its row. */
  readonly #flushAt: number;
  #stride = 1;
  #chain = false;
  /** Between driversBegin and resume: wakes wait for resume's reading. */
  #inDrivers = false;
  #last = 0;

  /** Ring of the last MAX_FINISHED finished tasks; #finishedNext is the next to overwrite. */
  readonly #finished: Finished[] = Array.from({ length: MAX_FINISHED }, () => new Finished());
  #finishedNext = 0;
  #finishedCount = 0;
  /**
   * Ring of the last MAX_FINISHED tasks that ended in their first poll, as
   * columns (one poll, no wakes, never idle: these five say the rest). A
   * cancelled task's descriptor is stored complemented (negative).
   */
  readonly #firstId = new Float64Array(MAX_FINISHED);
  readonly #firstDesc = new Int32Array(MAX_FINISHED);
  readonly #firstBorn = new Float64Array(MAX_FINISHED);
  readonly #firstEnd = new Float64Array(MAX_FINISHED);
  readonly #firstBusy = new Float64Array(MAX_FINISHED);
  /** First-poll ends so far: the next entry of their ring to overwrite is this mod MAX_FINISHED. */
  #firstEnds = 0;
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
  /** The run of first-poll ends not yet in the totals: its descriptor, length, busy and scheduled ns. */
  #runDesc = NO_DESCRIPTOR;
  #runLen = 0;
  #runBusy = 0;
  #runSched = 0;
  /** The body kind (site.ts's key) of the last unnamed spawn of an object body, and its descriptor. */
  #lastKind: object | null = null;
  #lastDesc = NO_DESCRIPTOR;
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
    this.#flushAt = Math.min(SELF_FLUSH, Math.ceil(this.selfWakeLoop)) * PENDING_UNIT;
    this.#stopWatch = watchSuspends();
    this.#growBirths(INITIAL_CAPACITY);
    this.#growRows(INITIAL_CAPACITY);
  }

  /** Ns since this instrument started, now (reads the clock). */
  nowNs(): number {
    return (this.#clock() - this.#originMs) * 1e6;
  }

  /** Stop listening for suspends (the runtime shut down). */
  close(): void {
    this.#stopWatch();
  }

  #growBirths(min: number): void {
    const cap = grown(this.#cap, min);
    const at = new Float64Array(cap);
    at.set(this.#bornAt);
    this.#bornAt = at;
    const desc = new Uint32Array(cap);
    desc.set(this.#bornDesc);
    this.#bornDesc = desc;
    this.#cap = cap;
  }

  /** Room for rows up to slot `min` - 1 (only the rows ever taken are copied). */
  #growRows(min: number): void {
    const cap = grown(this.#rowCap, min);
    const used = this.#rowHigh;
    const f = new Float64Array(cap * F_ROW);
    f.set(this.#f.subarray(0, used * F_ROW));
    this.#f = f;
    const u = new Uint32Array(cap * U_ROW);
    u.set(this.#u.subarray(0, used * U_ROW));
    this.#u = u;
    const leaves = this.#leaves;
    for (let i = this.#rowCap; i < cap; i++) leaves.push(null);
    this.#rowCap = cap;
  }

  /**
   * Give `task` (slot `s`, alive, without a row) its row, as its spawn
   * left it: scheduled, no polls, its wait for its first poll timed from
   * its spawn.
   */
  #takeRow(task: Task<unknown>, s: number): void {
    if (s >= this.#rowCap) this.#growRows(s + 1);
    if (s >= this.#rowHigh) this.#rowHigh = s + 1;
    const f = this.#f;
    const r = s * F_ROW;
    const spawned = this.#bornAt[s];
    f[r + F_BUSY] = 0;
    f[r + F_SELF_WAKES] = 0;
    f[r + F_SELF_BASE] = 0;
    f[r + F_IDLE] = 0;
    f[r + F_MAX] = 0;
    f[r + F_LAST_END] = spawned === UNSTAMPED ? 0 : spawned;
    const u = this.#u;
    const q = s * U_ROW;
    u[q + U_OTHER_POLLS] = 0;
    u[q + U_WAKES] = 0;
    u[q + U_FOLDED] = 0;
    u[q + U_STATE] = S_SCHEDULED;
    u[q + U_WARNED] = 0;
    u[q + U_HIST] = 0;
    task.bits |= INSTRUMENT_ROW;
    this.#arm(task, spawned, 1);
  }

  /** Give every live task without a row its row (a snapshot reads them). */
  #takeRows(): void {
    const tasks = this.#tasks;
    const n = Math.min(tasks.length, this.#cap);
    for (let s = 1; s < n; s++) {
      const t = tasks[s];
      if (t !== undefined && t.slot === s && (t.bits & INSTRUMENT_ROW) === 0) this.#takeRow(t, s);
    }
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
    const un = this.#unstamped;
    const born = this.#bornAt;
    const f = this.#f;
    const u = this.#u;
    const tasks = this.#tasks;
    for (let i = 0; i < n; i++) {
      const s = un[i];
      const task = tasks[s];
      // Its row (if any) is read only while the slot is still its.
      const row = task !== undefined && task.slot === s && (task.bits & INSTRUMENT_ROW) !== 0;
      if (born[s] === UNSTAMPED) {
        born[s] = t;
        if (row) stampSpawn(f, s * F_ROW, t);
      } else if (row && f[s * F_ROW + F_READY] === UNSTAMPED) stampWake(f, u, s, t);
    }
    this.#unstampedLen = 0;
  }

  /**
   * Time the wait of `task`'s next poll from `ready` (UNSTAMPED: the next
   * clock reading), standing for `weight` waits: the task is marked
   * INSTRUMENT_ARMED till that poll.
   */
  #arm(task: Task<unknown>, ready: number, weight: number): void {
    const s = task.slot;
    task.bits |= INSTRUMENT_ARMED;
    this.#f[s * F_ROW + F_READY] = ready;
    this.#u[s * U_ROW + U_WEIGHT] = weight;
  }

  /** The wait `task` (slot `s`) was armed for ends at `start`: count it, unmark it. */
  #disarm(task: Task<unknown>, s: number, start: number): void {
    task.bits &= ~INSTRUMENT_ARMED;
    const f = this.#f;
    const r = s * F_ROW;
    const ready = f[r + F_READY];
    // Polled before the wake was stamped: not known, not counted.
    if (ready >= 0) this.#waited(s, ready, start, this.#u[s * U_ROW + U_WEIGHT]);
    f[r + F_READY] = UNKNOWN;
  }

  /**
   * A task was spawned (its slot is fresh): only its birth record is
   * written. Its row is taken at the end of its first poll if it lives on
   * (or when a snapshot reads it), so a task that ends in its first poll
   * never has one.
   *
   * @param task the task just made.
   * @param name its name, or null.
   * @param key the body the user passed (the spawn-site cache key, see site.ts).
   */
  spawned(task: Task<unknown>, name: string | null, key: unknown): void {
    const s = task.slot;
    if (s >= this.#cap) this.#growBirths(s + 1);
    // Spawns in a loop share one body kind: the last generator function's
    // descriptor is kept here. (`isPrototypeOf` where `getPrototypeOf`
    // would be exact: it is ten times cheaper on a generator object, and a
    // generator object has its function's prototype as its own unless the
    // user chained one generator function's prototype onto another's.)
    const kind = this.#lastKind;
    this.#bornDesc[s] = name === null && kind !== null && (task.bits & GENERATOR_BODY) !== 0 &&
        isPrototypeOf.call(kind, key)
      ? this.#lastDesc
      : this.#describe(task, key, name);
    if (this.#chain) {
      // Spawned inside a poll: dated at that poll's start (exact at stride
      // 1, the window's estimate otherwise), with no clock read and no
      // second pass when the window closes.
      this.#bornAt[s] = this.#winStart + this.#winLen * this.#est;
      return;
    }
    this.#bornAt[s] = UNSTAMPED;
    this.#later(s);
  }

  /**
   * The descriptor of `task`, spawned from `key` and named `name` (see
   * site.ts); an unnamed generator body's is kept for the next spawn.
   */
  #describe(task: Task<unknown>, key: unknown, name: string | null): number {
    const d = descriptor(key, name);
    if (name === null && (task.bits & GENERATOR_BODY) !== 0 && key === task.body) {
      const kind = siteKey(key);
      if (kind !== null) {
        this.#lastKind = kind;
        this.#lastDesc = d;
      }
    }
    return d;
  }

  /**
   * Stamp slot `s` (woken or spawned): at the end of the current window
   * when inside a poll, else now (a wake from the drivers or from outside
   * the runtime: the clock is read, so a wait that follows is measured).
   */
  #later(s: number): void {
    this.#pushUnstamped(s);
    if (!this.#chain && !this.#inDrivers) this.#stamp(this.#read());
  }

  /** `task` was woken by someone else and queued (not a wake during its own poll). */
  woken(task: Task<unknown>): void {
    const s = task.slot;
    if ((task.bits & INSTRUMENT_ROW) === 0) this.#takeRow(task, s);
    const u = this.#u;
    const q = s * U_ROW;
    u[q + U_WAKES]++;
    u[q + U_STATE] = S_SCHEDULED;
    this.#otherWakes++;
    if (this.#chain) {
      // Woken inside a poll: dated at that poll's start, as a spawn there is
      // (no clock read, nothing left for the window's end). In a window of
      // fast polls, one such wait in WAKE_SAMPLE goes to the histogram,
      // standing for WAKE_SAMPLE; every one is checked for a lost wake.
      const t = this.#winStart + this.#winLen * this.#est;
      stampWake(this.#f, u, s, t);
      this.#arm(task, t, this.#stride === 1 ? 1 : this.#wakeWeight());
      return;
    }
    this.#arm(task, UNSTAMPED, 1);
    this.#later(s);
  }

  /** `task` was queued by an abort (not counted as a wake). */
  aborted(task: Task<unknown>): void {
    const s = task.slot;
    // Without a row it was never polled: queued already, not idle.
    if (s === SENTINEL_SLOT || (task.bits & INSTRUMENT_ROW) === 0) return;
    if (this.#u[s * U_ROW + U_STATE] !== S_IDLE) return;
    this.#u[s * U_ROW + U_STATE] = S_SCHEDULED;
    this.#arm(task, UNSTAMPED, 1);
    this.#later(s);
  }

  /**
   * A run of polls begins (a batch, or the polls after the drivers did
   * work): the first window starts at `ms`, a reading of the clock. Does
   * nothing while a run goes on (the drivers had nothing to do).
   *
   * @param ms the scheduler's reading (its realClock), taken just before.
   */
  resume(ms: number): void {
    if (this.#chain) return;
    this.#inDrivers = false;
    const t = (ms - this.#originMs) * 1e6;
    this.#last = t;
    this.#stamp(t);
    this.#winStart = t;
    this.#chain = true;
  }

  /**
   * The poll of `task` returned with the task having woken itself (yieldNow,
   * budget): it is queued again at once (its state stays scheduled). A fast
   * poll counts itself on the task and touches its row only now and then.
   */
  pollEndSelf(task: Task<unknown>): void {
    takeSuspended();
    if ((task.bits & INSTRUMENT_ROW) === 0) this.#takeRow(task, task.slot);
    const b = task.bits + PENDING_UNIT;
    task.bits = b;
    const n = this.#winLen + 1;
    this.#winLen = n;
    this.#lastSlot = task.slot;
    if (this.#stride === 1) {
      this.#flush(task);
      this.#closeWindow();
      return;
    }
    const due = --this.#sampleIn === 0;
    if (due || (b & INSTRUMENT_ARMED) !== 0 || b >= this.#flushAt) this.#selfRow(task, n);
    if (n >= this.#stride) this.#closeWindow();
  }

  /**
   * A fast self-woken poll, the `n`-th of its window, that touches the row:
   * its wait was timed, or the next one is to be, or its count moves over.
   */
  #selfRow(task: Task<unknown>, n: number): void {
    const s = task.slot;
    const f = this.#f;
    const r = s * F_ROW;
    const end = this.#winStart + n * this.#est;
    f[r + F_LAST_END] = end;
    if ((task.bits & INSTRUMENT_ARMED) !== 0) this.#disarm(task, s, end - this.#est);
    if (this.#sampleIn === 0) {
      this.#sampleIn = SELF_SAMPLE;
      this.#arm(task, end, SELF_SAMPLE);
    }
    if (task.bits >= this.#flushAt) this.#flush(task);
  }

  /** Move the self-wakes counted on `task` to its row (and see whether they make a loop). */
  #flush(task: Task<unknown>): void {
    const b = task.bits;
    const pending = b >>> INSTRUMENT_COUNT_SHIFT;
    if (pending === 0) return;
    task.bits = b & BELOW_COUNT;
    const s = task.slot;
    const r = s * F_ROW;
    const self = this.#f[r + F_SELF_WAKES] + pending;
    this.#f[r + F_SELF_WAKES] = self;
    const run = self - this.#f[r + F_SELF_BASE];
    if (run >= this.selfWakeLoop) this.#warn(s, W_SELF, "self-wake-loop", run);
  }

  /**
   * The poll of `task` returned and the task lives on, not woken by itself
   * (idle until something wakes it).
   */
  pollEnd(task: Task<unknown>): void {
    const s = task.slot;
    if ((task.bits & INSTRUMENT_ROW) === 0) this.#takeRow(task, s);
    this.#flush(task);
    const u = this.#u;
    const q = s * U_ROW;
    // What it waits on: mostly a leaf's class, the same poll after poll.
    const on = takeSuspended();
    if (this.#leaves[s] !== on) this.#leaves[s] = on;
    u[q + U_STATE] = S_IDLE;
    u[q + U_OTHER_POLLS]++;
    const r = s * F_ROW;
    this.#f[r + F_SELF_BASE] = this.#f[r + F_SELF_WAKES];
    this.#ended(task);
  }

  /**
   * Time the poll of `task` that just ended (its counts are made). A fast
   * poll (stride > 1) is charged later, at the estimate (see the module
   * doc); it only gets its end time, the estimate's. A slow one closes its
   * window of one and is charged exactly.
   */
  #ended(task: Task<unknown>): void {
    const s = task.slot;
    const n = this.#winLen + 1;
    this.#winLen = n;
    this.#lastSlot = s;
    if (this.#stride === 1) {
      this.#closeWindow();
      return;
    }
    const f = this.#f;
    const r = s * F_ROW;
    const end = this.#winStart + n * this.#est;
    if ((task.bits & INSTRUMENT_ARMED) !== 0) this.#disarm(task, s, end - this.#est);
    f[r + F_LAST_END] = end;
    if (n >= this.#stride) this.#closeWindow();
  }

  /**
   * Slot `s`, ready since `ready`, was polled at `start`: the worker's
   * scheduled-time histogram (`weight` samples), lost wakes.
   */
  #waited(s: number, ready: number, start: number, weight: number): void {
    const wait = start > ready ? start - ready : 0;
    if (weight !== 0) this.#scheduled(wait, weight);
    if (wait > this.lostWakeNs) {
      // Not its first poll (its self-wakes still on the task count too).
      const pending = (this.#tasks[s]?.bits ?? 0) >>> INSTRUMENT_COUNT_SHIFT;
      if (pollsOf(this.#f, this.#u, s) + pending > 1) this.#warn(s, W_LOST_WAKE, "lost-wake", wait);
    }
  }

  /** Count a wait of `wait` ns (≥ 0) for a poll, `weight` times, in the scheduled-time histogram. */
  #scheduled(wait: number, weight: number): void {
    const h = this.scheduledTimes;
    h.counts[bucketOf(wait)] += weight;
    h.sumNs += wait * weight;
    if (wait > h.maxNs) h.maxNs = wait;
  }

  /** {@linkcode resume} at a reading of its own, taken only when a run is to begin. */
  resumeNow(): void {
    if (!this.#chain) this.resume(this.#clock());
  }

  /**
   * The drivers are polled and have work: end the window; the wakes they
   * make are stamped with the reading the next run of polls starts at
   * ({@linkcode resume}, called right after them).
   */
  driversBegin(): void {
    this.breakChain();
    this.#inDrivers = true;
  }

  /** End the current window, if any, and the chain of readings (drivers, hops, parks). */
  breakChain(): void {
    if (this.#winLen > 0) this.#closeWindow();
    else if (this.#unstampedLen > 0) this.#stamp(this.#read());
    this.#chain = false;
    this.#inDrivers = false;
  }

  /**
   * Close the open window: read the clock; a window of one slow poll (stride
   * 1) charges it exactly, a window of fast ones sets the estimate.
   */
  #closeWindow(): void {
    const t = this.#read();
    const k = this.#winLen;
    this.#winLen = 0;
    const start = this.#winStart;
    const total = t - start;
    const d = total / k;
    if (this.#stride === 1) {
      if (this.#lastSlot !== SENTINEL_SLOT) this.#exact(this.#lastSlot, start, t);
    } else if (k === 1 && total > this.longPollNs) {
      // A fast poll turned slow, alone in its window (closed by a break).
      if (this.#lastSlot !== SENTINEL_SLOT) this.#warn(this.#lastSlot, W_LONG, "long-poll", total);
      else this.unattributedLongPolls++;
    }
    this.totalPolls += k;
    this.pollTimes.addMany(d, k);
    this.totalBusyNs += total;
    if (k > 1 && total > this.longPollNs) {
      this.unattributedLongPolls++;
      this.#stride = 1;
    } else if (d < FAST_POLL_NS) {
      if (this.#stride < MAX_STRIDE) this.#stride <<= 1;
      this.#est = d;
      this.#estBucket = bucketOf(d);
    } else this.#stride = 1;
    this.#winStart = t;
    this.#stamp(t);
  }

  /** Charge the poll of slot `s` that ran from `start` to `end` (its counts are made). */
  #exact(s: number, start: number, end: number): void {
    const f = this.#f;
    const u = this.#u;
    const r = s * F_ROW;
    const q = s * U_ROW;
    const polls = pollsOf(f, u, s);
    this.#fold(s, polls - 1);
    const d = end - start;
    const task = this.#tasks[s];
    if (task !== undefined && (task.bits & INSTRUMENT_ARMED) !== 0) this.#disarm(task, s, start);
    f[r + F_BUSY] += d;
    u[q + U_FOLDED] = polls;
    this.#histAdd(q, 1, bucketOf(d));
    if (d > f[r + F_MAX]) f[r + F_MAX] = d;
    if (d > this.longPollNs) this.#warn(s, W_LONG, "long-poll", d);
    f[r + F_LAST_END] = end;
    if (task !== undefined && u[q + U_STATE] === S_SCHEDULED) this.#arm(task, end, 1);
  }

  /** Charge the fast polls of slot `s` up to its `upTo`-th at the estimate. */
  #fold(s: number, upTo: number): void {
    const f = this.#f;
    const r = s * F_ROW;
    const q = s * U_ROW;
    const n = upTo - this.#u[q + U_FOLDED];
    if (n <= 0) return;
    const d = this.#est;
    f[r + F_BUSY] += n * d;
    this.#u[q + U_FOLDED] = upTo;
    this.#histAdd(q, n, this.#estBucket);
    if (d > f[r + F_MAX]) f[r + F_MAX] = d;
  }

  /** Count `n` polls in bucket `b` in the histogram of the task whose U row is at `q`. */
  #histAdd(q: number, n: number, b: number): void {
    const hv = this.#u[q + U_HIST];
    if (hv >= HIST_ROW) {
      this.#h[(hv - HIST_ROW) * H_ROW + b] += n;
      return;
    }
    if (hv === 0 && n === 1) {
      this.#u[q + U_HIST] = b + 1;
      return;
    }
    const at = this.#takeHistRow();
    if (hv !== 0) this.#h[at + hv - 1] = 1;
    this.#h[at + b] += n;
    this.#u[q + U_HIST] = at / H_ROW + HIST_ROW;
  }

  /**
   * `task` finished at the end of the poll just begun (its slot is still
   * set): its row is charged and copied to the ring of finished tasks.
   */
  finished(task: Task<unknown>, cancelled: boolean, failed: boolean): void {
    takeSuspended();
    if ((task.bits & INSTRUMENT_ROW) !== 0) this.#finishedRow(task, cancelled, failed);
    else if (this.#stride === 1 || failed) this.#finishedFirstSlow(task, cancelled, failed);
    else {
      // Ended in its first poll, inside a window of fast polls (the hot
      // path: no clock read; charged at the estimate).
      const n = this.#winLen + 1;
      this.#winLen = n;
      // Its slot is freed next: the window's last poll is nobody's.
      this.#lastSlot = SENTINEL_SLOT;
      const est = this.#est;
      const s = task.slot;
      this.#firstEnded(
        task.id,
        this.#bornDesc[s],
        this.#bornAt[s],
        cancelled,
        this.#winStart + n * est,
        est,
        false,
      );
      if (n >= this.#stride) this.#closeWindow();
    }
  }

  /** {@linkcode finished} of a task with a row: its row is charged and copied out. */
  #finishedRow(task: Task<unknown>, cancelled: boolean, failed: boolean): void {
    this.#flush(task);
    const s = task.slot;
    const f = this.#f;
    const u = this.#u;
    const r = s * F_ROW;
    const q = s * U_ROW;
    u[q + U_OTHER_POLLS]++;
    u[q + U_STATE] = cancelled ? S_CANCELLED : S_DONE;
    this.#ended(task);
    // Its slot is freed next: a window of one closed by a break is nobody's.
    if (this.#winLen > 0) this.#lastSlot = SENTINEL_SLOT;
    const polls = pollsOf(f, u, s);
    this.#fold(s, polls);
    const fin = this.#retire(task, cancelled, failed);
    fin.polls = polls;
    fin.selfWakes = f[r + F_SELF_WAKES];
    fin.wakes = u[q + U_WAKES] + fin.selfWakes;
    this.#finishedSelfWakes += fin.selfWakes;
    fin.busy = f[r + F_BUSY];
    fin.idle = f[r + F_IDLE];
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
    this.#tally(fin);
    // What it waited on (set at a poll that left it idle): let it go.
    if (u[q + U_OTHER_POLLS] > 1) this.#leaves[s] = null;
  }

  /**
   * {@linkcode finished} of a task that ended in its first poll (it never
   * took a row) at stride 1 (its poll is timed exactly), or that failed
   * there; the hot case (a fast window, nothing failed) is in `finished`.
   */
  #finishedFirstSlow(task: Task<unknown>, cancelled: boolean, failed: boolean): void {
    const n = this.#winLen + 1;
    this.#winLen = n;
    this.#lastSlot = SENTINEL_SLOT;
    // Closing the window stamps the spawns waiting for a reading (this
    // task's too), so it comes before the birth record is read; a fast poll
    // is charged at the estimate its window ran on, taken before the close
    // sets the next.
    const exact = this.#stride === 1;
    const start = this.#winStart;
    const est = this.#est;
    if (exact || n >= this.#stride) this.#closeWindow();
    const s = task.slot;
    const desc = this.#bornDesc[s];
    if (failed) this.#keepFailed(task.id, desc);
    const end = exact ? this.#winStart : start + n * est;
    const busy = exact ? end - start : est;
    this.#firstEnded(task.id, desc, this.#bornAt[s], cancelled, end, busy, exact);
  }

  /**
   * Count the first and only poll of a task that ended there: its entry in
   * the ring of first-poll ends, its first wait (a sample of the
   * scheduled-time histogram: every one when the poll was timed `exact`ly,
   * else one in WAKE_SAMPLE), its name's totals, a long poll.
   *
   * @param id the task's id.
   * @param desc its descriptor.
   * @param born its spawn time (UNSTAMPED: not known).
   * @param cancelled whether it ended cancelled.
   * @param end its poll's end.
   * @param busy its poll's time.
   * @param exact whether `busy` was measured (else the window's estimate).
   */
  #firstEnded(
    id: number,
    desc: number,
    born: number,
    cancelled: boolean,
    end: number,
    busy: number,
    exact: boolean,
  ): void {
    const k = this.#firstEnds++ & (MAX_FINISHED - 1);
    this.#firstId[k] = id;
    this.#firstDesc[k] = cancelled ? ~desc : desc;
    this.#firstBorn[k] = born;
    this.#firstEnd[k] = end;
    this.#firstBusy[k] = busy;
    // Its first wait (not a lost wake: nobody woke it) is its scheduled time.
    let wait = 0;
    if (born >= 0) {
      wait = end - busy - born;
      if (wait < 0) wait = 0;
      // #wakeWeight written out: the call measured slower here in each of
      // five A/Bs of instrumented sjb (alternating pairs: 2-14%, against
      // ±6% between two checkouts of the same code).
      if (exact) this.#scheduled(wait, 1);
      else if (--this.#wakeSampleIn === 0) {
        this.#wakeSampleIn = WAKE_SAMPLE;
        this.#scheduled(wait, WAKE_SAMPLE);
      }
    }
    // Its name's totals: a run of first-poll ends of one descriptor is added at once.
    if (desc !== this.#runDesc) this.#endRun(desc);
    this.#runLen++;
    this.#runBusy += busy;
    this.#runSched += wait;
    if (busy > this.longPollNs) this.#raiseFor(id, desc, "long-poll", busy);
  }

  /**
   * The weight of a wait inside a window of fast polls in the
   * scheduled-time histogram: one such wait in WAKE_SAMPLE is counted,
   * WAKE_SAMPLE times (returns WAKE_SAMPLE); the others are not (0).
   */
  #wakeWeight(): number {
    if (--this.#wakeSampleIn !== 0) return 0;
    this.#wakeSampleIn = WAKE_SAMPLE;
    return WAKE_SAMPLE;
  }

  /**
   * The ring entry that `task`, ending now, is copied into: its id, name,
   * spawn time and outcome are set here, the rest by the caller.
   */
  #retire(task: Task<unknown>, cancelled: boolean, failed: boolean): Finished {
    const s = task.slot;
    const desc = this.#bornDesc[s];
    const k = this.#finishedNext;
    const fin = this.#finished[k];
    this.#finishedNext = (k + 1) & (MAX_FINISHED - 1);
    if (this.#finishedCount < MAX_FINISHED) this.#finishedCount++;
    fin.id = task.id;
    fin.desc = desc;
    fin.cancelled = cancelled;
    fin.spawnedAt = this.#bornAt[s];
    if (failed) this.#keepFailed(task.id, desc);
    return fin;
  }

  /** Keep a failed task's descriptor (the newest MAX_FINISHED) for a later lost-error warning. */
  #keepFailed(id: number, desc: number): void {
    this.#failedDescs.set(id, desc);
    if (this.#failedDescs.size > MAX_FINISHED) {
      this.#failedDescs.delete(this.#failedDescs.keys().next().value!);
    }
  }

  /** Add a finished task's entry (it had a row), its counts set, to its name's totals. */
  #tally(fin: Finished): void {
    fin.sched = scheduledOf(fin.spawnedAt, fin.busy, fin.lastEnd, fin.idle);
    const totals = this.#totalsOf(fin.desc);
    totals.finished++;
    totals.polls += fin.polls;
    totals.busyNs += fin.busy;
    totals.scheduledNs += fin.sched;
  }

  /**
   * Add the run of first-poll ends to its descriptor's totals and start one
   * for descriptor `next` (names are read only at snapshots, so a loop of
   * spawns of one kind costs one totals update per run, not per task).
   */
  #endRun(next: number): void {
    const n = this.#runLen;
    if (n > 0) {
      const totals = this.#totalsOf(this.#runDesc);
      totals.finished += n;
      totals.polls += n;
      totals.busyNs += this.#runBusy;
      totals.scheduledNs += this.#runSched;
      this.#runLen = 0;
      this.#runBusy = 0;
      this.#runSched = 0;
    }
    this.#runDesc = next;
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
    this.#raiseFor(this.#tasks[s]?.id ?? 0, this.#bornDesc[s], kind, value);
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

  #snapTask(task: Task<unknown>, s: number, now: number, running: boolean): TaskSnapshot {
    const f = this.#f;
    const u = this.#u;
    const r = s * F_ROW;
    const q = s * U_ROW;
    const st = running ? S_RUNNING : u[q + U_STATE];
    const polls = pollsOf(f, u, s);
    this.#fold(s, polls);
    const spawned = this.#bornAt[s];
    const lastEnd = spawned === UNSTAMPED ? now : f[r + F_LAST_END];
    let idle = f[r + F_IDLE];
    if (st === S_IDLE && polls > 0 && now > lastEnd) idle += now - lastEnd;
    const scheduled = scheduledOf(spawned, f[r + F_BUSY], now, idle);
    const hv = u[q + U_HIST];
    const d = this.#bornDesc[s];
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
      wakes: u[q + U_WAKES] + f[r + F_SELF_WAKES],
      selfWakes: f[r + F_SELF_WAKES],
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
    this.#takeRows();
    const now = this.#last;
    // Inside a batch, the task polled now is the one asking (or none).
    const running = this.#chain ? tryCurrentWaker() : null;
    const out: TaskSnapshot[] = [];
    const tasks = this.#tasks;
    const n = Math.min(tasks.length, this.#cap);
    for (let s = 1; s < n; s++) {
      const t = tasks[s];
      if (t === undefined || t.slot !== s) continue;
      const ready = this.#f[s * F_ROW + F_READY];
      if (
        t !== running && this.#u[s * U_ROW + U_STATE] === S_SCHEDULED &&
        (t.bits & INSTRUMENT_ARMED) !== 0 && ready >= 0 &&
        now - ready > this.lostWakeNs && pollsOf(this.#f, this.#u, s) > 0
      ) {
        this.#warn(s, W_LOST_WAKE, "queued", now - ready);
      }
      this.#flush(t);
      out.push(this.#snapTask(t, s, now, t === running));
    }
    // The two rings of finished tasks, newest first, merged by end time.
    const keep = now - KEEP_FINISHED_MS * 1e6;
    const firsts = Math.min(this.#firstEnds, MAX_FINISHED);
    let i = 0;
    let j = 0;
    for (;;) {
      const f = i < this.#finishedCount
        ? this.#finished[(this.#finishedNext - 1 - i + MAX_FINISHED) % MAX_FINISHED]
        : null;
      const k = (this.#firstEnds - 1 - j) & (MAX_FINISHED - 1);
      const firstEnd = j < firsts ? this.#firstEnd[k] : -Infinity;
      if (f !== null && f.lastEnd >= firstEnd) {
        if (f.lastEnd < keep) break;
        out.push(finishedSnapshot(f, now));
        i++;
      } else {
        if (firstEnd < keep) break;
        out.push(
          firstSnapshot(
            this.#firstId[k],
            this.#firstDesc[k],
            this.#firstBorn[k],
            firstEnd,
            this.#firstBusy[k],
            now,
          ),
        );
        j++;
      }
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
    this.#takeRows();
    this.#endRun(NO_DESCRIPTOR);
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
      const desc = this.#bornDesc[s];
      const own = this.#totalsOf(desc);
      let e = byTotals.get(own);
      if (e === undefined) {
        e = { ...newTotals(), alive: 0 };
        byTotals.set(own, e);
        out.set(descriptorName(desc) ?? "(unnamed)", e);
      }
      this.#flush(t);
      const polls = pollsOf(this.#f, this.#u, s);
      this.#fold(s, polls);
      const r = s * F_ROW;
      e.alive++;
      e.polls += polls;
      e.busyNs += this.#f[r + F_BUSY];
      e.scheduledNs += scheduledOf(
        this.#bornAt[s],
        this.#f[r + F_BUSY],
        this.#last,
        this.#f[r + F_IDLE],
      );
    }
    // Every task spawned under a name has finished or is alive.
    for (const e of out.values()) e.spawned = e.finished + e.alive;
    return out;
  }
}

/** Stamp the row (at `r`) of a task spawned outside a poll at `t`: not polled yet, so not idle either. */
function stampSpawn(f: Float64Array, r: number, t: number): void {
  f[r + F_LAST_END] = t;
  if (f[r + F_READY] === UNSTAMPED) f[r + F_READY] = t;
}

/** Stamp the wake of the task in slot `s` at `t`: the time since its last poll was idle. */
function stampWake(f: Float64Array, u: Uint32Array, s: number, t: number): void {
  const r = s * F_ROW;
  if (pollsOf(f, u, s) > 0) {
    const idle = t - f[r + F_LAST_END];
    if (idle > 0) f[r + F_IDLE] += idle;
  }
  f[r + F_READY] = t;
}

/** The capacity after `cap` that holds at least `min` (GROWTH times, then doubled). */
function grown(cap: number, min: number): number {
  let c = cap === 0 ? INITIAL_CAPACITY : cap * GROWTH;
  while (c < min) c *= 2;
  return c;
}

/** Polls of the task in slot `s`. */
function pollsOf(f: Float64Array, u: Uint32Array, s: number): number {
  return u[s * U_ROW + U_OTHER_POLLS] + f[s * F_ROW + F_SELF_WAKES];
}

/**
 * Scheduled time up to `at` of a task spawned at `spawned` (UNSTAMPED: not
 * known, 0), busy `busy` and idle `idle`: the rest of its life, neither
 * busy nor idle.
 */
function scheduledOf(spawned: number, busy: number, at: number, idle: number): number {
  if (spawned < 0) return 0;
  const v = at - spawned - busy - idle;
  return v > 0 ? v : 0;
}

function finishedSnapshot(f: Finished, now: number): TaskSnapshot {
  const spawned = f.spawnedAt === UNSTAMPED ? f.lastEnd : f.spawnedAt;
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
    sinceLastPollNs: Math.max(0, now - f.lastEnd),
    ageNs: Math.max(0, now - spawned),
    waitingOn: null,
    pollTimes: f.hv >= HIST_ROW
      ? toHistogram(f.hist, f.busy, f.max)
      : singleSample(f.hv === 0 ? -1 : f.busy),
  };
}

/**
 * The snapshot of a task that ended in its first poll (one poll, no wakes,
 * never idle; its scheduled time its wait for that poll).
 *
 * @param id its id.
 * @param stored its descriptor, complemented if it was cancelled.
 * @param born its spawn time (UNSTAMPED: not known).
 * @param end its poll's end.
 * @param busy its poll's time.
 * @param now the reading the snapshot is relative to.
 * @returns its snapshot.
 */
function firstSnapshot(
  id: number,
  stored: number,
  born: number,
  end: number,
  busy: number,
  now: number,
): TaskSnapshot {
  const cancelled = stored < 0;
  const desc = cancelled ? ~stored : stored;
  return {
    id,
    name: descriptorName(desc),
    spawnSite: descriptorSite(desc),
    state: cancelled ? "cancelled" : "done",
    worker: 0,
    polls: 1,
    busyNs: busy,
    scheduledNs: scheduledOf(born, busy, end, 0),
    idleNs: 0,
    wakes: 0,
    selfWakes: 0,
    sinceLastPollNs: Math.max(0, now - end),
    ageNs: Math.max(0, now - (born === UNSTAMPED ? end : born)),
    waitingOn: null,
    pollTimes: singleSample(busy),
  };
}

/** The `kind` of what a task waits on: a Leaf's class (its prototype's `kind`), or an object with one. */
function kindOf(leaf: unknown): string | null {
  if (leaf === null || leaf === undefined) return null;
  const k = typeof leaf === "function"
    ? (leaf.prototype as { kind?: unknown } | undefined)?.kind
    : (leaf as { kind?: unknown }).kind;
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
