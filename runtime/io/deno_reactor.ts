/**
 * `DenoReactor`: the portable backend (`backend: "deno"`), a reactor in TypeScript that performs
 * the same submission records on Deno's own sockets (`Deno.listen`, `Deno.connect`,
 * `Deno.listenDatagram`), for hosts where no native library can be had (Windows, or a platform
 * without a shipped library and no compiler), or by choice.
 *
 * It has the native `Reactor`'s surface (`IoReactor`), so the I/O driver and the net ops run on
 * it unchanged: a record names a *virtual fd* (a number this module hands out) and buffers by
 * *virtual addresses* (`addressOf`: an id per ArrayBuffer times 2^32 plus the byte offset); an
 * op starts when its record is pushed, and its completion is posted when the Deno promise
 * settles, waking a parked driver.
 *
 * Semantics kept from the C reactor (and how, since a Deno promise cannot be aborted):
 * - a cancelled recv/accept/recvfrom/connect completes at once with `-ECANCELED`; what its Deno
 *   call brings later is kept by the socket (bytes in its read buffer, a connection in the
 *   listener's backlog, a datagram in the queue) for the next op, or closed (a late connect):
 *   nothing is lost. Reads go through a private buffer per connection for that reason;
 * - a cancelled send waits for its real result (a Deno write cannot be taken back);
 * - CLOSE completes the socket's pending ops with `-ECANCELED` first, then closes it;
 * - a reset is observed as natively: a peer's reset makes the pending or next recv fail with
 *   ECONNRESET, and sends after it EPIPE. But this backend cannot *send* a bare reset: Deno's
 *   `close()` shuts the write side down first (Deno splits each connection into a read and a
 *   write half, and dropping the write half sends a FIN), and offers no SO_LINGER. So where a
 *   native close with unread bytes resets the connection (the peer's recv: ECONNRESET), a close
 *   here sends FIN, then the kernel's reset: the peer reads end of stream, and its next send
 *   fails with EPIPE. The same kernel rule holds on every backend (a FIN read before the reset
 *   hides it from recv); tests/io_copy_test.ts and tests/net_tcp_test.ts check both cases;
 * - shutdown(write) is `closeWrite()` (the peer reads end of stream), shutdown(read) makes later
 *   reads return end of stream;
 * - errors are the host's errno numbers (`node:os` constants), named like the native ones.
 *
 * UDP and `reusePort` use Deno's unstable net API: they need `--unstable-net` (this package's
 * deno.json turns it on for a clone); without it the op fails with a message naming the flag.
 *
 * @module
 */

import { ClosedError, hasErrnoSource, setErrnoSource } from "../../ffi/errors.ts";
import {
  ADDR_SIZE,
  CQE_WORDS,
  DK_CQE_F_CANCELED,
  DK_LISTEN_REUSEPORT,
  DK_OP_ACCEPT,
  DK_OP_CANCEL,
  DK_OP_CLOSE,
  DK_OP_CONNECT,
  DK_OP_LISTEN,
  DK_OP_NOP,
  DK_OP_RECV,
  DK_OP_RECVFROM,
  DK_OP_SEND,
  DK_OP_SENDTO,
  DK_OP_SHUTDOWN,
  DK_OP_UDP_BIND,
  DK_OP_UDP_CONNECT,
  DK_SOCKOPT_KEEPALIVE,
  DK_SOCKOPT_NODELAY,
  readAddr,
  type SocketAddr,
  writeAddr,
} from "../../ffi/layout.ts";
import { capLen, type IoReactor, type OpRecord } from "../../ffi/reactor.ts";
import type { PeerCred } from "../../ffi/unix.ts";
import { IoError } from "../../ffi/errors.ts";

const TWO32 = 4294967296;
/** Virtual fds start here, far from the small numbers of real fds in messages. */
const FIRST_FD = 1 << 20;
/** Bytes one Deno read asks for. */
const READ_CHUNK = 64 * 1024;

// ------------------------------------------------------------------ errno

/** The host's errno numbers by name (`node:os` constants), loaded by the first `open`. */
let ERRNO: Record<string, number> = {};
let ERRNO_NAMES = new Map<number, string>();
/** A number no host uses, for a name the host lacks. */
const UNKNOWN_ERRNO = 0x7fff;

async function loadErrno(): Promise<void> {
  if (ERRNO_NAMES.size > 0) return;
  const os = await import("node:os");
  ERRNO = (os.constants as { errno: Record<string, number> }).errno;
  ERRNO_NAMES = new Map(Object.entries(ERRNO).map(([k, v]) => [v, k]));
  E_CANCELED = neg("ECANCELED");
  E_BADF = neg("EBADF");
  E_NOENT = neg("ENOENT");
  E_INVAL = neg("EINVAL");
  E_NOTSUP = neg("EOPNOTSUPP");
}

/** -errno for `name` (the host's number). */
function neg(name: string): number {
  return -(ERRNO[name] ?? UNKNOWN_ERRNO);
}

let E_CANCELED = -UNKNOWN_ERRNO;
let E_BADF = -UNKNOWN_ERRNO;
let E_NOENT = -UNKNOWN_ERRNO;
let E_INVAL = -UNKNOWN_ERRNO;
let E_NOTSUP = -UNKNOWN_ERRNO;

const ERROR_NAMES: [new (...a: never[]) => Error, string][] = [
  [Deno.errors.ConnectionRefused, "ECONNREFUSED"],
  [Deno.errors.ConnectionReset, "ECONNRESET"],
  [Deno.errors.ConnectionAborted, "ECONNABORTED"],
  [Deno.errors.BrokenPipe, "EPIPE"],
  [Deno.errors.AddrInUse, "EADDRINUSE"],
  [Deno.errors.AddrNotAvailable, "EADDRNOTAVAIL"],
  [Deno.errors.NotConnected, "ENOTCONN"],
  [Deno.errors.TimedOut, "ETIMEDOUT"],
  [Deno.errors.PermissionDenied, "EACCES"],
  [Deno.errors.Interrupted, "ECANCELED"],
  [Deno.errors.BadResource, "EBADF"],
  [Deno.errors.InvalidData, "EINVAL"],
];

/** The -errno for an error a Deno socket call threw. */
function errnoOf(e: unknown): number {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && ERRNO[code] !== undefined) return -ERRNO[code];
  for (const [cls, name] of ERROR_NAMES) if (e instanceof cls) return neg(name);
  return neg("EIO");
}

/** A missing permission or unstable flag is the caller's to fix: thrown, not an errno. */
function isFlagError(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied &&
      /--allow-|flag/.test(String((e as Error).message)) ||
    e instanceof TypeError && /--unstable/.test(e.message);
}

// ------------------------------------------------------------------ virtual addresses

const bufferIds = new WeakMap<ArrayBufferLike, number>();
const buffersById = new Map<number, WeakRef<ArrayBufferLike>>();
const freeIds: number[] = [];
let nextId = 1;
const idRelease = new FinalizationRegistry<number>((id) => {
  buffersById.delete(id);
  freeIds.push(id);
});

function virtualAddress(view: ArrayBufferView): number {
  const ab = view.buffer;
  let id = bufferIds.get(ab);
  if (id === undefined) {
    id = freeIds.pop() ?? nextId++;
    if (id >= 1 << 21) {
      throw new RangeError("too many buffers in flight on the deno backend");
    }
    bufferIds.set(ab, id);
    buffersById.set(id, new WeakRef(ab));
    idRelease.register(ab, id);
  }
  return id * TWO32 + view.byteOffset;
}

/** The bytes `[addr, addr + len)` named by a virtual address. */
function bytesAt(addr: number, len: number): Uint8Array {
  const id = Math.floor(addr / TWO32);
  const ab = buffersById.get(id)?.deref();
  if (ab === undefined) throw new RangeError(`${addr} is not a buffer's virtual address`);
  return new Uint8Array(ab, addr - id * TWO32, len);
}

// ------------------------------------------------------------------ virtual sockets

/** One op waiting on a socket. */
interface Waiter {
  token: number;
  op: number;
  buf: Uint8Array | null;
  addr: Uint8Array | null;
}

interface StreamSock {
  kind: "stream";
  conn: Deno.Conn;
  readBuf: Uint8Array | null;
  chunk: Uint8Array | null;
  reading: boolean;
  eof: boolean;
  readErr: number;
  readShut: boolean;
  readers: Waiter[];
  writes: number;
}

interface ListenSock {
  kind: "listener";
  listener: Deno.Listener;
  backlog: Deno.Conn[];
  accepting: boolean;
  acceptErr: number;
  readers: Waiter[];
}

interface DgramSock {
  kind: "dgram";
  sock: Deno.DatagramConn;
  queue: [Uint8Array, Deno.NetAddr][];
  receiving: boolean;
  readers: Waiter[];
  peer: SocketAddr | null;
}

type VSock = StreamSock | ListenSock | DgramSock;

/** How long park(0) — "let Deno's event loop turn once" — waits: one macrotask. */
const TURN_MS = 0;

/**
 * The portable reactor over Deno sockets.
 *
 * @example
 * ```ts
 * import { DenoReactor } from "./deno_reactor.ts";
 * import assert from "node:assert/strict";
 *
 * const r = await DenoReactor.open();
 * r.nop(7);
 * assert.equal(await r.park(100), 1);
 * assert.deepEqual([r.cqU32[0], r.cqI32[1]], [7, 0]); // token 7, result 0
 * await r.close();
 * ```
 */
export class DenoReactor implements IoReactor {
  /** Completion records one poll/park returns at most. */
  readonly cqCapacity: number;
  /** The completion buffer as u32 words (token, _, flags, op per record). */
  readonly cqU32: Uint32Array;
  /** The completion buffer as i32 words (result at `[4i + 1]`). */
  readonly cqI32: Int32Array;
  readonly #socks = new Map<number, VSock>();
  /** token → the fd of the socket its op waits on (recv, accept, recvfrom, connect, send). */
  readonly #waiting = new Map<number, number>();
  /** Completions not yet handed out: token, result, flags, op. */
  #done: number[] = [];
  #count = 0;
  #closed = false;
  #parked: ((n: number) => void) | null = null;
  #parkTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #nextFd = FIRST_FD;

  private constructor(cqCapacity: number) {
    this.cqCapacity = cqCapacity;
    const cq = new ArrayBuffer(cqCapacity * CQE_WORDS * 4);
    this.cqU32 = new Uint32Array(cq);
    this.cqI32 = new Int32Array(cq);
  }

  /**
   * Make one (no library, no permission needed until a socket is opened).
   *
   * @throws {RangeError} for a capacity outside 1..65536.
   * @example
   * ```ts
   * import { DenoReactor } from "./deno_reactor.ts";
   * import assert from "node:assert/strict";
   * const r = await DenoReactor.open(1024);
   * assert.equal(r.backend, "deno");
   * await r.close();
   * ```
   */
  static async open(cqCapacity = 256): Promise<DenoReactor> {
    if (!Number.isInteger(cqCapacity) || cqCapacity < 1 || cqCapacity > 65536) {
      throw new RangeError(`cqCapacity must be an integer in 1..65536, got ${cqCapacity}`);
    }
    await loadErrno();
    if (!hasErrnoSource()) setErrnoSource((n) => ERRNO_NAMES.get(n) ?? "E?");
    return new DenoReactor(cqCapacity);
  }

  /** Always "deno". */
  get backend(): "deno" {
    return "deno";
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True while a `park()` is in flight. */
  get parked(): boolean {
    return this.#parked !== null;
  }

  /** A virtual address of `view`'s first byte (what records carry on this backend). */
  addressOf(view: ArrayBufferView): number {
    return virtualAddress(view);
  }

  /**
   * Take one record: the op starts now; its completion is posted when it settles.
   *
   * @throws {ClosedError} after close; a `Deno.errors.NotCapable` (naming the flag) when a
   *   socket cannot be opened for want of a permission or of `--unstable-net`.
   */
  pushOp(...[op, tok, fd, len, ad, arg, fl]: OpRecord): void {
    if (this.#closed) throw new ClosedError("reactor is closed");
    switch (op) {
      case DK_OP_NOP:
        return this.#post(tok, 0, op);
      case DK_OP_LISTEN:
        return this.#listen(tok, bytesAt(arg, ADDR_SIZE), fl);
      case DK_OP_ACCEPT:
        return this.#accept(tok, fd, arg === 0 ? null : bytesAt(arg, ADDR_SIZE));
      case DK_OP_CONNECT:
        return this.#connect(tok, bytesAt(arg, ADDR_SIZE));
      case DK_OP_RECV:
        return this.#recv(tok, fd, bytesAt(ad, capLen(len)));
      case DK_OP_SEND:
        return this.#send(tok, fd, bytesAt(ad, capLen(len)));
      case DK_OP_SHUTDOWN:
        return this.#shutdown(tok, fd, len);
      case DK_OP_CLOSE:
        return this.#post(tok, this.#closeFd(fd), op);
      case DK_OP_CANCEL:
        return this.#post(tok, this.#cancel(arg), op);
      case DK_OP_UDP_BIND:
        return this.#udpBind(tok, bytesAt(arg, ADDR_SIZE), fl);
      case DK_OP_UDP_CONNECT:
        return this.#udpConnect(tok, fd, bytesAt(arg, ADDR_SIZE));
      case DK_OP_RECVFROM:
        return this.#recvFrom(
          tok,
          fd,
          bytesAt(ad, capLen(len)),
          arg === 0 ? null : bytesAt(arg, ADDR_SIZE),
        );
      case DK_OP_SENDTO:
        return this.#sendTo(
          tok,
          fd,
          bytesAt(ad, capLen(len)),
          arg === 0 ? null : bytesAt(arg, ADDR_SIZE),
        );
      default:
        return this.#post(tok, E_NOTSUP, op); // files and readiness waits: native only
    }
  }

  /** Nothing to hand over: records start when pushed. Returns 0. */
  flush(): number {
    if (this.#closed) throw new ClosedError("reactor is closed");
    return 0;
  }

  /** Move what completed into the CQ, without waiting (a timeout cannot block here). */
  poll(_timeoutMs = 0): number {
    if (this.#closed) throw new ClosedError("reactor is closed");
    if (this.#parked !== null) throw new Error("reactor is parked");
    return this.#harvest();
  }

  /**
   * Wait (without blocking) until something completes, `timeoutMs` passes (0: one turn of
   * Deno's event loop; -1: no limit) or `wake()`; resolves with the completions in the CQ.
   */
  park(timeoutMs: number): Promise<number> {
    if (this.#closed) return Promise.reject(new ClosedError("reactor is closed"));
    if (this.#parked !== null) return Promise.reject(new Error("reactor is already parked"));
    this.#count = 0;
    return new Promise<number>((resolve) => {
      this.#parked = () => {
        clearTimeout(this.#parkTimer);
        this.#parkTimer = undefined;
        this.#parked = null;
        resolve(this.#closed ? 0 : this.#harvest());
      };
      if (timeoutMs === 0) this.#parkTimer = setTimeout(() => this.#unpark(), TURN_MS);
      else if (this.#done.length > 0) queueMicrotask(() => this.#unpark());
      else if (timeoutMs > 0) this.#parkTimer = setTimeout(() => this.#unpark(), timeoutMs);
    });
  }

  /** End a park early; a no-op when none is in flight. */
  wake(): void {
    this.#unpark();
  }

  /** Queue a no-op. */
  nop(token: number): void {
    this.pushOp(DK_OP_NOP, token, -1, 0, 0, 0, 0);
  }
  /** Queue a receive into `buf`. */
  recv(token: number, fd: number, buf: Uint8Array): void {
    this.pushOp(DK_OP_RECV, token, fd, capLen(buf.byteLength), this.addressOf(buf), 0, 0);
  }
  /** Queue a send of `buf[offset, offset + length)`. */
  send(token: number, fd: number, buf: Uint8Array, offset = 0, length?: number): void {
    const n = length ?? buf.byteLength - offset;
    this.pushOp(DK_OP_SEND, token, fd, capLen(n), this.addressOf(buf) + offset, 0, 0);
  }
  /** Queue an accept; `peer` receives the peer's address. */
  accept(token: number, fd: number, peer?: Uint8Array | null): void {
    this.pushOp(DK_OP_ACCEPT, token, fd, 0, 0, peer ? this.addressOf(peer) : 0, 0);
  }
  /** Queue a TCP connect to the `dk_addr` record `addr`. */
  connect(token: number, addr: Uint8Array): void {
    this.pushOp(DK_OP_CONNECT, token, -1, 0, 0, this.addressOf(addr), 0);
  }
  /** Queue bind + listen on `addr` (`flags` = `DK_LISTEN_*`). */
  listen(token: number, addr: Uint8Array, backlog = 0, flags = 0): void {
    this.pushOp(DK_OP_LISTEN, token, -1, backlog, 0, this.addressOf(addr), flags);
  }
  /** Queue a close of `fd` (its pending ops complete with `-ECANCELED` first). */
  closeFd(token: number, fd: number): void {
    this.pushOp(DK_OP_CLOSE, token, fd, 0, 0, 0, 0);
  }
  /** Queue a cancel of the op with token `target`. */
  cancel(token: number, target: number): void {
    this.pushOp(DK_OP_CANCEL, token, -1, 0, 0, target, 0);
  }
  /** Queue a shutdown (`how`: 0 read, 1 write, 2 both). */
  shutdown(token: number, fd: number, how: number): void {
    this.pushOp(DK_OP_SHUTDOWN, token, fd, how, 0, 0, 0);
  }
  /** Queue a UDP bind on `addr`. */
  udpBind(token: number, addr: Uint8Array, flags = 0): void {
    this.pushOp(DK_OP_UDP_BIND, token, -1, 0, 0, this.addressOf(addr), flags);
  }
  /** Queue a UDP connect (default peer) of `fd` to `addr`. */
  udpConnect(token: number, fd: number, addr: Uint8Array): void {
    this.pushOp(DK_OP_UDP_CONNECT, token, fd, 0, 0, this.addressOf(addr), 0);
  }
  /** Queue a datagram receive into `buf`; `from` gets the sender. */
  recvFrom(token: number, fd: number, buf: Uint8Array, from?: Uint8Array | null): void {
    const f = from ? this.addressOf(from) : 0;
    this.pushOp(DK_OP_RECVFROM, token, fd, capLen(buf.byteLength), this.addressOf(buf), f, 0);
  }
  /** Queue a datagram send of `buf` to `to` (null on a connected socket). */
  sendTo(token: number, fd: number, buf: Uint8Array, to?: Uint8Array | null): void {
    const t = to ? this.addressOf(to) : 0;
    this.pushOp(DK_OP_SENDTO, token, fd, capLen(buf.byteLength), this.addressOf(buf), t, 0);
  }

  /**
   * The local address of socket `fd`.
   *
   * @throws {IoError} EBADF for an fd this reactor does not know.
   */
  localAddr(fd: number, transport: "tcp" | "udp" = "tcp"): SocketAddr {
    const s = this.#sock(fd, "getsockname");
    const a =
      (s.kind === "stream"
        ? s.conn.localAddr
        : s.kind === "listener"
        ? s.listener.addr
        : s.sock.addr) as Deno.NetAddr;
    return { hostname: a.hostname, port: a.port, transport };
  }

  /**
   * The peer address of socket `fd`.
   *
   * @throws {IoError} ENOTCONN when it has none, EBADF for an unknown fd.
   */
  peerAddr(fd: number, transport: "tcp" | "udp" = "tcp"): SocketAddr {
    const s = this.#sock(fd, "getpeername");
    if (s.kind === "stream") {
      const a = s.conn.remoteAddr as Deno.NetAddr;
      return { hostname: a.hostname, port: a.port, transport };
    }
    if (s.kind === "dgram" && s.peer !== null) return { ...s.peer, transport };
    throw ioErr(neg("ENOTCONN"), "getpeername");
  }

  /**
   * Set TCP_NODELAY or SO_KEEPALIVE on a connection.
   *
   * @throws {IoError} EOPNOTSUPP for another option (buffer sizes, broadcast: not in Deno's API).
   */
  setSockOpt(fd: number, option: number, value: number): void {
    const s = this.#sock(fd, "setsockopt");
    const tcp = s.kind === "stream" && s.conn.remoteAddr.transport === "tcp"
      ? s.conn as Deno.TcpConn
      : null;
    if (tcp !== null && option === DK_SOCKOPT_NODELAY) return tcp.setNoDelay(value !== 0);
    if (tcp !== null && option === DK_SOCKOPT_KEEPALIVE) return tcp.setKeepAlive(value !== 0);
    throw ioErr(E_NOTSUP, "setsockopt");
  }

  /**
   * Close socket `fd` now (its pending ops complete with `-ECANCELED`).
   *
   * @throws {IoError} EBADF for an unknown fd.
   */
  closeNow(fd: number): void {
    const r = this.#closeFd(fd);
    if (r < 0) throw ioErr(r, "close");
  }

  /**
   * Listen on a Unix path (`Deno.listen` with transport "unix"; needs --allow-read and
   * --allow-write for it).
   *
   * @throws {IoError} EOPNOTSUPP for an abstract name (Deno has none); EADDRINUSE…
   */
  unixListen(path: Uint8Array, _backlog: number): number {
    const p = unixPath(path, "bind");
    let listener: Deno.Listener;
    try {
      listener = Deno.listen({ transport: "unix", path: p });
    } catch (e) {
      if (isFlagError(e)) throw e;
      throw ioErr(errnoOf(e), "bind");
    }
    return this.#add({
      kind: "listener",
      listener,
      backlog: [],
      accepting: false,
      acceptErr: 0,
      readers: [],
    });
  }

  /**
   * Connect to a Unix path (`Deno.connect` with transport "unix").
   *
   * @throws {IoError} EOPNOTSUPP for an abstract name; the promise rejects with ENOENT…
   */
  unixConnect(path: Uint8Array): Promise<number> {
    const p = unixPath(path, "connect");
    return Deno.connect({ transport: "unix", path: p }).then((conn) => {
      if (this.#closed) {
        conn.close();
        throw new ClosedError("reactor is closed");
      }
      return this.#stream(conn);
    }, (e) => {
      if (isFlagError(e)) throw e;
      throw ioErr(errnoOf(e), "connect");
    });
  }

  /**
   * The Unix path of `fd` (or of its peer) as bytes; empty when unnamed.
   *
   * @throws {IoError} EBADF for an unknown fd, EAFNOSUPPORT for a TCP or UDP socket.
   */
  unixName(fd: number, peer: boolean): Uint8Array {
    const s = this.#sock(fd, peer ? "getpeername" : "getsockname");
    const a = s.kind === "stream"
      ? (peer ? s.conn.remoteAddr : s.conn.localAddr)
      : s.kind === "listener" && !peer
      ? s.listener.addr
      : null;
    if (a === null || a.transport !== "unix") {
      throw ioErr(neg("EAFNOSUPPORT"), peer ? "getpeername" : "getsockname");
    }
    return new TextEncoder().encode((a as Deno.UnixAddr).path ?? "");
  }

  /** @throws {IoError} EOPNOTSUPP: Unix datagrams are not in Deno's stable API. */
  unixDatagram(_path: Uint8Array | null): number {
    throw unsupported("Unix datagram sockets", "socket");
  }

  /** @throws {IoError} EOPNOTSUPP (see `unixDatagram`). */
  unixDatagramConnect(_fd: number, _path: Uint8Array): void {
    throw unsupported("Unix datagram sockets", "connect");
  }

  /** @throws {IoError} EOPNOTSUPP: Deno does not report a peer's credentials. */
  peerCred(_fd: number): PeerCred {
    throw unsupported("peer credentials", "getsockopt(SO_PEERCRED)");
  }

  /** @throws {IoError} EOPNOTSUPP: a Deno read cannot be tried without waiting. */
  tryRecv(_fd: number, _buf: Uint8Array, peek: boolean): number | null {
    throw unsupported(peek ? "peek" : "tryRead", "recv");
  }

  /** @throws {IoError} EOPNOTSUPP: a Deno write cannot be tried without waiting. */
  trySend(_fd: number, _buf: Uint8Array): number | null {
    throw unsupported("tryWrite", "send");
  }

  /** @throws {IoError} EOPNOTSUPP (net/ gathers the buffers and writes them instead). */
  trySendv(_fd: number, _bufs: readonly Uint8Array[]): number | null {
    throw unsupported("vectored sends", "sendmsg");
  }

  /** @throws {IoError} EOPNOTSUPP (see `unixDatagram`). */
  trySendToUnix(_fd: number, _buf: Uint8Array, _to: Uint8Array | null): number | null {
    throw unsupported("Unix datagram sockets", "sendto");
  }

  /** @throws {IoError} EOPNOTSUPP (see `unixDatagram`). */
  tryRecvFromUnix(_fd: number, _buf: Uint8Array): [number, Uint8Array] | null {
    throw unsupported("Unix datagram sockets", "recvfrom");
  }

  /** @throws {IoError} EOPNOTSUPP: Deno makes sockets only by listen/connect. */
  tcpSocket(_v6: boolean): number {
    throw unsupported("the TcpSocket builder", "socket");
  }

  /** @throws {IoError} EOPNOTSUPP (see `tcpSocket`). */
  bindFd(_fd: number, _addr: Uint8Array): void {
    throw unsupported("the TcpSocket builder", "bind");
  }

  /** @throws {IoError} EOPNOTSUPP (see `tcpSocket`). */
  listenFd(_fd: number, _backlog: number): void {
    throw unsupported("the TcpSocket builder", "listen");
  }

  /** @throws {IoError} EOPNOTSUPP (see `tcpSocket`). */
  connectFd(_fd: number, _addr: Uint8Array): boolean {
    throw unsupported("the TcpSocket builder", "connect");
  }

  /** @throws {IoError} EOPNOTSUPP: Deno's sockets do not expose their options. */
  getSockOpt(_fd: number, _option: number): number {
    throw unsupported("reading socket options", "getsockopt");
  }

  /** Close every socket, drop what did not complete, end a park. Idempotent. */
  close(): Promise<void> {
    this.closeSync();
    return Promise.resolve();
  }

  /** The same, synchronously. */
  closeSync(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of [...this.#socks.keys()]) this.#closeFd(fd);
    this.#done = [];
    this.#waiting.clear();
    this.#unpark();
  }

  /** `await using r = await DenoReactor.open()` closes it at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---------------------------------------------------------------- completions

  #post(token: number, result: number, op: number, flags = 0): void {
    if (this.#closed) return;
    this.#done.push(token, result, flags, op);
    // A microtask later, so completions settling in the same turn are handed out together.
    if (this.#parked !== null && this.#done.length === 4) queueMicrotask(() => this.#unpark());
  }

  #unpark(): void {
    const p = this.#parked;
    if (p !== null) p(0);
  }

  #harvest(): number {
    const d = this.#done;
    const n = Math.min(d.length / 4, this.cqCapacity);
    const u = this.cqU32;
    const i32 = this.cqI32;
    for (let i = 0; i < n; i++) {
      const b = i * CQE_WORDS;
      u[b] = d[i * 4];
      i32[b + 1] = d[i * 4 + 1];
      u[b + 2] = d[i * 4 + 2];
      u[b + 3] = d[i * 4 + 3];
    }
    this.#done = n * 4 === d.length ? [] : d.slice(n * 4);
    this.#count = n;
    return n;
  }

  /** Completions the last `poll`/`park` put in the CQ. */
  get completions(): number {
    return this.#count;
  }

  // ---------------------------------------------------------------- sockets

  #sock(fd: number, what: string): VSock {
    const s = this.#socks.get(fd);
    if (s === undefined) throw ioErr(E_BADF, what);
    return s;
  }

  #add(s: VSock): number {
    const fd = this.#nextFd++;
    this.#socks.set(fd, s);
    return fd;
  }

  #stream(conn: Deno.Conn): number {
    return this.#add({
      kind: "stream",
      conn,
      readBuf: null,
      chunk: null,
      reading: false,
      eof: false,
      readErr: 0,
      readShut: false,
      readers: [],
      writes: 0,
    });
  }

  #closeFd(fd: number): number {
    const s = this.#socks.get(fd);
    if (s === undefined) return E_BADF;
    this.#socks.delete(fd);
    for (const w of s.readers) this.#finish(w, E_CANCELED, DK_CQE_F_CANCELED);
    s.readers.length = 0;
    try {
      if (s.kind === "stream") s.conn.close();
      else if (s.kind === "listener") {
        s.listener.close();
        for (const c of s.backlog) c.close();
        s.backlog.length = 0;
      } else s.sock.close();
    } catch {
      // already closed by Deno (peer gone): nothing left to release
    }
    return 0;
  }

  #finish(w: Waiter, result: number, flags = 0): void {
    this.#waiting.delete(w.token);
    this.#post(w.token, result, w.op, flags);
  }

  #cancel(target: number): number {
    const fd = this.#waiting.get(target);
    if (fd === undefined) return E_NOENT;
    const s = this.#socks.get(fd);
    if (s === undefined) {
      // a connect in flight (no socket yet): it ends now; the late connection is closed
      this.#waiting.delete(target);
      this.#post(target, E_CANCELED, DK_OP_CONNECT, DK_CQE_F_CANCELED);
      return 0;
    }
    const i = s.readers.findIndex((w) => w.token === target);
    if (i >= 0) {
      const [w] = s.readers.splice(i, 1);
      this.#finish(w, E_CANCELED, DK_CQE_F_CANCELED);
    }
    // else: a send in flight; its real result will come
    return 0;
  }

  /** Open a socket with `make` and complete `op` with its fd, or with the -errno it threw. */
  #open(token: number, op: number, make: () => VSock): void {
    let sock: VSock;
    try {
      sock = make();
    } catch (e) {
      if (isFlagError(e)) throw e;
      return this.#post(token, errnoOf(e), op);
    }
    this.#post(token, this.#add(sock), op);
  }

  #listen(token: number, rec: Uint8Array, flags: number): void {
    const a = readAddr(rec, "tcp");
    const reusePort = (flags & DK_LISTEN_REUSEPORT) !== 0;
    this.#open(token, DK_OP_LISTEN, () => ({
      kind: "listener",
      listener: Deno.listen({
        transport: "tcp",
        hostname: a.hostname,
        port: a.port,
        ...(reusePort ? { reusePort } : {}),
      }),
      backlog: [],
      accepting: false,
      acceptErr: 0,
      readers: [],
    }));
  }

  #accept(token: number, fd: number, peer: Uint8Array | null): void {
    const s = this.#socks.get(fd);
    if (s === undefined || s.kind !== "listener") {
      return this.#post(token, s === undefined ? E_BADF : E_INVAL, DK_OP_ACCEPT);
    }
    s.readers.push({ token, op: DK_OP_ACCEPT, buf: null, addr: peer });
    this.#waiting.set(token, fd);
    this.#serveAccepts(fd, s);
  }

  #serveAccepts(fd: number, s: ListenSock): void {
    while (s.readers.length > 0 && (s.backlog.length > 0 || s.acceptErr !== 0)) {
      const w = s.readers.shift()!;
      if (s.backlog.length === 0) {
        const err = s.acceptErr;
        s.acceptErr = 0;
        this.#finish(w, err);
        continue;
      }
      const conn = s.backlog.shift()!;
      if (w.addr !== null && conn.remoteAddr.transport !== "unix") {
        const ra = conn.remoteAddr as Deno.NetAddr;
        writeAddr(w.addr, ra.hostname, ra.port);
      }
      this.#finish(w, this.#stream(conn));
    }
    if (s.readers.length === 0 || s.accepting) return;
    s.accepting = true;
    s.listener.accept().then((conn) => {
      s.accepting = false;
      if (this.#socks.get(fd) !== s) return void conn.close();
      s.backlog.push(conn);
      this.#serveAccepts(fd, s);
    }, (e) => {
      s.accepting = false;
      if (this.#socks.get(fd) !== s) return;
      s.acceptErr = errnoOf(e);
      this.#serveAccepts(fd, s);
    });
  }

  #connect(token: number, rec: Uint8Array): void {
    const a = readAddr(rec, "tcp");
    checkNet(`${a.hostname}:${a.port}`);
    this.#waiting.set(token, -1);
    Deno.connect({ transport: "tcp", hostname: a.hostname, port: a.port }).then((conn) => {
      if (this.#waiting.get(token) !== -1 || this.#closed) return void conn.close();
      this.#waiting.delete(token);
      this.#post(token, this.#stream(conn), DK_OP_CONNECT);
    }, (e) => {
      if (this.#waiting.get(token) !== -1) return;
      this.#waiting.delete(token);
      this.#post(token, errnoOf(e), DK_OP_CONNECT);
    });
  }

  #recv(token: number, fd: number, buf: Uint8Array): void {
    const s = this.#socks.get(fd);
    if (s === undefined || s.kind !== "stream") {
      return this.#post(token, s === undefined ? E_BADF : E_INVAL, DK_OP_RECV);
    }
    s.readers.push({ token, op: DK_OP_RECV, buf, addr: null });
    this.#waiting.set(token, fd);
    this.#serveReads(fd, s);
  }

  #serveReads(fd: number, s: StreamSock): void {
    while (s.readers.length > 0) {
      const w = s.readers[0];
      const kept = s.readBuf;
      if (kept !== null) {
        const n = Math.min(kept.byteLength, w.buf!.byteLength);
        w.buf!.set(kept.subarray(0, n));
        s.readBuf = n === kept.byteLength ? null : kept.subarray(n);
        s.readers.shift();
        this.#finish(w, n);
      } else if (s.eof || s.readShut || s.readErr !== 0) {
        s.readers.shift();
        const err = s.readErr;
        this.#finish(w, s.readShut || s.eof ? 0 : err);
      } else break;
    }
    if (s.readers.length === 0 || s.reading) return;
    s.reading = true;
    // The socket's own buffer (not the reader's: a cancelled reader's bytes must outlive it),
    // reused once emptied; as large as the reader asks, up to READ_CHUNK.
    const want = Math.min(READ_CHUNK, Math.max(1, s.readers[0].buf!.byteLength));
    if (s.chunk === null || s.chunk.byteLength < want) s.chunk = new Uint8Array(want);
    const chunk = s.chunk.byteLength === want ? s.chunk : s.chunk.subarray(0, want);
    s.conn.read(chunk).then((n) => {
      s.reading = false;
      if (n === null) s.eof = true;
      else s.readBuf = chunk.subarray(0, n);
      if (this.#socks.get(fd) === s) this.#serveReads(fd, s);
    }, (e) => {
      s.reading = false;
      s.readErr = errnoOf(e);
      if (this.#socks.get(fd) === s) this.#serveReads(fd, s);
    });
  }

  #send(token: number, fd: number, buf: Uint8Array): void {
    const s = this.#socks.get(fd);
    if (s === undefined || s.kind !== "stream") {
      return this.#post(token, s === undefined ? E_BADF : E_INVAL, DK_OP_SEND);
    }
    s.writes++;
    this.#waiting.set(token, fd);
    s.conn.write(buf).then((n) => {
      s.writes--;
      this.#waiting.delete(token);
      this.#post(token, n, DK_OP_SEND);
    }, (e) => {
      s.writes--;
      this.#waiting.delete(token);
      this.#post(token, this.#socks.get(fd) === s ? errnoOf(e) : E_CANCELED, DK_OP_SEND);
    });
  }

  #shutdown(token: number, fd: number, how: number): void {
    const s = this.#socks.get(fd);
    if (s === undefined || s.kind !== "stream") {
      return this.#post(token, s === undefined ? E_BADF : neg("ENOTCONN"), DK_OP_SHUTDOWN);
    }
    if (how === 0 || how === 2) {
      s.readShut = true;
      this.#serveReads(fd, s);
    }
    if (how === 0) return this.#post(token, 0, DK_OP_SHUTDOWN);
    s.conn.closeWrite().then(
      () => this.#post(token, 0, DK_OP_SHUTDOWN),
      (e) => this.#post(token, errnoOf(e), DK_OP_SHUTDOWN),
    );
  }

  #udpBind(token: number, rec: Uint8Array, flags: number): void {
    const a = readAddr(rec, "udp");
    const reuseAddress = (flags & DK_LISTEN_REUSEPORT) !== 0;
    this.#open(token, DK_OP_UDP_BIND, () => {
      if (typeof Deno.listenDatagram !== "function") {
        throw new Deno.errors.NotCapable(
          "UDP on the deno backend needs Deno's unstable net API: run again with the " +
            "--unstable-net flag",
        );
      }
      const sock = Deno.listenDatagram({
        transport: "udp",
        hostname: a.hostname,
        port: a.port,
        ...(reuseAddress ? { reuseAddress } : {}),
      });
      return { kind: "dgram", sock, queue: [], receiving: false, readers: [], peer: null };
    });
  }

  #udpConnect(token: number, fd: number, rec: Uint8Array): void {
    const s = this.#socks.get(fd);
    if (s === undefined || s.kind !== "dgram") {
      return this.#post(token, s === undefined ? E_BADF : E_INVAL, DK_OP_UDP_CONNECT);
    }
    s.peer = readAddr(rec, "udp");
    s.queue = s.queue.filter(([, from]) => samePeer(s.peer!, from));
    this.#post(token, 0, DK_OP_UDP_CONNECT);
  }

  #recvFrom(token: number, fd: number, buf: Uint8Array, from: Uint8Array | null): void {
    const s = this.#socks.get(fd);
    if (s === undefined || s.kind !== "dgram") {
      return this.#post(token, s === undefined ? E_BADF : E_INVAL, DK_OP_RECVFROM);
    }
    s.readers.push({ token, op: DK_OP_RECVFROM, buf, addr: from });
    this.#waiting.set(token, fd);
    this.#serveDatagrams(fd, s);
  }

  #serveDatagrams(fd: number, s: DgramSock): void {
    while (s.readers.length > 0 && s.queue.length > 0) {
      const w = s.readers.shift()!;
      const [data, from] = s.queue.shift()!;
      const n = Math.min(data.byteLength, w.buf!.byteLength);
      w.buf!.set(data.subarray(0, n));
      if (w.addr !== null) writeAddr(w.addr, from.hostname, from.port);
      this.#finish(w, n);
    }
    if (s.readers.length === 0 || s.receiving) return;
    s.receiving = true;
    s.sock.receive().then(([data, from]) => {
      s.receiving = false;
      if (this.#socks.get(fd) !== s) return;
      const f = from as Deno.NetAddr;
      if (s.peer === null || samePeer(s.peer, f)) s.queue.push([data, f]);
      this.#serveDatagrams(fd, s);
    }, (e) => {
      s.receiving = false;
      if (this.#socks.get(fd) !== s) return;
      const w = s.readers.shift();
      if (w !== undefined) this.#finish(w, errnoOf(e));
      this.#serveDatagrams(fd, s);
    });
  }

  #sendTo(token: number, fd: number, buf: Uint8Array, to: Uint8Array | null): void {
    const s = this.#socks.get(fd);
    if (s === undefined || s.kind !== "dgram") {
      return this.#post(token, s === undefined ? E_BADF : E_INVAL, DK_OP_SENDTO);
    }
    const dest = to !== null ? readAddr(to, "udp") : s.peer;
    if (dest === null) return this.#post(token, neg("EDESTADDRREQ"), DK_OP_SENDTO);
    this.#waiting.set(token, fd);
    s.sock.send(buf, { transport: "udp", hostname: dest.hostname, port: dest.port }).then(
      (n) => {
        this.#waiting.delete(token);
        this.#post(token, n, DK_OP_SENDTO);
      },
      (e) => {
        this.#waiting.delete(token);
        this.#post(token, errnoOf(e), DK_OP_SENDTO);
      },
    );
  }
}

function samePeer(a: SocketAddr, b: Deno.NetAddr): boolean {
  return a.port === b.port && a.hostname === b.hostname;
}

/** What a feature the deno backend lacks throws: EOPNOTSUPP, naming the feature and the fix. */
function unsupported(what: string, op: string): IoError {
  const n = -neg("EOPNOTSUPP");
  return new IoError(
    n,
    "EOPNOTSUPP",
    op,
    `${what}: not supported on the deno backend (use the io_uring, epoll or kqueue backend)`,
  );
}

/** The path of a Unix address for Deno's API; abstract names are refused. */
function unixPath(path: Uint8Array, op: string): string {
  if (path.byteLength > 0 && path[0] === 0) throw unsupported("abstract Unix socket names", op);
  return new TextDecoder().decode(path);
}

function ioErr(result: number, op: string): IoError {
  const n = -result;
  return new IoError(n, ERRNO_NAMES.get(n) ?? "E?", op);
}

/** Deno.connect rejects later for want of --allow-net; say so now, naming the flag. */
function checkNet(host: string): void {
  let state: Deno.PermissionState = "granted";
  try {
    state = Deno.permissions.querySync({ name: "net", host }).state;
  } catch {
    return;
  }
  if (state !== "granted") {
    throw new Deno.errors.NotCapable(
      `Requires net access to "${host}", run again with the --allow-net flag`,
    );
  }
}
