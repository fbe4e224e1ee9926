/**
 * `deno task bench`: run every suite (each measures its peer in the same
 * run), print one table, and write a markdown report with the machine,
 * versions and date to bench/reports/latest.md.
 *
 * `deno task bench runtime echo` runs only the named suites; `--quick` runs
 * fewer rounds. Each suite runs in a process of its own (bench/run_suite.ts),
 * so none inherits another's heap or JIT state.
 *
 * The runtime, time, sync and echo rows also carry Tokio's figures on the
 * same workloads (bench/tokio/, built with cargo before the first suite
 * starts; without cargo those cells say "—" and the run says why).
 *
 * @module
 */

import type { BenchRow } from "./row.ts";
import { tokioBin } from "./_tokio.ts";

interface Suite {
  name: string;
  module: string;
  fn: string;
}

const SUITES: Suite[] = [
  { name: "runtime", module: "./runtime_bench.ts", fn: "runRuntimeBench" },
  { name: "sync", module: "./sync_bench.ts", fn: "runSyncBench" },
  { name: "reactor", module: "./reactor_bench.ts", fn: "runReactorBench" },
  { name: "echo", module: "./echo_bench.ts", fn: "runEchoBench" },
  { name: "unix_echo", module: "./unix_echo_bench.ts", fn: "runUnixEchoBench" },
  { name: "io", module: "./io_bench.ts", fn: "runIoBench" },
  { name: "workers", module: "./workers_bench.ts", fn: "runWorkersBench" },
  { name: "redis", module: "./redis_bench.ts", fn: "runRedisBench" },
  { name: "fs", module: "./fs_bench.ts", fn: "runFsBench" },
];

function fmt(n: number | null): string {
  // JSON carries a non-finite ratio (a zero denominator) as null.
  if (n === null || !Number.isFinite(n)) return "—";
  const a = Math.abs(n);
  return a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : n.toFixed(2);
}

async function text(cmd: string, args: string[]): Promise<string> {
  try {
    const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(o.stdout).trim();
  } catch {
    return "n/a";
  }
}

async function machine(): Promise<Record<string, string>> {
  let cpu = "n/a";
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    cpu = info.match(/model name\s*:\s*(.*)/)?.[1] ?? "n/a";
  } catch { /* not Linux */ }
  const zig = await text("python3", ["-m", "ziglang", "version"]);
  return {
    date: new Date().toISOString(),
    cpu,
    cores: String(navigator.hardwareConcurrency),
    memory: `${(Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1)} GiB`,
    os: `${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch})`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    zig: zig || "n/a",
  };
}

const wanted = Deno.args.filter((a) => !a.startsWith("-"));
const quick = Deno.args.includes("--quick");
const rows: BenchRow[] = [];
const skipped: string[] = [];
/** Suites whose rows carry Tokio's figures. */
const WITH_TOKIO = ["runtime", "sync", "echo"];
let tokioNote = "";
if (WITH_TOKIO.some((n) => wanted.length === 0 || wanted.includes(n))) {
  // Build once here, so no suite's timing includes the build.
  if ((await tokioBin()) === null) tokioNote = "Tokio rows skipped: see the message above.";
}
for (const s of SUITES) {
  if (wanted.length > 0 && !wanted.includes(s.name)) continue;
  console.error(`running ${s.name}…`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      `--lock=${new URL("./deno.lock", import.meta.url).pathname}`,
      new URL("./run_suite.ts", import.meta.url).href,
      s.module,
      s.fn,
    ],
    env: quick ? { DOKIO_BENCH_QUICK: "1" } : {},
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const line = new TextDecoder().decode(out.stdout).split("\n").find((l) => l.startsWith("ROWS "));
  if (!out.success || line === undefined) {
    skipped.push(`${s.name} (exit ${out.code})`);
    continue;
  }
  rows.push(...(JSON.parse(line.slice(5)) as BenchRow[]));
}

const TOKIO_LEGEND =
  "vs tokio / vs mt2: the same against Tokio (bench/tokio/) on current_thread / multi_thread with 2 workers.";

/** A ratio cell: "1.39×", or "—" when there is none. */
function fmtRatio(n: number | null): string {
  const s = fmt(n);
  return s === "—" ? s : `${s}×`;
}

const header = [
  "suite",
  "workload",
  "dokio",
  "peer",
  "unit",
  "peer is",
  "ratio",
  "tokio",
  "vs tokio",
  "tokio mt2",
  "vs mt2",
  "bar",
];
/** A figure cell that may be absent. */
const opt = (n: number | null | undefined, f: (n: number | null) => string) =>
  n === undefined ? "—" : f(n);
const body = rows.map((r) => [
  r.suite,
  r.name,
  fmt(r.dokio),
  fmt(r.peer),
  r.unit,
  r.peerName,
  fmtRatio(r.ratio),
  opt(r.tokio, fmt),
  opt(r.vsTokio, fmtRatio),
  opt(r.tokioMt, fmt),
  opt(r.vsTokioMt, fmtRatio),
  r.bar ?? "",
]);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const b of body) console.log(line(b));
if (skipped.length) console.log(`\nskipped: ${skipped.join("; ")}`);
if (tokioNote) console.log(`\n${tokioNote}`);
console.log("\nratio: how many times better Dokio is than the peer, measured in this run.");
console.log(TOKIO_LEGEND);

const m = await machine();
const md = [
  `# Dokio bench report`,
  ``,
  `Command: \`deno task bench${quick ? " --quick" : ""}${
    wanted.length ? " " + wanted.join(" ") : ""
  }\``,
  ``,
  ...Object.entries(m).map(([k, v]) => `- ${k}: ${v}`),
  ``,
  `| ${header.join(" | ")} |`,
  `| ${header.map(() => "---").join(" | ")} |`,
  ...body.map((b) => `| ${b.join(" | ")} |`),
  ``,
  skipped.length ? `Skipped: ${skipped.join("; ")}` : ``,
  tokioNote,
  `Ratio: how many times better Dokio is than the peer in the same run (for times and sizes, peer ÷ dokio).`,
  TOKIO_LEGEND,
  ``,
].join("\n");
const dir = new URL("./reports/", import.meta.url);
Deno.mkdirSync(dir, { recursive: true });
Deno.writeTextFileSync(new URL("latest.md", dir), md);
console.log(`\nreport: bench/reports/latest.md`);
