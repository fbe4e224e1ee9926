/**
 * The work-stealing ring, generic over its capacity: one owner, any number of
 * stealers, task ids (non-negative int32) in a SharedArrayBuffer.
 *
 * Memory (int32 words, from `byteOffset`; head and tail sit on separate
 * 64-byte lines so stealers polling `head` do not bounce the owner's `tail`):
 *
 * | word | meaning |
 * | --- | --- |
 * | 0 | head, packed `steal << 16 \| real` (two u16 positions that wrap) |
 * | 16 | tail (u16 position; written only by the owner) |
 * | 32 … 32+capacity-1 | the slots; position `p` lives in slot `p & (capacity-1)` |
 *
 * `real` is where the owner pops next; `steal` trails it while a stealer is
 * copying the range `[steal, real)` it claimed. `steal !== real` means a steal
 * is in progress, and no other stealer may start on this ring.
 *
 * Invariants:
 * - `0 <= tail - steal <= capacity` (u16 wrapping arithmetic): the live range
 *   `[steal, tail)` never exceeds the ring, so a push never overwrites a slot a
 *   stealer may still be reading.
 * - `steal` only moves (to `real`) by the stealer that claimed `[steal, real)`;
 *   `real` moves by CAS (owner pop, stealer claim, owner overflow claim); `tail`
 *   moves only by the owner's store after the slot was written.
 * - Every id pushed comes out exactly once: by pop, by a steal (into the
 *   stealer's ring or as the task it runs now), or through the overflow sink.
 *
 * Memory order: JS `Atomics` operations are sequentially consistent, and a
 * program whose plain accesses are ordered by them is data-race free, so it
 * behaves sequentially consistently (DRF-SC). The slots are read and written
 * with plain accesses; every such access is ordered against the conflicting
 * one by an atomic on head or tail:
 * - owner writes slot, then `Atomics.store(tail)`; a stealer's
 *   `Atomics.load(tail)` that sees it, and its CAS on head, come before its
 *   slot reads (the publish/acquire pair of Tokio's Release/Acquire tail);
 * - a stealer reads its claimed slots, then releases with a CAS moving `steal`
 *   up; the owner only reuses those slots after an `Atomics.load(head)` that
 *   shows the release (the room check is `tail - steal`, not `tail - real`);
 * - the owner reads a popped slot after its CAS moved `real` past it, so no
 *   stealer can claim it any more;
 * - the owner reads its own tail with a plain read (it is the only writer, so
 *   that read races with nothing), as Tokio's `unsync_load`. The tail store
 *   stays an `Atomics.store`: stealers must synchronize with it.
 *
 * The capacity is a parameter so the protocol can be model-checked at a tiny
 * size; production rings use {@link LocalRing} (256).
 *
 * Design follows Tokio's multi-thread local queue; code is Dokio's own.
 *
 * @module
 */

/** Word index of the packed head. */
const HEAD = 0;
/** Word index of the tail (own cache line). */
const TAIL = 16;
/** Word index of the first slot. */
const BUF = 32;
/** Positions are u16 and wrap. */
const POS_MASK = 0xffff;

/**
 * Where a full ring sends half of its tasks (Dokio: the inject queue).
 *
 * Contract: `pushBatch` must accept all `count` ids (it may not drop any: the
 * ring has already given them up) and must copy them during the call — the
 * array is reused by the ring.
 *
 * @example
 * ```ts
 * import type { Overflow } from "./ring_core.ts";
 * const spilled: number[] = [];
 * const sink: Overflow = {
 *   pushBatch(ids, count) {
 *     for (let i = 0; i < count; i++) spilled.push(ids[i]);
 *   },
 * };
 * ```
 */
export interface Overflow {
  /** Take the first `count` ids of `ids` (FIFO order: oldest first). */
  pushBatch(ids: Int32Array | number[], count: number): void;
}

/**
 * Pack a head word from its two u16 positions (an int32, as `Atomics` returns it).
 *
 * @example
 * ```ts
 * import { headReal, headSteal, packHead } from "./ring_core.ts";
 * import assert from "node:assert/strict";
 * const h = packHead(3, 7);
 * assert.equal(headSteal(h), 3);
 * assert.equal(headReal(h), 7);
 * ```
 */
export function packHead(steal: number, real: number): number {
  return ((steal & POS_MASK) << 16) | (real & POS_MASK);
}

/**
 * The `steal` position of a packed head.
 *
 * @example
 * ```ts
 * import { headSteal, packHead } from "./ring_core.ts";
 * import assert from "node:assert/strict";
 * assert.equal(headSteal(packHead(0xffff, 1)), 65535);
 * ```
 */
export function headSteal(head: number): number {
  return head >>> 16;
}

/**
 * The `real` position of a packed head.
 *
 * @example
 * ```ts
 * import { headReal, packHead } from "./ring_core.ts";
 * import assert from "node:assert/strict";
 * assert.equal(headReal(packHead(2, 9)), 9);
 * ```
 */
export function headReal(head: number): number {
  return head & POS_MASK;
}

/**
 * How many tasks a stealer takes from a ring holding `available`: the larger
 * half, `ceil(available / 2)` (so a single task can be stolen).
 *
 * @example
 * ```ts
 * import { stealCount } from "./ring_core.ts";
 * import assert from "node:assert/strict";
 * assert.equal(stealCount(5), 3);
 * assert.equal(stealCount(4), 2);
 * assert.equal(stealCount(1), 1);
 * ```
 */
export function stealCount(available: number): number {
  return available - (available >>> 1);
}

/**
 * Bytes a ring of `capacity` occupies (a multiple of 64).
 *
 * @example
 * ```ts
 * import { ringByteLength } from "./ring_core.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ringByteLength(256), 1152);
 * ```
 */
export function ringByteLength(capacity: number): number {
  checkCapacity(capacity);
  return Math.ceil(((BUF + capacity) * 4) / 64) * 64;
}

function checkCapacity(capacity: number): void {
  if (!Number.isInteger(capacity)) {
    throw new TypeError(`ring capacity must be an integer, got ${capacity}`);
  }
  if (capacity < 2 || capacity > 0x4000 || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity must be a power of two in [2, 16384], got ${capacity}`);
  }
}

/**
 * Throw the right error for a bad task id: TypeError for a non-integer,
 * RangeError for one outside `[0, 2^31-1]`. Kept out of the hot paths, which
 * test `(id | 0) !== id || id < 0` first.
 *
 * @example
 * ```ts
 * import { badTaskId } from "./ring_core.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => badTaskId(-2), RangeError);
 * ```
 */
export function badTaskId(id: unknown): never {
  if (typeof id !== "number" || !Number.isInteger(id)) {
    throw new TypeError(`task id must be an integer, got ${String(id)}`);
  }
  throw new RangeError(`task id must be in [0, 2^31-1], got ${id}`);
}

/**
 * Check a (SharedArrayBuffer, byteOffset, byteLength) triple for an Int32Array view.
 *
 * @example
 * ```ts
 * import { int32View } from "./ring_core.ts";
 * import assert from "node:assert/strict";
 * const v = int32View(new SharedArrayBuffer(64), 0, 64, "demo");
 * assert.equal(v.length, 16);
 * ```
 */
export function int32View(
  sab: SharedArrayBuffer,
  byteOffset: number,
  byteLength: number,
  what: string,
): Int32Array {
  if (!(sab instanceof SharedArrayBuffer)) {
    throw new TypeError(`${what}: expected a SharedArrayBuffer`);
  }
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0) {
    throw new RangeError(`${what}: byteOffset must be a non-negative multiple of 4`);
  }
  if (byteOffset + byteLength > sab.byteLength) {
    throw new RangeError(
      `${what}: needs ${byteLength} bytes at ${byteOffset}, buffer has ${sab.byteLength}`,
    );
  }
  return new Int32Array(sab, byteOffset, byteLength / 4);
}

/**
 * A work-stealing ring of any power-of-two capacity over shared memory. A
 * zero-filled region is a valid empty ring, so no initialisation step is needed.
 *
 * Only the owner (one thread) may call `push` and `pop`, and `stealInto` with
 * this ring as the destination; any thread may steal from it.
 *
 * @example
 * ```ts
 * import { RingCore } from "./ring_core.ts";
 * import assert from "node:assert/strict";
 * const sab = new SharedArrayBuffer(RingCore.byteLengthFor(4) * 2);
 * const a = new RingCore(sab, 0, 4);
 * const b = new RingCore(sab, RingCore.byteLengthFor(4), 4);
 * const spill: number[] = [];
 * for (let id = 1; id <= 3; id++) a.push(id, { pushBatch: (ids, n) => spill.push(n) });
 * assert.equal(a.stealInto(b), 2);
 * assert.equal(a.pop(), 3);
 * assert.equal(b.pop(), 1);
 * ```
 */
export class RingCore {
  /** Slots in the ring (a power of two). */
  readonly capacity: number;
  readonly #mask: number;
  readonly #half: number;
  readonly #i32: Int32Array;
  /** Reused batch for overflow: half the ring plus the task being pushed. */
  readonly #batch: Int32Array;
  /** Reused one-element batch for the overflow-during-steal case. */
  readonly #one: Int32Array;

  /**
   * Bytes a ring of `capacity` occupies.
   *
   * @example
   * ```ts
   * import { RingCore } from "./ring_core.ts";
   * import assert from "node:assert/strict";
   * assert.equal(RingCore.byteLengthFor(4), 192);
   * ```
   */
  static byteLengthFor(capacity: number): number {
    return ringByteLength(capacity);
  }

  /**
   * View the ring at `byteOffset` (multiple of 4; 64 recommended) of `sab`.
   *
   * @example
   * ```ts
   * import { RingCore } from "./ring_core.ts";
   * import assert from "node:assert/strict";
   * const r = new RingCore(new SharedArrayBuffer(192), 0, 4);
   * assert.equal(r.isEmpty(), true);
   * ```
   */
  constructor(sab: SharedArrayBuffer, byteOffset: number, capacity: number) {
    const bytes = ringByteLength(capacity);
    this.capacity = capacity;
    this.#mask = capacity - 1;
    this.#half = capacity >>> 1;
    this.#i32 = int32View(sab, byteOffset, bytes, "RingCore");
    this.#batch = new Int32Array(this.#half + 1);
    this.#one = new Int32Array(1);
  }

  /**
   * Push `id` at the tail (owner only). When the ring is full, the oldest half
   * plus `id` go to `overflow` in one `pushBatch`; if a steal is in progress at
   * that moment (so half cannot be claimed), only `id` goes there.
   *
   * @example
   * ```ts
   * import { RingCore } from "./ring_core.ts";
   * import assert from "node:assert/strict";
   * const r = new RingCore(new SharedArrayBuffer(192), 0, 4);
   * const spilled: number[] = [];
   * const sink = { pushBatch: (ids: Int32Array | number[], n: number) => {
   *   for (let i = 0; i < n; i++) spilled.push(ids[i]);
   * } };
   * for (let id = 0; id < 5; id++) r.push(id, sink);
   * assert.deepEqual(spilled, [0, 1, 4]);
   * assert.equal(r.length, 2);
   * ```
   */
  push(id: number, overflow: Overflow): void {
    if ((id | 0) !== id || id < 0) badTaskId(id);
    const i32 = this.#i32;
    for (;;) {
      const head = Atomics.load(i32, HEAD);
      // Only this thread writes tail, so a plain read of it is race-free.
      const tail = i32[TAIL];
      const steal = head >>> 16;
      if (((tail - steal) & POS_MASK) < this.capacity) {
        // Room: the slot at tail is outside [steal, tail), so nobody reads it.
        i32[BUF + (tail & this.#mask)] = id;
        // Publishes the slot write to stealers that load tail after this.
        Atomics.store(i32, TAIL, (tail + 1) & POS_MASK);
        return;
      }
      const real = head & POS_MASK;
      if (steal !== real) {
        // Full while a stealer copies: it will free room soon; don't wait.
        this.#one[0] = id;
        overflow.pushBatch(this.#one, 1);
        return;
      }
      // Full and quiet: claim the oldest half with one CAS on head. Failure
      // means a stealer claimed first (so there is room now): retry.
      const half = this.#half;
      const moved = (real + half) & POS_MASK;
      if (Atomics.compareExchange(i32, HEAD, head, packHead(moved, moved)) !== head) continue;
      // [real, real+half) is ours now: no stealer can claim it, and we only
      // overwrite it after reading it here.
      const batch = this.#batch;
      for (let i = 0; i < half; i++) batch[i] = i32[BUF + ((real + i) & this.#mask)];
      batch[half] = id;
      overflow.pushBatch(batch, half + 1);
      return;
    }
  }

  /**
   * Pop the oldest task (owner only); -1 when the ring is empty.
   *
   * @example
   * ```ts
   * import { RingCore } from "./ring_core.ts";
   * import assert from "node:assert/strict";
   * const r = new RingCore(new SharedArrayBuffer(192), 0, 4);
   * r.push(7, { pushBatch() {} });
   * assert.equal(r.pop(), 7);
   * assert.equal(r.pop(), -1);
   * ```
   */
  pop(): number {
    const i32 = this.#i32;
    for (;;) {
      const head = Atomics.load(i32, HEAD);
      const real = head & POS_MASK;
      if (real === i32[TAIL]) return -1; // own tail: plain read

      const steal = head >>> 16;
      const next = (real + 1) & POS_MASK;
      // With no steal in progress both positions move together; otherwise the
      // stealer's `steal` stays put and it releases it later.
      const packed = steal === real ? packHead(next, next) : packHead(steal, next);
      if (Atomics.compareExchange(i32, HEAD, head, packed) === head) {
        // `real` has passed the slot: no stealer can claim it.
        return i32[BUF + (real & this.#mask)];
      }
      // A stealer moved real (claimed) or steal (released): look again.
    }
  }

  /**
   * Steal half of this ring's tasks (`ceil(n/2)` of the `n` present) into
   * `dst`, which the calling thread must own. Returns one of them — the
   * newest stolen — for the caller to run now, and leaves the rest in `dst`;
   * -1 when there was nothing to steal, another stealer is busy on this
   * ring, or `dst` is more than half full.
   *
   * @example
   * ```ts
   * import { RingCore } from "./ring_core.ts";
   * import assert from "node:assert/strict";
   * const len = RingCore.byteLengthFor(8);
   * const sab = new SharedArrayBuffer(len * 2);
   * const victim = new RingCore(sab, 0, 8);
   * const mine = new RingCore(sab, len, 8);
   * for (let id = 10; id < 15; id++) victim.push(id, { pushBatch() {} });
   * assert.equal(victim.stealInto(mine), 12);
   * assert.equal(mine.length, 2);
   * assert.equal(victim.length, 2);
   * ```
   */
  stealInto(dst: RingCore): number {
    if (!(dst instanceof RingCore)) throw new TypeError("stealInto: dst must be a ring");
    const same = dst.#i32.buffer === this.#i32.buffer &&
      dst.#i32.byteOffset === this.#i32.byteOffset;
    if (same) {
      throw new RangeError("stealInto: cannot steal from a ring into itself");
    }
    if (dst.capacity !== this.capacity) {
      throw new RangeError("stealInto: rings must have the same capacity");
    }
    const d = dst.#i32;
    const dstTail = d[TAIL]; // we own dst: only we write its tail
    const dstSteal = Atomics.load(d, HEAD) >>> 16;
    // Room for up to half a ring is needed; stealing into a busy ring is pointless anyway.
    if (((dstTail - dstSteal) & POS_MASK) > this.#half) return -1;

    // Claim [real, real+n) by moving only `real`; `steal` stays, marking us busy.
    const s = this.#i32;
    let prev = Atomics.load(s, HEAD);
    let first: number;
    let n: number;
    for (;;) {
      const steal = prev >>> 16;
      const real = prev & POS_MASK;
      if (steal !== real) return -1; // another stealer is copying
      const tail = Atomics.load(s, TAIL);
      n = stealCount((tail - real) & POS_MASK);
      if (n === 0) return -1;
      const next = packHead(steal, real + n);
      const seen = Atomics.compareExchange(s, HEAD, prev, next);
      if (seen === prev) {
        first = real;
        prev = next;
        break;
      }
      prev = seen; // owner popped, another stealer claimed, or owner overflowed
    }

    // Copy the claimed range: all but the last into dst's free slots (not yet
    // published: dst's tail moves only below), the last is returned.
    const sm = this.#mask;
    const dm = dst.#mask;
    const last = n - 1;
    for (let i = 0; i < last; i++) {
      d[BUF + ((dstTail + i) & dm)] = s[BUF + ((first + i) & sm)];
    }
    const ret = s[BUF + ((first + last) & sm)];

    // Release: move `steal` up to the current `real`. The CAS fails only when
    // the owner popped meanwhile (real moved; steal is still ours alone).
    for (;;) {
      const real = prev & POS_MASK;
      const seen = Atomics.compareExchange(s, HEAD, prev, packHead(real, real));
      if (seen === prev) break;
      prev = seen;
    }
    // Publish the copied tasks to dst's own stealers.
    if (last > 0) Atomics.store(d, TAIL, (dstTail + last) & POS_MASK);
    return ret;
  }

  /**
   * Tasks a pop or steal could still take (those claimed by an in-progress
   * steal are not counted). Exact for the owner when no steal runs; a snapshot otherwise.
   *
   * @example
   * ```ts
   * import { RingCore } from "./ring_core.ts";
   * import assert from "node:assert/strict";
   * const r = new RingCore(new SharedArrayBuffer(192), 0, 4);
   * r.push(1, { pushBatch() {} });
   * assert.equal(r.length, 1);
   * ```
   */
  get length(): number {
    const real = Atomics.load(this.#i32, HEAD) & POS_MASK;
    return (Atomics.load(this.#i32, TAIL) - real) & POS_MASK;
  }

  /**
   * Whether {@link RingCore.length} is 0.
   *
   * @example
   * ```ts
   * import { RingCore } from "./ring_core.ts";
   * import assert from "node:assert/strict";
   * assert.equal(new RingCore(new SharedArrayBuffer(192), 0, 4).isEmpty(), true);
   * ```
   */
  isEmpty(): boolean {
    return this.length === 0;
  }
}
