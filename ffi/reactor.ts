/**
 * `Reactor`: the thin TypeScript face of one C reactor handle.
 *
 * It owns the submission (SQ) and completion (CQ) buffers registered with
 * `dk_create`, and beside each an address region of one `dk_addr` record per
 * SQ / CQ record. Socket addresses never travel as pointers: a writer copies
 * an input address (listen, connect, udpBind, udpConnect, sendTo) into the SQ
 * address record of its SQ slot, and an output one (accept's peer, recvFrom's
 * sender) comes back in the CQ address record of its completion, which
 * `poll`/`park` copy into the caller's record (zeroed when none came). So the
 * C side never reads or writes an address outside memory it was registered. Writers (`recv`, `send`, `accept`… or the raw `pushOp`) put
 * one 40-byte record into the next SQ slot — numbers only, 64-bit fields as
 * two u32 halves, no allocation — and `flush`, `poll` or `park` hand the batch
 * to C in one call. `poll(timeoutMs)` and `park(timeoutMs)` refill the CQ from
 * slot 0; read it with `cqToken(i)`, `cqResult(i)`, `cqFlags(i)`, `cqOp(i)`
 * (or the `cqU32`/`cqI32` views) before the next `poll`/`park`.
 *
 * Names: the op writers for close and poll are `closeFd` and `pollFd`, because
 * `close()` closes the reactor and `poll()` collects completions; the file open
 * writer is `openFile` (`Reactor.open` makes a reactor).
 *
 * Invariants:
 * - At most one `park` is in flight (a `nonblocking` FFI call on a helper
 *   thread). While it is, every method except `wake` and `close` throws, so
 *   no other call on the handle runs concurrently with `dk_wait`.
 * - After `close()` every method throws `ClosedError("reactor is closed")`,
 *   except `wake` (a no-op) and `close` (idempotent). `close` wakes an in-flight
 *   park, waits for it to return, then calls `dk_destroy`: nothing of the
 *   reactor is left pending, so it never keeps the process alive. An idle
 *   reactor (no park in flight) holds no pending call at all.
 * - The Reactor does not keep I/O buffers alive: a buffer (or path) handed to
 *   a writer must stay referenced by the caller until its completion arrives
 *   or `close()` has returned. The runtime's I/O slab entry holds it for that
 *   long, also when the waiting task is cancelled. An output `dk_addr` record
 *   is held by the Reactor until its completion.
 * - Tokens of pending accept/recvFrom ops that ask for an address are unique
 *   (the address is matched to its record by token).
 * - A Reactor dropped without `close()` is destroyed by a FinalizationRegistry:
 *   a safety net for fds, not a substitute for `close`. Its held value keeps
 *   the SQ, CQ and address regions alive until `dk_destroy` returns; it cannot
 *   keep the I/O buffers of ops still pending (they may be collected with the
 *   Reactor, and io_uring may write one before the finalizer runs), so a
 *   Reactor with ops in flight must be closed, never just dropped.
 *
 * Costs measured here (bench/reactor_bench.ts, Deno 2.9): writing a record with
 * u32 halves ~9 ns against ~34 ns through a BigUint64Array; `nop` push ~7 ns,
 * `recv` push ~26 ns (the `pointerOf` WeakMap lookup; `UnsafePointer.of` plus
 * `value` costs ~1 µs); `poll(0)` with nothing to do ~25 ns over io_uring.
 *
 * @module
 */

import { ClosedError, errnoName, IoError, ioError } from "./errors.ts";
import {
  ADDR_SIZE,
  BACKEND_NAMES,
  CQE_SIZE,
  CQE_WORDS,
  DK_ARG_ADDR,
  DK_CQE_F_ADDR,
  DK_FILE_WORKERS_MAX,
  DK_MAX_LEN,
  DK_OP_ACCEPT,
  DK_OP_CANCEL,
  DK_OP_CLOSE,
  DK_OP_CONNECT,
  DK_OP_LISTEN,
  DK_OP_NOP,
  DK_OP_OPEN,
  DK_OP_POLL,
  DK_OP_READ,
  DK_OP_RECV,
  DK_OP_RECVFROM,
  DK_OP_SEND,
  DK_OP_SENDTO,
  DK_OP_SHUTDOWN,
  DK_OP_UDP_BIND,
  DK_OP_UDP_CONNECT,
  DK_OP_WRITE,
  isNativeBackend,
  type NativeBackend,
  SQE_SIZE,
  SQE_WORDS,
} from "./layout.ts";
import { type Library, openLibrary, readEnv } from "./library.ts";
import { pointerOf } from "./pointer.ts";
import {
  bindFd,
  closeNow,
  connectFd,
  getSockOpt,
  listenFd,
  localAddr,
  peerAddr,
  setSockOpt,
  tcpSocket,
} from "./socket.ts";
import { type PeerCred, peerCred, unixBind, unixConnect, unixName, unixSocket } from "./unix.ts";
import { tryRecv, tryRecvFromUnix, trySend, trySendToUnix, trySendv } from "./try_io.ts";
import type { SocketAddr } from "./layout.ts";

/**
 * The fields of one submission record, in `pushOp`'s order.
 *
 * @example
 * ```ts
 * import type { OpRecord } from "./reactor.ts";
 * import { DK_OP_NOP } from "./layout.ts";
 * const nop: OpRecord = [DK_OP_NOP, 42, -1, 0, 0, 0, 0];
 * console.log(nop.length); // 7
 * ```
 */
export type OpRecord = [
  op: number,
  token: number,
  fd: number,
  len: number,
  addr: number,
  arg: number,
  flags: number,
];

/**
 * What the I/O driver and the net ops need of a reactor: the native {@linkcode Reactor} over the
 * C library, or the portable `DenoReactor` (runtime/io/deno_reactor.ts) over Deno's sockets.
 * Records carry buffers by `addressOf` (a real address natively, a virtual one on Deno) and
 * sockets by fd (a real one natively, a virtual one on Deno); the synchronous socket helpers
 * (`localAddr`, `peerAddr`, `setSockOpt`, `closeNow`) go through the reactor for that reason.
 *
 * @example
 * ```ts ignore
 * // Not run: an interface sketch; Reactor (here) and DenoReactor implement it, and their examples run.
 * import type { IoReactor } from "./reactor.ts";
 * function echoOnce(r: IoReactor, fd: number, buf: Uint8Array) {
 *   r.recv(1, fd, buf);
 * }
 * ```
 */
export interface IoReactor {
  /** The backend in use ("io_uring", "epoll", "kqueue" or "deno"). */
  readonly backend: string;
  /** True once `close()` has been called. */
  readonly closed: boolean;
  /** True while a `park()` is in flight. */
  readonly parked: boolean;
  /** Completion records one poll/park can return. */
  readonly cqCapacity: number;
  /** The completion buffer as u32 words (token, result, flags, op per record). */
  readonly cqU32: Uint32Array;
  /** The completion buffer as i32 words. */
  readonly cqI32: Int32Array;
  /** The number a record carries for `view`'s first byte. */
  addressOf(view: ArrayBufferView): number;
  /** Write one raw record (see `Reactor.pushOp`). */
  pushOp(...record: OpRecord): void;
  /** Hand queued records over without waiting. */
  flush(): number;
  /** Submit and collect completions (native: waiting up to `timeoutMs`). */
  poll(timeoutMs?: number): number;
  /** Submit and wait without blocking the isolate. */
  park(timeoutMs: number): Promise<number>;
  /** End a park early. */
  wake(): void;
  /** Release the reactor. */
  close(): Promise<void>;
  /** Queue a no-op. */
  nop(token: number): void;
  /** Queue a receive. */
  recv(token: number, fd: number, buf: Uint8Array): void;
  /** Queue a send. */
  send(token: number, fd: number, buf: Uint8Array, offset?: number, length?: number): void;
  /** Queue an accept. */
  accept(token: number, fd: number, peer?: Uint8Array | null): void;
  /** Queue a TCP connect. */
  connect(token: number, addr: Uint8Array): void;
  /** Queue bind + listen. */
  listen(token: number, addr: Uint8Array, backlog?: number, flags?: number): void;
  /** Queue a close. */
  closeFd(token: number, fd: number): void;
  /** Queue a cancel of the op with token `target`. */
  cancel(token: number, target: number): void;
  /** Queue a shutdown. */
  shutdown(token: number, fd: number, how: number): void;
  /** Queue a UDP bind. */
  udpBind(token: number, addr: Uint8Array, flags?: number): void;
  /** Queue a UDP connect. */
  udpConnect(token: number, fd: number, addr: Uint8Array): void;
  /** Queue a datagram receive. */
  recvFrom(token: number, fd: number, buf: Uint8Array, from?: Uint8Array | null): void;
  /** Queue a datagram send. */
  sendTo(token: number, fd: number, buf: Uint8Array, to?: Uint8Array | null): void;
  /** The local address of socket `fd`. */
  localAddr(fd: number, transport?: "tcp" | "udp"): SocketAddr;
  /** The peer address of socket `fd`. */
  peerAddr(fd: number, transport?: "tcp" | "udp"): SocketAddr;
  /** Set a socket option (`DK_SOCKOPT_*`). */
  setSockOpt(fd: number, option: number, value: number): void;
  /** Close socket `fd` now, outside any op. */
  closeNow(fd: number): void;

  // Socket helpers beyond the records (ffi/unix.ts, ffi/try_io.ts, ffi/socket.ts). A backend
  // without one throws an IoError with code "EOPNOTSUPP" whose message says so.
  /** Listen on a Unix address (raw bytes: a path, or an abstract name led by a 0 byte). */
  unixListen(path: Uint8Array, backlog: number): number;
  /** Connect to a Unix address: the fd, null when the backlog is full (retry), or a promise. */
  unixConnect(path: Uint8Array): number | null | Promise<number>;
  /** A Unix datagram socket bound to `path` (null: unbound). */
  unixDatagram(path: Uint8Array | null): number;
  /** Set a Unix datagram socket's default peer. */
  unixDatagramConnect(fd: number, path: Uint8Array): void;
  /** The Unix address of `fd` (its own, or its peer's) as raw bytes; empty when unnamed. */
  unixName(fd: number, peer: boolean): Uint8Array;
  /** The credentials of the peer of a connected Unix socket. */
  peerCred(fd: number): PeerCred;
  /** One nonblocking recv (peek: leave the bytes queued); null when none are ready. */
  tryRecv(fd: number, buf: Uint8Array, peek: boolean): number | null;
  /** One nonblocking send; null when the send buffer is full. */
  trySend(fd: number, buf: Uint8Array): number | null;
  /** One nonblocking gathering send; null when the send buffer is full. */
  trySendv(fd: number, bufs: readonly Uint8Array[]): number | null;
  /** One nonblocking datagram to a Unix address (null: the connected peer). */
  trySendToUnix(fd: number, buf: Uint8Array, to: Uint8Array | null): number | null;
  /** One nonblocking datagram and its sender's Unix address; null when none. */
  tryRecvFromUnix(fd: number, buf: Uint8Array): [number, Uint8Array] | null;
  /** A new nonblocking TCP socket (IPv6 when `v6`). */
  tcpSocket(v6: boolean): number;
  /** Bind `fd` to a `dk_addr` record. */
  bindFd(fd: number, addr: Uint8Array): void;
  /** listen(2) on `fd`. */
  listenFd(fd: number, backlog: number): void;
  /** Start a connect of `fd`: true when connected, false when in progress. */
  connectFd(fd: number, addr: Uint8Array): boolean;
  /** Read a socket option (`DK_SOCKOPT_*`). */
  getSockOpt(fd: number, option: number): number;
}

/**
 * Options of {@linkcode Reactor.open}.
 *
 * @example
 * ```ts
 * import { Reactor, type ReactorOptions } from "./reactor.ts";
 * import assert from "node:assert/strict";
 * const options: ReactorOptions = { backend: "epoll", sqCapacity: 1024, cqCapacity: 1024 };
 * const r = await Reactor.open(options);
 * assert.equal(r.backend, "epoll");
 * await r.close();
 * ```
 */
export interface ReactorOptions {
  /** Backend to use; default `DOKIO_BACKEND` from the environment, else "auto". */
  backend?: NativeBackend;
  /** Ring size hint for the C side (1..32768, 0 = the library's default 256). */
  entries?: number;
  /** Submission records per batch (1..65536, default 256); a full SQ is flushed. */
  sqCapacity?: number;
  /** Completion records one poll/park can return (1..65536, default 256). */
  cqCapacity?: number;
  /**
   * Most threads of the file pool (1..`DK_FILE_WORKERS_MAX`, default `DK_FILE_WORKERS_DEFAULT`):
   * on epoll/kqueue they run opens and regular-file I/O, one job per thread at a time (jobs on
   * one fd in order). io_uring does file I/O in the kernel and ignores it.
   */
  fileWorkers?: number;
  /** Load the library from this path instead of discovering it. */
  libPath?: string;
}

const OPEN = 0;
const PARKED = 1;
const CLOSED = 2;
const TWO32 = 4294967296;
const MAX_CAPACITY = 65536;

/** Frees the C handle of a Reactor that was dropped without `close()`. */
const finalizer = new FinalizationRegistry<
  { destroy: (h: number) => number; handle: number; regions: ArrayBuffer[] }
>(
  (held) => {
    held.destroy(held.handle);
  },
);

/**
 * One C reactor handle with its submission and completion buffers.
 *
 * @example
 * ```ts
 * import { Reactor } from "./reactor.ts";
 * import assert from "node:assert/strict";
 * const r = await Reactor.open({ backend: "epoll" });
 * r.nop(7);
 * const n = r.poll(100); // submit the batch and wait up to 100 ms
 * assert.equal(n, 1);
 * assert.deepEqual([r.cqToken(0), r.cqResult(0)], [7, 0]);
 * await r.close();
 * ```
 */
export class Reactor implements IoReactor {
  /** The process-global C handle id (what `dk_wake` takes, also from another Worker). */
  readonly handle: number;
  /** The library this reactor lives in. */
  readonly library: Library;
  /** Capacity of the submission buffer, in records. */
  readonly sqCapacity: number;
  /** Capacity of the completion buffer, in records. */
  readonly cqCapacity: number;
  /**
   * The completion buffer as u32 words: record `i` has its token at `[4i]`,
   * flags at `[4i + 2]`, op at `[4i + 3]`. Valid up to the count the last
   * `poll`/`park` returned, until the next one; never read it while parked.
   */
  readonly cqU32: Uint32Array;
  /** The completion buffer as i32 words: record `i`'s result is at `[4i + 1]`. */
  readonly cqI32: Int32Array;

  #sq: Uint32Array;
  #sqAddr: Uint8Array;
  #cqAddr: Uint8Array;
  /** Output address records of pending accept/recvFrom ops, by token. */
  #addrWaiters = new Map<number, Uint8Array>();
  #sqLen = 0;
  #count = 0;
  #state = OPEN;
  #destroyed = false;
  #parkPromise: Promise<number> | null = null;
  #closePromise: Promise<void> | null = null;
  #backend: NativeBackend;
  // Bound symbols, cached so the hot path is a field load and a fast call.
  #submit: (h: number, n: number) => number;
  #enter: (h: number, n: number, t: number) => number;
  #waitNb: (h: number, t: number) => Promise<number>;
  #wake: (h: number) => number;
  #pending: (h: number) => number;
  #destroy: (h: number) => number;
  #token: object = {};

  private constructor(
    library: Library,
    handle: number,
    sq: ArrayBuffer,
    sqCap: number,
    cq: ArrayBuffer,
    cqCap: number,
    sqAddr: ArrayBuffer,
    cqAddr: ArrayBuffer,
  ) {
    const s = library.symbols;
    this.library = library;
    this.handle = handle;
    this.sqCapacity = sqCap;
    this.cqCapacity = cqCap;
    this.#sq = new Uint32Array(sq);
    this.#sqAddr = new Uint8Array(sqAddr);
    this.#cqAddr = new Uint8Array(cqAddr);
    this.cqU32 = new Uint32Array(cq);
    this.cqI32 = new Int32Array(cq);
    this.#submit = s.dk_submit;
    this.#enter = s.dk_enter;
    this.#waitNb = s.dk_wait_nb;
    this.#wake = s.dk_wake;
    this.#pending = s.dk_pending;
    this.#destroy = s.dk_destroy;
    const id = s.dk_backend(handle);
    this.#backend = id >= 0 && id < BACKEND_NAMES.length ? BACKEND_NAMES[id] : "auto";
    // The SQ/CQ ArrayBuffers are held by this object; the finalizer's held value
    // must not reference it.
    finalizer.register(
      this,
      { destroy: s.dk_destroy, handle, regions: [sq, cq, sqAddr, cqAddr] },
      this.#token,
    );
  }

  /**
   * Load the library (see `openLibrary`) and create a reactor.
   *
   * @throws {TypeError} for an unknown backend name (option or `DOKIO_BACKEND`).
   * @throws {RangeError} for capacities or entries out of range.
   * @throws {IoError} when the backend is unavailable here (message says so) or creation fails.
   * @example
   * ```ts
   * import { Reactor } from "./reactor.ts";
   * import assert from "node:assert/strict";
   * const r = await Reactor.open({ backend: "auto", cqCapacity: 1024 }); // io_uring where the kernel allows it
   * assert.ok(r.backend === "io_uring" || r.backend === "epoll" || r.backend === "kqueue");
   * await r.close();
   * ```
   */
  static async open(options: ReactorOptions = {}): Promise<Reactor> {
    const fromEnv = options.backend === undefined;
    const name: string = options.backend ?? readEnv("DOKIO_BACKEND") ?? "auto";
    if (!isNativeBackend(name)) {
      throw new TypeError(
        `unknown reactor backend ${JSON.stringify(name)}${fromEnv ? " (from DOKIO_BACKEND)" : ""}` +
          `; expected one of ${BACKEND_NAMES.join(", ")}`,
      );
    }
    const entries = checkInt("entries", options.entries ?? 0, 0, 32768);
    const sqCap = checkInt("sqCapacity", options.sqCapacity ?? 256, 1, MAX_CAPACITY);
    const cqCap = checkInt("cqCapacity", options.cqCapacity ?? 256, 1, MAX_CAPACITY);
    const fileWorkers = options.fileWorkers === undefined
      ? undefined
      : checkInt("fileWorkers", options.fileWorkers, 1, DK_FILE_WORKERS_MAX);
    const library = await openLibrary(
      options.libPath === undefined ? {} : { path: options.libPath },
    );
    const sq = new ArrayBuffer(sqCap * SQE_SIZE);
    const cq = new ArrayBuffer(cqCap * CQE_SIZE);
    const sqAddr = new ArrayBuffer(sqCap * ADDR_SIZE);
    const cqAddr = new ArrayBuffer(cqCap * ADDR_SIZE);
    const h = library.symbols.dk_create(
      BACKEND_NAMES.indexOf(name),
      entries,
      new Uint8Array(sq),
      sqCap,
      new Uint8Array(cq),
      cqCap,
      new Uint8Array(sqAddr),
      new Uint8Array(cqAddr),
    );
    if (h < 0) {
      const code = errnoName(-h);
      if (code === "ENOSYS" || code === "EPERM" || code === "EOPNOTSUPP" || code === "EACCES") {
        throw new IoError(
          -h,
          code,
          "dk_create",
          `reactor backend "${name}" is unavailable on this host (${code})`,
        );
      }
      throw ioError(h, "dk_create");
    }
    if (fileWorkers !== undefined) {
      const v = library.symbols.dk_file_workers(h, fileWorkers);
      if (v < 0) {
        library.symbols.dk_destroy(h);
        throw ioError(v, "dk_file_workers");
      }
    }
    return new Reactor(library, h, sq, sqCap, cq, cqCap, sqAddr, cqAddr);
  }

  /** The backend actually in use ("io_uring", "epoll" or "kqueue"). */
  get backend(): NativeBackend {
    return this.#backend;
  }

  /** True once `close()` has been called. */
  get closed(): boolean {
    return this.#state === CLOSED;
  }

  /** True while a `park()` is in flight. */
  get parked(): boolean {
    return this.#state === PARKED;
  }

  /** Records written to the SQ and not yet handed to C. */
  get queued(): number {
    return this.#sqLen;
  }

  /** Completions the last `poll`/`park` put in the CQ. */
  get completions(): number {
    return this.#count;
  }

  /**
   * Operations submitted to C and not yet completed (`dk_pending`).
   *
   * @example
   * ```ts
   * import { Reactor } from "./reactor.ts";
   * import assert from "node:assert/strict";
   * const r = await Reactor.open({ backend: "epoll" });
   * r.nop(1);
   * r.flush();
   * assert.equal(r.pending, 1); // until a poll collects it
   * r.poll(100);
   * assert.equal(r.pending, 0);
   * await r.close();
   * ```
   */
  get pending(): number {
    if (this.#state !== OPEN) this.#refuse();
    const n = this.#pending(this.handle);
    if (n < 0) throw ioError(n, "dk_pending");
    return n;
  }

  /**
   * Write one raw record into the next SQ slot, flushing first when the SQ is
   * full, and return that slot's index. `addr` and `arg` are numbers below
   * 2^53 (`arg` may be negative, e.g. a file offset of -1). Bad field values
   * for an op are not checked here: the C side completes such a record with
   * `-errno` under its token. An op with a socket address takes `arg` =
   * `DK_ARG_ADDR` and its address in the SQ address record of the returned
   * index; use the typed writers (`connect`, `accept`…), which do that.
   *
   * @throws {TypeError} when a field is not an integer of its C type's range.
   * @example
   * ```ts
   * import { DK_OP_NOP } from "./layout.ts";
   * import { Reactor } from "./reactor.ts";
   * import assert from "node:assert/strict";
   * const r = await Reactor.open({ backend: "epoll" });
   * r.pushOp(DK_OP_NOP, 42, -1, 0, 0, 0, 0);
   * assert.equal(r.poll(100), 1);
   * assert.equal(r.cqToken(0), 42);
   * await r.close();
   * ```
   */
  pushOp(
    op: number,
    token: number,
    fd: number,
    len: number,
    addr: number,
    arg: number,
    flags: number,
  ): number {
    if (this.#state !== OPEN) this.#refuse();
    if (
      (op & 0xff) !== op || (token >>> 0) !== token || (fd | 0) !== fd ||
      (len >>> 0) !== len || (flags & 0xffff) !== flags ||
      !(addr >= 0 && addr <= Number.MAX_SAFE_INTEGER && Math.floor(addr) === addr) ||
      !(Math.abs(arg) <= Number.MAX_SAFE_INTEGER && Math.floor(arg) === arg)
    ) {
      badRecord(op, token, fd, len, addr, arg, flags);
    }
    if (this.#sqLen === this.sqCapacity) this.flush();
    const u = this.#sq;
    const slot = this.#sqLen++;
    const b = slot * SQE_WORDS;
    u[b] = token;
    u[b + 1] = op | (flags << 16);
    u[b + 2] = fd;
    u[b + 3] = len;
    u[b + 4] = addr >>> 0;
    u[b + 5] = (addr / TWO32) >>> 0;
    u[b + 6] = arg >>> 0;
    u[b + 7] = Math.floor(arg / TWO32) >>> 0;
    return slot;
  }

  /** Queue an op with an input address: the record's arg says so, the address goes beside it. */
  #pushAddrIn(
    op: number,
    token: number,
    fd: number,
    len: number,
    addr: number,
    rec: Uint8Array,
    flags: number,
  ): void {
    const bytes = addrBytes(rec);
    const slot = this.pushOp(op, token, fd, len, addr, DK_ARG_ADDR, flags);
    this.#sqAddr.set(bytes, slot * ADDR_SIZE);
  }

  /** Queue an op that reports an address into `rec` (when given) at its completion. */
  #pushAddrOut(
    op: number,
    token: number,
    fd: number,
    len: number,
    addr: number,
    rec: Uint8Array | null | undefined,
  ): void {
    if (!rec) {
      this.pushOp(op, token, fd, len, addr, 0, 0);
      return;
    }
    addrBytes(rec);
    this.pushOp(op, token, fd, len, addr, DK_ARG_ADDR, 0);
    this.#addrWaiters.set(token, rec);
  }

  /** Copy the addresses the first n completions carry into their waiting records. */
  #deliverAddrs(n: number): void {
    const u32 = this.cqU32;
    const waiters = this.#addrWaiters;
    for (let i = 0; i < n; i++) {
      const b = i * CQE_WORDS;
      const op = u32[b + 3];
      if (op !== DK_OP_ACCEPT && op !== DK_OP_RECVFROM) continue;
      const rec = waiters.get(u32[b]);
      if (rec === undefined) continue;
      waiters.delete(u32[b]);
      if (u32[b + 2] & DK_CQE_F_ADDR) {
        rec.set(this.#cqAddr.subarray(i * ADDR_SIZE, (i + 1) * ADDR_SIZE));
      } else {
        rec.fill(0, 0, ADDR_SIZE);
      }
    }
  }

  /**
   * Hand the queued records to C (`dk_submit`) without waiting. Returns how
   * many were submitted; each will complete, invalid ones with `-errno`.
   *
   * @throws {IoError} when `dk_submit` fails as a whole (bad handle).
   * @example
   * ```ts
   * import { Reactor } from "./reactor.ts";
   * import assert from "node:assert/strict";
   * const r = await Reactor.open({ backend: "epoll" });
   * r.nop(1);
   * assert.equal(r.flush(), 1);
   * await r.close();
   * ```
   */
  flush(): number {
    if (this.#state !== OPEN) this.#refuse();
    const n = this.#sqLen;
    if (n === 0) return 0;
    this.#sqLen = 0;
    const r = this.#submit(this.handle, n);
    if (r < 0) throw ioError(r, "dk_submit");
    return r;
  }

  /**
   * Submit the queued records and collect completions, waiting up to
   * `timeoutMs` (0 = do not wait, -1 = forever; this blocks the thread, so
   * keep it short — use `park` to wait without blocking). Returns the number
   * of completions now in the CQ (slots 0..n-1).
   *
   * @throws {RangeError} when `timeoutMs` is not an integer ≥ -1.
   * @throws {IoError} when `dk_enter` fails.
   * @example
   * ```ts
   * import { Reactor } from "./reactor.ts";
   * import assert from "node:assert/strict";
   * const r = await Reactor.open({ backend: "epoll" });
   * r.nop(3);
   * const n = r.poll(0);
   * const seen: number[] = [];
   * for (let i = 0; i < n; i++) seen.push(r.cqToken(i));
   * assert.deepEqual(seen, [3]);
   * await r.close();
   * ```
   */
  poll(timeoutMs = 0): number {
    if (this.#state !== OPEN) this.#refuse();
    if ((timeoutMs | 0) !== timeoutMs || timeoutMs < -1) badTimeout(timeoutMs);
    const n = this.#sqLen;
    this.#sqLen = 0;
    const r = this.#enter(this.handle, n, timeoutMs);
    if (r < 0) {
      this.#count = 0;
      throw ioError(r, "dk_enter");
    }
    if (this.#addrWaiters.size > 0) this.#deliverAddrs(r);
    this.#count = r;
    return r;
  }

  /**
   * Submit the queued records, then wait without blocking the isolate (a
   * `nonblocking` `dk_wait` on a helper thread) for up to `timeoutMs` or until
   * `wake()`. Resolves with the number of completions in the CQ. While it is in
   * flight, only `wake()` and `close()` may be called.
   *
   * @throws {Error} when a park is already in flight; {@linkcode RangeError} for a bad timeout.
   * @example
   * ```ts
   * import { Reactor } from "./reactor.ts";
   * import assert from "node:assert/strict";
   * const r = await Reactor.open({ backend: "epoll" });
   * r.nop(5);
   * const n = await r.park(1000); // woken early by r.wake() from anywhere
   * assert.equal(n, 1);
   * await r.close();
   * ```
   */
  park(timeoutMs: number): Promise<number> {
    if (this.#state !== OPEN) this.#refuse();
    if ((timeoutMs | 0) !== timeoutMs || timeoutMs < -1) badTimeout(timeoutMs);
    this.flush();
    this.#state = PARKED;
    this.#count = 0;
    const p = this.#waitNb(this.handle, timeoutMs).then((r) => {
      this.#unpark();
      if (r < 0) throw ioError(r, "dk_wait");
      if (this.#addrWaiters.size > 0) this.#deliverAddrs(r);
      this.#count = r;
      return r;
    }, (e) => {
      this.#unpark();
      throw e;
    });
    this.#parkPromise = p;
    return p;
  }

  /**
   * End a blocked wait (a `park` in flight, or one about to start) early. Safe
   * to call at any time; a no-op once the reactor is destroyed. Another Worker
   * can do the same by calling the library's `dk_wake(handle)`.
   *
   * @example
   * ```ts
   * import { Reactor } from "./reactor.ts";
   * import assert from "node:assert/strict";
   * const r = await Reactor.open({ backend: "epoll" });
   * const t0 = performance.now();
   * const p = r.park(10_000);
   * r.wake();
   * await p; // returns at once
   * assert.ok(performance.now() - t0 < 5_000);
   * await r.close();
   * ```
   */
  wake(): void {
    if (this.#destroyed) return;
    this.#wake(this.handle);
  }

  /** Token of completion `i` (0 ≤ i < the count `poll`/`park` returned). */
  cqToken(i: number): number {
    if (this.#state !== OPEN) this.#refuse();
    return this.cqU32[i * CQE_WORDS];
  }

  /** Result of completion `i`: ≥ 0 on success, `-errno` on failure. */
  cqResult(i: number): number {
    if (this.#state !== OPEN) this.#refuse();
    return this.cqI32[i * CQE_WORDS + 1];
  }

  /** Flags of completion `i` (`DK_CQE_F_*`). */
  cqFlags(i: number): number {
    if (this.#state !== OPEN) this.#refuse();
    return this.cqU32[i * CQE_WORDS + 2];
  }

  /** Op code of completion `i` (`DK_OP_*`). */
  cqOp(i: number): number {
    if (this.#state !== OPEN) this.#refuse();
    return this.cqU32[i * CQE_WORDS + 3];
  }

  /** The address of `view`'s first byte (`pointerOf`). */
  addressOf(view: ArrayBufferView): number {
    return pointerOf(view);
  }

  /** The local address of socket `fd` (getsockname). */
  localAddr(fd: number, transport: "tcp" | "udp" = "tcp"): SocketAddr {
    return localAddr(this.library, fd, transport);
  }

  /** The peer address of socket `fd` (getpeername). */
  peerAddr(fd: number, transport: "tcp" | "udp" = "tcp"): SocketAddr {
    return peerAddr(this.library, fd, transport);
  }

  /** Set a socket option (`DK_SOCKOPT_*`) on `fd`. */
  setSockOpt(fd: number, option: number, value: number): void {
    setSockOpt(this.library, fd, option, value);
  }

  /** close(2) `fd` now (for fds no op is using). */
  closeNow(fd: number): void {
    closeNow(this.library, fd);
  }

  /** A Unix stream socket bound to `path` and listening (see `IoReactor.unixListen`). */
  unixListen(path: Uint8Array, backlog: number): number {
    const fd = unixSocket(this.library, true);
    return this.#setUp(fd, () => {
      unixBind(this.library, fd, path);
      listenFd(this.library, fd, backlog);
    });
  }

  /** A Unix stream socket connected to `path`; null when the listener's backlog is full. */
  unixConnect(path: Uint8Array): number | null {
    const fd = unixSocket(this.library, true);
    let ok = false;
    this.#setUp(fd, () => {
      ok = unixConnect(this.library, fd, path, true);
    });
    if (ok) return fd;
    closeNow(this.library, fd);
    return null;
  }

  /** A Unix datagram socket, bound to `path` unless null. */
  unixDatagram(path: Uint8Array | null): number {
    const fd = unixSocket(this.library, false);
    return this.#setUp(fd, () => {
      if (path !== null) unixBind(this.library, fd, path);
    });
  }

  /** Set the default peer of Unix datagram socket `fd`. */
  unixDatagramConnect(fd: number, path: Uint8Array): void {
    unixConnect(this.library, fd, path, false);
  }

  /** The Unix address of `fd` (or of its peer). */
  unixName(fd: number, peer: boolean): Uint8Array {
    return unixName(this.library, fd, peer);
  }

  /** The peer's credentials (SO_PEERCRED; getpeereid on macOS). */
  peerCred(fd: number): PeerCred {
    return peerCred(this.library, fd);
  }

  /** One nonblocking recv; null when none are ready. */
  tryRecv(fd: number, buf: Uint8Array, peek: boolean): number | null {
    return tryRecv(this.library, fd, buf, peek);
  }

  /** One nonblocking send; null when the send buffer is full. */
  trySend(fd: number, buf: Uint8Array): number | null {
    return trySend(this.library, fd, buf);
  }

  /** One nonblocking gathering send; null when the send buffer is full. */
  trySendv(fd: number, bufs: readonly Uint8Array[]): number | null {
    return trySendv(this.library, fd, bufs);
  }

  /** One nonblocking datagram to a Unix address. */
  trySendToUnix(fd: number, buf: Uint8Array, to: Uint8Array | null): number | null {
    return trySendToUnix(this.library, fd, buf, to);
  }

  /** One nonblocking datagram from a Unix datagram socket. */
  tryRecvFromUnix(fd: number, buf: Uint8Array): [number, Uint8Array] | null {
    return tryRecvFromUnix(this.library, fd, buf);
  }

  /** A new nonblocking TCP socket. */
  tcpSocket(v6: boolean): number {
    return tcpSocket(this.library, v6);
  }

  /** Bind `fd` to a `dk_addr` record. */
  bindFd(fd: number, addr: Uint8Array): void {
    bindFd(this.library, fd, addr);
  }

  /** listen(2) on `fd`. */
  listenFd(fd: number, backlog: number): void {
    listenFd(this.library, fd, backlog);
  }

  /** Start connecting `fd`: true when connected, false when in progress. */
  connectFd(fd: number, addr: Uint8Array): boolean {
    return connectFd(this.library, fd, addr);
  }

  /** Read a socket option. */
  getSockOpt(fd: number, option: number): number {
    return getSockOpt(this.library, fd, option);
  }

  /** Run `steps` on the new socket `fd`; close it if they throw. */
  #setUp(fd: number, steps: () => void): number {
    try {
      steps();
    } catch (e) {
      closeNow(this.library, fd);
      throw e;
    }
    return fd;
  }

  /** Queue a no-op; it completes with result 0. */
  nop(token: number): void {
    this.pushOp(DK_OP_NOP, token, -1, 0, 0, 0, 0);
  }

  /**
   * Queue a receive into `buf` (capped at `DK_MAX_LEN` bytes); the result is
   * the byte count, 0 at end of stream. Keep `buf` referenced until completion.
   */
  recv(token: number, fd: number, buf: Uint8Array): void {
    this.pushOp(DK_OP_RECV, token, fd, bufLen(buf), pointerOf(buf), 0, 0);
  }

  /**
   * Queue a send of `buf[offset, offset + length)` (length capped at
   * `DK_MAX_LEN`); the result is the count of bytes taken, possibly fewer.
   *
   * @throws {RangeError} when offset/length fall outside `buf`.
   */
  send(token: number, fd: number, buf: Uint8Array, offset = 0, length?: number): void {
    const size = buf.byteLength;
    const n = length ?? size - offset;
    if (
      (offset >>> 0) !== offset || (n >>> 0) !== n || offset > size || n > size - offset
    ) {
      throw new RangeError(`send: offset ${offset} / length ${n} outside a ${size}-byte buffer`);
    }
    this.pushOp(DK_OP_SEND, token, fd, capLen(n), pointerOf(buf) + offset, 0, 0);
  }

  /**
   * Queue an accept on listener `fd`; the result is the new connection's fd.
   * `peer`, when given, is a `dk_addr` record (32 bytes) that receives the
   * peer's address.
   */
  accept(token: number, fd: number, peer?: Uint8Array | null): void {
    this.#pushAddrOut(DK_OP_ACCEPT, token, fd, 0, 0, peer);
  }

  /** Queue a TCP connect to the `dk_addr` record `addr`; the result is the connected fd. */
  connect(token: number, addr: Uint8Array): void {
    this.#pushAddrIn(DK_OP_CONNECT, token, -1, 0, 0, addr, 0);
  }

  /**
   * Queue bind + listen on the `dk_addr` record `addr` (`backlog` 0 = 1024,
   * `flags` = `DK_LISTEN_*`); the result is the listening fd.
   */
  listen(token: number, addr: Uint8Array, backlog = 0, flags = 0): void {
    this.#pushAddrIn(DK_OP_LISTEN, token, -1, backlog, 0, addr, flags);
  }

  /** Queue a close of `fd`; its pending ops complete with `-ECANCELED` first. */
  closeFd(token: number, fd: number): void {
    this.pushOp(DK_OP_CLOSE, token, fd, 0, 0, 0, 0);
  }

  /**
   * Queue a cancel of the op with token `target`: result 0 if found (that op
   * then completes with `-ECANCELED` or its real result), `-ENOENT` if not.
   */
  cancel(token: number, target: number): void {
    if ((target >>> 0) !== target) {
      throw new TypeError(`cancel: target token ${target} is not a u32`);
    }
    this.pushOp(DK_OP_CANCEL, token, -1, 0, 0, target, 0);
  }

  /** Queue a readiness wait on `fd` for `mask` (`DK_POLL_*`); the result is the ready mask. */
  pollFd(token: number, fd: number, mask: number): void {
    this.pushOp(DK_OP_POLL, token, fd, mask, 0, 0, 0);
  }

  /** Queue a shutdown of `fd` (`how`: 0 read, 1 write, 2 both). */
  shutdown(token: number, fd: number, how: number): void {
    this.pushOp(DK_OP_SHUTDOWN, token, fd, how, 0, 0, 0);
  }

  /**
   * Queue a file open. `path` is a NUL-terminated byte string (see `cString`),
   * `flags` are `DK_O_*`, `mode` the permission bits for a created file.
   *
   * @throws {TypeError} when `path` does not end with a NUL byte.
   */
  openFile(token: number, path: Uint8Array, flags: number, mode = 0o644): void {
    if (!(path instanceof Uint8Array) || path.byteLength === 0 || path[path.length - 1] !== 0) {
      throw new TypeError("openFile: path must be a NUL-terminated Uint8Array (see cString)");
    }
    this.pushOp(DK_OP_OPEN, token, -1, flags, pointerOf(path), mode, 0);
  }

  /** Queue a file read into `buf` at `offset` (-1 = the current position). */
  read(token: number, fd: number, buf: Uint8Array, offset = -1): void {
    this.pushOp(DK_OP_READ, token, fd, bufLen(buf), pointerOf(buf), checkOffset(offset), 0);
  }

  /** Queue a file write of `buf` at `offset` (-1 = the current position). */
  write(token: number, fd: number, buf: Uint8Array, offset = -1): void {
    this.pushOp(DK_OP_WRITE, token, fd, bufLen(buf), pointerOf(buf), checkOffset(offset), 0);
  }

  /** Queue a UDP bind on the `dk_addr` record `addr`; the result is the datagram fd. */
  udpBind(token: number, addr: Uint8Array, flags = 0): void {
    this.#pushAddrIn(DK_OP_UDP_BIND, token, -1, 0, 0, addr, flags);
  }

  /** Queue a UDP connect (default peer) of `fd` to the `dk_addr` record `addr`. */
  udpConnect(token: number, fd: number, addr: Uint8Array): void {
    this.#pushAddrIn(DK_OP_UDP_CONNECT, token, fd, 0, 0, addr, 0);
  }

  /** Queue a datagram receive into `buf`; `from` (a `dk_addr` record) gets the sender. */
  recvFrom(token: number, fd: number, buf: Uint8Array, from?: Uint8Array | null): void {
    this.#pushAddrOut(DK_OP_RECVFROM, token, fd, bufLen(buf), pointerOf(buf), from);
  }

  /** Queue a datagram send of `buf` to `to` (a `dk_addr` record; null on a connected socket). */
  sendTo(token: number, fd: number, buf: Uint8Array, to?: Uint8Array | null): void {
    if (to) this.#pushAddrIn(DK_OP_SENDTO, token, fd, bufLen(buf), pointerOf(buf), to, 0);
    else this.pushOp(DK_OP_SENDTO, token, fd, bufLen(buf), pointerOf(buf), 0, 0);
  }

  /**
   * Destroy the reactor: wake and await an in-flight park, then `dk_destroy`
   * (pending ops are cancelled, their completions dropped; every buffer handed
   * over is released when this resolves). Idempotent.
   *
   * @example
   * ```ts
   * import { Reactor } from "./reactor.ts";
   * import assert from "node:assert/strict";
   * const r = await Reactor.open({ backend: "epoll" });
   * await r.close();
   * await r.close(); // fine
   * assert.throws(() => r.nop(1)); // closed
   * ```
   */
  close(): Promise<void> {
    if (this.#closePromise !== null) return this.#closePromise;
    const parked = this.#parkPromise;
    this.#state = CLOSED;
    this.#sqLen = 0;
    this.#count = 0;
    if (parked === null) {
      this.#destroyNow();
      this.#closePromise = Promise.resolve();
    } else {
      this.#wake(this.handle);
      const done = () => this.#destroyNow();
      this.#closePromise = parked.then(done, done);
    }
    return this.#closePromise;
  }

  /**
   * Destroy the reactor now, synchronously.
   *
   * @throws {Error} while a park is in flight (use `close()` then).
   * @example
   * ```ts
   * import { Reactor } from "./reactor.ts";
   * import assert from "node:assert/strict";
   * const r = await Reactor.open({ backend: "epoll" });
   * r.closeSync();
   * assert.throws(() => r.poll(0)); // closed
   * ```
   */
  closeSync(): void {
    if (this.#state === PARKED) this.#refuse();
    if (this.#closePromise !== null) return;
    this.#state = CLOSED;
    this.#sqLen = 0;
    this.#count = 0;
    this.#destroyNow();
    this.#closePromise = Promise.resolve();
  }

  /** `await using r = await Reactor.open()` closes it at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #unpark(): void {
    if (this.#state === PARKED) this.#state = OPEN;
    this.#parkPromise = null;
  }

  #destroyNow(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    finalizer.unregister(this.#token);
    this.#destroy(this.handle);
    this.#addrWaiters.clear();
  }

  #refuse(): never {
    if (this.#state === CLOSED) throw new ClosedError("reactor is closed");
    throw new Error(
      "reactor is parked: only wake() and close() may be called until park() settles",
    );
  }
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${v}`);
  }
  return v;
}

/**
 * A byte count capped at `DK_MAX_LEN`, the most one op moves (a longer
 * buffer is moved by several ops, each reporting how much it took).
 *
 * @example
 * ```ts
 * import { capLen } from "./reactor.ts";
 * import { DK_MAX_LEN } from "./layout.ts";
 * import assert from "node:assert/strict";
 * assert.equal(capLen(64), 64);
 * assert.equal(capLen(DK_MAX_LEN + 1), DK_MAX_LEN);
 * ```
 */
export function capLen(n: number): number {
  return n > DK_MAX_LEN ? DK_MAX_LEN : n;
}

/** How many bytes of `buf` one op moves (all of it, up to `DK_MAX_LEN`). */
function bufLen(buf: Uint8Array): number {
  return capLen(buf.byteLength);
}

function checkOffset(offset: number): number {
  if (!Number.isSafeInteger(offset) || offset < -1) {
    throw new RangeError(`file offset must be an integer ≥ -1, got ${offset}`);
  }
  return offset;
}

/** The 32 bytes of a `dk_addr` record (any alignment: it is copied, never handed to C). */
function addrBytes(rec: Uint8Array): Uint8Array {
  if (!(rec instanceof Uint8Array) || rec.byteLength < ADDR_SIZE) {
    throw new TypeError("a dk_addr record must be a Uint8Array of at least 32 bytes");
  }
  return rec.byteLength === ADDR_SIZE ? rec : rec.subarray(0, ADDR_SIZE);
}

function badTimeout(t: number): never {
  throw new RangeError(`timeoutMs must be an integer ≥ -1 (ms; -1 = forever), got ${t}`);
}

function badRecord(
  op: number,
  token: number,
  fd: number,
  len: number,
  addr: number,
  arg: number,
  flags: number,
): never {
  const bad = (op & 0xff) !== op
    ? `op ${op} (u8)`
    : (token >>> 0) !== token
    ? `token ${token} (u32)`
    : (fd | 0) !== fd
    ? `fd ${fd} (i32)`
    : (len >>> 0) !== len
    ? `len ${len} (u32)`
    : (flags & 0xffff) !== flags
    ? `flags ${flags} (u16)`
    : !(addr >= 0 && addr <= Number.MAX_SAFE_INTEGER && Math.floor(addr) === addr)
    ? `addr ${addr} (an address below 2^53)`
    : `arg ${arg} (an integer of magnitude below 2^53)`;
  throw new TypeError(`bad submission record field: ${bad}`);
}
