/**
 * `stdin()`, `stdout()`, `stderr()`: the process's standard streams as a
 * {@linkcode Reader} and {@linkcode Writer}s that never block the thread —
 * they run on Deno's asynchronous `Deno.stdin.read` / `Deno.stdout.write`,
 * and a task waiting on them lets every other task, timer and socket run.
 * So `new BufReader(stdin()).lines()` works in a task beside sockets.
 *
 * Invariants:
 * - One object per stream (every call returns it), so all readers of stdin
 *   share its state.
 * - Cancel safety of `stdin().read`: Deno's read cannot be called back, so
 *   it reads into the stream's own buffer; a read cancelled while Deno's is
 *   in flight leaves that in flight, and its bytes (or its end of stream)
 *   go to the next `read`. Nothing is lost.
 * - Writes reach the stream in call order: a write waits for the one
 *   before it (also one whose task was cancelled) to finish first. A
 *   cancelled write may still complete: Deno's write cannot be called back.
 * - `shutdown()` of stdout/stderr waits for pending writes and then does
 *   nothing else: the process's stdout stays open for others (as in Tokio).
 *
 * @module
 */

import { call } from "../runtime/call.ts";
import type { Operation } from "../runtime/operation.ts";
import { type AWAIT, StepOp } from "./_step_op.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

/** Bytes Deno's stdin read gets at a time. */
const STDIN_CHUNK = 16 * 1024;

class StdinState {
  readonly buf: Uint8Array = new Uint8Array(STDIN_CHUNK);
  off = 0;
  len = 0;
  /** Deno's read returned null and no read took that end yet. */
  eof = false;
  inflight: Promise<void> | null = null;

  start(): Promise<void> {
    if (this.inflight === null) {
      this.inflight = Deno.stdin.read(this.buf).then((n) => {
        this.inflight = null;
        if (n === null) this.eof = true;
        else {
          this.off = 0;
          this.len = n;
        }
      }, (e) => {
        this.inflight = null;
        throw e;
      });
    }
    return this.inflight;
  }
}

class StdinRead extends StepOp<number | null> {
  readonly #s: StdinState;
  readonly #dst: Uint8Array;
  constructor(s: StdinState, dst: Uint8Array) {
    super();
    this.#s = s;
    this.#dst = dst;
  }
  protected step(_input: unknown): number | null | typeof AWAIT {
    const s = this.#s;
    const dst = this.#dst;
    if (dst.byteLength === 0) return 0;
    if (s.len > 0) {
      const n = Math.min(dst.byteLength, s.len);
      dst.set(s.buf.subarray(s.off, s.off + n));
      s.off += n;
      s.len -= n;
      return n;
    }
    if (s.eof) {
      s.eof = false;
      return null;
    }
    return this.run(call(s.start()));
  }
}

/**
 * Standard input as a {@linkcode Reader} (made by {@linkcode stdin}).
 *
 * @example
 * ```ts ignore
 * // Not run: it waits for the test runner's stdin.
 * import { BufReader, run, stdin } from "../mod.ts";
 * await run(function* () {
 *   const lines = new BufReader(stdin()).lines();
 *   for (let l = yield* lines.next(); l !== null; l = yield* lines.next()) console.log(l.length);
 * });
 * ```
 */
export class Stdin implements Reader {
  readonly #s: StdinState;

  /**
   * Internal: made once, by {@linkcode stdin}.
   *
   * @param s the shared state
   */
  constructor(s: StdinState) {
    if (!(s instanceof StdinState)) throw new TypeError("Stdin is made by stdin()");
    this.#s = s;
  }

  /**
   * Read into `buf`: bytes read (≥ 1), or `null` at end of input. Cancel-safe.
   *
   * @param buf where to read to
   * @returns bytes read, or null at end of input
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts ignore
   * // Not run: it waits for the test runner's stdin.
   * const n = yield* stdin().read(buf);
   * ```
   */
  read(buf: Uint8Array): Operation<number | null> & PromiseLike<number | null> {
    if (!(buf instanceof Uint8Array)) throw new TypeError("Stdin.read takes a Uint8Array");
    return new StdinRead(this.#s, buf);
  }
}

/** Where an output stream's writes are: the last one's promise. */
class OutState {
  readonly file: { write(p: Uint8Array): Promise<number> };
  tail: Promise<unknown> = Promise.resolve();
  constructor(file: { write(p: Uint8Array): Promise<number> }) {
    this.file = file;
  }
  /** Queue one write of `buf` after the ones before it. */
  write(buf: Uint8Array): Promise<number> {
    const p = this.tail.then(() => this.file.write(buf), () => this.file.write(buf));
    this.tail = p.catch(() => {});
    return p;
  }
}

/** Waiting for nothing yet. */
const START = 0;
/** Waiting for one write. */
const WAITING = 1;

class OutWrite extends StepOp<number | void> {
  readonly #s: OutState;
  readonly #buf: Uint8Array;
  readonly #all: boolean;
  #off = 0;
  #stage = START;
  constructor(s: OutState, buf: Uint8Array, all: boolean) {
    super();
    this.#s = s;
    this.#buf = buf;
    this.#all = all;
  }
  protected step(input: unknown): number | void | typeof AWAIT {
    if (this.#stage === WAITING) {
      this.#off += input as number;
      if (!this.#all) return input as number;
    }
    if (this.#off >= this.#buf.byteLength) return this.#all ? undefined : 0;
    this.#stage = WAITING;
    return this.run(call(this.#s.write(this.#buf.subarray(this.#off))));
  }
}

/** `shutdown()`: wait for the writes before it. */
class OutDrain extends StepOp<void> {
  readonly #s: OutState;
  #waited = false;
  constructor(s: OutState) {
    super();
    this.#s = s;
  }
  protected step(_input: unknown): void | typeof AWAIT {
    if (this.#waited) return;
    this.#waited = true;
    return this.run(call(this.#s.tail));
  }
}

/**
 * Standard output or error as a {@linkcode Writer} (made by
 * {@linkcode stdout} and {@linkcode stderr}).
 *
 * @example
 * ```ts
 * import { run, stdout } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * await run(function* () {
 *   yield* stdout().writeAll(new TextEncoder().encode("hello from a task\n"));
 * });
 * assert.equal(stdout(), stdout()); // one object per stream
 * ```
 */
export class StdWriter implements Writer {
  readonly #s: OutState;

  /**
   * Internal: made once per stream, by {@linkcode stdout} / {@linkcode stderr}.
   *
   * @param s the shared state
   */
  constructor(s: OutState) {
    if (!(s instanceof OutState)) throw new TypeError("StdWriter is made by stdout()/stderr()");
    this.#s = s;
  }

  /**
   * Write a prefix of `buf`: bytes taken (≥ 1 unless `buf` is empty).
   *
   * @param buf the bytes (not to be changed until the write finished)
   * @returns bytes written
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts ignore
   * // Not run: it writes to the test runner's stderr.
   * const n = yield* stderr().write(bytes);
   * ```
   */
  write(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    if (!(buf instanceof Uint8Array)) throw new TypeError("StdWriter.write takes a Uint8Array");
    return new OutWrite(this.#s, buf, false) as StepOp<number>;
  }

  /**
   * Write all of `buf`.
   *
   * @param buf the bytes (not to be changed until the write finished)
   * @returns nothing, once written
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts ignore
   * // Not run: it writes to the test runner's stdout.
   * yield* stdout().writeAll(new TextEncoder().encode("ready\n"));
   * ```
   */
  writeAll(buf: Uint8Array): Operation<void> & PromiseLike<void> {
    if (!(buf instanceof Uint8Array)) throw new TypeError("StdWriter.writeAll takes a Uint8Array");
    return new OutWrite(this.#s, buf, true) as StepOp<void>;
  }

  /**
   * Wait for the writes made before; the stream itself stays open.
   *
   * @returns nothing, once earlier writes finished
   * @example
   * ```ts ignore
   * // Not run: it would end the test runner's stdout.
   * yield* stdout().shutdown();
   * ```
   */
  shutdown(): Operation<void> & PromiseLike<void> {
    return new OutDrain(this.#s);
  }
}

let theStdin: Stdin | null = null;
let theStdout: StdWriter | null = null;
let theStderr: StdWriter | null = null;

/**
 * Standard input as a {@linkcode Reader} that never blocks the thread.
 *
 * @returns the process's one Stdin
 * @example
 * ```ts
 * import { stdin } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(stdin(), stdin());
 * ```
 */
export function stdin(): Stdin {
  return theStdin ??= new Stdin(new StdinState());
}

/**
 * Standard output as a {@linkcode Writer} that never blocks the thread.
 *
 * @returns the process's one stdout writer
 * @example
 * ```ts
 * import { stdout } from "../mod.ts";
 * await stdout().writeAll(new TextEncoder().encode("ok\n"));
 * ```
 */
export function stdout(): StdWriter {
  return theStdout ??= new StdWriter(new OutState(Deno.stdout));
}

/**
 * Standard error as a {@linkcode Writer} that never blocks the thread.
 *
 * @returns the process's one stderr writer
 * @example
 * ```ts
 * import { stderr } from "../mod.ts";
 * await stderr().writeAll(new TextEncoder().encode("(a note on stderr)\n"));
 * ```
 */
export function stderr(): StdWriter {
  return theStderr ??= new StdWriter(new OutState(Deno.stderr));
}
