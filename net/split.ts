/**
 * The owned halves of a split `TcpStream`: an {@linkcode OwnedReadHalf} and
 * an {@linkcode OwnedWriteHalf} that two tasks may use at the same time (the
 * read and write lanes of a socket are independent).
 *
 * Invariant: the fd is closed exactly once, when both halves are closed; a
 * closed half throws ClosedError on use while the other half goes on.
 * Closing the write half does not send FIN: call `shutdown()` for that.
 *
 * @module
 */

import type { Operation } from "../runtime/operation.ts";
import { checkBuffer, type NetAddr } from "./addr.ts";
import type { SocketCore } from "./_socket.ts";
import { localNetAddr, peerNetAddr } from "./_sock_addr.ts";
import { ReadExactOp, RecvOp, SendOp, ShutdownOp, WriteAllOp } from "./_stream_ops.ts";
import { readableOf, writableOf } from "../runtime/io/web_streams.ts";

/** The read half's bit in {@linkcode SplitOwner}. */
const READ_HALF = 1;
/** The write half's bit in {@linkcode SplitOwner}. */
const WRITE_HALF = 2;

/**
 * Internal: the shared owner of a split stream's fd, and which halves are open.
 *
 * @example
 * ```ts ignore
 * // Not run: a SocketCore exists only inside a TcpStream, TcpListener or UdpSocket (private); the public examples there run this code.
 * const owner = new SplitOwner(core, null);
 * ```
 */
export class SplitOwner {
  /** The socket. */
  readonly core: SocketCore;
  /** The peer's address if known. */
  peer: NetAddr | null;
  /** The halves still open: bits {@linkcode READ_HALF} and {@linkcode WRITE_HALF}. */
  #open = READ_HALF | WRITE_HALF;
  /** Share `core` between two halves. */
  constructor(core: SocketCore, peer: NetAddr | null) {
    this.core = core;
    this.peer = peer;
  }
  /** The socket, for `half`; ClosedError once that half is closed. */
  usable(half: number): SocketCore {
    if ((this.#open & half) === 0) throw this.core.closedError();
    return this.core;
  }
  /** Close `half` (idempotent); the last one closes the fd. */
  release(half: number): void {
    if ((this.#open & half) === 0) return;
    this.#open &= ~half;
    if (this.#open === 0) this.core.close();
  }
  /** Local address. */
  localAddr(): NetAddr {
    return localNetAddr(this.core, "tcp");
  }
  /** Peer address. */
  peerAddr(): NetAddr {
    if (this.peer === null) this.peer = peerNetAddr(this.core, "tcp");
    return this.peer;
  }
}

/**
 * The reading half of a split {@linkcode TcpStream}.
 *
 * @example
 * ```ts
 * import { run, TcpListener, TcpStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
 *   using peer = yield* listener.accept();
 *   const [rd, wr] = conn.split();
 *   yield* peer.writeAll(new Uint8Array([1, 2]));
 *   const buf = new Uint8Array(8);
 *   const n = yield* rd.read(buf);
 *   assert.equal(n, 2);
 *   rd.close();
 *   wr.close();
 * });
 * ```
 */
export class OwnedReadHalf implements Disposable {
  readonly #owner: SplitOwner;
  #readable: ReadableStream<Uint8Array> | null = null;
  /**
   * Internal: made by `TcpStream.split()`.
   *
   * @param owner the split stream's shared state.
   */
  constructor(owner: SplitOwner) {
    this.#owner = owner;
  }
  #core(): SocketCore {
    return this.#owner.usable(READ_HALF);
  }
  /**
   * Read into `buf`: bytes read, or null at end of stream.
   *
   * @param buf where the bytes go.
   * @returns an operation (also awaitable) giving the count, or `null` at end of stream.
   * @throws {ClosedError} (from the operation) when this half is closed; {@linkcode IoError} when
   *   the read fails.
   */
  read(buf: Uint8Array): Operation<number | null> & PromiseLike<number | null> {
    checkBuffer(buf, "OwnedReadHalf.read");
    return new RecvOp(this.#core(), buf);
  }
  /**
   * Fill `buf` completely (end of stream first: `Deno.errors.UnexpectedEof`).
   *
   * @param buf the buffer to fill.
   * @returns an operation (also awaitable) that finishes once `buf` is full.
   * @throws {Deno.errors.UnexpectedEof} (from the operation) when the stream ends first.
   */
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
    this.#owner.release(READ_HALF);
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
 * ```ts
 * import { run, TcpListener, TcpStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
 *   using peer = yield* listener.accept();
 *   const [rd, wr] = conn.split();
 *   const bytes = new TextEncoder().encode("bye");
 *   yield* wr.writeAll(bytes);
 *   yield* wr.shutdown();
 *   wr.close();
 *   const buf = new Uint8Array(8);
 *   assert.equal(yield* peer.read(buf), 3);
 *   assert.equal(yield* peer.read(buf), null); // the write half shut down
 *   rd.close();
 * });
 * ```
 */
export class OwnedWriteHalf implements Disposable {
  readonly #owner: SplitOwner;
  #writable: WritableStream<Uint8Array> | null = null;
  /**
   * Internal: made by `TcpStream.split()`.
   *
   * @param owner the split stream's shared state.
   */
  constructor(owner: SplitOwner) {
    this.#owner = owner;
  }
  #core(): SocketCore {
    return this.#owner.usable(WRITE_HALF);
  }
  /**
   * Write from `buf`: the bytes the kernel took.
   *
   * @param buf the bytes to send.
   * @returns an operation (also awaitable) giving how many bytes the kernel took.
   * @throws {ClosedError} (from the operation) when this half is closed; {@linkcode IoError} when
   *   the write fails.
   */
  write(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    checkBuffer(buf, "OwnedWriteHalf.write");
    return new SendOp(this.#core(), buf);
  }
  /**
   * Write all of `buf`.
   *
   * @param buf the bytes to send.
   * @returns an operation (also awaitable) that finishes once every byte was taken.
   * @throws {ClosedError} (from the operation) when this half is closed; {@linkcode IoError} when a
   *   write fails.
   */
  writeAll(buf: Uint8Array): Operation<void> & PromiseLike<void> {
    checkBuffer(buf, "OwnedWriteHalf.writeAll");
    return new WriteAllOp(this.#core(), buf);
  }
  /**
   * Send FIN (shut down the write direction).
   *
   * @returns an operation (also awaitable) that finishes once the FIN is queued.
   * @throws {ClosedError} (from the operation) when this half is closed.
   */
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
    this.#owner.release(WRITE_HALF);
  }
  /** `using` support. */
  [Symbol.dispose](): void {
    this.close();
  }
}
