/**
 * The global inject queue: a bounded multi-producer multi-consumer FIFO of
 * task ids in a SharedArrayBuffer, shared by every worker.
 *
 * Algorithm: a ring of cells with an enqueue and a dequeue position (after
 * Dmitry Vyukov's bounded MPMC queue). Producers claim positions by CAS on the
 * enqueue position, consumers on the dequeue position; a batch claims `k`
 * consecutive positions with one CAS after checking their cells are ready.
 * Positions are int32 and wrap. Position `p` lives in cell `p & (capacity-1)`
 * and belongs to lap `p >>> log2(capacity)`.
 *
 * A cell is one int32 word: a phase in the top 11 bits and a task id in the
 * low 21 (so ids are below 2^21). Phase `2·lap` (id 0) means free for the
 * producer of that lap; `2·lap + 1` means it holds the id for that lap's
 * consumer, who hands the cell to the next lap by setting phase `2·lap + 2`.
 * Phases count modulo 2^11 and are compared by signed difference (behind:
 * the previous lap still holds it; ahead: another thread took the position).
 * A zero-filled region is a valid empty queue with no initialisation step.
 *
 * One word per cell is what makes a stopped thread repairable. A thread that
 * stops for good between claiming a position and finishing its cell (a
 * killed worker) would block the queue: an unpublished cell stops every
 * consumer at it, an unreleased one stops every producer a lap later. Every
 * cell change is a CAS of the whole word (publish: free → holds id; release:
 * holds id → free for the next lap), so {@link InjectQueue.repairStalled}
 * (the pool calls it after a worker death) can finish a stalled cell on its
 * owner's behalf: it skips an unpublished cell once the consumers stand at it
 * (it claims that position itself and frees the cell for the next lap), and
 * releases an unreleased one, keeping its id for the caller to queue again.
 * Whichever CAS comes second fails, so a thread that was only slow, not dead,
 * learns it lost the cell: a producer pushes its id again, a consumer drops it
 * and pops again. No thread ever writes a cell it might have lost, so each id
 * comes out exactly once. (A thread stalled for 1024 laps could see its
 * phase again and win its CAS on a later lap's cell; that moves an id to a
 * later position, and still loses or repeats none.)
 *
 * Why lock-free rather than Tokio's mutex: workers here are OS threads that get
 * preempted (2 cores, N workers plus Deno's own threads); a preempted lock
 * holder would stall every other worker's spawn, overflow and poll. In this
 * queue a preempted producer only delays the one cell it claimed: consumers
 * reaching that cell see "empty" until it publishes (so `pop` may return -1
 * while `length > 0` for that moment — the producer notifies a worker after its
 * push completes, so nothing is missed). No spinning or `Atomics.wait` is needed.
 *
 * Full queue policy:
 * - `push(id)` returns false when full. The caller keeps the task (run it
 *   locally, or retry after a backoff); size the queue so this is rare —
 *   the pool uses 65536, far above `256 × workers` plus spawn bursts.
 * - `pushBatch` is the local rings' overflow sink and must not fail (the ring
 *   has already given the ids up): what does not fit goes to a spill list
 *   private to this worker's `InjectQueue` object, drained back into the shared
 *   queue by this worker's later `push`/`pushBatch`/`pop`/`popBatch` calls, and
 *   popped locally when the shared queue is empty. Only this worker sees
 *   spilled tasks until they drain; `spilled` reports them.
 *
 * Memory order: every access to a cell or a position is an `Atomics`
 * operation (sequentially consistent); there are no plain shared accesses.
 *
 * @module
 */

import { badTaskId, int32View } from "./ring_core.ts";

/** Word of the enqueue position (int32 index from the queue's byte offset). */
export const ENQ: number = 0;
/** Word of the dequeue position (own cache line). */
export const DEQ: number = 16;
/** Word of the first cell; cell i is word CELLS+i. */
export const CELLS: number = 32;
/**
 * Bits of a cell word holding the task id (its low bits); the phase is the word's top
 * `32 - ID_BITS` bits, read as `word >>> ID_BITS`.
 *
 * @example
 * ```ts
 * import { ID_BITS, ID_MASK, PHASE_MASK } from "./shared_inject_queue.ts";
 * import assert from "node:assert/strict";
 * const word = (5 << ID_BITS) | 42; // phase 5 (lap 2's cell holds an id), id 42
 * assert.equal(word & ID_MASK, 42);
 * assert.equal(word >>> ID_BITS, 5);
 * assert.equal(PHASE_MASK + 1, 2 ** (32 - ID_BITS));
 * ```
 */
export const ID_BITS: number = 21;
/** Mask of the id in a cell word: `word & ID_MASK` is the id. */
export const ID_MASK: number = (1 << ID_BITS) - 1;
/** Phases count modulo 2^11 (the word's top 11 bits): `phase & PHASE_MASK`. */
export const PHASE_MASK: number = 0x7ff;
/** Largest capacity: lap phases must stay continuous where int32 positions wrap. */
const MAX_CAPACITY_LOG2 = 22;
/** A cell whose producer claimed it and has not published it. */
const UNPUBLISHED = 1;
/** A cell whose consumer claimed it and has not released it. */
const UNRELEASED = 2;

/**
 * Ids the inject queue can hold: `[0, INJECT_ID_LIMIT)` (a pool's slot ids are below 2^20).
 *
 * @example
 * ```ts
 * import { INJECT_ID_LIMIT } from "./shared_inject_queue.ts";
 * import assert from "node:assert/strict";
 * assert.equal(INJECT_ID_LIMIT, 2 ** 21);
 * ```
 */
export const INJECT_ID_LIMIT: number = 1 << ID_BITS;

/** Phase difference `a - b` modulo 2^11, as a signed number. */
function phaseDiff(a: number, b: number): number {
  return ((a - b) << (32 - 11)) >> (32 - 11);
}

function checkCapacity(capacity: number): void {
  if (!Number.isInteger(capacity)) {
    throw new TypeError(`inject capacity must be an integer, got ${capacity}`);
  }
  if (
    capacity < 2 || capacity > 1 << MAX_CAPACITY_LOG2 || (capacity & (capacity - 1)) !== 0
  ) {
    throw new RangeError(`inject capacity must be a power of two in [2, 2^22], got ${capacity}`);
  }
}

/** Throw the right error for an id the queue cannot hold. */
function badInjectId(id: unknown): never {
  if (typeof id === "number" && Number.isInteger(id) && id >= INJECT_ID_LIMIT) {
    throw new RangeError(`inject queue ids must be below 2^21, got ${id}`);
  }
  return badTaskId(id);
}

/**
 * The shared inject FIFO. Every worker constructs its own object over the same
 * memory; all methods are safe from any thread.
 *
 * @example
 * ```ts
 * import { InjectQueue } from "./shared_inject_queue.ts";
 * const sab = new SharedArrayBuffer(InjectQueue.byteLengthFor(8));
 * const q = new InjectQueue(sab, 0, 8);
 * q.push(1);
 * q.pushBatch([2, 3, 4], 3);
 * const out = new Int32Array(2);
 * import assert from "node:assert/strict";
 * assert.equal(q.pop(), 1);
 * assert.equal(q.popBatch(out, 2), 2);
 * assert.deepEqual([...out], [2, 3]);
 * assert.equal(q.length, 1);
 * ```
 */
export class InjectQueue {
  /** Cells in the shared ring (a power of two). */
  readonly capacity: number;
  readonly #mask: number;
  /** log2(capacity): a position's lap is `p >>> #shift`. */
  readonly #shift: number;
  readonly #i32: Int32Array;
  /** This worker's overflow that did not fit (see the module doc). */
  #spill: number[] = [];
  #spillHead = 0;
  /** Cells the last {@link InjectQueue.repairStalled} saw claimed and unfinished: position → kind. */
  #suspects = new Map<number, number>();

  /**
   * Bytes a queue of `capacity` cells occupies: 128 + 4 × capacity.
   *
   * @example
   * ```ts
   * import { InjectQueue } from "./shared_inject_queue.ts";
   * import assert from "node:assert/strict";
   * assert.equal(InjectQueue.byteLengthFor(65536), 262272);
   * ```
   */
  static byteLengthFor(capacity: number): number {
    checkCapacity(capacity);
    return (CELLS + capacity) * 4;
  }

  /**
   * View the queue at `byteOffset` (a multiple of 4; 64 recommended) of `sab`.
   * Every worker must pass the same `capacity`.
   *
   * @example
   * ```ts
   * import { InjectQueue } from "./shared_inject_queue.ts";
   * import assert from "node:assert/strict";
   * const q = new InjectQueue(new SharedArrayBuffer(InjectQueue.byteLengthFor(4)), 0, 4);
   * assert.equal(q.pop(), -1);
   * ```
   */
  constructor(sab: SharedArrayBuffer, byteOffset: number, capacity: number) {
    const bytes = InjectQueue.byteLengthFor(capacity);
    this.capacity = capacity;
    this.#mask = capacity - 1;
    this.#shift = 31 - Math.clz32(capacity);
    this.#i32 = int32View(sab, byteOffset, bytes, "InjectQueue");
  }

  /** The phase of a cell that is free for the producer of position `p`. */
  #freePhase(p: number): number {
    return ((p >>> this.#shift) << 1) & PHASE_MASK;
  }

  /**
   * Append `id`; false when the shared queue is full (or this worker still has
   * spilled ids waiting, which keeps FIFO order) — the caller keeps the task.
   *
   * @example
   * ```ts
   * import { InjectQueue } from "./shared_inject_queue.ts";
   * import assert from "node:assert/strict";
   * const q = new InjectQueue(new SharedArrayBuffer(InjectQueue.byteLengthFor(2)), 0, 2);
   * assert.equal(q.push(1), true);
   * assert.equal(q.push(2), true);
   * assert.equal(q.push(3), false);
   * ```
   */
  push(id: number): boolean {
    if ((id | 0) !== id || id < 0 || id >= INJECT_ID_LIMIT) badInjectId(id);
    if (this.#spillHead < this.#spill.length && !this.#drainSpill()) return false;
    return this.#pushShared(id);
  }

  #pushShared(id: number): boolean {
    const i32 = this.#i32;
    const mask = this.#mask;
    let pos = Atomics.load(i32, ENQ);
    for (;;) {
      const cell = CELLS + (pos & mask);
      const free = this.#freePhase(pos);
      const dif = phaseDiff(Atomics.load(i32, cell) >>> ID_BITS, free);
      if (dif === 0) {
        const seen = Atomics.compareExchange(i32, ENQ, pos, (pos + 1) | 0);
        if (seen === pos) {
          // Publish to the consumer, unless a repair skipped the cell meanwhile: push again.
          const empty = free << ID_BITS;
          const word = ((free + 1) << ID_BITS) | id;
          if (Atomics.compareExchange(i32, cell, empty, word) === empty) return true;
          pos = Atomics.load(i32, ENQ);
          continue;
        }
        pos = seen;
      } else if (dif < 0) {
        return false; // the cell still holds (or is handing over) the previous lap
      } else {
        pos = Atomics.load(i32, ENQ); // another producer took pos
      }
    }
  }

  /**
   * Append the first `count` ids of `ids` in order, claiming runs of cells with
   * one CAS each. Never fails: what does not fit is spilled (module doc). The
   * ids are copied during the call.
   *
   * @example
   * ```ts
   * import { InjectQueue } from "./shared_inject_queue.ts";
   * import assert from "node:assert/strict";
   * const q = new InjectQueue(new SharedArrayBuffer(InjectQueue.byteLengthFor(2)), 0, 2);
   * q.pushBatch(new Int32Array([1, 2, 3]), 3);
   * assert.equal(q.length, 2);
   * assert.equal(q.spilled, 1);
   * assert.equal(q.pop(), 1);
   * assert.equal(q.pop(), 2);
   * assert.equal(q.pop(), 3);
   * assert.equal(q.pop(), -1);
   * ```
   */
  pushBatch(ids: Int32Array | number[], count: number): void {
    if (!Number.isInteger(count) || count < 0 || count > ids.length) {
      throw new RangeError(`pushBatch: count must be in [0, ${ids.length}], got ${count}`);
    }
    for (let i = 0; i < count; i++) {
      const id = ids[i];
      if ((id | 0) !== id || id < 0 || id >= INJECT_ID_LIMIT) badInjectId(id);
    }
    let done = 0;
    if (this.#spillHead >= this.#spill.length || this.#drainSpill()) {
      done = this.#pushRun(ids, 0, count);
    }
    for (let i = done; i < count; i++) this.#spill.push(ids[i]);
  }

  /** Push ids[from, to) into the shared ring; returns the index reached (stops when full). */
  #pushRun(ids: Int32Array | number[], from: number, to: number): number {
    const i32 = this.#i32;
    const mask = this.#mask;
    const shift = this.#shift;
    let i = from;
    while (i < to) {
      const pos = Atomics.load(i32, ENQ);
      // Count the consecutive cells free for positions pos, pos+1, ...: only a
      // producer claiming them through ENQ could change them, so if our CAS
      // from `pos` succeeds they are still free.
      let k = 0;
      const want = Math.min(to - i, this.capacity);
      let dif = 0;
      while (k < want) {
        const p = (pos + k) | 0;
        const free = ((p >>> shift) << 1) & PHASE_MASK;
        dif = phaseDiff(Atomics.load(i32, CELLS + (p & mask)) >>> ID_BITS, free);
        if (dif !== 0) break;
        k++;
      }
      if (k === 0) {
        if (dif < 0) return i; // full
        continue; // pos was stale
      }
      if (Atomics.compareExchange(i32, ENQ, pos, (pos + k) | 0) !== pos) continue;
      for (let j = 0; j < k; j++) {
        const p = (pos + j) | 0;
        const free = ((p >>> shift) << 1) & PHASE_MASK;
        const empty = free << ID_BITS;
        const id = ids[i + j];
        const word = ((free + 1) << ID_BITS) | id;
        if (Atomics.compareExchange(i32, CELLS + (p & mask), empty, word) !== empty) {
          // A repair skipped this cell (we were too slow): the id waits in the spill.
          this.#spill.push(id);
        }
      }
      i += k;
    }
    return i;
  }

  /** Move spilled ids into the shared ring; true when the spill is empty afterwards. */
  #drainSpill(): boolean {
    const spill = this.#spill;
    const reached = this.#pushRun(spill, this.#spillHead, spill.length);
    if (reached === spill.length) {
      this.#spill = [];
      this.#spillHead = 0;
      return true;
    }
    this.#spillHead = reached;
    if (reached > 1024 && reached * 2 > spill.length) {
      this.#spill = spill.slice(reached);
      this.#spillHead = 0;
    }
    return false;
  }

  /**
   * Take the oldest id; -1 when empty (see the module doc for the one
   * transient case with `length > 0`).
   *
   * @example
   * ```ts
   * import { InjectQueue } from "./shared_inject_queue.ts";
   * import assert from "node:assert/strict";
   * const q = new InjectQueue(new SharedArrayBuffer(InjectQueue.byteLengthFor(4)), 0, 4);
   * q.push(5);
   * assert.equal(q.pop(), 5);
   * assert.equal(q.pop(), -1);
   * ```
   */
  pop(): number {
    if (this.#spillHead < this.#spill.length) this.#drainSpill();
    const i32 = this.#i32;
    const mask = this.#mask;
    let pos = Atomics.load(i32, DEQ);
    for (;;) {
      const cell = CELLS + (pos & mask);
      const full = this.#freePhase(pos) + 1;
      const word = Atomics.load(i32, cell);
      const dif = phaseDiff(word >>> ID_BITS, full);
      if (dif === 0) {
        const seen = Atomics.compareExchange(i32, DEQ, pos, (pos + 1) | 0);
        if (seen === pos) {
          // Free the cell for the next lap, unless a repair took its id meanwhile: pop again.
          const next = ((full + 1) & PHASE_MASK) << ID_BITS;
          if (Atomics.compareExchange(i32, cell, word, next) === word) return word & ID_MASK;
          pos = Atomics.load(i32, DEQ);
          continue;
        }
        pos = seen;
      } else if (dif < 0) {
        break; // empty (or its producer has not published yet)
      } else {
        pos = Atomics.load(i32, DEQ);
      }
    }
    if (this.#spillHead < this.#spill.length) return this.#takeSpill();
    return -1;
  }

  #takeSpill(): number {
    const id = this.#spill[this.#spillHead++];
    if (this.#spillHead === this.#spill.length) {
      this.#spill = [];
      this.#spillHead = 0;
    }
    return id;
  }

  /**
   * Take up to `max` of the oldest ids into `dst[0..]` (one CAS per run of
   * ready cells); returns how many were taken.
   *
   * @example
   * ```ts
   * import { InjectQueue } from "./shared_inject_queue.ts";
   * const q = new InjectQueue(new SharedArrayBuffer(InjectQueue.byteLengthFor(8)), 0, 8);
   * q.pushBatch([1, 2, 3], 3);
   * const dst = new Int32Array(8);
   * import assert from "node:assert/strict";
   * assert.equal(q.popBatch(dst, 8), 3);
   * assert.deepEqual(dst.subarray(0, 3), new Int32Array([1, 2, 3]));
   * ```
   */
  popBatch(dst: Int32Array | number[], max: number): number {
    if (!Number.isInteger(max) || max < 0 || max > dst.length) {
      throw new RangeError(`popBatch: max must be in [0, ${dst.length}], got ${max}`);
    }
    if (this.#spillHead < this.#spill.length) this.#drainSpill();
    const i32 = this.#i32;
    const mask = this.#mask;
    const shift = this.#shift;
    const cap = this.capacity;
    let got = 0;
    while (got < max) {
      const pos = Atomics.load(i32, DEQ);
      // Count consecutive published cells, keeping their words in dst[got..]:
      // only a consumer claiming through DEQ (or a repair) could change them,
      // so if our CAS from `pos` succeeds each still holds the word seen, or a
      // repair took it and our release CAS below fails.
      let k = 0;
      const want = Math.min(max - got, cap);
      let dif = 0;
      while (k < want) {
        const p = (pos + k) | 0;
        const word = Atomics.load(i32, CELLS + (p & mask));
        dif = phaseDiff(word >>> ID_BITS, (((p >>> shift) << 1) & PHASE_MASK) + 1);
        if (dif !== 0) break;
        dst[got + k] = word;
        k++;
      }
      if (k === 0) {
        if (dif < 0) break; // empty
        continue; // pos was stale
      }
      if (Atomics.compareExchange(i32, DEQ, pos, (pos + k) | 0) !== pos) continue;
      // Release each cell; the ids taken are compacted in place (written at or before the
      // word read).
      let taken = got;
      for (let j = 0; j < k; j++) {
        const p = (pos + j) | 0;
        const word = dst[got + j];
        const next = ((((p >>> shift) << 1) + 2) & PHASE_MASK) << ID_BITS;
        if (Atomics.compareExchange(i32, CELLS + (p & mask), word, next) === word) {
          dst[taken++] = word & ID_MASK;
        }
      }
      got = taken;
    }
    while (got < max && this.#spillHead < this.#spill.length) dst[got++] = this.#takeSpill();
    return got;
  }

  /**
   * Finish the cells a stopped thread claimed and left unfinished (module doc).
   * A cell counts as stalled when this call and the previous one both saw it
   * claimed and unfinished at the same position; one seen for the first time
   * is only remembered. An unreleased cell is released and its id appended to
   * `reclaimed` (the caller queues it again); an unpublished one is skipped once
   * the consumers reach it (its id is in its producer's hands). Safe while
   * other threads use the queue; call it from one thread at a time, well apart
   * (the pool: its 200 ms sweep after a worker death). It reads every cell.
   *
   * @param reclaimed receives the ids taken out of unreleased cells.
   * @returns how many claimed, unfinished cells it still watches: call it
   *   again later while this is above 0.
   * @example
   * ```ts
   * import { InjectQueue } from "./shared_inject_queue.ts";
   * import assert from "node:assert/strict";
   * const sab = new SharedArrayBuffer(InjectQueue.byteLengthFor(4));
   * const q = new InjectQueue(sab, 0, 4);
   * Atomics.add(new Int32Array(sab), 0, 1); // a producer claims a cell, then stops for good
   * q.push(7);
   * assert.equal(q.pop(), -1); // blocked behind the unpublished cell
   * const reclaimed: number[] = [];
   * assert.equal(q.repairStalled(reclaimed), 1); // first seen: watched
   * assert.equal(q.repairStalled(reclaimed), 0); // still there: skipped
   * assert.equal(q.pop(), 7);
   * ```
   */
  repairStalled(reclaimed: number[]): number {
    const i32 = this.#i32;
    const mask = this.#mask;
    const before = this.#suspects;
    const now = new Map<number, number>();
    const enq = Atomics.load(i32, ENQ);
    const deq = Atomics.load(i32, DEQ);
    // Every position of the last lap, oldest first, so a skip moves the
    // consumers onto the next unpublished cell of the same batch.
    for (let back = this.capacity; back > 0; back--) {
      const p = (enq - back) | 0;
      const phase = Atomics.load(i32, CELLS + (p & mask)) >>> ID_BITS;
      const free = this.#freePhase(p);
      let kind: number;
      if (((p - deq) | 0) < 0) {
        if (phase !== free + 1) continue;
        kind = UNRELEASED;
      } else {
        if (phase !== free) continue;
        kind = UNPUBLISHED;
      }
      if (before.get(p) !== kind) now.set(p, kind);
      else if (kind === UNRELEASED) this.#takeUnreleased(p, reclaimed);
      else if (!this.#skipUnpublished(p, reclaimed)) now.set(p, kind);
    }
    this.#suspects = now;
    return now.size;
  }

  /** Release the cell of position `p` on its consumer's behalf if it still holds an id; keep it. */
  #takeUnreleased(p: number, reclaimed: number[]): void {
    const cell = CELLS + (p & this.#mask);
    const full = this.#freePhase(p) + 1;
    const word = Atomics.load(this.#i32, cell);
    if (word >>> ID_BITS !== full) return; // released, or taken, meanwhile
    const next = ((full + 1) & PHASE_MASK) << ID_BITS;
    if (Atomics.compareExchange(this.#i32, cell, word, next) === word) {
      reclaimed.push(word & ID_MASK);
    }
  }

  /**
   * Skip the unpublished cell of position `p` if the consumers stand at it;
   * true when it needs no more watching (skipped, or consumed after all).
   */
  #skipUnpublished(p: number, reclaimed: number[]): boolean {
    const i32 = this.#i32;
    const deq = Atomics.load(i32, DEQ);
    if (deq !== p) return ((deq - p) | 0) > 0; // not reached yet (watch on), or passed
    if (Atomics.compareExchange(i32, DEQ, p, (p + 1) | 0) !== p) return false;
    // Position p is ours, as a consumer's: free the cell for the next lap unless
    // its producer published after all, and then take the id as its consumer.
    const empty = this.#freePhase(p) << ID_BITS;
    const next = ((this.#freePhase(p) + 2) & PHASE_MASK) << ID_BITS;
    if (Atomics.compareExchange(i32, CELLS + (p & this.#mask), empty, next) !== empty) {
      this.#takeUnreleased(p, reclaimed);
    }
    return true;
  }

  /**
   * Ids in the shared queue (all workers; claimed-but-unpublished included), a
   * snapshot clamped to `[0, capacity]`. This worker's spill is not included.
   *
   * @example
   * ```ts
   * import { InjectQueue } from "./shared_inject_queue.ts";
   * import assert from "node:assert/strict";
   * const q = new InjectQueue(new SharedArrayBuffer(InjectQueue.byteLengthFor(4)), 0, 4);
   * q.push(1);
   * assert.equal(q.length, 1);
   * ```
   */
  get length(): number {
    const deq = Atomics.load(this.#i32, DEQ);
    const n = (Atomics.load(this.#i32, ENQ) - deq) | 0;
    return n < 0 ? 0 : n > this.capacity ? this.capacity : n;
  }

  /**
   * Ids this worker's object holds in its private spill (module doc).
   *
   * @example
   * ```ts
   * import { InjectQueue } from "./shared_inject_queue.ts";
   * import assert from "node:assert/strict";
   * const q = new InjectQueue(new SharedArrayBuffer(InjectQueue.byteLengthFor(4)), 0, 4);
   * assert.equal(q.spilled, 0);
   * ```
   */
  get spilled(): number {
    return this.#spill.length - this.#spillHead;
  }

  /**
   * Whether the shared queue and this worker's spill are both empty (a snapshot).
   *
   * @example
   * ```ts
   * import { InjectQueue } from "./shared_inject_queue.ts";
   * import assert from "node:assert/strict";
   * const q = new InjectQueue(new SharedArrayBuffer(InjectQueue.byteLengthFor(4)), 0, 4);
   * assert.equal(q.isEmpty(), true);
   * ```
   */
  isEmpty(): boolean {
    return this.length === 0 && this.spilled === 0;
  }
}
