/**
 * The shared-task registry: `defineTask(name, fn)` records a function under a
 * process-wide name in the isolate that evaluates the module. Every pool worker
 * imports the module named in `spawnShared(moduleUrl, name, …)` and looks the
 * name up here, so the function itself never crosses threads — only its
 * module URL, its name and its (plain-data) arguments do.
 *
 * Invariant: a name maps to one function per isolate; defining the same name
 * again with a different function is a TypeError (two modules would otherwise
 * silently shadow each other on some workers and not others).
 *
 * @module
 */

import type { Operation } from "../operation.ts";

/** A shared task body: a generator function or an async/plain function of plain args. */
// deno-lint-ignore no-explicit-any
export type SharedFn = (...args: any[]) => Operation<unknown> | PromiseLike<unknown> | unknown;

/** What {@link defineTask} returns: the name to pass to `spawnShared`, and the function. */
export interface SharedTaskDef<F extends SharedFn> {
  /** The registered name. */
  readonly name: string;
  /** The function (callable locally too). */
  readonly fn: F;
}

const registry = new Map<string, SharedFn>();

/**
 * Register `fn` as the shared task `name`. Call it at the top level of a module
 * that every pool worker imports (pass its URL to `spawnShared`). Generator
 * functions run as Dokio tasks (abortable at any `yield*`); async functions get
 * an `AbortSignal` as an extra last argument.
 *
 * @example
 * ```ts
 * import { defineTask } from "./registry.ts";
 * export const add = defineTask("example.add", function* (a: number, b: number) {
 *   return a + b;
 * });
 * console.log(add.name); // "example.add"
 * ```
 */
export function defineTask<F extends SharedFn>(name: string, fn: F): SharedTaskDef<F> {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError("defineTask: name must be a non-empty string");
  }
  if (typeof fn !== "function") throw new TypeError("defineTask: fn must be a function");
  const prev = registry.get(name);
  if (prev !== undefined && prev !== fn) {
    throw new TypeError(`defineTask: "${name}" is already defined by another function`);
  }
  registry.set(name, fn);
  return Object.freeze({ name, fn });
}

/**
 * The function registered as `name` in this isolate, or undefined.
 *
 * @example
 * ```ts
 * import { defineTask, lookupTask } from "./registry.ts";
 * defineTask("example.one", () => 1);
 * console.log(typeof lookupTask("example.one")); // "function"
 * ```
 */
export function lookupTask(name: string): SharedFn | undefined {
  return registry.get(name);
}
