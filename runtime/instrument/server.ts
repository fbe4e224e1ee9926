/**
 * The metrics server: `GET /metrics` answers the Prometheus text format,
 * `GET /console` streams one `ConsoleSnapshot` as JSON per line
 * (`application/x-ndjson`) every interval until the client goes away.
 *
 * Why `Deno.serve` and not Dokio's own `net/`: the dependency arrows point
 * down and `runtime/` may not import `net/`, yet `rt.serveMetrics()` is a
 * runtime method (and `DOKIO_METRICS` is read when a runtime is made).
 * Putting the server in a user-API room would split the feature across
 * layers for no gain; `Deno.serve` brings HTTP/1.1 parsing and chunked
 * streaming, runs on Deno's event loop (which the scheduler yields to every
 * few ms of busy work), and costs nothing until asked for.
 *
 * Loopback (`127.0.0.1`) unless a hostname is given; never all interfaces
 * by default.
 *
 * @module
 */

import type { ConsoleSnapshot } from "./snapshot.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./prometheus.ts";

/** Default port (the one tokio-console uses). */
export const DEFAULT_METRICS_PORT = 6669;
/** Default hostname: loopback only. */
export const DEFAULT_METRICS_HOSTNAME = "127.0.0.1";
/** Default interval between two snapshots of the `/console` stream, ms. */
export const DEFAULT_INTERVAL_MS = 1000;
/** Shortest interval a client may ask for with `?interval=`, ms. */
export const MIN_INTERVAL_MS = 50;

/**
 * Options of `rt.serveMetrics()`.
 *
 * @example
 * ```ts
 * import type { MetricsServerOptions } from "./server.ts";
 * const opts: MetricsServerOptions = { port: 0, hostname: "127.0.0.1", intervalMs: 500 };
 * ```
 */
export interface MetricsServerOptions {
  /** TCP port (default 6669; 0 picks a free one). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Interval of the `/console` stream, ms (default 1000; a client may pass `?interval=ms`). */
  intervalMs?: number;
}

/**
 * A running metrics server.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * await using rt = new Runtime({ instrument: true });
 * const srv = await rt.serveMetrics({ port: 0 });
 * const res = await fetch(`${srv.url}/metrics`);
 * assert.match(await res.text(), /dokio_tasks_spawned_total/);
 * await srv.close();
 * ```
 */
export interface MetricsServer {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  /** `http://host:port` (IPv6 hosts in brackets). */
  readonly url: string;
  /**
   * Stop: end the console streams, close the listener.
   *
   * @returns a promise that settles once closed.
   */
  close(): Promise<void>;
}

/** What the server asks its runtime for. */
export interface MetricsSource {
  /** The exposition text now. */
  metricsText(): string;
  /** The console snapshot now. */
  consoleSnapshot(): ConsoleSnapshot;
}

const encoder = new TextEncoder();

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer in 0..65535, got ${port}`);
  }
  return port;
}

/**
 * Serve `source` over HTTP.
 *
 * @param source the runtime's metrics and snapshots.
 * @param options port, hostname, stream interval.
 * @returns the server once it listens.
 * @throws {RangeError} for a bad port or interval.
 * @throws {Deno.errors.AddrInUse} (as a rejection) when the port is taken.
 * @example
 * ```ts
 * import { serveMetricsOf } from "./server.ts";
 * import { Runtime } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const rt = new Runtime({ instrument: true });
 * const srv = await serveMetricsOf(rt, { port: 0 });
 * assert.equal(srv.hostname, "127.0.0.1");
 * await srv.close();
 * await rt.shutdown();
 * ```
 */
export function serveMetricsOf(
  source: MetricsSource,
  options?: MetricsServerOptions,
): Promise<MetricsServer> {
  const port = checkPort(options?.port ?? DEFAULT_METRICS_PORT);
  const hostname = options?.hostname ?? DEFAULT_METRICS_HOSTNAME;
  const intervalMs = options?.intervalMs ?? DEFAULT_INTERVAL_MS;
  if (!(intervalMs >= MIN_INTERVAL_MS) || !Number.isFinite(intervalMs)) {
    throw new RangeError(`intervalMs must be a number >= ${MIN_INTERVAL_MS}, got ${intervalMs}`);
  }
  const streams = new Set<() => void>();
  const handler = (req: Request): Response => {
    const url = new URL(req.url);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("only GET\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    if (url.pathname === "/metrics") {
      return new Response(source.metricsText(), {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
      });
    }
    if (url.pathname === "/console") {
      const asked = Number(url.searchParams.get("interval") ?? intervalMs);
      const every = Number.isFinite(asked) ? Math.max(MIN_INTERVAL_MS, asked) : intervalMs;
      return new Response(snapshotStream(source, every, streams), {
        headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" },
      });
    }
    return new Response("not found: try /metrics or /console\n", { status: 404 });
  };
  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        port,
        hostname,
        onListen: (addr) => {
          const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
          let closed: Promise<void> | null = null;
          resolve({
            hostname: addr.hostname,
            port: addr.port,
            url: `http://${host}:${addr.port}`,
            close: () => {
              if (closed === null) {
                for (const end of [...streams]) end();
                closed = server.shutdown();
              }
              return closed;
            },
          });
        },
        onError: () => new Response("internal error\n", { status: 500 }),
      }, handler);
    } catch (e) {
      reject(e);
    }
  });
}

function snapshotStream(
  source: MetricsSource,
  everyMs: number,
  streams: Set<() => void>,
): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setInterval> | undefined;
  let end: (() => void) | null = null;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const send = () => {
        try {
          const snap = source.consoleSnapshot();
          snap.intervalMs = everyMs;
          controller.enqueue(encoder.encode(JSON.stringify(snap) + "\n"));
        } catch {
          end?.();
        }
      };
      end = () => {
        clearInterval(timer);
        streams.delete(end!);
        try {
          controller.close();
        } catch { /* already closed or errored */ }
      };
      streams.add(end);
      send();
      timer = setInterval(send, everyMs);
    },
    cancel() {
      clearInterval(timer);
      if (end !== null) streams.delete(end);
    },
  });
}
