/**
 * `copyBidirectional(a, b)`: a proxy's core — copy `a` to `b` and `b` to
 * `a` at once, inside the calling task, until both directions ended.
 *
 * Invariants: each direction is a {@linkcode copy}; when its source reaches
 * end of stream, its destination is shut down (a TCP half-close: the far
 * side sees end of stream and may still answer), and the other direction
 * goes on. An error in either direction (a reset peer: `IoError`
 * "ECONNRESET") cancels the other direction and is thrown; the caller
 * closes the streams. Cancelling the operation cancels both directions.
 *
 * @module
 */

import type { Operation } from "../runtime/operation.ts";
import { join } from "../sync/join.ts";
import { copy } from "./copy.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

/** One direction: copy, then shut the destination down. */
function* oneWay(from: Reader, to: Writer): Generator<unknown, number, unknown> {
  const n = yield* copy(from, to);
  yield* to.shutdown();
  return n;
}

/**
 * Copy `a` → `b` and `b` → `a` concurrently until both sources ended; each
 * direction shuts its destination down when its source ends.
 *
 * @param a one stream (a `TcpStream`, a duplex end…)
 * @param b the other
 * @returns `[aToB, bToA]`: the bytes copied each way
 * @throws {TypeError} when a stream cannot read or write.
 * @throws the first error of either direction (when run), e.g. `IoError` "ECONNRESET".
 * @example
 * ```ts
 * import { BufReader, copyBidirectional, duplex, run, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [client, proxyIn] = duplex(64);
 * const [proxyOut, server] = duplex(64);
 * const counts = await run(function* () {
 *   const proxy = spawn(copyBidirectional(proxyIn, proxyOut));
 *   yield* client.writeAll(new TextEncoder().encode("ping\n"));
 *   yield* client.shutdown(); // the server sees end of stream after "ping"
 *   const r = new BufReader(server);
 *   assert.equal(yield* r.readLine(), "ping");
 *   assert.equal(yield* r.readLine(), null);
 *   yield* server.writeAll(new TextEncoder().encode("pong!\n")); // it may still answer
 *   yield* server.shutdown();
 *   assert.equal(yield* new BufReader(client).readLine(), "pong!");
 *   return yield* proxy;
 * });
 * assert.deepEqual(counts, [5, 6]);
 * ```
 */
export function copyBidirectional(
  a: Reader & Writer,
  b: Reader & Writer,
): Operation<[number, number]> & PromiseLike<[number, number]> {
  for (const s of [a, b]) {
    if (
      s === null || typeof s !== "object" || typeof s.read !== "function" ||
      typeof s.write !== "function" || typeof s.shutdown !== "function"
    ) {
      throw new TypeError("copyBidirectional takes two streams that read, write and shut down");
    }
  }
  return join(oneWay(a, b), oneWay(b, a));
}
