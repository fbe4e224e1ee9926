/**
 * A paired A/B of echo servers, for trying a change to the reactor or the
 * runtime: every server starts at once, then the load client gives each one
 * a short 64 B window per round, in alternating order, and each window's
 * CPU per round trip is divided by the first server's in the same round.
 * The medians of those per-round ratios cancel the slow drift of a shared
 * machine far better than two separate runs can.
 *
 * usage:
 *   deno run -A bench/echo_ab.ts [--rounds N] [--window MS] NAME=DIR:BACKEND[:VAR=VALUE|:--flag=value...] ...
 *
 * DIR is a Dokio checkout (a copy with the change, or this one); BACKEND is
 * `io_uring` or `epoll` (its examples/echo.ts runs) or `deno` (its
 * bench/echo_server_deno.ts runs); VAR=VALUE pairs go into that server's
 * environment, and `--flag=value` (or a bare `--flag`) items go to the echo
 * daemon's command line (`one=.:io_uring two=.:io_uring:--workers=2`; a value
 * may hold colons: `:--console-addr=127.0.0.1:0`). The
 * first server is the baseline. For example:
 *
 *   deno run -A bench/echo_ab.ts base=.:io_uring try=/tmp/dokio-try:io_uring deno=.:deno
 *
 * @module
 */

import {
  buildClient,
  cpuPerRt,
  load,
  type ServerSpec,
  startServer,
  stopServers,
} from "./_echo_harness.ts";
import { median, quantile } from "./_util.ts";

/**
 * A parsed command line.
 *
 * @example
 * ```ts
 * import type { AbOptions } from "./echo_ab.ts";
 * import assert from "node:assert/strict";
 * const o: AbOptions = { rounds: 12, windowMs: 1200, servers: [] };
 * assert.equal(o.rounds, 12);
 * ```
 */
export interface AbOptions {
  /** Rounds; each server gets one window per round. */
  rounds: number;
  /** Length of one window, ms. */
  windowMs: number;
  /** The servers, baseline first. */
  servers: ServerSpec[];
}

/**
 * Parse the command line (see the module doc).
 *
 * @throws {TypeError} for a malformed server spec, an unknown backend, a bad
 *   number or fewer than two servers.
 * @example
 * ```ts
 * import { parseAbArgs } from "./echo_ab.ts";
 * import assert from "node:assert/strict";
 * const o = parseAbArgs(["--rounds", "4", "a=/src/x:io_uring:K=1:--workers=2", "b=/src/x:deno"]);
 * assert.equal(o.rounds, 4);
 * assert.equal(o.servers[0].env.K, "1");
 * assert.deepEqual(o.servers[0].args.slice(-2), ["--workers", "2"]);
 * assert.equal(o.servers[1].args[0], "/src/x/bench/echo_server_deno.ts");
 * const c = parseAbArgs(["a=/src/x:io_uring", "b=/src/x:io_uring:--console-addr=127.0.0.1:0"]);
 * assert.deepEqual(c.servers[1].args.slice(-2), ["--console-addr", "127.0.0.1:0"]);
 * ```
 */
export function parseAbArgs(argv: string[]): AbOptions {
  let rounds = 12, windowMs = 1200;
  const servers: ServerSpec[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--rounds" || a === "--window") {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new TypeError(`${a} needs a positive integer`);
      if (a === "--rounds") rounds = v;
      else windowMs = v;
      continue;
    }
    const eq = a.indexOf("=");
    if (eq <= 0) throw new TypeError(`expected NAME=DIR:BACKEND[:VAR=VALUE...], got ${a}`);
    const [dir, backend, ...parts] = a.slice(eq + 1).split(":");
    if (!dir || !backend) throw new TypeError(`expected NAME=DIR:BACKEND, got ${a}`);
    // A part that is neither VAR=VALUE nor a --flag continues the one before
    // it: a value with a colon in it (`--console-addr=127.0.0.1:0`).
    const vars: string[] = [];
    for (const p of parts) {
      if (vars.length > 0 && !p.startsWith("--") && !p.includes("=")) {
        vars[vars.length - 1] += `:${p}`;
      } else vars.push(p);
    }
    const env: Record<string, string> = {};
    const flags: string[] = [];
    for (const kv of vars) {
      const k = kv.indexOf("=");
      if (kv.startsWith("--")) {
        // A daemon flag: --workers=2 passes `--workers 2`, a bare --console passes itself.
        flags.push(...(k > 0 ? [kv.slice(0, k), kv.slice(k + 1)] : [kv]));
        continue;
      }
      if (k <= 0) throw new TypeError(`expected VAR=VALUE, got ${kv} in ${a}`);
      env[kv.slice(0, k)] = kv.slice(k + 1);
    }
    if (backend === "deno") {
      servers.push({ name: a.slice(0, eq), args: [`${dir}/bench/echo_server_deno.ts`], env });
    } else if (backend === "io_uring" || backend === "epoll") {
      env.DOKIO_BACKEND = backend;
      servers.push({
        name: a.slice(0, eq),
        args: [`${dir}/examples/echo.ts`, "--port", "0", "--drain-ms", "0", ...flags],
        env,
        cwd: dir,
      });
    } else {
      throw new TypeError(`unknown backend ${backend} (io_uring, epoll or deno)`);
    }
  }
  if (servers.length < 2) throw new TypeError("give at least two servers, the baseline first");
  return { rounds, windowMs, servers };
}

async function main(opts: AbOptions): Promise<void> {
  const client = await buildClient();
  const started: { spec: ServerSpec; child: Deno.ChildProcess; port: number }[] = [];
  const cpu: number[][] = opts.servers.map(() => []);
  const ratio: number[][] = opts.servers.map(() => []);
  try {
    for (const spec of opts.servers) started.push({ spec, ...(await startServer(spec)) });
    for (const s of started) await load(client, s.port, s.child.pid, 64, 500, 1000); // warm-up
    for (let r = 0; r < opts.rounds; r++) {
      const order = started.map((_, i) => (r % 2 === 0 ? i : started.length - 1 - i));
      const v: number[] = [];
      for (const i of order) {
        const s = started[i];
        v[i] = cpuPerRt(await load(client, s.port, s.child.pid, 64, 150, opts.windowMs));
      }
      v.forEach((x, i) => {
        cpu[i].push(x);
        ratio[i].push(x / v[0]);
      });
      console.log(
        `round ${r}: ` + started.map((s, i) => `${s.spec.name} ${v[i].toFixed(2)}`).join("  "),
      );
    }
  } finally {
    await stopServers(started.map((s) => s.child));
  }
  const base = opts.servers[0].name;
  console.log(`\nserver CPU per round trip (µs), and ÷ ${base} in the same round:`);
  opts.servers.forEach((s, i) => {
    console.log(
      `${s.name.padEnd(12)} median ${median(cpu[i]).toFixed(2)}  ratio median ${
        median(ratio[i]).toFixed(3)
      } (q25 ${quantile(ratio[i], 0.25).toFixed(3)}, q75 ${quantile(ratio[i], 0.75).toFixed(3)})`,
    );
  });
}

if (import.meta.main) {
  let opts: AbOptions;
  try {
    opts = parseAbArgs(Deno.args);
  } catch (e) {
    console.error(`echo_ab: ${(e as Error).message}`);
    Deno.exit(2);
  }
  await main(opts);
}
