/**
 * The I/O driver over the C reactor: a slab of in-flight operations keyed by
 * token, batching submissions and dispatching completions to their tasks.
 *
 * Tokens are `slot | generation << 20`, below 2^30 so they stay small
 * integers for V8 (a token above that is a heap number: an allocation per
 * op, and deoptimised hot paths): a completion for a slot that was reused
 * (it cannot happen, since a slot is freed only by its completion, but a
 * corrupt token would) is ignored instead of waking the wrong task.
 * Cancel requests carry the reserved token {@linkcode CANCEL_TOKEN}; their
 * own completions are dropped.
 *
 * Invariant: an operation stays in the slab — and so keeps its buffers
 * referenced — from submission until its completion arrives, also when the
 * task waiting for it was cancelled (then only the wake is skipped). Only
 * `dk_destroy` (close) releases what never completed, and the C side does
 * not return from it while the kernel may still touch a buffer.
 *
 * @module
 */

import { type IoReactor, Reactor } from "../../ffi/reactor.ts";
import type { Backend, NativeBackend } from "../../ffi/layout.ts";
import { NoLibraryError, readEnv } from "../../ffi/library.ts";
import { DenoReactor } from "./deno_reactor.ts";
import { ioError } from "../../ffi/errors.ts";
import { currentCore } from "../scheduler/context.ts";
import type { IoDriver } from "./io_driver.ts";
import { Leaf, PENDING, type Poll } from "../operation.ts";
import type { Waker } from "../task/waker.ts";

/**
 * Token of cancel requests (their completions are ignored).
 *
 * @example
 * ```ts
 * import { CANCEL_TOKEN } from "./reactor_driver.ts";
 * import assert from "node:assert/strict";
 *
 * // Operation tokens stay below 2^30, so a cancel's completion is never taken for one.
 * assert.ok(CANCEL_TOKEN >= 2 ** 30);
 * ```
 */
export const CANCEL_TOKEN = 0xffffffff;
const SLOT_BITS = 20;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
/** Generations wrap at 2^10, so a token is below 2^30 (a V8 small integer). */
const GEN_MASK = 0x3ff;
const CQE_WORDS = 4;
/** Submission and completion records per batch of a driver's reactor. */
const CQ_CAPACITY = 1024;

let noticed = false;

/** Say once per process that the portable backend stands in for a missing native library. */
function noticeFallback(e: NoLibraryError): void {
  if (noticed) return;
  noticed = true;
  const why = e.message.length > 160 ? `${e.message.slice(0, 157)}…` : e.message;
  console.error(
    `dokio: no native reactor library here, using the Deno-socket backend (backend "deno"); ` +
      `set DOKIO_BACKEND=deno to choose it, DOKIO_LIB or \`deno task build\` for the native one. ` +
      `[${why.replace(/\s+/g, " ")}]`,
  );
}

/** -ECANCELED on Linux; other hosts map through the op's flags. */
const F_CANCELED = 1;
/** DK_CQE_F_MORE: a whole-file op left its file to the phase-by-phase path (fs/). */
const F_MORE = 4;
/** The completion flags an op sees (DK_CQE_F_ADDR is the reactor's business). */
const OP_FLAGS = F_CANCELED | F_MORE;

/** An I/O op's lifecycle state (see {@linkcode IoOp.ioState}). */
export type IoState = typeof IO_NEW | typeof IO_SUBMITTED | typeof IO_DONE;
/** Not yet handed to the reactor. */
export const IO_NEW = 0;
/** Its record is queued or in the kernel; its completion is still to come. */
export const IO_SUBMITTED = 1;
/** Its completion arrived (`result` and `cqFlags` hold it). */
export const IO_DONE = 2;

/**
 * One reactor operation as a leaf: submitted on first poll, finished by its
 * completion. Subclasses write their record and map the result.
 *
 * @example
 * ```ts ignore
 * // Not run: an abstract base; every socket operation is one, and the net examples run them.
 * class Nop extends IoOp<number> {
 *   protected submitTo(r: Reactor, token: number) { r.nop(token); }
 *   protected finish(res: number) { return res; }
 * }
 * ```
 */
export abstract class IoOp<T> extends Leaf<T> {
  // Fields are assigned in the constructor, not declared as class fields: a
  // base class with class fields keeps V8 from inlining its subclasses'
  // construction (see Leaf), and every socket and file operation is one.
  /** Raw result once complete (>= 0 or -errno). */
  declare result: number;
  /** Completion flags. */
  declare cqFlags: number;
  /** Where the op is in its life: new → submitted → done (never back, but through `recycle`). */
  declare ioState: IoState;
  /** The waker to call at completion, null once cancelled. */
  declare waker: Waker | null;
  declare private opDriver: ReactorDriver | null;
  declare private opToken: number;
  declare private driverOpening: boolean;
  declare private openError: unknown;

  /** A new operation. */
  constructor() {
    super();
    this.result = 0;
    this.cqFlags = 0;
    this.ioState = IO_NEW;
    this.waker = null;
    this.opDriver = null;
    this.opToken = 0;
    this.driverOpening = false;
    this.openError = null;
  }

  /** Write this op's submission record with `token`. */
  protected abstract submitTo(r: IoReactor, token: number): void;
  /** Map the raw result (>= 0 or -errno) to the value, or throw. */
  protected abstract finish(result: number): T;

  /** Leaf poll: submit once (opening the driver first if need be), then wait for the completion. */
  protected poll(waker: Waker): Poll<T> {
    if (this.ioState === IO_DONE) return this.finish(this.result);
    if (this.ioState === IO_NEW) {
      const io = this.openDriver(waker);
      if (io === null) return PENDING;
      this.waker = waker;
      this.submitVia(io);
      return PENDING;
    }
    this.waker = waker;
    return PENDING;
  }

  /**
   * The I/O driver of the worker polling now. The first op on a worker opens
   * it (`Core.openIo`, asynchronous): then this returns null and `waker` is
   * woken once the driver is open (or failed to open: the next call throws
   * that error).
   */
  protected openDriver(waker: Waker): ReactorDriver | null {
    const core = currentCore();
    const io = core.io;
    if (io instanceof ReactorDriver) return io;
    const failed = this.openError;
    if (failed !== null) {
      this.openError = null;
      throw failed;
    }
    if (!this.driverOpening) {
      this.driverOpening = true;
      core.openIo().then(() => {
        this.driverOpening = false;
        waker.wake();
      }, (e) => {
        this.driverOpening = false;
        this.openError = e;
        waker.wake();
      });
    }
    return null;
  }

  /** True while `openDriver` waits for the driver to open. */
  protected get opening(): boolean {
    return this.driverOpening;
  }

  /** Queue this op's record on `io` now (state new → submitted). */
  protected submitVia(io: ReactorDriver): void {
    this.opDriver = io;
    this.opToken = io.submit(this);
    this.ioState = IO_SUBMITTED;
  }

  /** Leaf cancel: ask the reactor to cancel; keep the slab entry until completion. */
  protected cancel(): void {
    this.waker = null;
    this.requestCancel();
  }

  /**
   * Ask the reactor to cancel this op if it is in flight, without dropping
   * the waiter: its completion (`-ECANCELED` or the result that won the race)
   * still arrives and ends the op.
   */
  protected requestCancel(): void {
    const d = this.opDriver;
    // A parked reactor (a cancel outside any task poll, at runtime shutdown)
    // cannot take a record: the op's completion, or the reactor's
    // destruction, ends it.
    if (this.ioState === IO_SUBMITTED && d !== null && !d.reactor.parked) d.cancel(this.opToken);
  }

  /** The driver writes the record through this. */
  writeRecord(r: IoReactor, token: number): void {
    this.submitTo(r, token);
  }

  /** The completion arrived: record it and wake the waiting task, if any. */
  complete(result: number, flags: number): void {
    const w = this.waker;
    this.settle(result, flags);
    if (w !== null) w.wake();
  }

  /** Record a completion (state → done) without waking anyone: for an op whose task is gone. */
  protected settle(result: number, flags: number): void {
    this.result = result;
    this.cqFlags = flags;
    this.ioState = IO_DONE;
    this.waker = null;
  }
}

/**
 * The I/O driver of one worker.
 *
 * @example
 * ```ts ignore
 * // Not run: the scheduler opens the driver (on the first I/O of a runtime); the net examples run it.
 * const io = await ReactorDriver.open("auto");
 * ```
 */
export class ReactorDriver implements IoDriver {
  /** The reactor handle. */
  readonly reactor: IoReactor;
  #ops: (IoOp<unknown> | null)[] = [];
  #gens: number[] = [];
  #free: number[] = [];
  #inFlight = 0;
  #parkCount = 0;

  private constructor(r: IoReactor) {
    this.reactor = r;
  }

  /**
   * Open a reactor with `backend` ("auto" honours DOKIO_BACKEND). "deno" is the portable
   * reactor on Deno's sockets; "auto" falls back to it, with a one-line notice on stderr, when
   * no native library can be had (`NoLibraryError`). `fileWorkers` sizes the file pool of an
   * epoll/kqueue reactor (see `ReactorOptions.fileWorkers`); undefined keeps the library's default.
   */
  static async open(backend: Backend, fileWorkers?: number): Promise<ReactorDriver> {
    const chosen = backend === "auto" ? (readEnv("DOKIO_BACKEND") || "auto") : backend;
    if (chosen === "deno") return new ReactorDriver(await DenoReactor.open(CQ_CAPACITY));
    try {
      const r = await Reactor.open({
        ...(chosen === "auto" ? {} : { backend: chosen as NativeBackend }),
        cqCapacity: CQ_CAPACITY,
        sqCapacity: CQ_CAPACITY,
        fileWorkers,
      });
      return new ReactorDriver(r);
    } catch (e) {
      if (chosen !== "auto" || !(e instanceof NoLibraryError)) throw e;
      noticeFallback(e);
      return new ReactorDriver(await DenoReactor.open(CQ_CAPACITY));
    }
  }

  /** Operations in flight. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Operations in flight by kind, counted now. */
  inFlightByKind(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const op of this.#ops) {
      if (op === null) continue;
      const k = op.kind;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }

  /** The backend in use. */
  get backend(): string {
    return this.reactor.backend;
  }

  /** Queue `op`'s record; returns its token (a record that cannot be written frees its slot). */
  submit(op: IoOp<unknown>): number {
    let slot: number;
    if (this.#free.length > 0) slot = this.#free.pop()!;
    else {
      slot = this.#ops.length;
      if (slot > SLOT_MASK) throw new RangeError("too many I/O operations in flight");
      this.#ops.push(null);
      this.#gens.push(0);
    }
    const token = slot | (this.#gens[slot] << SLOT_BITS);
    try {
      op.writeRecord(this.reactor, token);
    } catch (e) {
      this.#free.push(slot);
      throw e;
    }
    this.#ops[slot] = op;
    this.#inFlight++;
    return token;
  }

  /** Ask the reactor to cancel the op with `token`. */
  cancel(token: number): void {
    this.reactor.cancel(CANCEL_TOKEN, token);
  }

  /** Submit and harvest without waiting; dispatch. */
  pollNow(): number {
    let total = 0;
    for (;;) {
      const n = this.reactor.poll(0);
      total += this.#dispatchN(n);
      if (n < this.reactor.cqCapacity) return total;
    }
  }

  /** Submit and wait up to `timeoutMs` in a synchronous call; dispatch. */
  pollFor(timeoutMs: number): number {
    const n = this.reactor.poll(timeoutMs);
    let total = this.#dispatchN(n);
    if (n === this.reactor.cqCapacity) total += this.pollNow();
    return total;
  }

  /** Submit and wait in a nonblocking call. */
  async park(timeoutMs: number): Promise<void> {
    this.#parkCount = await this.reactor.park(timeoutMs < 0 ? -1 : Math.ceil(timeoutMs));
  }

  /** Dispatch what the last park harvested, then anything more. */
  dispatch(): number {
    const n = this.#parkCount;
    this.#parkCount = 0;
    let total = this.#dispatchN(n);
    if (n === this.reactor.cqCapacity) total += this.pollNow();
    return total;
  }

  #dispatchN(n: number): number {
    const u32 = this.reactor.cqU32;
    const i32 = this.reactor.cqI32;
    let done = 0;
    for (let i = 0; i < n; i++) {
      const base = i * CQE_WORDS;
      const token = u32[base];
      if (token === CANCEL_TOKEN) continue;
      const slot = token & SLOT_MASK;
      const op = this.#ops[slot];
      if (op === null || op === undefined || (token >>> SLOT_BITS) !== this.#gens[slot]) continue;
      this.#ops[slot] = null;
      this.#gens[slot] = (this.#gens[slot] + 1) & GEN_MASK;
      this.#free.push(slot);
      this.#inFlight--;
      op.complete(i32[base + 1], u32[base + 2] & OP_FLAGS);
      done++;
    }
    return done;
  }

  /** Interrupt a park. */
  wake(): void {
    this.reactor.wake();
  }

  /** Release the reactor; ops still in flight are dropped by the C side. */
  async close(): Promise<void> {
    await this.reactor.close();
    for (let i = 0; i < this.#ops.length; i++) this.#ops[i] = null;
    this.#inFlight = 0;
  }
}

/**
 * Throw the IoError for a negative result.
 *
 * @example
 * ```ts ignore
 * // Not run: `check` is module-private; every socket op calls it on its result.
 * const n = check(result, "recv");
 * ```
 */
export function check(result: number, op: string): number {
  if (result < 0) throw ioError(result, op);
  return result;
}
