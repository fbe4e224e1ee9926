/**
 * `--console` for the example daemons (echo, mini-redis): turn on the
 * runtime's task instrumentation and serve it — Prometheus text on
 * `/metrics`, the live stream `deno task console` reads on `/console` — at
 * `--console-addr` (default 127.0.0.1:6669, loopback only), and print that
 * address in one line.
 *
 * @module
 */

import { type Operation, Runtime, type RuntimeOptions } from "../mod.ts";
import { UsageError } from "./_flags.ts";

/** The flags, for a daemon's `parseFlags` spec. */
export const CONSOLE_FLAGS = { console: "switch", "console-addr": "string" } as const;

/** Their part of a usage line. */
export const CONSOLE_USAGE = " [--console [--console-addr 127.0.0.1:6669]]";

/** Where the console is served when only `--console` is given. */
export const DEFAULT_CONSOLE_ADDR = "127.0.0.1:6669";

/** Where to serve the console, or null when it is off. */
export type ConsoleAddr = { hostname: string; port: number } | null;

/**
 * The console address the flags ask for: `--console` alone serves on
 * 127.0.0.1:6669; `--console-addr host:port` (alone or with it) there.
 *
 * @param given the parsed flags.
 * @returns the address, or null when the console is off.
 * @throws {UsageError} when `--console-addr` is not `host:port`.
 * @example
 * ```ts
 * import { consoleAddr } from "./_console.ts";
 * import assert from "node:assert/strict";
 * assert.equal(consoleAddr({}), null);
 * assert.deepEqual(consoleAddr({ console: true }), { hostname: "127.0.0.1", port: 6669 });
 * assert.deepEqual(consoleAddr({ "console-addr": "[::1]:0" }), { hostname: "::1", port: 0 });
 * ```
 */
export function consoleAddr(given: { console?: boolean; "console-addr"?: string }): ConsoleAddr {
  const text = given["console-addr"];
  if (text === undefined && given.console !== true) return null;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text ?? DEFAULT_CONSOLE_ADDR);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new UsageError(`--console-addr takes host:port, got ${text}`);
  }
  return { hostname: m[1] ?? m[2], port };
}

/**
 * Run `main` on a runtime made with `options`, instrumented and serving the
 * console at `addr` when it is not null; the runtime is shut down when
 * `main` settles.
 *
 * @param addr where to serve the console, or null.
 * @param options the runtime's options.
 * @param main the daemon's main task, given the runtime.
 * @param name the main task's name (the console shows it).
 * @returns what `main` returns.
 * @throws {UsageError} when the console's address is taken.
 * @example
 * ```ts
 * import { runWithConsole } from "./_console.ts";
 * import assert from "node:assert/strict";
 * const names = await runWithConsole({ hostname: "127.0.0.1", port: 0 }, {}, function* (rt) {
 *   return rt.consoleSnapshot().tasks.map((t) => t.name);
 * }, "demo");
 * assert.ok(names.includes("demo")); // main itself, by its name
 * ```
 */
export async function runWithConsole<T>(
  addr: ConsoleAddr,
  options: RuntimeOptions,
  main: (rt: Runtime) => Operation<T>,
  name?: string,
): Promise<T> {
  await using rt = new Runtime(addr === null ? options : { ...options, instrument: true });
  if (addr !== null) {
    try {
      const srv = await rt.serveMetrics(addr);
      const hp = `${srv.hostname.includes(":") ? `[${srv.hostname}]` : srv.hostname}:${srv.port}`;
      console.log(`console: deno task console ${hp}   (metrics: ${srv.url}/metrics)`);
    } catch (e) {
      if (e instanceof Deno.errors.AddrInUse) {
        throw new UsageError(
          `the console address ${addr.hostname}:${addr.port} is already in use: pick another ` +
            `with --console-addr host:port (port 0 takes any free one)`,
        );
      }
      throw e;
    }
  }
  return await rt.run(main(rt), { name });
}
