/**
 * The worker side of `serve(rt, …)`: two shared tasks every pool worker runs
 * pinned (`spawnOn`), one listener per worker.
 *
 * - `dokio.serve.bind(id, hostname, port, backlog, handlerUrl, handlerName,
 *   stats, index)` imports the handler module, binds a listener with
 *   SO_REUSEPORT on `hostname:port` (so the kernel spreads incoming
 *   connections over the workers' listeners), starts a local accept loop that
 *   spawns the handler for each connection (as a task pinned to this worker),
 *   and returns the bound address at once — the accept loop lives on.
 * - `dokio.serve.close(id, drainMs)` stops accepting (closes the listener),
 *   waits up to `drainMs` for open connections to end, then closes what is
 *   left (their pending I/O ends with ClosedError), gives handlers one more
 *   second and aborts any still running. Returns how many were force-closed.
 *
 * Counters go into the `stats` SharedArrayBuffer the main thread made
 * (int32 words `16·index + 0` accepted, `+1` open now), read there without
 * a message.
 *
 * Invariant: every accepted connection is closed by the server once its
 * handler ends, whatever the outcome; `close` resolves only after every
 * handler task of this worker's server has ended.
 *
 * @module
 */

import { type ConnHandler, defineTask, lookupHandler } from "../../runtime/pool/registry.ts";
import { call } from "../../runtime/call.ts";
import { CancelledError, ClosedError, JoinError } from "../../runtime/errors.ts";
import type { JoinHandle } from "../../runtime/task/join_handle.ts";
import type { Operation } from "../../runtime/operation.ts";
import { spawn } from "../../runtime/runtime.ts";
import { TcpListener, type TcpStream } from "../mod.ts";
import { IoError } from "../../ffi/errors.ts";
import { select } from "../../sync/select.ts";
import { TaskTracker } from "../../sync/task_tracker.ts";
import { sleep } from "../../time/sleep.ts";
import { isGeneratorFunction } from "../../runtime/task/body.ts";

/** Time (ms) given to handlers after their connections were force-closed. */
const FORCED_GRACE_MS = 1000;

interface Serving {
  listener: TcpListener;
  handler: ConnHandler;
  name: string;
  isGen: boolean;
  stats: Int32Array;
  base: number;
  tracker: TaskTracker;
  tasks: Map<TcpStream, JoinHandle<void>>;
  acceptor: JoinHandle<void> | null;
}

const servers = new Map<number, Serving>();

function quiet(e: unknown): boolean {
  return e instanceof ClosedError || e instanceof CancelledError || e instanceof IoError;
}

/** Close a connection whose handler ended, once, and take it off the counts. */
function connEnded(s: Serving, conn: TcpStream): void {
  if (s.tasks.delete(conn)) Atomics.sub(s.stats, s.base + 1, 1);
  conn.close();
}

/** A function handler: run it under `call` and close its connection however it ends. */
function* serveConn(s: Serving, conn: TcpStream): Generator<unknown, void, unknown> {
  try {
    yield* call((signal: AbortSignal) => s.handler(conn, signal));
  } catch (e) {
    if (!quiet(e)) console.error(`dokio serve: handler "${s.name}" failed:`, e);
  } finally {
    connEnded(s, conn);
  }
}

/**
 * A generator handler runs as the connection's task itself, with no wrapping
 * generator: a `yield*` layer costs a delegated resume on every wake of the
 * connection (~0.2 µs per echo round trip). Its end is seen through its
 * JoinHandle instead, once per connection.
 */
function spawnGen(s: Serving, conn: TcpStream): JoinHandle<void> {
  const body = s.handler(conn, new AbortController().signal) as Operation<void>;
  const h = s.tracker.spawn(body);
  h.then(() => connEnded(s, conn), (e: unknown) => {
    const cause = e instanceof JoinError ? (e.cancelled ? null : e.cause) : e;
    if (cause !== null && !quiet(cause)) {
      console.error(`dokio serve: handler "${s.name}" failed:`, cause);
    }
    connEnded(s, conn);
  });
  return h;
}

function* acceptLoop(s: Serving): Generator<unknown, void, unknown> {
  const incoming = s.listener.incoming({
    onError: (e) => console.error(`dokio serve: accept: ${e.code}, backing off`),
  });
  for (;;) {
    const conn = yield* incoming.accept();
    if (conn === null) return;
    Atomics.add(s.stats, s.base, 1);
    Atomics.add(s.stats, s.base + 1, 1);
    const h = s.isGen ? spawnGen(s, conn) : s.tracker.spawn(serveConn(s, conn));
    s.tasks.set(conn, h);
  }
}

/**
 * Bind this worker's listener and start its accept loop; returns the bound address.
 *
 * @example
 * ```ts
 * import { serveBind } from "./serve_task.ts";
 * import assert from "node:assert/strict";
 *
 * // serve(rt, …) runs it pinned on each pool worker i:
 * // pool.spawnOn(i, serveTaskUrl, serveBind.name, id, host, port, backlog, handlerUrl,
 * //   handlerName, stats, i)
 * assert.equal(serveBind.name, "dokio.serve.bind");
 * ```
 */
export const serveBind = defineTask(
  "dokio.serve.bind",
  function* (
    id: number,
    hostname: string,
    port: number,
    backlog: number,
    handlerUrl: string,
    handlerName: string,
    stats: SharedArrayBuffer,
    index: number,
  ): Generator<unknown, { hostname: string; port: number }, unknown> {
    yield* call(import(handlerUrl));
    const handler = lookupHandler(handlerName);
    if (handler === undefined) {
      throw new TypeError(`serve: no handler "${handlerName}" is defined by ${handlerUrl}`);
    }
    if (servers.has(id)) throw new Error(`serve: server ${id} already bound here`);
    const listener = yield* TcpListener.bind({ hostname, port, backlog, reusePort: true });
    const s: Serving = {
      listener,
      handler,
      name: handlerName,
      isGen: isGeneratorFunction(handler),
      stats: new Int32Array(stats),
      base: 16 * index,
      tracker: new TaskTracker(),
      tasks: new Map(),
      acceptor: null,
    };
    servers.set(id, s);
    s.acceptor = spawn(acceptLoop(s));
    const a = listener.localAddr;
    return { hostname: a.hostname, port: a.port };
  },
);

/**
 * Stop accepting and drain this worker's connections; returns how many were force-closed.
 *
 * @example
 * ```ts
 * import { serveClose } from "./serve_task.ts";
 * import assert from "node:assert/strict";
 *
 * // server.close() runs it on each worker:
 * // pool.spawnOn(i, serveTaskUrl, serveClose.name, id, drainMs)
 * assert.equal(serveClose.name, "dokio.serve.close");
 * ```
 */
export const serveClose = defineTask(
  "dokio.serve.close",
  function* (id: number, drainMs: number): Generator<unknown, number, unknown> {
    const s = servers.get(id);
    if (s === undefined) return 0;
    servers.delete(id);
    s.listener.close();
    try {
      if (s.acceptor !== null) yield* s.acceptor;
    } catch (e) {
      if (!quiet(e)) console.error(`dokio serve: accept loop failed:`, e);
    }
    s.tracker.close();
    const r = yield* select({ drained: s.tracker.wait(), timeout: sleep(drainMs) });
    if (r.key === "drained") return 0;
    // A handler that just ended may still be listed until its JoinHandle callback runs.
    let forced = 0;
    for (const [conn, h] of s.tasks) {
      if (!h.isFinished()) forced++;
      conn.close();
    }
    const r2 = yield* select({ drained: s.tracker.wait(), timeout: sleep(FORCED_GRACE_MS) });
    if (r2.key === "timeout") {
      for (const h of s.tasks.values()) h.abort();
      yield* s.tracker.wait();
    }
    return forced;
  },
);
