/**
 * Internal: the reactor ops of an open file — cursor and positional reads
 * (bounced), writes, `writeAll`, `seek` — and `open`.
 *
 * Cancel safety of reads (a cancelled read never writes into the caller's
 * buffer after the cancel returned): the kernel reads into an fs/-owned
 * bounce buffer and the bytes are copied into the caller's buffer only when
 * the completion is taken by the still-waiting task. On io_uring a read the
 * kernel already started (in its io-wq worker) cannot be stopped by the
 * cancel and may finish later; on epoll a C file-pool thread may be in the
 * middle of the pread(2) (a read of cached pages is done at submission, on
 * the reactor thread, and is never in flight). In both cases the late bytes
 * land in the bounce buffer, which the orphaned op keeps until its completion.
 *
 * @module
 */

import { capLen, type IoReactor } from "../ffi/reactor.ts";
import { DK_OP_OPEN, DK_OP_READ, DK_OP_WRITE } from "../ffi/layout.ts";
import { lseek, SEEK_CUR } from "../ffi/file.ts";
import { closeNow } from "../ffi/socket.ts";
import { pointerOf } from "../ffi/pointer.ts";
import { IO_DONE, IO_NEW } from "../runtime/io/reactor_driver.ts";
import type { Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { FileCore, FileOp, GO, nativeLibrary } from "./_file_core.ts";
import { fsError } from "./_errors.ts";
import { checkAccess } from "./_path.ts";
import { cPath, giveScratch, takeScratch } from "./_scratch.ts";

/** Offset of a record that uses (and moves) the file position. */
const AT_CURSOR = -1;

/**
 * A read into `buf` through a bounce buffer: bytes read, or null at end of
 * file (0 for an empty `buf`). `offset` AT_CURSOR (-1) reads at, and moves,
 * the file position (on the cursor lane); else it is a positional read.
 *
 * @example
 * ```ts ignore
 * // Not run: a FileCore exists only inside a File (private); File's examples run this op.
 * const n = yield* new ReadOp(core, buf, 4096); // pread at 4096
 * ```
 */
export class ReadOp extends FileOp<number | null> {
  readonly #buf: Uint8Array;
  readonly #offset: number;
  #bounce: Uint8Array | null = null;
  #len = 0;
  constructor(file: FileCore, buf: Uint8Array, offset: number) {
    super(file, offset === AT_CURSOR);
    this.#buf = buf;
    this.#offset = offset;
  }
  protected override prepare(): Poll<number | null> | typeof GO {
    return this.#buf.byteLength === 0 ? 0 : GO;
  }
  protected write(r: IoReactor, token: number): void {
    const f = this.file!;
    this.#len = capLen(this.#buf.byteLength);
    const b = this.#bounce ?? (this.#bounce = f.takeBounce(this.#len));
    r.pushOp(DK_OP_READ, token, f.fd, this.#len, pointerOf(b), this.#offset, 0);
  }
  protected finish(res: number): number | null {
    const f = this.file!;
    const b = this.#bounce!;
    this.#bounce = null;
    if (res > 0) this.#buf.set(res === b.byteLength ? b : b.subarray(0, res));
    f.giveBounce(b);
    if (res < 0) throw fsError(res, "read", f.path);
    return res === 0 ? null : res;
  }
  protected override salvage(res: number): void {
    const f = this.file!;
    const b = this.#bounce;
    this.#bounce = null;
    if (b !== null) f.giveBounce(b);
    if (res > 0 && this.cursor && f.fd >= 0) {
      try {
        lseek(f.lib, f.fd, -res, SEEK_CUR); // the bytes were not taken: read them again next time
      } catch {
        // not seekable (a pipe): the bytes are gone, as with a cancelled read(2)
      }
    }
  }
}

/**
 * One write of `buf` (at the cursor when `offset` is -1, else positional):
 * the bytes written.
 *
 * @example
 * ```ts ignore
 * // Not run: a FileCore exists only inside a File (private); File's examples run this op.
 * const n = yield* new WriteOp(core, bytes, 0); // pwrite at 0
 * ```
 */
export class WriteOp extends FileOp<number> {
  readonly #buf: Uint8Array;
  readonly #offset: number;
  constructor(file: FileCore, buf: Uint8Array, offset: number) {
    super(file, offset === AT_CURSOR);
    this.#buf = buf;
    this.#offset = offset;
  }
  protected override prepare(): Poll<number> | typeof GO {
    return this.#buf.byteLength === 0 ? 0 : GO;
  }
  protected write(r: IoReactor, token: number): void {
    const b = this.#buf;
    r.pushOp(
      DK_OP_WRITE,
      token,
      this.file!.fd,
      capLen(b.byteLength),
      pointerOf(b),
      this.#offset,
      0,
    );
  }
  protected finish(res: number): number {
    if (res < 0) throw fsError(res, "write", this.file!.path);
    return res;
  }
}

/**
 * Write all of `buf` at the cursor, holding the cursor lane throughout.
 *
 * @example
 * ```ts ignore
 * // Not run: a FileCore exists only inside a File (private); File's examples run this op.
 * yield* new WriteAllOp(core, bytes);
 * ```
 */
export class WriteAllOp extends FileOp<void> {
  readonly #buf: Uint8Array;
  #off = 0;
  constructor(file: FileCore, buf: Uint8Array) {
    super(file, true);
    this.#buf = buf;
  }
  protected override poll(waker: Waker): Poll<void> {
    if (this.ioState === IO_DONE && this.result > 0) {
      this.#off += this.result;
      if (this.#off < this.#buf.byteLength) this.ioState = IO_NEW;
    }
    return super.poll(waker);
  }
  protected override prepare(): Poll<void> | typeof GO {
    return this.#off >= this.#buf.byteLength ? undefined : GO;
  }
  protected write(r: IoReactor, token: number): void {
    const b = this.#buf;
    const n = capLen(b.byteLength - this.#off);
    r.pushOp(DK_OP_WRITE, token, this.file!.fd, n, pointerOf(b) + this.#off, AT_CURSOR, 0);
  }
  protected finish(res: number): void {
    if (res < 0) throw fsError(res, "write", this.file!.path);
    if (res === 0) throw new Deno.errors.WriteZero(`write '${this.file!.path}': wrote 0 bytes`);
  }
}

/**
 * Move the file position once the cursor lane is free; the new position.
 *
 * @example
 * ```ts ignore
 * // Not run: a FileCore exists only inside a File (private); File's examples run this op.
 * const pos = yield* new SeekOp(core, 0, SEEK_END);
 * ```
 */
export class SeekOp extends FileOp<number> {
  readonly #offset: number;
  readonly #whence: number;
  constructor(file: FileCore, offset: number, whence: number) {
    super(file, true);
    this.#offset = offset;
    this.#whence = whence;
  }
  protected override prepare(): number {
    const f = this.file!;
    try {
      return lseek(f.lib, f.fd, this.#offset, this.#whence);
    } catch (e) {
      throw fsError(-(e as { errno: number }).errno, "seek", f.path);
    }
  }
  /** Never called: `prepare` always answers, so a seek is never submitted. */
  protected write(_r: IoReactor, _token: number): void {}
  protected finish(res: number): number {
    return res;
  }
}

/**
 * Open `path` with `DK_O_*` flags and `mode`, after checking Deno's
 * permission state (`read`/`write` access); `wrap` makes the result of the
 * new FileCore. The path is encoded into a pooled scratch buffer; a
 * cancelled open whose open(2) still succeeded closes that fd.
 *
 * @example
 * ```ts ignore
 * // Not run: open() makes this op; its examples run it.
 * const core = yield* new OpenOp("/etc/hosts", DK_O_RDONLY, 0, true, false, (c) => c);
 * ```
 */
export class OpenOp<R> extends FileOp<R> {
  readonly #path: string;
  readonly #flags: number;
  readonly #mode: number;
  readonly #read: boolean;
  readonly #writes: boolean;
  readonly #wrap: (core: FileCore) => R;
  #scratch: Uint8Array | null = null;
  /** The C string of a path too long for the scratch buffer. */
  #keep: Uint8Array | null = null;
  constructor(
    path: string,
    flags: number,
    mode: number,
    read: boolean,
    writes: boolean,
    wrap: (core: FileCore) => R,
  ) {
    super(null, false);
    this.#path = path;
    this.#flags = flags;
    this.#mode = mode;
    this.#read = read;
    this.#writes = writes;
    this.#wrap = wrap;
  }
  protected override prepare(): typeof GO {
    checkAccess(this.#path, this.#read, this.#writes);
    return GO;
  }
  protected write(r: IoReactor, token: number): void {
    const s = this.#scratch = takeScratch();
    const c = cPath(this.#path, s);
    r.pushOp(DK_OP_OPEN, token, -1, this.#flags, pointerOf(c), this.#mode, 0);
    if (c.buffer !== s.buffer) this.#keep = c;
  }
  #done(): void {
    const s = this.#scratch;
    this.#scratch = null;
    this.#keep = null;
    if (s !== null) giveScratch(s);
  }
  protected finish(res: number): R {
    this.#done();
    if (res < 0) throw fsError(res, "open", this.#path);
    return this.#wrap(new FileCore(res, this.#path, nativeLibrary(this.driverRef!.reactor)));
  }
  protected override salvage(res: number): void {
    this.#done();
    if (res >= 0) closeNow(nativeLibrary(this.driverRef!.reactor), res);
  }
}
