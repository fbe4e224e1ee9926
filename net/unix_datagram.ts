/**
 * `UnixDatagram`: a Unix-domain datagram socket — bound to a path or a Linux abstract name, or
 * unbound; `sendTo`/`recvFrom` by address, or `connect` then `send`/`recv`.
 *
 * Each operation is a nonblocking attempt plus a readiness wait (a POLL record), so a
 * cancelled receive consumes no datagram and a cancelled send sends nothing. Datagrams keep
 * their boundaries; one longer than the buffer is truncated (as recv(2) does). The deno backend
 * has no Unix datagrams in its stable API: `bind`/`unbound` throw an `IoError` "EOPNOTSUPP".
 *
 * @module
 */

import { DK_POLL_IN, DK_POLL_OUT } from "../ffi/layout.ts";
import { GenOp, type Operation } from "../runtime/operation.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import { checkBuffer } from "./addr.ts";
import { READ, SocketCore, WRITE } from "./_socket.ts";
import { currentDriver } from "./_driver.ts";
import { ReadyOp } from "./_ready_op.ts";
import {
  removeSocketFile,
  type UnixAddr,
  unixAddrBytes,
  unixAddrOf,
  type UnixAddrOptions,
} from "./unix_addr.ts";

/**
 * A datagram and where it came from.
 *
 * @example
 * ```ts
 * import type { UnixDatagramFrom } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const d: UnixDatagramFrom = { n: 3, addr: { transport: "unix", path: "/tmp/a", abstract: false } };
 * assert.equal(d.n, 3);
 * ```
 */
export interface UnixDatagramFrom {
  /** The datagram's length in the buffer. */
  n: number;
  /** The sender's address (path "" when the sender is unbound). */
  addr: UnixAddr;
}

/**
 * A Unix datagram socket.
 *
 * @example
 * ```ts
 * import { run, UnixDatagram } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await run(function* () {
 *   using a = yield* UnixDatagram.bind({ path: `${dir}/a.sock` });
 *   using b = yield* UnixDatagram.bind({ path: `${dir}/b.sock` });
 *   yield* a.sendTo(new TextEncoder().encode("ping"), { path: `${dir}/b.sock` });
 *   const buf = new Uint8Array(64);
 *   const { n, addr } = yield* b.recvFrom(buf);
 *   assert.equal(new TextDecoder().decode(buf.subarray(0, n)), "ping");
 *   assert.equal(addr.path, `${dir}/a.sock`);
 * });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class UnixDatagram implements Disposable {
  readonly #core: SocketCore;
  readonly #path: string | null;

  /**
   * Internal: made by {@linkcode UnixDatagram.bind} and {@linkcode UnixDatagram.unbound}.
   *
   * @param core the socket state
   * @param path the socket file it made (removed by close), or null
   * @throws {TypeError} when called with anything else.
   */
  constructor(core: SocketCore, path: string | null) {
    if (!(core instanceof SocketCore)) throw new TypeError("use UnixDatagram.bind()");
    this.#core = core;
    this.#path = path;
  }

  /**
   * A datagram socket bound to `path` (making the socket file; close removes it) or a Linux
   * abstract name.
   *
   * @param opts `{ path }` or `{ abstract }`
   * @returns an operation giving the socket
   * @throws {TypeError}/{@linkcode RangeError} for a bad or too long address;
   *   `Deno.errors.NotCapable` without read and write permission for the path; the operation
   *   throws an `IoError` (EADDRINUSE; EOPNOTSUPP on the deno backend).
   * @example
   * ```ts
   * import { run, UnixDatagram } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using d = yield* UnixDatagram.bind({ abstract: `dokio-dgram-doc-${Deno.pid}` });
   *   assert.equal(d.localAddr.abstract, true);
   * });
   * ```
   */
  static bind(opts: UnixAddrOptions): Operation<UnixDatagram> & PromiseLike<UnixDatagram> {
    const addr = unixAddrBytes(opts, "UnixDatagram.bind");
    return make(addr, opts.path ?? null);
  }

  /**
   * An unbound datagram socket (it can send; replies need a bound sender).
   *
   * @returns an operation giving the socket
   * @throws {IoError} (from the operation) EMFILE…; EOPNOTSUPP on the deno backend.
   * @example
   * ```ts
   * import { run, UnixDatagram } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using d = yield* UnixDatagram.unbound();
   *   assert.equal(d.localAddr.path, "");
   * });
   * ```
   */
  static unbound(): Operation<UnixDatagram> & PromiseLike<UnixDatagram> {
    return make(null, null);
  }

  /**
   * Set the default peer: `send`/`recv` then talk to it only.
   *
   * @param opts the peer's `{ path }` or `{ abstract }`
   * @throws {TypeError}/{@linkcode RangeError} for a bad address; ClosedError when closed;
   *   `IoError` (ENOENT, ECONNREFUSED).
   * @example
   * ```ts
   * import { run, UnixDatagram } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const name = `dokio-dgram-connect-${Deno.pid}`;
   * await run(function* () {
   *   using server = yield* UnixDatagram.bind({ abstract: name });
   *   using client = yield* UnixDatagram.unbound();
   *   client.connect({ abstract: name });
   *   assert.equal(yield* client.send(new Uint8Array([1, 2, 3])), 3);
   *   assert.equal(yield* server.recv(new Uint8Array(8)), 3);
   * });
   * ```
   */
  connect(opts: UnixAddrOptions): void {
    const addr = unixAddrBytes(opts, "UnixDatagram.connect");
    const c = this.#core;
    c.checkOpen();
    c.reactor.unixDatagramConnect(c.fd, addr);
  }

  /**
   * Send `buf` as one datagram to `to`, waiting while the socket's queue is full.
   *
   * @param buf the datagram
   * @param to the receiver's `{ path }` or `{ abstract }`
   * @returns an operation giving the bytes sent
   * @throws {TypeError}/{@linkcode RangeError} for bad arguments; the operation throws an
   *   `IoError` (ENOENT: nobody there; EMSGSIZE: too large).
   */
  sendTo(buf: Uint8Array, to: UnixAddrOptions): Operation<number> & PromiseLike<number> {
    checkBuffer(buf, "UnixDatagram.sendTo");
    const addr = unixAddrBytes(to, "UnixDatagram.sendTo");
    return new ReadyOp(this.#core, WRITE, DK_POLL_OUT, (r, fd) => r.trySendToUnix(fd, buf, addr));
  }

  /**
   * Send `buf` to the connected peer.
   *
   * @param buf the datagram
   * @returns an operation giving the bytes sent
   * @throws {TypeError} for a bad buffer; the operation throws an `IoError` (ENOTCONN…).
   */
  send(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    checkBuffer(buf, "UnixDatagram.send");
    return new ReadyOp(this.#core, WRITE, DK_POLL_OUT, (r, fd) => r.trySendToUnix(fd, buf, null));
  }

  /**
   * Receive one datagram into `buf` (truncated when longer) and its sender.
   *
   * @param buf where the datagram goes
   * @returns an operation giving its length and the sender's address
   * @throws {TypeError} for a bad buffer; the operation throws an `IoError` on failure.
   */
  recvFrom(buf: Uint8Array): Operation<UnixDatagramFrom> & PromiseLike<UnixDatagramFrom> {
    checkBuffer(buf, "UnixDatagram.recvFrom");
    return new ReadyOp(this.#core, READ, DK_POLL_IN, (r, fd) => {
      const got = r.tryRecvFromUnix(fd, buf);
      return got === null ? null : { n: got[0], addr: unixAddrOf(got[1]) };
    });
  }

  /**
   * Receive one datagram into `buf` (truncated when longer).
   *
   * @param buf where the datagram goes
   * @returns an operation giving its length
   * @throws {TypeError} for a bad buffer; the operation throws an `IoError` on failure.
   */
  recv(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    checkBuffer(buf, "UnixDatagram.recv");
    return new ReadyOp(this.#core, READ, DK_POLL_IN, (r, fd) => r.tryRecv(fd, buf, false));
  }

  /** The bound address (path "" when unbound). */
  get localAddr(): UnixAddr {
    const c = this.#core;
    c.checkOpen();
    return unixAddrOf(c.reactor.unixName(c.fd, false));
  }

  /**
   * Same as {@linkcode UnixDatagram.localAddr}, under `Deno.DatagramConn`'s name.
   *
   * @example
   * ```ts
   * import { run, UnixDatagram } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempDirSync() + "/dgram.sock";
   * await run(function* () {
   *   using socket = yield* UnixDatagram.bind({ path });
   *   assert.deepEqual(socket.addr, socket.localAddr);
   *   assert.equal(socket.addr.path, path);
   * });
   * ```
   */
  get addr(): UnixAddr {
    return this.localAddr;
  }

  /** The connected peer's address. */
  get peerAddr(): UnixAddr {
    const c = this.#core;
    c.checkOpen();
    return unixAddrOf(c.reactor.unixName(c.fd, true));
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#core.closed;
  }

  /** Close: pending operations end with ClosedError; the socket file is removed. Idempotent. */
  close(): void {
    if (this.#core.closed) return;
    this.#core.close();
    removeSocketFile(this.#path);
  }

  /** `using d = …` closes it at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function make(
  addr: Uint8Array | null,
  path: string | null,
): Operation<UnixDatagram> & PromiseLike<UnixDatagram> {
  return new GenOp(function* () {
    const driver = yield* currentDriver();
    const fd = driver.reactor.unixDatagram(addr);
    return new UnixDatagram(new SocketCore(fd, "UnixDatagram", driver, currentCore()), path);
  });
}
