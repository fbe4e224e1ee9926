/**
 * JoinSet: a set of tasks owned together, joined in completion order.
 *
 * Invariant: every task spawned into the set is either joined through the
 * set (`joinNext`, iteration) or aborted by it (`abortAll`, `shutdown`,
 * dispose) — a task never outlives a set that was shut down or disposed.
 *
 * @module
 */

import { JoinError } from "../errors.ts";
import type { JoinHandle } from "./join_handle.ts";
import { Leaf, PENDING, type Poll } from "../operation.ts";
import { spawnNamed, type SpawnOptions } from "../runtime.ts";
import type { TaskBody } from "./body.ts";
import { JOIN_OBSERVED, type Task } from "./task.ts";
import type { Waker } from "./waker.ts";

/**
 * A set of spawned tasks, joined in the order they finish.
 *
 * @example
 * ```ts
 * import { run, JoinSet, sleep } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * function* after(ms: number) {
 *   yield* sleep(ms);
 *   return ms;
 * }
 * const order = await run(function* () {
 *   const set = new JoinSet<number>();
 *   set.spawn(after(5));
 *   set.spawn(after(1));
 *   const out: number[] = [];
 *   let v;
 *   while ((v = yield* set.joinNext()) !== undefined) out.push(v);
 *   return out;
 * });
 * assert.equal(order[0], 1);
 * assert.equal(order[1], 5);
 * ```
 */
export class JoinSet<T> implements AsyncIterable<T>, Disposable {
  #tasks = new Set<Task<T>>();
  #done: Task<T>[] = [];
  #doneHead = 0;
  #waiter: Waker | null = null;

  /** Tasks in the set (running or finished and not yet joined). */
  get size(): number {
    return this.#tasks.size;
  }

  /**
   * Spawn `body` into the set.
   *
   * @param body a generator function, a called generator, or an async function.
   * @param options the task's name (for the console and the metrics).
   * @returns the task's handle (the set joins it too).
   * @throws {TypeError} when `body` is none of those.
   */
  spawn(body: TaskBody<T>, options?: SpawnOptions): JoinHandle<T> {
    const task = spawnNamed(body, options?.name, body) as Task<T>;
    this.#tasks.add(task);
    task.joinState = JOIN_OBSERVED; // the set observes its failures
    task.addJoinWaker({
      wake: () => {
        this.#done.push(task);
        const w = this.#waiter;
        this.#waiter = null;
        w?.wake();
      },
    });
    return task;
  }

  /**
   * Take the next finished task, if any: `{ value }`, throws its JoinError, or undefined.
   *
   * @returns `{ value }` of the next finished task, or `undefined` when none has finished.
   * @throws {JoinError} when that task failed or was cancelled.
   */
  tryJoinNext(): { value: T } | undefined {
    if (this.#doneHead === this.#done.length) return undefined;
    const task = this.#done[this.#doneHead++];
    if (this.#doneHead === this.#done.length) {
      this.#done.length = 0;
      this.#doneHead = 0;
    }
    this.#tasks.delete(task);
    return { value: task.take() };
  }

  /**
   * Wait for the next task to finish and return its value (throwing its
   * JoinError if it failed or was cancelled); `undefined` when the set is empty.
   *
   * @returns an operation giving the next value, or `undefined` when the set is empty.
   * @throws {JoinError} (from the operation) when that task failed or was cancelled.
   */
  joinNext(): Leaf<T | undefined> {
    return new JoinNext(this);
  }

  /** Abort every task in the set (they stay in it until joined). */
  abortAll(): void {
    for (const t of this.#tasks) t.abort();
  }

  /**
   * Abort every task and wait until all have finished; the set is then empty.
   *
   * @returns an operation that finishes when every task has.
   */
  shutdown(): Operation<void> {
    return shutdownSet(this);
  }

  /** Dispose (`using`): abort every task. */
  [Symbol.dispose](): void {
    this.abortAll();
  }

  /**
   * Async iteration: values in completion order, stopping when empty.
   *
   * @returns an async iterator of the values in completion order.
   * @throws {JoinError} (from the iterator) when a task failed or was cancelled.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const v = await this.#nextPromise();
      if (v === undefined) return;
      yield v.value;
    }
  }

  async #nextPromise(): Promise<{ value: T } | undefined> {
    for (;;) {
      const r = this.tryJoinNext();
      if (r !== undefined || this.#tasks.size === 0) return r;
      await new Promise<void>((resolve) => {
        this.#waiter = { wake: resolve };
      });
    }
  }

  /**
   * @internal leaf support
   *
   * @param waker woken when a task finishes.
   * @returns the next value boxed, `undefined` when empty, or `PENDING`.
   */
  _pollNext(waker: Waker): Poll<{ value: T } | undefined> {
    const r = this.tryJoinNext();
    if (r !== undefined || this.#tasks.size === 0) return r;
    this.#waiter = waker;
    return PENDING;
  }

  /**
   * @internal leaf support
   *
   * @param waker the waker `_pollNext` registered.
   */
  _cancelWait(waker: Waker): void {
    if (this.#waiter === waker) this.#waiter = null;
  }
}

import type { Operation } from "../operation.ts";

class JoinNext<T> extends Leaf<T | undefined> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "join";
  }

  #set: JoinSet<T>;
  #waker: Waker | null = null;
  constructor(set: JoinSet<T>) {
    super();
    this.#set = set;
  }
  protected poll(waker: Waker): Poll<T | undefined> {
    this.#waker = waker;
    const r = this.#set._pollNext(waker);
    if (r === PENDING) return PENDING;
    return r === undefined ? undefined : r.value;
  }
  protected cancel(): void {
    if (this.#waker !== null) this.#set._cancelWait(this.#waker);
  }
}

function* shutdownSet<T>(set: JoinSet<T>): Generator<unknown, void, unknown> {
  set.abortAll();
  while (set.size > 0) {
    try {
      yield* set.joinNext();
    } catch (e) {
      if (!(e instanceof JoinError)) throw e;
    }
  }
}
