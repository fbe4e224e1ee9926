/**
 * The Unix-socket echo bench: a Dokio `UnixListener` echo server (bench/unix_echo_server_dokio.ts
 * on io_uring, on epoll and on the portable deno backend) against a
 * `Deno.listen({ transport: "unix" })` echo server (bench/unix_echo_server_deno.ts), in one run,
 * each in its own process, loaded by the same C client as the TCP echo bench
 * (bench/echo_client.c with host "unix:PATH"): 50 connections of closed-loop 64 B ping-pong,
 * rounds in which each server gets one window in turn (medians), then one 16 KiB window. The bar
 * (issue 15): Dokio's server CPU per round trip ≤ 0.72× Deno's.
 *
 * Run alone: `deno run -A bench/unix_echo_bench.ts`.
 *
 * @module
 */

import type { BenchRow } from "./row.ts";
import { rounds, rowLine, suiteRow } from "./_util.ts";
import { buildClient, CONNS, cpuPerRt, measureAll, type ServerSpec } from "./_echo_harness.ts";

const HERE = new URL(".", import.meta.url);
const row = suiteRow("unix_echo");

/** Rounds of 64 B windows; each server gets one window per round. */
const ROUNDS = rounds(7, 3);
const WINDOW_MS = 1500;

/**
 * Run the Unix echo bench and return its rows (one pair per Dokio backend, each against the
 * Deno server measured in the same run).
 *
 * @returns the rows
 * @example
 * ```ts ignore
 * // Not run: takes about a minute and starts servers.
 * import { runUnixEchoBench } from "./unix_echo_bench.ts";
 * for (const row of await runUnixEchoBench()) console.log(row);
 * ```
 */
export async function runUnixEchoBench(): Promise<BenchRow[]> {
  const client = await buildClient();
  const dir = await Deno.makeTempDir({ prefix: "dk_unix_bench_" });
  const spec = (name: string, script: string, env: Record<string, string>): ServerSpec => {
    const path = `${dir}/${name.replace(/\W+/g, "_")}.sock`;
    return {
      name,
      args: [new URL(script, HERE).pathname, "--path", path],
      env,
      host: `unix:${path}`,
    };
  };
  const peer = "Deno.listen unix";
  try {
    const all = await measureAll(client, ROUNDS, WINDOW_MS, [
      spec(peer, "unix_echo_server_deno.ts", {}),
      spec("dokio io_uring", "unix_echo_server_dokio.ts", { DOKIO_BACKEND: "io_uring" }),
      spec("dokio epoll", "unix_echo_server_dokio.ts", { DOKIO_BACKEND: "epoll" }),
      spec("dokio deno", "unix_echo_server_dokio.ts", { DOKIO_BACKEND: "deno" }),
    ]);
    const deno = all.get(peer);
    if (deno === undefined) throw new Error("unix echo bench: the Deno server did not run");
    const rows: BenchRow[] = [];
    for (const backend of ["io_uring", "epoll", "deno"]) {
      const m = all.get(`dokio ${backend}`);
      if (m === undefined) continue;
      const tag = `[${backend}]`;
      rows.push(
        row(
          `Unix 64 B ping-pong, ${CONNS} conns: server CPU per round trip ${tag}`,
          m.ping.cpuPerRt,
          deno.ping.cpuPerRt,
          peer,
          "µs/rt",
          false,
          backend === "deno" ? undefined : "≤ 0.72× Deno.listen unix (ratio ≥ 1.39)",
        ),
        row(
          `Unix 64 B ping-pong, ${CONNS} conns: round trips/s ${tag}`,
          m.ping.rtPerSec / 1000,
          deno.ping.rtPerSec / 1000,
          peer,
          "k rt/s",
          true,
        ),
        row(
          `Unix 16 KiB ping-pong: server CPU per round trip ${tag}`,
          cpuPerRt(m.stream),
          cpuPerRt(deno.stream),
          peer,
          "µs/rt",
          false,
        ),
      );
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const t0 = performance.now();
  const rows = await runUnixEchoBench();
  for (const r of rows) console.log(rowLine(r));
  console.log(`unix echo bench took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
