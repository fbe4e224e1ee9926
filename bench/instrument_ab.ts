/**
 * One process of a paired A/B of task instrumentation's cost: runs a
 * scheduler-bound workload on `run(…, { instrument })` from the Dokio checkout
 * given, prints the wall time of each round measured inside the process, then
 * exits. Time whole processes of it in turn (A B A B …, e.g. with
 * `/usr/bin/time -f %U+%S`), or read its rounds: the runtime bench's
 * instrumentation rows start it as a fresh process per side, so no other
 * workload shares its isolate (bench/runtime_bench.ts `instrumentCost`).
 *
 * usage: `deno run -A bench/instrument_ab.ts <checkout> <sj|sjb|y|fc> <on|off|default> [warm] [timed]`
 * - `sj`: spawn + join 1M tasks (called generators); `y`: 1000 tasks × 1000 `yieldNow`;
 *   `sjb`: the same 1M in 1000 batches of 1000 (spawn a batch, join it): a heap a thousand
 *   times smaller, so garbage collection, whose timing moves `sj`'s rounds by tens of
 *   percent on a shared machine, stays out of the way of the per-task cost being compared;
 *   `fc`: spawn + join 100k fresh closures (`spawn(function* () { … })` in a loop: a
 *   new function object per spawn, the spawn-site cache's hard case).
 * - `default` passes no option (for a checkout from before instrumentation).
 * - `warm` rounds run first untimed (default 0), then `timed` rounds (default 2); the last
 *   line of stdout is `{"ms":[…]}`, each timed round's wall time in ms.
 *
 * @module
 */

const [root, which, mode, warmArg, timedArg] = Deno.args;
if (root === undefined || !["sj", "sjb", "y", "fc"].includes(which)) {
  console.error(
    "usage: instrument_ab.ts <checkout> <sj|sjb|y|fc> <on|off|default> [warm] [timed]",
  );
  Deno.exit(2);
}
const { run, spawn, yieldNow } = await import(
  new URL(`${root}/mod.ts`, `file://${Deno.cwd()}/`).href
);
type Op<T> = Generator<unknown, T, unknown>;
function* leaf(i: number): Op<number> {
  return i;
}
function* yielder(n: number): Op<void> {
  for (let i = 0; i < n; i++) yield* yieldNow();
}
const opts = mode === "on"
  ? { instrument: true }
  : mode === "off"
  ? { instrument: false }
  : undefined;
const N = 1_000_000, Y = 1000, FC = 100_000, BATCH = 1000;
const warm = Number(warmArg ?? 0), timed = Number(timedArg ?? 2);
const ms: number[] = [];
for (let r = 0; r < warm + timed; r++) {
  const t = performance.now();
  if (which === "sj") {
    await run(function* () {
      const hs = new Array(N);
      for (let i = 0; i < N; i++) hs[i] = spawn(leaf(i));
      for (let i = 0; i < N; i++) yield* hs[i];
    }, opts);
  } else if (which === "sjb") {
    await run(function* () {
      const hs = new Array(BATCH);
      for (let b = 0; b < N / BATCH; b++) {
        for (let i = 0; i < BATCH; i++) hs[i] = spawn(leaf(i));
        for (let i = 0; i < BATCH; i++) yield* hs[i];
      }
    }, opts);
  } else if (which === "fc") {
    await run(function* () {
      const hs = new Array(FC);
      for (let i = 0; i < FC; i++) {
        hs[i] = spawn(function* () {
          return i;
        });
      }
      for (let i = 0; i < FC; i++) yield* hs[i];
    }, opts);
  } else {
    await run(function* () {
      const hs = [];
      for (let i = 0; i < Y; i++) hs.push(spawn(yielder(Y)));
      for (const h of hs) yield* h;
    }, opts);
  }
  if (r >= warm) ms.push(performance.now() - t);
}
console.log(JSON.stringify({ ms }));
