/**
 * `signal(name)`: a stream of a signal's arrivals, for reload loops
 * (`SIGHUP` → re-read the config) and anything else that reacts to a signal
 * more than once. For "stop on SIGINT/SIGTERM" use `shutdownSignal`.
 *
 * Invariants:
 * - The listener is installed when `signal()` is called (an unknown or
 *   forbidden name is a TypeError there) and removed by `close()`; while it
 *   is installed the signal's default action (e.g. SIGINT ending the
 *   process) does not happen.
 * - Arrivals are counted from the call on: each `recv()` takes one, and
 *   waits when none is pending. (The OS itself may merge the same signal
 *   sent twice before the process handles it.)
 * - A pending `recv()` keeps the process alive (as `shutdownSignal` does);
 *   a stream with no pending `recv()` does not. A cancelled `recv()` takes
 *   no arrival.
 *
 * @module
 */

import { Leaf, type Operation, PENDING, type Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";

/** Longest setInterval delay (a keep-alive that never fires in practice). */
const KEEP_ALIVE_MS = 0x3fff_ffff;
function noop(): void {}

class SignalState {
  readonly name: Deno.Signal;
  pending = 0;
  closed = false;
  waker: Waker | null = null;
  keepAlive: ReturnType<typeof setInterval> | null = null;
  readonly handler: () => void;

  constructor(name: Deno.Signal) {
    this.name = name;
    this.handler = () => {
      this.pending++;
      this.wake();
    };
  }

  wake(): void {
    const w = this.waker;
    this.waker = null;
    w?.wake();
  }

  hold(on: boolean): void {
    if (on && this.keepAlive === null) this.keepAlive = setInterval(noop, KEEP_ALIVE_MS);
    if (!on && this.keepAlive !== null) {
      clearInterval(this.keepAlive);
      this.keepAlive = null;
    }
  }
}

class RecvSignal extends Leaf<Deno.Signal | null> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "signal";
  }

  readonly #s: SignalState;
  constructor(s: SignalState) {
    super();
    this.#s = s;
  }
  protected poll(waker: Waker): Poll<Deno.Signal | null> {
    const s = this.#s;
    if (s.pending > 0) {
      s.pending--;
      s.waker = null;
      s.hold(false);
      return s.name;
    }
    if (s.closed) {
      s.hold(false);
      return null;
    }
    s.waker = waker;
    s.hold(true);
    return PENDING;
  }
  protected cancel(): void {
    this.#s.waker = null;
    this.#s.hold(false);
  }
}

/**
 * The arrivals of one signal (made by {@linkcode signal}).
 *
 * @example
 * ```ts
 * import { run, signal, type SignalStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * using hup: SignalStream = signal("SIGHUP");
 * const got = await run(function* () {
 *   Deno.kill(Deno.pid, "SIGHUP"); // stands in for `kill -HUP <pid>`
 *   return yield* hup.recv();
 * });
 * assert.equal(got, "SIGHUP");
 * ```
 */
export class SignalStream implements Disposable, AsyncIterable<Deno.Signal> {
  readonly #s: SignalState;

  /**
   * Internal: made by {@linkcode signal}.
   *
   * @param s the listener's state
   */
  constructor(s: SignalState) {
    if (!(s instanceof SignalState)) throw new TypeError("SignalStream is made by signal()");
    this.#s = s;
  }

  /** The signal's name. */
  get name(): Deno.Signal {
    return this.#s.name;
  }

  /**
   * Wait for the next arrival (one already pending completes at once);
   * gives the signal's name, or `null` once the stream is closed. Cancel-safe.
   *
   * @returns the signal's name, or null after close
   * @example
   * ```ts
   * import { signal } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const usr1 = signal("SIGUSR1");
   * Deno.kill(Deno.pid, "SIGUSR1");
   * assert.equal(await usr1.recv(), "SIGUSR1");
   * usr1.close();
   * assert.equal(await usr1.recv(), null);
   * ```
   */
  recv(): Operation<Deno.Signal | null> & PromiseLike<Deno.Signal | null> {
    return new RecvSignal(this.#s);
  }

  /**
   * Remove the listener (the signal's default action applies again); a
   * pending or later `recv()` gives `null`. Idempotent.
   *
   * @example
   * ```ts
   * import { signal } from "../mod.ts";
   * const s = signal("SIGUSR2");
   * s.close();
   * s.close();
   * ```
   */
  close(): void {
    const s = this.#s;
    if (s.closed) return;
    s.closed = true;
    s.pending = 0;
    try {
      Deno.removeSignalListener(s.name, s.handler);
    } catch {
      // already gone
    }
    s.wake();
  }

  /** `using` support: closes the stream. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * `for await (const sig of stream)` until it is closed.
   *
   * @returns an async iterator of the signals that arrive.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Deno.Signal, void, undefined> {
    for (;;) {
      const got = await this.recv();
      if (got === null) return;
      yield got;
    }
  }
}

/**
 * Listen for `name` (SIGHUP, SIGUSR1, SIGINT, SIGTERM…) from now on.
 *
 * @param name the signal
 * @returns the stream of its arrivals; close it when done
 * @throws {TypeError} for a name Deno does not know, or one it may not
 *   listen for (SIGKILL, SIGSTOP).
 * @example
 * ```ts
 * import { run, signal, spawn, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * // A reload loop: one reload per SIGHUP.
 * const reloads = await run(function* () {
 *   using hup = signal("SIGHUP");
 *   spawn(function* () {
 *     for (let i = 0; i < 3; i++) {
 *       Deno.kill(Deno.pid, "SIGHUP"); // stands in for `kill -HUP <pid>`
 *       yield* sleep(20);
 *     }
 *   });
 *   let n = 0;
 *   while (n < 3 && (yield* hup.recv()) !== null) n++; // reload here
 *   return n;
 * });
 * assert.equal(reloads, 3);
 * assert.throws(() => signal("SIGNOPE" as Deno.Signal), TypeError);
 * ```
 */
export function signal(name: Deno.Signal): SignalStream {
  if (typeof name !== "string") throw new TypeError(`signal: a signal name, got ${String(name)}`);
  const s = new SignalState(name);
  try {
    Deno.addSignalListener(name, s.handler);
  } catch (e) {
    throw new TypeError(`signal: cannot listen for ${name}: ${(e as Error).message}`);
  }
  return new SignalStream(s);
}
