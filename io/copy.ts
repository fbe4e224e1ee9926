/**
 * `copy(reader, writer)`: move every byte from a reader to a writer until
 * the reader's end of stream; gives the count.
 *
 * Invariants: the bytes pass through a {@linkcode BufReader} — the one given
 * as the reader, or one made for the copy — and are consumed from it only
 * once the writer took them. So when the reader given is a BufReader, a
 * cancelled copy loses nothing it had read: the bytes the writer did not
 * take stay in that BufReader, and the next read (or copy) starts with
 * them. With a plain reader, what a cancelled copy had buffered goes with
 * its private BufReader: give it a BufReader when the copy may be
 * cancelled and the rest of the stream still matters.
 *
 * @module
 */

import type { Operation } from "../runtime/operation.ts";
import { type AWAIT, StepOp } from "./_step_op.ts";
import { BufReader } from "./buf_reader.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

/** Buffer size of the BufReader a copy makes for a plain reader, bytes. */
const COPY_BUFFER = 16 * 1024;

/** Waiting for bytes from the reader. */
const FILLING = 0;
/** Waiting for the writer to take the buffered bytes. */
const WRITING = 1;
/** Waiting for the writer's flush at the end. */
const FLUSHING = 2;

interface Flushable {
  flush(): Operation<void>;
}

function isFlushable(w: unknown): w is Flushable {
  return typeof (w as Flushable).flush === "function";
}

/** Internal: the copy loop (see the module doc). */
class CopyOp extends StepOp<number> {
  readonly #r: BufReader;
  readonly #w: Writer;
  #stage = FILLING;
  #copied = 0;
  /**
   * Copy `r` to `w`.
   *
   * @param r the source, buffered
   * @param w the sink
   */
  constructor(r: BufReader, w: Writer) {
    super();
    this.#r = r;
    this.#w = w;
  }

  /** Bytes the writer has taken so far (also after a cancellation). */
  get copied(): number {
    return this.#copied;
  }

  protected step(input: unknown): number | typeof AWAIT {
    const r = this.#r;
    const stage = this.#stage;
    if (stage === FLUSHING) return this.#copied;
    if (stage === WRITING) {
      r.consume(input as number);
      this.#copied += input as number;
    } else if (input !== undefined && (input as Uint8Array).byteLength === 0) {
      // fillBuf gave nothing: the reader's end of stream.
      const w = this.#w;
      if (!isFlushable(w)) return this.#copied;
      this.#stage = FLUSHING;
      return this.run(w.flush());
    }
    if (r.buffered > 0) {
      this.#stage = WRITING;
      return this.run(this.#w.write(r.buffer));
    }
    this.#stage = FILLING;
    return this.run(r.fillBuf());
  }
}

/**
 * Copy everything `reader` gives to `writer`, until its end of stream;
 * gives how many bytes were copied. A writer with a `flush()` (a
 * {@linkcode BufWriter}) is flushed at the end. The writer is not shut
 * down (see {@linkcode copyBidirectional} for that).
 *
 * @param reader the source (a BufReader keeps what a cancelled copy read; see the module doc)
 * @param writer the sink
 * @returns the number of bytes copied
 * @throws {TypeError} when `reader` cannot read or `writer` cannot write.
 * @throws what the reader or writer throw (when run), e.g. `IoError` "ECONNRESET".
 * @example
 * ```ts
 * import { BufReader, copy, duplex, run, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = duplex(16);
 * const [c, d] = duplex(16);
 * const out = await run(function* () {
 *   const pump = spawn(copy(b, c)); // a → b ⇒ c → d
 *   yield* a.writeAll(new TextEncoder().encode("through the pipe\n"));
 *   yield* a.shutdown();
 *   const line = yield* new BufReader(d).readLine();
 *   return { line, copied: yield* pump };
 * });
 * assert.deepEqual(out, { line: "through the pipe", copied: 17 });
 * ```
 */
export function copy(reader: Reader, writer: Writer): Operation<number> & PromiseLike<number> {
  if (reader === null || typeof reader !== "object" || typeof reader.read !== "function") {
    throw new TypeError("copy: the reader has no read(buf)");
  }
  if (writer === null || typeof writer !== "object" || typeof writer.write !== "function") {
    throw new TypeError("copy: the writer has no write(buf)");
  }
  const r = reader instanceof BufReader ? reader : new BufReader(reader, { capacity: COPY_BUFFER });
  return new CopyOp(r, writer);
}
