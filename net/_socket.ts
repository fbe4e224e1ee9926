/**
 * Internal: the state every socket shares (`SocketCore`) and the base class
 * of its reactor operations (`NetOp`).
 *
 * A socket has two lanes, read (recv, accept, recvfrom) and write (send,
 * sendto). Invariants:
 * - Ops on one lane reach the kernel in call order: when a task is cancelled
 *   while its op is in flight, the op is cancelled in the reactor and becomes
 *   the lane's *orphan*; the next op on that lane waits for the orphan's
 *   completion before it is submitted.
 * - Nothing the kernel already did is lost: an orphan (or an op that had
 *   completed but whose task was cancelled before it looked) hands what it got
 *   — bytes, an accepted fd, a datagram — to the socket (`salvage`), and the
 *   next op on the lane returns that first; an fd nobody can take is closed.
 * - `close()` never leaves an op of this socket in the reactor: with ops in
 *   flight the fd is closed by a reactor CLOSE record (which completes those
 *   ops with ECANCELED first), else at once with close(2).
 * - Use after close throws {@linkcode ClosedError}; an op in flight when its
 *   socket is closed ends with ClosedError too.
 *
 * @module
 */

import type { IoReactor } from "../ffi/reactor.ts";
import { errnoName, ioError } from "../ffi/errors.ts";
import { ClosedError } from "../runtime/errors.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import { PENDING, type Poll } from "../runtime/operation.ts";
import {
  IO_DONE,
  IO_NEW,
  IO_SUBMITTED,
  IoOp,
  type ReactorDriver,
} from "../runtime/io/reactor_driver.ts";
import type { Core } from "../runtime/scheduler/context.ts";
import type { Waker } from "../runtime/task/waker.ts";

/**
 * Lane index of receiving ops.
 *
 * @example
 * ```ts
 * import { READ, SocketCore } from "./_socket.ts";
 * import assert from "node:assert/strict";
 *
 * const core = new SocketCore(-1, "TcpStream", null, null);
 * assert.equal(core.orphans[READ], null); // no cancelled recv is still in the reactor
 * ```
 */
export const READ = 0;
/**
 * Lane index of sending ops.
 *
 * @example
 * ```ts
 * import { SocketCore, WRITE } from "./_socket.ts";
 * import assert from "node:assert/strict";
 *
 * const core = new SocketCore(-1, "TcpStream", null, null);
 * assert.equal(core.waiters[WRITE], null); // no send waits for an orphan to complete
 * ```
 */
export const WRITE = 1;
/**
 * Ops that use no lane (connect, bind, shutdown).
 *
 * @example
 * ```ts
 * import { NO_LANE, READ, WRITE } from "./_socket.ts";
 * import assert from "node:assert/strict";
 *
 * // Lane checks apply to `lane >= 0` only: a NO_LANE op never waits behind an orphan.
 * assert.deepEqual([READ, WRITE, NO_LANE].filter((lane) => lane >= 0), [READ, WRITE]);
 * ```
 */
export const NO_LANE = -1;

/**
 * What `prepare` returns to let the op be submitted.
 *
 * @example
 * ```ts
 * import { GO } from "./_socket.ts";
 * import assert from "node:assert/strict";
 *
 * // A `prepare` that finishes an empty read at once and submits any other.
 * const prepare = (buf: Uint8Array): number | typeof GO => buf.byteLength === 0 ? 0 : GO;
 * assert.equal(prepare(new Uint8Array(0)), 0);
 * assert.equal(prepare(new Uint8Array(8)), GO);
 * ```
 */
export const GO: unique symbol = Symbol("dokio.net.go");

/**
 * The state of one socket fd shared by its handle(s) and ops.
 *
 * @example
 * ```ts ignore
 * // Not run: needs an fd the reactor opened and the runtime's I/O driver, which only the socket classes hold.
 * const core = new SocketCore(fd, "TcpStream", driver, sched);
 * ```
 */
export class SocketCore {
  /** The fd, -1 once closed. */
  fd: number;
  /** True once `close()` ran. */
  closed = false;
  /** What the user knows this socket as (for messages). */
  readonly kind: string;
  /** The driver that last took an op of this socket. */
  driver: ReactorDriver | null;
  /** The scheduler owning that driver. */
  sched: Core | null;
  /** Ops of this socket submitted and not yet completed. */
  inflight = 0;
  /** Per lane: a cancelled op still in the reactor. */
  readonly orphans: (NetOp<unknown> | null)[] = [null, null];
  /** Per lane: the task waiting for the orphan to complete. */
  readonly waiters: (Waker | null)[] = [null, null];
  /** Salvaged bytes (stream) not yet returned by a read. */
  pending: Uint8Array | null = null;
  /** Salvaged items of a listener or datagram socket (fds, datagrams). */
  salvaged: unknown[] | null = null;

  /** Make one for an open fd. */
  constructor(fd: number, kind: string, driver: ReactorDriver | null, sched: Core | null) {
    this.fd = fd;
    this.kind = kind;
    this.driver = driver;
    this.sched = sched;
  }

  /** The reactor (for the synchronous socket helpers: addresses, options). */
  get reactor(): IoReactor {
    if (this.driver === null) throw new Error(`${this.kind}: no reactor is attached`);
    return this.driver.reactor;
  }

  /** The error for use after close. */
  closedError(): ClosedError {
    return new ClosedError(`${this.kind} is closed`);
  }

  /** Throw ClosedError when closed. */
  checkOpen(): void {
    if (this.closed) throw this.closedError();
  }

  /**
   * True when `lane` still has an orphan in flight; then `waker` is woken
   * when it completes.
   */
  laneBusy(lane: number, waker: Waker): boolean {
    const o = this.orphans[lane];
    if (o === null) return false;
    const d = o.driverRef;
    if (d === null || d.reactor.closed) {
      // Its reactor is gone: the op will never complete.
      this.orphans[lane] = null;
      return false;
    }
    this.waiters[lane] = waker;
    return true;
  }

  /** The orphan of `lane` completed: let the next op go. */
  orphanDone(lane: number): void {
    this.orphans[lane] = null;
    const w = this.waiters[lane];
    this.waiters[lane] = null;
    if (w !== null) w.wake();
  }

  /**
   * Close the fd (idempotent). With ops in flight the reactor closes it after
   * completing them with ECANCELED; else close(2) now.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const fd = this.fd;
    this.fd = -1;
    this.pending = null;
    const items = this.salvaged;
    this.salvaged = null;
    if (items !== null) {
      for (const it of items) if (typeof it === "number") closeFdQuiet(this, it);
    }
    for (let i = 0; i < 2; i++) {
      const w = this.waiters[i];
      this.waiters[i] = null;
      if (w !== null) w.wake();
    }
    closeViaReactor(this, fd);
  }
}

/**
 * Append `bytes` (copied) to the socket's salvaged bytes, after what is there.
 *
 * @example
 * ```ts ignore
 * // Not run: a SocketCore exists only inside a TcpStream, TcpListener or UdpSocket (private); the public examples there run this code.
 * keepBytes(core, buf.subarray(0, n));
 * ```
 */
export function keepBytes(core: SocketCore, bytes: Uint8Array): void {
  if (bytes.byteLength === 0 || core.closed) return;
  const old = core.pending;
  if (old === null) {
    core.pending = bytes.slice();
    return;
  }
  const both = new Uint8Array(old.byteLength + bytes.byteLength);
  both.set(old);
  both.set(bytes, old.byteLength);
  core.pending = both;
}

/**
 * Move salvaged bytes into `buf`; returns how many (0 when none).
 *
 * @example
 * ```ts ignore
 * // Not run: a SocketCore exists only inside a TcpStream, TcpListener or UdpSocket (private); the public examples there run this code.
 * const n = takeBytes(core, buf);
 * ```
 */
export function takeBytes(core: SocketCore, buf: Uint8Array): number {
  const p = core.pending;
  if (p === null) return 0;
  const n = Math.min(p.byteLength, buf.byteLength);
  buf.set(n === p.byteLength ? p : p.subarray(0, n));
  core.pending = n === p.byteLength ? null : p.subarray(n);
  return n;
}

/**
 * Close an fd nobody will use (an accepted or connected fd whose task is gone).
 *
 * @example
 * ```ts ignore
 * // Not run: needs the runtime's I/O driver and an fd nobody owns; the accept and connect ops call it when their task is gone.
 * dropFd(driver, fd);
 * ```
 */
export function dropFd(driver: ReactorDriver | null, fd: number): void {
  if (driver === null || fd < 0) return;
  try {
    driver.reactor.closeNow(fd);
  } catch {
    // already gone
  }
}

function closeFdQuiet(core: SocketCore, fd: number): void {
  try {
    if (core.driver !== null) core.driver.reactor.closeNow(fd);
  } catch {
    // already gone
  }
}

function closeViaReactor(core: SocketCore, fd: number): void {
  const d = core.driver;
  if (core.inflight === 0 || d === null || d.reactor.closed) {
    closeFdQuiet(core, fd);
    return;
  }
  if (!d.reactor.parked) {
    d.submit(new CloseOp(fd, null));
    d.reactor.flush();
    return;
  }
  // The driver is parked (we run outside a task poll): let a task do it.
  const s = core.sched;
  if (s !== null && !s.closed) {
    try {
      s.spawn(new CloseOp(fd, core)).detach();
      return;
    } catch {
      // shut down meanwhile: fall through
    }
  }
  // The runtime is shutting down: its reactor is destroyed soon; then close(2).
  setTimeout(() => closeViaReactor(core, fd), 5);
}

/**
 * Base of every socket operation: opens the runtime's I/O driver on first
 * use, keeps lanes ordered, counts in-flight ops on the socket and salvages
 * what a cancelled op got.
 *
 * @example
 * ```ts ignore
 * // Not run: an abstract base: every socket operation (TcpStream.read, UdpSocket.recvFrom, …) is one, and their examples run.
 * class Nop extends NetOp<number> { ... }
 * ```
 */
export abstract class NetOp<T> extends IoOp<T> {
  // Assigned in the constructor, not as class fields (see IoOp).
  /** The socket (null for ops that create one: listen, connect, bind). */
  declare sock: SocketCore | null;
  /** The lane (READ, WRITE or NO_LANE). */
  declare readonly lane: number;
  /** The driver this op was submitted to. */
  declare driverRef: ReactorDriver | null;
  /** Cancelled while in flight: its completion goes to `salvage`. */
  declare orphaned: boolean;
  declare private netOpening: boolean;

  /** Make one on `sock`'s `lane`. */
  constructor(sock: SocketCore | null, lane: number) {
    super();
    this.sock = sock;
    this.lane = lane;
    this.driverRef = null;
    this.orphaned = false;
    this.netOpening = false;
  }

  /** Before submission: return GO, a value (done without I/O), or PENDING. */
  protected prepare(_waker: Waker): Poll<T> | typeof GO {
    return GO;
  }

  /** Write the record (the socket's fd is open). */
  protected abstract write(r: IoReactor, token: number): void;

  /**
   * Keep what the kernel produced (bytes, an fd…) for an op whose task is
   * gone; `result` may be negative (nothing new, but earlier progress of a
   * looping op may still need keeping).
   */
  protected salvage(_result: number): void {}

  /** Map the raw result; `-ECANCELED` on a closed socket becomes ClosedError. */
  protected fail(result: number, op: string): never {
    const s = this.sock;
    if (s !== null && s.closed) {
      const code = errnoName(result);
      if (code === "ECANCELED" || code === "EBADF") throw s.closedError();
    }
    throw ioError(result, op);
  }

  protected override poll(waker: Waker): Poll<T> {
    if (this.ioState === IO_NEW) {
      const s = this.sock;
      if (s !== null) {
        if (s.closed) throw s.closedError();
        if (this.lane >= 0 && s.orphans[this.lane] !== null && s.laneBusy(this.lane, waker)) {
          return PENDING;
        }
      }
      const pre = this.prepare(waker);
      if (pre !== GO) return pre as Poll<T>;
      const io = this.openDriver(waker);
      if (io === null) return PENDING;
      this.driverRef = io;
      if (s !== null) {
        s.driver = io;
        s.sched = currentCore();
      }
      this.waker = waker;
      this.submitVia(io);
      return PENDING;
    }
    return super.poll(waker);
  }

  /**
   * Make this finished op ready to run again on the same socket and lane, so
   * a stream can hand it out for its next call instead of allocating one.
   * False (and nothing changes) unless it has finished and the reactor holds
   * nothing of it: never run, pending, or cancelled with its I/O in flight
   * (an orphan) all refuse.
   */
  protected recycle(): boolean {
    if (this.ioState === IO_SUBMITTED || this.orphaned || this.opening || !this.rearmLeaf()) {
      return false;
    }
    this.ioState = IO_NEW;
    this.result = 0;
    this.cqFlags = 0;
    this.waker = null;
    return true;
  }

  protected submitTo(r: IoReactor, token: number): void {
    this.write(r, token);
    if (this.sock !== null) this.sock.inflight++;
  }

  override complete(result: number, flags: number): void {
    const s = this.sock;
    if (s !== null) s.inflight--;
    if (this.orphaned) {
      this.settle(result, flags);
      this.salvage(result);
      if (s !== null && this.lane >= 0 && s.orphans[this.lane] === this) s.orphanDone(this.lane);
      return;
    }
    super.complete(result, flags);
  }

  protected override cancel(): void {
    if (this.ioState === IO_SUBMITTED) {
      this.orphaned = true;
      const s = this.sock;
      if (s !== null && this.lane >= 0) s.orphans[this.lane] = this;
      super.cancel();
    } else if (this.ioState === IO_DONE) {
      // Completed, but the task was cancelled before it looked.
      this.salvage(this.result);
    } else {
      const s = this.sock;
      if (s !== null && this.lane >= 0 && s.waiters[this.lane] !== null) {
        s.waiters[this.lane] = null;
      }
    }
  }
}

/** A CLOSE record for `fd`; as a task (when `core` is given) it is spawned. */
class CloseOp extends NetOp<void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "close";
  }

  readonly #fd: number;
  readonly #owner: SocketCore | null;
  constructor(fd: number, owner: SocketCore | null) {
    super(null, NO_LANE);
    this.#fd = fd;
    this.#owner = owner;
  }
  protected write(r: IoReactor, token: number): void {
    r.closeFd(token, this.#fd);
  }
  protected finish(_result: number): void {}
  protected override cancel(): void {
    if (this.ioState === IO_NEW && this.#owner !== null) {
      setTimeout(() => closeViaReactor(this.#owner!, this.#fd), 5);
    }
    super.cancel();
  }
}
