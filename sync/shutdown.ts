/**
 * `shutdownSignal()`: an operation that completes when the process is asked
 * to stop (SIGINT or SIGTERM by default), giving the signal's name.
 *
 * Invariant: listeners are installed on the first poll and removed as soon
 * as the operation completes or is cancelled. Deno's signal listeners do not
 * keep the process alive by themselves, so while it is pending the
 * operation also holds a keep-alive timer (unless `keepAlive: false`): a
 * daemon whose main task waits for its shutdown signal does not exit early.
 * A finished or cancelled `shutdownSignal()` holds nothing: it never keeps
 * the process alive nor swallows a later signal.
 *
 * @module
 */

import { Leaf, PENDING, type Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";

/**
 * Options of {@linkcode shutdownSignal}.
 *
 * @example
 * ```ts
 * import { run, shutdownSignal, type ShutdownSignalOptions, sleep, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * // keepAlive (the default): the pending wait keeps the process up until the signal comes.
 * const options: ShutdownSignalOptions = { signals: ["SIGUSR2"], keepAlive: true };
 * const got = await run(function* () {
 *   spawn(function* () {
 *     yield* sleep(1);
 *     Deno.kill(Deno.pid, "SIGUSR2"); // stands in for `kill -USR2 <pid>`
 *   });
 *   return yield* shutdownSignal(options);
 * });
 * assert.equal(got, "SIGUSR2");
 * ```
 */
export interface ShutdownSignalOptions {
  /** The signals to wait for (default: SIGINT and SIGTERM). */
  signals?: readonly Deno.Signal[];
  /** Keep the process alive while waiting (default true). */
  keepAlive?: boolean;
}

const FOREVER = 0x3fff_ffff;
function noop(): void {}

class SignalOp extends Leaf<Deno.Signal> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "signal";
  }

  readonly #signals: readonly Deno.Signal[];
  #handlers: (() => void)[] | null = null;
  #fired: Deno.Signal | null = null;
  #waker: Waker | null = null;
  readonly #keepAlive: boolean;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(signals: readonly Deno.Signal[], keepAlive: boolean) {
    super();
    this.#signals = signals;
    this.#keepAlive = keepAlive;
  }

  protected poll(waker: Waker): Poll<Deno.Signal> {
    if (this.#fired !== null) {
      this.#waker = null;
      return this.#fired;
    }
    this.#waker = waker;
    if (this.#handlers === null) {
      const hs: (() => void)[] = [];
      this.#handlers = hs;
      try {
        for (const s of this.#signals) {
          const h = () => this.#fire(s);
          Deno.addSignalListener(s, h);
          hs.push(h);
        }
        if (this.#keepAlive) this.#timer = setInterval(noop, FOREVER);
      } catch (e) {
        this.#remove();
        throw e;
      }
    }
    return PENDING;
  }

  #fire(s: Deno.Signal): void {
    if (this.#fired !== null) return;
    this.#fired = s;
    this.#remove();
    const w = this.#waker;
    this.#waker = null;
    w?.wake();
  }

  #remove(): void {
    if (this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
    const hs = this.#handlers;
    if (hs === null) return;
    for (let i = 0; i < hs.length; i++) {
      try {
        Deno.removeSignalListener(this.#signals[i], hs[i]);
      } catch {
        // already gone
      }
    }
    hs.length = 0;
  }

  protected cancel(): void {
    this.#waker = null;
    this.#remove();
  }
}

/**
 * Wait for SIGINT or SIGTERM (or the given `signals`); gives the signal that
 * arrived. `yield*` it in a task or `await` it.
 *
 * @param options `signals` to wait for (default SIGINT and SIGTERM); `keepAlive: false` lets the
 *   process exit while waiting.
 * @returns an operation (also awaitable) giving the signal that arrived.
 * @throws {TypeError} when `signals` is empty or not an array.
 * @example
 * ```ts
 * import { shutdownSignal } from "../mod.ts";
 * import { run, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const got = await run(function* () {
 *   const wait = shutdownSignal({ signals: ["SIGUSR2"] }); // default: SIGINT and SIGTERM
 *   sleep(5).then(() => Deno.kill(Deno.pid, "SIGUSR2")); // as `kill -USR2 <pid>` would
 *   return yield* wait;
 * });
 * assert.equal(got, "SIGUSR2"); // now drain and exit
 * ```
 */
export function shutdownSignal(options?: ShutdownSignalOptions): Leaf<Deno.Signal> {
  const signals = options?.signals ?? ["SIGINT", "SIGTERM"];
  if (!Array.isArray(signals) || signals.length === 0) {
    throw new TypeError("shutdownSignal needs at least one signal");
  }
  return new SignalOp(signals.slice(), options?.keepAlive !== false);
}
