/**
 * `MaxLengthError`: a line or frame longer than its reader allows.
 *
 * @module
 */

/**
 * Thrown by {@linkcode BufReader.readLine}, {@linkcode BufReader.readUntil},
 * {@linkcode LinesCodec} and {@linkcode LengthDelimitedCodec} when a line or
 * frame is longer than the `maxLength`/`maxFrameLength` given. Nothing that
 * long is buffered: the reader drops the rest of that line (up to its
 * delimiter) or frame (its declared length) as it arrives, and the next
 * read starts with what follows, so the stream stays usable.
 *
 * @example
 * ```ts
 * import { MaxLengthError } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const e = new MaxLengthError("line", 8, 9);
 * assert.equal(e.name, "MaxLengthError");
 * assert.ok(e instanceof RangeError);
 * assert.equal(e.limit, 8);
 * assert.equal(e.length, 9);
 * ```
 */
export class MaxLengthError extends RangeError {
  /** What was too long: "line" or "frame". */
  readonly kind: string;
  /** The maximum allowed, bytes. */
  readonly limit: number;
  /** The length seen when the limit was passed (a frame: its declared length), bytes. */
  readonly length: number;

  /**
   * Make one.
   *
   * @param kind what was too long ("line", "frame")
   * @param limit the maximum, bytes
   * @param length the length seen, bytes
   */
  constructor(kind: string, limit: number, length: number) {
    super(`${kind} too long: ${length} bytes seen, the limit is ${limit}`);
    this.name = "MaxLengthError";
    this.kind = kind;
    this.limit = limit;
    this.length = length;
  }
}
