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

import type { Reactor } from "../ffi/reactor.ts";
import { errnoName } from "../ffi/errors.ts";
import type { Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/waker.ts";
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

/** One recv: bytes read, or null at end of stream. */
export class RecvOp extends NetOp<number | null> {
  readonly #buf: Uint8Array;
  constructor(sock: SocketCore, buf: Uint8Array) {
    super(sock, READ);
    this.#buf = buf;
  }
  protected override prepare(_w: Waker): Poll<number | null> | typeof GO {
    if (this.#buf.byteLength === 0) return 0;
    if (this.sock!.pending !== null) return takeBytes(this.sock!, this.#buf);
    return GO;
  }
  protected write(r: Reactor, token: number): void {
    r.recv(token, this.sock!.fd, this.#buf);
  }
  protected finish(res: number): number | null {
    if (res > 0) return res;
    if (res === 0) return null;
    return this.fail(res, "recv");
  }
  protected override salvage(res: number): void {
    if (res > 0) keepBytes(this.sock!, this.#buf.subarray(0, res));
  }
}

/** Fill a buffer completely; end of stream first is `Deno.errors.UnexpectedEof`. */
export class ReadExactOp extends NetOp<void> {
  readonly #buf: Uint8Array;
  #off = 0;
  constructor(sock: SocketCore, buf: Uint8Array) {
    super(sock, READ);
    this.#buf = buf;
  }
  protected override poll(waker: Waker): Poll<void> {
    if (this.ioState === 2) {
      const res = this.result;
      if (res < 0) this.fail(res, "recv");
      if (res === 0) {
        throw new Deno.errors.UnexpectedEof(
          `readExact: end of stream after ${this.#off} of ${this.#buf.byteLength} bytes`,
        );
      }
      this.#off += res;
      if (this.#off >= this.#buf.byteLength) return;
      this.ioState = 0;
    }
    return super.poll(waker);
  }
  protected override prepare(_w: Waker): Poll<void> | typeof GO {
    const s = this.sock!;
    while (this.#off < this.#buf.byteLength && s.pending !== null) {
      this.#off += takeBytes(s, this.#buf.subarray(this.#off));
    }
    if (this.#off >= this.#buf.byteLength) return;
    return GO;
  }
  protected write(r: Reactor, token: number): void {
    r.recv(token, this.sock!.fd, this.#buf.subarray(this.#off));
  }
  protected finish(_res: number): void {}
  protected override salvage(res: number): void {
    const got = this.#off + (res > 0 ? res : 0);
    if (got > 0) keepBytes(this.sock!, this.#buf.subarray(0, got));
  }
}

/** One send: bytes the kernel took (may be fewer than asked). */
export class SendOp extends NetOp<number> {
  readonly #buf: Uint8Array;
  constructor(sock: SocketCore, buf: Uint8Array) {
    super(sock, WRITE);
    this.#buf = buf;
  }
  protected override prepare(_w: Waker): Poll<number> | typeof GO {
    return this.#buf.byteLength === 0 ? 0 : GO;
  }
  protected write(r: Reactor, token: number): void {
    r.send(token, this.sock!.fd, this.#buf, 0, this.#buf.byteLength);
  }
  protected finish(res: number): number {
    return res >= 0 ? res : this.fail(res, "send");
  }
}

/** Send a whole buffer, resubmitting after partial sends. */
export class WriteAllOp extends NetOp<void> {
  readonly #buf: Uint8Array;
  #off = 0;
  constructor(sock: SocketCore, buf: Uint8Array) {
    super(sock, WRITE);
    this.#buf = buf;
  }
  protected override poll(waker: Waker): Poll<void> {
    if (this.ioState === 2) {
      const res = this.result;
      if (res < 0) this.fail(res, "send");
      this.#off += res;
      if (this.#off >= this.#buf.byteLength) return;
      this.ioState = 0;
    }
    return super.poll(waker);
  }
  protected override prepare(_w: Waker): Poll<void> | typeof GO {
    return this.#buf.byteLength === 0 ? undefined : GO;
  }
  protected write(r: Reactor, token: number): void {
    const off = this.#off;
    r.send(token, this.sock!.fd, this.#buf, off, this.#buf.byteLength - off);
  }
  protected finish(_res: number): void {}
}

/** shutdown(2) of one direction (1 = write). ENOTCONN counts as done. */
export class ShutdownOp extends NetOp<void> {
  readonly #how: number;
  constructor(sock: SocketCore, how: number) {
    super(sock, NO_LANE);
    this.#how = how;
  }
  protected write(r: Reactor, token: number): void {
    r.shutdown(token, this.sock!.fd, this.#how);
  }
  protected finish(res: number): void {
    if (res < 0 && errnoName(res) !== "ENOTCONN") this.fail(res, "shutdown");
  }
}
