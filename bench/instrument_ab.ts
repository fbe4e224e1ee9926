/**
 * One process of a paired A/B of task instrumentation's cost: runs a
 * scheduler-bound workload twice on `run(…, { instrument })` from the Dokio
 * checkout given, then exits — time whole processes of it in turn (A B A B …,
 * e.g. with `/usr/bin/time -f %U+%S`) and compare the CPU pair by pair.
 *
 * usage: `deno run -A bench/instrument_ab.ts <checkout> <sj|y|fc> <on|off|default>`
 * - `sj`: spawn + join 1M tasks (called generators); `y`: 1000 tasks × 1000 `yieldNow`;
 *   `fc`: spawn + join 100k fresh closures (`spawn(function* () { … })` in a loop: a
 *   new function object per spawn, the spawn-site cache's hard case).
 * - `default` passes no option (for a checkout from before instrumentation).
 *
 * @module
 */

const [root, which, mode] = Deno.args;
if (root === undefined || (which !== "sj" && which !== "y" && which !== "fc")) {
  console.error("usage: instrument_ab.ts <checkout> <sj|y|fc> <on|off|default>");
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
const N = 1_000_000, Y = 1000, FC = 100_000;
for (let r = 0; r < 2; r++) {
  if (which === "sj") {
    await run(function* () {
      const hs = new Array(N);
      for (let i = 0; i < N; i++) hs[i] = spawn(leaf(i));
      for (let i = 0; i < N; i++) yield* hs[i];
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
}
