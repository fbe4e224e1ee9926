/**
 * The mini-redis key space: strings and lists under binary-safe keys, with
 * exact expiry.
 *
 * Invariants:
 * - A key whose deadline has come is never returned: every read checks the
 *   deadline against the clock (lazy expiry), and the purge (`purge(now)`,
 *   run by the server's background task) deletes what is due.
 * - Deadlines live in a map of their own (only keys that have one pay for
 *   it). The expiry heap holds at most one live item per such key; stale
 *   items (a key deleted, overwritten or given a new deadline) are skipped
 *   when they surface, and the heap is rebuilt when stale ones
 *   outnumber the live ones, so it never grows past twice the keys with a
 *   deadline (plus a small constant).
 *
 * @module
 */

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

/** A heap item: a deadline set for `key`; stale once the key's deadline is another. */
interface Due {
  at: number;
  key: string;
}

/** The key space. */
export class Db {
  /** Key → value. */
  readonly map: Map<string, Value> = new Map();
  /** Key → deadline, for the keys that have one. */
  readonly #exp: Map<string, number> = new Map();
  readonly #clock: () => number;
  readonly #heap: Due[] = [];
  /** Called when a deadline earlier than every other was set (wake the purge task). */
  onEarlier: () => void = () => {};

  /** @param clock the current time in ms (the runtime's `now`, which tests pause) */
  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** The current time on the db's clock. */
  now(): number {
    return this.#clock();
  }

  /** The live value under `key` (an expired one is deleted first). */
  get(key: string): Value | undefined {
    const v = this.map.get(key);
    if (v === undefined || this.#exp.size === 0) return v;
    const at = this.#exp.get(key);
    if (at !== undefined && at <= this.#clock()) {
      this.map.delete(key);
      this.#exp.delete(key);
      return undefined;
    }
    return v;
  }

  /** `key`'s deadline, or NO_EXPIRY. */
  deadline(key: string): number {
    return this.#exp.size === 0 ? NO_EXPIRY : this.#exp.get(key) ?? NO_EXPIRY;
  }

  /** Store `value` under `key` with deadline `at` (NO_EXPIRY: none), replacing what was there. */
  set(key: string, value: Value, at: number): void {
    this.map.set(key, value);
    if (at !== NO_EXPIRY) this.expire(key, at);
    else if (this.#exp.size !== 0) this.#exp.delete(key);
  }

  /** Replace `key`'s value, keeping its deadline (INCR). */
  replace(key: string, value: Value): void {
    this.map.set(key, value);
  }

  /** Give `key` (which holds a value) the deadline `at`. */
  expire(key: string, at: number): void {
    this.#exp.set(key, at);
    const heap = this.#heap;
    const earliest = heap.length === 0 || at < heap[0].at;
    this.#push({ at, key });
    if (heap.length > 2 * this.#exp.size + HEAP_SLACK) this.#rebuild();
    if (earliest) this.onEarlier();
  }

  /** Remove `key`'s deadline; true when it had one. */
  persist(key: string): boolean {
    return this.#exp.delete(key);
  }

  /** Delete `key`; true when it held a live value. */
  del(key: string): boolean {
    if (this.get(key) === undefined) return false;
    this.map.delete(key);
    if (this.#exp.size !== 0) this.#exp.delete(key);
    return true;
  }

  /** Delete every key. */
  clear(): void {
    this.map.clear();
    this.#exp.clear();
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
      const live = this.#exp.get(top.key) === top.at;
      if (live && top.at > now) return top.at;
      this.#pop();
      if (live) {
        this.map.delete(top.key);
        this.#exp.delete(top.key);
      }
    }
    return null;
  }

  /** Keys with a live deadline. */
  get timedKeys(): number {
    return this.#exp.size;
  }

  #rebuild(): void {
    const live = this.#heap.filter((d) => this.#exp.get(d.key) === d.at);
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
