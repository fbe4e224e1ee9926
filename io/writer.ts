/**
 * `Writer`: what every byte sink in Dokio offers — `TcpStream`, its write
 * half, a {@linkcode DuplexStream} end, {@linkcode stdout}/{@linkcode stderr},
 * a {@linkcode BufWriter}.
 *
 * @module
 */

import type { Operation } from "../runtime/operation.ts";

/**
 * A byte sink: `write(buf)` takes a prefix of `buf` (at least 1 byte of a
 * non-empty `buf`) and gives how many bytes it took; `writeAll(buf)` takes
 * all of it; `shutdown()` says no more bytes follow (a TCP FIN; the reading
 * side then sees end of stream).
 *
 * @example
 * ```ts
 * import { duplex, run, type Writer } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * function* greet(w: Writer): Generator<unknown, void, unknown> {
 *   yield* w.writeAll(new TextEncoder().encode("hello"));
 *   yield* w.shutdown();
 * }
 * const [a, b] = duplex(64);
 * const got = await run(function* () {
 *   yield* greet(a);
 *   const buf = new Uint8Array(16);
 *   const n = yield* b.read(buf);
 *   return new TextDecoder().decode(buf.subarray(0, n ?? 0));
 * });
 * assert.equal(got, "hello");
 * ```
 */
export interface Writer {
  /**
   * Write a prefix of `buf`: bytes taken (≥ 1 unless `buf` is empty).
   *
   * @param buf the bytes to write.
   * @returns an operation giving how many bytes were taken.
   */
  write(buf: Uint8Array): Operation<number>;
  /**
   * Write all of `buf`.
   *
   * @param buf the bytes to write.
   * @returns an operation that finishes once every byte was taken.
   */
  writeAll(buf: Uint8Array): Operation<void>;
  /**
   * End the stream: the reader of the other side sees end of stream.
   *
   * @returns an operation that finishes once the end is sent.
   */
  shutdown(): Operation<void>;
}
