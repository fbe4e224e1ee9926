/**
 * The global inject queue: a bounded multi-producer multi-consumer FIFO of
 * task ids in a SharedArrayBuffer, shared by every worker.
 *
 * Algorithm: a ring of cells, each a (sequence, value) pair, with an enqueue
 * and a dequeue position (Dmitry Vyukov's bounded MPMC queue). A cell with
 * sequence `p` is free for the producer of position `p`; with `p + 1` it holds
 * the value for the consumer of position `p`, who hands it to the next lap by
 * setting `p + capacity`. Producers claim positions by CAS on the enqueue
 * position, consumers on the dequeue position; a batch claims `k` consecutive
 * positions with one CAS after checking their cells are ready. Positions are
 * int32 and wrap (compared by signed difference). Cells store `sequence - index`,
 * so a zero-filled region is a valid empty queue with no initialisation step.
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
 * Memory order: the value is a plain write before the `Atomics.store` of the
 * cell's sequence; the consumer's `Atomics.load` of that sequence comes before
 * its plain read (DRF-SC, as JS Atomics are sequentially consistent). The
 * consumer's read comes before its store of `p + capacity`, which the next
 * lap's producer loads before overwriting the value.
 *
 * @module
 */

import { badTaskId, int32View } from "./ring_core.ts";

/** Word of the enqueue position. */
const ENQ = 0;
/** Word of the dequeue position (own cache line). */
const DEQ = 16;
/** Word of the first cell; cell i is words CELLS+2i (sequence-i) and CELLS+2i+1 (value). */
const CELLS = 32;

function checkCapacity(capacity: number): void {
  if (!Number.isInteger(capacity)) {
    throw new TypeError(`inject capacity must be an integer, got ${capacity}`);
  }
  if (capacity < 2 || capacity > 1 << 24 || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`inject capacity must be a power of two in [2, 2^24], got ${capacity}`);
  }
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
  readonly #i32: Int32Array;
  /** This worker's overflow that did not fit (see the module doc). */
  #spill: number[] = [];
  #spillHead = 0;

  /**
   * Bytes a queue of `capacity` cells occupies: 128 + 8 × capacity.
   *
   * @example
   * ```ts
   * import { InjectQueue } from "./shared_inject_queue.ts";
   * import assert from "node:assert/strict";
   * assert.equal(InjectQueue.byteLengthFor(65536), 524416);
   * ```
   */
  static byteLengthFor(capacity: number): number {
    checkCapacity(capacity);
    return (CELLS + 2 * capacity) * 4;
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
    this.#i32 = int32View(sab, byteOffset, bytes, "InjectQueue");
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
    if ((id | 0) !== id || id < 0) badTaskId(id);
    if (this.#spillHead < this.#spill.length && !this.#drainSpill()) return false;
    return this.#pushShared(id);
  }

  #pushShared(id: number): boolean {
    const i32 = this.#i32;
    const mask = this.#mask;
    let pos = Atomics.load(i32, ENQ);
    for (;;) {
      const c = pos & mask;
      const seqWord = CELLS + 2 * c;
      const dif = (Atomics.load(i32, seqWord) + c - pos) | 0;
      if (dif === 0) {
        const seen = Atomics.compareExchange(i32, ENQ, pos, (pos + 1) | 0);
        if (seen === pos) {
          i32[seqWord + 1] = id;
          Atomics.store(i32, seqWord, (pos + 1 - c) | 0); // publish to the consumer
          return true;
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
      if ((id | 0) !== id || id < 0) badTaskId(id);
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
        const c = p & mask;
        dif = (Atomics.load(i32, CELLS + 2 * c) + c - p) | 0;
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
        const c = p & mask;
        i32[CELLS + 2 * c + 1] = ids[i + j];
        Atomics.store(i32, CELLS + 2 * c, (p + 1 - c) | 0);
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
      const c = pos & mask;
      const seqWord = CELLS + 2 * c;
      const dif = (Atomics.load(i32, seqWord) + c - pos - 1) | 0;
      if (dif === 0) {
        const seen = Atomics.compareExchange(i32, DEQ, pos, (pos + 1) | 0);
        if (seen === pos) {
          const id = i32[seqWord + 1];
          Atomics.store(i32, seqWord, (pos + this.capacity - c) | 0); // free for next lap
          return id;
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
    const cap = this.capacity;
    let got = 0;
    while (got < max) {
      const pos = Atomics.load(i32, DEQ);
      // Count consecutive published cells; only a consumer claiming through
      // DEQ could take them, so they stay ready if our CAS from `pos` succeeds.
      let k = 0;
      const want = Math.min(max - got, cap);
      let dif = 0;
      while (k < want) {
        const p = (pos + k) | 0;
        const c = p & mask;
        dif = (Atomics.load(i32, CELLS + 2 * c) + c - p - 1) | 0;
        if (dif !== 0) break;
        k++;
      }
      if (k === 0) {
        if (dif < 0) break; // empty
        continue; // pos was stale
      }
      if (Atomics.compareExchange(i32, DEQ, pos, (pos + k) | 0) !== pos) continue;
      for (let j = 0; j < k; j++) {
        const p = (pos + j) | 0;
        const c = p & mask;
        dst[got + j] = i32[CELLS + 2 * c + 1];
        Atomics.store(i32, CELLS + 2 * c, (p + cap - c) | 0);
      }
      got += k;
    }
    while (got < max && this.#spillHead < this.#spill.length) dst[got++] = this.#takeSpill();
    return got;
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
