/**
 * Internal: `readFile` and `writeFile` as single leaf operations. On a native
 * reactor each is first one whole-file record (`DK_OP_READ_FILE` /
 * `DK_OP_WRITE_FILE`): the C side opens, fstat's, reads or writes and closes
 * the file, and one completion comes back (on io_uring the open and the I/O
 * are SQEs staged under the op's slot, usually done in one `dk_enter`).
 * A file that is not regular, or too big for the read buffer, comes back
 * with `DK_CQE_F_MORE` untouched: then the op walks its phases itself (open →
 * fstat → read… or open → write…) on the same reactor slot, closing the fd
 * with close(2) at the end.
 *
 * Cancel safety: cancelling the task (or aborting the `signal`) while a
 * phase is in the reactor cancels it there and keeps the op until its
 * completion; then the fd it opened (or the fd an open that still succeeded
 * returned) is closed. Nothing is leaked and nothing is returned.
 *
 * Batching: many concurrent `readFile`s submit their opens (and then their
 * reads) into the same submission buffer, which the scheduler hands to the
 * kernel in one call per round.
 *
 * @module
 */

import { capLen, type IoReactor } from "../ffi/reactor.ts";
import {
  DK_CQE_F_MORE,
  DK_MAX_LEN,
  DK_O_RDONLY,
  DK_OP_OPEN,
  DK_OP_READ,
  DK_OP_READ_FILE,
  DK_OP_WRITE,
  DK_OP_WRITE_FILE,
} from "../ffi/layout.ts";
import { fstat, STAT_FIELDS, STAT_MODE, STAT_SIZE } from "../ffi/file.ts";
import { closeNow } from "../ffi/socket.ts";
import type { Library } from "../ffi/library.ts";
import { pointerOf } from "../ffi/pointer.ts";
import type { IoError } from "../ffi/errors.ts";
import { IO_DONE, IO_NEW, IO_SUBMITTED } from "../runtime/io/reactor_driver.ts";
import type { Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { FileOp, GO, nativeLibrary } from "./_file_core.ts";
import { fsError } from "./_errors.ts";
import { checkAccess } from "./_path.ts";
import { cPath, giveScratch, SCRATCH_SIZE, takeScratch } from "./_scratch.ts";

/** fstat's output: the calls are synchronous, so one array serves every op. */
const statOut = new Float64Array(STAT_FIELDS);

/** The whole-file record (one completion for open, I/O and close). */
const PH_WHOLE = 0;
/** The open of the phase-by-phase path. */
const PH_OPEN = 1;
/** Its reads or writes. */
const PH_IO = 2;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
/** Offset of a write record that appends (O_APPEND moves it to the end). */
const AT_END = -1;

/** What the whole-file ops share: the path, the fd, the signal, cleanup. */
abstract class WholeOp<R> extends FileOp<R> {
  protected readonly path: string;
  protected phase = PH_WHOLE;
  protected fd = -1;
  protected lib: Library | null = null;
  protected scratch: Uint8Array | null = null;
  /** A C string of a path too long for the scratch buffer. */
  #cPath: Uint8Array | null = null;
  readonly #signal: AbortSignal | undefined;
  #onAbort: (() => void) | null = null;
  #cancelSent = false;
  protected value: R | undefined = undefined;

  constructor(path: string, signal: AbortSignal | undefined) {
    super(null, false);
    this.path = path;
    this.#signal = signal;
  }

  /** The permission check of this op's open. */
  protected abstract checkOpen(): void;
  /** DK_O_* flags and mode of the open. */
  protected abstract openArgs(): [number, number];
  /** Write the whole-file record; `path` is the C string. */
  protected abstract writeWhole(r: IoReactor, token: number, path: Uint8Array): void;
  /** The whole-file record completed with `res` ≥ 0 and no DK_CQE_F_MORE: set the value. */
  protected abstract wholeDone(res: number): void;
  /** The syscall name of the whole-file record (for errors). */
  protected abstract wholeName(): string;
  /** Write the record of the I/O phase. */
  protected abstract writeIo(r: IoReactor, token: number): void;
  /** The open succeeded (fd, lib set): set up the I/O phase; false when done without I/O. */
  protected abstract opened(): boolean;
  /** An I/O completion (≥ 0): true to submit another. */
  protected abstract progressed(res: number): boolean;
  /** The syscall name of the I/O phase (for errors). */
  protected abstract ioName(): string;

  protected override prepare(): typeof GO {
    const sig = this.#signal;
    if (sig !== undefined) {
      if (sig.aborted) throw sig.reason;
    }
    if (this.phase !== PH_IO) this.checkOpen(); // before every open, the fallback's too
    return GO;
  }

  protected write(r: IoReactor, token: number): void {
    if (this.phase !== PH_IO) {
      const s = this.scratch ?? (this.scratch = takeScratch());
      const c = cPath(this.path, s);
      if (c.buffer !== s.buffer) this.#cPath = c;
      if (this.phase === PH_WHOLE) {
        this.writeWhole(r, token, c);
        return;
      }
      const [flags, mode] = this.openArgs();
      r.pushOp(DK_OP_OPEN, token, -1, flags, pointerOf(c), mode, 0);
    } else {
      this.writeIo(r, token);
    }
  }

  protected override poll(waker: Waker): Poll<R> {
    const sig = this.#signal;
    if (sig !== undefined) {
      if (sig.aborted && this.ioState === IO_SUBMITTED) {
        if (!this.#cancelSent) {
          this.#cancelSent = true;
          this.requestCancel(); // the completion still ends the op (and its fd is closed)
        }
      } else if (this.#onAbort === null) {
        const h = () => this.waker?.wake();
        this.#onAbort = h;
        sig.addEventListener("abort", h, { once: true });
      }
    }
    if (this.ioState === IO_DONE && this.#step()) this.ioState = IO_NEW;
    return super.poll(waker);
  }

  /** Take one completion; true when another record must be submitted. */
  #step(): boolean {
    const res = this.result;
    const sig = this.#signal;
    if (sig !== undefined && sig.aborted) {
      this.salvage(res);
      throw sig.reason;
    }
    if (this.phase === PH_WHOLE) {
      this.#cPath = null;
      if (res < 0) {
        this.#release();
        throw fsError(res, this.wholeName(), this.path);
      }
      if ((this.cqFlags & DK_CQE_F_MORE) !== 0) {
        this.phase = PH_OPEN; // not a regular file, or too big: phase by phase
        return true;
      }
      try {
        this.wholeDone(res);
      } catch (e) {
        this.#release();
        throw e;
      }
      return false;
    }
    if (this.phase === PH_OPEN) {
      this.#cPath = null;
      if (res < 0) {
        this.#release();
        throw fsError(res, "open", this.path);
      }
      this.fd = res;
      this.lib = nativeLibrary(this.driverRef!.reactor);
      this.phase = PH_IO;
      try {
        if (this.opened()) return true;
      } catch (e) {
        this.#closeFd();
        this.#release();
        throw e;
      }
      this.#closeFd();
      return false;
    }
    if (res < 0) {
      this.#closeFd();
      this.#release();
      throw fsError(res, this.ioName(), this.path);
    }
    let more: boolean;
    try {
      more = this.progressed(res);
    } catch (e) {
      this.#closeFd();
      this.#release();
      throw e;
    }
    if (!more) this.#closeFd();
    return more;
  }

  protected finish(_res: number): R {
    this.#release();
    return this.value as R;
  }

  /** Give the scratch buffer back and stop listening to the signal. */
  #release(): void {
    const s = this.scratch;
    this.scratch = null;
    if (s !== null) giveScratch(s);
    if (this.#onAbort !== null) {
      this.#signal!.removeEventListener("abort", this.#onAbort);
      this.#onAbort = null;
    }
  }

  #closeFd(): void {
    const fd = this.fd;
    this.fd = -1;
    if (fd >= 0) {
      try {
        closeNow(this.lib!, fd);
      } catch {
        // EIO on close: the fd is gone either way
      }
    }
  }

  /** The op's task is gone (or the signal aborted): close what was opened. */
  protected override salvage(res: number): void {
    if (this.phase === PH_OPEN && res >= 0) {
      this.fd = res;
      this.lib = nativeLibrary(this.driverRef!.reactor);
    }
    this.#closeFd();
    this.#release();
  }
}

/**
 * Read a whole file: `decode` gets the bytes (a view of a pooled scratch
 * buffer when `scratch` is true: copy what you keep).
 *
 * @example
 * ```ts ignore
 * // Not run: readFile() makes this op; its examples run it.
 * const bytes = yield* new ReadFileOp("/etc/hosts", undefined, (v, s) => s ? v.slice() : v);
 * ```
 */
export class ReadFileOp<R> extends WholeOp<R> {
  readonly #decode: (bytes: Uint8Array, scratch: boolean) => R;
  #buf: Uint8Array | null = null;
  #off = 0;
  #size = 0;
  #regular = false;
  constructor(
    path: string,
    signal: AbortSignal | undefined,
    decode: (bytes: Uint8Array, scratch: boolean) => R,
  ) {
    super(path, signal);
    this.#decode = decode;
  }
  protected checkOpen(): void {
    checkAccess(this.path, true, false);
  }
  protected openArgs(): [number, number] {
    return [DK_O_RDONLY, 0];
  }
  protected ioName(): string {
    return "read";
  }
  protected wholeName(): string {
    return "readfile";
  }
  protected writeWhole(r: IoReactor, token: number, path: Uint8Array): void {
    // The file goes after the path when the path is in the scratch buffer.
    const s = this.scratch!;
    const b = s.subarray(path.buffer === s.buffer ? path.byteLength : 0);
    this.#buf = b;
    r.pushOp(DK_OP_READ_FILE, token, -1, b.byteLength, pointerOf(path), pointerOf(b), 0);
  }
  protected wholeDone(res: number): void {
    const view = this.#buf!.subarray(0, res);
    this.#buf = null;
    this.value = this.#decode(view, true);
  }
  protected opened(): boolean {
    const st = statOut;
    try {
      fstat(this.lib!, this.fd, st);
    } catch (e) {
      throw fsError(-(e as IoError).errno, "fstat", this.path);
    }
    this.#size = st[STAT_SIZE];
    this.#regular = (st[STAT_MODE] & S_IFMT) === S_IFREG;
    // One byte more than the size shows the end in the first read.
    const want = this.#regular ? this.#size + 1 : SCRATCH_SIZE;
    this.#buf = want <= SCRATCH_SIZE ? this.scratch! : new Uint8Array(want);
    return true;
  }
  protected writeIo(r: IoReactor, token: number): void {
    const b = this.#buf!;
    const off = this.#off;
    r.pushOp(DK_OP_READ, token, this.fd, capLen(b.byteLength - off), pointerOf(b) + off, off, 0);
  }
  protected progressed(res: number): boolean {
    const b = this.#buf!;
    this.#off += res;
    const off = this.#off;
    // A regular file read short of the buffer at or past its size is at its end.
    const atEnd = res === 0 || (this.#regular && off >= this.#size && off < b.byteLength);
    if (!atEnd) {
      if (off === b.byteLength) {
        const bigger = new Uint8Array(b.byteLength * 2);
        bigger.set(b);
        this.#buf = bigger;
      }
      return true;
    }
    const inScratch = b === this.scratch;
    const view = b.subarray(0, off);
    this.value = this.#decode(view, inScratch);
    this.#buf = null;
    return false;
  }
}

/**
 * Write a whole buffer to a file (created/truncated or appended per `flags`).
 *
 * @example
 * ```ts ignore
 * // Not run: writeFile() makes this op; its examples run it.
 * yield* new WriteFileOp("/tmp/x", bytes, flags, 0o644, undefined);
 * ```
 */
export class WriteFileOp extends WholeOp<void> {
  readonly #data: Uint8Array;
  readonly #flags: number;
  readonly #mode: number;
  readonly #append: boolean;
  #off = 0;
  constructor(
    path: string,
    data: Uint8Array,
    flags: number,
    mode: number,
    append: boolean,
    signal: AbortSignal | undefined,
  ) {
    super(path, signal);
    this.#data = data;
    this.#flags = flags;
    this.#mode = mode;
    this.#append = append;
  }
  protected checkOpen(): void {
    checkAccess(this.path, false, true);
  }
  protected openArgs(): [number, number] {
    return [this.#flags, this.#mode];
  }
  protected ioName(): string {
    return "write";
  }
  protected wholeName(): string {
    return "writefile";
  }
  protected writeWhole(r: IoReactor, token: number, path: Uint8Array): void {
    const d = this.#data;
    if (d.byteLength > DK_MAX_LEN) { // more than one record moves: phase by phase
      this.phase = PH_OPEN;
      r.pushOp(DK_OP_OPEN, token, -1, this.#flags, pointerOf(path), this.#mode, 0);
      return;
    }
    r.pushOp(
      DK_OP_WRITE_FILE,
      token,
      this.#mode,
      d.byteLength,
      pointerOf(path),
      pointerOf(d),
      this.#flags,
    );
  }
  protected wholeDone(res: number): void {
    if (res < this.#data.byteLength) {
      throw new Deno.errors.WriteZero(`write '${this.path}': wrote 0 bytes`);
    }
  }
  protected opened(): boolean {
    return this.#data.byteLength > 0;
  }
  protected writeIo(r: IoReactor, token: number): void {
    const d = this.#data;
    const off = this.#off;
    const at = this.#append ? AT_END : off;
    r.pushOp(DK_OP_WRITE, token, this.fd, capLen(d.byteLength - off), pointerOf(d) + off, at, 0);
  }
  protected progressed(res: number): boolean {
    if (res === 0) throw new Deno.errors.WriteZero(`write '${this.path}': wrote 0 bytes`);
    this.#off += res;
    return this.#off < this.#data.byteLength;
  }
}
