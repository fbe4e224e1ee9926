/**
 * `TcpListener`: a listening TCP socket.
 *
 * `TcpListener.bind({ hostname, port })` is an operation (yield* it in a
 * task or await it); `accept()` gives the next connection as a
 * {@linkcode TcpStream}; `incoming()` is the resilient accept loop for
 * servers, also behind `for await (const conn of listener)`.
 *
 * Invariants:
 * - An accepted connection is never lost nor leaked: if the task waiting in
 *   `accept()` is cancelled after the kernel accepted, the connection is kept
 *   and returned by the next `accept()`; closing the listener closes kept ones.
 * - The `incoming()` loop never ends on a transient failure: on EMFILE,
 *   ENFILE, ENOBUFS or ENOMEM it sleeps (10 ms, doubling up to 50 ms) and goes
 *   on; on ECONNABORTED, ECONNRESET, EPROTO, EPERM or ETIMEDOUT it retries at
 *   once. It ends (yields `null`) when the listener is closed.
 * - Use after close throws {@linkcode ClosedError}.
 *
 * @module
 */

import type { IoReactor } from "../ffi/reactor.ts";
import { DK_LISTEN_REUSEADDR, DK_LISTEN_REUSEPORT } from "../ffi/layout.ts";
import { IoError, ioError } from "../ffi/errors.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import { ClosedError } from "../runtime/errors.ts";
import type { Operation } from "../runtime/operation.ts";
import { sleep } from "../time/sleep.ts";
import { addrRecord, type NetAddr, netAddr } from "./addr.ts";
import { dropFd, NetOp, NO_LANE, SocketCore } from "./_socket.ts";
import { AcceptOp } from "./_accept_op.ts";
import { GenOp } from "../runtime/operation.ts";
import { localNetAddr } from "./_sock_addr.ts";
import { TcpStream } from "./tcp_stream.ts";

/**
 * Options of {@linkcode TcpListener.bind}.
 *
 * @example
 * ```ts
 * import { type ListenOptions, run, TcpListener } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   const options: ListenOptions = { hostname: "127.0.0.1", port: 0, backlog: 128 };
 *   using listener = yield* TcpListener.bind(options);
 *   assert.ok(listener.localAddr.port > 0); // the port the kernel picked
 * });
 * ```
 */
export interface ListenOptions {
  /** Local IP literal or "localhost"; default "127.0.0.1" ("::1", "0.0.0.0", "::" work too). */
  hostname?: string;
  /** Port 0..65535; 0 lets the kernel pick one (see `localAddr`). */
  port: number;
  /** Set SO_REUSEPORT (several listeners on one port). */
  reusePort?: boolean;
  /** Accept queue length (default 1024). */
  backlog?: number;
}

/**
 * Options of {@linkcode TcpListener.incoming}.
 *
 * @example
 * ```ts
 * import { type IncomingOptions, TcpListener, TcpStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const listener = await TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 * const client = await TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
 * const options: IncomingOptions = { onError: (e) => console.warn("accept:", e.code) };
 * let accepted = 0;
 * for await (const conn of listener.incoming(options)) {
 *   accepted++;
 *   conn.close();
 *   listener.close(); // ends the loop
 * }
 * assert.equal(accepted, 1);
 * client.close();
 * ```
 */
export interface IncomingOptions {
  /** Told about every transient accept failure that was survived (for logging). */
  onError?: (error: IoError) => void;
}

const BACKOFF = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);
const RETRY = new Set([
  "ECONNABORTED",
  "ECONNRESET",
  "EPROTO",
  "EPERM",
  "ETIMEDOUT",
  "EINTR",
  "EAGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

class ListenOp extends NetOp<TcpListener> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "listen";
  }

  readonly #rec: Uint8Array;
  readonly #backlog: number;
  readonly #flags: number;
  constructor(rec: Uint8Array, backlog: number, flags: number) {
    super(null, NO_LANE);
    this.#rec = rec;
    this.#backlog = backlog;
    this.#flags = flags;
  }
  protected write(r: IoReactor, token: number): void {
    r.listen(token, this.#rec, this.#backlog, this.#flags);
  }
  protected finish(res: number): TcpListener {
    if (res < 0) throw ioError(res, "listen");
    const core = new SocketCore(res, "TcpListener", this.driverRef, currentCore());
    return new TcpListener(core);
  }
  protected override salvage(res: number): void {
    if (res >= 0) dropFd(this.driverRef, res);
  }
}

function tcpStreamOf(core: SocketCore, peer: Uint8Array | null): TcpStream {
  let addr: NetAddr | null = null;
  if (peer !== null) {
    try {
      addr = netAddr(peer, "tcp");
    } catch {
      addr = null;
    }
  }
  return new TcpStream(core, addr);
}

function* acceptLoop(
  l: TcpListener,
  onError: ((e: IoError) => void) | undefined,
): Generator<unknown, TcpStream | null, unknown> {
  let backoff = 10;
  for (;;) {
    if (l.closed) return null;
    try {
      return yield* l.accept();
    } catch (e) {
      if (e instanceof ClosedError) return null;
      if (!(e instanceof IoError)) throw e;
      if (BACKOFF.has(e.code)) {
        onError?.(e);
        yield* sleep(backoff);
        backoff = Math.min(backoff * 2, 50);
      } else if (RETRY.has(e.code)) {
        onError?.(e);
      } else {
        throw e;
      }
    }
  }
}

/**
 * The resilient accept loop of a listener (see {@linkcode TcpListener.incoming}).
 *
 * @example
 * ```ts
 * import { run, spawn, TcpListener, TcpStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 * function* handle(conn: TcpStream) {
 *   using c = conn;
 *   yield* c.writeAll(new Uint8Array([42]));
 * }
 * const got = await run(function* () {
 *   const listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 *   const client = spawn(function* () {
 *     using c = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
 *     const b = new Uint8Array(1);
 *     yield* c.readExact(b);
 *     listener.close(); // the accept loop then ends
 *     return b[0];
 *   });
 *   const incoming = listener.incoming();
 *   for (;;) {
 *     const conn = yield* incoming.accept();
 *     if (conn === null) break; // listener closed
 *     spawn(handle(conn));
 *   }
 *   return yield* client;
 * });
 * assert.equal(got, 42);
 * ```
 */
export class Incoming implements AsyncIterable<TcpStream> {
  readonly #l: TcpListener;
  readonly #onError: ((e: IoError) => void) | undefined;
  /**
   * Internal: made by `listener.incoming()`.
   *
   * @param l the listener to accept from.
   * @param options `onError`: told of each accept error the loop survives.
   */
  constructor(l: TcpListener, options: IncomingOptions) {
    this.#l = l;
    this.#onError = options.onError;
  }
  /**
   * The next connection, or null once the listener is closed.
   *
   * @returns an operation (also awaitable) giving the connection, or null once the listener is
   *   closed.
   */
  accept(): Operation<TcpStream | null> & PromiseLike<TcpStream | null> {
    return new GenOp(() => acceptLoop(this.#l, this.#onError));
  }
  /**
   * `for await (const conn of incoming)` until the listener is closed.
   *
   * @returns an async iterator of the connections.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<TcpStream, void, undefined> {
    for (;;) {
      const c = await this.accept();
      if (c === null) return;
      yield c;
    }
  }
}

/**
 * A listening TCP socket.
 *
 * @example
 * ```ts
 * import { run, spawn } from "../runtime/mod.ts";
 * import { TcpListener, TcpStream } from "./mod.ts";
 * import assert from "node:assert/strict";
 * function* echo(conn: TcpStream) {
 *   using c = conn;
 *   const buf = new Uint8Array(16384);
 *   for (;;) {
 *     const n = yield* c.read(buf);
 *     if (n === null) return;
 *     yield* c.writeAll(buf.subarray(0, n));
 *   }
 * }
 * const reply = await run(function* () {
 *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 *   const server = spawn(function* () {
 *     const incoming = listener.incoming();
 *     for (;;) {
 *       const conn = yield* incoming.accept();
 *       if (conn === null) break;
 *       spawn(echo(conn));
 *     }
 *   });
 *   using c = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
 *   yield* c.writeAll(new TextEncoder().encode("ping"));
 *   const buf = new Uint8Array(4);
 *   yield* c.readExact(buf);
 *   listener.close();
 *   yield* server;
 *   return new TextDecoder().decode(buf);
 * });
 * assert.equal(reply, "ping");
 * ```
 */
export class TcpListener implements Disposable, AsyncIterable<TcpStream> {
  readonly #core: SocketCore;
  #local: NetAddr | null = null;

  /**
   * Internal: made by {@linkcode TcpListener.bind}.
   *
   * @param core the listening socket's state.
   */
  constructor(core: SocketCore) {
    if (!(core instanceof SocketCore)) throw new TypeError("use TcpListener.bind()");
    this.#core = core;
  }

  /**
   * Bind and listen on `hostname:port` (SO_REUSEADDR is set; `reusePort`
   * adds SO_REUSEPORT). Busy port → `IoError` "EADDRINUSE".
   *
   * @param opts the `hostname` (default "127.0.0.1"), `port` (0: the kernel picks), `backlog`,
   *   `reusePort`.
   * @returns an operation (also awaitable) giving the listener.
   * @throws {TypeError} for a bad hostname; {@linkcode RangeError} for a bad port or backlog.
   * @throws {IoError} (from the operation) when the bind fails, e.g. "EADDRINUSE".
   * @example
   * ```ts
   * import { TcpListener } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const listener = await TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   * assert.equal(listener.localAddr.hostname, "127.0.0.1");
   * assert.ok(listener.localAddr.port > 0);
   * listener.close();
   * ```
   */
  static bind(opts: ListenOptions): Operation<TcpListener> & PromiseLike<TcpListener> {
    const rec = addrRecord(opts, "TcpListener.bind", true);
    const backlog = opts.backlog ?? 1024;
    if (!Number.isInteger(backlog) || backlog < 1 || backlog > 65535) {
      throw new RangeError(`TcpListener.bind: backlog must be an integer in 1..65535`);
    }
    const flags = DK_LISTEN_REUSEADDR | (opts.reusePort ? DK_LISTEN_REUSEPORT : 0);
    return new ListenOp(rec, backlog, flags);
  }

  /** The address it listens on (the chosen port when bound to 0). */
  get localAddr(): NetAddr {
    if (this.#local === null) this.#local = localNetAddr(this.#core, "tcp");
    return this.#local;
  }

  /**
   * Same as {@linkcode TcpListener.localAddr}, under `Deno.Listener`'s name.
   *
   * @example
   * ```ts
   * import { run, TcpListener } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   assert.equal(listener.addr, listener.localAddr);
   *   assert.ok(listener.addr.port > 0);
   * });
   * ```
   */
  get addr(): NetAddr {
    return this.localAddr;
  }

  /** The fd (for diagnostics; -1 once closed). */
  get fd(): number {
    return this.#core.fd;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#core.closed;
  }

  /**
   * Accept one connection. Failures are `IoError`s (EMFILE…); see
   * `incoming()` for a loop that survives them.
   *
   * @returns an operation (also awaitable) giving the connection.
   * @throws {IoError} (from the operation) when the accept fails; {@linkcode ClosedError} when the
   *   listener is closed.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   assert.equal(peer.localAddr.port, listener.localAddr.port); // `peer` came from listener.accept()
   *   assert.equal(peer.peerAddr.port, conn.localAddr.port);
   * });
   * ```
   */
  accept(): Operation<TcpStream> & PromiseLike<TcpStream> {
    return new AcceptOp(this.#core, "TcpStream", true, tcpStreamOf);
  }

  /**
   * The resilient accept loop: backs off on EMFILE/ENFILE, retries past
   * aborted connections, ends with null when the listener closes.
   *
   * @param options `onError`: told of each accept error the loop survives.
   * @returns the accept loop.
   * @example
   * ```ts
   * import { TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const listener = await TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   * const client = await TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   * const seen: number[] = [];
   * const handle = (conn: TcpStream) => {
   *   seen.push(conn.peerAddr.port);
   *   conn.close();
   *   listener.close();
   * };
   * for await (const conn of listener.incoming()) handle(conn);
   * assert.deepEqual(seen, [client.localAddr.port]);
   * client.close();
   * ```
   */
  incoming(options?: IncomingOptions): Incoming {
    options ??= {};
    return new Incoming(this, options ?? {});
  }

  /**
   * `for await (const conn of listener)`: the connections of `incoming()`.
   *
   * @returns an async iterator of the connections.
   */
  [Symbol.asyncIterator](): AsyncIterator<TcpStream> {
    return this.incoming()[Symbol.asyncIterator]();
  }

  /**
   * Stop listening: a pending accept ends with ClosedError (the `incoming()`
   * loop with null), then the fd is closed. Idempotent.
   *
   * @example
   * ```ts
   * import { TcpListener } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const listener = await TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   * listener.close();
   * assert.equal(listener.closed, true);
   * ```
   */
  close(): void {
    this.#core.close();
  }

  /** `using listener = …` closes it at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }
}
