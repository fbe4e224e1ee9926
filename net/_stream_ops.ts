/**
 * Internal: the byte-stream operations of a TCP socket — recv, send, and the
 * looping `readExact`/`writeAll` — as reactor leaves.
 *
 * Invariant (cancel safety): bytes the kernel handed over are never dropped.
 * A read cancelled after its recv completed, or whose recv completes after
 * the cancel, keeps the bytes in the socket; `readExact` keeps *all* it had
 * read so far. The next read on the socket returns them first.
 *
 * @module
 */

import { IO_DONE, IO_NEW } from "../runtime/io/reactor_driver.ts";
import { capLen, type IoReactor } from "../ffi/reactor.ts";
import { errnoName } from "../ffi/errors.ts";
import { DK_OP_RECV, DK_OP_SEND } from "../ffi/layout.ts";
import type { Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import {
  GO,
  keepBytes,
  NetOp,
  NO_LANE,
  READ,
  type SocketCore,
  takeBytes,
  WRITE,
} from "./_socket.ts";

/**
 * An op over one caller buffer. It remembers the base address of the
 * buffer's ArrayBuffer (a stream reads into, and writes from, the same
 * buffer again and again), and a finished one can be rearmed with a new
 * buffer (`reuse`) so a stream's hot path allocates no op.
 */
abstract class BufOp<T> extends NetOp<T> {
  /** The caller's buffer; referenced until the completion arrives. */
  declare protected buf: Uint8Array;
  // Assigned in the constructor, not as class fields (see IoOp).
  declare private bufAb: ArrayBufferLike | null;
  declare private bufAbOf: IoReactor | null;
  declare private bufBase: number;
  constructor(sock: SocketCore, lane: number, buf: Uint8Array) {
    super(sock, lane);
    this.buf = buf;
    this.bufAb = null;
    this.bufAbOf = null;
    this.bufBase = 0;
  }
  /** The address of `buf[off]` as `r`'s records carry it. */
  protected addrOf(r: IoReactor, off: number): number {
    const b = this.buf;
    const ab = b.buffer;
    if (ab !== this.bufAb || r !== this.bufAbOf) {
      this.bufBase = r.addressOf(b) - b.byteOffset;
      this.bufAb = ab;
      this.bufAbOf = r;
    }
    return this.bufBase + b.byteOffset + off;
  }
  /** Write this op's record: `op` on `buf[off..]` (clamped to DK_MAX_LEN). */
  protected pushBuf(r: IoReactor, op: number, token: number, off: number): void {
    r.pushOp(
      op,
      token,
      this.sock!.fd,
      capLen(this.buf.byteLength - off),
      this.addrOf(r, off),
      0,
      0,
    );
  }
  /** Rearm this finished op for `buf`; false if it cannot be (see `recycle`). */
  reuse(buf: Uint8Array): boolean {
    if (!this.recycle()) return false;
    this.buf = buf;
    this.restart();
    return true;
  }
  /** Reset what a subclass keeps per run. */
  protected restart(): void {}
}

/**
 * One recv: bytes read, or null at end of stream.
 *
 * @example
 * ```ts ignore
 * // Not run: a SocketCore exists only inside a TcpStream, TcpListener or UdpSocket (private); the public examples there run this code.
 * import { RecvOp } from "./_stream_ops.ts";
 * // Inside a task, on an open socket's core (as TcpStream.read does):
 * const buf = new Uint8Array(4096);
 * const n = yield* new RecvOp(core, buf); // bytes read, or null at end of stream
 * ```
 */
export class RecvOp extends BufOp<number | null> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "recv";
  }

  constructor(sock: SocketCore, buf: Uint8Array) {
    super(sock, READ, buf);
  }
  protected override prepare(_w: Waker): Poll<number | null> | typeof GO {
    if (this.buf.byteLength === 0) return 0;
    if (this.sock!.pending !== null) return takeBytes(this.sock!, this.buf);
    return GO;
  }
  protected write(r: IoReactor, token: number): void {
    this.pushBuf(r, DK_OP_RECV, token, 0);
  }
  protected finish(res: number): number | null {
    if (res > 0) return res;
    if (res === 0) return null;
    return this.fail(res, "recv");
  }
  protected override salvage(res: number): void {
    if (res > 0) keepBytes(this.sock!, this.buf.subarray(0, res));
  }
}

/**
 * Fill a buffer completely; end of stream first is `Deno.errors.UnexpectedEof`.
 *
 * @example
 * ```ts ignore
 * // Not run: a SocketCore exists only inside a TcpStream, TcpListener or UdpSocket (private); the public examples there run this code.
 * import { ReadExactOp } from "./_stream_ops.ts";
 * // Inside a task (as TcpStream.readExact does):
 * const header = new Uint8Array(4);
 * yield* new ReadExactOp(core, header); // all 4 bytes, or Deno.errors.UnexpectedEof
 * ```
 */
export class ReadExactOp extends BufOp<void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "recv";
  }

  #off = 0;
  constructor(sock: SocketCore, buf: Uint8Array) {
    super(sock, READ, buf);
  }
  protected override restart(): void {
    this.#off = 0;
  }
  protected override poll(waker: Waker): Poll<void> {
    if (this.ioState === IO_DONE) {
      const res = this.result;
      if (res < 0) this.fail(res, "recv");
      if (res === 0) {
        throw new Deno.errors.UnexpectedEof(
          `readExact: end of stream after ${this.#off} of ${this.buf.byteLength} bytes`,
        );
      }
      this.#off += res;
      if (this.#off >= this.buf.byteLength) return;
      this.ioState = IO_NEW;
    }
    return super.poll(waker);
  }
  protected override prepare(_w: Waker): Poll<void> | typeof GO {
    const s = this.sock!;
    while (this.#off < this.buf.byteLength && s.pending !== null) {
      this.#off += takeBytes(s, this.buf.subarray(this.#off));
    }
    if (this.#off >= this.buf.byteLength) return;
    return GO;
  }
  protected write(r: IoReactor, token: number): void {
    this.pushBuf(r, DK_OP_RECV, token, this.#off);
  }
  protected finish(_res: number): void {}
  protected override salvage(res: number): void {
    const got = this.#off + (res > 0 ? res : 0);
    if (got > 0) keepBytes(this.sock!, this.buf.subarray(0, got));
  }
}

/**
 * One send: bytes the kernel took (may be fewer than asked).
 *
 * @example
 * ```ts ignore
 * // Not run: a SocketCore exists only inside a TcpStream, TcpListener or UdpSocket (private); the public examples there run this code.
 * import { SendOp } from "./_stream_ops.ts";
 * // Inside a task (as TcpStream.write does):
 * const sent = yield* new SendOp(core, bytes); // may be less than bytes.byteLength
 * ```
 */
export class SendOp extends BufOp<number> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "send";
  }

  constructor(sock: SocketCore, buf: Uint8Array) {
    super(sock, WRITE, buf);
  }
  protected override prepare(_w: Waker): Poll<number> | typeof GO {
    return this.buf.byteLength === 0 ? 0 : GO;
  }
  protected write(r: IoReactor, token: number): void {
    this.pushBuf(r, DK_OP_SEND, token, 0);
  }
  protected finish(res: number): number {
    return res >= 0 ? res : this.fail(res, "send");
  }
}

/**
 * Send a whole buffer, resubmitting after partial sends.
 *
 * @example
 * ```ts ignore
 * // Not run: a SocketCore exists only inside a TcpStream, TcpListener or UdpSocket (private); the public examples there run this code.
 * import { WriteAllOp } from "./_stream_ops.ts";
 * // Inside a task (as TcpStream.writeAll does):
 * yield* new WriteAllOp(core, new TextEncoder().encode("hello\n"));
 * ```
 */
export class WriteAllOp extends BufOp<void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "send";
  }

  #off = 0;
  constructor(sock: SocketCore, buf: Uint8Array) {
    super(sock, WRITE, buf);
  }
  protected override restart(): void {
    this.#off = 0;
  }
  protected override poll(waker: Waker): Poll<void> {
    if (this.ioState === IO_DONE) {
      const res = this.result;
      if (res < 0) this.fail(res, "send");
      this.#off += res;
      if (this.#off >= this.buf.byteLength) return;
      this.ioState = IO_NEW;
    }
    return super.poll(waker);
  }
  protected override prepare(_w: Waker): Poll<void> | typeof GO {
    return this.buf.byteLength === 0 ? undefined : GO;
  }
  protected write(r: IoReactor, token: number): void {
    this.pushBuf(r, DK_OP_SEND, token, this.#off);
  }
  protected finish(_res: number): void {}
}

/**
 * shutdown(2) of one direction (1 = write). ENOTCONN counts as done.
 *
 * @example
 * ```ts ignore
 * // Not run: a SocketCore exists only inside a TcpStream, TcpListener or UdpSocket (private); the public examples there run this code.
 * import { ShutdownOp } from "./_stream_ops.ts";
 * // Inside a task (as TcpStream.closeWrite does): the peer then reads end of stream.
 * yield* new ShutdownOp(core, 1);
 * ```
 */
export class ShutdownOp extends NetOp<void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "shutdown";
  }

  readonly #how: number;
  constructor(sock: SocketCore, how: number) {
    super(sock, NO_LANE);
    this.#how = how;
  }
  protected write(r: IoReactor, token: number): void {
    r.shutdown(token, this.sock!.fd, this.#how);
  }
  protected finish(res: number): void {
    if (res < 0 && errnoName(res) !== "ENOTCONN") this.fail(res, "shutdown");
  }
}
