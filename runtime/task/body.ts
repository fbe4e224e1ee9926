/**
 * Turning what `spawn` and `run` accept into a task body (an iterator).
 *
 * Accepted: an Operation (a called generator, a leaf, a JoinHandle…), a
 * generator function (called with no arguments), any other function —
 * typically an async function — called with an AbortSignal when the task
 * first runs (its result is then run as an operation, awaited as a promise,
 * or returned as a plain value), or a promise (waited for as with `call()`;
 * aborting the task stops the wait, not the work: pass a function to abort
 * that too). Anything else is a TypeError that says what to pass instead.
 *
 * Invariant: nothing of the user's code runs at spawn time; it starts at the
 * task's first poll (generator bodies and async functions alike).
 *
 * @module
 */

import type { Operation } from "../operation.ts";
import { isThenable, PromiseWait } from "../call.ts";
import { expectedOperation } from "./misuse.ts";

/**
 * What `spawn()`/`run()` accept as a task body.
 *
 * @example
 * ```ts
 * import { run, sleep, type TaskBody } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * function* three(): Generator<unknown, number, unknown> {
 *   yield* sleep(1);
 *   return 3;
 * }
 * const bodies: TaskBody<number>[] = [
 *   three(), // an operation (a called generator)
 *   three, // a generator function, called when the task first runs
 *   async (signal: AbortSignal) => { // an async function, given the task's AbortSignal
 *     await sleep(1);
 *     return signal.aborted ? 0 : 3;
 *   },
 * ];
 * const out: number[] = [];
 * for (const body of bodies) out.push(await run(body));
 * assert.deepEqual(out, [3, 3, 3]);
 * ```
 */
export type TaskBody<T> =
  | Operation<T>
  | (() => Operation<T>)
  | ((signal: AbortSignal) => PromiseLike<T> | T)
  | PromiseLike<T>;

const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor;

/**
 * Whether `f` is a generator function (`function*`): calling it gives an
 * Operation, where any other function is run as an async body.
 *
 * @example
 * ```ts
 * import { isGeneratorFunction } from "./body.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isGeneratorFunction(function* () {}));
 * assert.equal(isGeneratorFunction(async () => {}), false);
 * assert.equal(isGeneratorFunction({}), false);
 * ```
 */
export function isGeneratorFunction(f: unknown): boolean {
  return f instanceof GeneratorFunction;
}
/**
 * `%IteratorPrototype%[Symbol.iterator]`: returns `this`. An object whose
 * `[Symbol.iterator]` is this function (every generator object) is its own
 * iterator, so `toIterator` can return it without the call.
 */
const ITERATOR_SELF = Object.getPrototypeOf(Object.getPrototypeOf(function* () {}.prototype))[
  Symbol.iterator
];

/**
 * Whether `v` is an Operation (an object with `[Symbol.iterator]`, not an array).
 *
 * @example
 * ```ts
 * import { isOperation } from "./body.ts";
 * import assert from "node:assert/strict";
 * function* g() {}
 * assert.ok(isOperation(g()));
 * assert.equal(isOperation([1]), false);
 * ```
 */
export function isOperation(v: unknown): v is Operation<unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) &&
    typeof (v as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
}

/**
 * The iterator a task runs for `body`. Throws a TypeError for anything else.
 *
 * @example
 * ```ts
 * import { toIterator } from "./body.ts";
 * import assert from "node:assert/strict";
 * function* g() { return 1; }
 * assert.equal(toIterator(g).next().value, 1);
 * ```
 */
export function toIterator<T>(body: TaskBody<T>): Iterator<unknown, T, unknown> {
  // Fast path: a called generator (or any object whose iterator is itself).
  if (
    typeof body === "object" && body !== null &&
    (body as { [Symbol.iterator]?: unknown })[Symbol.iterator] === ITERATOR_SELF
  ) {
    return body as unknown as Iterator<unknown, T, unknown>;
  }
  if (typeof body === "function") {
    if (isGeneratorFunction(body)) {
      return (body as () => Operation<T>)()[Symbol.iterator]();
    }
    return factoryBody(body as (signal: AbortSignal) => PromiseLike<T> | T);
  }
  if (isOperation(body)) return body[Symbol.iterator]();
  if (isThenable(body)) return new PromiseWait(body as PromiseLike<T>);
  throw expectedOperation("spawn()/run()", body);
}

function* factoryBody<T>(
  fn: (signal: AbortSignal) => PromiseLike<T> | T | Operation<T>,
): Generator<unknown, T, unknown> {
  let result: unknown = undefined;
  // PromiseWait calls fn with an AbortSignal on the first poll and aborts it on cancel.
  const wait = new PromiseWait<unknown>((signal) => {
    const r = fn(signal);
    if (isOperation(r)) {
      result = r;
      return undefined;
    }
    return r as PromiseLike<unknown> | unknown;
  });
  const v = yield* wait;
  if (result !== undefined) return yield* (result as Operation<T>);
  return v as T;
}
