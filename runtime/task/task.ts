/**
 * A task: one poll-driven state machine (an iterator) plus its header slot.
 *
 * The task is its own waker and its own JoinHandle, so spawning allocates
 * one object besides the body's iterator. Its lifecycle state lives in the
 * header word (see task_state.ts); the object holds what JS must: the
 * iterator while it runs, the outcome after.
 *
 * Invariant: `iter` is non-null until the task completes; `outcome` moves
 * once from PENDING to OK, FAILED or CANCELLED; after completion `slot` is
 * the COMPLETE sentinel, so stale wakes are no-ops.
 *
 * @module
 */

import { CancelledError, JoinError } from "../errors.ts";
import { Leaf, PENDING, type Poll } from "../operation.ts";
import type { JoinHandle } from "./join_handle.ts";
import type { Waker } from "./waker.ts";
import type { HeaderTable } from "./header_table.ts";
import { LOCAL, setJoinWaker } from "./task_state.ts";

/**
 * What a task needs of the scheduler that owns it (runtime/scheduler/'s
 * `Scheduler` implements it). Declared here so the task layer does not
 * import the scheduler, which imports it.
 */
export interface TaskOwner {
  /** The header table holding the task's state word at `task.slot`. */
  readonly headers: HeaderTable;
  /** Queue `task` to be polled (its waker fired). */
  wake(task: Task<unknown>): void;
  /** Cancel `task` (its handle's `abort()`). */
  abort(task: Task<unknown>): void;
  /** `task`'s outcome was joined. */
  observed(task: Task<unknown>): void;
  /** `task` failed and nobody will join it. */
  reportUnobserved(task: Task<unknown>): void;
}

/**
 * The task has not finished.
 *
 * @example
 * ```ts
 * import { Runtime, spawn, yieldNow } from "../../mod.ts";
 * import { PENDING_OUTCOME, Task } from "./task.ts";
 * import assert from "node:assert/strict";
 *
 * await new Runtime().run(function* () {
 *   const task = spawn(function* () {
 *     yield* yieldNow();
 *   });
 *   assert.ok(task instanceof Task); // a task is its own JoinHandle
 *   assert.equal(task.outcome, PENDING_OUTCOME); // spawned, not yet run
 *   yield* task;
 * });
 * ```
 */
export const PENDING_OUTCOME = 0;
/**
 * The task returned a value.
 *
 * @example
 * ```ts
 * import { Runtime, spawn } from "../../mod.ts";
 * import { OK, Task } from "./task.ts";
 * import assert from "node:assert/strict";
 *
 * await new Runtime().run(function* () {
 *   const task = spawn(function* () {
 *     return 42;
 *   });
 *   assert.equal(yield* task, 42);
 *   assert.ok(task instanceof Task);
 *   assert.equal(task.outcome, OK);
 * });
 * ```
 */
export const OK = 1;
/**
 * The task threw.
 *
 * @example
 * ```ts
 * import { JoinError, Runtime, spawn } from "../../mod.ts";
 * import { FAILED, Task } from "./task.ts";
 * import assert from "node:assert/strict";
 *
 * await new Runtime().run(function* () {
 *   const task = spawn(function* (): Generator<unknown, void, unknown> {
 *     throw new Error("boom");
 *   });
 *   try {
 *     yield* task;
 *     assert.fail("the join should throw");
 *   } catch (e) {
 *     assert.ok(e instanceof JoinError);
 *   }
 *   assert.ok(task instanceof Task);
 *   assert.equal(task.outcome, FAILED);
 * });
 * ```
 */
export const FAILED = 2;
/**
 * The task was cancelled.
 *
 * @example
 * ```ts
 * import { Runtime, sleep, spawn } from "../../mod.ts";
 * import { CANCELLED_OUTCOME, Task } from "./task.ts";
 * import assert from "node:assert/strict";
 *
 * await new Runtime().run(function* () {
 *   const task = spawn(function* () {
 *     yield* sleep(60_000);
 *   });
 *   task.abort();
 *   try {
 *     yield* task;
 *   } catch {
 *     // a JoinError saying it was cancelled
 *   }
 *   assert.ok(task instanceof Task);
 *   assert.equal(task.outcome, CANCELLED_OUTCOME);
 * });
 * ```
 */
export const CANCELLED_OUTCOME = 3;

/**
 * Join state (bits 2–3 of `Task.bits`): nobody joined the task yet, so a
 * failure waits for a joiner (or is reported at shutdown).
 *
 * @example
 * ```ts
 * import { Runtime, spawn } from "../../mod.ts";
 * import { JOIN_NONE, type Task } from "./task.ts";
 * import assert from "node:assert/strict";
 *
 * await new Runtime().run(function* () {
 *   const task = spawn(function* () {}) as Task<void>;
 *   assert.equal(task.joinState, JOIN_NONE);
 *   yield* task;
 * });
 * ```
 */
export const JOIN_NONE = 0;
/**
 * Join state: a joiner (or a JoinSet) took the outcome, so a failure is
 * observed and never reported as unhandled.
 *
 * @example
 * ```ts
 * import { Runtime, spawn } from "../../mod.ts";
 * import { JOIN_OBSERVED, type Task } from "./task.ts";
 * import assert from "node:assert/strict";
 *
 * await new Runtime().run(function* () {
 *   const task = spawn(function* () {}) as Task<void>;
 *   yield* task;
 *   assert.equal(task.joinState, JOIN_OBSERVED);
 * });
 * ```
 */
export const JOIN_OBSERVED = 1;
/**
 * Join state: the handle was detached, so nobody will join and a failure is
 * reported when it happens.
 *
 * @example
 * ```ts
 * import { Runtime, spawn } from "../../mod.ts";
 * import { JOIN_DETACHED, type Task } from "./task.ts";
 * import assert from "node:assert/strict";
 *
 * await new Runtime().run(function* () {
 *   const task = spawn(function* () {}) as Task<void>;
 *   task.detach();
 *   assert.equal(task.joinState, JOIN_DETACHED);
 * });
 * ```
 */
export const JOIN_DETACHED = 2;
/**
 * One of {@linkcode JOIN_NONE}, {@linkcode JOIN_OBSERVED}, {@linkcode JOIN_DETACHED}.
 *
 * @example
 * ```ts
 * import { JOIN_DETACHED, type JoinState } from "./task.ts";
 * const state: JoinState = JOIN_DETACHED;
 * ```
 */
export type JoinState = typeof JOIN_NONE | typeof JOIN_OBSERVED | typeof JOIN_DETACHED;

const OUTCOME_MASK = 3;
const JOIN_SHIFT = 2;
const JOIN_BITS = 3;
const JOIN_MASK = JOIN_BITS << JOIN_SHIFT;
const CANCELLING = 1 << 4;
/**
 * Bit of `Task.bits`: the body is a native generator, so the scheduler
 * resumes it with {@linkcode resumeGenerator}.
 *
 * @example
 * ```ts ignore
 * // Not run: the body and the task exist only inside the scheduler's poll loop.
 * const res = (task.bits & GENERATOR_BODY) !== 0 ? resumeGenerator.call(body) : body.next();
 * ```
 */
export const GENERATOR_BODY: number = 1 << 5;

/**
 * Bit of `Task.bits` the task instrumentation (runtime/instrument/) owns:
 * the wait of the task's next poll is being timed. Zero when it is off.
 *
 * @example
 * ```ts
 * import { GENERATOR_BODY, INSTRUMENT_ARMED } from "./task.ts";
 * import assert from "node:assert/strict";
 * assert.equal(INSTRUMENT_ARMED & GENERATOR_BODY, 0);
 * ```
 */
export const INSTRUMENT_ARMED: number = 1 << 6;
/**
 * Bit of `Task.bits` the task instrumentation owns: the task has a row of
 * its own (taken at the end of its first poll that leaves it alive, or when
 * a snapshot reads it). Zero when it is off, and for a task that finishes
 * in its first poll.
 *
 * @example
 * ```ts
 * import { INSTRUMENT_ARMED, INSTRUMENT_ROW } from "./task.ts";
 * import assert from "node:assert/strict";
 * assert.equal(INSTRUMENT_ROW & INSTRUMENT_ARMED, 0);
 * ```
 */
export const INSTRUMENT_ROW: number = 1 << 7;
/**
 * Bits of `Task.bits` from here up: the task instrumentation's count of
 * the task's self-wakes not yet moved to its row (kept on the task, whose
 * object a poll has in cache anyway). Zero when it is off.
 *
 * @example
 * ```ts
 * import { INSTRUMENT_COUNT_SHIFT, INSTRUMENT_ROW } from "./task.ts";
 * import assert from "node:assert/strict";
 * assert.ok(1 << INSTRUMENT_COUNT_SHIFT > INSTRUMENT_ROW);
 * ```
 */
export const INSTRUMENT_COUNT_SHIFT = 8;

/**
 * `%GeneratorPrototype%.next`. A scheduler that polls many kinds of
 * generators makes `body.next` a megamorphic property load; calling this
 * function directly on a body known to be a native generator skips it.
 *
 * @example
 * ```ts
 * import { resumeGenerator } from "./task.ts";
 * import assert from "node:assert/strict";
 * function* g() {
 *   yield 1;
 * }
 * assert.equal(resumeGenerator.call(g()).value, 1);
 * ```
 */
export const resumeGenerator: (this: Iterator<unknown>, v?: unknown) => IteratorResult<unknown> =
  Object.getPrototypeOf(function* () {}).prototype.next;

let nextId = 1;

/**
 * A spawned task. Users see it as a {@linkcode JoinHandle}.
 *
 * @example
 * ```ts
 * import { run, spawn } from "../../mod.ts";
 * await run(function* () {
 *   const task = spawn(function* () {});
 *   yield* task;
 * });
 * ```
 */
export class Task<T> implements Waker, JoinHandle<T>, Iterator<unknown, T, unknown> {
  /** Unique id. */
  readonly id: number;
  /** Index of the state word in the scheduler's header table. */
  slot: number;
  /** The scheduler that owns and polls this task. */
  readonly sched: TaskOwner;
  /**
   * While the task runs, its body (an iterator); once finished, the value,
   * the error thrown, or the cancellation reason. One field for both keeps
   * a task small (a million may be alive at once).
   */
  body: unknown;
  /** Who to wake at completion: a waker, a list of them, or null. */
  joinWakers: Waker | Waker[] | null;
  /**
   * Packed small state: the outcome (bits 0–1: PENDING_OUTCOME, OK, FAILED,
   * CANCELLED_OUTCOME), the join state (bits 2–3: JOIN_NONE, JOIN_OBSERVED,
   * JOIN_DETACHED), "cancelling" (bit 4) and GENERATOR_BODY (bit 5).
   */
  bits: number;

  /** Make a task around `iter`; the scheduler assigns the slot. */
  constructor(sched: TaskOwner, iter: Iterator<unknown, T, unknown>, slot: number) {
    this.id = nextId++;
    this.slot = slot;
    this.sched = sched;
    this.body = iter;
    this.joinWakers = null;
    this.bits = (iter as { next?: unknown }).next === resumeGenerator ? GENERATOR_BODY : 0;
  }

  /** PENDING_OUTCOME, OK, FAILED or CANCELLED_OUTCOME. */
  get outcome(): number {
    return this.bits & OUTCOME_MASK;
  }

  /** The body; null once complete. */
  get iter(): Iterator<unknown, T, unknown> | null {
    return (this.bits & OUTCOME_MASK) === PENDING_OUTCOME
      ? this.body as Iterator<unknown, T, unknown>
      : null;
  }

  /** The value, the error thrown, or the cancellation reason (undefined while running). */
  get result(): unknown {
    return (this.bits & OUTCOME_MASK) === PENDING_OUTCOME ? undefined : this.body;
  }

  /** JOIN_NONE, JOIN_OBSERVED (a joiner or a JoinSet took the outcome) or JOIN_DETACHED. */
  get joinState(): JoinState {
    return ((this.bits >> JOIN_SHIFT) & JOIN_BITS) as JoinState;
  }
  set joinState(v: JoinState) {
    this.bits = (this.bits & ~JOIN_MASK) | (v << JOIN_SHIFT);
  }

  /** Cancelled, and running its (suspended) finally blocks to the end. */
  get cancelling(): boolean {
    return (this.bits & CANCELLING) !== 0;
  }
  set cancelling(v: boolean) {
    this.bits = v ? this.bits | CANCELLING : this.bits & ~CANCELLING;
  }

  /** Record the outcome and drop the body (scheduler use; once). */
  complete(outcome: number, result: unknown): void {
    this.body = result;
    this.bits = (this.bits & ~OUTCOME_MASK) | outcome;
  }

  /** Waker: schedule this task to be polled. */
  wake(): void {
    this.sched.wake(this);
  }

  /** Abort: cancel the task (see JoinHandle.abort). */
  abort(): void {
    this.sched.abort(this);
  }

  /** Whether the task finished. */
  isFinished(): boolean {
    return (this.bits & OUTCOME_MASK) !== PENDING_OUTCOME;
  }

  /** Nobody will join: report a failure now or when it happens. */
  detach(): void {
    this.joinState = JOIN_DETACHED;
    if (this.outcome === FAILED) this.sched.reportUnobserved(this);
  }

  /**
   * `yield* handle`: a leaf waiting for completion — or, when the task has
   * already finished, the task itself, whose `next()` hands out the outcome
   * at once (no allocation on the join-after-finish path).
   */
  [Symbol.iterator](): Iterator<unknown, T, unknown> {
    if ((this.bits & OUTCOME_MASK) !== PENDING_OUTCOME) return this;
    return new JoinWait(this);
  }

  /** Iterator of a finished task's join: its value, or its JoinError thrown. */
  next(): IteratorResult<unknown, T> {
    return { done: true, value: this.take() };
  }

  /** Iterator protocol: nothing to cancel for a finished join. */
  return(value?: unknown): IteratorResult<unknown, T> {
    return { done: true, value: value as T };
  }

  /** `await handle`. */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#promise().then(onfulfilled, onrejected);
  }

  #promise(): Promise<T> {
    if (this.outcome !== PENDING_OUTCOME) {
      try {
        return Promise.resolve(this.take());
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.addJoinWaker({
        wake: () => {
          try {
            resolve(this.take());
          } catch (e) {
            reject(e);
          }
        },
      });
    });
  }

  /** Register a waker to run at completion (the JoinHandle's waker). */
  addJoinWaker(w: Waker): void {
    const cur = this.joinWakers;
    if (cur === null) this.joinWakers = w;
    else if (Array.isArray(cur)) {
      if (!cur.includes(w)) cur.push(w);
    } else if (cur !== w) this.joinWakers = [cur, w];
    setJoinWaker(this.sched.headers.words, this.slot, LOCAL);
  }

  /** Remove a join waker (a cancelled joiner). */
  removeJoinWaker(w: Waker): void {
    const cur = this.joinWakers;
    if (cur === w) this.joinWakers = null;
    else if (Array.isArray(cur)) {
      const i = cur.indexOf(w);
      if (i >= 0) cur.splice(i, 1);
    }
  }

  /** The outcome of a finished task: its value, or a JoinError thrown. */
  take(): T {
    const bits = this.bits;
    if ((bits & JOIN_MASK) === JOIN_NONE << JOIN_SHIFT) {
      this.bits = bits | (JOIN_OBSERVED << JOIN_SHIFT);
    }
    const outcome = bits & OUTCOME_MASK;
    if (outcome === OK) return this.body as T;
    if (outcome === FAILED) {
      this.sched.observed(this);
      throw new JoinError(this.id, this.body, false);
    }
    if (outcome === CANCELLED_OUTCOME) {
      throw new JoinError(this.id, this.body ?? new CancelledError(), true);
    }
    throw new Error("join of an unfinished task");
  }
}

/** The leaf a joiner waits in. */
class JoinWait<T> extends Leaf<T> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "join";
  }

  #task: Task<T>;
  #waker: Waker | null = null;
  constructor(task: Task<T>) {
    super();
    this.#task = task;
  }
  protected poll(waker: Waker): Poll<T> {
    const t = this.#task;
    if (t.outcome !== PENDING_OUTCOME) {
      if (this.#waker !== null) t.removeJoinWaker(this.#waker);
      return t.take();
    }
    if (this.#waker !== waker) {
      if (this.#waker !== null) t.removeJoinWaker(this.#waker);
      this.#waker = waker;
      t.addJoinWaker(waker);
    }
    return PENDING;
  }
  protected cancel(): void {
    if (this.#waker !== null) this.#task.removeJoinWaker(this.#waker);
    this.#waker = null;
  }
}
