/**
 * The mini-redis key space: strings and lists under binary-safe keys, with
 * exact expiry.
 *
 * Invariants:
 * - A key whose deadline has come is never returned: every read checks the
 *   deadline against the clock (lazy expiry), and the purge (`purge(now)`,
 *   run by the server's background task) deletes what is due.
 * - The expiry heap holds at most one live entry per key with a deadline;
 *   stale heap entries (a key deleted, overwritten or given a new deadline)
 *   are skipped when they surface, and the heap is rebuilt when stale ones
 *   outnumber the live ones, so it never grows past twice the keys with a
 *   deadline (plus a small constant).
 *
 * @module
 */

/** A list value: a ring buffer, O(1) at both ends. */
export class Deque {
  #items: (Uint8Array | undefined)[] = new Array(8);
  #head = 0;
  /** Elements. */
  length = 0;

  #grow(): void {
    const old = this.#items;
    const next: (Uint8Array | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.length; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = next;
    this.#head = 0;
  }

  /** Add at the front. */
  pushFront(v: Uint8Array): void {
    if (this.length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#items.length - 1);
    this.#items[this.#head] = v;
    this.length++;
  }

  /** Add at the back. */
  pushBack(v: Uint8Array): void {
    if (this.length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.length) & (this.#items.length - 1)] = v;
    this.length++;
  }

  /** Take from the front. */
  popFront(): Uint8Array | undefined {
    if (this.length === 0) return undefined;
    const v = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.length--;
    return v;
  }

  /** Take from the back. */
  popBack(): Uint8Array | undefined {
    if (this.length === 0) return undefined;
    const i = (this.#head + this.length - 1) & (this.#items.length - 1);
    const v = this.#items[i];
    this.#items[i] = undefined;
    this.length--;
    return v;
  }

  /** Element `i` (0 = front). */
  at(i: number): Uint8Array {
    return this.#items[(this.#head + i) & (this.#items.length - 1)] as Uint8Array;
  }
}

/** What a key holds. */
export type Value = Uint8Array | Deque;

/** One key's entry. */
export class Entry {
  /** The value. */
  value: Value;
  /** Deadline on the db's clock, ms; {@linkcode NO_EXPIRY} for none. */
  expiresAt: number;
  constructor(value: Value, expiresAt: number) {
    this.value = value;
    this.expiresAt = expiresAt;
  }
}

/** `Entry.expiresAt` of a key that does not expire. */
export const NO_EXPIRY = 0;
/** Rebuild the heap when it holds this many entries more than twice the live deadlines. */
const HEAP_SLACK = 1024;

/** A heap item: a deadline for the entry that was under `key` when it was set. */
interface Due {
  at: number;
  key: string;
  entry: Entry;
}

/** The key space. */
export class Db {
  /** Key → entry. */
  readonly map: Map<string, Entry> = new Map();
  readonly #clock: () => number;
  readonly #heap: Due[] = [];
  /** Entries with a deadline (live heap items). */
  #timed = 0;
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

  /** The live entry under `key` (an expired one is deleted first). */
  get(key: string): Entry | undefined {
    const e = this.map.get(key);
    if (e === undefined || e.expiresAt === NO_EXPIRY) return e;
    if (e.expiresAt <= this.#clock()) {
      this.#delete(key, e);
      return undefined;
    }
    return e;
  }

  /** Store `value` under `key` with deadline `at` (NO_EXPIRY: none), replacing what was there. */
  set(key: string, value: Value, at: number): void {
    const old = this.map.get(key);
    if (old !== undefined && old.expiresAt !== NO_EXPIRY) this.#timed--;
    const e = new Entry(value, NO_EXPIRY);
    this.map.set(key, e);
    if (at !== NO_EXPIRY) this.expire(e, key, at);
  }

  /** Give `e` (under `key`) the deadline `at`. */
  expire(e: Entry, key: string, at: number): void {
    if (e.expiresAt === NO_EXPIRY) this.#timed++;
    e.expiresAt = at;
    const heap = this.#heap;
    const earliest = heap.length === 0 || at < heap[0].at;
    this.#push({ at, key, entry: e });
    if (heap.length > 2 * this.#timed + HEAP_SLACK) this.#rebuild();
    if (earliest) this.onEarlier();
  }

  /** Remove `e`'s deadline. */
  persist(e: Entry): void {
    if (e.expiresAt !== NO_EXPIRY) this.#timed--;
    e.expiresAt = NO_EXPIRY;
  }

  /** Delete `key`; true when it held a live value. */
  del(key: string): boolean {
    const e = this.get(key);
    if (e === undefined) return false;
    this.#delete(key, e);
    return true;
  }

  #delete(key: string, e: Entry): void {
    if (e.expiresAt !== NO_EXPIRY) this.#timed--;
    e.expiresAt = NO_EXPIRY;
    this.map.delete(key);
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
      const live = this.map.get(top.key) === top.entry && top.entry.expiresAt === top.at;
      if (live && top.at > now) return top.at;
      this.#pop();
      if (live) this.#delete(top.key, top.entry);
    }
    return null;
  }

  /** Keys with a live deadline. */
  get timedKeys(): number {
    return this.#timed;
  }

  #rebuild(): void {
    const live = this.#heap.filter((d) =>
      this.map.get(d.key) === d.entry && d.entry.expiresAt === d.at
    );
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
