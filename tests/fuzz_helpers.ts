/**
 * Shared tooling of the parser fuzz tests (tests/fuzz_*_test.ts): a seeded
 * PRNG, a mutator of valid encodings, a splitter of byte streams into
 * chunks, and a growable {@linkcode DecodeBuffer} that records the most it
 * ever held.
 *
 * Budget: CI runs each target for a fixed iteration count from a fixed seed.
 * A long local run takes `DOKIO_FUZZ_SECONDS=N` (each target runs N
 * seconds, every iteration with a fresh seed) or `DOKIO_FUZZ_ITERS=N`;
 * `deno task fuzz:parsers [seconds]` sets the first. A failure names the
 * iteration's seed: `DOKIO_FUZZ_REPLAY=<seed>` runs that one case again.
 *
 * @module
 */

import type { DecodeBuffer } from "../mod.ts";

/** The fixed seed of a CI run. */
const CI_SEED = 0x5eed_d0c1;

/** A seeded generator (mulberry32) with the draws the fuzzers need. */
export class Prng {
  #a: number;

  /** @param seed any 32-bit number */
  constructor(seed: number) {
    this.#a = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.#a = (this.#a + 0x6d2b79f5) >>> 0;
    let t = this.#a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** A 32-bit number (a seed for a sub-case). */
  u32(): number {
    return this.int(0x1_0000_0000) >>> 0;
  }
}

/** Bytes that parsers treat specially: line ends, RESP and HTTP punctuation, extremes. */
const INTERESTING = [0x00, 0x0a, 0x0d, 0x20, 0x09, 0x22, 0x27, 0x5c, 0x2a, 0x24, 0x2d, 0x2b, 0x3a];
const INTERESTING_ALL = [...INTERESTING, 0x30, 0x39, 0x7f, 0x80, 0xff, 0xc3, 0xe2];

/**
 * `n` random bytes, half of them drawn from the bytes parsers care about.
 *
 * @param r the generator
 * @param n how many
 * @returns the bytes
 */
export function randomBytes(r: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r.chance(0.5) ? r.pick(INTERESTING_ALL) : r.int(256);
  return out;
}

/**
 * The bytes of `parts`, end to end.
 *
 * @param parts the pieces
 * @returns one array
 */
export function join(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** The kinds of mutation, one per draw. */
const FLIP = 0,
  SET = 1,
  TRUNCATE = 2,
  INSERT = 3,
  DELETE = 4,
  DUPLICATE = 5,
  TOKEN = 6,
  OVERWRITE = 7;
const KINDS = 8;

/**
 * A mutation of `input`: 1 to 4 of bit flips, special bytes, truncations,
 * random insertions, deleted spans, duplicated spans, and `tokens` (e.g.
 * huge length prefixes) inserted or written over the bytes.
 *
 * @param r the generator
 * @param input a valid encoding (not changed)
 * @param tokens byte strings worth splicing in
 * @returns the mutated bytes
 */
export function mutate(r: Prng, input: Uint8Array, tokens: readonly Uint8Array[]): Uint8Array {
  let b: Uint8Array = input.slice();
  const rounds = r.range(1, 4);
  for (let k = 0; k < rounds; k++) {
    const at = r.int(b.byteLength + 1);
    const span = r.range(1, Math.max(1, Math.min(64, b.byteLength - at)));
    switch (r.int(KINDS)) {
      case FLIP:
        if (at < b.byteLength) b[at] ^= 1 << r.int(8);
        break;
      case SET:
        if (at < b.byteLength) b[at] = r.pick(INTERESTING_ALL);
        break;
      case TRUNCATE:
        b = b.slice(0, at);
        break;
      case INSERT:
        b = join([b.subarray(0, at), randomBytes(r, r.range(1, 8)), b.subarray(at)]);
        break;
      case DELETE:
        b = join([b.subarray(0, at), b.subarray(Math.min(b.byteLength, at + span))]);
        break;
      case DUPLICATE: {
        const from = r.int(b.byteLength + 1);
        const dup = b.slice(from, Math.min(b.byteLength, from + span));
        b = join([b.subarray(0, at), dup, b.subarray(at)]);
        break;
      }
      case TOKEN:
        if (tokens.length > 0) b = join([b.subarray(0, at), r.pick(tokens), b.subarray(at)]);
        break;
      case OVERWRITE:
        if (tokens.length > 0) {
          const t = r.pick(tokens);
          b = join([b.subarray(0, at), t, b.subarray(Math.min(b.byteLength, at + t.byteLength))]);
        }
        break;
    }
  }
  return b;
}

/**
 * `bytes` cut into chunks (views) at random points: whole, one byte at a
 * time, or at a few random places (empty chunks included).
 *
 * @param r the generator
 * @param bytes the stream
 * @returns its chunks, in order
 */
export function split(r: Prng, bytes: Uint8Array): Uint8Array[] {
  const mode = r.int(4);
  if (mode === 0 || bytes.byteLength === 0) return [bytes];
  if (mode === 1) return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  const cuts = new Set<number>();
  const n = mode === 2 ? r.range(1, 4) : r.range(1, Math.max(1, bytes.byteLength >> 2));
  for (let i = 0; i < n; i++) cuts.add(r.int(bytes.byteLength + 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of sorted) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  out.push(bytes.subarray(from));
  return out;
}

/**
 * A {@linkcode DecodeBuffer} fed chunk by chunk, as a reader's buffer is;
 * `highWater` is the most it held when a decoder returned or threw.
 */
export class FeedBuffer implements DecodeBuffer {
  #buf: Uint8Array = new Uint8Array(256);
  #start = 0;
  #end = 0;
  /** Most bytes held after a decode call (what a decoder made its reader keep). */
  highWater = 0;

  /** The unconsumed bytes. */
  get buffer(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /** @param n bytes to drop from the front */
  consume(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.#end - this.#start) {
      throw new Error(`consume(${n}) with ${this.#end - this.#start} buffered`);
    }
    this.#start += n;
  }

  /** Append a chunk, as a read does (the buffer doubles when full). */
  push(chunk: Uint8Array): void {
    const have = this.#end - this.#start;
    if (this.#end + chunk.byteLength > this.#buf.byteLength) {
      let size = this.#buf.byteLength;
      while (size < have + chunk.byteLength) size *= 2;
      const next = size === this.#buf.byteLength ? this.#buf : new Uint8Array(size);
      next.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = next;
      this.#start = 0;
      this.#end = have;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.byteLength;
  }

  /** Record the bytes held now (call after each decode). */
  mark(): number {
    const n = this.#end - this.#start;
    if (n > this.highWater) this.highWater = n;
    return n;
  }
}

/** The run's budget: iterations (or seconds) and seed, from the environment. */
interface Budget {
  iters: number;
  seconds: number;
  seed: number;
  replay: number | null;
}

function envNumber(name: string): number | null {
  const v = Deno.env.get(name);
  if (v === undefined || v === "") return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`${name} must be a number >= 0: "${v}"`);
  return n;
}

function budget(ciIters: number): Budget {
  const seconds = envNumber("DOKIO_FUZZ_SECONDS") ?? 0;
  const iters = envNumber("DOKIO_FUZZ_ITERS") ?? (seconds > 0 ? Infinity : ciIters);
  const seed = envNumber("DOKIO_FUZZ_SEED") ??
    (seconds > 0 ? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0 : CI_SEED);
  return { iters, seconds, seed, replay: envNumber("DOKIO_FUZZ_REPLAY") };
}

/**
 * Run `body` once per iteration, each with its own seeded generator; a
 * failure is rethrown naming the seed that replays it.
 *
 * @param name the target's name (in the messages)
 * @param ciIters the iteration count of a CI run
 * @param body one case
 */
export function fuzz(name: string, ciIters: number, body: (r: Prng) => void): void {
  const b = budget(ciIters);
  const seeds = new Prng(b.seed);
  const deadline = b.seconds > 0 ? Date.now() + b.seconds * 1000 : Infinity;
  let i = 0;
  for (; i < b.iters && Date.now() < deadline; i++) {
    const seed = b.replay ?? seeds.u32();
    try {
      body(new Prng(seed));
    } catch (e) {
      const msg = e instanceof Error ? e.stack ?? e.message : String(e);
      throw new Error(
        `${name}: iteration ${i} failed; replay with DOKIO_FUZZ_REPLAY=${seed}\n${msg}`,
      );
    }
    if (b.replay !== null) break;
  }
  if (b.seconds > 0 || Deno.env.get("DOKIO_FUZZ_VERBOSE") === "1") {
    console.log(`fuzz ${name}: ${i} iterations (seed ${b.seed})`);
  }
}

const enc = new TextEncoder();

/**
 * The bytes of `s` (latin1 for chars below 256, so tokens can hold any byte).
 *
 * @param s the text
 * @returns its bytes
 */
export function bytesOf(s: string): Uint8Array {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return enc.encode(s);
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
