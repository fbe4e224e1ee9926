/**
 * The io bench: io/'s buffered readers, codecs and copyBidirectional in
 * servers under the echo bench's load client (bench/echo_client.c, 50
 * connections, closed-loop ping-pong), each against its peers in the same
 * run, each server in its own process on 127.0.0.1. The figure is the
 * server's CPU time (utime+stime, all threads) per round trip.
 *
 * - Line echo, 64-byte lines: Dokio `BufReader.readLine` + `BufWriter`
 *   (bench/io/line_echo_dokio.ts) vs Deno (`conn.readable` → TextDecoderStream
 *   → a TextLineStream-equivalent splitter; bench/io/line_echo_deno.ts) and
 *   Node (`readline` over `net.Socket`; bench/io/line_echo_node.mjs).
 *   Bar: ≤ 0.6× Deno's and ≤ Node's.
 * - Length-delimited frames of 64 B and 16 KiB payload (4-byte length):
 *   Dokio `Framed` + `LengthDelimitedCodec` (bench/io/frame_echo_dokio.ts)
 *   vs a hand-written `Deno.listen` framer (bench/io/frame_echo_deno.ts).
 *   Bar: ≤ 0.75× Deno's.
 * - TCP proxy: client → proxy → Dokio echo daemon, 64 B; the proxy's CPU
 *   per round trip: examples/proxy.ts (`copyBidirectional`) vs a Deno proxy
 *   doing `readable.pipeTo(writable)` both ways (bench/io/proxy_deno.ts).
 *   Bar: ≤ 0.6× Deno's.
 *
 * Every group starts its servers at once, warms each up, then runs ROUNDS
 * rounds giving each server one window in alternating order, and takes
 * per-server medians (as the echo bench does; see bench/echo_bench.ts).
 * Dokio servers run on io_uring and on epoll.
 *
 * Run alone: `deno run -A bench/io_bench.ts [lines] [frames] [proxy]` (default:
 * all three groups), or with every suite: `deno task bench io`.
 *
 * @module
 */

import type { BenchRow } from "./row.ts";
import { median, rowLine, suiteRow } from "./_util.ts";
import {
  buildClient,
  type ClientResult,
  CONNS,
  cpuPerRt,
  load,
  type ServerSpec,
  startServer,
  stopServers,
} from "./_echo_harness.ts";

const HERE = new URL(".", import.meta.url);
const row = suiteRow("io");
const path = (p: string): string => new URL(p, HERE).pathname;

/** Rounds per group; each server gets one window per round. */
const ROUNDS = 5;
const WINDOW_MS = 1200;
const BACKENDS = ["io_uring", "epoll"] as const;
/** Payload sizes of the frame rows, bytes. */
const FRAME_SIZES = [64, 16 * 1024];
/** Where every server of this bench listens. */
const LOCALHOST = "127.0.0.1";
/** The frame header the load client writes, bytes. */
const FRAME_HEADER = 4;

type Mode = "raw" | "line" | "frame4";

/** One message shape the client sends. */
interface Load {
  size: number;
  mode: Mode;
}

/**
 * Start `specs` at once, then for each load in `loads`: warm every server
 * up, run ROUNDS rounds of one window per server (order alternating), and
 * keep each server's median CPU per round trip. Gives name → load index →
 * µs per round trip. A server that does not start is left out (and said so).
 */
async function interleave(
  client: string,
  specs: ServerSpec[],
  loads: Load[],
): Promise<Map<string, number[]>> {
  const up: { spec: ServerSpec; child: Deno.ChildProcess; port: number }[] = [];
  const out = new Map<string, number[]>();
  try {
    for (const spec of specs) {
      try {
        up.push({ spec, ...(await startServer(spec)) });
      } catch (e) {
        console.error(`io bench: ${spec.name} skipped: ${(e as Error).message}`);
      }
    }
    for (const l of loads) {
      const windows = new Map<string, ClientResult[]>(up.map((s) => [s.spec.name, []]));
      for (const s of up) {
        await load(client, s.port, s.child.pid, l.size, 300, 600, LOCALHOST, l.mode);
      }
      for (let round = 0; round < ROUNDS; round++) {
        for (const s of round % 2 === 0 ? up : [...up].reverse()) {
          const r = await load(
            client,
            s.port,
            s.child.pid,
            l.size,
            200,
            WINDOW_MS,
            LOCALHOST,
            l.mode,
          );
          windows.get(s.spec.name)!.push(r);
        }
      }
      for (const [name, rs] of windows) {
        const list = out.get(name) ?? [];
        list.push(median(rs.map(cpuPerRt)));
        out.set(name, list);
      }
    }
  } finally {
    await stopServers(up.map((s) => s.child));
  }
  return out;
}

function dokio(name: string, backend: string, args: string[]): ServerSpec {
  return { name: `${name} ${backend}`, args, env: { DOKIO_BACKEND: backend } };
}

async function lineRows(client: string): Promise<BenchRow[]> {
  const server = path("io/line_echo_dokio.ts");
  const all = await interleave(client, [
    { name: "deno", args: [path("io/line_echo_deno.ts")], env: {} },
    { name: "node", cmd: "node", args: [path("io/line_echo_node.mjs")], env: {} },
    ...BACKENDS.map((b) => dokio("dokio", b, [server])),
  ], [{ size: 64, mode: "line" }]);
  const rows: BenchRow[] = [];
  const deno = all.get("deno")?.[0], node = all.get("node")?.[0];
  for (const b of BACKENDS) {
    const d = all.get(`dokio ${b}`)?.[0];
    if (d === undefined) continue;
    const name = `line echo, 64 B lines, ${CONNS} conns: server CPU per line [${b}]`;
    if (deno !== undefined) {
      rows.push(row(name, d, deno, "Deno TextLineStream", "µs/rt", false, "≤ 0.6× (ratio ≥ 1.67)"));
    }
    if (node !== undefined) {
      rows.push(row(name, d, node, "Node readline", "µs/rt", false, "≤ 1.0× (ratio ≥ 1.00)"));
    }
  }
  return rows;
}

async function frameRows(client: string): Promise<BenchRow[]> {
  const server = path("io/frame_echo_dokio.ts");
  const loads = FRAME_SIZES.map((n): Load => ({ size: n + FRAME_HEADER, mode: "frame4" }));
  const all = await interleave(client, [
    { name: "deno", args: [path("io/frame_echo_deno.ts")], env: {} },
    ...BACKENDS.map((b) => dokio("dokio", b, [server])),
  ], loads);
  const rows: BenchRow[] = [];
  const deno = all.get("deno");
  for (const b of BACKENDS) {
    const d = all.get(`dokio ${b}`);
    if (d === undefined || deno === undefined) continue;
    FRAME_SIZES.forEach((n, i) => {
      const size = n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
      rows.push(row(
        `length-delimited echo, ${size} frames, ${CONNS} conns: server CPU per frame [${b}]`,
        d[i],
        deno[i],
        "Deno.listen framer",
        "µs/rt",
        false,
        "≤ 0.75× (ratio ≥ 1.33)",
      ));
    });
  }
  return rows;
}

async function proxyRows(client: string): Promise<BenchRow[]> {
  const upstream = await startServer({
    name: "upstream echo",
    args: [path("../examples/echo.ts"), "--port", "0", "--drain-ms", "0"],
    env: { DOKIO_BACKEND: "io_uring" },
  });
  try {
    const to = ["--to", `127.0.0.1:${upstream.port}`];
    const all = await interleave(client, [
      { name: "deno", args: [path("io/proxy_deno.ts"), "--port", "0", ...to], env: {} },
      ...BACKENDS.map((b) =>
        dokio("dokio", b, [path("../examples/proxy.ts"), "--port", "0", ...to])
      ),
    ], [{ size: 64, mode: "raw" }]);
    const rows: BenchRow[] = [];
    const deno = all.get("deno")?.[0];
    for (const b of BACKENDS) {
      const d = all.get(`dokio ${b}`)?.[0];
      if (d === undefined || deno === undefined) continue;
      rows.push(row(
        `TCP proxy → echo, 64 B, ${CONNS} conns: proxy CPU per round trip [${b}]`,
        d,
        deno,
        "Deno pipeTo proxy",
        "µs/rt",
        false,
        "≤ 0.6× (ratio ≥ 1.67)",
      ));
    }
    return rows;
  } finally {
    await stopServers([upstream.child]);
  }
}

/**
 * Run the io bench and return its rows.
 *
 * @param groups the groups to run ("lines", "frames", "proxy"); all when empty
 * @example
 * ```ts ignore
 * import { runIoBench } from "./io_bench.ts";
 * for (const row of await runIoBench()) console.log(row);
 * ```
 */
export async function runIoBench(groups: string[] = []): Promise<BenchRow[]> {
  const client = await buildClient();
  const want = (g: string) => groups.length === 0 || groups.includes(g);
  return [
    ...(want("lines") ? await lineRows(client) : []),
    ...(want("frames") ? await frameRows(client) : []),
    ...(want("proxy") ? await proxyRows(client) : []),
  ];
}

if (import.meta.main) {
  const t0 = performance.now();
  for (const r of await runIoBench(Deno.args)) console.log(rowLine(r));
  console.log(`io bench took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
