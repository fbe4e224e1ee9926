/**
 * The echo connection handler, shared by both paths of examples/echo.ts:
 * the single-thread accept loop calls `echo(conn)` directly, and the
 * multi-worker path (`--workers N`) serves it with `serve(rt, …, "echo")` —
 * every pool worker imports this module, where `defineHandler` registers it.
 *
 * Invariant: `echo` writes back exactly the bytes it read, in order, until
 * EOF, and closes the connection whatever happens.
 *
 * @example
 * ```ts ignore
 * import { Runtime, serve } from "../mod.ts";
 * const rt = new Runtime({ poolSize: 2 });
 * const srv = await serve(rt, { port: 7000 }, new URL("./echo_handler.ts", import.meta.url).href, "echo");
 * ```
 *
 * @module
 */

import { defineHandler, type TcpStream } from "../mod.ts";

/**
 * Connections open in this isolate (the single-thread path force-closes them at the drain
 * deadline).
 *
 * @example
 * ```ts
 * import { open } from "./echo_handler.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(open.size, 0); // no connection is being echoed yet
 * // At the drain deadline: for (const conn of open) conn.close();
 * ```
 */
export const open: Set<TcpStream> = new Set();

/**
 * Echo one connection until EOF; reuses one buffer.
 *
 * @example
 * ```ts ignore
 * spawn(echo(conn));
 * ```
 */
export function* echo(conn: TcpStream): Generator<unknown, void, unknown> {
  open.add(conn);
  const buf = new Uint8Array(16384);
  try {
    conn.setNoDelay(true);
    for (;;) {
      const n = yield* conn.read(buf);
      if (n === null) return;
      yield* conn.writeAll(buf.subarray(0, n));
    }
  } catch {
    // peer reset, or closed at shutdown: nothing to do but close
  } finally {
    open.delete(conn);
    conn.close();
  }
}

/**
 * `echo` registered for `serve(rt, listen, thisModuleUrl, "echo")`.
 *
 * @example
 * ```ts
 * import { echo, echoHandler } from "./echo_handler.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(echoHandler.name, "echo"); // serve(rt, listen, thisModuleUrl, echoHandler.name)
 * assert.equal(echoHandler.fn, echo);
 * ```
 */
export const echoHandler: { readonly name: string; readonly fn: typeof echo } = defineHandler(
  "echo",
  echo,
);
