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
 * ```ts
 * import { Runtime, serve, TcpStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const rt = new Runtime({ poolSize: 2 });
 * const url = new URL("./echo_handler.ts", import.meta.url).href;
 * const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, url, "echo");
 * const conn = await TcpStream.connect({ hostname: "127.0.0.1", port: srv.localAddr.port });
 * await conn.writeAll(new Uint8Array([1, 2]));
 * const back = new Uint8Array(2);
 * await conn.readExact(back);
 * assert.deepEqual(back, new Uint8Array([1, 2]));
 * conn.close();
 * await rt.shutdown();
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
 * ```ts
 * import { echo } from "./echo_handler.ts";
 * import { run, spawn, TcpListener, TcpStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const reply = await run(function* () {
 *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 *   using client = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
 *   const conn = yield* listener.accept();
 *   spawn(echo(conn));
 *   yield* client.writeAll(new TextEncoder().encode("hi"));
 *   const buf = new Uint8Array(2);
 *   yield* client.readExact(buf);
 *   return new TextDecoder().decode(buf);
 * });
 * assert.equal(reply, "hi");
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
