/**
 * A connection's request bytes: one buffer the socket reads into and the
 * parser reads from by offset, so a request costs no view object (a
 * `BufReader` hands out a subarray per `fillBuf` and per `buffer`).
 *
 * Invariants: the unparsed bytes are `buf[pos..end)`; a read goes to
 * `buf[end..)` (the buffer itself when it is empty, so no view is made);
 * before a read, a partial request is moved to the front when less than half
 * the buffer is free behind it, and the buffer doubles only when it is full
 * from its start (the caller bounds it with `--max-query`).
 *
 * @module
 */

import type { Operation } from "../../runtime/mod.ts";
import type { Reader } from "../../io/mod.ts";

/** The read buffer of one connection. */
export class Inbox {
  /** The bytes; the unparsed ones are `buf[pos..end)`. */
  buf: Uint8Array;
  /** First unparsed byte. */
  pos = 0;
  /** One past the last byte read. */
  end = 0;
  readonly #src: Reader;

  /**
   * @param src what to read from
   * @param capacity the initial size, bytes
   */
  constructor(src: Reader, capacity: number) {
    this.#src = src;
    this.buf = new Uint8Array(capacity);
  }

  /** Unparsed bytes. */
  get buffered(): number {
    return this.end - this.pos;
  }

  /**
   * Read once more behind what is buffered (room made first); pass the result to `filled`.
   *
   * @returns the read: bytes added, or null at end of stream
   */
  fill(): Operation<number | null> {
    let buf = this.buf;
    if (this.pos === this.end) this.pos = this.end = 0;
    else if (this.pos > 0 && buf.length - this.end < buf.length >> 1) {
      buf.copyWithin(0, this.pos, this.end);
      this.end -= this.pos;
      this.pos = 0;
    } else if (this.end === buf.length) {
      buf = new Uint8Array(buf.length * 2);
      buf.set(this.buf.subarray(0, this.end));
      this.buf = buf;
    }
    return this.#src.read(this.end === 0 ? buf : buf.subarray(this.end));
  }

  /**
   * Count what a `fill` read.
   *
   * @param n the read's result
   * @returns whether the stream ended
   */
  filled(n: number | null): boolean {
    if (n === null) return true;
    this.end += n;
    return false;
  }
}
