/**
 * The errors of the common misuses of operations, each naming its fix: a
 * value yielded where `yield*` was meant, and an argument that is not an
 * operation (nor a promise) where one is expected.
 *
 * What a task body may yield: nothing. Operations suspend a task by
 * yielding `undefined` through `yield*`; a value reaching the scheduler means
 * the body wrote `yield x` where it meant `yield* x`, which would otherwise
 * suspend the task forever with nothing to wake it. The scheduler (and the
 * combinators, which drive branches themselves) throw {@linkcode yieldedError}
 * into the body at that `yield`, so the mistake surfaces where it was made.
 *
 * Cost on the normal path: one `value !== undefined` test per suspension.
 * A bare `yield;` yields `undefined` and cannot be told apart from an
 * operation's suspension; it still suspends until something wakes the task.
 *
 * @module
 */

/**
 * The TypeError thrown into a task that yielded `value`: it names the fix
 * (`yield*` for an operation, `call()` for a promise).
 *
 * @param value what the task yielded (not undefined).
 * @returns the error to throw into the task.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { yieldedError } from "./misuse.ts";
 *
 * const e = yieldedError(Promise.resolve(1));
 * assert.ok(e instanceof TypeError);
 * assert.match(e.message, /yield\* call\(promise\)/);
 * ```
 */
export function yieldedError(value: unknown): TypeError {
  const isObject = value !== null && (typeof value === "object" || typeof value === "function");
  if (
    isObject && typeof (value as { then?: unknown }).then === "function" &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== "function"
  ) {
    return new TypeError(
      "a task yielded a promise (`yield promise`). Wait for it with " +
        "`yield* call(promise)`, or with `yield* call((signal) => fetch(url, { signal }))` " +
        "to abort the work when the task is cancelled",
    );
  }
  if (
    isObject && typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function"
  ) {
    return new TypeError(
      "a task yielded an operation (`yield op`). Run it with `yield* op` " +
        "(e.g. `yield* sleep(10)`); wait for a promise with `yield* call(promise)`",
    );
  }
  return new TypeError(
    `a task yielded a value (${describe(value)}). Tasks run operations with \`yield*\` ` +
      "(e.g. `yield* sleep(10)`) and wait for promises with `yield* call(promise)`",
  );
}

/**
 * Throw {@linkcode yieldedError} into `body`, which just yielded `value`,
 * until it finishes or suspends properly (it may catch the error and go on).
 * A body without `throw()` fails with the error.
 *
 * @param body the task's (or branch's) iterator.
 * @param value what it yielded (not undefined).
 * @returns the body's next result: done, or suspended with `undefined`.
 * @throws {TypeError} the error above, when the body does not catch it.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rejectYielded } from "./misuse.ts";
 *
 * function* wrong(): Generator<unknown, string, unknown> {
 *   try {
 *     yield 42;
 *     return "resumed";
 *   } catch (e) {
 *     return (e as Error).name;
 *   }
 * }
 * const body = wrong();
 * const first = body.next();
 * assert.deepEqual(rejectYielded(body, first.value), { done: true, value: "TypeError" });
 * ```
 */
export function rejectYielded(
  body: Iterator<unknown, unknown, unknown>,
  value: unknown,
): IteratorResult<unknown, unknown> {
  let res: IteratorResult<unknown, unknown>;
  do {
    const error = yieldedError(value);
    if (typeof body.throw !== "function") throw error;
    res = body.throw(error);
    value = res.value;
  } while (res.done !== true && value !== undefined);
  return res;
}

/**
 * The TypeError of a function that takes an operation or a promise (`spawn`,
 * `run`, `timeout`, `select`, `race`, `join`, `all`, `TaskTracker.spawn`)
 * given something else: it says what it got and what to pass instead.
 *
 * @param what the function, as the user wrote it (`"timeout()"`).
 * @param got the bad argument.
 * @returns the error to throw at the call.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expectedOperation } from "./misuse.ts";
 *
 * function* worker() {}
 * const e = expectedOperation("timeout()", worker);
 * assert.match(e.message, /`worker\(\)`, not `worker`/);
 * ```
 */
export function expectedOperation(what: string, got: unknown): TypeError {
  const hint = typeof got === "function"
    ? `pass what the function returns (\`${got.name || "fn"}()\`, not \`${got.name || "fn"}\`), ` +
      "or wrap an async function as `call((signal) => fn(signal))`"
    : "an operation is what a generator function or a Dokio call returns " +
      "(`worker()`, `sleep(10)`); a promise is waited for as is, and " +
      "`call((signal) => fetch(url, { signal }))` makes work that aborts on cancel";
  return new TypeError(
    `${what} expected an operation or a promise, got ${describe(got)}: ${hint}`,
  );
}

function describe(value: unknown): string {
  if (typeof value === "function") return `the function ${value.name || "(anonymous)"}`;
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === "symbol") return value.toString();
  if (value === null || typeof value !== "object") return String(value);
  return `an object (${value.constructor?.name ?? "Object"})`;
}
