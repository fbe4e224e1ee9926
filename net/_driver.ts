/**
 * Internal: `currentDriver()`, an operation giving the I/O driver of the worker the task runs
 * on, opening it on first use. The socket helpers that are calls rather than records (Unix
 * sockets, the socket builder) use it to reach the reactor.
 *
 * @module
 */

import { Leaf, PENDING, type Poll } from "../runtime/operation.ts";
import { ReactorDriver } from "../runtime/io/reactor_driver.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import type { Waker } from "../runtime/task/waker.ts";

const IDLE = 0;
const OPENING = 1;
const FAILED = 2;

class DriverOp extends Leaf<ReactorDriver> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "reactor.open";
  }

  #state = IDLE;
  #error: unknown = null;
  #waker: Waker | null = null;

  protected poll(waker: Waker): Poll<ReactorDriver> {
    if (this.#state === FAILED) throw this.#error;
    const core = currentCore();
    const io = core.io;
    if (io instanceof ReactorDriver) return io;
    this.#waker = waker;
    if (this.#state === IDLE) {
      this.#state = OPENING;
      core.openIo().then(() => this.#wake(IDLE), (e) => {
        this.#error = e;
        this.#wake(FAILED);
      });
    }
    return PENDING;
  }

  #wake(state: number): void {
    this.#state = state;
    const w = this.#waker;
    this.#waker = null;
    w?.wake();
  }

  protected cancel(): void {
    this.#waker = null;
  }
}

/**
 * The current worker's I/O driver, opened on first use.
 *
 * @returns an operation giving the driver
 * @throws what opening the reactor throws (no library, backend unavailable…).
 * @example
 * ```ts
 * import { run } from "../runtime/mod.ts";
 * import { currentDriver } from "./_driver.ts";
 * import assert from "node:assert/strict";
 *
 * const backend = await run(function* () {
 *   return (yield* currentDriver()).reactor.backend;
 * });
 * assert.equal(typeof backend, "string");
 * ```
 */
export function currentDriver(): Leaf<ReactorDriver> {
  return new DriverOp();
}
