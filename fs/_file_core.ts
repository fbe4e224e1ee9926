/**
 * Internal: the state an open file shares with its operations (`FileCore`)
 * and the base of fs/'s reactor operations (`FileOp`).
 *
 * Invariants:
 * - The fd stays open while any op of the file is in the reactor: `close()`
 *   marks the file closed at once (new ops throw {@linkcode ClosedError}),
 *   and close(2) runs when the last op in flight has completed, so the fd
 *   number is never reused under an op.
 * - Cursor ops (`read`, `write`, `writeAll`, `seek`) take the file's cursor
 *   lane when first polled and hold it until they finish, so they run one at
 *   a time, in the order they first ran, and never race for the file
 *   position; a cancelled one holds it until its completion. Positional ops
 *   (`readAt`, `writeAt`) take no lane.
 * - Cancel safety: an op cancelled while in the reactor is cancelled there
 *   and becomes an *orphan*; its completion is not lost but `salvage`d: a
 *   cursor read that still read rewinds the file position by what it read,
 *   an open that still opened closes its fd.
 *
 * @module
 */

import { type IoReactor, Reactor } from "../ffi/reactor.ts";
import type { Library } from "../ffi/library.ts";
import { closeNow } from "../ffi/socket.ts";
import { ClosedError } from "../runtime/errors.ts";
import { PENDING, type Poll } from "../runtime/operation.ts";
import {
  IO_DONE,
  IO_NEW,
  IO_SUBMITTED,
  IoOp,
  type ReactorDriver,
} from "../runtime/io/reactor_driver.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { giveScratch, SCRATCH_SIZE, takeScratch } from "./_scratch.ts";

/**
 * What `prepare` returns to let the op be submitted.
 *
 * @example
 * ```ts
 * import { GO } from "./_file_core.ts";
 * import assert from "node:assert/strict";
 * const prepare = (n: number) => n === 0 ? 0 : GO; // an empty read is done without I/O
 * assert.equal(prepare(0), 0);
 * assert.equal(prepare(1), GO);
 * ```
 */
export const GO: unique symbol = Symbol("dokio.fs.go");

/**
 * The C library behind a driver: fs/ runs on the native reactor (io_uring,
 * epoll, kqueue) only.
 *
 * @throws {Error} on the portable "deno" backend, which has no file ops yet.
 * @example
 * ```ts ignore
 * // Not run: needs the runtime's I/O driver, which only the scheduler holds; every fs example goes through it.
 * const lib = nativeLibrary(driver.reactor);
 * ```
 */
export function nativeLibrary(r: IoReactor): Library {
  if (!(r instanceof Reactor)) {
    throw new Error(
      `fs/ needs the native reactor (io_uring, epoll or kqueue); the "${r.backend}" backend has no file ops`,
    );
  }
  return r.library;
}

/**
 * The state of one open file, shared by its `File` and its ops.
 *
 * @example
 * ```ts ignore
 * // Not run: open() makes the core from the fd the reactor opened; File's examples run it.
 * const core = new FileCore(fd, "/etc/hosts", library);
 * ```
 */
export class FileCore {
  /** The fd (kept until close(2) ran; then -1). */
  fd: number;
  /** The path it was opened with (for messages). */
  readonly path: string;
  /** The C library (for the synchronous file helpers and close). */
  readonly lib: Library;
  /** True once `close()` was called. */
  closed = false;
  /** Ops of this file in the reactor or on Deno's blocking pool. */
  inflight = 0;
  /** The op holding the cursor lane. */
  cursorOp: FileOp<unknown> | null = null;
  /** Tasks waiting for the cursor lane. */
  readonly waiters: Waker[] = [];
  #big: Uint8Array | null = null;

  /** Make one for an open fd. */
  constructor(fd: number, path: string, lib: Library) {
    this.fd = fd;
    this.path = path;
    this.lib = lib;
  }

  /** The error of use after close. */
  closedError(): ClosedError {
    return new ClosedError(`file '${this.path}' is closed`);
  }

  /** Throw ClosedError once closed. */
  checkOpen(): void {
    if (this.closed) throw this.closedError();
  }

  /** Take the cursor lane for `op`; false (and `waker` queued) while another holds it. */
  takeCursor(op: FileOp<unknown>, waker: Waker): boolean {
    const holder = this.cursorOp;
    if (holder === null || holder === op) {
      this.cursorOp = op;
      return true;
    }
    if (!this.waiters.includes(waker)) this.waiters.push(waker);
    return false;
  }

  /** `op` is done with the cursor lane: wake every waiter (the first to poll takes it). */
  releaseCursor(op: FileOp<unknown>): void {
    if (this.cursorOp !== op) return;
    this.cursorOp = null;
    this.#wakeAll();
  }

  /** Forget a waiter whose task was cancelled. */
  dropWaiter(waker: Waker): void {
    const i = this.waiters.indexOf(waker);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  #wakeAll(): void {
    const ws = this.waiters.splice(0);
    for (const w of ws) w.wake();
  }

  /**
   * A buffer of at least `n` bytes for a bounced read: a pooled scratch
   * buffer up to `SCRATCH_SIZE`, else this file's large buffer when free.
   */
  takeBounce(n: number): Uint8Array {
    if (n <= SCRATCH_SIZE) return takeScratch();
    const big = this.#big;
    if (big !== null && big.byteLength >= n) {
      this.#big = null;
      return big;
    }
    return new Uint8Array(n);
  }

  /** Give a bounce buffer back once its read completed. */
  giveBounce(b: Uint8Array): void {
    if (b.byteLength === SCRATCH_SIZE) giveScratch(b);
    else if (b.byteLength > SCRATCH_SIZE && !this.closed) this.#big = b;
  }

  /** Mark closed; close(2) now, or when the last op in flight completes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#big = null;
    this.#wakeAll();
    this.idle();
  }

  /** An op left the file: close the fd if it was the last one of a closed file. */
  idle(): void {
    if (!this.closed || this.inflight > 0 || this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      closeNow(this.lib, fd);
    } catch {
      // EBADF/EIO on close: the fd is gone either way
    }
  }
}

/**
 * Base of every fs/ reactor op: opens the worker's I/O driver on first use,
 * keeps the file's cursor lane, counts the file's ops in flight and salvages
 * what a cancelled op still did.
 *
 * @example
 * ```ts ignore
 * // Not run: an abstract base; every File operation is one, and File's examples run them.
 * class ReadAt extends FileOp<number> { ... }
 * ```
 */
export abstract class FileOp<T> extends IoOp<T> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "fs";
  }

  // Assigned in the constructor, not as class fields (see IoOp).
  /** The file (null for ops that make one: open, readFile, writeFile). */
  declare readonly file: FileCore | null;
  /** Whether this op uses the cursor lane. */
  declare readonly cursor: boolean;
  /** The driver this op was submitted to. */
  declare driverRef: ReactorDriver | null;
  /** Cancelled while in flight: its completion goes to `salvage`. */
  declare orphaned: boolean;
  declare private laneWaker: Waker | null;

  /** Make one on `file` (null: none), using its cursor lane when `cursor`. */
  constructor(file: FileCore | null, cursor: boolean) {
    super();
    this.file = file;
    this.cursor = cursor;
    this.driverRef = null;
    this.orphaned = false;
    this.laneWaker = null;
  }

  /** Before submission: return GO, or the value (done without I/O). */
  protected prepare(): Poll<T> | typeof GO {
    return GO;
  }

  /** Write the record. */
  protected abstract write(r: IoReactor, token: number): void;

  /** Keep or undo what the kernel did for an op whose task is gone (`result` may be < 0). */
  protected salvage(_result: number): void {}

  protected override poll(waker: Waker): Poll<T> {
    try {
      if (this.ioState === IO_NEW) {
        const f = this.file;
        if (f !== null) {
          if (f.closed) throw f.closedError();
          if (this.cursor && !f.takeCursor(this, waker)) {
            this.laneWaker = waker;
            return PENDING;
          }
          this.laneWaker = null;
        }
        const pre = this.prepare();
        if (pre !== GO) {
          this.#release();
          return pre as Poll<T>;
        }
        const io = this.openDriver(waker);
        if (io === null) return PENDING;
        nativeLibrary(io.reactor); // refuse the portable backend before any record
        this.driverRef = io;
        this.waker = waker;
        this.submitVia(io);
        return PENDING;
      }
      const r = super.poll(waker);
      if (r !== PENDING) this.#release();
      return r;
    } catch (e) {
      this.#release();
      throw e;
    }
  }

  #release(): void {
    if (this.cursor && this.file !== null) this.file.releaseCursor(this);
  }

  protected submitTo(r: IoReactor, token: number): void {
    this.write(r, token);
    if (this.file !== null) this.file.inflight++;
  }

  override complete(result: number, flags: number): void {
    const f = this.file;
    if (this.orphaned) {
      this.settle(result, flags);
      this.salvage(result);
      this.#release();
    } else {
      super.complete(result, flags);
    }
    if (f !== null) {
      f.inflight--;
      f.idle();
    }
  }

  protected override cancel(): void {
    if (this.ioState === IO_SUBMITTED) {
      this.orphaned = true;
      super.cancel();
      return;
    }
    if (this.ioState === IO_DONE) this.salvage(this.result); // completed, never looked at
    const lw = this.laneWaker;
    if (lw !== null && this.file !== null) this.file.dropWaiter(lw);
    this.#release();
  }
}
