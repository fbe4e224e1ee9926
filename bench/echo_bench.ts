/**
 * The echo bench: Dokio's echo daemon (examples/echo.ts, on io_uring, on
 * epoll and on the portable Deno-socket backend — the same daemon code on all
 * three) against a `Deno.listen` echo server (bench/echo_server_deno.ts), in
 * one run, each server in its own process on 127.0.0.1.
 *
 * The load comes from bench/echo_client.c (compiled here with the same
 * compiler finder as the reactor build), a separate process: 50
 * connections, closed-loop ping-pong of 64 bytes (and a 16 KiB variant),
 * all servers started at once, then rounds in which each server gets one
 * short window in turn (medians over the rounds; see measureAll). It reports
 * round trips/s, p50/p99 latency, and the server's CPU time over exactly each
 * window (utime+stime from /proc/<pid>/stat, summed over all the process's
 * threads) per round trip. The bar: Dokio's server CPU per round trip ≤ 0.72×
 * Deno.listen's. A last pair of rows runs the daemon with `--workers 2`
 * (serve(rt, …): one SO_REUSEPORT listener per pool worker) against the same
 * daemon with one worker, same client, same backend; another pairs the daemon
 * with `--console` (task instrumentation on, served) against it without, in
 * a run of its own with those two servers only and {@linkcode CONSOLE_ROUNDS}
 * rounds (its bar is 5%, and one round's ratio swings by ±10% here: the
 * median of 7 rounds moved by more than the bar between runs). Tokio's echo server
 * (bench/tokio/, current_thread and multi_thread(2)) runs in the same
 * rounds as two more servers; every row carries its figures.
 *
 * Run alone: `deno run -A bench/echo_bench.ts`.
 *
 * @module
 */

import type { BenchRow } from "./row.ts";
import { median, quantile, rounds, rowLine, suiteRow, type TokioFigures } from "./_util.ts";
import { type Flavor, tokioBin } from "./_tokio.ts";
import {
  buildClient,
  type ClientResult,
  CONNS,
  cpuPerRt,
  measureAll,
  type Measured,
  type ServerSpec,
} from "./_echo_harness.ts";

const HERE = new URL(".", import.meta.url);
const row = suiteRow("echo");

/** Rounds of 64 B windows; each server gets one window per round. */
const ROUNDS = rounds(7, 3);
/** Rounds of the `--console` pair's own run (its two windows back to back in each). */
const CONSOLE_ROUNDS = rounds(21, 5);
const WINDOW_MS = 1500;

const mbPerSec = (r: ClientResult): number => (r.rt * 16384 * 2) / r.secs / 1e6;

/**
 * Run the echo bench and return its rows (one set per Dokio backend, each
 * against the Deno.listen server measured in the same run).
 *
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * import { runEchoBench } from "./echo_bench.ts";
 * for (const row of await runEchoBench()) console.log(row);
 * ```
 */
export async function runEchoBench(): Promise<BenchRow[]> {
  const client = await buildClient();
  const echo = new URL("../examples/echo.ts", HERE).pathname;
  const dokio = (backend: string, workers = 1): ServerSpec => ({
    name: workers === 1 ? `dokio ${backend}` : `dokio ${backend} --workers ${workers}`,
    args: [echo, "--port", "0", "--drain-ms", "0", ...(workers === 1 ? [] : ["--workers", "2"])],
    env: { DOKIO_BACKEND: backend },
  });
  const bin = await tokioBin();
  const tokio = (flavor: Flavor): ServerSpec[] =>
    bin === null
      ? []
      : [{ name: `tokio ${flavor}`, cmd: bin, args: [flavor, "echo", "0"], env: {} }];
  const all = await measureAll(client, ROUNDS, WINDOW_MS, [
    { name: "Deno.listen", args: [new URL("echo_server_deno.ts", HERE).pathname], env: {} },
    dokio("io_uring"),
    dokio("epoll"),
    dokio("deno"),
    dokio("io_uring", 2),
    ...tokio("ct"),
    ...tokio("mt"),
  ]);
  const tCt = all.get("tokio ct"), tMt = all.get("tokio mt");
  /** Tokio's figures for a row: `f` of each Tokio server's measurements. */
  const tok = (f: (m: Measured) => number): TokioFigures => ({
    ct: tCt === undefined ? null : f(tCt),
    mt: tMt === undefined ? null : f(tMt),
  });
  const deno = all.get("Deno.listen");
  if (deno === undefined) throw new Error("echo bench: the Deno.listen server did not run");
  const rows: BenchRow[] = [];
  const peer = "Deno.listen";
  for (const backend of ["io_uring", "epoll", "deno"]) {
    const m = all.get(`dokio ${backend}`);
    if (m === undefined) continue;
    const tag = `[${backend}]`;
    const p = deno.ping, d = m.ping;
    const ps = deno.stream, ds = m.stream;
    rows.push(
      row(
        `64 B ping-pong, ${CONNS} conns: server CPU per round trip ${tag}`,
        d.cpuPerRt,
        p.cpuPerRt,
        peer,
        "µs/rt",
        false,
        backend === "io_uring"
          ? "≤ 0.72× Deno.listen (ratio ≥ 1.39); vs tokio ≥ 1.0×"
          : backend === "deno"
          ? undefined // the portable backend runs on Deno.listen itself: no bar, a fair row
          : "≤ 0.72× Deno.listen (ratio ≥ 1.39)",
        tok((m) => m.ping.cpuPerRt),
      ),
      row(
        `64 B ping-pong, ${CONNS} conns: round trips/s ${tag}`,
        d.rtPerSec / 1000,
        p.rtPerSec / 1000,
        peer,
        "k rt/s",
        true,
        undefined,
        tok((m) => m.ping.rtPerSec / 1000),
      ),
      row(
        `64 B ping-pong: p50 latency ${tag}`,
        d.p50,
        p.p50,
        peer,
        "µs",
        false,
        undefined,
        tok((m) => m.ping.p50),
      ),
      row(
        `64 B ping-pong: p99 latency ${tag}`,
        d.p99,
        p.p99,
        peer,
        "µs",
        false,
        undefined,
        tok((m) => m.ping.p99),
      ),
      row(
        `16 KiB ping-pong, ${CONNS} conns: throughput ${tag}`,
        mbPerSec(ds),
        mbPerSec(ps),
        peer,
        "MB/s",
        true,
        undefined,
        tok((m) => mbPerSec(m.stream)),
      ),
      row(
        `16 KiB ping-pong: server CPU per round trip ${tag}`,
        cpuPerRt(ds),
        cpuPerRt(ps),
        peer,
        "µs/rt",
        false,
        undefined,
        tok((m) => cpuPerRt(m.stream)),
      ),
    );
  }
  // Task instrumentation on and served (examples/echo.ts --console), nobody polling it,
  // against the plain daemon: two servers, so each round's two windows are back to back
  // and share the machine's drift (the row is their ratio).
  const pair = await measureAll(client, CONSOLE_ROUNDS, WINDOW_MS, [
    dokio("io_uring"),
    {
      ...dokio("io_uring"),
      name: "dokio io_uring --console",
      args: [...dokio("io_uring").args, "--console", "--console-addr", "127.0.0.1:0"],
    },
  ]);
  const instrumented = pair.get("dokio io_uring --console"), plain = pair.get("dokio io_uring");
  if (instrumented !== undefined && plain !== undefined) {
    // Paired, as the other instrumentation rows: each round's off ÷ on CPU per round trip
    // (the two servers' windows in one round share the machine's drift), then the median.
    const ratios = plain.pingCpuByRound.map((off, i) => off / instrumented.pingCpuByRound[i]);
    const spread = `${quantile(ratios, 0.25).toFixed(2)}–${quantile(ratios, 0.75).toFixed(2)}`;
    rows.push({
      ...row(
        `echo --console vs off, 64 B ping-pong: server CPU per round trip [io_uring]`,
        instrumented.ping.cpuPerRt,
        plain.ping.cpuPerRt,
        `instrumentation off (medians; ratio: median of the ${ratios.length} rounds' ` +
          `off ÷ on, quartiles ${spread})`,
        "µs/rt",
        false,
        "≤ 1.05× off (ratio ≥ 0.952)",
      ),
      ratio: median(ratios),
    });
  }
  const one = all.get("dokio io_uring"), two = all.get("dokio io_uring --workers 2");
  if (one !== undefined && two !== undefined) {
    const a = two.ping, b = one.ping;
    rows.push(
      row(
        `echo --workers 2 vs 1, 64 B ping-pong, ${CONNS} conns: round trips/s [io_uring]`,
        a.rtPerSec / 1000,
        b.rtPerSec / 1000,
        "--workers 1",
        "k rt/s",
        true,
        undefined,
        tok((m) => m.ping.rtPerSec / 1000),
      ),
      row(
        `echo --workers 2 vs 1, 64 B ping-pong: server CPU per round trip [io_uring]`,
        a.cpuPerRt,
        b.cpuPerRt,
        "--workers 1",
        "µs/rt",
        false,
        "≤ 1.15× --workers 1 (ratio ≥ 0.87); vs tokio mt2 ≥ 1.0×",
        tok((m) => m.ping.cpuPerRt),
      ),
    );
  }
  return rows;
}

if (import.meta.main) {
  const t0 = performance.now();
  const rows = await runEchoBench();
  for (const r of rows) console.log(rowLine(r));
  console.log(`echo bench took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
