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
 * ```ts ignore
 * import { Runtime, type ServeOptions } from "../../mod.ts";
 * const rt = new Runtime({ poolSize: 2 });
 * // echo_handler.ts calls defineHandler("echo", …) at its top level.
 * const handlers = new URL("./echo_handler.ts", import.meta.url).href;
 * const listen: ServeOptions = { hostname: "127.0.0.1", port: 0, backlog: 512 };
 * const srv = await serve(rt, listen, handlers, "echo");
 * console.log(srv.localAddr.port); // the port worker 0 picked, shared by all
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
 * ```ts ignore
 * import { Runtime, type ServeCloseOptions } from "../../mod.ts";
 * const rt = new Runtime({ poolSize: 2 });
 * const srv = await serve(rt, { port: 0 }, new URL("./handlers.ts", import.meta.url).href, "echo");
 * // … on shutdown: stop accepting, give open connections half a second, then force-close.
 * const options: ServeCloseOptions = { drainMs: 500 };
 * const final = await srv.close(options);
 * console.log(final.forced, "connections were force-closed");
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
 * ```ts ignore
 * import { Runtime, type ServeWorkerStats } from "../../mod.ts";
 * const rt = new Runtime({ poolSize: 2 });
 * const srv = await serve(rt, { port: 0 }, new URL("./handlers.ts", import.meta.url).href, "echo");
 * // … later, see how the kernel spread connections over the workers:
 * const perWorker: ServeWorkerStats[] = srv.stats().perWorker;
 * for (const [i, w] of perWorker.entries()) {
 *   console.log(`worker ${i}: ${w.accepted} accepted, ${w.open} open`);
 * }
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
 * ```ts ignore
 * import { Runtime, type ServeStats } from "../../mod.ts";
 * const rt = new Runtime({ poolSize: 2 });
 * const srv = await serve(rt, { port: 0 }, new URL("./handlers.ts", import.meta.url).href, "echo");
 * const now: ServeStats = srv.stats();
 * console.log(now.accepted, now.open, now.perWorker.length); // perWorker.length === 2
 * const final: ServeStats = await srv.close(); // `forced` is known once closed
 * console.log(final.accepted, final.forced);
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
 * ```ts ignore
 * import { Runtime, type ServeAddr, TcpStream } from "../../mod.ts";
 * const rt = new Runtime({ poolSize: 2 });
 * const srv = await serve(rt, { port: 0 }, new URL("./handlers.ts", import.meta.url).href, "echo");
 * const addr: ServeAddr = srv.localAddr;
 * const conn = await TcpStream.connect({ hostname: addr.hostname, port: addr.port });
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
 * A running multi-worker TCP server (made by `rt.serve`).
 *
 * @example
 * ```ts ignore
 * const srv = await serve(rt, { port: 0 }, handlerUrl, "echo");
 * console.log(srv.localAddr.port, srv.stats().perWorker);
 * await srv.close({ drainMs: 1000 });
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

  /** Internal: made by {@linkcode startServe}. */
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
   * @example
   * ```ts ignore
   * console.log(srv.stats().perWorker.map((w) => w.accepted));
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
   * @example
   * ```ts ignore
   * const { accepted, forced } = await srv.close({ drainMs: 500 });
   * ```
   */
  close(options: ServeCloseOptions = {}): Promise<ServeStats> {
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
 * ```ts ignore
 * const srv = await startServe(pool, { port: 0 }, handlerUrl, "echo", () => {});
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
 * ```ts ignore
 * import { Runtime, serve } from "../../mod.ts";
 * const rt = Runtime.builder().poolSize(2).build();
 * const handlers = new URL("./echo_handler.ts", import.meta.url).href;
 * const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, handlers, "echo");
 * console.log(srv.localAddr.port);
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
        throw new Error("dokio: the runtime was shut down while serve() was binding");
      });
    }
    forget = h.track({ close: (ms) => srv.close({ drainMs: ms }).then(() => {}) });
    return srv;
  });
}
