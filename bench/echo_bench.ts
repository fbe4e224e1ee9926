/**
 * The echo bench: Dokio's echo daemon (examples/echo.ts, on io_uring and on
 * epoll) against a `Deno.listen` echo server (bench/echo_server_deno.ts), in
 * one run, each server in its own process on 127.0.0.1.
 *
 * The load comes from bench/echo_client.c (compiled here with the same
 * compiler finder as the reactor build), a separate process: 50
 * connections, closed-loop ping-pong of 64 bytes (and a 16 KiB variant),
 * a short warm-up, then a fixed window. It reports round trips/s, p50/p99
 * latency, and the server's CPU time over exactly that window (utime+stime
 * from /proc/<pid>/stat, summed over all the process's threads) per round
 * trip. The bar (DESIGN.md): Dokio's server CPU per round trip ≤ 0.72×
 * Deno.listen's. A last pair of rows runs the daemon with `--workers 2`
 * (rt.serve: one SO_REUSEPORT listener per pool worker) against the same
 * daemon with one worker, same client, same backend.
 *
 * Run alone: `deno run -A bench/echo_bench.ts`.
 *
 * @module
 */

import type { BenchRow } from "./row.ts";
import { findCompiler } from "../ffi/build.ts";

const HERE = new URL(".", import.meta.url);
const CONNS = 50;

interface ClientResult {
  rt: number;
  secs: number;
  p50_us: number;
  p99_us: number;
  server_cpu_s: number;
}

interface ServerSpec {
  name: string;
  args: string[];
  env: Record<string, string>;
}

async function buildClient(): Promise<string> {
  const src = new URL("echo_client.c", HERE).pathname;
  const outDir = new URL("../.dokio/bench/", HERE).pathname;
  await Deno.mkdir(outDir, { recursive: true });
  const out = `${outDir}echo_client`;
  try {
    const [s, o] = [Deno.statSync(src), Deno.statSync(out)];
    if (o.mtime && s.mtime && o.mtime > s.mtime) return out;
  } catch { /* build it */ }
  const cc = await findCompiler();
  if (cc === null) throw new Error("echo bench: no C compiler found (zig or cc)");
  const tmp = `${out}.${Deno.pid}.tmp`;
  const r = await new Deno.Command(cc.cmd[0], {
    args: [...cc.cmd.slice(1), "-O2", "-o", tmp, src],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(
      `echo bench: compiling echo_client.c failed:\n${new TextDecoder().decode(r.stderr)}`,
    );
  }
  await Deno.rename(tmp, out);
  return out;
}

async function startServer(spec: ServerSpec): Promise<{ child: Deno.ChildProcess; port: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...spec.args],
    env: spec.env,
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
      // Keep draining its stdout so it never blocks on a full pipe.
      (async () => {
        try {
          while (!(await reader.read()).done) { /* discard */ }
        } catch { /* closed */ }
      })();
      return { child, port: Number(m[1]) };
    }
  }
}

async function load(
  client: string,
  port: number,
  pid: number,
  size: number,
  warmupMs: number,
  durationMs: number,
): Promise<ClientResult> {
  const r = await new Deno.Command(client, {
    args: [
      "127.0.0.1",
      String(port),
      String(CONNS),
      String(size),
      String(warmupMs),
      String(durationMs),
      String(pid),
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

interface Measured {
  name: string;
  ping: ClientResult;
  stream: ClientResult;
}

async function measure(client: string, spec: ServerSpec): Promise<Measured> {
  const { child, port } = await startServer(spec);
  try {
    // Best of two windows on the same server (each server gets the same
    // treatment): one load window on this noisy 2-core machine can be off
    // by 20% either way.
    const a = await load(client, port, child.pid, 64, 700, 3000);
    const b = await load(client, port, child.pid, 64, 300, 3000);
    const ping = cpuPerRt(a) <= cpuPerRt(b) ? a : b;
    const stream = await load(client, port, child.pid, 16384, 300, 2000);
    return { name: spec.name, ping, stream };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
  }
}

function cpuPerRt(r: ClientResult): number {
  return (r.server_cpu_s * 1e6) / Math.max(1, r.rt);
}
const rtPerSec = (r: ClientResult): number => r.rt / r.secs;
const mbPerSec = (r: ClientResult): number => (r.rt * 16384 * 2) / r.secs / 1e6;

/**
 * Run the echo bench and return its rows (one set per Dokio backend, each
 * against the Deno.listen server measured in the same run).
 *
 * @example
 * ```ts ignore
 * import { runEchoBench } from "./echo_bench.ts";
 * for (const row of await runEchoBench()) console.log(row);
 * ```
 */
export async function runEchoBench(): Promise<BenchRow[]> {
  const client = await buildClient();
  const echo = new URL("../examples/echo.ts", HERE).pathname;
  const deno = await measure(client, {
    name: "Deno.listen",
    args: [new URL("echo_server_deno.ts", HERE).pathname],
    env: {},
  });
  const rows: BenchRow[] = [];
  let single: { backend: string; m: Measured } | null = null;
  for (const backend of ["io_uring", "epoll"]) {
    let m: Measured;
    try {
      m = await measure(client, {
        name: `dokio ${backend}`,
        args: [echo, "--port", "0", "--drain-ms", "0"],
        env: { DOKIO_BACKEND: backend },
      });
    } catch (e) {
      console.error(`echo bench: dokio ${backend} skipped: ${(e as Error).message}`);
      continue;
    }
    single ??= { backend, m };
    const tag = `[${backend}]`;
    const p = deno.ping, d = m.ping;
    rows.push({
      suite: "echo",
      name: `64 B ping-pong, ${CONNS} conns: server CPU per round trip ${tag}`,
      dokio: cpuPerRt(d),
      peer: cpuPerRt(p),
      peerName: "Deno.listen",
      unit: "µs/rt",
      ratio: cpuPerRt(p) / cpuPerRt(d),
      bar: "≤ 0.72× Deno.listen (ratio ≥ 1.39)",
    });
    rows.push({
      suite: "echo",
      name: `64 B ping-pong, ${CONNS} conns: round trips/s ${tag}`,
      dokio: rtPerSec(d) / 1000,
      peer: rtPerSec(p) / 1000,
      peerName: "Deno.listen",
      unit: "k rt/s",
      ratio: rtPerSec(d) / rtPerSec(p),
    });
    rows.push({
      suite: "echo",
      name: `64 B ping-pong: p50 latency ${tag}`,
      dokio: d.p50_us,
      peer: p.p50_us,
      peerName: "Deno.listen",
      unit: "µs",
      ratio: p.p50_us / Math.max(1, d.p50_us),
    });
    rows.push({
      suite: "echo",
      name: `64 B ping-pong: p99 latency ${tag}`,
      dokio: d.p99_us,
      peer: p.p99_us,
      peerName: "Deno.listen",
      unit: "µs",
      ratio: p.p99_us / Math.max(1, d.p99_us),
    });
    const ps = deno.stream, ds = m.stream;
    rows.push({
      suite: "echo",
      name: `16 KiB ping-pong, ${CONNS} conns: throughput ${tag}`,
      dokio: mbPerSec(ds),
      peer: mbPerSec(ps),
      peerName: "Deno.listen",
      unit: "MB/s",
      ratio: mbPerSec(ds) / mbPerSec(ps),
    });
    rows.push({
      suite: "echo",
      name: `16 KiB ping-pong: server CPU per round trip ${tag}`,
      dokio: cpuPerRt(ds),
      peer: cpuPerRt(ps),
      peerName: "Deno.listen",
      unit: "µs/rt",
      ratio: cpuPerRt(ps) / cpuPerRt(ds),
    });
  }
  if (single !== null) rows.push(...await workersRows(client, echo, single.backend, single.m));
  return rows;
}

/** "echo --workers 2 vs 1": the multi-worker daemon against the one-worker one. */
async function workersRows(
  client: string,
  echo: string,
  backend: string,
  one: Measured,
): Promise<BenchRow[]> {
  let two: Measured;
  try {
    two = await measure(client, {
      name: "dokio --workers 2",
      args: [echo, "--port", "0", "--drain-ms", "0", "--workers", "2"],
      env: { DOKIO_BACKEND: backend },
    });
  } catch (e) {
    console.error(`echo bench: --workers 2 skipped: ${(e as Error).message}`);
    return [];
  }
  const tag = `[${backend}]`;
  const a = two.ping, b = one.ping;
  return [
    {
      suite: "echo",
      name: `echo --workers 2 vs 1, 64 B ping-pong, ${CONNS} conns: round trips/s ${tag}`,
      dokio: rtPerSec(a) / 1000,
      peer: rtPerSec(b) / 1000,
      peerName: "--workers 1",
      unit: "k rt/s",
      ratio: rtPerSec(a) / rtPerSec(b),
    },
    {
      suite: "echo",
      name: `echo --workers 2 vs 1, 64 B ping-pong: server CPU per round trip ${tag}`,
      dokio: cpuPerRt(a),
      peer: cpuPerRt(b),
      peerName: "--workers 1",
      unit: "µs/rt",
      ratio: cpuPerRt(b) / cpuPerRt(a),
    },
  ];
}

if (import.meta.main) {
  const t0 = performance.now();
  const rows = await runEchoBench();
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(62)} dokio ${r.dokio.toFixed(2).padStart(9)}  ${r.peerName} ${
        r.peer.toFixed(2).padStart(9)
      } ${r.unit.padEnd(6)} ratio ${r.ratio.toFixed(2)}${r.bar ? `  (bar ${r.bar})` : ""}`,
    );
  }
  console.log(`echo bench took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
