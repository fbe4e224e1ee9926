/**
 * The redis bench (`deno task bench redis`): the real `redis-benchmark`
 * (`-t ping_inline,ping_mbulk,set,get,incr,lpush,mset -c 50 -r 100000`,
 * once with `-P 1` and once with `-P 16`) against four servers started at
 * once: mini-redis on Dokio (examples/mini_redis/server.ts) on io_uring and
 * on epoll, the same command code served by `Deno.listen`
 * (bench/redis_server_deno.ts), and a real `redis-server` with persistence
 * off (`--save "" --appendonly no`) on a free port.
 *
 * Each round runs every (pipelining, test) window on every server, the
 * server order reversed every other round; figures are medians over the
 * rounds. A window's server CPU is utime+stime from /proc/<pid>/stat
 * (every thread of the process) read just before and just after the
 * redis-benchmark run, divided by its request count. Then memory: 1,000,000
 * keys of 16-byte values written with `redis-cli --pipe`, RSS (VmRSS) of
 * each server after.
 *
 * Bars (server CPU per request): ≤ 1.3× redis-server's at -P 1, ≤ 2.5× at
 * -P 16; ≤ 0.7× the Deno.listen port's at both.
 *
 * Run alone: `deno run -A bench/redis_bench.ts [--quick]`; `--quick` (or
 * DOKIO_BENCH_QUICK=1) uses fewer requests and one round.
 *
 * @module
 */

import type { BenchRow } from "./row.ts";
import { median, procCpuSeconds, rowLine, suiteRow } from "./_util.ts";

const row = suiteRow("redis");
const ROOT = new URL("../", import.meta.url);
const TESTS = ["ping_inline", "ping_mbulk", "set", "get", "incr", "lpush", "mset"] as const;
const PIPELINES = [1, 16] as const;
const CLIENTS = 50;
const KEYSPACE = 100_000;
const MEMORY_KEYS = 1_000_000;
const VALUE_BYTES = 16;

function quickMode(): boolean {
  try {
    return Deno.args.includes("--quick") || Deno.env.get("DOKIO_BENCH_QUICK") === "1";
  } catch {
    return false;
  }
}

/** Requests per window: about 1-3 s per window on a shared 2-core machine. */
function requests(pipeline: number, quick: boolean): number {
  if (quick) return pipeline === 1 ? 20_000 : 100_000;
  return pipeline === 1 ? 50_000 : 200_000;
}

interface Server {
  name: string;
  child: Deno.ChildProcess;
  port: number;
}

/** Server CPU time so far, seconds (all threads). */
function cpuSeconds(pid: number): number {
  const [user, kernel] = procCpuSeconds(pid);
  return user + kernel;
}

function rssBytes(pid: number): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * A loopback TCP port free just now.
 *
 * @returns the port
 * @example
 * ```ts
 * import { freePort } from "./redis_bench.ts";
 * import assert from "node:assert/strict";
 * assert.ok(freePort() > 0);
 * ```
 */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Whether a redis server on loopback `port` answers `PING` (asked with `redis-cli`).
 *
 * @param port the server's port
 * @returns true when it answered PONG
 * @example
 * ```ts ignore
 * // Not run: needs redis-cli and a server.
 * while (!(await ping(6379))) await new Promise((r) => setTimeout(r, 100));
 * ```
 */
export async function ping(port: number): Promise<boolean> {
  try {
    const o = await new Deno.Command("redis-cli", {
      args: ["-p", String(port), "PING"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(o.stdout).trim() === "PONG";
  } catch {
    return false;
  }
}

async function start(
  name: string,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  port: number,
): Promise<Server> {
  const child = new Deno.Command(cmd, { args, env, stdout: "null", stderr: "inherit" }).spawn();
  const deadline = Date.now() + 30_000;
  while (!(await ping(port))) {
    if (Date.now() > deadline) throw new Error(`${name} did not answer PING on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, child, port };
}

async function startAll(): Promise<Server[]> {
  const deno = Deno.execPath();
  const server = new URL("examples/mini_redis/server.ts", ROOT).pathname;
  const port = new URL("bench/redis_server_deno.ts", ROOT).pathname;
  const out: Server[] = [];
  for (const backend of ["io_uring", "epoll"]) {
    const p = freePort();
    out.push(
      await start(`mini-redis ${backend}`, deno, ["run", "-A", server, "--port", String(p)], {
        DOKIO_BACKEND: backend,
      }, p),
    );
  }
  const dp = freePort();
  out.push(await start("Deno.listen", deno, ["run", "-A", port, "--port", String(dp)], {}, dp));
  const rp = freePort();
  out.push(
    await start(
      "redis-server",
      "redis-server",
      ["--port", String(rp), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
      {},
      rp,
    ),
  );
  return out;
}

interface Window {
  rps: number;
  cpuPerReq: number;
}

/** One redis-benchmark run of `test` against `s`; its rate and the server CPU per request. */
async function window(s: Server, test: string, pipeline: number, n: number): Promise<Window> {
  const args = [
    "-p",
    String(s.port),
    "-t",
    test,
    "-c",
    String(CLIENTS),
    "-r",
    String(KEYSPACE),
    "-n",
    String(n),
    "-P",
    String(pipeline),
    "--csv",
  ];
  const cpu0 = cpuSeconds(s.child.pid);
  const o = await new Deno.Command("redis-benchmark", { args, stdout: "piped", stderr: "piped" })
    .output();
  const cpu1 = cpuSeconds(s.child.pid);
  const text = new TextDecoder().decode(o.stdout);
  const err = new TextDecoder().decode(o.stderr);
  if (!o.success || /error|warning/i.test(err)) {
    throw new Error(`redis-benchmark ${test} against ${s.name}: ${err || text}`);
  }
  // CSV: "test","rps",…  (one data line after the header)
  const line = text.trim().split("\n").find((l) => !l.startsWith('"test"'));
  const rps = Number(line?.split(",")[1]?.replaceAll('"', ""));
  if (!(rps > 0)) throw new Error(`no rate in redis-benchmark output: ${text}`);
  return { rps, cpuPerReq: ((cpu1 - cpu0) * 1e6) / n };
}

/** RESP SETs of `count` keys of VALUE_BYTES-byte values. */
function massInsert(count: number): Uint8Array {
  const enc = new TextEncoder();
  const value = "v".repeat(VALUE_BYTES);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const k = `key:${String(i).padStart(7, "0")}`;
    parts.push(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${VALUE_BYTES}\r\n${value}\r\n`);
  }
  return enc.encode(parts.join(""));
}

async function fill(s: Server, data: Uint8Array): Promise<void> {
  const child = new Deno.Command("redis-cli", {
    args: ["-p", String(s.port), "--pipe"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(data);
  await w.close();
  const o = await child.output();
  const text = new TextDecoder().decode(o.stdout);
  if (!/errors: 0, replies: \d+/.test(text)) throw new Error(`--pipe into ${s.name}: ${text}`);
}

async function dbsize(port: number): Promise<number> {
  const o = await new Deno.Command("redis-cli", {
    args: ["-p", String(port), "DBSIZE"],
    stdout: "piped",
  }).output();
  return Number(new TextDecoder().decode(o.stdout).trim());
}

/** Figures of one server: medians per (pipeline, test). */
type Table = Map<string, { rps: number[]; cpu: number[] }>;

function key(pipeline: number, test: string): string {
  return `${pipeline}/${test}`;
}

/** Geometric mean (for rates over tests of different speeds). */
function geomean(xs: number[]): number {
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

/**
 * Run the suite; its rows (and the per-test table on stderr).
 *
 * @returns the rows
 */
export async function runRedisBench(): Promise<BenchRow[]> {
  const quick = quickMode();
  const roundsN = quick ? 1 : 3;
  const servers = await startAll();
  const tables = new Map<string, Table>(servers.map((s) => [s.name, new Map()]));
  try {
    for (let r = 0; r < roundsN; r++) {
      const order = r % 2 === 0 ? servers : [...servers].reverse();
      for (const pipeline of PIPELINES) {
        for (const test of TESTS) {
          for (const s of order) {
            const w = await window(s, test, pipeline, requests(pipeline, quick));
            const t = tables.get(s.name) as Table;
            const cell = t.get(key(pipeline, test)) ?? { rps: [], cpu: [] };
            cell.rps.push(w.rps);
            cell.cpu.push(w.cpuPerReq);
            t.set(key(pipeline, test), cell);
          }
        }
      }
      console.error(`redis bench: round ${r + 1}/${roundsN} done`);
    }
    // Memory: 1,000,000 keys of 16-byte values in each server (FLUSHALL first).
    const data = massInsert(MEMORY_KEYS);
    const rss = new Map<string, { before: number; after: number }>();
    for (const s of servers) {
      await new Deno.Command("redis-cli", {
        args: ["-p", String(s.port), "FLUSHALL"],
        stdout: "null",
      })
        .output();
      const before = rssBytes(s.child.pid);
      await fill(s, data);
      if ((await dbsize(s.port)) !== MEMORY_KEYS) throw new Error(`${s.name}: DBSIZE is not 1M`);
      rss.set(s.name, { before, after: rssBytes(s.child.pid) });
    }
    return report(servers.map((s) => s.name), tables, rss, quick);
  } finally {
    for (const s of servers) {
      try {
        s.child.kill("SIGTERM");
      } catch { /* gone */ }
      await s.child.status;
    }
  }
}

function report(
  names: string[],
  tables: Map<string, Table>,
  rss: Map<string, { before: number; after: number }>,
  quick: boolean,
): BenchRow[] {
  const med = (name: string, p: number, t: string) => {
    const c = (tables.get(name) as Table).get(key(p, t)) as { rps: number[]; cpu: number[] };
    return { rps: median(c.rps), cpu: median(c.cpu) };
  };
  // The per-test table, markdown, on stderr (README copies it).
  const lines: string[] = [];
  lines.push(
    `redis-benchmark -c ${CLIENTS} -r ${KEYSPACE}${
      quick ? " (quick)" : ""
    }: requests/s | server CPU µs/request`,
  );
  lines.push(`| test | -P | ${names.join(" | ")} |`);
  lines.push(`| --- | --- | ${names.map(() => "---").join(" | ")} |`);
  for (const p of PIPELINES) {
    for (const t of TESTS) {
      const cells = names.map((n) => {
        const m = med(n, p, t);
        return `${Math.round(m.rps).toLocaleString("en-US")} \\| ${m.cpu.toFixed(2)}`;
      });
      lines.push(`| ${t} | ${p} | ${cells.join(" | ")} |`);
    }
  }
  const mem = names.map((n) => {
    const m = rss.get(n) as { before: number; after: number };
    return `${(m.after / 2 ** 20).toFixed(0)} MiB (+${
      ((m.after - m.before) / 2 ** 20).toFixed(0)
    })`;
  });
  lines.push(`| RSS, 1M keys × 16 B | | ${mem.join(" | ")} |`);
  console.error(lines.join("\n"));

  // Rows: CPU per request over all seven tests (mean of the per-test medians), and rates.
  const cpuAll = (n: string, p: number) =>
    TESTS.reduce((a, t) => a + med(n, p, t).cpu, 0) / TESTS.length;
  const rpsAll = (n: string, p: number) => geomean(TESTS.map((t) => med(n, p, t).rps));
  const rows: BenchRow[] = [];
  for (const p of PIPELINES) {
    const redisBar = p === 1 ? "cpu ≤ 1.3× redis" : "cpu ≤ 2.5× redis";
    for (const backend of ["io_uring", "epoll"]) {
      const me = `mini-redis ${backend}`;
      rows.push(
        row(
          `-P ${p} server CPU/request, 7 tests (${backend})`,
          cpuAll(me, p),
          cpuAll("redis-server", p),
          "redis-server",
          "µs/req",
          false,
          redisBar,
        ),
        row(
          `-P ${p} server CPU/request, 7 tests (${backend})`,
          cpuAll(me, p),
          cpuAll("Deno.listen", p),
          "Deno.listen",
          "µs/req",
          false,
          "cpu ≤ 0.7× Deno.listen",
        ),
        row(
          `-P ${p} requests/s, geomean of 7 tests (${backend})`,
          rpsAll(me, p) / 1e3,
          rpsAll("redis-server", p) / 1e3,
          "redis-server",
          "k req/s",
          true,
        ),
      );
    }
  }
  const after = (n: string) => (rss.get(n) as { after: number }).after / 2 ** 20;
  rows.push(
    row(
      "RSS with 1M keys × 16 B values (io_uring)",
      after("mini-redis io_uring"),
      after("redis-server"),
      "redis-server",
      "MiB",
      false,
    ),
  );
  return rows;
}

if (import.meta.main) {
  for (const r of await runRedisBench()) console.log(rowLine(r));
}
