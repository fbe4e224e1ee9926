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
 * ```ts
 * import { type ConnectOptions, run, TcpListener, TcpStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 *   const to: ConnectOptions = { hostname: "127.0.0.1", port: listener.localAddr.port };
 *   using conn = yield* TcpStream.connect(to);
 *   using peer = yield* listener.accept();
 *   assert.equal(conn.peerAddr.port, to.port);
 *   assert.equal(peer.peerAddr.port, conn.localAddr.port);
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
 * ```ts
 * import { type ConnectCallOptions, run, TcpListener, TcpStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 *   const options: ConnectCallOptions = { signal: AbortSignal.timeout(1000) };
 *   // Throws the signal's reason (a TimeoutError) if not connected within 1 s.
 *   const to = { hostname: "127.0.0.1", port: listener.localAddr.port };
 *   using conn = yield* TcpStream.connect(to, options);
 *   assert.equal(conn.peerAddr.port, to.port);
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
 * ```ts
 * import { run } from "../runtime/mod.ts";
 * import { TcpListener, TcpStream } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const reply = await run(function* () {
 *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
 *   using peer = yield* listener.accept();
 *   yield* conn.writeAll(new TextEncoder().encode("hello\n"));
 *   const buf = new Uint8Array(64);
 *   const got = yield* peer.read(buf); // the server side echoes what it got
 *   yield* peer.writeAll(buf.subarray(0, got ?? 0));
 *   const n = yield* conn.read(buf);
 *   return n === null ? "EOF" : new TextDecoder().decode(buf.subarray(0, n));
 * });
 * assert.equal(reply, "hello\n");
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
   * @param opts the `hostname` (default "127.0.0.1") and `port` to connect to.
   * @param options `signal`: aborting it cancels the connect.
   * @returns an operation (also awaitable) giving the connected stream.
   * @throws {TypeError} for a bad hostname; {@linkcode RangeError} for a bad port.
   * @throws {IoError} (from the operation) when the connect fails, e.g. "ECONNREFUSED"; the
   *   signal's reason when aborted.
   * @example
   * ```ts
   * import { TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const listener = await TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   * const port = listener.localAddr.port;
   * const conn = await TcpStream.connect({ hostname: "127.0.0.1", port }, {
   *   signal: AbortSignal.timeout(1000),
   * });
   * assert.equal(conn.peerAddr.port, port);
   * conn.close();
   * listener.close();
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
   * @param buf where the bytes go.
   * @returns an operation (also awaitable) giving the count, or `null` at end of stream.
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @throws {ClosedError} (from the operation) when the stream is closed; {@linkcode IoError} when
   *   the read fails.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   yield* peer.writeAll(new Uint8Array([1, 2, 3]));
   *   const buf = new Uint8Array(16);
   *   const n = yield* conn.read(buf);
   *   assert.deepEqual(buf.subarray(0, n ?? 0), new Uint8Array([1, 2, 3]));
   *   peer.close();
   *   assert.equal(yield* conn.read(buf), null); // end of stream
   * });
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
   * @param buf the buffer to fill.
   * @returns an operation (also awaitable) that finishes once `buf` is full.
   * @throws {Deno.errors.UnexpectedEof} (from the operation) when the stream ends first; {@linkcode
   *   ClosedError} or {@linkcode IoError} as for `read`.
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   yield* peer.writeAll(new Uint8Array([0, 0, 0, 5]));
   *   const header = new Uint8Array(4);
   *   yield* conn.readExact(header);
   *   assert.equal(new DataView(header.buffer).getUint32(0), 5);
   * });
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
   * @param buf the bytes to send.
   * @returns an operation (also awaitable) giving how many bytes the kernel took.
   * @throws {ClosedError} (from the operation) when the stream is closed; {@linkcode IoError} (e.g.
   *   "EPIPE") when the write fails.
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   const data = new TextEncoder().encode("ping");
   *   const n = yield* conn.write(data);
   *   assert.ok(n > 0 && n <= data.byteLength); // may be a partial write
   * });
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
   * @param buf the bytes to send.
   * @returns an operation (also awaitable) that finishes once every byte was taken.
   * @throws {ClosedError} (from the operation) when the stream is closed; {@linkcode IoError} when
   *   a write fails.
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   yield* conn.writeAll(new TextEncoder().encode("hello"));
   *   const buf = new Uint8Array(5);
   *   yield* peer.readExact(buf);
   *   assert.equal(new TextDecoder().decode(buf), "hello");
   * });
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
   * @returns an operation (also awaitable) that finishes once the FIN is queued.
   * @throws {ClosedError} (from the operation) when the stream is closed.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   yield* conn.shutdown();
   *   assert.equal(yield* peer.read(new Uint8Array(8)), null); // the peer sees end of stream
   * });
   * ```
   */
  shutdown(): Operation<void> & PromiseLike<void> {
    return new ShutdownOp(this.#usable(), 1);
  }

  /**
   * Turn Nagle's algorithm off (`true`) or on.
   *
   * @param on true to send small writes at once.
   * @throws {IoError} when the socket option cannot be set; {@linkcode ClosedError} when closed.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   conn.setNoDelay(true);
   *   assert.equal(conn.closed, false);
   * });
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
   * @param on true to probe an idle connection.
   * @throws {IoError} when the socket option cannot be set; {@linkcode ClosedError} when closed.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   conn.setKeepAlive(true);
   *   assert.equal(conn.closed, false);
   * });
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
   * @returns the read half and the write half.
   * @throws {TypeError} when the stream was already split.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   const [rd, wr] = conn.split();
   *   yield* wr.writeAll(new Uint8Array([7]));
   *   const got = new Uint8Array(1);
   *   yield* peer.readExact(got);
   *   yield* peer.writeAll(got);
   *   assert.equal(yield* rd.read(got), 1);
   *   assert.equal(got[0], 7);
   *   rd.close();
   *   wr.close();
   * });
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
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   conn.close();
   *   assert.equal(conn.closed, true);
   *   assert.equal(yield* peer.read(new Uint8Array(8)), null);
   * });
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
