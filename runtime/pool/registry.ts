/**
 * The shared-task registry: `defineTask(name, fn)` records a function under a
 * process-wide name in the isolate that evaluates the module. Every pool worker
 * imports the module named in `spawnShared(moduleUrl, name, …)` and looks the
 * name up here, so the function itself never crosses threads — only its
 * module URL, its name and its (plain-data) arguments do.
 *
 * `defineHandler(name, fn)` does the same for `serve(rt, …)` connection handlers,
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
 * What {@link defineTask} returns: the task's name, its function and the URL
 * of the module that defined it. Pass it to `rt.spawnShared(task, ...args)`
 * (or `spawnBlocking`): the arguments and the result are then typed from the
 * function.
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
 * assert.equal(square.name, "doc.SharedTaskDef.square");
 * assert.equal(square.module, import.meta.url); // what the pool workers import
 * assert.equal(square.fn(4), 16); // callable locally too
 * ```
 */
export interface SharedTaskDef<F extends SharedFn> {
  /** The registered name. */
  readonly name: string;
  /** The function (callable locally too). */
  readonly fn: F;
  /**
   * The URL of the module that called `defineTask` (every pool worker
   * imports it to find the task), or undefined when it could not be told
   * (then pass it to `defineTask` as its third argument).
   */
  readonly module: string | undefined;
}

/**
 * The arguments a spawner passes to the shared task `F`: its parameters,
 * less a trailing `AbortSignal` (the pool passes that one to async functions).
 *
 * @example
 * ```ts
 * import type { SharedArgs } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const args: SharedArgs<(url: string, tries: number, signal: AbortSignal) => Promise<string>> =
 *   ["https://example.com", 3];
 * assert.equal(args.length, 2);
 * ```
 */
export type SharedArgs<F extends SharedFn> = Parameters<F> extends [...infer A, AbortSignal] ? A
  : Parameters<F>;

/**
 * What the handle of the shared task `F` gives: a generator function's
 * return value, else the (awaited) value the function returns.
 *
 * @example
 * ```ts
 * import type { SharedResult } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * function* square(n: number) {
 *   return n * n;
 * }
 * const v: SharedResult<typeof square> = 144; // number
 * const w: SharedResult<(s: string) => Promise<string>> = "ok"; // string
 * assert.equal(typeof v + typeof w, "numberstring");
 * ```
 */
export type SharedResult<F extends SharedFn> = ReturnType<F> extends // deno-lint-ignore no-explicit-any
Generator<any, infer T, any> ? T
  : Awaited<ReturnType<F>>;

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
 * that every pool worker imports: the module that calls it, whose URL the
 * returned definition records (from the call site; pass `moduleUrl` —
 * `import.meta.url` — if stack traces are turned off). Generator functions
 * run as Dokio tasks (abortable at any `yield*`); async functions get an
 * `AbortSignal` as an extra last argument.
 *
 * A program may define its tasks in its own file: each pool worker then
 * imports the program's module, so guard the main code with
 * `if (import.meta.main) { … }` (a pool built inside a pool worker is refused
 * with an error saying so).
 *
 * @param name a name unique in the process (a module prefix avoids clashes).
 * @param fn the task: a generator function, an async function or a plain one.
 * @param moduleUrl the URL of the module calling this (default: found from the call site).
 * @returns the definition to pass to `rt.spawnShared` / `rt.spawnBlocking`.
 * @throws {TypeError} for an empty name, a non-function, or a name another function holds.
 * @example
 * ```ts
 * import { defineTask, Runtime } from "../../mod.ts";
 * import assert from "node:assert/strict";
 *
 * export const add = defineTask("doc.defineTask.add", function* (a: number, b: number) {
 *   return a + b;
 * });
 * assert.equal(add.name, "doc.defineTask.add");
 * assert.equal(add.module, import.meta.url);
 *
 * if (import.meta.main) { // a pool worker imports this module too
 *   const rt = Runtime.builder().poolSize(1).build();
 *   const sum: number = await rt.spawnShared(add, 2, 3); // typed from the function
 *   assert.equal(sum, 5);
 *   await rt.shutdown();
 * }
 * ```
 */
export function defineTask<F extends SharedFn>(
  name: string,
  fn: F,
  moduleUrl?: string,
): SharedTaskDef<F> {
  register(registry, "defineTask", name, fn);
  if (moduleUrl !== undefined && typeof moduleUrl !== "string") {
    throw new TypeError("defineTask: moduleUrl must be a URL string (import.meta.url)");
  }
  return Object.freeze({ name, fn, module: moduleUrl ?? callerModule(defineTask) });
}

/** A module URL in a stack frame: `at file:///a/b.ts:3:7` or `at f (https://…/c.ts:1:2)`. */
const FRAME_URL = /\(?((?:file|https?|data|jsr|npm):[^\s()]+?):\d+:\d+\)?\s*$/;

/** The URL of the module whose code called `fn`, or undefined when the stack does not say. */
function callerModule(fn: SharedFn): string | undefined {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, fn);
  const frame = holder.stack?.split("\n")[1];
  return frame === undefined ? undefined : FRAME_URL.exec(frame)?.[1];
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
 * A connection handler for `serve(rt, …)`: called with each accepted connection
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
 * What {@link defineHandler} returns: the name to pass to `serve(rt, …)`, and the function.
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
 * import { defineHandler } from "../../mod.ts";
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
