/**
 * `deno task soak [minutes]` (default 30): the echo and mini-redis servers
 * under continuous churn, on each backend in turn, judged on their figures.
 *
 * For each backend (`--backends io_uring,epoll` by default; the minutes are
 * split evenly between them) it starts the server process (soak/server.ts),
 * then the load generator (soak/load.ts) in a process of its own, reads the
 * server's one-per-second samples until the load ends, stops the server
 * (SIGTERM) and judges every series with soak/trend.ts against
 * {@linkcode LIMITS} after the warm-up. It prints a table — start and end
 * of each figure, its slope and noise, the verdict — and the counters of
 * both processes, and exits 1 when any series trends up, any request was
 * answered wrong or lost, or either process failed.
 *
 * @module
 */

import { judge, type Limit, NOISE_SIGMAS, type Verdict } from "./trend.ts";
import { type Counts, parseLine, parseReady, type Sample, SERIES } from "./sample.ts";

const MIB = 1024 * 1024;

/**
 * What each series may do after warm-up, per minute. Why these:
 * - fds: a steady load holds a steady number of sockets open; the samples
 *   swing with the connections open at that second, which the noise margin
 *   covers. One fd lost per thousand connections (the load opens hundreds a
 *   second) is tens a minute, far above 1/min. Ceiling: the load holds at
 *   most ~40 connections (12 clients + churn + sink); 1024 is the default
 *   soft limit, where a leak would start to fail accepts.
 * - rss: V8 and the allocator settle after warm-up; 4 MiB/min is 120 MiB over
 *   a 30 min run, well below what one leaked 16 KiB read buffer per
 *   connection (~hundreds of MiB/min) or 100 B per request (tens of MiB/min)
 *   would add. Ceiling 1 GiB: several times the steady figure.
 * - heap: the JS heap's own share, 2 MiB/min (a leaked closure per request
 *   is tens of MiB/min); ceiling 512 MiB.
 * - tasks, timers, io (reactor ops in flight): counts that must return to
 *   their level; a leak of one per thousand churn rounds is tens a minute, the
 *   limit 5/min. Ceilings: ten times what the churn keeps alive at once (~100–200).
 * - external (ArrayBuffer memory outside the heap: read buffers, payloads):
 *   as the heap, 2 MiB/min, ceiling 512 MiB.
 * Memory slopes are fitted through each minute's peak and judged over at
 * least 10 minutes: RSS dips by tens of MiB now and then (the allocator gives
 * memory back) and climbs back to the same plateau (~220–240 MiB here), which
 * a fit through every sample of a shorter window reads as a trend (a 15 min
 * epoll phase that began in a dip fitted 5.8 MiB/min while its peaks were
 * flat); a leak lifts every minute's peak. A shorter run (CI's minute) checks
 * their ceilings only. The counts settle within seconds and are judged over
 * 10 s or more.
 */
export const LIMITS: Record<(typeof SERIES)[number], Limit> = {
  fds: { maxSlopePerMin: 1, ceiling: 1024, minSpanS: 10 },
  rss: { maxSlopePerMin: 4 * MIB, ceiling: 1024 * MIB, minSpanS: 600, peakWindowS: 60 },
  heap: { maxSlopePerMin: 2 * MIB, ceiling: 512 * MIB, minSpanS: 600, peakWindowS: 60 },
  tasks: { maxSlopePerMin: 5, ceiling: 2000, minSpanS: 10 },
  timers: { maxSlopePerMin: 5, ceiling: 2000, minSpanS: 10 },
  io: { maxSlopePerMin: 5, ceiling: 2000, minSpanS: 10 },
  external: { maxSlopePerMin: 2 * MIB, ceiling: 512 * MIB, minSpanS: 600, peakWindowS: 60 },
};

/** Counters that must stay 0. */
const MUST_BE_ZERO = [
  "echoWrong",
  "echoErrors",
  "redisWrong",
  "redisErrors",
  "lost",
  "salvageWrong",
  "poolWrong",
  "poolLost",
  "poolNotReplaced",
  "serverErrors",
];

/** Warm-up: a fifth of the phase, at least 15 s but at most half of it, at most 2 min. */
export function warmupSeconds(phaseSeconds: number): number {
  return Math.min(120, phaseSeconds / 2, Math.max(15, phaseSeconds / 5));
}

interface Phase {
  backend: string;
  samples: Sample[];
  counts: Counts;
  verdicts: Record<string, Verdict>;
  failures: string[];
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
  }
  if (rest !== "") yield rest;
}

function child(script: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
}

async function runPhase(backend: string, seconds: number, a: Args): Promise<Phase> {
  const { seed, verbose } = a;
  const phase: Phase = { backend, samples: [], counts: {}, verdicts: {}, failures: [] };
  const server = child("./server.ts", [
    "--backend",
    backend,
    "--seed",
    String(seed),
    "--skip",
    a.skip,
  ]);
  let ready!: (r: { echo: number; redis: number }) => void;
  const ports = new Promise<{ echo: number; redis: number }>((r) => (ready = r));
  const serverLines = (async () => {
    for await (const text of lines(server.stdout)) {
      const r = parseReady(text);
      if (r !== null) {
        ready(r);
        continue;
      }
      const l = parseLine(text);
      if (l.kind === "sample") {
        phase.samples.push(l.sample);
        if (verbose) console.log(`  ${JSON.stringify(l.sample)}`);
      } else if (l.kind === "counts") Object.assign(phase.counts, l.counts);
      else console.log(`  [server] ${l.text}`);
    }
  })();
  const serverDone = server.status;
  const p = await Promise.race([ports, serverDone.then(() => null)]);
  if (p === null) {
    await serverLines;
    phase.failures.push("the server exited before it listened");
    return phase;
  }
  console.log(`soak ${backend}: echo on ${p.echo}, mini-redis on ${p.redis}, ${seconds} s`);
  const load = child("./load.ts", [
    "--echo",
    String(p.echo),
    "--redis",
    String(p.redis),
    "--seconds",
    String(seconds),
    "--seed",
    String(seed),
  ]);
  for await (const text of lines(load.stdout)) {
    const l = parseLine(text);
    if (l.kind === "counts") Object.assign(phase.counts, l.counts);
    else console.log(`  [load] ${text}`);
  }
  const loadStatus = await load.status;
  if (!loadStatus.success) phase.failures.push(`the load generator exited ${loadStatus.code}`);
  server.kill("SIGTERM");
  const serverStatus = await serverDone;
  await serverLines;
  if (!serverStatus.success) phase.failures.push(`the server exited ${serverStatus.code}`);
  if (!("fdsAtExit" in phase.counts)) phase.failures.push("the server printed no counts");
  const warmup = warmupSeconds(seconds);
  const ts = phase.samples.map((s) => s.t);
  for (const k of SERIES) {
    const v = judge(ts, phase.samples.map((s) => s[k]), warmup, LIMITS[k]);
    phase.verdicts[k] = v;
    if (!v.ok) phase.failures.push(`${k}: ${v.reason}`);
  }
  for (const k of MUST_BE_ZERO) {
    if ((phase.counts[k] ?? 0) !== 0) phase.failures.push(`${k}: ${phase.counts[k]}`);
  }
  return phase;
}

function show(k: string, v: number): string {
  if (k === "rss" || k === "heap" || k === "external") return `${(v / MIB).toFixed(1)} MiB`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function report(p: Phase, seconds: number): void {
  const warmup = warmupSeconds(seconds);
  const after = p.samples.filter((s) => s.t >= warmup);
  const first = after[0];
  const last = after.at(-1);
  console.log(
    `\n${p.backend}: ${p.samples.length} samples, warm-up ${warmup} s; start = first sample ` +
      `after warm-up; slope ± ${NOISE_SIGMAS}σ per minute (memory: through each minute's peak, judged over ≥ 10 min)`,
  );
  const rows = [
    ["figure", "at 0 s", "start", "end", "peak", "slope/min", "± noise", "limit/min", "verdict"],
  ];
  for (const k of SERIES) {
    const v = p.verdicts[k];
    if (v === undefined || first === undefined || last === undefined) continue;
    rows.push([
      k,
      show(k, p.samples[0][k]),
      show(k, first[k]),
      show(k, last[k]),
      show(k, v.peak),
      show(k, v.fit.slope),
      show(k, NOISE_SIGMAS * v.fit.slopeSe),
      show(k, LIMITS[k].maxSlopePerMin),
      !v.ok ? "FAIL" : v.slopeJudged ? "flat" : "under ceiling",
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log("  " + r.map((x, c) => x.padStart(widths[c])).join("  "));
  const c = p.counts;
  console.log(
    `  requests: echo ${c.echoRequests ?? 0} (${((c.echoBytes ?? 0) / MIB).toFixed(0)} MiB) on ` +
      `${c.echoConnections ?? 0} connections, ${c.echoResets ?? 0} reset mid-request; redis ` +
      `${c.redisRequests ?? 0} on ${c.redisConnections ?? 0} connections, ${c.redisResets ?? 0} ` +
      `reset mid-request`,
  );
  console.log(
    `  churn: ${c.midReadCancels ?? 0} reads and ${c.midWriteCancels ?? 0} writes cancelled ` +
      `mid-flight, ${c.readAborts ?? 0}/${c.writeAborts ?? 0} tasks aborted in a read/write, ` +
      `${c.salvageChecks ?? 0} echoes re-read after a cancelled read; ${c.timersSet ?? 0} ` +
      `sleeps set, ${c.timersCancelled ?? 0} cancelled, ${c.timeoutsFired ?? 0} timeouts fired`,
  );
  console.log(
    `  pool: ${c.poolTasks ?? 0} tasks, ${c.poolOk ?? 0} checked, ${c.poolDiedInFlight ?? 0} ` +
      `failed with their killed worker; ${c.poolKills ?? 0} workers killed, ` +
      `${c.poolReplaced ?? 0} replaced; fds at exit ${c.fdsAtExit ?? "?"}`,
  );
  const errors = MUST_BE_ZERO.map((k) => `${k} ${c[k] ?? 0}`).join(", ");
  console.log(`  errors: ${errors}`);
  for (const f of p.failures) console.log(`  FAILED: ${f}`);
}

interface Args {
  minutes: number;
  backends: string[];
  seed: number;
  verbose: boolean;
  /** Parts of the server's churn to leave out (soak/server.ts `--skip`). */
  skip: string;
}

function parseArgs(args: string[]): Args {
  let minutes = 30;
  let verbose = false;
  let skip = "";
  let backends = ["io_uring", "epoll"];
  let seed = 1;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--backends") backends = args[++i].split(",");
    else if (a === "--seed") seed = Number(args[++i]);
    else if (a === "--verbose") verbose = true;
    else if (a === "--skip") skip = args[++i];
    else if (/^[0-9.]+$/.test(a)) minutes = Number(a);
    else {throw new TypeError(
        `soak: unknown argument ${a} (usage: [minutes] [--backends a,b] [--seed n] [--skip parts] [--verbose])`,
      );}
  }
  if (!(minutes > 0)) throw new RangeError("soak: minutes must be > 0");
  return { minutes, backends, seed, verbose, skip };
}

if (import.meta.main) {
  const a = parseArgs(Deno.args);
  const { minutes, backends } = a;
  const seconds = Math.round((minutes * 60) / backends.length);
  let failed = 0;
  for (const b of backends) {
    const p = await runPhase(b, seconds, a);
    report(p, seconds);
    failed += p.failures.length;
  }
  console.log(
    failed === 0 ? "\nsoak: every figure flat, no request lost or wrong" : `\nsoak: FAILED`,
  );
  Deno.exit(failed === 0 ? 0 : 1);
}
