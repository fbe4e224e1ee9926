/**
 * A paired A/B of redis servers, for trying a change to mini-redis or to
 * the runtime under it: every server starts at once, then each round runs
 * `redis-benchmark` (50 clients, random keys) for every test against every
 * server, the server order reversed every other round, and divides each
 * server's CPU per request by the first server's in the same round. The
 * medians of those per-round ratios cancel most of a shared machine's
 * drift. Beside each median it prints the middle half of the per-round
 * ratios and in how many rounds the server used less CPU than the first:
 * on a shared machine a round's ratio strays by ±10–20%, so a median of a
 * few percent is a change only when the rounds agree. It also prints each
 * server's user and kernel CPU per request (utime and stime of
 * /proc/<pid>/stat), which tells the runtime's share from the kernel's.
 *
 * usage:
 *   deno run -A bench/redis_ab.ts [--rounds N] [--pipeline P] [--requests N]
 *     [--tests get,set,...] NAME=KIND[:DIR[:BACKEND]] ...
 *
 * KIND is `mini` (DIR/examples/mini_redis/server.ts on BACKEND), `deno`
 * (DIR/bench/redis_server_deno.ts) or `redis` (redis-server, persistence
 * off). The first server is the baseline. For example, a change in
 * /tmp/try against this checkout on epoll:
 *
 *   deno run -A bench/redis_ab.ts base=mini:.:epoll try=mini:/tmp/try:epoll redis=redis
 *
 * @module
 */

import { median, procCpuSeconds, quantile } from "./_util.ts";
import { freePort, ping } from "./redis_bench.ts";
import { stopServers } from "./_echo_harness.ts";

const CLIENTS = 50;
const KEYSPACE = 100_000;

interface Server {
  name: string;
  child: Deno.ChildProcess;
  port: number;
}

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  if (v === undefined) throw new TypeError(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

/** Nanoseconds every thread of `pid` has run (schedstat), as seconds. */
function cpuSeconds(pid: number): number {
  let ns = 0;
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/schedstat`).split(" ")[0]);
    } catch { /* the thread ended */ }
  }
  return ns / 1e9;
}

async function start(spec: string): Promise<Server> {
  const eq = spec.indexOf("=");
  if (eq <= 0) throw new TypeError(`expected NAME=KIND[:DIR[:BACKEND]], got ${spec}`);
  const [kind, dir = ".", backend = ""] = spec.slice(eq + 1).split(":");
  const port = freePort();
  let cmd: Deno.Command;
  if (kind === "redis") {
    cmd = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
      stdout: "null",
    });
  } else if (kind === "mini" || kind === "deno") {
    const file = kind === "mini" ? "examples/mini_redis/server.ts" : "bench/redis_server_deno.ts";
    cmd = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${dir}/${file}`, "--port", String(port)],
      env: backend ? { DOKIO_BACKEND: backend } : {},
      stdout: "null",
    });
  } else throw new TypeError(`unknown kind ${kind} in ${spec}`);
  const child = cmd.spawn();
  const deadline = Date.now() + 30_000;
  while (!(await ping(port))) {
    if (Date.now() > deadline) throw new Error(`${spec} did not answer PING`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name: spec.slice(0, eq), child, port };
}

async function bench(s: Server, test: string, pipeline: number, n: number): Promise<void> {
  const o = await new Deno.Command("redis-benchmark", {
    args: [
      ...["-p", String(s.port), "-t", test, "-c", String(CLIENTS), "-r", String(KEYSPACE)],
      ...["-n", String(n), "-P", String(pipeline), "--csv"],
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!o.success) throw new Error(`redis-benchmark ${test} on ${s.name} failed`);
}

if (import.meta.main) {
  const args = [...Deno.args];
  const rounds = Number(flag(args, "--rounds", "7"));
  const pipeline = Number(flag(args, "--pipeline", "1"));
  const n = Number(flag(args, "--requests", pipeline === 1 ? "20000" : "100000"));
  const tests = flag(args, "--tests", "get,set,incr,lpush").split(",");
  if (args.length < 2) throw new TypeError("give at least two servers (see the module doc)");
  const servers: Server[] = [];
  try {
    for (const spec of args) servers.push(await start(spec));
    const ratios = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    const user = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    const kernel = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    for (let round = 0; round < rounds; round++) {
      const perReq = new Map<string, number>();
      for (const s of round % 2 === 0 ? servers : [...servers].reverse()) {
        let total = 0;
        for (const test of tests) {
          const c0 = cpuSeconds(s.child.pid), [u0, k0] = procCpuSeconds(s.child.pid);
          await bench(s, test, pipeline, n);
          const c1 = cpuSeconds(s.child.pid), [u1, k1] = procCpuSeconds(s.child.pid);
          total += (c1 - c0) * 1e6 / n;
          user.get(s.name)!.push((u1 - u0) * 1e6 / n);
          kernel.get(s.name)!.push((k1 - k0) * 1e6 / n);
        }
        perReq.set(s.name, total / tests.length);
      }
      const base = perReq.get(servers[0].name)!;
      for (const s of servers) ratios.get(s.name)!.push(perReq.get(s.name)! / base);
      console.log(
        `round ${round}: ` + servers.map((s) => `${s.name} ${perReq.get(s.name)!.toFixed(2)}`)
          .join("  "),
      );
    }
    console.log(
      `\n-P ${pipeline}, ${tests.join(",")}; load ${Deno.readTextFileSync("/proc/loadavg")}`,
    );
    console.log(
      "server CPU per request ÷ the first server's in the same round (median; middle half of " +
        "the rounds; rounds below 1):",
    );
    for (const s of servers) {
      const r = ratios.get(s.name)!;
      const q = (f: number) => quantile(r, f).toFixed(3);
      const below = r.filter((x) => x < 1).length;
      console.log(
        `${s.name.padEnd(12)} ${median(r).toFixed(3)} [${q(0.25)}–${
          q(0.75)
        }] ${below}/${r.length}` +
          `   user ${median(user.get(s.name)!).toFixed(2)} µs/req, kernel ${
            median(kernel.get(s.name)!).toFixed(2)
          } µs/req`,
      );
    }
  } finally {
    await stopServers(servers.map((s) => s.child));
  }
}
