/**
 * The owned halves of a split `TcpStream`: an {@linkcode OwnedReadHalf} and
 * an {@linkcode OwnedWriteHalf} that two tasks may use at the same time (the
 * read and write lanes of a socket are independent).
 *
 * Invariant: the fd is closed exactly once, when both halves are closed.
 * Closing the write half does not send FIN: call `shutdown()` for that.
 *
 * @module
 */

import { localAddr as cLocalAddr, peerAddr as cPeerAddr } from "../ffi/socket.ts";
import type { Operation } from "../runtime/operation.ts";
import { checkBuffer, type NetAddr } from "./addr.ts";
import type { SocketCore } from "./_socket.ts";
import { ReadExactOp, RecvOp, SendOp, ShutdownOp, WriteAllOp } from "./_stream_ops.ts";
import { readableOf, writableOf } from "./web_streams.ts";

/**
 * Internal: the shared owner of a split stream's fd.
 *
 * @example
 * ```ts ignore
 * const owner = new SplitOwner(core, null);
 * ```
 */
export class SplitOwner {
  /** The socket. */
  readonly core: SocketCore;
  /** The peer's address if known. */
  peer: NetAddr | null;
  #open = 2;
  /** Share `core` between two halves. */
  constructor(core: SocketCore, peer: NetAddr | null) {
    this.core = core;
    this.peer = peer;
  }
  /** One half is done; the last one closes the fd. */
  release(): void {
    if (--this.#open === 0) this.core.close();
  }
  /** Local address. */
  localAddr(): NetAddr {
    this.core.checkOpen();
    const a = cLocalAddr(this.core.library, this.core.fd, "tcp");
    return { transport: "tcp", hostname: a.hostname, port: a.port };
  }
  /** Peer address. */
  peerAddr(): NetAddr {
    if (this.peer === null) {
      this.core.checkOpen();
      const a = cPeerAddr(this.core.library, this.core.fd, "tcp");
      this.peer = { transport: "tcp", hostname: a.hostname, port: a.port };
    }
    return this.peer;
  }
}

/**
 * The reading half of a split {@linkcode TcpStream}.
 *
 * @example
 * ```ts ignore
 * const [rd, wr] = conn.split();
 * const n = yield* rd.read(buf);
 * rd.close();
 * ```
 */
export class OwnedReadHalf implements Disposable {
  readonly #owner: SplitOwner;
  #closed = false;
  #readable: ReadableStream<Uint8Array> | null = null;
  /** Internal: made by `TcpStream.split()`. */
  constructor(owner: SplitOwner) {
    this.#owner = owner;
  }
  #core(): SocketCore {
    if (this.#closed) throw this.#owner.core.closedError();
    return this.#owner.core;
  }
  /** Read into `buf`: bytes read, or null at end of stream. */
  read(buf: Uint8Array): Operation<number | null> & PromiseLike<number | null> {
    checkBuffer(buf, "OwnedReadHalf.read");
    return new RecvOp(this.#core(), buf);
  }
  /** Fill `buf` completely (end of stream first: `Deno.errors.UnexpectedEof`). */
  readExact(buf: Uint8Array): Operation<void> & PromiseLike<void> {
    checkBuffer(buf, "OwnedReadHalf.readExact");
    return new ReadExactOp(this.#core(), buf);
  }
  /** A ReadableStream of the bytes read; cancelling it closes this half. */
  get readable(): ReadableStream<Uint8Array> {
    if (this.#readable === null) {
      const c = this.#core();
      this.#readable = readableOf((b) => new RecvOp(c, b), () => this.close());
    }
    return this.#readable;
  }
  /** The local address. */
  get localAddr(): NetAddr {
    return this.#owner.localAddr();
  }
  /** The peer's address. */
  get peerAddr(): NetAddr {
    return this.#owner.peerAddr();
  }
  /** Release this half (the fd closes when both halves are closed). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#owner.release();
  }
  /** `using` support. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The writing half of a split {@linkcode TcpStream}.
 *
 * @example
 * ```ts ignore
 * const [rd, wr] = conn.split();
 * yield* wr.writeAll(bytes);
 * yield* wr.shutdown();
 * wr.close();
 * ```
 */
export class OwnedWriteHalf implements Disposable {
  readonly #owner: SplitOwner;
  #closed = false;
  #writable: WritableStream<Uint8Array> | null = null;
  /** Internal: made by `TcpStream.split()`. */
  constructor(owner: SplitOwner) {
    this.#owner = owner;
  }
  #core(): SocketCore {
    if (this.#closed) throw this.#owner.core.closedError();
    return this.#owner.core;
  }
  /** Write from `buf`: the bytes the kernel took. */
  write(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    checkBuffer(buf, "OwnedWriteHalf.write");
    return new SendOp(this.#core(), buf);
  }
  /** Write all of `buf`. */
  writeAll(buf: Uint8Array): Operation<void> & PromiseLike<void> {
    checkBuffer(buf, "OwnedWriteHalf.writeAll");
    return new WriteAllOp(this.#core(), buf);
  }
  /** Send FIN (shut down the write direction). */
  shutdown(): Operation<void> & PromiseLike<void> {
    return new ShutdownOp(this.#core(), 1);
  }
  /** A WritableStream; closing it shuts down the write direction. */
  get writable(): WritableStream<Uint8Array> {
    if (this.#writable === null) {
      const c = this.#core();
      this.#writable = writableOf(
        (b) => new WriteAllOp(c, b),
        () => new ShutdownOp(c, 1),
        () => this.close(),
      );
    }
    return this.#writable;
  }
  /** The local address. */
  get localAddr(): NetAddr {
    return this.#owner.localAddr();
  }
  /** The peer's address. */
  get peerAddr(): NetAddr {
    return this.#owner.peerAddr();
  }
  /** Release this half (the fd closes when both halves are closed). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#owner.release();
  }
  /** `using` support. */
  [Symbol.dispose](): void {
    this.close();
  }
}
