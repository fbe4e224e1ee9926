/**
 * `Reader`: what every byte source in Dokio offers — `TcpStream`, its read
 * half, a {@linkcode DuplexStream} end, {@linkcode stdin}, a
 * {@linkcode BufReader}.
 *
 * @module
 */

import type { Operation } from "../runtime/operation.ts";

/**
 * A byte source: `read(buf)` fills a prefix of `buf` and gives how many
 * bytes it wrote (at least 1 for a non-empty `buf`), or `null` at end of
 * stream. A reader's `read` must be cancel-safe: bytes it took from its
 * source when cancelled are returned by the next `read`.
 *
 * @example
 * ```ts
 * import { duplex, type Reader, run } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * function* readAll(r: Reader): Generator<unknown, number, unknown> {
 *   const buf = new Uint8Array(16);
 *   let total = 0;
 *   for (let n = yield* r.read(buf); n !== null; n = yield* r.read(buf)) total += n;
 *   return total;
 * }
 * const [a, b] = duplex(64);
 * const total = await run(function* () {
 *   yield* a.writeAll(new Uint8Array(40));
 *   yield* a.shutdown();
 *   return yield* readAll(b);
 * });
 * assert.equal(total, 40);
 * ```
 */
export interface Reader {
  /**
   * Read into `buf`: bytes read (≥ 1 for a non-empty `buf`), or null at end of stream.
   *
   * @param buf where the bytes go.
   * @returns an operation giving the count, or null at end of stream.
   */
  read(buf: Uint8Array): Operation<number | null>;
}
