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
import { DK_LISTEN_REUSEADDR, DK_LISTEN_REUSEPORT, newAddr } from "../ffi/layout.ts";
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
 * ```ts ignore
 * import { run, UdpSocket, type UdpBindOptions } from "../mod.ts";
 * await run(function* () {
 *   const options: UdpBindOptions = { hostname: "127.0.0.1", port: 0, reusePort: true };
 *   using sock = yield* UdpSocket.bind(options);
 *   console.log(sock.localAddr); // { transport: "udp", hostname: "127.0.0.1", port: <picked> }
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
}

/**
 * A received datagram: its length in the buffer and its sender.
 *
 * @example
 * ```ts ignore
 * import { type Datagram, run, UdpSocket } from "../mod.ts";
 * await run(function* () {
 *   using a = yield* UdpSocket.bind({ port: 0 });
 *   using b = yield* UdpSocket.bind({ port: 0 });
 *   yield* a.sendTo(new TextEncoder().encode("ping"), b.localAddr);
 *   const buf = new Uint8Array(1500);
 *   const d: Datagram = yield* b.recvFrom(buf);
 *   console.log(new TextDecoder().decode(buf.subarray(0, d.n)), d.addr.port === a.localAddr.port);
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

class UdpBindOp extends NetOp<UdpSocket> {
  readonly #rec: Uint8Array;
  readonly #flags: number;
  constructor(rec: Uint8Array, flags: number) {
    super(null, NO_LANE);
    this.#rec = rec;
    this.#flags = flags;
  }
  protected write(r: IoReactor, token: number): void {
    r.udpBind(token, this.#rec, this.#flags);
  }
  protected finish(res: number): UdpSocket {
    if (res < 0) throw ioError(res, "udp_bind");
    return new UdpSocket(
      new SocketCore(res, "UdpSocket", this.driverRef, currentCore()),
    );
  }
  protected override salvage(res: number): void {
    if (res >= 0) dropFd(this.driverRef, res);
  }
}

class UdpConnectOp extends NetOp<void> {
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
 * ```ts ignore
 * import { run } from "../runtime/mod.ts";
 * import { UdpSocket } from "./mod.ts";
 * await run(function* () {
 *   using a = yield* UdpSocket.bind({ port: 0 });
 *   using b = yield* UdpSocket.bind({ port: 0 });
 *   yield* a.sendTo(new Uint8Array([1, 2, 3]), b.localAddr);
 *   const buf = new Uint8Array(1500);
 *   const { n, addr } = yield* b.recvFrom(buf);
 *   console.log(n, addr.port === a.localAddr.port);
 * });
 * ```
 */
export class UdpSocket implements Disposable {
  readonly #core: SocketCore;
  #local: NetAddr | null = null;

  /** Internal: made by {@linkcode UdpSocket.bind}. */
  constructor(core: SocketCore) {
    if (!(core instanceof SocketCore)) throw new TypeError("use UdpSocket.bind()");
    this.#core = core;
  }

  /**
   * Bind a datagram socket to `hostname:port` (port 0: the kernel picks).
   *
   * @throws {TypeError} for a bad hostname; {@linkcode RangeError} for a bad port.
   * @example
   * ```ts ignore
   * const sock = await UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
   * ```
   */
  static bind(opts: UdpBindOptions): Operation<UdpSocket> & PromiseLike<UdpSocket> {
    const rec = addrRecord(opts, "UdpSocket.bind", true);
    const flags = DK_LISTEN_REUSEADDR | (opts.reusePort ? DK_LISTEN_REUSEPORT : 0);
    return new UdpBindOp(rec, flags);
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

  /** The fd (for diagnostics; -1 once closed). */
  get fd(): number {
    return this.#core.fd;
  }

  /**
   * Send one datagram to `addr`; resolves with the bytes sent.
   *
   * @example
   * ```ts ignore
   * yield* sock.sendTo(bytes, { hostname: "127.0.0.1", port: 9000 });
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
   * @example
   * ```ts ignore
   * const { n, addr } = yield* sock.recvFrom(buf);
   * ```
   */
  recvFrom(buf: Uint8Array): Operation<Datagram> & PromiseLike<Datagram> {
    checkBuffer(buf, "UdpSocket.recvFrom");
    return new RecvFromOp(this.#core, buf);
  }

  /**
   * Set the default peer: `send`/`recv` then talk to it only.
   *
   * @example
   * ```ts ignore
   * yield* sock.connect({ hostname: "127.0.0.1", port: 9000 });
   * ```
   */
  connect(addr: AddrOptions): Operation<void> & PromiseLike<void> {
    const rec = addrRecord(addr, "UdpSocket.connect", false);
    return new UdpConnectOp(this.#core, rec);
  }

  /**
   * Send one datagram to the connected peer.
   *
   * @example
   * ```ts ignore
   * yield* sock.send(bytes);
   * ```
   */
  send(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    checkBuffer(buf, "UdpSocket.send");
    return new SendToOp(this.#core, buf, null);
  }

  /**
   * Receive one datagram (from the connected peer): its length.
   *
   * @example
   * ```ts ignore
   * const n = yield* sock.recv(buf);
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
   * ```ts ignore
   * sock.close();
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
