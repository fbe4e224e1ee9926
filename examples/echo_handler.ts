/**
 * The echo connection handler, shared by both paths of examples/echo.ts:
 * the single-thread accept loop calls `echo(conn)` directly, and the
 * multi-worker path (`--workers N`) serves it with `serve(rt, …, "echo")` —
 * every pool worker imports this module, where `defineHandler` registers it.
 *
 * Invariant: `echo` writes back exactly the bytes it read, in order, until
 * EOF, and closes the connection whatever happens.
 *
 * A client that never reads its echoes: echo's write waits, so echo stops
 * reading from it (its writes stall in turn: back-pressure, nothing buffered
 * beyond the one 16 KiB buffer). A write that makes no progress for the write
 * timeout (default 60 s, as mini-redis's `--write-timeout-ms`) closes the
 * connection, so such a client cannot hold it forever. One checker task per
 * isolate ("write-timer", while any connection is watched) looks at the writes
 * in progress (examples/_write_stall.ts: a stalled write is closed within 1¼
 * timeouts); the write path itself only marks its writes.
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

import { defineHandler, spawn, type TcpStream } from "../mod.ts";
import { WriteStallWatcher } from "./_write_stall.ts";

/**
 * Default write timeout, ms: an echo write that makes no progress this long closes the
 * connection (the same default as mini-redis's `--write-timeout-ms`).
 *
 * @example
 * ```ts
 * import { ECHO_WRITE_TIMEOUT_MS } from "./echo_handler.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ECHO_WRITE_TIMEOUT_MS, 60_000);
 * ```
 */
export const ECHO_WRITE_TIMEOUT_MS = 60_000;

/**
 * The environment variable that sets the write timeout (ms; 0: never) of the handler
 * `serve(rt, …, "echo")` runs on pool workers, which take no arguments: examples/echo.ts sets it
 * from `--write-timeout-ms` before it starts serving.
 *
 * @example
 * ```ts
 * import { ECHO_WRITE_TIMEOUT_ENV } from "./echo_handler.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ECHO_WRITE_TIMEOUT_ENV, "DOKIO_ECHO_WRITE_TIMEOUT_MS");
 * ```
 */
export const ECHO_WRITE_TIMEOUT_ENV = "DOKIO_ECHO_WRITE_TIMEOUT_MS";

/** Connections with a write timeout in this isolate. */
const writes = new WriteStallWatcher();
/** Whether this isolate's checker task runs (it ends when nothing is watched). */
let checking = false;

/** Close connections whose write stalls past their timeout; ends when none is watched. */
function* checkWrites(): Generator<unknown, void, unknown> {
  try {
    yield* writes.run();
  } finally {
    checking = false;
  }
}

/** This isolate's handler write timeout, read once. */
let handlerTimeout = -1;

/** The write timeout of the handler pool workers run (see {@link ECHO_WRITE_TIMEOUT_ENV}). */
function handlerTimeoutMs(): number {
  if (handlerTimeout < 0) handlerTimeout = readHandlerTimeoutMs();
  return handlerTimeout;
}

function readHandlerTimeoutMs(): number {
  let given: string | undefined;
  try {
    given = Deno.env.get(ECHO_WRITE_TIMEOUT_ENV);
  } catch {
    given = undefined; // no env permission: the default
  }
  const ms = given === undefined ? NaN : Number(given);
  return Number.isInteger(ms) && ms >= 0 ? ms : ECHO_WRITE_TIMEOUT_MS;
}

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
 * Echo one connection until EOF; reuses one buffer. A write that makes no progress for
 * `writeTimeoutMs` closes the connection (module doc).
 *
 * @param conn the connection (echo closes it)
 * @param writeTimeoutMs how long one write may make no progress, ms (0: no limit)
 * @returns the task body
 * @throws {RangeError} when `writeTimeoutMs` is not an integer ≥ 0
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
export function echo(
  conn: TcpStream,
  writeTimeoutMs: number = ECHO_WRITE_TIMEOUT_MS,
): Generator<unknown, void, unknown> {
  if (!Number.isInteger(writeTimeoutMs) || writeTimeoutMs < 0) {
    throw new RangeError(`echo: writeTimeoutMs must be an integer >= 0, got ${writeTimeoutMs}`);
  }
  return echoLoop(conn, writeTimeoutMs);
}

function* echoLoop(conn: TcpStream, writeTimeoutMs: number): Generator<unknown, void, unknown> {
  open.add(conn);
  const buf = new Uint8Array(16384);
  // A stalled write fails with ClosedError and its echo ends (and leaves the watcher).
  const watch = writeTimeoutMs > 0 ? writes.watch(writeTimeoutMs, () => conn.close()) : null;
  try {
    conn.setNoDelay(true);
    if (watch !== null && !checking) {
      checking = true;
      spawn(checkWrites, { name: "write-timer" });
    }
    for (;;) {
      const n = yield* conn.read(buf);
      if (n === null) return;
      if (watch === null) {
        yield* conn.writeAll(buf.subarray(0, n));
        continue;
      }
      watch.begin();
      try {
        yield* conn.writeAll(buf.subarray(0, n));
      } finally {
        watch.end();
      }
    }
  } catch {
    // peer reset, closed at shutdown or for a stalled write: nothing to do but close
  } finally {
    if (watch !== null) writes.unwatch(watch);
    open.delete(conn);
    conn.close();
  }
}

/**
 * `echo` registered for `serve(rt, listen, thisModuleUrl, "echo")`, with the write timeout
 * {@link ECHO_WRITE_TIMEOUT_ENV} gives (default {@link ECHO_WRITE_TIMEOUT_MS}).
 *
 * @example
 * ```ts
 * import { echoHandler } from "./echo_handler.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(echoHandler.name, "echo"); // serve(rt, listen, thisModuleUrl, echoHandler.name)
 * assert.equal(typeof echoHandler.fn, "function");
 * ```
 */
export const echoHandler: {
  readonly name: string;
  readonly fn: (conn: TcpStream) => Generator<unknown, void, unknown>;
} = defineHandler("echo", function* (conn: TcpStream): Generator<unknown, void, unknown> {
  // A generator function: serve() runs it as a task (a plain function would run under `call`).
  yield* echo(conn, handlerTimeoutMs());
});
