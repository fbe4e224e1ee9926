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
import { IoError, ioError } from "../ffi/errors.ts";
import type { Operation, Poll } from "../runtime/operation.ts";
import { IO_DONE, IO_NEW, IO_SUBMITTED } from "../runtime/io/reactor_driver.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import { addrRecord, type NetAddr } from "./addr.ts";
import { dropFd, NetOp, NO_LANE, SocketCore } from "./_socket.ts";
import { GenOp } from "../runtime/operation.ts";
import { localNetAddr, peerNetAddr } from "./_sock_addr.ts";
import { OwnedReadHalf, OwnedWriteHalf, SplitOwner } from "./split.ts";
import { SocketStream } from "./socket_stream.ts";
import { checkHost, connectError, ipLiteral, lookupHost } from "./lookup.ts";

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
  /** An IP literal or a host name (resolved with {@linkcode lookupHost}); default "127.0.0.1". */
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
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "connect";
  }

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
export class TcpStream extends SocketStream {
  readonly #core: SocketCore;
  #local: NetAddr | null = null;
  #peer: NetAddr | null;

  /**
   * Internal: wrap an open socket (made by `connect` and `accept`).
   *
   * @param core the socket state
   * @param peer the peer's address when known
   */
  constructor(core: SocketCore, peer?: NetAddr | null) {
    if (!(core instanceof SocketCore)) {
      throw new TypeError("TcpStream is made by TcpStream.connect() or TcpListener.accept()");
    }
    super(core, "TcpStream");
    this.#core = core;
    this.#peer = peer ?? null;
  }

  /**
   * Connect to `hostname:port`. A host name is resolved first ({@linkcode lookupHost}: off the
   * scheduler thread, honouring /etc/hosts) and each address is tried in turn until one
   * accepts. Refused → `IoError` with code "ECONNREFUSED" (for a name, the message names the
   * host and the addresses tried); an unknown name → code "ENOTFOUND"; an aborted `signal`
   * cancels the connect and throws its reason.
   *
   * @param opts the `hostname` (an IP literal or a name; default "127.0.0.1") and `port`.
   * @param options `signal`: aborting it cancels the connect.
   * @returns an operation (also awaitable) giving the connected stream.
   * @throws {TypeError} for a bad hostname; {@linkcode RangeError} for a bad port.
   * @throws {IoError} (from the operation) when the connect fails, e.g. "ECONNREFUSED", or the
   *   name does not resolve ("ENOTFOUND"); the signal's reason when aborted.
   * @example
   * ```ts
   * import { TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const listener = await TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   * const port = listener.localAddr.port;
   * const conn = await TcpStream.connect({ hostname: "localhost", port }, {
   *   signal: AbortSignal.timeout(1000),
   * });
   * assert.equal(conn.peerAddr.port, port);
   * conn.close();
   * listener.close();
   * ```
   */
  static connect(
    opts: ConnectOptions,
    options?: ConnectCallOptions,
  ): Operation<TcpStream> & PromiseLike<TcpStream> {
    const signal = options?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError("TcpStream.connect: signal must be an AbortSignal");
    }
    const host = opts?.hostname;
    if (host === undefined || typeof host !== "string" || ipLiteral(host) !== null) {
      return new ConnectOp(addrRecord(opts, "TcpStream.connect", false), signal);
    }
    checkHost(host, "TcpStream.connect");
    const port = opts.port;
    addrRecord({ port }, "TcpStream.connect", false); // the port's checks, at the call
    return new GenOp(function* () {
      const addrs = yield* lookupHost(host, port);
      let last: IoError | null = null;
      const tried: string[] = [];
      for (const a of addrs) {
        if (signal?.aborted) throw signal.reason;
        tried.push(a.hostname);
        try {
          return yield* new ConnectOp(addrRecord(a, "TcpStream.connect", false), signal);
        } catch (e) {
          if (!(e instanceof IoError)) throw e;
          last = e;
        }
      }
      throw connectError(host, port, tried, last!);
    });
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
  setNoDelay(on?: boolean): void {
    on ??= true;
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
  setKeepAlive(on?: boolean): void {
    on ??= true;
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
   * Same as {@linkcode TcpStream.peerAddr}, under `Deno.Conn`'s name.
   *
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ port: listener.addr.port });
   *   assert.equal(conn.remoteAddr, conn.peerAddr);
   *   assert.equal(conn.remoteAddr.port, listener.localAddr.port);
   * });
   * ```
   */
  get remoteAddr(): NetAddr {
    return this.peerAddr;
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
    const c = this.#whole();
    c.checkOpen();
    this.detached = true;
    const owner = new SplitOwner(c, this.#peer);
    return [new OwnedReadHalf(owner), new OwnedWriteHalf(owner)];
  }

  #whole(): SocketCore {
    if (this.detached) throw new TypeError("TcpStream was split: use its halves");
    return this.#core;
  }
}
