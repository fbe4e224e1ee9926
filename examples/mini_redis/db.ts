/**
 * The mini-redis key space: strings and lists under binary-safe keys, with
 * exact expiry.
 *
 * Keys live in a table of their own (open addressing, linear probing) over
 * latin1 key strings, found either by a string or straight from a request's
 * bytes (`getArg`, `setArg`…): a command on an existing key makes no string
 * and hashes its bytes once, where a `Map<string, …>` needed the key's
 * string first (an intern table look-up, often a new string) and then its
 * own hash look-up.
 *
 * Invariants:
 * - A key whose deadline has come is never returned: every read checks the
 *   deadline against the clock (lazy expiry), and the purge (`purge(now)`,
 *   run by the server's background task) deletes what is due.
 * - Table: at most half full; a key's slot is reached from its home slot
 *   (hash & mask) through occupied slots only (deletion shifts the run
 *   behind a freed slot back, so no tombstones). The hash is seeded per
 *   process: which keys share a home slot differs from run to run, so a
 *   client cannot look such keys up in advance.
 * - Deadlines sit beside the values (only once some key has one). The
 *   expiry heap holds at most one live item per such key; stale items (a
 *   key deleted, overwritten or given a new deadline) are skipped when they
 *   surface, and the heap is rebuilt when stale ones outnumber the live
 *   ones, so it never grows past twice the keys with a deadline (plus a
 *   small constant).
 *
 * @module
 */

import { latin1 as latin1Key } from "./resp.ts";

/** A list value: a ring buffer, O(1) at both ends. */
export class Deque {
  #items: (Str | undefined)[] = new Array(8);
  #head = 0;
  /** Elements. */
  length = 0;

  #grow(): void {
    const old = this.#items;
    const next: (Str | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.length; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = next;
    this.#head = 0;
  }

  /** Add at the front. */
  pushFront(v: Str): void {
    if (this.length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#items.length - 1);
    this.#items[this.#head] = v;
    this.length++;
  }

  /** Add at the back. */
  pushBack(v: Str): void {
    if (this.length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.length) & (this.#items.length - 1)] = v;
    this.length++;
  }

  /** Take from the front. */
  popFront(): Str | undefined {
    if (this.length === 0) return undefined;
    const v = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.length--;
    return v;
  }

  /** Take from the back. */
  popBack(): Str | undefined {
    if (this.length === 0) return undefined;
    const i = (this.#head + this.length - 1) & (this.#items.length - 1);
    const v = this.#items[i];
    this.#items[i] = undefined;
    this.length--;
    return v;
  }

  /** Element `i` (0 = front). */
  at(i: number): Str {
    return this.#items[(this.#head + i) & (this.#items.length - 1)] as Str;
  }
}

/** A string value: small ones as latin1 strings (cheap to keep), large ones as bytes. */
export type Str = string | Uint8Array;

/** What a key holds. */
export type Value = Str | Deque;

/** No deadline (what {@linkcode Db.deadline} gives for a key without one). */
export const NO_EXPIRY = 0;
/** Rebuild the heap when it holds this many entries more than twice the live deadlines. */
const HEAP_SLACK = 1024;
/** Slots of an empty table (a power of two). */
const MIN_SLOTS = 1024;
/** FNV-1a (32-bit). */
const FNV_PRIME = 0x01000193;
/** This process's hash seed (FNV's offset basis, randomized). */
const SEED = (0x811c9dc5 ^ Math.floor(Math.random() * 0x100000000)) | 0;

/** The seeded hash of the chars of a latin1 string (the same as its bytes'). */
function hashStr(s: string): number {
  let h = SEED;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return mix(h);
}

/** The seeded hash of `buf[start..end)`. */
function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = SEED;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], FNV_PRIME);
  return mix(h);
}

/** Spread every bit into the low ones (the slot index): FNV's low bits see few of the bytes. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** A command's arguments as the key space reads them: argument `i` is `buf[offs[2i]..offs[2i+1])`. */
export interface Args {
  /** The request bytes. */
  readonly buf: Uint8Array;
  /** Start and end offset of each argument. */
  readonly offs: Int32Array;
}

/** A heap item: a deadline set for `key`; stale once the key's deadline is another. */
interface Due {
  at: number;
  key: string;
}

/** The key space. */
export class Db {
  /** Key of each slot (undefined: free). */
  #keys: (string | undefined)[] = [];
  /** Hash of each slot's key. */
  #hashes: Int32Array = new Int32Array(0);
  /** Value of each slot. */
  #vals: (Value | undefined)[] = [];
  /** Deadline of each slot (NO_EXPIRY: none); null until a key first gets one. */
  #at: Float64Array | null = null;
  #mask = 0;
  #size = 0;
  /** Keys with a deadline. */
  #timed = 0;
  readonly #clock: () => number;
  readonly #heap: Due[] = [];
  /** Called when a deadline earlier than every other was set (wake the purge task). */
  onEarlier: () => void = () => {};

  /** @param clock the current time in ms (the runtime's `now`, which tests pause) */
  constructor(clock: () => number) {
    this.#clock = clock;
    this.#alloc(MIN_SLOTS);
  }

  /** The current time on the db's clock. */
  now(): number {
    return this.#clock();
  }

  /** Keys stored (expired ones the purge has not reached included). */
  get size(): number {
    return this.#size;
  }

  /** Whether `key` is stored (expired or not). */
  has(key: string): boolean {
    return this.#findStr(key) >= 0;
  }

  /** The keys stored, in no order. */
  *keys(): Generator<string, void, unknown> {
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k !== undefined) yield k;
    }
  }

  /** The live value under `key` (an expired one is deleted first). */
  get(key: string): Value | undefined {
    return this.#live(this.#findStr(key));
  }

  /** The live value under the key that is argument `i` of `c`. */
  getArg(c: Args, i: number): Value | undefined {
    return this.#live(this.#findArg(c, i));
  }

  /** `key`'s deadline, or NO_EXPIRY. */
  deadline(key: string): number {
    if (this.#timed === 0) return NO_EXPIRY;
    const i = this.#findStr(key);
    return i >= 0 ? (this.#at as Float64Array)[i] : NO_EXPIRY;
  }

  /** Store `value` under `key` with deadline `at` (NO_EXPIRY: none), replacing what was there. */
  set(key: string, value: Value, at: number): void {
    let i = this.#findStr(key);
    if (i < 0) i = this.#insert(-1 - i, key, hashStr(key));
    this.#store(i, value, at);
  }

  /** `set` for the key that is argument `k` of `c`. */
  setArg(c: Args, k: number, value: Value, at: number): void {
    let i = this.#findArg(c, k);
    if (i < 0) {
      const s = c.offs[2 * k], e = c.offs[2 * k + 1];
      i = this.#insert(-1 - i, latin1Key(c.buf, s, e), hashBytes(c.buf, s, e));
    }
    this.#store(i, value, at);
  }

  /** Replace `key`'s value, keeping its deadline (INCR); the key must hold a value. */
  replace(key: string, value: Value): void {
    const i = this.#findStr(key);
    if (i >= 0) this.#vals[i] = value;
  }

  /** `replace` for the key that is argument `k` of `c`. */
  replaceArg(c: Args, k: number, value: Value): void {
    const i = this.#findArg(c, k);
    if (i >= 0) this.#vals[i] = value;
  }

  /** Give `key` (which holds a value) the deadline `at`. */
  expire(key: string, at: number): void {
    const i = this.#findStr(key);
    if (i < 0) return;
    this.#setDeadline(i, at);
    const heap = this.#heap;
    const earliest = heap.length === 0 || at < heap[0].at;
    this.#push({ at, key: this.#keys[i] as string });
    if (heap.length > 2 * this.#timed + HEAP_SLACK) this.#rebuild();
    if (earliest) this.onEarlier();
  }

  /** Remove `key`'s deadline; true when it had one. */
  persist(key: string): boolean {
    if (this.#timed === 0) return false;
    const i = this.#findStr(key);
    if (i < 0 || (this.#at as Float64Array)[i] === NO_EXPIRY) return false;
    this.#setDeadline(i, NO_EXPIRY);
    return true;
  }

  /** Delete `key`; true when it held a live value. */
  del(key: string): boolean {
    const i = this.#findStr(key);
    if (this.#live(i) === undefined) return false;
    this.#remove(i);
    return true;
  }

  /** `del` for the key that is argument `k` of `c`. */
  delArg(c: Args, k: number): boolean {
    const i = this.#findArg(c, k);
    if (this.#live(i) === undefined) return false;
    this.#remove(i);
    return true;
  }

  /** Delete every key. */
  clear(): void {
    this.#alloc(MIN_SLOTS);
    this.#size = 0;
    this.#timed = 0;
    this.#at = null;
    this.#heap.length = 0;
  }

  /**
   * Delete every key due at `now`.
   *
   * @returns the next deadline, or null when no key has one
   */
  purge(now: number): number | null {
    const heap = this.#heap;
    while (heap.length > 0) {
      const top = heap[0];
      const live = this.deadline(top.key) === top.at;
      if (live && top.at > now) return top.at;
      this.#pop();
      if (live) this.#remove(this.#findStr(top.key));
    }
    return null;
  }

  /** Keys with a live deadline. */
  get timedKeys(): number {
    return this.#timed;
  }

  /** Slot `i`'s value if it is live (an expired one is deleted); `i` < 0: none. */
  #live(i: number): Value | undefined {
    if (i < 0) return undefined;
    if (this.#timed !== 0) {
      const at = (this.#at as Float64Array)[i];
      if (at !== NO_EXPIRY && at <= this.#clock()) {
        this.#remove(i);
        return undefined;
      }
    }
    return this.#vals[i];
  }

  /** Slot `i` (which holds a key) gets `value` and deadline `at`. */
  #store(i: number, value: Value, at: number): void {
    this.#vals[i] = value;
    if (at !== NO_EXPIRY) this.expire(this.#keys[i] as string, at);
    else if (this.#timed !== 0) this.#setDeadline(i, NO_EXPIRY);
  }

  #setDeadline(i: number, at: number): void {
    let a = this.#at;
    if (a === null) a = this.#at = new Float64Array(this.#keys.length);
    if ((a[i] === NO_EXPIRY) !== (at === NO_EXPIRY)) this.#timed += at === NO_EXPIRY ? -1 : 1;
    a[i] = at;
  }

  /** The slot of `key`, or -1 - the free slot where it would go. */
  #findStr(key: string): number {
    const h = hashStr(key);
    const keys = this.#keys, hashes = this.#hashes, mask = this.#mask;
    for (let i = h & mask;; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === undefined) return -1 - i;
      if (hashes[i] === h && k === key) return i;
    }
  }

  /** The slot of the key that is argument `a` of `c`, or -1 - the free slot where it would go. */
  #findArg(c: Args, a: number): number {
    const buf = c.buf, start = c.offs[2 * a], end = c.offs[2 * a + 1];
    const n = end - start;
    const h = hashBytes(buf, start, end);
    const keys = this.#keys, hashes = this.#hashes, mask = this.#mask;
    next: for (let i = h & mask;; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === undefined) return -1 - i;
      if (hashes[i] !== h || k.length !== n) continue;
      for (let j = 0; j < n; j++) if (k.charCodeAt(j) !== buf[start + j]) continue next;
      return i;
    }
  }

  /** Put a new key in free slot `i` (growing first when half full); its slot. */
  #insert(i: number, key: string, h: number): number {
    if (2 * (this.#size + 1) > this.#keys.length) {
      this.#grow();
      i = -1 - this.#findStr(key);
    }
    this.#keys[i] = key;
    this.#hashes[i] = h;
    this.#size++;
    return i;
  }

  /** Empty slot `i`, moving back the keys behind it whose home slot is not between them. */
  #remove(i: number): void {
    const keys = this.#keys, hashes = this.#hashes, vals = this.#vals, mask = this.#mask;
    const at = this.#at;
    if (at !== null && at[i] !== NO_EXPIRY) this.#timed--;
    this.#size--;
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const k = keys[j];
      if (k === undefined) break;
      const home = hashes[j] & mask;
      // j's key may move to i unless its home lies cyclically in (i, j].
      if (i <= j ? home > i && home <= j : home > i || home <= j) continue;
      keys[i] = k;
      hashes[i] = hashes[j];
      vals[i] = vals[j];
      if (at !== null) at[i] = at[j];
      i = j;
    }
    keys[i] = undefined;
    vals[i] = undefined;
    if (at !== null) at[i] = NO_EXPIRY;
  }

  #alloc(slots: number): void {
    this.#keys = new Array<string | undefined>(slots).fill(undefined);
    this.#hashes = new Int32Array(slots);
    this.#vals = new Array<Value | undefined>(slots).fill(undefined);
    this.#mask = slots - 1;
  }

  #grow(): void {
    const keys = this.#keys, hashes = this.#hashes, vals = this.#vals, at = this.#at;
    this.#alloc(keys.length * 2);
    if (at !== null) this.#at = new Float64Array(keys.length * 2);
    const mask = this.#mask;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j];
      if (k === undefined) continue;
      let i = hashes[j] & mask;
      while (this.#keys[i] !== undefined) i = (i + 1) & mask;
      this.#keys[i] = k;
      this.#hashes[i] = hashes[j];
      this.#vals[i] = vals[j];
      if (at !== null) (this.#at as Float64Array)[i] = at[j];
    }
  }

  #rebuild(): void {
    const live = this.#heap.filter((d) => this.deadline(d.key) === d.at);
    this.#heap.length = 0;
    for (const d of live) this.#push(d);
  }

  #push(d: Due): void {
    const h = this.#heap;
    let i = h.length;
    h.push(d);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= d.at) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = d;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop() as Due;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && h[r].at < h[l].at ? r : l;
      if (h[c].at >= last.at) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
  }
}
