/**
 * Runtime and timer suites, each beside its peer in the same run:
 * spawn+join vs async fn + Promise.all, yields vs microtask hops, Tokio's
 * ping_pong and chained_spawn shapes, 1M timers vs setTimeout (fresh child
 * processes, wall and heap), and the idle CPU of a parked runtime. Each
 * workload but the idle one also runs on Tokio (bench/tokio/, current_thread
 * and multi_thread(2)) in the same rounds; each figure is the median of
 * interleaved rounds.
 *
 * Run alone: `deno run -A bench/runtime_bench.ts`.
 *
 * @module
 */

import { call, Runtime, spawn, yieldNow } from "../mod.ts";
import type { Operation } from "../mod.ts";
import type { BenchRow } from "./row.ts";
import {
  benchRow,
  interleaved,
  median,
  procCpuSeconds,
  rounds,
  rowLine,
  suiteRow,
  tokioFigures,
  wall,
} from "./_util.ts";
import { tokioBin, tokioRun, tokioTimers } from "./_tokio.ts";

const row = suiteRow("runtime");

function* leaf(i: number): Operation<number> {
  return i;
}

function* yielder(n: number): Operation<void> {
  for (let i = 0; i < n; i++) yield* yieldNow();
}

function* chain(n: number): Operation<number> {
  if (n === 0) return 0;
  return 1 + (yield* spawn(chain(n - 1)));
}

function* joiner<T>(a: Operation<T>): Operation<T> {
  return yield* a;
}

function* pingPong(rounds: number): Operation<void> {
  // Tokio's ping_pong shape: spawn a task, spawn a second that joins the first, join the
  // second. The second is a called declared generator (README: the fast spawn forms).
  for (let r = 0; r < rounds; r++) {
    const a = spawn(leaf(r));
    yield* spawn(joiner(a));
  }
}

function* pingPongClosures(rounds: number): Operation<void> {
  // The same with a fresh generator closure per round (the slow form).
  for (let r = 0; r < rounds; r++) {
    const a = spawn(leaf(r));
    const b = spawn(function* () {
      return yield* a;
    });
    yield* b;
  }
}

/** Rounds of the in-process workloads (each contender once per round). */
const ROUNDS = rounds(5, 3);

async function inProcess(): Promise<BenchRow[]> {
  // One runtime for every Dokio workload here, built before any timing, as Tokio's side
  // builds its runtime once and times block_on (a fresh run() adds ~0.1 ms of runtime
  // setup and shutdown: a third of chained_spawn's 1000 links).
  await using rt = new Runtime({ instrument: false });
  const run = <T>(body: Operation<T> | (() => Operation<T>)) => rt.run(body);
  const rows: BenchRow[] = [];
  const N = 1_000_000;
  const rate = (n: number) => (ms: number) => n / ms / 1e3;

  // spawn + join 1M (instrumentation off, as by default; on is measured apart: instrumentCost)
  const spawnJoin = wall(() =>
    run(function* () {
      const hs = new Array(N);
      for (let i = 0; i < N; i++) hs[i] = spawn(leaf(i));
      for (let i = 0; i < N; i++) yield* hs[i];
    })
  );
  const asyncAll = wall(() => {
    const ps = new Array(N);
    // deno-lint-ignore require-await
    for (let i = 0; i < N; i++) ps[i] = (async (x: number) => x)(i);
    return Promise.all(ps);
  });
  // A spawned task runs on a later scheduler turn, not inside spawn(): the
  // async fn that does the same awaits once before returning. (This shape
  // measures ~1.1 M/s here.)
  const deferredAll = wall(() => {
    const ps = new Array(N);
    for (let i = 0; i < N; i++) {
      ps[i] = (async (x: number) => {
        await null;
        return x;
      })(i);
    }
    return Promise.all(ps);
  });
  // The slow form `spawn`'s doc warns about: a fresh generator closure per spawn
  // (V8 builds a prototype and map for each), beside the same peer.
  const closureSpawnJoin = wall(() =>
    run(function* () {
      const hs = new Array(N);
      for (let i = 0; i < N; i++) {
        hs[i] = spawn(function* () {
          return i;
        });
      }
      for (let i = 0; i < N; i++) yield* hs[i];
    })
  );
  const [spawnMs, asyncMs, deferredMs, closureMs, tSpawnCt, tSpawnMt] = await interleaved(
    ROUNDS,
    [
      spawnJoin,
      asyncAll,
      deferredAll,
      closureSpawnJoin,
      ...await tokioTimers("spawn_join", N),
    ],
  );
  const tSpawn = tokioFigures(tSpawnCt, tSpawnMt, rate(N));
  const spawnName = "spawn+join 1M tasks, called generators (spawn(body(i)))";
  const tasksPerS = (ms: number | null) => rate(N)(ms!);
  rows.push(
    row(
      spawnName,
      tasksPerS(spawnMs),
      tasksPerS(asyncMs),
      "async fn + Promise.all",
      "M tasks/s",
      true,
      "vs tokio ≥ 0.8×",
      tSpawn,
    ),
    row(
      spawnName,
      tasksPerS(spawnMs),
      tasksPerS(deferredMs),
      "async fn awaiting once + Promise.all",
      "M tasks/s",
      true,
      undefined,
      tSpawn,
    ),
    await instrumentCost("sj", "spawn+join 1M tasks, task instrumentation on", "M tasks/s", N),
    row(
      "spawn+join 1M tasks, fresh generator closures",
      tasksPerS(closureMs),
      tasksPerS(asyncMs),
      "async fn + Promise.all",
      "M tasks/s",
      true,
      undefined,
      tSpawn,
    ),
  );

  // 1000 tasks × 1000 yields
  const Y = 1000;
  const hop = () => new Promise<void>((r) => queueMicrotask(r));
  const [yieldMs, microMs, awaitNullMs, tYieldCt, tYieldMt] = await interleaved(ROUNDS, [
    wall(() =>
      run(function* () {
        const hs = [];
        for (let i = 0; i < Y; i++) hs.push(spawn(yielder(Y)));
        for (const h of hs) yield* h;
      })
    ),
    wall(() =>
      Promise.all(Array.from({ length: Y }, async () => {
        for (let i = 0; i < Y; i++) await hop();
      }))
    ),
    wall(() =>
      Promise.all(Array.from({ length: Y }, async () => {
        for (let i = 0; i < Y; i++) await null;
      }))
    ),
    ...await tokioTimers("yields", Y, Y),
  ]);
  const yields = (ms: number | null) => rate(Y * Y)(ms!);
  const tYield = tokioFigures(tYieldCt, tYieldMt, rate(Y * Y));
  rows.push(
    row(
      "1000 tasks × 1000 yieldNow",
      yields(yieldMs),
      yields(microMs),
      "await new Promise(queueMicrotask)",
      "M yields/s",
      true,
      "≥ 1.5×; vs tokio ≥ 0.8×",
      tYield,
    ),
    row(
      "1000 tasks × 1000 yieldNow",
      yields(yieldMs),
      yields(awaitNullMs),
      "await null",
      "M yields/s",
      true,
      undefined,
      tYield,
    ),
    await instrumentCost(
      "y",
      "1000 tasks × 1000 yieldNow, task instrumentation on",
      "M yields/s",
      Y * Y,
    ),
  );

  // chained_spawn: each task spawns the next and joins it.
  const C = 1000;
  const asyncChain = async (
    n: number,
  ): Promise<number> => (n === 0 ? 0 : 1 + (await asyncChain(n - 1)));
  const [chainMs, asyncChainMs, tChainCt, tChainMt] = await interleaved(ROUNDS, [
    wall(() => run(chain(C))),
    wall(() => asyncChain(C)),
    ...await tokioTimers("chain", C),
  ]);
  const perLink = (ms: number) => ms * 1000 / C;
  rows.push(
    row(
      "chained_spawn (1000 deep)",
      perLink(chainMs!),
      perLink(asyncChainMs!),
      "nested async fns",
      "µs/link",
      false,
      "vs tokio ≥ 1.0×",
      tokioFigures(tChainCt, tChainMt, perLink),
    ),
  );

  // ping_pong
  const P = 100_000;
  const [ppMs, ppClosureMs, asyncPpMs, tPpCt, tPpMt] = await interleaved(ROUNDS, [
    wall(() => run(pingPong(P))),
    wall(() => run(pingPongClosures(P))),
    wall(async () => {
      for (let r = 0; r < P; r++) {
        // deno-lint-ignore require-await
        const a = (async (x: number) => x)(r);
        await (async () => await a)();
      }
    }),
    ...await tokioTimers("ping_pong", P),
  ]);
  rows.push(
    row(
      "ping_pong (spawn pair, join), called generators",
      rate(P)(ppMs!),
      rate(P)(asyncPpMs!),
      "async fn pair",
      "M rounds/s",
      true,
      "vs tokio ≥ 1.0×",
      tokioFigures(tPpCt, tPpMt, rate(P)),
    ),
    row(
      "ping_pong, fresh generator closures",
      rate(P)(ppClosureMs!),
      rate(P)(asyncPpMs!),
      "async fn pair",
      "M rounds/s",
      true,
      undefined,
      tokioFigures(tPpCt, tPpMt, rate(P)),
    ),
  );

  // call() around a resolved promise vs await: the cost of bridging promises
  // (no Tokio row: there is no promise to bridge there).
  const K = 200_000;
  const [callMs, awaitMs] = await interleaved(ROUNDS, [
    wall(() =>
      run(function* () {
        for (let i = 0; i < K; i++) yield* call(Promise.resolve(i));
      })
    ),
    wall(async () => {
      for (let i = 0; i < K; i++) await Promise.resolve(i);
    }),
  ]);
  rows.push(
    row(
      "await a promise in a task (call)",
      rate(K)(callMs!),
      rate(K)(awaitMs!),
      "await in async fn",
      "M/s",
      true,
    ),
  );
  return rows;
}

/** How a side of an instrumentation A/B runs: untimed rounds, then timed ones, per process. */
interface CostShape {
  warm: number;
  timed: number;
}

/** Per workload of bench/instrument_ab.ts: spawn+join rounds take ~1 s, yield rounds ~0.1 s. */
const COST_SHAPE: Record<"sj" | "y", CostShape> = {
  sj: { warm: 1, timed: rounds(4, 2) },
  y: { warm: 3, timed: rounds(15, 8) },
};

/**
 * Pairs of processes (one per side) of an instrumentation A/B. On a shared machine one pair's
 * ratio swings by ±0.15 (the CPU time of a round moves with it: not descheduling), and the
 * median of 7 pairs still moved by ±0.05 between runs, so the median takes 11.
 */
const COST_PAIRS = rounds(11, 5);

/** The median wall time (ms) of the timed rounds of one fresh bench/instrument_ab.ts process. */
async function costProcess(which: "sj" | "y", mode: "on" | "off"): Promise<number> {
  const { warm, timed } = COST_SHAPE[which];
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./instrument_ab.ts", import.meta.url).href,
      new URL("..", import.meta.url).pathname,
      which,
      mode,
      String(warm),
      String(timed),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`instrument_ab ${which} ${mode} failed`);
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
  return median((JSON.parse(line) as { ms: number[] }).ms);
}

/**
 * Task instrumentation's cost on one workload: each side runs in a fresh process of its
 * own (no other row's code shares its isolate: a row run before it changed the measured cost
 * through deopts of the instrumentation's code), pairs alternate which side goes first, and
 * each process reports the in-process rate of its timed rounds after warm-up (not
 * process time). The figures are medians over processes; the ratio is the median of the
 * pairs' ratios.
 */
async function instrumentCost(
  which: "sj" | "y",
  name: string,
  unit: string,
  ops: number,
): Promise<BenchRow> {
  const on: number[] = [], off: number[] = [], ratios: number[] = [];
  for (let p = 0; p < COST_PAIRS; p++) {
    const first = p % 2 === 0 ? "off" : "on";
    const a = await costProcess(which, first);
    const b = await costProcess(which, first === "off" ? "on" : "off");
    const [offMs, onMs] = first === "off" ? [a, b] : [b, a];
    on.push(onMs);
    off.push(offMs);
    ratios.push(offMs / onMs);
  }
  const rate = (ms: number) => ops / ms / 1e3;
  const { warm, timed } = COST_SHAPE[which];
  const spread = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
  return {
    ...row(
      name,
      rate(median(on)),
      rate(median(off)),
      `instrumentation off (a fresh process per side, ${COST_PAIRS} alternating pairs; ` +
        `in-process rate, median of ${timed} rounds after ${warm} warm-up; ratio: median of ` +
        `the pairs' ratios, ${spread})`,
      unit,
      true,
      "≥ 0.87× off (≤ 15% loss)",
    ),
    ratio: median(ratios),
  };
}

/** Wall time and heap of one timer workload in a fresh process. */
interface TimerFigures {
  wallMs: number;
  heapMB: number;
}

async function child(mode: string, count: number): Promise<TimerFigures> {
  const url = new URL("./timer_child.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", url.href, mode, String(count)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`timer child ${mode} failed`);
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
  return JSON.parse(line);
}

/** Rounds of the timer workloads (a fresh process each; setTimeout's take ~5 s). */
const TIMER_ROUNDS = rounds(3, 1);

async function timers(): Promise<BenchRow[]> {
  const N = 1_000_000;
  const tokio = await tokioBin();
  // Each contender is a fresh process; every round runs each once, in
  // alternating order, and each figure is the median over the rounds.
  const runs: Record<string, () => Promise<TimerFigures>> = {
    "settimeout": () => child("settimeout", N),
    "dokio-tasks": () => child("dokio-tasks", N),
    "dokio-entries": () => child("dokio-entries", N),
    "settimeout-cancel": () => child("settimeout-cancel", N),
    "dokio-cancel": () => child("dokio-cancel", N),
  };
  if (tokio !== null) {
    for (const w of ["sleep_tasks", "timer_entries", "timer_cancel"]) {
      for (const f of ["ct", "mt"] as const) {
        runs[`tokio-${f}-${w}`] = async () => {
          const r = await tokioRun(tokio, f, w, N);
          return { wallMs: r.ms, heapMB: r.heapMB ?? NaN };
        };
      }
    }
  }
  const names = Object.keys(runs);
  const seen: Record<string, TimerFigures[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < TIMER_ROUNDS; r++) {
    for (const k of r % 2 === 0 ? names : [...names].reverse()) seen[k].push(await runs[k]());
  }
  const med = (k: string, f: keyof TimerFigures): number | null =>
    seen[k] === undefined ? null : median(seen[k].map((x) => x[f]));
  const tok = (w: string, f: keyof TimerFigures) =>
    tokioFigures(med(`tokio-ct-${w}`, f), med(`tokio-mt-${w}`, f), (x) => x);
  const t = (
    name: string,
    mode: string,
    peerMode: string,
    f: keyof TimerFigures,
    tokioWorkload: string,
    bar?: string,
  ): BenchRow =>
    benchRow(
      "time",
      name,
      med(mode, f)!,
      med(peerMode, f)!,
      f === "heapMB" || peerMode === "settimeout-cancel" ? "setTimeout/clearTimeout" : "setTimeout",
      f === "heapMB" ? "MB" : "ms",
      false,
      bar,
      tok(tokioWorkload, f),
    );
  return [
    t(
      "1M tasks sleeping 0–1 s: wall",
      "dokio-tasks",
      "settimeout",
      "wallMs",
      "sleep_tasks",
      "vs tokio ≥ 0.8×",
    ),
    t(
      "1M tasks sleeping 0–1 s: heap",
      "dokio-tasks",
      "settimeout",
      "heapMB",
      "sleep_tasks",
      "≥ 2×",
    ),
    t("1M timer entries 0–1 s: wall", "dokio-entries", "settimeout", "wallMs", "timer_entries"),
    t(
      "1M timer entries 0–1 s: heap",
      "dokio-entries",
      "settimeout",
      "heapMB",
      "timer_entries",
      "≥ 7×",
    ),
    t(
      "1M timers set then cancelled",
      "dokio-cancel",
      "settimeout-cancel",
      "wallMs",
      "timer_cancel",
      "vs tokio ≥ 0.8×",
    ),
  ];
}

async function idleCpu(): Promise<BenchRow[]> {
  // A runtime with 1,000 idle connections (a pending read each) and 10,000
  // pending timers, parked: CPU over 3 s (the bar is over 10 s;
  // DOKIO_BENCH_IDLE_S=10 measures the full window).
  let seconds = 3;
  try {
    seconds = Number(Deno.env.get("DOKIO_BENCH_IDLE_S") ?? 3);
  } catch { /* no env permission */ }
  const code = `
    import { run, sleep, spawn } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
    import { TcpListener, TcpStream } from ${
    JSON.stringify(new URL("../net/mod.ts", import.meta.url).href)
  };
    function* s() { yield* sleep(600000); }
    function* idle(c) { const b = new Uint8Array(64); yield* c.read(b); }
    await run(function* () {
      for (let i = 0; i < 10000; i++) spawn(s());
      const l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
      const clients = [];
      for (let i = 0; i < 1000; i++) {
        clients.push(yield* TcpStream.connect({ hostname: "127.0.0.1", port: l.localAddr.port }));
        spawn(idle(yield* l.accept()));
      }
      console.log("ready");
      yield* sleep(${seconds * 1000 + 2000});
      Deno.exit(0);
    });`;
  const p = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = p.stdout.getReader();
  await reader.read(); // "ready"
  await new Promise((r) => setTimeout(r, 300));
  const cpuS = () => {
    const [user, kernel] = procCpuSeconds(p.pid);
    return user + kernel;
  };
  const t0 = cpuS();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = cpuS() - t0;
  p.kill("SIGKILL");
  reader.releaseLock();
  await p.stdout.cancel();
  await p.status;
  const pct = used / seconds * 100;
  return [{
    suite: "runtime",
    name: `idle runtime, 1k idle conns + 10k timers: CPU over ${seconds} s`,
    dokio: pct,
    peer: 100,
    peerName: "one busy core",
    unit: "% CPU",
    ratio: pct === 0 ? Infinity : 100 / pct,
    bar: "≈ 0%",
  }];
}

/**
 * Run every runtime and timer suite and return the rows.
 *
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * const rows = await runRuntimeBench();
 * ```
 */
export async function runRuntimeBench(): Promise<BenchRow[]> {
  return [...await inProcess(), ...await timers(), ...await idleCpu()];
}

if (import.meta.main) {
  // `deno run -A bench/runtime_bench.ts idle` runs only the idle-CPU check.
  const rows = Deno.args[0] === "idle" ? await idleCpu() : await runRuntimeBench();
  for (const r of rows) console.log(rowLine(r));
}
