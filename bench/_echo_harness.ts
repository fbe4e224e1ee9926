/**
 * Internal: how the echo benches drive a server — build the C load client,
 * start a server process and wait for its "listening on …:PORT" line, run
 * one load window against it, and turn a window into CPU per round trip.
 *
 * Invariant: a window's `server_cpu_s` is the server's utime+stime over
 * exactly that window (all of its threads, from /proc/<pid>/stat), measured
 * by the client, so CPU per round trip never includes start-up or warm-up.
 *
 * @module
 */

import { buildBenchProgram } from "./_c_program.ts";
import { median } from "./_util.ts";

/** Connections the load client holds open in every window. */
export const CONNS = 50;

/**
 * What the load client prints for one window.
 *
 * @example
 * ```ts
 * import type { ClientResult } from "./_echo_harness.ts";
 * import assert from "node:assert/strict";
 * const r: ClientResult = { rt: 1000, secs: 1, p50_us: 300, p99_us: 600, server_cpu_s: 0.007 };
 * assert.equal(r.rt, 1000);
 * ```
 */
export interface ClientResult {
  /** Round trips completed in the window. */
  rt: number;
  /** Length of the window in seconds. */
  secs: number;
  /** Median round-trip latency, µs. */
  p50_us: number;
  /** 99th percentile round-trip latency, µs. */
  p99_us: number;
  /** The server's CPU time (user + system, all threads) over the window, s. */
  server_cpu_s: number;
}

/**
 * One server to start: a name for reports, the `deno run -A` arguments (or
 * a program of its own and its arguments) and extra environment.
 *
 * @example
 * ```ts
 * import type { ServerSpec } from "./_echo_harness.ts";
 * import assert from "node:assert/strict";
 * const s: ServerSpec = {
 *   name: "dokio epoll",
 *   args: ["examples/echo.ts", "--port", "0"],
 *   env: { DOKIO_BACKEND: "epoll" },
 * };
 * assert.equal(s.env.DOKIO_BACKEND, "epoll");
 * ```
 */
export interface ServerSpec {
  /** Name in reports. */
  name: string;
  /** Arguments after `deno run -A`, or after `cmd`. */
  args: string[];
  /** A program to run instead of `deno run -A` (e.g. the Tokio echo server). */
  cmd?: string;
  /** Extra environment variables. */
  env: Record<string, string>;
  /** Working directory (default: this process's). */
  cwd?: string;
  /** Where the client connects: "127.0.0.1" (default) or "unix:PATH" for a Unix socket. */
  host?: string;
}

/**
 * Compile bench/echo_client.c (once; rebuilt when the source is newer) with
 * the reactor build's compiler finder, and return the binary's path.
 *
 * @throws {Error} when no C compiler is found or the compile fails.
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * import { buildClient } from "./_echo_harness.ts";
 * const client = await buildClient();
 * ```
 */
export function buildClient(): Promise<string> {
  return buildBenchProgram("echo_client");
}

/**
 * Start `spec` and resolve once it printed `listening on …:PORT`; its
 * stdout is drained from then on so it never blocks on a full pipe.
 *
 * @throws {Error} when the server exits before listening.
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * import { startServer } from "./_echo_harness.ts";
 * const { child, port } = await startServer({
 *   name: "Deno.listen",
 *   args: ["bench/echo_server_deno.ts"],
 *   env: {},
 * });
 * ```
 */
export async function startServer(
  spec: ServerSpec,
): Promise<{ child: Deno.ChildProcess; port: number }> {
  const child = new Deno.Command(spec.cmd ?? Deno.execPath(), {
    args: spec.cmd === undefined ? ["run", "-A", ...spec.args] : spec.args,
    env: spec.env,
    cwd: spec.cwd,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let acc = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${spec.name}: server exited before listening`);
    acc += value;
    const m = /listening on [^\n]*:(\d+)/.exec(acc);
    if (m) {
      (async () => {
        try {
          while (!(await reader.read()).done) { /* discard */ }
        } catch { /* closed */ }
      })();
      return { child, port: Number(m[1]) };
    }
  }
}

/**
 * One load window: CONNS connections of closed-loop ping-pong of `size`
 * bytes against `host`:`port` (host "unix:PATH": a Unix socket) for `durationMs` after `warmupMs`, with
 * the CPU time of process `pid` taken over the window. `mode` shapes the
 * message: "raw" bytes, a "line" ending in `\n`, or a "frame4" (4-byte
 * big-endian length prefix); see bench/echo_client.c.
 *
 * @throws {Error} when the client fails.
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * import { load } from "./_echo_harness.ts";
 * const r = await load(client, port, child.pid, 64, 200, 1500);
 * ```
 */
export async function load(
  client: string,
  port: number,
  pid: number,
  size: number,
  warmupMs: number,
  durationMs: number,
  host = "127.0.0.1",
  mode: "raw" | "line" | "frame4" = "raw",
): Promise<ClientResult> {
  const r = await new Deno.Command(client, {
    args: [
      host,
      String(port),
      String(CONNS),
      String(size),
      String(warmupMs),
      String(durationMs),
      String(pid),
      mode,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout).trim();
  if (!r.success) {
    throw new Error(`echo client failed: ${new TextDecoder().decode(r.stderr)}`);
  }
  return JSON.parse(text) as ClientResult;
}

/**
 * SIGTERM each server and wait for it to exit.
 *
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * import { stopServers } from "./_echo_harness.ts";
 * await stopServers([child]);
 * ```
 */
export async function stopServers(children: Deno.ChildProcess[]): Promise<void> {
  for (const c of children) {
    try {
      c.kill("SIGTERM");
    } catch { /* gone */ }
    await c.status;
  }
}

/**
 * Server CPU per round trip of a window, µs.
 *
 * @example
 * ```ts
 * import { cpuPerRt } from "./_echo_harness.ts";
 * import assert from "node:assert/strict";
 * const r = { rt: 1000, secs: 1, p50_us: 0, p99_us: 0, server_cpu_s: 0.007 };
 * assert.ok(Math.abs(cpuPerRt(r) - 7) < 1e-9);
 * ```
 */
export function cpuPerRt(r: ClientResult): number {
  return (r.server_cpu_s * 1e6) / Math.max(1, r.rt);
}

/**
 * Round trips per second of a window.
 *
 * @example
 * ```ts
 * import { rtPerSec } from "./_echo_harness.ts";
 * import assert from "node:assert/strict";
 * assert.equal(rtPerSec({ rt: 3000, secs: 2, p50_us: 0, p99_us: 0, server_cpu_s: 0 }), 1500);
 * ```
 */
export function rtPerSec(r: ClientResult): number {
  return r.rt / r.secs;
}

interface Server {
  spec: ServerSpec;
  child: Deno.ChildProcess;
  port: number;
  ping: ClientResult[];
  stream: ClientResult | null;
}

/**
 * One server's medians over its windows.
 *
 * @example
 * ```ts ignore
 * // Not run: made by measureAll from real load windows.
 * const m: Measured = (await measureAll(client, 3, 1500, specs)).get("Deno.listen")!;
 * ```
 */
export interface Measured {
  name: string;
  /** Medians over the server's 64 B windows (each metric on its own). */
  ping: { cpuPerRt: number; rtPerSec: number; p50: number; p99: number };
  /** Server CPU per round trip (µs) of each 64 B window, round by round (for paired ratios). */
  pingCpuByRound: number[];
  stream: ClientResult;
}

/**
 * Run the servers of `specs` against the load client: start every server at once (an idle one is parked and costs nothing),
 * then run roundCount rounds in which the client gives each server one 64 B
 * window, in alternating order, and take per-server medians. Load windows
 * on this 2-core machine drift by up to 20% over a minute; interleaving
 * puts every server under the same drift, and the median drops outliers.
 * A 16 KiB window per server follows.
 */
export async function measureAll(
  client: string,
  roundCount: number,
  windowMs: number,
  specs: ServerSpec[],
): Promise<Map<string, Measured>> {
  const servers: Server[] = [];
  try {
    for (const spec of specs) {
      try {
        const { child, port } = await startServer(spec);
        servers.push({ spec, child, port, ping: [], stream: null });
      } catch (e) {
        console.error(`echo bench: ${spec.name} skipped: ${(e as Error).message}`);
      }
    }
    for (const s of servers) await load(client, s.port, s.child.pid, 64, 500, 1000, s.spec.host); // warm-up
    for (let round = 0; round < roundCount; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        s.ping.push(await load(client, s.port, s.child.pid, 64, 200, windowMs, s.spec.host));
      }
    }
    for (const s of servers) {
      s.stream = await load(client, s.port, s.child.pid, 16384, 300, 2000, s.spec.host);
    }
  } finally {
    await stopServers(servers.map((s) => s.child));
  }
  const out = new Map<string, Measured>();
  for (const s of servers) {
    out.set(s.spec.name, {
      name: s.spec.name,
      ping: {
        cpuPerRt: median(s.ping.map(cpuPerRt)),
        rtPerSec: median(s.ping.map(rtPerSec)),
        p50: median(s.ping.map((r) => r.p50_us)),
        p99: median(s.ping.map((r) => r.p99_us)),
      },
      pingCpuByRound: s.ping.map(cpuPerRt),
      stream: s.stream!,
    });
  }
  return out;
}
