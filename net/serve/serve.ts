/**
 * Multi-core TCP serving over a `WorkerPool`: the main-thread side of
 * `serve(rt, listen, moduleUrl, handlerName)`.
 *
 * Each pool worker binds its own listener on the same address with
 * SO_REUSEPORT, so the kernel balances new connections over the workers;
 * each worker runs its own accept loop and spawns the handler registered
 * with `defineHandler(handlerName, fn)` in `moduleUrl` for every connection,
 * as a task pinned to that worker (the connection never leaves it). The
 * binds are pinned shared tasks (`pool.spawnOn`, see `serve_task.ts`).
 * Port 0: worker 0 binds first and the others bind the port it got.
 *
 * Invariant: `serve` resolves only once every worker listens (or rejects
 * after closing the listeners that were bound); `close()` resolves only once
 * every worker stopped accepting and every connection ended (drained within
 * `drainMs`, else force-closed).
 *
 * @module
 */

import { type Runtime, runtimeHooks } from "../../runtime/runtime.ts";
import type { WorkerPool } from "../../runtime/pool/pool.ts";
import type { SharedJoinHandle } from "../../runtime/pool/handle.ts";
import { JoinError } from "../../runtime/errors.ts";

const SERVE_TASKS = new URL("./serve_task.ts", import.meta.url).href;

/**
 * Where and how to listen (as `TcpListener.bind`; SO_REUSEPORT is always set).
 *
 * @example
 * ```ts
 * import { Runtime, serve, type ServeOptions } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const rt = new Runtime({ poolSize: 2 });
 * const handlers = new URL("../../examples/echo_handler.ts", import.meta.url).href; // defineHandler("echo", …)
 * const listen: ServeOptions = { hostname: "127.0.0.1", port: 0, backlog: 512 };
 * const srv = await serve(rt, listen, handlers, "echo");
 * assert.ok(srv.localAddr.port > 0); // the port worker 0 picked, shared by all
 * await rt.shutdown();
 * ```
 */
export interface ServeOptions {
  /** Local IP literal or "localhost"; default "127.0.0.1". */
  hostname?: string;
  /** Port 0..65535; 0 lets the kernel pick one (all workers then share it). */
  port: number;
  /** Accept queue length per worker (default 1024). */
  backlog?: number;
}

/**
 * Options of {@linkcode Server.close}.
 *
 * @example
 * ```ts
 * import { Runtime, serve, type ServeCloseOptions, TcpStream } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const rt = new Runtime({ poolSize: 2 });
 * const handlers = new URL("../../examples/echo_handler.ts", import.meta.url).href; // defineHandler("echo", …)
 * const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, handlers, "echo");
 * const idle = await TcpStream.connect({ hostname: "127.0.0.1", port: srv.localAddr.port });
 * await idle.writeAll(new Uint8Array([1])); // the echo comes back: the connection is being served
 * await idle.readExact(new Uint8Array(1));
 * // … on shutdown: stop accepting, give open connections a moment, then force-close.
 * const options: ServeCloseOptions = { drainMs: 50 };
 * const final = await srv.close(options);
 * assert.equal(final.forced, 1); // the idle connection was force-closed
 * idle.close();
 * await rt.shutdown();
 * ```
 */
export interface ServeCloseOptions {
  /** How long open connections may run on after accepting stopped (default 2000 ms). */
  drainMs?: number;
}

/**
 * Counters of one worker's listener.
 *
 * @example
 * ```ts
 * import { Runtime, serve, type ServeWorkerStats } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const rt = new Runtime({ poolSize: 2 });
 * const handlers = new URL("../../examples/echo_handler.ts", import.meta.url).href; // defineHandler("echo", …)
 * const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, handlers, "echo");
 * // … later, see how the kernel spread connections over the workers:
 * const perWorker: ServeWorkerStats[] = srv.stats().perWorker;
 * assert.equal(perWorker.length, 2);
 * assert.ok(perWorker.every((w) => w.accepted >= 0 && w.open >= 0));
 * await rt.shutdown();
 * ```
 */
export interface ServeWorkerStats {
  /** Connections this worker accepted. */
  accepted: number;
  /** Connections open on it now. */
  open: number;
}

/**
 * What {@linkcode Server.stats} reports.
 *
 * @example
 * ```ts
 * import { Runtime, serve, type ServeStats, TcpStream } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const rt = new Runtime({ poolSize: 2 });
 * const handlers = new URL("../../examples/echo_handler.ts", import.meta.url).href; // defineHandler("echo", …)
 * const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, handlers, "echo");
 * const conn = await TcpStream.connect({ hostname: "127.0.0.1", port: srv.localAddr.port });
 * await conn.writeAll(new Uint8Array([1]));
 * await conn.readExact(new Uint8Array(1)); // echoed: a worker accepted it
 * const now: ServeStats = srv.stats();
 * assert.equal(now.accepted, 1);
 * assert.equal(now.perWorker.length, 2);
 * conn.close();
 * const final: ServeStats = await srv.close(); // `forced` is known once closed
 * assert.equal(final.accepted, 1);
 * assert.equal(final.forced, 0);
 * await rt.shutdown();
 * ```
 */
export interface ServeStats {
  /** Connections accepted over all workers. */
  accepted: number;
  /** Connections open now over all workers. */
  open: number;
  /** Per pool worker, in worker order. */
  perWorker: ServeWorkerStats[];
  /** Connections force-closed at the drain deadline (known once `close()` resolved). */
  forced: number;
}

/**
 * The bound address of a server (every worker's listener has it).
 *
 * @example
 * ```ts
 * import { Runtime, serve, type ServeAddr, TcpStream } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const rt = new Runtime({ poolSize: 2 });
 * const handlers = new URL("../../examples/echo_handler.ts", import.meta.url).href; // defineHandler("echo", …)
 * const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, handlers, "echo");
 * const addr: ServeAddr = srv.localAddr;
 * const conn = await TcpStream.connect({ hostname: addr.hostname, port: addr.port });
 * assert.equal(conn.peerAddr.port, addr.port);
 * conn.close();
 * await rt.shutdown();
 * ```
 */
export interface ServeAddr {
  /** Always "tcp". */
  transport: "tcp";
  /** The IP it listens on. */
  hostname: string;
  /** The port (the chosen one when 0 was asked). */
  port: number;
}

let nextId = 1;

function checkOptions(o: ServeOptions, url: string, name: string): void {
  if (o === null || typeof o !== "object") {
    throw new TypeError("serve: listen options must be an object ({ hostname?, port })");
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    throw new RangeError(`serve: port must be an integer in 0..65535, got ${o.port}`);
  }
  if (o.hostname !== undefined && (typeof o.hostname !== "string" || o.hostname.length === 0)) {
    throw new TypeError("serve: hostname must be a non-empty string");
  }
  const b = o.backlog;
  if (b !== undefined && (!Number.isInteger(b) || b < 1 || b > 65535)) {
    throw new RangeError("serve: backlog must be an integer in 1..65535");
  }
  if (typeof url !== "string") throw new TypeError("serve: moduleUrl must be a URL string");
  try {
    new URL(url);
  } catch {
    throw new TypeError(`serve: moduleUrl is not an absolute URL: ${url}`);
  }
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError("serve: handlerName must be a non-empty string");
  }
}

/** The remote error of a failed bind, as a local one of the same class where it is a builtin. */
function unwrap(e: unknown): unknown {
  const c = e instanceof JoinError && e.cause !== undefined ? e.cause : e;
  if (!(c instanceof Error)) return c;
  const Ctor = c.name === "TypeError" ? TypeError : c.name === "RangeError" ? RangeError : null;
  if (Ctor === null || c instanceof Ctor) return c;
  const t = new Ctor(c.message);
  t.stack = c.stack;
  return t;
}

/**
 * A running multi-worker TCP server (made by `serve(rt, …)`).
 *
 * @example
 * ```ts
 * import { Runtime, serve } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const rt = new Runtime({ poolSize: 2 });
 * const handlers = new URL("../../examples/echo_handler.ts", import.meta.url).href; // defineHandler("echo", …)
 * const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, handlers, "echo");
 * assert.equal(srv.stats().perWorker.length, 2);
 * await srv.close({ drainMs: 1000 });
 * assert.equal(srv.closing, true);
 * await rt.shutdown();
 * ```
 */
export class Server {
  /** The address every worker listens on. */
  readonly localAddr: ServeAddr;
  readonly #pool: WorkerPool;
  readonly #id: number;
  readonly #stats: Int32Array;
  readonly #workers: number;
  #forced = 0;
  #closed: Promise<ServeStats> | null = null;
  #onClosed: (s: Server) => void;

  /**
   * Internal: made by {@linkcode startServe}.
   *
   * @param pool the worker pool that serves.
   * @param id the server's id in the pool.
   * @param stats the shared per-worker counters.
   * @param addr the address every worker listens on.
   * @param onClosed called once the server closed.
   */
  constructor(
    pool: WorkerPool,
    id: number,
    stats: Int32Array,
    addr: ServeAddr,
    onClosed: (s: Server) => void,
  ) {
    this.#pool = pool;
    this.#id = id;
    this.#stats = stats;
    this.#workers = pool.workers;
    this.localAddr = addr;
    this.#onClosed = onClosed;
  }

  /** True once `close()` was called. */
  get closing(): boolean {
    return this.#closed !== null;
  }

  /**
   * Counters now: accepted and open connections per worker.
   *
   * @returns the counters now.
   * @example
   * ```ts
   * import { Runtime, serve } from "../../mod.ts";
   * import assert from "node:assert/strict";
   * const rt = new Runtime({ poolSize: 2 });
   * const handlers = new URL("../../examples/echo_handler.ts", import.meta.url).href; // defineHandler("echo", …)
   * const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, handlers, "echo");
   * assert.deepEqual(srv.stats().perWorker.map((w) => w.accepted), [0, 0]);
   * await rt.shutdown();
   * ```
   */
  stats(): ServeStats {
    const perWorker: ServeWorkerStats[] = [];
    let accepted = 0, open = 0;
    for (let i = 0; i < this.#workers; i++) {
      const a = Atomics.load(this.#stats, 16 * i);
      const o = Atomics.load(this.#stats, 16 * i + 1);
      perWorker.push({ accepted: a, open: o });
      accepted += a;
      open += o;
    }
    return { accepted, open, perWorker, forced: this.#forced };
  }

  /**
   * Stop accepting on every worker, let open connections finish for up to
   * `drainMs` (default 2000), close what is left, and resolve with the final
   * counters once every connection ended. Idempotent.
   *
   * @param options `drainMs`: how long open connections may take (default 2000).
   * @returns a promise of the final counters.
   * @throws {RangeError} when `drainMs` is negative or not finite.
   * @example
   * ```ts
   * import { Runtime, serve } from "../../mod.ts";
   * import assert from "node:assert/strict";
   * const rt = new Runtime({ poolSize: 2 });
   * const handlers = new URL("../../examples/echo_handler.ts", import.meta.url).href; // defineHandler("echo", …)
   * const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, handlers, "echo");
   * const { accepted, forced } = await srv.close({ drainMs: 500 });
   * assert.deepEqual([accepted, forced], [0, 0]);
   * await rt.shutdown();
   * ```
   */
  close(options?: ServeCloseOptions): Promise<ServeStats> {
    options ??= {};
    const drainMs = options?.drainMs ?? 2000;
    if (typeof drainMs !== "number" || !(drainMs >= 0) || !Number.isFinite(drainMs)) {
      throw new RangeError("close: drainMs must be a finite number >= 0");
    }
    if (this.#closed === null) this.#closed = this.#close(Math.round(drainMs));
    return this.#closed;
  }

  async #close(drainMs: number): Promise<ServeStats> {
    try {
      const hs: SharedJoinHandle<number>[] = [];
      for (let i = 0; i < this.#workers; i++) {
        try {
          hs.push(
            this.#pool.spawnOn<number>(i, SERVE_TASKS, "dokio.serve.close", this.#id, drainMs),
          );
        } catch {
          // that worker is gone (or the pool shut down): its listener went with it
        }
      }
      const rs = await Promise.allSettled(hs);
      for (const r of rs) if (r.status === "fulfilled") this.#forced += r.value;
      return this.stats();
    } finally {
      this.#onClosed(this);
    }
  }
}

/**
 * Bind one SO_REUSEPORT listener per pool worker and start serving with the
 * handler `handlerName` of `moduleUrl`. Bad arguments throw at the call;
 * bind failures (EADDRINUSE…) reject.
 *
 * @example
 * ```ts
 * import { startServe } from "./serve.ts";
 * import { WorkerPool } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = await WorkerPool.start({ workers: 1 });
 * const handlers = new URL("../../examples/echo_handler.ts", import.meta.url).href; // defineHandler("echo", …)
 * const srv = await startServe(pool, { hostname: "127.0.0.1", port: 0 }, handlers, "echo", () => {});
 * assert.ok(srv.localAddr.port > 0);
 * await srv.close();
 * await pool.shutdown();
 * ```
 */
export function startServe(
  pool: WorkerPool,
  options: ServeOptions,
  moduleUrl: string,
  handlerName: string,
  onClosed: (s: Server) => void = () => {},
): Promise<Server> {
  checkOptions(options, moduleUrl, handlerName);
  const url = new URL(moduleUrl).href;
  const id = nextId++;
  const n = pool.workers;
  const stats = new SharedArrayBuffer(64 * n);
  const host = options.hostname ?? "127.0.0.1";
  const backlog = options.backlog ?? 1024;
  const bind = (i: number, port: number): SharedJoinHandle<ServeAddr> =>
    pool.spawnOn(
      i,
      SERVE_TASKS,
      "dokio.serve.bind",
      id,
      host,
      port,
      backlog,
      url,
      handlerName,
      stats,
      i,
    );
  const closeBound = async (bound: number[]): Promise<void> => {
    await Promise.allSettled(
      bound.map((i) => pool.spawnOn<number>(i, SERVE_TASKS, "dokio.serve.close", id, 0)),
    );
  };
  return (async () => {
    let first: { hostname: string; port: number };
    try {
      first = await bind(0, options.port);
    } catch (e) {
      throw unwrap(e);
    }
    const rest = [];
    for (let i = 1; i < n; i++) rest.push(bind(i, first.port));
    const rs = await Promise.allSettled(rest);
    const failed = rs.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
    if (failed !== undefined) {
      const bound = [0];
      rs.forEach((r, k) => r.status === "fulfilled" && bound.push(k + 1));
      await closeBound(bound);
      throw unwrap(failed.reason);
    }
    const addr: ServeAddr = { transport: "tcp", hostname: first.hostname, port: first.port };
    return new Server(pool, id, new Int32Array(stats), addr, onClosed);
  })();
}

/**
 * Serve TCP on every pool worker of `rt`: each binds its own listener on
 * `listen`'s address with SO_REUSEPORT (the kernel balances connections)
 * and runs the handler registered with `defineHandler(handlerName, fn)` in
 * `moduleUrl` for each connection it accepts. Port 0: worker 0 picks the
 * port, the others join it (`server.localAddr.port`). `server.close({
 * drainMs })` stops accepting and drains; `rt.shutdown()` closes servers
 * still open.
 *
 * @param rt the runtime whose worker pool serves (`Runtime.builder().poolSize(n)`).
 * @param listen where to listen.
 * @param moduleUrl the module that registers the handler (loaded in every worker).
 * @param handlerName the handler's registered name.
 * @returns the server, once every worker listens.
 * @throws {RangeError} for a bad port or backlog; {TypeError} for a bad URL or name
 *   (at the call); rejects with the bind error (EADDRINUSE…) or when `rt` shuts down
 *   while binding.
 * @example
 * ```ts
 * import { Runtime, serve, TcpStream } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const rt = Runtime.builder().poolSize(2).build();
 * const handlers = new URL("../../examples/echo_handler.ts", import.meta.url).href; // defineHandler("echo", …)
 * const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, handlers, "echo");
 * const conn = await TcpStream.connect({ hostname: "127.0.0.1", port: srv.localAddr.port });
 * await conn.writeAll(new TextEncoder().encode("ping"));
 * const buf = new Uint8Array(4);
 * await conn.readExact(buf);
 * assert.equal(new TextDecoder().decode(buf), "ping");
 * conn.close();
 * await srv.close({ drainMs: 1000 });
 * await rt.shutdown();
 * ```
 */
export function serve(
  rt: Runtime,
  listen: ServeOptions,
  moduleUrl: string,
  handlerName: string,
): Promise<Server> {
  const h = runtimeHooks(rt);
  let forget = (): void => {};
  const p = startServe(h.pool(), listen, moduleUrl, handlerName, () => forget());
  return p.then((srv) => {
    if (h.isShutdown()) {
      return srv.close({ drainMs: 0 }).then(() => {
        throw new Error("the runtime was shut down while serve() was binding");
      });
    }
    forget = h.track({ close: (ms) => srv.close({ drainMs: ms }).then(() => {}) });
    return srv;
  });
}
