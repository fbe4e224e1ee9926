/**
 * Who is searching for work and who is parked, shared by all workers (Tokio's
 * idle state), plus a per-worker park word.
 *
 * Memory (int32 words from `byteOffset`):
 *
 * | word | meaning |
 * | --- | --- |
 * | 0 | state: `searching + parked × 65536` (one word, changed atomically) |
 * | 16 … | sleepers: a bitset, bit `i` set while worker `i` is parked |
 * | after | per worker, on its own 64-byte line: its park word, then its search word |
 *
 * The state counts *parked* workers rather than unparked ones so that a
 * zero-filled region is the initial state (all running, none searching). The
 * sleeper bitset is the arbiter of who wakes whom: whoever clears bit `i`
 * (a notifier or `unparkWorker`) owns worker `i`'s return, and only then
 * adjusts the counts — a worker is never woken or counted twice.
 *
 * Invariants:
 * - a search is granted only while `2 × searching < workers`, so at most
 *   `ceil(workers / 2)` workers search at once (`transitionWorkerToSearching`);
 * - a notifier wakes a sleeper only when nobody is searching and someone is
 *   parked, and claims that right with one CAS that makes `searching` 1, so
 *   concurrent pushes wake one worker, not a herd; the woken worker holds that
 *   search and must call `transitionWorkerFromSearching` when it finds work
 *   (which tells it whether it was the last searcher, and so must notify another);
 * - the counts may lag the bitset by one step of a worker in transition; both
 *   settle, and a worker that finds work while parked removes itself with
 *   `unparkWorker` (as Tokio: no task is lost, at worst one fewer worker wakes);
 * - who searches is recorded too: worker `i`'s search word is SEARCHING while
 *   one of the counted searches is its own. Whoever takes the word from
 *   SEARCHING to IDLE, with one exchange, takes that search out of the count:
 *   the worker when it stops searching or parks, or the pool retiring a dead
 *   worker (`retireWorker`). So each counted search is given back once, even
 *   when the pool races a dead worker's thread that runs on, and a worker
 *   killed while searching no longer leaves the count too high for good
 *   (which kept every push from waking anyone). The count is raised before
 *   the word is set (by the searcher itself, or by the notifier that chose a
 *   sleeper), so it never falls below the words set; a thread stopped between
 *   the two steps of a transition (count and word) is the one case left where
 *   the count stays one too high;
 * - a parking worker gives its search back before its sleeper bit goes up, so
 *   a search a notifier gives a sleeper is taken only by that worker once it
 *   runs again, or by `retireWorker`;
 * - a woken worker may find work in the moment between its notifier clearing
 *   its sleeper bit and setting its search word: the word then holds a search
 *   the worker does not use. It gives it back the next time it finds work or
 *   parks (both take the word), and a search it starts meanwhile is that one.
 *
 * Park words (Atomics.wait/notify parking, or a reactor): EMPTY → PARKED by
 * the sleeper, any → NOTIFIED by `unpark`; `unpark` calls `wake(index)` only
 * when the sleeper was PARKED. The default `wake` is `Atomics.notify` on the
 * park word; a worker that blocks in its reactor instead passes the reactor's
 * cross-thread wake, and uses `prepareToPark`/`finishPark` around its wait.
 * A notification given before the wait is never lost: the wait does not start
 * (Atomics.wait compares the word; the reactor path checks `prepareToPark`).
 *
 * JS Atomics are sequentially consistent; every shared word here is accessed
 * only through them.
 *
 * @module
 */

import { int32View } from "./ring_core.ts";

const STATE = 0;
const SLEEPERS = 16;
const PARK_ONE = 1 << 16;
const SEARCH_MASK = 0xffff;

/** Park word: running, no notification pending. */
const EMPTY = 0;
/** Park word: blocked (or about to block) waiting for a notification. */
const PARKED = 1;
/** Park word: a notification is pending. */
const NOTIFIED = 2;

/** Search word (a park line's next word): this worker holds none of the counted searches. */
const IDLE = 0;
/** Search word: one of the counted searches is this worker's. */
const SEARCHING = 1;
/** Offset of a worker's search word from its park word (same line: same readers and writers). */
const SEARCH_WORD = 1;

/**
 * Maximum workers an {@link IdleState} tracks.
 *
 * @example
 * ```ts
 * import { IdleState, MAX_WORKERS } from "./idle.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(IdleState.byteLengthFor(MAX_WORKERS) > 0);
 * assert.throws(() => IdleState.byteLengthFor(MAX_WORKERS + 1), RangeError);
 * ```
 */
export const MAX_WORKERS = 4096;

function sleeperWords(workers: number): number {
  return Math.ceil(workers / 32);
}

/** Word index of worker i's park word. */
function parkWordBase(workers: number): number {
  return SLEEPERS + Math.ceil(sleeperWords(workers) / 16) * 16;
}

function checkWorkers(workers: number): void {
  if (!Number.isInteger(workers)) {
    throw new TypeError(`workers must be an integer, got ${workers}`);
  }
  if (workers < 1 || workers > MAX_WORKERS) {
    throw new RangeError(`workers must be in [1, ${MAX_WORKERS}], got ${workers}`);
  }
}

/**
 * The shared idle/park state of `workers` workers. Each worker builds its own
 * object over the same memory; all methods are safe from any thread.
 *
 * @example
 * ```ts
 * import { IdleState } from "./idle.ts";
 * import assert from "node:assert/strict";
 * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(2)), 0, 2);
 * idle.transitionWorkerToParked(1);
 * const w = idle.workerToNotify(); // a task was pushed: wake a sleeper
 * if (w >= 0) idle.unpark(w);
 * assert.equal(w, 1);
 * assert.equal(idle.numSearching, 1);
 * ```
 */
export class IdleState {
  /** Number of workers tracked. */
  readonly workers: number;
  readonly #i32: Int32Array;
  readonly #parkBase: number;
  readonly #wake: (index: number) => void;

  /**
   * Bytes the state of `workers` workers occupies (a multiple of 64).
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * assert.equal(IdleState.byteLengthFor(4), 384);
   * ```
   */
  static byteLengthFor(workers: number): number {
    checkWorkers(workers);
    return (parkWordBase(workers) + workers * 16) * 4;
  }

  /**
   * View the state at `byteOffset` of `sab`. `wake(index)` is called by
   * `unpark` when worker `index` is blocked; the default notifies its park
   * word (for workers that block in {@link IdleState.park}).
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const woken: number[] = [];
   * const idle = new IdleState(
   *   new SharedArrayBuffer(IdleState.byteLengthFor(2)),
   *   0,
   *   2,
   *   (i) => woken.push(i),
   * );
   * idle.prepareToPark(0); // worker 0 is about to block in its reactor
   * idle.unpark(0);
   * assert.deepEqual(woken, [0]);
   * ```
   */
  constructor(
    sab: SharedArrayBuffer,
    byteOffset: number,
    workers: number,
    wake?: (index: number) => void,
  ) {
    const bytes = IdleState.byteLengthFor(workers);
    if (wake !== undefined && typeof wake !== "function") {
      throw new TypeError("IdleState: wake must be a function");
    }
    this.workers = workers;
    this.#i32 = int32View(sab, byteOffset, bytes, "IdleState");
    this.#parkBase = parkWordBase(workers);
    this.#wake = wake ?? ((i) => Atomics.notify(this.#i32, this.#parkBase + i * 16, 1));
  }

  #check(index: number): void {
    if (!Number.isInteger(index)) throw new TypeError(`worker index must be an integer`);
    if (index < 0 || index >= this.workers) {
      throw new RangeError(`worker index ${index} not in [0, ${this.workers})`);
    }
  }

  /**
   * Workers searching for work now (a snapshot).
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(4)), 0, 4);
   * idle.transitionWorkerToSearching(2);
   * assert.equal(idle.numSearching, 1);
   * ```
   */
  get numSearching(): number {
    return Atomics.load(this.#i32, STATE) & SEARCH_MASK;
  }

  /**
   * Workers counted as parked now (a snapshot).
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(4)), 0, 4);
   * idle.transitionWorkerToParked(2);
   * assert.equal(idle.numParked, 1);
   * assert.equal(idle.numUnparked, 3);
   * ```
   */
  get numParked(): number {
    const s = Atomics.load(this.#i32, STATE);
    return (s - (s & SEARCH_MASK)) / PARK_ONE;
  }

  /**
   * Workers counted as not parked (`workers - numParked`, a snapshot).
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(4)), 0, 4);
   * assert.equal(idle.numUnparked, 4);
   * ```
   */
  get numUnparked(): number {
    return this.workers - this.numParked;
  }

  /**
   * Worker `index` starts searching (stealing); false — don't search — when
   * half or more of the workers already are, which bounds contention on the
   * victims. True at once when it already holds a search (a notifier chose it).
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(2)), 0, 2);
   * assert.equal(idle.transitionWorkerToSearching(0), true);
   * assert.equal(idle.transitionWorkerToSearching(1), false); // one of two already searches
   * assert.equal(idle.isSearching(0), true);
   * ```
   */
  transitionWorkerToSearching(index: number): boolean {
    this.#check(index);
    const i32 = this.#i32;
    const word = this.#searchWord(index);
    if (Atomics.load(i32, word) === SEARCHING) return true;
    let s = Atomics.load(i32, STATE);
    for (;;) {
      if (2 * (s & SEARCH_MASK) >= this.workers) return false;
      const seen = Atomics.compareExchange(i32, STATE, s, s + 1);
      if (seen === s) break;
      s = seen;
    }
    // Counted first, recorded next: the count never falls below the words set.
    Atomics.store(i32, word, SEARCHING);
    return true;
  }

  /**
   * Worker `index` stops searching (it found work); true when it was the last
   * searcher, in which case the caller must notify another worker if work is
   * pending (`notifyOne`), so that parallelism ramps up. False, changing
   * nothing, when it holds no search (so it may be called for every task found).
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(4)), 0, 4);
   * idle.transitionWorkerToSearching(0);
   * idle.transitionWorkerToSearching(1);
   * assert.equal(idle.transitionWorkerFromSearching(0), false);
   * assert.equal(idle.transitionWorkerFromSearching(1), true); // the last searcher
   * assert.equal(idle.transitionWorkerFromSearching(1), false); // not searching any more
   * ```
   */
  transitionWorkerFromSearching(index: number): boolean {
    this.#check(index);
    if (!this.#takeSearch(index)) return false;
    return (Atomics.sub(this.#i32, STATE, 1) & SEARCH_MASK) === 1;
  }

  /**
   * Whether worker `index` holds one of the counted searches (a snapshot).
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(2)), 0, 2);
   * assert.equal(idle.isSearching(1), false);
   * ```
   */
  isSearching(index: number): boolean {
    this.#check(index);
    return Atomics.load(this.#i32, this.#searchWord(index)) === SEARCHING;
  }

  /**
   * Record that worker `index` is about to park (it found no work); it joins
   * the sleepers and gives back its search if it held one. Returns true when
   * it was the last searcher: the caller must then re-check every queue and
   * notify a worker if any has work (a push may have skipped notifying
   * because this worker was searching).
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(4)), 0, 4);
   * idle.transitionWorkerToSearching(3);
   * assert.equal(idle.transitionWorkerToParked(3), true);
   * assert.equal(idle.isParked(3), true);
   * assert.equal(idle.numSearching, 0);
   * ```
   */
  transitionWorkerToParked(index: number): boolean {
    this.#check(index);
    const bit = 1 << (index & 31);
    // Its search goes back before it joins the sleepers: a notifier that chooses it from then on
    // gives it a search of its own, which this call must not take.
    const searching = this.#takeSearch(index);
    const prevBits = Atomics.or(this.#i32, SLEEPERS + (index >>> 5), bit);
    if ((prevBits & bit) !== 0) {
      if (searching) Atomics.sub(this.#i32, STATE, 1);
      throw new RangeError(`transitionWorkerToParked: worker ${index} is already parked`);
    }
    const prev = Atomics.add(this.#i32, STATE, searching ? PARK_ONE - 1 : PARK_ONE);
    return searching && (prev & SEARCH_MASK) === 1;
  }

  /**
   * Pick a parked worker to wake because a task was pushed: -1 when someone is
   * already searching (it will find the task) or nobody is parked. The chosen
   * worker leaves the sleepers and holds a search; the caller then
   * wakes it with {@link IdleState.unpark}.
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(3)), 0, 3);
   * assert.equal(idle.workerToNotify(), -1); // nobody parked
   * idle.transitionWorkerToParked(2);
   * assert.equal(idle.workerToNotify(), 2);
   * assert.equal(idle.isSearching(2), true);
   * assert.equal(idle.workerToNotify(), -1);
   * ```
   */
  workerToNotify(): number {
    const i32 = this.#i32;
    // Claim the notifier role: searching 0 → 1 (the woken worker's search).
    let s = Atomics.load(i32, STATE);
    for (;;) {
      if ((s & SEARCH_MASK) !== 0 || s < PARK_ONE) return -1;
      const seen = Atomics.compareExchange(i32, STATE, s, s + 1);
      if (seen === s) break;
      s = seen;
    }
    const words = sleeperWords(this.workers);
    for (let w = 0; w < words; w++) {
      let bits = Atomics.load(i32, SLEEPERS + w);
      while (bits !== 0) {
        const low = bits & -bits;
        const prev = Atomics.and(i32, SLEEPERS + w, ~low);
        if ((prev & low) !== 0) {
          // It is ours: the claimed search is its own from now on, and it is counted unparked.
          const index = w * 32 + (31 - Math.clz32(low));
          Atomics.store(i32, this.#searchWord(index), SEARCHING);
          Atomics.sub(i32, STATE, PARK_ONE);
          return index;
        }
        bits = prev & ~low; // someone else took that one
      }
    }
    // The parked count ran ahead of the bitset (a worker mid-unpark): give the claim back.
    Atomics.sub(i32, STATE, 1);
    return -1;
  }

  /**
   * Wake a parked worker and count it as searching — `workerToNotify` then
   * `unpark`; returns the worker woken or -1.
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(2)), 0, 2);
   * idle.transitionWorkerToParked(0);
   * assert.equal(idle.notifyOne(), 0);
   * ```
   */
  notifyOne(): number {
    const w = this.workerToNotify();
    if (w >= 0) this.unpark(w);
    return w;
  }

  /**
   * Forget worker `index`, which died (its thread may still run on for a
   * moment): take it out of the sleepers and give back the search it held, so
   * that pushes wake the live workers again. Call it again once the thread has
   * stopped (it may have parked or searched meanwhile), before a new worker
   * takes the index. Returns true if it held a search (the caller should then
   * wake a worker if work is pending: it may have been the last searcher).
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(2)), 0, 2);
   * idle.transitionWorkerToSearching(0); // worker 0 searches, then is killed
   * assert.equal(idle.transitionWorkerToSearching(1), false); // 1 of 2 search already
   * assert.equal(idle.retireWorker(0), true);
   * assert.equal(idle.numSearching, 0);
   * assert.equal(idle.transitionWorkerToSearching(1), true);
   * ```
   */
  retireWorker(index: number): boolean {
    this.unparkWorker(index);
    if (!this.#takeSearch(index)) return false;
    Atomics.sub(this.#i32, STATE, 1);
    return true;
  }

  /** Word index of worker `index`'s search word. */
  #searchWord(index: number): number {
    return this.#parkBase + index * 16 + SEARCH_WORD;
  }

  /**
   * Take worker `index`'s search word from SEARCHING to IDLE; true if this call did it (the
   * caller then takes the search out of the count). The exchange makes it once per search:
   * the worker and a pool retiring it may race.
   */
  #takeSearch(index: number): boolean {
    const word = this.#searchWord(index);
    if (Atomics.load(this.#i32, word) === IDLE) return false; // the common case: no write
    return Atomics.exchange(this.#i32, word, IDLE) === SEARCHING;
  }

  /**
   * Remove worker `index` from the sleepers (not as a searcher): used by a
   * worker that wakes and finds work of its own, or at shutdown. True if it
   * was parked. Does not wake it: call {@link IdleState.unpark} for that.
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(2)), 0, 2);
   * idle.transitionWorkerToParked(1);
   * assert.equal(idle.unparkWorker(1), true);
   * assert.equal(idle.unparkWorker(1), false);
   * assert.equal(idle.numParked, 0);
   * ```
   */
  unparkWorker(index: number): boolean {
    this.#check(index);
    const bit = 1 << (index & 31);
    const prev = Atomics.and(this.#i32, SLEEPERS + (index >>> 5), ~bit);
    if ((prev & bit) === 0) return false;
    Atomics.sub(this.#i32, STATE, PARK_ONE);
    return true;
  }

  /**
   * Whether worker `index` is in the sleepers (a parked worker that wakes and
   * still finds itself here was not notified: it may park again).
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(2)), 0, 2);
   * assert.equal(idle.isParked(0), false);
   * ```
   */
  isParked(index: number): boolean {
    this.#check(index);
    const bit = 1 << (index & 31);
    return (Atomics.load(this.#i32, SLEEPERS + (index >>> 5)) & bit) !== 0;
  }

  /**
   * Give worker `index` a notification: its next (or current) park returns.
   * Calls `wake(index)` when the worker is blocked.
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(1)), 0, 1);
   * idle.unpark(0);
   * assert.equal(idle.park(0, 1000), true); // at once: the notification was pending
   * ```
   */
  unpark(index: number): void {
    this.#check(index);
    const prev = Atomics.exchange(this.#i32, this.#parkBase + index * 16, NOTIFIED);
    if (prev === PARKED) this.#wake(index);
  }

  /**
   * Reactor-style parking, step 1 (called by worker `index` itself): mark it
   * PARKED. Returns false — consuming it — when a notification is already
   * pending, in which case the caller must not block.
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(1)), 0, 1);
   * if (idle.prepareToPark(0)) {
   *   // block in the reactor here, with the next timer deadline as timeout
   *   idle.finishPark(0);
   * }
   * ```
   */
  prepareToPark(index: number): boolean {
    this.#check(index);
    const word = this.#parkBase + index * 16;
    const prev = Atomics.compareExchange(this.#i32, word, EMPTY, PARKED);
    if (prev === EMPTY) return true;
    Atomics.store(this.#i32, word, EMPTY); // NOTIFIED (or stale PARKED): consume
    return false;
  }

  /**
   * Reactor-style parking, step 2: after the wait returned, back to EMPTY;
   * true when a notification arrived (false: timeout or spurious wake).
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(1)), 0, 1);
   * idle.prepareToPark(0);
   * assert.equal(idle.finishPark(0), false); // nobody notified
   * ```
   */
  finishPark(index: number): boolean {
    this.#check(index);
    return Atomics.exchange(this.#i32, this.#parkBase + index * 16, EMPTY) === NOTIFIED;
  }

  /**
   * Block worker `index` (a Deno Worker thread, or the main thread where
   * `Atomics.wait` is allowed) until `unpark(index)` or `timeoutMs` passes.
   * True when notified. Only valid with the default `wake`.
   *
   * @example
   * ```ts
   * import { IdleState } from "./idle.ts";
   * import assert from "node:assert/strict";
   * const idle = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(1)), 0, 1);
   * assert.equal(idle.park(0, 1), false); // timed out after 1 ms
   * ```
   */
  park(index: number, timeoutMs: number = Infinity): boolean {
    if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      throw new RangeError(`park: timeoutMs must be a non-negative number, got ${timeoutMs}`);
    }
    if (!this.prepareToPark(index)) return true;
    Atomics.wait(this.#i32, this.#parkBase + index * 16, PARKED, timeoutMs);
    return this.finishPark(index);
  }
}
