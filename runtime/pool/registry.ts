/**
 * The shared-task registry: `defineTask(name, fn)` records a function under a
 * process-wide name in the isolate that evaluates the module. Every pool worker
 * imports the module named in `spawnShared(moduleUrl, name, …)` and looks the
 * name up here, so the function itself never crosses threads — only its
 * module URL, its name and its (plain-data) arguments do.
 *
 * `defineHandler(name, fn)` does the same for `rt.serve` connection handlers,
 * in a namespace of their own.
 *
 * Invariant: a name maps to one function per isolate; defining the same name
 * again with a different function is a TypeError (two modules would otherwise
 * silently shadow each other on some workers and not others).
 *
 * @module
 */

import type { Operation } from "../operation.ts";

/**
 * A shared task body: a generator function or an async/plain function of plain args.
 *
 * @example
 * ```ts
 * import { defineTask, type SharedFn } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const sum: SharedFn = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
 * const def = defineTask("doc.SharedFn.sum", sum);
 * assert.equal(def.fn([1, 2, 3]), 6);
 * ```
 */
export type SharedFn = (
  // deno-lint-ignore no-explicit-any
  ...args: any[]
) => Operation<unknown> | PromiseLike<unknown> | unknown;

/**
 * What {@link defineTask} returns: the name to pass to `spawnShared`, and the function.
 *
 * @example
 * ```ts
 * import { defineTask, type SharedTaskDef } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const square: SharedTaskDef<(x: number) => number> = defineTask(
 *   "doc.SharedTaskDef.square",
 *   (x: number) => x * x,
 * );
 * assert.equal(square.name, "doc.SharedTaskDef.square"); // for rt.spawnShared(url, square.name, 4)
 * assert.equal(square.fn(4), 16); // callable locally too
 * ```
 */
export interface SharedTaskDef<F extends SharedFn> {
  /** The registered name. */
  readonly name: string;
  /** The function (callable locally too). */
  readonly fn: F;
}

const registry = new Map<string, SharedFn>();

/**
 * Record `fn` as `name` in `table`; `what` names the caller in errors.
 * TypeError for an empty name, a non-function, or a name another function
 * already holds (defining the same function again is fine).
 */
function register<F>(table: Map<string, F>, what: string, name: string, fn: F): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`${what}: name must be a non-empty string`);
  }
  if (typeof fn !== "function") throw new TypeError(`${what}: fn must be a function`);
  const prev = table.get(name);
  if (prev !== undefined && prev !== fn) {
    throw new TypeError(`${what}: "${name}" is already defined by another function`);
  }
  table.set(name, fn);
}

/**
 * Register `fn` as the shared task `name`. Call it at the top level of a module
 * that every pool worker imports (pass its URL to `spawnShared`). Generator
 * functions run as Dokio tasks (abortable at any `yield*`); async functions get
 * an `AbortSignal` as an extra last argument.
 *
 * @param name the task's name, unique among shared tasks.
 * @param fn the task: a generator function, async function or plain function.
 * @returns the definition (`name` and `fn`).
 * @throws {TypeError} when `name` is empty, `fn` is not a function, or `name` is taken by another
 *   function.
 * @example
 * ```ts
 * import { defineTask } from "./registry.ts";
 * import assert from "node:assert/strict";
 * export const add = defineTask("example.add", function* (a: number, b: number) {
 *   return a + b;
 * });
 * assert.equal(add.name, "example.add");
 * ```
 */
export function defineTask<F extends SharedFn>(name: string, fn: F): SharedTaskDef<F> {
  register(registry, "defineTask", name, fn);
  return Object.freeze({ name, fn });
}

/**
 * The function registered as `name` in this isolate, or undefined.
 *
 * @example
 * ```ts
 * import { defineTask, lookupTask } from "./registry.ts";
 * import assert from "node:assert/strict";
 * defineTask("example.one", () => 1);
 * assert.equal(typeof lookupTask("example.one"), "function");
 * ```
 */
export function lookupTask(name: string): SharedFn | undefined {
  return registry.get(name);
}

/**
 * A connection handler for `rt.serve`: called with each accepted connection
 * (a `TcpStream`) on the pool worker that accepted it. A generator function
 * runs as a Dokio task on that worker; an async function gets the connection
 * and an `AbortSignal`. The server closes the connection when it returns.
 *
 * @example
 * ```ts
 * import { type ConnHandler, defineHandler, type TcpStream } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const hello: ConnHandler<TcpStream> = function* (conn) {
 *   yield* conn.writeAll(new TextEncoder().encode("hello\n"));
 * };
 * const def = defineHandler("doc.ConnHandler.hello", hello);
 * assert.equal(def.fn, hello); // serve it with serve(rt, listen, moduleUrl, def.name)
 * ```
 */
export type ConnHandler<
  // deno-lint-ignore no-explicit-any
  C = any,
> = (
  conn: C,
  signal: AbortSignal,
) => Operation<unknown> | PromiseLike<unknown> | unknown;

/**
 * What {@link defineHandler} returns: the name to pass to `rt.serve`, and the function.
 *
 * @example
 * ```ts
 * import { defineHandler, type HandlerDef, type TcpStream } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const close = (conn: TcpStream): void => conn.close();
 * const def: HandlerDef<typeof close> = defineHandler("doc.HandlerDef.close", close);
 * assert.equal(def.name, "doc.HandlerDef.close"); // for serve(rt, listen, moduleUrl, def.name)
 * ```
 */
export interface HandlerDef<F extends ConnHandler> {
  /** The registered name. */
  readonly name: string;
  /** The function. */
  readonly fn: F;
}

const handlers = new Map<string, ConnHandler>();

/**
 * Register `fn` as the connection handler `name` for `serve(rt, listen,
 * moduleUrl, name)`. Call it at the top level of the module whose URL you
 * pass to `serve`: every pool worker imports that module. Handlers live in
 * their own namespace (a handler is not a shared task, nor the reverse);
 * redefining a name with another function is a TypeError.
 *
 * @param name the handler's name, unique among handlers.
 * @param fn the handler: a generator function or async function given each connection.
 * @returns the definition (`name` and `fn`).
 * @throws {TypeError} when `name` is empty, `fn` is not a function, or `name` is taken by another
 *   function.
 * @example
 * ```ts
 * import { defineHandler } from "./registry.ts";
 * import assert from "node:assert/strict";
 * export const hello = defineHandler("example.hello", function* (conn: { close(): void }) {
 *   conn.close();
 * });
 * assert.equal(hello.name, "example.hello");
 * ```
 */
export function defineHandler<F extends ConnHandler>(name: string, fn: F): HandlerDef<F> {
  register(handlers, "defineHandler", name, fn);
  return Object.freeze({ name, fn });
}

/**
 * The connection handler registered as `name` in this isolate, or undefined.
 *
 * @example
 * ```ts
 * import { defineHandler, lookupHandler } from "./registry.ts";
 * import assert from "node:assert/strict";
 * defineHandler("example.noop", () => {});
 * assert.equal(typeof lookupHandler("example.noop"), "function");
 * ```
 */
export function lookupHandler(name: string): ConnHandler | undefined {
  return handlers.get(name);
}
