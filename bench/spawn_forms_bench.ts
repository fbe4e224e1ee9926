/**
 * Which `spawn` forms are fast: spawn+join of 200k tasks that each return
 * their index, in five forms, interleaved rounds, medians of the process CPU
 * time each round took (user + system, so other work on a shared machine
 * skews it less than wall time):
 *
 * - `spawn(body(i))`: a called declared generator;
 * - `spawnWith(body, i)`: a `spawn(fn, ...args)` form (a helper that calls
 *   `fn(...args)` and spawns the generator: what such an overload would do);
 * - `spawn(body)`: a declared generator function, no arguments (spawn calls it);
 * - `spawn(function* () { return i; })`: a fresh generator closure per task;
 * - `spawn(() => body(i))`: an arrow that returns an operation (run as a
 *   function body: called at the first poll with an AbortSignal).
 *
 * Run: `deno run -A --v8-flags=--expose-gc bench/spawn_forms_bench.ts [rounds]`.
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { type Operation, Runtime, spawn } from "../mod.ts";
import { median } from "./_util.ts";

const N = 200_000;

function* body(i: number): Operation<number> {
  return i;
}

function* zero(): Operation<number> {
  return 0;
}

/** What a `spawn(fn, ...args)` overload would do: call `fn` with `args`, spawn the generator. */
function spawnWith<A extends unknown[], T>(fn: (...args: A) => Operation<T>, ...args: A) {
  return spawn(fn(...args));
}

type Spawner = (i: number) => PromiseLike<unknown> & Operation<unknown>;

const FORMS: [string, Spawner][] = [
  ["spawn(body(i)) — called declared generator", (i) => spawn(body(i))],
  ["spawnWith(body, i) — spawn(fn, ...args) form", (i) => spawnWith(body, i)],
  ["spawn(body) — declared generator function", () => spawn(zero)],
  [
    "spawn(function* () {…}) — fresh closure",
    (i) =>
      spawn(function* () {
        return i;
      }),
  ],
  ["spawn(() => body(i)) — arrow returning an operation", (i) => spawn(() => body(i))],
];

async function once(rt: Runtime, s: Spawner): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  const c0 = cpuUsage();
  await rt.run(function* () {
    const hs = new Array(N);
    for (let i = 0; i < N; i++) hs[i] = s(i);
    for (let i = 0; i < N; i++) yield* hs[i];
  });
  const c = cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 7);
  await using rt = new Runtime();
  const ms: number[][] = FORMS.map(() => []);
  for (const [, s] of FORMS) await once(rt, s); // warm-up
  for (let r = 0; r < rounds; r++) {
    const order = FORMS.map((_, i) => i);
    for (const i of r % 2 === 0 ? order : order.reverse()) ms[i].push(await once(rt, FORMS[i][1]));
  }
  const base = median(ms[0]);
  for (let i = 0; i < FORMS.length; i++) {
    const m = median(ms[i]);
    console.log(
      `${FORMS[i][0].padEnd(52)} ${(m * 1000 / N).toFixed(2)} µs CPU per spawn+join  ` +
        `(${(m / base).toFixed(2)}× the first)`,
    );
  }
}
