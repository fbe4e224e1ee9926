/**
 * `TcpStream`: a connected TCP socket driven by the reactor.
 *
 * Every I/O method returns an operation: `yield*` it inside a task, or
 * `await` it outside one. `read` resolves to the byte count or `null` at end
 * of stream; `write` resolves once the kernel took at least one byte (that is
 * the backpressure: a full send buffer suspends the writer); `writeAll` and
 * `readExact` loop until done.
 *
 * Invariants:
 * - Cancel safety: cancelling a task blocked in `read` cancels the recv in
 *   the reactor, the buffer stays referenced until the kernel is done, and any
 *   bytes that arrived anyway are returned by the next `read` — none are lost.
 *   Ops on one direction reach the kernel in call order, also across
 *   cancellations.
 * - `close()` (or `using`) first ends ops still pending on the stream (they
 *   throw {@linkcode ClosedError}), then closes the fd; use after close throws
 *   ClosedError. I/O failures are `IoError`s with `code` ("ECONNRESET",
 *   "EPIPE"…); bad arguments are TypeError/RangeError at the call.
 * - Each call returns an operation to run once. Once it has finished, the
 *   next call of the same method may return that same object, rearmed (a
 *   read/write loop then allocates no operation); one never run, still
 *   pending, or cancelled with its I/O in flight is never handed out again.
 *
 * @module
 */

import type { IoReactor } from "../ffi/reactor.ts";
import { DK_SOCKOPT_KEEPALIVE, DK_SOCKOPT_NODELAY } from "../ffi/layout.ts";
import { ioError } from "../ffi/errors.ts";
import type { Operation, Poll } from "../runtime/operation.ts";
import { IO_DONE, IO_NEW, IO_SUBMITTED } from "../runtime/io/reactor_driver.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import { addrRecord, checkBuffer, type NetAddr } from "./addr.ts";
import { dropFd, NetOp, NO_LANE, SocketCore } from "./_socket.ts";
import { ReadExactOp, RecvOp, SendOp, ShutdownOp, WriteAllOp } from "./_stream_ops.ts";
import { localNetAddr, peerNetAddr } from "./_sock_addr.ts";
import { OwnedReadHalf, OwnedWriteHalf, SplitOwner } from "./split.ts";
import { readableOf, writableOf } from "../runtime/io/web_streams.ts";

/**
 * Where {@linkcode TcpStream.connect} connects.
 *
 * @example
 * ```ts ignore
 * import { type ConnectOptions, run, TcpListener, TcpStream } from "../mod.ts";
 * await run(function* () {
 *   using listener = yield* TcpListener.bind({ port: 0 });
 *   const to: ConnectOptions = { hostname: "127.0.0.1", port: listener.localAddr.port };
 *   using conn = yield* TcpStream.connect(to);
 *   using peer = yield* listener.accept();
 *   console.log(conn.peerAddr.port === to.port, peer.peerAddr.port === conn.localAddr.port);
 * });
 * ```
 */
export interface ConnectOptions {
  /** IP literal or "localhost"; default "127.0.0.1". */
  hostname?: string;
  /** Port 1..65535. */
  port: number;
}

/**
 * Options of {@linkcode TcpStream.connect}.
 *
 * @example
 * ```ts ignore
 * import { type ConnectCallOptions, run, TcpStream } from "../mod.ts";
 * await run(function* () {
 *   const options: ConnectCallOptions = { signal: AbortSignal.timeout(1000) };
 *   // Throws the signal's reason (a TimeoutError) if not connected within 1 s.
 *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: 7000 }, options);
 *   console.log(conn.peerAddr);
 * });
 * ```
 */
export interface ConnectCallOptions {
  /** Aborting it cancels the connect, which then throws the signal's reason. */
  signal?: AbortSignal;
}

class ConnectOp extends NetOp<TcpStream> {
  readonly #rec: Uint8Array;
  readonly #signal: AbortSignal | undefined;
  #onAbort: (() => void) | null = null;
  #cancelSent = false;
  constructor(rec: Uint8Array, signal: AbortSignal | undefined) {
    super(null, NO_LANE);
    this.#rec = rec;
    this.#signal = signal;
  }
  protected override poll(waker: Waker): Poll<TcpStream> {
    const sig = this.#signal;
    if (sig !== undefined) {
      if (this.ioState === IO_NEW && sig.aborted) throw sig.reason;
      if (this.ioState === IO_SUBMITTED && sig.aborted && !this.#cancelSent) {
        // Cancel in the reactor but keep waiting: the completion ends the op.
        this.#cancelSent = true;
        this.requestCancel();
        this.waker = waker;
        return super.poll(waker);
      }
      if (this.#onAbort === null && this.ioState !== IO_DONE) {
        const h = () => this.waker?.wake();
        this.#onAbort = h;
        sig.addEventListener("abort", h, { once: true });
      }
    }
    return super.poll(waker);
  }
  protected write(r: IoReactor, token: number): void {
    r.connect(token, this.#rec);
  }
  #unlisten(): void {
    if (this.#onAbort !== null) {
      this.#signal!.removeEventListener("abort", this.#onAbort);
      this.#onAbort = null;
    }
  }
  protected finish(res: number): TcpStream {
    this.#unlisten();
    const sig = this.#signal;
    if (sig !== undefined && sig.aborted) {
      if (res >= 0) dropFd(this.driverRef, res);
      throw sig.reason;
    }
    if (res < 0) throw ioError(res, "connect");
    const core = currentCore();
    return new TcpStream(new SocketCore(res, "TcpStream", this.driverRef, core));
  }
  protected override cancel(): void {
    this.#unlisten();
    super.cancel();
  }
  protected override salvage(res: number): void {
    if (res >= 0) dropFd(this.driverRef, res);
  }
}

/**
 * A connected TCP stream.
 *
 * @example
 * ```ts ignore
 * import { run } from "../runtime/mod.ts";
 * import { TcpStream } from "./mod.ts";
 * await run(function* () {
 *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: 7000 });
 *   yield* conn.writeAll(new TextEncoder().encode("hello\n"));
 *   const buf = new Uint8Array(64);
 *   const n = yield* conn.read(buf);
 *   console.log(n === null ? "EOF" : new TextDecoder().decode(buf.subarray(0, n)));
 * });
 * ```
 */
export class TcpStream implements Disposable {
  readonly #core: SocketCore;
  #local: NetAddr | null = null;
  #peer: NetAddr | null;
  #split = false;
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;
  // The last op of each kind handed out: reused once it has finished (a
  // read/write loop then allocates no op; see BufOp.reuse).
  #recv: RecvOp | null = null;
  #readExact: ReadExactOp | null = null;
  #send: SendOp | null = null;
  #writeAll: WriteAllOp | null = null;

  /**
   * Internal: wrap an open socket (made by `connect` and `accept`).
   *
   * @param core the socket state
   * @param peer the peer's address when known
   */
  constructor(core: SocketCore, peer: NetAddr | null = null) {
    if (!(core instanceof SocketCore)) {
      throw new TypeError("TcpStream is made by TcpStream.connect() or TcpListener.accept()");
    }
    this.#core = core;
    this.#peer = peer;
  }

  /**
   * Connect to `hostname:port`. Refused → `IoError` with code
   * "ECONNREFUSED"; an aborted `signal` cancels the connect and throws its reason.
   *
   * @throws {TypeError} for a bad hostname; {@linkcode RangeError} for a bad port.
   * @example
   * ```ts ignore
   * const conn = await TcpStream.connect({ port: 7000 }, { signal: AbortSignal.timeout(1000) });
   * ```
   */
  static connect(
    opts: ConnectOptions,
    options: ConnectCallOptions = {},
  ): Operation<TcpStream> & PromiseLike<TcpStream> {
    const rec = addrRecord(opts, "TcpStream.connect", false);
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError("TcpStream.connect: signal must be an AbortSignal");
    }
    return new ConnectOp(rec, signal);
  }

  /** The fd (for diagnostics; -1 once closed). */
  get fd(): number {
    return this.#core.fd;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#core.closed;
  }

  #usable(): SocketCore {
    if (this.#split) throw new TypeError("TcpStream was split: use its halves");
    return this.#core;
  }

  /**
   * Read into `buf`: the number of bytes read (≥ 1), or `null` at end of
   * stream (0 for an empty `buf`).
   *
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts ignore
   * const n = yield* conn.read(buf);
   * ```
   */
  read(buf: Uint8Array): Operation<number | null> & PromiseLike<number | null> {
    checkBuffer(buf, "TcpStream.read");
    const core = this.#usable();
    const op = this.#recv;
    if (op !== null && op.reuse(buf)) return op;
    return this.#recv = new RecvOp(core, buf);
  }

  /**
   * Fill `buf` completely; end of stream first throws `Deno.errors.UnexpectedEof`.
   * Cancel-safe: bytes read before a cancellation are returned by the next read.
   *
   * @example
   * ```ts ignore
   * const header = new Uint8Array(4);
   * yield* conn.readExact(header);
   * ```
   */
  readExact(buf: Uint8Array): Operation<void> & PromiseLike<void> {
    checkBuffer(buf, "TcpStream.readExact");
    const core = this.#usable();
    const op = this.#readExact;
    if (op !== null && op.reuse(buf)) return op;
    return this.#readExact = new ReadExactOp(core, buf);
  }

  /**
   * Write from `buf`: resolves with the bytes the kernel took (≥ 1 unless
   * `buf` is empty; may be fewer than `buf.length`).
   *
   * @example
   * ```ts ignore
   * const n = yield* conn.write(data);
   * ```
   */
  write(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    checkBuffer(buf, "TcpStream.write");
    const core = this.#usable();
    const op = this.#send;
    if (op !== null && op.reuse(buf)) return op;
    return this.#send = new SendOp(core, buf);
  }

  /**
   * Write all of `buf`.
   *
   * @example
   * ```ts ignore
   * yield* conn.writeAll(new TextEncoder().encode("hello"));
   * ```
   */
  writeAll(buf: Uint8Array): Operation<void> & PromiseLike<void> {
    checkBuffer(buf, "TcpStream.writeAll");
    const core = this.#usable();
    const op = this.#writeAll;
    if (op !== null && op.reuse(buf)) return op;
    return this.#writeAll = new WriteAllOp(core, buf);
  }

  /**
   * Shut down the write half (send FIN); reading goes on.
   *
   * @example
   * ```ts ignore
   * yield* conn.shutdown();
   * ```
   */
  shutdown(): Operation<void> & PromiseLike<void> {
    return new ShutdownOp(this.#usable(), 1);
  }

  /**
   * Turn Nagle's algorithm off (`true`) or on.
   *
   * @example
   * ```ts ignore
   * conn.setNoDelay(true);
   * ```
   */
  setNoDelay(on = true): void {
    const c = this.#core;
    c.checkOpen();
    c.reactor.setSockOpt(c.fd, DK_SOCKOPT_NODELAY, on ? 1 : 0);
  }

  /**
   * Turn TCP keep-alive on or off.
   *
   * @example
   * ```ts ignore
   * conn.setKeepAlive(true);
   * ```
   */
  setKeepAlive(on = true): void {
    const c = this.#core;
    c.checkOpen();
    c.reactor.setSockOpt(c.fd, DK_SOCKOPT_KEEPALIVE, on ? 1 : 0);
  }

  /** The local address. */
  get localAddr(): NetAddr {
    if (this.#local === null) this.#local = localNetAddr(this.#core, "tcp");
    return this.#local;
  }

  /** The peer's address. */
  get peerAddr(): NetAddr {
    if (this.#peer === null) this.#peer = peerNetAddr(this.#core, "tcp");
    return this.#peer;
  }

  /**
   * Split into a read half and a write half that two tasks can use at once.
   * The fd closes when both halves are closed; the stream itself is then no
   * longer usable (its `close()` does nothing).
   *
   * @example
   * ```ts ignore
   * const [rd, wr] = conn.split();
   * ```
   */
  split(): [OwnedReadHalf, OwnedWriteHalf] {
    const c = this.#usable();
    c.checkOpen();
    this.#split = true;
    const owner = new SplitOwner(c, this.#peer);
    return [new OwnedReadHalf(owner), new OwnedWriteHalf(owner)];
  }

  /**
   * A ReadableStream of the bytes read (a byte stream: BYOB readers work).
   * Cancelling it closes the TcpStream.
   */
  get readable(): ReadableStream<Uint8Array> {
    if (this.#readable === null) {
      const c = this.#usable();
      this.#readable = readableOf((b) => new RecvOp(c, b), () => this.close());
    }
    return this.#readable;
  }

  /** A WritableStream writing to the socket; closing it shuts down the write half. */
  get writable(): WritableStream<Uint8Array> {
    if (this.#writable === null) {
      const c = this.#usable();
      this.#writable = writableOf(
        (b) => new WriteAllOp(c, b),
        () => new ShutdownOp(c, 1),
        () => this.close(),
      );
    }
    return this.#writable;
  }

  /**
   * Close the stream: ops still pending on it end with ClosedError, then the
   * fd is closed. Idempotent.
   *
   * @example
   * ```ts ignore
   * conn.close();
   * ```
   */
  close(): void {
    if (this.#split) return;
    this.#core.close();
  }

  /** `using conn = …` closes it at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }
}
