/**
 * `TcpSocket`: a TCP socket not yet listening or connected, to set options on before it does
 * (Tokio's `TcpSocket`): SO_REUSEADDR, SO_REUSEPORT, send and receive buffer sizes, SO_LINGER,
 * a local address (`bind`), then `listen` → {@linkcode TcpListener} or `connect` →
 * {@linkcode TcpStream}. Each option reads back as the kernel has it.
 *
 * Invariants: `listen` and `connect` hand the fd over to what they make (the TcpSocket is then
 * spent: further calls throw ClosedError); a failed connect closes the fd; `close` (or `using`)
 * closes an unspent socket. The deno backend has no way to make a socket before listening or
 * connecting: `newV4`/`newV6` throw an `IoError` "EOPNOTSUPP" there.
 *
 * @module
 */

import { ioError } from "../ffi/errors.ts";
import {
  DK_POLL_OUT,
  DK_SOCKOPT_ERROR,
  DK_SOCKOPT_LINGER,
  DK_SOCKOPT_RCVBUF,
  DK_SOCKOPT_REUSEADDR,
  DK_SOCKOPT_REUSEPORT,
  DK_SOCKOPT_SNDBUF,
} from "../ffi/layout.ts";
import { ClosedError } from "../runtime/errors.ts";
import { GenOp, type Operation } from "../runtime/operation.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import { type AddrOptions, addrRecord, type NetAddr } from "./addr.ts";
import { SocketCore, WRITE } from "./_socket.ts";
import { localNetAddr } from "./_sock_addr.ts";
import { currentDriver } from "./_driver.ts";
import { ReadyOp } from "./_ready_op.ts";
import { TcpListener } from "./tcp_listener.ts";
import { TcpStream } from "./tcp_stream.ts";

/** Largest buffer size accepted (the kernel caps it lower anyway). */
const MAX_BUFFER = 0x7fffffff;
/** Largest linger in seconds. */
const MAX_LINGER = 65535;

/**
 * A TCP socket to configure before it listens or connects.
 *
 * @example
 * ```ts
 * import { run, TcpSocket } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * await run(function* () {
 *   const sock = yield* TcpSocket.newV4();
 *   sock.setReuseAddr(true);
 *   sock.setLinger(0);
 *   sock.setRecvBufferSize(1 << 16);
 *   assert.equal(sock.reuseAddr(), true);
 *   assert.equal(sock.linger(), 0);
 *   assert.ok(sock.recvBufferSize() >= 1 << 16);
 *   sock.bind({ hostname: "127.0.0.1", port: 0 });
 *   using listener = sock.listen(128);
 *   const client = yield* TcpSocket.newV4();
 *   using conn = yield* client.connect(listener.localAddr);
 *   using peer = yield* listener.accept();
 *   assert.equal(peer.peerAddr.port, conn.localAddr.port);
 * });
 * ```
 */
export class TcpSocket implements Disposable {
  readonly #core: SocketCore;
  #spent = false;

  /**
   * Internal: made by {@linkcode TcpSocket.newV4} and {@linkcode TcpSocket.newV6}.
   *
   * @param core the socket state
   * @throws {TypeError} when called with anything else.
   */
  constructor(core: SocketCore) {
    if (!(core instanceof SocketCore)) throw new TypeError("use TcpSocket.newV4() or newV6()");
    this.#core = core;
  }

  /**
   * A new IPv4 TCP socket.
   *
   * @returns an operation giving the socket
   * @throws {IoError} (from the operation) EMFILE…; "EOPNOTSUPP" on the deno backend.
   * @example
   * ```ts
   * import { TcpSocket } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const s = await TcpSocket.newV4();
   * assert.equal(s.linger(), null);
   * s.close();
   * ```
   */
  static newV4(): Operation<TcpSocket> & PromiseLike<TcpSocket> {
    return make(false);
  }

  /**
   * A new IPv6 TCP socket.
   *
   * @returns an operation giving the socket
   * @throws {IoError} (from the operation) EAFNOSUPPORT where IPv6 is off; "EOPNOTSUPP" on the
   *   deno backend.
   * @example
   * ```ts
   * import { TcpSocket } from "../mod.ts";
   * import assert from "node:assert/strict";
   * using s = await TcpSocket.newV6();
   * s.bind({ hostname: "::1", port: 0 });
   * assert.equal(s.localAddr.hostname, "::1");
   * ```
   */
  static newV6(): Operation<TcpSocket> & PromiseLike<TcpSocket> {
    return make(true);
  }

  #fd(): number {
    if (this.#spent) throw new ClosedError("TcpSocket was used by listen() or connect()");
    const c = this.#core;
    c.checkOpen();
    return c.fd;
  }

  #set(option: number, value: number): void {
    const fd = this.#fd();
    this.#core.reactor.setSockOpt(fd, option, value);
  }

  #get(option: number): number {
    const fd = this.#fd();
    return this.#core.reactor.getSockOpt(fd, option);
  }

  /**
   * Set SO_REUSEADDR (bind a port whose old connections linger in TIME_WAIT).
   *
   * @param on true to set it
   * @throws {ClosedError} when closed or spent; `IoError` when the kernel refuses.
   */
  setReuseAddr(on: boolean): void {
    this.#set(DK_SOCKOPT_REUSEADDR, on ? 1 : 0);
  }

  /**
   * SO_REUSEADDR as the kernel has it.
   *
   * @returns whether it is set
   * @throws {ClosedError} when closed or spent.
   */
  reuseAddr(): boolean {
    return this.#get(DK_SOCKOPT_REUSEADDR) !== 0;
  }

  /**
   * Set SO_REUSEPORT (several sockets share one port; the kernel spreads connections).
   *
   * @param on true to set it
   * @throws {ClosedError} when closed or spent; `IoError` "EOPNOTSUPP" where the host lacks it.
   */
  setReusePort(on: boolean): void {
    this.#set(DK_SOCKOPT_REUSEPORT, on ? 1 : 0);
  }

  /**
   * SO_REUSEPORT as the kernel has it.
   *
   * @returns whether it is set
   * @throws {ClosedError} when closed or spent; `IoError` "EOPNOTSUPP" where the host lacks it.
   */
  reusePort(): boolean {
    return this.#get(DK_SOCKOPT_REUSEPORT) !== 0;
  }

  /**
   * Ask for a send buffer of `bytes` (SO_SNDBUF; Linux doubles it for its bookkeeping).
   *
   * @param bytes the size
   * @throws {RangeError} unless an integer in 1..2^31-1; {@linkcode ClosedError} when closed.
   */
  setSendBufferSize(bytes: number): void {
    this.#set(DK_SOCKOPT_SNDBUF, checkSize(bytes, "setSendBufferSize"));
  }

  /**
   * The send buffer's size as the kernel reports it.
   *
   * @returns bytes
   * @throws {ClosedError} when closed or spent.
   */
  sendBufferSize(): number {
    return this.#get(DK_SOCKOPT_SNDBUF);
  }

  /**
   * Ask for a receive buffer of `bytes` (SO_RCVBUF).
   *
   * @param bytes the size
   * @throws {RangeError} unless an integer in 1..2^31-1; {@linkcode ClosedError} when closed.
   */
  setRecvBufferSize(bytes: number): void {
    this.#set(DK_SOCKOPT_RCVBUF, checkSize(bytes, "setRecvBufferSize"));
  }

  /**
   * The receive buffer's size as the kernel reports it.
   *
   * @returns bytes
   * @throws {ClosedError} when closed or spent.
   */
  recvBufferSize(): number {
    return this.#get(DK_SOCKOPT_RCVBUF);
  }

  /**
   * SO_LINGER: how long close waits for unsent data (0: reset the connection at once), or null
   * for the default (close returns at once, the kernel sends in the background).
   *
   * @param seconds 0..65535, or null
   * @throws {RangeError} for another number; {@linkcode ClosedError} when closed or spent.
   */
  setLinger(seconds: number | null): void {
    if (seconds !== null && (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_LINGER)) {
      throw new RangeError(`TcpSocket.setLinger: seconds must be 0..${MAX_LINGER} or null`);
    }
    this.#set(DK_SOCKOPT_LINGER, seconds ?? -1);
  }

  /**
   * SO_LINGER as the kernel has it.
   *
   * @returns seconds, or null when off
   * @throws {ClosedError} when closed or spent.
   */
  linger(): number | null {
    const v = this.#get(DK_SOCKOPT_LINGER);
    return v < 0 ? null : v;
  }

  /**
   * Bind to a local address (port 0: the kernel picks one).
   *
   * @param addr `hostname` (an IP literal of the socket's family) and `port`
   * @throws {TypeError}/{@linkcode RangeError} for a bad address; `IoError` EADDRINUSE…
   */
  bind(addr: AddrOptions): void {
    const rec = addrRecord(addr, "TcpSocket.bind", true);
    this.#core.reactor.bindFd(this.#fd(), rec);
  }

  /**
   * The bound address.
   *
   * @returns the address
   * @throws {ClosedError} when closed or spent.
   */
  get localAddr(): NetAddr {
    this.#fd();
    return localNetAddr(this.#core, "tcp");
  }

  /**
   * Listen (binding to an ephemeral port first when not bound): the socket becomes a
   * {@linkcode TcpListener}.
   *
   * @param backlog pending connections the kernel queues (1..65535, default 1024)
   * @returns the listener
   * @throws {RangeError} for a bad backlog; `IoError` on failure; ClosedError when spent.
   */
  listen(backlog?: number): TcpListener {
    backlog ??= 1024;
    if (!Number.isInteger(backlog) || backlog < 1 || backlog > 65535) {
      throw new RangeError("TcpSocket.listen: backlog must be an integer in 1..65535");
    }
    const fd = this.#fd();
    this.#core.reactor.listenFd(fd, backlog);
    this.#spent = true;
    const c = this.#core;
    return new TcpListener(new SocketCore(fd, "TcpListener", c.driver, c.sched));
  }

  /**
   * Connect to `addr`: the socket becomes a {@linkcode TcpStream}. On failure the fd is closed.
   *
   * @param addr an IP literal `hostname` (of the socket's family) and `port`
   * @returns an operation giving the stream
   * @throws {TypeError}/{@linkcode RangeError} for a bad address; ClosedError when spent; the
   *   operation throws an `IoError` (ECONNREFUSED…).
   */
  connect(addr: AddrOptions): Operation<TcpStream> & PromiseLike<TcpStream> {
    const rec = addrRecord(addr, "TcpSocket.connect", false);
    const fd = this.#fd();
    this.#spent = true;
    const core = this.#core;
    return new GenOp(function* () {
      try {
        if (!core.reactor.connectFd(fd, rec)) {
          let first = true;
          yield* new ReadyOp(core, WRITE, DK_POLL_OUT, (r, f) => {
            if (first) {
              first = false;
              return null; // in progress: wait for writability first
            }
            const err = r.getSockOpt(f, DK_SOCKOPT_ERROR);
            if (err !== 0) throw ioError(-err, "connect");
            return true;
          });
        }
      } catch (e) {
        core.close();
        throw e;
      }
      return new TcpStream(new SocketCore(fd, "TcpStream", core.driver, currentCore()));
    });
  }

  /** Close the socket (nothing to do once `listen` or `connect` took it). Idempotent. */
  close(): void {
    if (!this.#spent) this.#core.close();
  }

  /** `using s = …` closes it at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function make(v6: boolean): Operation<TcpSocket> & PromiseLike<TcpSocket> {
  return new GenOp(function* () {
    const driver = yield* currentDriver();
    const fd = driver.reactor.tcpSocket(v6);
    return new TcpSocket(new SocketCore(fd, "TcpSocket", driver, currentCore()));
  });
}

function checkSize(bytes: number, what: string): number {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > MAX_BUFFER) {
    throw new RangeError(`TcpSocket.${what}: size must be an integer in 1..${MAX_BUFFER}`);
  }
  return bytes;
}
