/**
 * `Barrier(n)`: tasks wait until `n` of them have arrived, then all go on
 * together; the barrier then resets for the next generation.
 *
 * Invariant: `arrived < n` between generations; the `n`-th arrival ends the
 * generation, is the leader, and completes every waiter of that
 * generation. A waiter cancelled before its generation completed withdraws
 * its arrival (so a cancelled task never lets the others through short).
 *
 * @module
 */

import { Leaf, PENDING, type Poll } from "../runtime/operation.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { type Waiter, WaitList } from "./_waitlist.ts";

/**
 * What `Barrier.wait()` gives: exactly one task per generation is the leader.
 *
 * @example
 * ```ts
 * import { Barrier, run, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   const barrier = new Barrier(2);
 *   const other = spawn(function* () {
 *     return (yield* barrier.wait()).isLeader;
 *   });
 *   const { isLeader } = yield* barrier.wait();
 *   assert.notEqual(isLeader, yield* other); // exactly one leads
 * });
 * ```
 */
export interface BarrierWaitResult {
  /** True for the one task of each generation whose arrival released it. */
  readonly isLeader: boolean;
}

const LEADER: BarrierWaitResult = Object.freeze({ isLeader: true });
const FOLLOWER: BarrierWaitResult = Object.freeze({ isLeader: false });

class BarrierCore {
  arrived = 0;
  generation = 0;
  readonly waiters: WaitList<WaitOp> = new WaitList();
  constructor(readonly n: number) {}
}

/** WaitOp's generation before it arrived (generations count up from 0). */
const NOT_ARRIVED = -1;

class WaitOp extends Leaf<BarrierWaitResult> implements Waiter {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "barrier";
  }

  waker: Waker | null = null;
  before: Waiter | null = null;
  after: Waiter | null = null;
  queued = false;
  /** The generation this waiter arrived in; NOT_ARRIVED before its first poll. */
  #gen = NOT_ARRIVED;
  readonly #c: BarrierCore;

  constructor(c: BarrierCore) {
    super();
    this.#c = c;
  }

  protected poll(waker: Waker): Poll<BarrierWaitResult> {
    const c = this.#c;
    if (this.#gen === NOT_ARRIVED) {
      if (++c.arrived === c.n) {
        c.arrived = 0;
        c.generation++;
        c.waiters.wakeAll();
        return LEADER;
      }
      this.#gen = c.generation;
    } else if (this.#gen !== c.generation) {
      this.waker = null;
      return FOLLOWER;
    }
    this.waker = waker;
    if (!this.queued) c.waiters.push(this);
    return PENDING;
  }

  protected cancel(): void {
    const c = this.#c;
    this.waker = null;
    if (this.#gen === c.generation) {
      c.arrived--;
      c.waiters.remove(this);
    }
  }
}

/**
 * A reusable barrier for `n` tasks.
 *
 * @example
 * ```ts
 * import { Barrier } from "../mod.ts";
 * import { run, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const b = new Barrier(3);
 * function* worker() {
 *   const { isLeader } = yield* b.wait();
 *   return isLeader;
 * }
 * const leaders = await run(function* () {
 *   const hs = [spawn(worker), spawn(worker), spawn(worker)];
 *   const out: boolean[] = [];
 *   for (const h of hs) out.push(yield* h);
 *   return out.filter((l) => l).length;
 * });
 * assert.equal(leaders, 1); // all three arrived; one of them leads
 * ```
 */
export class Barrier {
  #c: BarrierCore;

  /**
   * Make a barrier for `n` tasks (an integer ≥ 1).
   *
   * @param n how many tasks each generation waits for, an integer ≥ 1.
   * @throws {RangeError} when `n` is not such an integer.
   */
  constructor(n: number) {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 0x7fff_ffff) {
      throw new RangeError(`a Barrier needs an integer n ≥ 1, got ${String(n)}`);
    }
    this.#c = new BarrierCore(n);
  }

  /**
   * Arrive and wait for the rest of this generation. Cancel-safe: a cancelled
   * waiter withdraws its arrival.
   *
   * @returns an operation (also awaitable) giving `{ isLeader }`: true for exactly one task per
   *   generation.
   * @example
   * ```ts
   * import { Barrier, run } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   const barrier = new Barrier(1);
   *   const r = yield* barrier.wait();
   *   assert.equal(r.isLeader, true); // alone: the last to arrive leads
   * });
   * ```
   */
  wait(): Leaf<BarrierWaitResult> {
    return new WaitOp(this.#c);
  }

  /** How many tasks this barrier waits for. */
  get size(): number {
    return this.#c.n;
  }

  /** How many tasks of the current generation have arrived. */
  get arrived(): number {
    return this.#c.arrived;
  }
}
