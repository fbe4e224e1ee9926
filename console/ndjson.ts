/**
 * Newline-delimited lines from a byte stream, with a bound: a line longer
 * than `maxLineBytes` is never held whole — its bytes are dropped as they
 * arrive, one error is reported for it, and reading resumes after its
 * newline. So a broken or hostile server makes the console hold at most
 * `maxLineBytes` (+ one chunk), whatever it sends. A `\r` before the newline
 * is dropped; empty lines are skipped; bytes that are not UTF-8 decode to U+FFFD.
 *
 * @module
 */

/** The default bound on one line: a snapshot of some 20,000 tasks. */
export const DEFAULT_MAX_LINE_BYTES: number = 8 * 1024 * 1024;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** A line, or the report of one that was dropped. */
export type LineEvent = { line: string } | { error: string };

/** Splits pushed chunks into lines (see the module doc). */
export class LineSplitter {
  readonly #max: number;
  #parts: Uint8Array[] = [];
  #held = 0;
  #dropping = false;
  readonly #decoder = new TextDecoder();

  /**
   * A splitter with nothing held.
   *
   * @param maxLineBytes the longest line kept, in bytes (≥ 1)
   * @throws {RangeError} when `maxLineBytes` is not a positive integer
   */
  constructor(maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
    }
    this.#max = maxLineBytes;
  }

  /** Bytes held for the line being read now (never more than the bound). */
  get held(): number {
    return this.#held;
  }

  /**
   * Takes one chunk.
   *
   * @param chunk bytes as they came
   * @returns the lines (and over-long-line errors) the chunk completed, in order
   */
  push(chunk: Uint8Array): LineEvent[] {
    const out: LineEvent[] = [];
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl < 0 ? chunk.length : nl;
      this.#take(chunk.subarray(start, end), out);
      if (nl < 0) break;
      this.#finish(out);
      start = nl + 1;
    }
    return out;
  }

  /**
   * The stream ended: a last line without a newline is a line.
   *
   * @returns that line, if any
   */
  end(): LineEvent[] {
    const out: LineEvent[] = [];
    this.#finish(out);
    return out;
  }

  #take(bytes: Uint8Array, out: LineEvent[]): void {
    if (bytes.length === 0 || this.#dropping) return;
    if (this.#held + bytes.length > this.#max) {
      this.#parts = [];
      this.#held = 0;
      this.#dropping = true;
      out.push({ error: `a line over ${this.#max} bytes was dropped` });
      return;
    }
    this.#parts.push(bytes.slice());
    this.#held += bytes.length;
  }

  #finish(out: LineEvent[]): void {
    if (this.#dropping) {
      this.#dropping = false;
      return;
    }
    if (this.#held === 0) return;
    const whole = new Uint8Array(this.#held);
    let at = 0;
    for (const p of this.#parts) {
      whole.set(p, at);
      at += p.length;
    }
    this.#parts = [];
    this.#held = 0;
    const len = whole[whole.length - 1] === CARRIAGE_RETURN ? whole.length - 1 : whole.length;
    if (len > 0) out.push({ line: this.#decoder.decode(whole.subarray(0, len)) });
  }
}

/**
 * The lines of a byte stream, bounded as `LineSplitter` is.
 *
 * @param stream the bytes (a fetch response body)
 * @param maxLineBytes the longest line kept
 * @returns lines and dropped-line errors, until the stream ends
 * @throws whatever reading the stream throws (a reset connection)
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  maxLineBytes: number = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<LineEvent> {
  const splitter = new LineSplitter(maxLineBytes);
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* splitter.push(value);
    }
    yield* splitter.end();
  } finally {
    // Stopped early (the console quits or reconnects): let the server go.
    await reader.cancel().catch(() => {});
  }
}
