/**
 * Shared helpers of the io/ tests: the two transports every io type is
 * tested over (a TCP connection on a given backend, and an in-memory
 * duplex), a seeded PRNG, and a writer that dribbles bytes in chunks.
 *
 * @module
 */

import { NET_BACKENDS } from "./net_helpers.ts";
import { run, spawn } from "../runtime/mod.ts";
import { TcpListener, TcpStream } from "../net/mod.ts";
import { duplex } from "../io/mod.ts";
import type { Reader, Writer } from "../io/mod.ts";
import { sleep } from "../time/mod.ts";

/** The reactor backends the net-backed tests run on. */
export const BACKENDS = NET_BACKENDS;
/** One of {@linkcode BACKENDS}. */
export type B = typeof BACKENDS[number];

/** A connected pair of byte streams and how to close them. */
export interface Pair {
  /** The end the test writes to. */
  a: Reader & Writer & { close(): void };
  /** The end the test reads from. */
  b: Reader & Writer & { close(): void };
}

export { rng } from "./rng.ts";

/**
 * A connected TCP pair on the current runtime: [client, accepted server].
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * const { a, b } = yield* tcpPair();
 * ```
 */
export function* tcpPair(): Generator<unknown, Pair, unknown> {
  using l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
  const a = yield* TcpStream.connect({ hostname: "127.0.0.1", port: l.localAddr.port });
  const b = yield* l.accept();
  return { a, b };
}

/** A transport: a name and how to make a pair inside a task. */
export interface Transport {
  /** For test names. */
  name: string;
  /** Options for `run` (the backend). */
  backend: B | null;
  /** Make a connected pair. */
  pair(): Generator<unknown, Pair, unknown>;
}

/**
 * Every transport: TCP on each backend, and a duplex of `capacity` bytes.
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * for (const t of transports(7)) Deno.test(`x [${t.name}]`, () => inRuntime(t, body));
 * ```
 */
export function transports(duplexCapacity = 4096): Transport[] {
  const tcp = BACKENDS.map((b): Transport => ({ name: `tcp ${b}`, backend: b, pair: tcpPair }));
  return [...tcp, {
    name: `duplex(${duplexCapacity})`,
    backend: null,
    // deno-lint-ignore require-yield
    pair: function* () {
      const [a, b] = duplex(duplexCapacity);
      return { a, b };
    },
  }];
}

/**
 * Run `body` with a fresh pair of `t`, on t's backend.
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * await withPair(t, function* ({ a, b }) { ... });
 * ```
 */
export function withPair<T>(
  t: Transport,
  body: (p: Pair) => Generator<unknown, T, unknown>,
): Promise<T> {
  return run(function* () {
    const p = yield* t.pair();
    try {
      return yield* body(p);
    } finally {
      p.a.close();
      p.b.close();
    }
  }, t.backend === null ? {} : { backend: t.backend });
}

/**
 * Write `bytes` in pieces cut at `cuts` (ascending offsets), letting the
 * reader run between pieces, then shut down when `end` is set.
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * yield* dribble(a, bytes, [3, 7], true);
 * ```
 */
export function* dribble(
  w: Writer,
  bytes: Uint8Array,
  cuts: number[],
  end: boolean,
): Generator<unknown, void, unknown> {
  let at = 0;
  for (const c of [...cuts, bytes.byteLength]) {
    if (c > at) yield* w.writeAll(bytes.subarray(at, c));
    at = Math.max(at, c);
    yield* sleep(0);
  }
  if (end) yield* w.shutdown();
}

/**
 * Cancellation under fire: start `reader()` `rounds` times, abort each at a random moment (after
 * one or two scheduler turns, chosen by `rand`), then run it once to the end. A test then checks
 * that what the aborted readers consumed was not lost.
 *
 * @example
 * ```ts ignore
 * // Not run: test tooling: the tests that import it run it.
 * yield* abortReadersAtRandom(reader, 80, rng(1));
 * ```
 */
export function* abortReadersAtRandom(
  reader: () => Generator<unknown, void, unknown>,
  rounds: number,
  rand: () => number,
): Generator<unknown, void, unknown> {
  for (let round = 0; round < rounds; round++) {
    const h = spawn(reader());
    yield* sleep(0);
    if (rand() < 0.5) yield* sleep(0);
    h.abort();
    try {
      yield* h;
    } catch { /* cancelled */ }
  }
  yield* reader();
}
