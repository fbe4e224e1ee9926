/**
 * A hierarchical timing wheel: 6 levels × 64 slots at 1 ms resolution.
 *
 * Level `k` has 64 slots each spanning `64^k` ms, so the wheel covers
 * `64^6` ms (≈ 2.2 years) ahead of its cursor; later deadlines wait in an
 * overflow list. Entries are intrusive: the timer object itself carries
 * `linkPrev`/`linkNext` links and its list index `pos`, so insert and remove are O(1)
 * and allocate nothing. Per-level occupancy bitfields (two 32-bit words per
 * level) find the next occupied slot with `Math.clz32`, never by scanning
 * slots one by one.
 *
 * Placement: with `elapsed` the wheel's cursor (the last time processed, an
 * integer ms), an entry due at `when > elapsed` goes to the level of the
 * highest 6-bit digit in which `when` and `elapsed` differ, in the slot given
 * by that digit of `when`. Entries due at or before the cursor go to the
 * "due" list and fire at the next `advance()`. When the cursor reaches the
 * start of an occupied higher-level slot, its entries cascade down.
 *
 * Invariant: a timer never fires before its deadline. It fires during the
 * first `advance(now)` with `now >= deadline` — so it is late by at most the
 * 1 ms resolution plus however late the caller advances. Entries with equal
 * deadlines fire in insertion order (FIFO).
 *
 * @module
 */

import type { Waker } from "../task/waker.ts";

/**
 * What the wheel links: an object carrying its own deadline, list links,
 * position and waker. {@linkcode Sleep} is the one implementation the
 * runtime uses (timeouts and intervals embed a Sleep), so the wheel's
 * property accesses stay monomorphic.
 *
 * `pos` is the entry's state: `>= 0` while linked in a wheel (its list
 * index), {@linkcode IDLE} when not linked, {@linkcode FIRED} after it fired,
 * {@linkcode UNRESOLVED} while `deadline` still holds a relative duration.
 *
 * @example
 * ```ts
 * import { IDLE, type TimerEntry } from "./wheel.ts";
 * const e: TimerEntry = { deadline: 5, linkPrev: null, linkNext: null, pos: IDLE, waker: null };
 * ```
 */
export interface TimerEntry {
  /** Absolute deadline in integer ms on the driver's clock. */
  deadline: number;
  /** Previous entry in the same list, or null. */
  linkPrev: TimerEntry | null;
  /** Next entry in the same list, or null. */
  linkNext: TimerEntry | null;
  /** List index while linked (`>= 0`), else IDLE, FIRED or UNRESOLVED. */
  pos: number;
  /** Woken when the entry fires. */
  waker: Waker | null;
}

/**
 * `pos` of an entry that is not linked in any wheel.
 *
 * @example
 * ```ts
 * import { IDLE } from "./wheel.ts";
 * import assert from "node:assert/strict";
 * assert.ok(IDLE < 0);
 * ```
 */
export const IDLE = -1;
/**
 * `pos` of an entry whose `deadline` field still holds a duration in ms
 * (made outside a runtime; resolved against the clock when first armed).
 *
 * @example
 * ```ts
 * import { UNRESOLVED } from "./wheel.ts";
 * import assert from "node:assert/strict";
 * assert.ok(UNRESOLVED < 0);
 * ```
 */
export const UNRESOLVED = -2;
/**
 * `pos` of an entry that fired (unlinked, its waker woken).
 *
 * @example
 * ```ts
 * import { FIRED } from "./wheel.ts";
 * import assert from "node:assert/strict";
 * assert.ok(FIRED < 0);
 * ```
 */
export const FIRED = -3;

const LEVELS = 6;
/** List index of the "due now" list (deadline at or before the cursor). */
const DUE = LEVELS * 64;
/** List index of the overflow list (deadline beyond the wheel's range). */
const OVERFLOW = DUE + 1;
const LISTS = OVERFLOW + 1;
/** `SPAN[k]` = 64^k ms, the width of one slot at level k. */
const SPAN: readonly number[] = [1, 64, 4096, 262144, 16777216, 1073741824, 68719476736];
/** 64^6 ms: the width of one whole wheel rotation. */
const RANGE = 68719476736;
const TWO30 = 1073741824;
const TWO31 = 2147483648;

function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** List index for `when` relative to cursor `e` when either exceeds 2^31. */
function slowPos(e: number, when: number): number {
  const eHi = Math.floor(e / TWO30);
  const wHi = Math.floor(when / TWO30);
  if (eHi !== wHi) {
    if (Math.floor(e / RANGE) !== Math.floor(when / RANGE)) return OVERFLOW;
    return 5 * 64 + (wHi % 64);
  }
  const wLo = when - wHi * TWO30;
  const level = ((31 - Math.clz32(((e - eHi * TWO30) ^ wLo) | 63)) / 6) | 0;
  return level * 64 + ((wLo >>> (6 * level)) & 63);
}

/**
 * The timing wheel: links entries by deadline and fires them as its cursor
 * advances. Pure data structure — it reads no clock; {@linkcode TimeDriver}
 * pairs it with one.
 *
 * @example
 * ```ts
 * import { IDLE, Wheel, type TimerEntry } from "./wheel.ts";
 * import assert from "node:assert/strict";
 * const wheel = new Wheel();
 * let woken = 0;
 * const e: TimerEntry = {
 *   deadline: 100, linkPrev: null, linkNext: null, pos: IDLE, waker: { wake: () => woken++ },
 * };
 * wheel.insert(e);
 * wheel.advance(99); // nothing yet
 * wheel.advance(100); // fires
 * assert.equal(woken, 1);
 * assert.equal(wheel.size, 0);
 * ```
 */
export class Wheel {
  #heads: (TimerEntry | null)[];
  #tails: (TimerEntry | null)[];
  #counts: Int32Array;
  /** Two occupancy words per level: bit s of word 2k+(s>>5) set iff slot s is non-empty. */
  #occ: Int32Array;
  #elapsed: number;
  #size: number;

  /** An empty wheel with its cursor at `start` (integer ms, default 0). */
  constructor(start = 0) {
    if (!Number.isInteger(start) || start < 0) {
      throw new RangeError(`wheel start must be a non-negative integer, got ${start}`);
    }
    this.#heads = new Array(LISTS).fill(null);
    this.#tails = new Array(LISTS).fill(null);
    this.#counts = new Int32Array(LISTS);
    this.#occ = new Int32Array(LEVELS * 2);
    this.#elapsed = start;
    this.#size = 0;
  }

  /** Pending entries (linked in the wheel, the due list or overflow). */
  get size(): number {
    return this.#size;
  }

  /** The cursor: every entry due at or before it has fired or is in the due list. */
  get elapsed(): number {
    return this.#elapsed;
  }

  /**
   * Link `entry` by its `deadline` (an integer ms, or +Infinity for never).
   * An entry already linked here is moved. O(1).
   */
  insert(entry: TimerEntry): void {
    if (entry.pos >= 0) this.#unlink(entry);
    else this.#size++;
    this.#place(entry);
  }

  /** Unlink `entry` if it is linked; a no-op otherwise. O(1). */
  remove(entry: TimerEntry): void {
    if (entry.pos < 0) return;
    this.#unlink(entry);
    this.#size--;
    entry.pos = IDLE;
  }

  /**
   * Time (ms) of the wheel's next event — an entry due, or a higher-level
   * slot to cascade — or -1 when nothing is pending. A lower bound on the
   * earliest deadline; O(levels).
   */
  nextEvent(): number {
    if (this.#counts[DUE] > 0) return this.#elapsed;
    const p = this.#firstSlot();
    if (p >= 0) return this.#slotTime(p >> 6, p & 63);
    if (this.#heads[OVERFLOW] !== null) {
      return (Math.floor(this.#elapsed / RANGE) + 1) * RANGE;
    }
    return -1;
  }

  /**
   * The earliest deadline of any pending entry, or -1 when none. Scans at
   * most one slot's list (or the overflow list when the wheel is empty).
   */
  earliestDeadline(): number {
    if (this.#counts[DUE] > 0) return this.#elapsed;
    const p = this.#firstSlot();
    if (p >= 0) {
      if (p < 64) return this.#slotTime(0, p);
      return minDeadline(this.#heads[p]);
    }
    if (this.#heads[OVERFLOW] !== null) return minDeadline(this.#heads[OVERFLOW]);
    return -1;
  }

  /**
   * Move the cursor to `now` (integer ms), firing every entry due at or
   * before it: each is unlinked, its `pos` set to FIRED and its waker woken.
   * Entries in the due list when the call starts fire even if `now` is
   * behind the cursor. Returns how many fired.
   */
  advance(now: number): number {
    let fired = 0;
    const heads = this.#heads;
    // The due list as it stands now: entries added to it by wakers run next time.
    for (let n = this.#counts[DUE]; n > 0 && heads[DUE] !== null; n--) {
      this.#fire(heads[DUE]!);
      fired++;
    }
    if (!(now > this.#elapsed)) return fired;
    for (;;) {
      const p = this.#firstSlot();
      if (p < 0) {
        if (heads[OVERFLOW] === null) break;
        const nextBlock = (Math.floor(this.#elapsed / RANGE) + 1) * RANGE;
        if (nextBlock > now) break;
        fired += this.#drainOverflow(nextBlock, now);
        continue;
      }
      const level = p >> 6;
      const t = this.#slotTime(level, p & 63);
      if (t > now) break;
      this.#elapsed = t;
      if (level === 0) {
        for (let e = heads[p]; e !== null; e = heads[p]) {
          this.#fire(e);
          fired++;
        }
      } else {
        // Cascade: everything here is due at or after t and lands on a lower level.
        for (let e = heads[p]; e !== null; e = heads[p]) {
          this.#unlink(e);
          if (e.deadline <= t) {
            this.#size--;
            fireUnlinked(e);
            fired++;
          } else {
            this.#place(e);
          }
        }
      }
    }
    this.#elapsed = now;
    return fired;
  }

  /** Wheel empty, overflow pending, cursor crossing into a new rotation. */
  #drainOverflow(nextBlock: number, now: number): number {
    const heads = this.#heads;
    const m = minDeadline(heads[OVERFLOW]);
    let start = Math.floor(Math.min(m, now) / RANGE) * RANGE;
    if (start < nextBlock) start = nextBlock;
    this.#elapsed = start;
    let fired = 0;
    for (let n = this.#counts[OVERFLOW]; n > 0 && heads[OVERFLOW] !== null; n--) {
      const e = heads[OVERFLOW]!;
      this.#unlink(e);
      if (e.deadline <= start) {
        this.#size--;
        fireUnlinked(e);
        fired++;
      } else {
        this.#place(e);
      }
    }
    return fired;
  }

  #fire(e: TimerEntry): void {
    this.#unlink(e);
    this.#size--;
    fireUnlinked(e);
  }

  /** Lowest occupied list index over the 6 levels (level-major), or -1. */
  #firstSlot(): number {
    const occ = this.#occ;
    for (let level = 0; level < LEVELS; level++) {
      const lo = occ[2 * level];
      if (lo !== 0) return level * 64 + ctz(lo);
      const hi = occ[2 * level + 1];
      if (hi !== 0) return level * 64 + 32 + ctz(hi);
    }
    return -1;
  }

  /** Start time of slot `slot` at `level` in the cursor's current block. */
  #slotTime(level: number, slot: number): number {
    const block = SPAN[level + 1];
    return Math.floor(this.#elapsed / block) * block + slot * SPAN[level];
  }

  /** Link an unlinked entry into the list its deadline selects. */
  #place(e: TimerEntry): void {
    const when = e.deadline;
    const now = this.#elapsed;
    let pos: number;
    if (when <= now) {
      pos = DUE;
    } else if (when < TWO31) {
      const level = ((31 - Math.clz32((now ^ when) | 63)) / 6) | 0;
      pos = level * 64 + ((when >>> (6 * level)) & 63);
    } else {
      pos = slowPos(now, when);
    }
    e.pos = pos;
    e.linkNext = null;
    const tail = this.#tails[pos];
    e.linkPrev = tail;
    if (tail === null) {
      this.#heads[pos] = e;
      if (pos < DUE) this.#occ[pos >> 5] |= 1 << (pos & 31);
    } else {
      tail.linkNext = e;
    }
    this.#tails[pos] = e;
    this.#counts[pos]++;
  }

  /** Unlink a linked entry from its list (leaves `pos` as it was). */
  #unlink(e: TimerEntry): void {
    const pos = e.pos;
    const prev = e.linkPrev;
    const next = e.linkNext;
    if (prev === null) this.#heads[pos] = next;
    else prev.linkNext = next;
    if (next === null) this.#tails[pos] = prev;
    else next.linkPrev = prev;
    e.linkPrev = null;
    e.linkNext = null;
    this.#counts[pos]--;
    if (prev === null && next === null && pos < DUE) {
      this.#occ[pos >> 5] &= ~(1 << (pos & 31));
    }
  }
}

function fireUnlinked(e: TimerEntry): void {
  e.pos = FIRED;
  const w = e.waker;
  e.waker = null;
  if (w !== null) w.wake();
}

function minDeadline(head: TimerEntry | null): number {
  let m = Infinity;
  for (let e = head; e !== null; e = e.linkNext) if (e.deadline < m) m = e.deadline;
  return m;
}
