/**
 * `open` and `File`: a file opened through the reactor (io_uring natively;
 * on epoll and kqueue the C side's file-worker thread does the system calls).
 *
 * Every I/O method returns an operation: `yield*` it inside a task, or
 * `await` it outside one. Invariants:
 * - `read`/`write`/`writeAll`/`seek` use the file position and run one at a
 *   time, in the order they first run (the cursor lane, also across
 *   cancellations); `readAt`/`writeAt`
 *   take an explicit offset, leave the position alone and run concurrently.
 * - Cancel safety: a read cancelled before its completion never writes into
 *   the caller's buffer afterwards (the kernel reads into a bounce buffer;
 *   see fs/_file_ops.ts), and a cancelled cursor read leaves the position
 *   where it was. A cancelled write may still have written.
 * - `close()` (or `using`) is immediate for the caller: further calls throw
 *   {@linkcode ClosedError}; the fd itself is closed once no op of the file is
 *   in flight, so its number is never reused under an op.
 * - Failures are `IoError`s with Deno's `code` ("ENOENT", "EISDIR"…) and the
 *   path in the message; a path Deno's permissions refuse throws
 *   `Deno.errors.NotCapable`; bad arguments throw TypeError/RangeError at the call.
 *
 * @module
 */

import { DK_O_APPEND, DK_O_CREAT, DK_O_EXCL, DK_O_RDONLY, DK_O_RDWR } from "../ffi/layout.ts";
import { DK_O_TRUNC, DK_O_WRONLY } from "../ffi/layout.ts";
import { fstat, fsync, ftruncate, STAT_FIELDS } from "../ffi/file.ts";
import { IoError } from "../ffi/errors.ts";
import { GenOp, Leaf, type Operation, PENDING, type Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { readableOf, writableOf } from "../runtime/io/web_streams.ts";
import { FileCore } from "./_file_core.ts";
import { OpenOp, ReadOp, SeekOp, WriteAllOp, WriteOp } from "./_file_ops.ts";
import { fsError } from "./_errors.ts";
import { fileInfoOf } from "./_info.ts";
import { type PathLike, toPath } from "./_path.ts";

/**
 * An fs/ operation: run it with `yield*` in a task or `await` it.
 *
 * @example
 * ```ts
 * import { type FsOp, readTextFile } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "dokio");
 * const op: FsOp<string> = readTextFile(path);
 * assert.equal(await op, "dokio");
 * await Deno.remove(path);
 * ```
 */
export type FsOp<T> = Operation<T> & PromiseLike<T>;

/**
 * Options of {@linkcode open} (the names and rules of `Deno.OpenOptions`).
 *
 * @example
 * ```ts
 * import { open, type OpenOptions } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const options: OpenOptions = { write: true, create: true, truncate: true, mode: 0o600 };
 * {
 *   using f = await open(path, options);
 *   await f.writeAll(new TextEncoder().encode("x"));
 * }
 * assert.equal(await Deno.readTextFile(path), "x");
 * await Deno.remove(path);
 * ```
 */
export interface OpenOptions {
  /** Open for reading (`open(path)` without options opens read-only). */
  read?: boolean;
  /** Open for writing. */
  write?: boolean;
  /** Writes go to the end of the file (implies `write`). */
  append?: boolean;
  /** Create the file if it does not exist (needs `write` or `append`). */
  create?: boolean;
  /** Create the file; fail with EEXIST if it exists (needs `write` or `append`). */
  createNew?: boolean;
  /** Truncate an existing file to 0 bytes (needs `write`). */
  truncate?: boolean;
  /** Permission bits of a created file (before the umask); default 0o666. */
  mode?: number;
}

const DEFAULT_MODE = 0o666;
const READ_ONLY: OpenOptions = { read: true };
const MAX_MODE = 0o7777;

/** Map options to DK_O_* flags; the read/write permissions they need. */
function openFlags(o: OpenOptions, fn: string): { flags: number; read: boolean; write: boolean } {
  if (o === null || typeof o !== "object") throw new TypeError(`${fn}: options must be an object`);
  const append = o.append === true;
  const write = o.write === true || append;
  const read = o.read === true;
  if (!read && !write) {
    throw new TypeError(`${fn}: options need at least one of read, write, append`);
  }
  if ((o.create || o.createNew) && !write) {
    throw new TypeError(`${fn}: 'create' and 'createNew' need 'write' or 'append'`);
  }
  if (o.truncate && !(o.write === true)) throw new TypeError(`${fn}: 'truncate' needs 'write'`);
  if (o.truncate && append) {
    throw new TypeError(`${fn}: 'truncate' and 'append' exclude each other`);
  }
  let flags = read && write ? DK_O_RDWR : write ? DK_O_WRONLY : DK_O_RDONLY;
  if (append) flags |= DK_O_APPEND;
  if (o.createNew) flags |= DK_O_CREAT | DK_O_EXCL;
  else if (o.create) flags |= DK_O_CREAT;
  if (o.truncate) flags |= DK_O_TRUNC;
  const creates = o.create === true || o.createNew === true;
  return { flags, read, write: write || creates };
}

/**
 * Check a `mode` option.
 *
 * @throws {RangeError} when it is not an integer in 0..0o7777.
 * @example
 * ```ts
 * import { checkMode } from "./file.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkMode(undefined, "open"), 0o666);
 * assert.equal(checkMode(0o600, "open"), 0o600);
 * ```
 */
export function checkMode(mode: number | undefined, fn: string): number {
  if (mode === undefined) return DEFAULT_MODE;
  if (!Number.isInteger(mode) || mode < 0 || mode > MAX_MODE) {
    throw new RangeError(`${fn}: mode must be an integer in 0..0o7777, got ${mode}`);
  }
  return mode;
}

function checkBuf(buf: Uint8Array, fn: string): void {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${fn}: buffer must be a Uint8Array`);
}

function checkOffset(offset: number, fn: string): void {
  if (typeof offset !== "number") throw new TypeError(`${fn}: offset must be a number`);
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`${fn}: offset must be an integer ≥ 0, got ${offset}`);
  }
}

/**
 * Open a file.
 *
 * @param path the file's path (a string or a `file:` URL).
 * @param options access and creation flags (default: read only).
 * @returns an operation giving the open {@linkcode File}.
 * @throws {TypeError} for a bad path or contradictory options; {@linkcode RangeError} for a bad mode.
 * @throws {IoError} (when run) ENOENT, EACCES, EISDIR, EEXIST…, with the path in the message.
 * @throws {Deno.errors.NotCapable} (when run) when Deno's permissions refuse the path.
 * @example
 * ```ts
 * import { open } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * {
 *   using f = await open(path, { write: true, truncate: true });
 *   await f.writeAll(new TextEncoder().encode("hello"));
 * }
 * using f = await open(path);
 * const buf = new Uint8Array(16);
 * assert.equal(await f.readAt(buf, 1), 4);
 * assert.equal(new TextDecoder().decode(buf.subarray(0, 4)), "ello");
 * ```
 */
export function open(path: PathLike, options?: OpenOptions): FsOp<File> {
  options ??= READ_ONLY;
  const p = toPath(path, "open");
  const { flags, read, write } = openFlags(options, "open");
  const mode = checkMode(options.mode, "open");
  return new OpenOp(p, flags, mode, read, write, (core) => new File(core));
}

/**
 * Where {@linkcode File.seek} counts from (the values of `Deno.SeekMode`).
 *
 * @example
 * ```ts
 * import { SeekMode } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(SeekMode.End, Deno.SeekMode.End);
 * ```
 */
export const SeekMode = { Start: 0, Current: 1, End: 2 } as const;
/** A {@linkcode SeekMode} value. */
export type SeekMode = typeof SeekMode[keyof typeof SeekMode];

/** A call on Deno's blocking pool that keeps the file's fd open until it settles. */
class PoolCall extends Leaf<void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "fs";
  }

  readonly #core: FileCore;
  readonly #start: () => Promise<void>;
  readonly #what: string;
  #state = 0;
  #error: unknown = null;
  #waker: Waker | null = null;
  constructor(core: FileCore, what: string, start: () => Promise<void>) {
    super();
    this.#core = core;
    this.#what = what;
    this.#start = start;
  }
  protected poll(waker: Waker): Poll<void> {
    if (this.#state === 0) {
      const c = this.#core;
      c.checkOpen();
      c.inflight++;
      this.#state = 1;
      this.#start().then(() => this.#settle(2, null), (e) => this.#settle(3, e));
    }
    if (this.#state === 2) return;
    if (this.#state === 3) {
      const e = this.#error;
      throw e instanceof IoError ? fsError(-e.errno, this.#what, this.#core.path) : e;
    }
    this.#waker = waker;
    return PENDING;
  }
  #settle(state: number, e: unknown): void {
    this.#state = state;
    this.#error = e;
    const c = this.#core;
    c.inflight--;
    c.idle();
    const w = this.#waker;
    this.#waker = null;
    if (w !== null) w.wake();
  }
  protected cancel(): void {
    this.#waker = null; // the call runs to its end; the fd stays open until then
  }
}

/**
 * An open file. It is a reader and a writer in the sense of the I/O toolkit
 * (`read(buf)` → bytes or null at end, `write`, `writeAll`, `shutdown`), and
 * has web-stream adapters.
 *
 * @example
 * ```ts
 * import { open, run, SeekMode } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await run(function* () {
 *   using f = yield* open(path, { read: true, write: true });
 *   yield* f.writeAll(new TextEncoder().encode("abcdef"));
 *   assert.equal(yield* f.seek(2, SeekMode.Start), 2);
 *   const buf = new Uint8Array(3);
 *   assert.equal(yield* f.read(buf), 3);
 *   assert.equal(new TextDecoder().decode(buf), "cde");
 *   assert.equal((yield* f.stat()).size, 6);
 * });
 * ```
 */
export class File implements Disposable {
  readonly #core: FileCore;
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;

  /**
   * Internal: made by {@linkcode open}.
   *
   * @param core the open file's state
   */
  constructor(core: FileCore) {
    if (!(core instanceof FileCore)) throw new TypeError("File is made by open()");
    this.#core = core;
  }

  /** The path the file was opened with. */
  get path(): string {
    return this.#core.path;
  }

  /** The fd (for diagnostics; -1 once closed). */
  get fd(): number {
    return this.#core.closed ? -1 : this.#core.fd;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#core.closed;
  }

  /**
   * Read at the file position into `buf`: bytes read (≥ 1), or `null` at end
   * of file (0 for an empty `buf`). Moves the position by what it read.
   *
   * @param buf where the bytes go.
   * @returns an operation (also awaitable) giving the count, or `null` at end of file.
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts
   * import { open, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "hello");
   * await run(function* () {
   *   using f = yield* open(path);
   *   const buf = new Uint8Array(16);
   *   const n = yield* f.read(buf);
   *   assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "hello");
   *   assert.equal(yield* f.read(buf), null); // end of file
   * });
   * await Deno.remove(path);
   * ```
   */
  read(buf: Uint8Array): FsOp<number | null> {
    checkBuf(buf, "File.read");
    this.#core.checkOpen();
    return new ReadOp(this.#core, buf, -1);
  }

  /**
   * Read into `buf` at byte `offset` (pread): bytes read, or `null` at or past
   * the end. The file position does not move.
   *
   * @param buf where the bytes go.
   * @param offset the byte offset to read from.
   * @returns an operation (also awaitable) giving the count, or `null` at or past the end.
   * @throws {TypeError} for a bad buffer; {@linkcode RangeError} for a negative or unsafe offset.
   * @example
   * ```ts
   * import { open, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "hello");
   * await run(function* () {
   *   using f = yield* open(path);
   *   const buf = new Uint8Array(3);
   *   const n = yield* f.readAt(buf, 2); // e.g. f.readAt(buf, 3 * 2 ** 31) past 4 GiB
   *   assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "llo");
   *   assert.equal(yield* f.readAt(buf, 100), null); // past the end
   * });
   * await Deno.remove(path);
   * ```
   */
  readAt(buf: Uint8Array, offset: number): FsOp<number | null> {
    checkBuf(buf, "File.readAt");
    checkOffset(offset, "File.readAt");
    this.#core.checkOpen();
    return new ReadOp(this.#core, buf, offset);
  }

  /**
   * Write `buf` at the file position (at the end in append mode): the bytes
   * written (≥ 1 unless `buf` is empty).
   *
   * @param buf the bytes to write.
   * @returns an operation (also awaitable) giving the bytes written.
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts
   * import { open, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await run(function* () {
   *   using f = yield* open(path, { write: true, truncate: true });
   *   const bytes = new TextEncoder().encode("abc");
   *   const n = yield* f.write(bytes);
   *   assert.equal(n, 3);
   * });
   * await Deno.remove(path);
   * ```
   */
  write(buf: Uint8Array): FsOp<number> {
    checkBuf(buf, "File.write");
    this.#core.checkOpen();
    return new WriteOp(this.#core, buf, -1);
  }

  /**
   * Write `buf` at byte `offset` (pwrite); the file position does not move.
   *
   * @param buf the bytes to write.
   * @param offset the byte offset to write at.
   * @returns an operation (also awaitable) giving the bytes written.
   * @throws {RangeError} for a negative or unsafe offset.
   * @example
   * ```ts
   * import { open, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "hello");
   * await run(function* () {
   *   using f = yield* open(path, { read: true, write: true });
   *   const bytes = new TextEncoder().encode("J");
   *   yield* f.writeAt(bytes, 0);
   *   const buf = new Uint8Array(5);
   *   yield* f.readAt(buf, 0);
   *   assert.equal(new TextDecoder().decode(buf), "Jello"); // e.g. f.writeAt(bytes, 4096) extends the file
   * });
   * await Deno.remove(path);
   * ```
   */
  writeAt(buf: Uint8Array, offset: number): FsOp<number> {
    checkBuf(buf, "File.writeAt");
    checkOffset(offset, "File.writeAt");
    this.#core.checkOpen();
    return new WriteOp(this.#core, buf, offset);
  }

  /**
   * Write all of `buf` at the file position.
   *
   * @param buf the bytes to write.
   * @returns an operation (also awaitable) that finishes once every byte is written.
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts
   * import { open, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "hello");
   * await run(function* () {
   *   {
   *     using f = yield* open(path, { write: true, append: true });
   *     yield* f.writeAll(new TextEncoder().encode("line\n"));
   *   }
   *   assert.equal(Deno.readTextFileSync(path), "hello" + "line\n");
   * });
   * await Deno.remove(path);
   * ```
   */
  writeAll(buf: Uint8Array): FsOp<void> {
    checkBuf(buf, "File.writeAll");
    this.#core.checkOpen();
    return new WriteAllOp(this.#core, buf);
  }

  /**
   * Move the file position; the new position (after earlier cursor ops).
   *
   * @param offset bytes from `whence` (may be negative for Current/End).
   * @param whence {@linkcode SeekMode}: Start (default), Current or End.
   * @returns an operation (also awaitable) giving the new position.
   * @throws {RangeError} for a non-integer offset or unknown whence.
   * @example
   * ```ts
   * import { open, run, SeekMode } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "hello");
   * await run(function* () {
   *   using f = yield* open(path);
   *   const size = yield* f.seek(0, SeekMode.End);
   *   assert.equal(size, 5);
   *   assert.equal(yield* f.seek(1), 1); // from the start
   * });
   * await Deno.remove(path);
   * ```
   */
  seek(offset: number, whence?: SeekMode): FsOp<number> {
    whence ??= SeekMode.Start;
    if (!Number.isSafeInteger(offset)) {
      throw new RangeError(`File.seek: offset must be a safe integer, got ${offset}`);
    }
    if (whence !== 0 && whence !== 1 && whence !== 2) {
      throw new RangeError(`File.seek: whence must be a SeekMode (0, 1, 2), got ${whence}`);
    }
    this.#core.checkOpen();
    return new SeekOp(this.#core, offset, whence);
  }

  /**
   * Flush data and metadata to disk (fsync, on Deno's blocking pool).
   *
   * @returns an operation (also awaitable) that finishes once the file is on disk.
   * @example
   * ```ts
   * import { open, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "hello");
   * await run(function* () {
   *   using f = yield* open(path, { write: true });
   *   yield* f.writeAll(new Uint8Array([1]));
   *   yield* f.sync();
   * });
   * await Deno.remove(path);
   * ```
   */
  sync(): FsOp<void> {
    const c = this.#core;
    c.checkOpen();
    return new PoolCall(c, "fsync", () => fsync(c.lib, c.fd, false));
  }

  /**
   * Flush data to disk (fdatasync where the host has it).
   *
   * @returns an operation (also awaitable) that finishes once the data is on disk.
   * @example
   * ```ts
   * import { open, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "hello");
   * await run(function* () {
   *   using f = yield* open(path, { write: true });
   *   yield* f.writeAll(new Uint8Array([1]));
   *   yield* f.syncData();
   * });
   * await Deno.remove(path);
   * ```
   */
  syncData(): FsOp<void> {
    const c = this.#core;
    c.checkOpen();
    return new PoolCall(c, "fdatasync", () => fsync(c.lib, c.fd, true));
  }

  /**
   * Set the file's length to `len` bytes (default 0), cutting or zero-extending.
   *
   * @param len the new length in bytes.
   * @returns an operation (also awaitable) that finishes once the length is set.
   * @throws {RangeError} for a negative or unsafe length.
   * @example
   * ```ts
   * import { open, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "hello");
   * await run(function* () {
   *   using f = yield* open(path, { write: true });
   *   yield* f.truncate(3 * 2 ** 30); // a sparse 3 GiB file
   *   assert.equal((yield* f.stat()).size, 3 * 2 ** 30);
   *   yield* f.truncate(); // back to 0
   * });
   * await Deno.remove(path);
   * ```
   */
  truncate(len?: number): FsOp<void> {
    len ??= 0;
    if (!Number.isSafeInteger(len) || len < 0) {
      throw new RangeError(`File.truncate: length must be an integer ≥ 0, got ${len}`);
    }
    const c = this.#core;
    c.checkOpen();
    return new PoolCall(c, "ftruncate", () => ftruncate(c.lib, c.fd, len));
  }

  /**
   * The file's metadata (fstat), as a `Deno.FileInfo`.
   *
   * @returns an operation (also awaitable) giving the metadata.
   * @example
   * ```ts
   * import { open, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "hello");
   * await run(function* () {
   *   using f = yield* open(path);
   *   const { size, isFile } = yield* f.stat();
   *   assert.equal(size, 5);
   *   assert.equal(isFile, true);
   * });
   * await Deno.remove(path);
   * ```
   */
  stat(): FsOp<Deno.FileInfo> {
    const c = this.#core;
    c.checkOpen();
    return new GenOp(function* () {
      c.checkOpen();
      const st = new Float64Array(STAT_FIELDS);
      try {
        fstat(c.lib, c.fd, st);
      } catch (e) {
        throw fsError(-(e as IoError).errno, "fstat", c.path);
      }
      return fileInfoOf(st);
    });
  }

  /**
   * The writer's end-of-writes: a file buffers nothing, so this only checks
   * the file is open (written data is in the page cache; `sync()` makes it durable).
   *
   * @returns an operation (also awaitable) that finishes at once on an open file.
   * @example
   * ```ts
   * import { open, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "hello");
   * await run(function* () {
   *   using f = yield* open(path, { write: true });
   *   yield* f.shutdown(); // checks the file is open; sync() makes writes durable
   * });
   * await Deno.remove(path);
   * ```
   */
  shutdown(): FsOp<void> {
    const c = this.#core;
    return new GenOp(function* () {
      c.checkOpen();
    });
  }

  /** A byte ReadableStream reading from the file position; cancelling it closes the file. */
  get readable(): ReadableStream<Uint8Array> {
    if (this.#readable === null) {
      const c = this.#core;
      this.#readable = readableOf((b) => new ReadOp(c, b, -1), () => this.close());
    }
    return this.#readable;
  }

  /** A WritableStream writing at the file position; closing or aborting it closes the file. */
  get writable(): WritableStream<Uint8Array> {
    if (this.#writable === null) {
      const c = this.#core;
      this.#writable = writableOf(
        (b) => new WriteAllOp(c, b),
        () => Promise.resolve(this.close()),
        () => this.close(),
      );
    }
    return this.#writable;
  }

  /**
   * Close the file (idempotent): further calls throw ClosedError; the fd is
   * closed once no op of the file is in flight.
   *
   * @example
   * ```ts
   * import { open, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * await Deno.writeTextFile(path, "hello");
   * await run(function* () {
   *   const f = yield* open(path);
   *   f.close();
   *   let refused = false;
   *   try {
   *     yield* f.read(new Uint8Array(1));
   *   } catch {
   *     refused = true; // a closed file refuses
   *   }
   *   assert.equal(refused, true);
   * });
   * await Deno.remove(path);
   * ```
   */
  close(): void {
    this.#core.close();
  }

  /** `using f = …` closes it at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }
}
