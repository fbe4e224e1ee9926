/**
 * `UdpSocket`: a bound datagram socket driven by the reactor.
 *
 * `UdpSocket.bind({ hostname, port })` is an operation (yield* or await).
 * `sendTo(buf, addr)` and `recvFrom(buf)` work on any socket; after
 * `connect(addr)` (which sets the default peer and filters what is
 * received) `send(buf)` and `recv(buf)` do too.
 *
 * Invariants: a datagram the kernel delivered to a `recvFrom` whose task
 * was cancelled is kept and returned by the next receive (never dropped);
 * a datagram longer than the buffer is truncated, as recvfrom(2) does;
 * use after close throws {@linkcode ClosedError}.
 *
 * @module
 */

import type { IoReactor } from "../ffi/reactor.ts";
import {
  DK_LISTEN_REUSEADDR,
  DK_LISTEN_REUSEPORT,
  DK_SOCKOPT_RCVBUF,
  DK_SOCKOPT_SNDBUF,
  newAddr,
} from "../ffi/layout.ts";
import { ioError } from "../ffi/errors.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import type { Operation, Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { type AddrOptions, addrRecord, checkBuffer, type NetAddr, netAddr } from "./addr.ts";
import { dropFd, GO, NetOp, NO_LANE, READ, SocketCore, WRITE } from "./_socket.ts";

/**
 * Options of {@linkcode UdpSocket.bind}.
 *
 * @example
 * ```ts
 * import { run, type UdpBindOptions, UdpSocket } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   const options: UdpBindOptions = { hostname: "127.0.0.1", port: 0, reusePort: true };
 *   using sock = yield* UdpSocket.bind(options);
 *   assert.equal(sock.localAddr.transport, "udp");
 *   assert.equal(sock.localAddr.hostname, "127.0.0.1");
 *   assert.ok(sock.localAddr.port > 0); // the port the kernel picked
 * });
 * ```
 */
export interface UdpBindOptions {
  /** Local IP literal or "localhost"; default "127.0.0.1". */
  hostname?: string;
  /** Port 0..65535 (0: the kernel picks). */
  port: number;
  /** Set SO_REUSEPORT. */
  reusePort?: boolean;
  /**
   * Receive buffer size in bytes (SO_RCVBUF), 1..2^31-1: how much the kernel
   * queues for the socket before it drops datagrams (a burst larger than
   * the default buffer loses the rest). The kernel may round or cap it:
   * Linux doubles it for its bookkeeping and caps it at `net.core.rmem_max`.
   * The portable `deno` backend cannot set it (Deno's datagram API has no
   * buffer sizes): bind fails there with an `IoError` "EOPNOTSUPP".
   */
  recvBufferSize?: number;
  /** Send buffer size in bytes (SO_SNDBUF), 1..2^31-1; capped as above (`net.core.wmem_max`). */
  sendBufferSize?: number;
}

/**
 * A received datagram: its length in the buffer and its sender.
 *
 * @example
 * ```ts
 * import { type Datagram, run, UdpSocket } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   using a = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
 *   using b = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
 *   yield* a.sendTo(new TextEncoder().encode("ping"), b.localAddr);
 *   const buf = new Uint8Array(1500);
 *   const d: Datagram = yield* b.recvFrom(buf);
 *   assert.equal(new TextDecoder().decode(buf.subarray(0, d.n)), "ping");
 *   assert.equal(d.addr.port, a.localAddr.port);
 * });
 * ```
 */
export interface Datagram {
  /** Bytes written into the buffer. */
  n: number;
  /** The sender's address. */
  addr: NetAddr;
}

interface Kept {
  data: Uint8Array;
  addr: NetAddr;
}

/** A buffer size option: undefined (the kernel's default) or an integer in 1..2^31-1. */
function bufferSize(v: number | undefined, name: string): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 1 || v > 0x7fff_ffff) {
    throw new RangeError(`UdpSocket.bind: ${name} must be an integer in 1..2^31-1, got ${v}`);
  }
  return v;
}

class UdpBindOp extends NetOp<UdpSocket> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "bind";
  }

  readonly #rec: Uint8Array;
  readonly #flags: number;
  readonly #rcvbuf: number;
  readonly #sndbuf: number;
  constructor(rec: Uint8Array, flags: number, rcvbuf: number, sndbuf: number) {
    super(null, NO_LANE);
    this.#rec = rec;
    this.#flags = flags;
    this.#rcvbuf = rcvbuf;
    this.#sndbuf = sndbuf;
  }
  protected write(r: IoReactor, token: number): void {
    r.udpBind(token, this.#rec, this.#flags);
  }
  protected finish(res: number): UdpSocket {
    if (res < 0) throw ioError(res, "udp_bind");
    const core = new SocketCore(res, "UdpSocket", this.driverRef, currentCore());
    const sock = new UdpSocket(core);
    try {
      if (this.#rcvbuf > 0) core.reactor.setSockOpt(core.fd, DK_SOCKOPT_RCVBUF, this.#rcvbuf);
      if (this.#sndbuf > 0) core.reactor.setSockOpt(core.fd, DK_SOCKOPT_SNDBUF, this.#sndbuf);
    } catch (e) {
      sock.close();
      throw e;
    }
    return sock;
  }
  protected override salvage(res: number): void {
    if (res >= 0) dropFd(this.driverRef, res);
  }
}

class UdpConnectOp extends NetOp<void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "connect";
  }

  readonly #rec: Uint8Array;
  constructor(sock: SocketCore, rec: Uint8Array) {
    super(sock, NO_LANE);
    this.#rec = rec;
  }
  protected write(r: IoReactor, token: number): void {
    r.udpConnect(token, this.sock!.fd, this.#rec);
  }
  protected finish(res: number): void {
    if (res < 0) this.fail(res, "udp_connect");
  }
}

class SendToOp extends NetOp<number> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "send";
  }

  readonly #buf: Uint8Array;
  readonly #to: Uint8Array | null;
  constructor(sock: SocketCore, buf: Uint8Array, to: Uint8Array | null) {
    super(sock, WRITE);
    this.#buf = buf;
    this.#to = to;
  }
  protected write(r: IoReactor, token: number): void {
    r.sendTo(token, this.sock!.fd, this.#buf, this.#to);
  }
  protected finish(res: number): number {
    return res >= 0 ? res : this.fail(res, this.#to === null ? "send" : "sendto");
  }
}

class RecvFromOp extends NetOp<Datagram> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "recv";
  }

  readonly #buf: Uint8Array;
  readonly #from: Uint8Array = newAddr();
  constructor(sock: SocketCore, buf: Uint8Array) {
    super(sock, READ);
    this.#buf = buf;
  }
  protected override prepare(_w: Waker): Poll<Datagram> | typeof GO {
    const kept = this.sock!.salvaged;
    if (kept !== null && kept.length > 0) {
      const k = kept.shift() as Kept;
      const n = Math.min(k.data.byteLength, this.#buf.byteLength);
      this.#buf.set(k.data.subarray(0, n));
      return { n, addr: k.addr };
    }
    return GO;
  }
  protected write(r: IoReactor, token: number): void {
    r.recvFrom(token, this.sock!.fd, this.#buf, this.#from);
  }
  protected finish(res: number): Datagram {
    if (res < 0) return this.fail(res, "recvfrom");
    return { n: res, addr: netAddr(this.#from, "udp") };
  }
  protected override salvage(res: number): void {
    const s = this.sock!;
    if (res < 0 || s.closed) return;
    let addr: NetAddr;
    try {
      addr = netAddr(this.#from, "udp");
    } catch {
      addr = { transport: "udp", hostname: "", port: 0 };
    }
    (s.salvaged ??= []).push({ data: this.#buf.slice(0, res), addr } satisfies Kept);
  }
}

class RecvOnly implements Operation<number>, PromiseLike<number> {
  readonly #op: RecvFromOp;
  constructor(op: RecvFromOp) {
    this.#op = op;
  }
  *[Symbol.iterator](): Generator<unknown, number, unknown> {
    return (yield* this.#op).n;
  }
  then<R1 = number, R2 = never>(
    onfulfilled?: ((value: number) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return Promise.resolve(this.#op).then((d) => d.n).then(onfulfilled, onrejected);
  }
}

/**
 * A UDP socket.
 *
 * @example
 * ```ts
 * import { run } from "../runtime/mod.ts";
 * import { UdpSocket } from "./mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   using a = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
 *   using b = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
 *   yield* a.sendTo(new Uint8Array([1, 2, 3]), b.localAddr);
 *   const buf = new Uint8Array(1500);
 *   const { n, addr } = yield* b.recvFrom(buf);
 *   assert.equal(n, 3);
 *   assert.equal(addr.port, a.localAddr.port);
 * });
 * ```
 */
export class UdpSocket implements Disposable {
  readonly #core: SocketCore;
  #local: NetAddr | null = null;

  /**
   * Internal: made by {@linkcode UdpSocket.bind}.
   *
   * @param core the bound socket's state.
   */
  constructor(core: SocketCore) {
    if (!(core instanceof SocketCore)) throw new TypeError("use UdpSocket.bind()");
    this.#core = core;
  }

  /**
   * Bind a datagram socket to `hostname:port` (port 0: the kernel picks).
   *
   * @param opts the `hostname` (default "127.0.0.1"), `port` (0: the kernel picks), `reusePort`,
   *   `recvBufferSize`, `sendBufferSize`.
   * @returns an operation (also awaitable) giving the socket.
   * @throws {TypeError} for a bad hostname; {@linkcode RangeError} for a bad port or buffer size.
   * @throws {IoError} (from the operation) when the bind fails, e.g. "EADDRINUSE", or a buffer
   *   size cannot be set ("EOPNOTSUPP" on the deno backend).
   * @example
   * ```ts
   * import { UdpSocket } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const sock = await UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   * assert.ok(sock.localAddr.port > 0);
   * sock.close();
   * ```
   */
  static bind(opts: UdpBindOptions): Operation<UdpSocket> & PromiseLike<UdpSocket> {
    const rec = addrRecord(opts, "UdpSocket.bind", true);
    const flags = DK_LISTEN_REUSEADDR | (opts.reusePort ? DK_LISTEN_REUSEPORT : 0);
    const rcvbuf = bufferSize(opts.recvBufferSize, "recvBufferSize");
    const sndbuf = bufferSize(opts.sendBufferSize, "sendBufferSize");
    return new UdpBindOp(rec, flags, rcvbuf, sndbuf);
  }

  /** The local address. */
  get localAddr(): NetAddr {
    if (this.#local === null) {
      const c = this.#core;
      c.checkOpen();
      const a = c.reactor.localAddr(c.fd, "udp");
      this.#local = { transport: "udp", hostname: a.hostname, port: a.port };
    }
    return this.#local;
  }

  /**
   * Same as {@linkcode UdpSocket.localAddr}, under `Deno.DatagramConn`'s name.
   *
   * @example
   * ```ts
   * import { run, UdpSocket } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * await run(function* () {
   *   using socket = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   *   assert.equal(socket.addr, socket.localAddr);
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

  /**
   * Send one datagram to `addr`; resolves with the bytes sent.
   *
   * @param buf the datagram.
   * @param addr where to send it.
   * @returns an operation (also awaitable) giving the bytes sent.
   * @throws {TypeError} for a bad hostname or `buf`; {@linkcode RangeError} for a bad port.
   * @throws {IoError} (from the operation) when the send fails; {@linkcode ClosedError} when the
   *   socket is closed.
   * @example
   * ```ts
   * import { run, UdpSocket } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using a = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   *   using b = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   *   const bytes = new Uint8Array([9, 9]);
   *   assert.equal(yield* a.sendTo(bytes, { hostname: "127.0.0.1", port: b.localAddr.port }), 2);
   *   assert.equal(yield* b.recv(new Uint8Array(8)), 2);
   * });
   * ```
   */
  sendTo(buf: Uint8Array, addr: AddrOptions): Operation<number> & PromiseLike<number> {
    checkBuffer(buf, "UdpSocket.sendTo");
    const rec = addrRecord(addr, "UdpSocket.sendTo", false);
    return new SendToOp(this.#core, buf, rec);
  }

  /**
   * Receive one datagram into `buf`: `{ n, addr }`.
   *
   * @param buf where the datagram goes (a longer one is cut to fit).
   * @returns an operation (also awaitable) giving `{ n, addr }`.
   * @throws {IoError} (from the operation) when the receive fails; {@linkcode ClosedError} when the
   *   socket is closed.
   * @example
   * ```ts
   * import { run, UdpSocket } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using a = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   *   using b = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   *   yield* a.sendTo(new Uint8Array([1]), b.localAddr);
   *   const buf = new Uint8Array(1500);
   *   const { n, addr } = yield* b.recvFrom(buf);
   *   assert.equal(n, 1);
   *   assert.equal(addr.port, a.localAddr.port);
   * });
   * ```
   */
  recvFrom(buf: Uint8Array): Operation<Datagram> & PromiseLike<Datagram> {
    checkBuffer(buf, "UdpSocket.recvFrom");
    return new RecvFromOp(this.#core, buf);
  }

  /**
   * Set the default peer: `send`/`recv` then talk to it only.
   *
   * @param addr the default peer.
   * @returns an operation (also awaitable) that finishes once set.
   * @throws {TypeError} for a bad hostname; {@linkcode RangeError} for a bad port.
   * @throws {IoError} (from the operation) when the connect fails.
   * @example
   * ```ts
   * import { run, UdpSocket } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using a = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   *   using b = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   *   yield* a.connect({ hostname: "127.0.0.1", port: b.localAddr.port });
   *   yield* a.send(new Uint8Array([5])); // no address: the connected peer
   *   const { addr } = yield* b.recvFrom(new Uint8Array(8));
   *   assert.equal(addr.port, a.localAddr.port);
   * });
   * ```
   */
  connect(addr: AddrOptions): Operation<void> & PromiseLike<void> {
    const rec = addrRecord(addr, "UdpSocket.connect", false);
    return new UdpConnectOp(this.#core, rec);
  }

  /**
   * Send one datagram to the connected peer.
   *
   * @param buf the datagram.
   * @returns an operation (also awaitable) giving the bytes sent.
   * @throws {IoError} (from the operation) when no peer is connected or the send
   *   fails.
   * @example
   * ```ts
   * import { run, UdpSocket } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using a = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   *   using b = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   *   yield* a.connect(b.localAddr);
   *   const bytes = new TextEncoder().encode("hi");
   *   assert.equal(yield* a.send(bytes), 2);
   *   assert.equal(yield* b.recv(new Uint8Array(8)), 2);
   * });
   * ```
   */
  send(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    checkBuffer(buf, "UdpSocket.send");
    return new SendToOp(this.#core, buf, null);
  }

  /**
   * Receive one datagram (from the connected peer): its length.
   *
   * @param buf where the datagram goes (a longer one is cut to fit).
   * @returns an operation (also awaitable) giving its length.
   * @throws {IoError} (from the operation) when the receive fails; {@linkcode ClosedError} when the
   *   socket is closed.
   * @example
   * ```ts
   * import { run, UdpSocket } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using a = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   *   using b = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   *   yield* a.sendTo(new Uint8Array([1, 2, 3, 4]), b.localAddr);
   *   const buf = new Uint8Array(2);
   *   const n = yield* b.recv(buf); // a datagram longer than buf is cut to fit
   *   assert.equal(n, 2);
   *   assert.deepEqual(buf, new Uint8Array([1, 2]));
   * });
   * ```
   */
  recv(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    checkBuffer(buf, "UdpSocket.recv");
    return new RecvOnly(new RecvFromOp(this.#core, buf));
  }

  /**
   * Close the socket (pending ops end with ClosedError). Idempotent.
   *
   * @example
   * ```ts
   * import { run, UdpSocket } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using a = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   *   a.close();
   *   assert.throws(() => a.localAddr); // closed
   * });
   * ```
   */
  close(): void {
    this.#core.close();
  }

  /** `using sock = …` closes it at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }
}
