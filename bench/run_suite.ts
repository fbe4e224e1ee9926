/**
 * Run one bench suite in this (fresh) process and print its rows as one
 * JSON line — bench/run.ts starts one of these per suite, so no suite
 * inherits another's heap or JIT state.
 *
 * Usage: deno run -A --v8-flags=--expose-gc bench/run_suite.ts <module> <function>
 *
 * @module
 */

import type { BenchRow } from "./row.ts";

const [module, fn] = Deno.args;
const mod = await import(new URL(module, import.meta.url).href) as Record<string, unknown>;
const run = mod[fn] as (() => Promise<BenchRow[]>) | undefined;
if (typeof run !== "function") {
  console.error(`${module} has no ${fn}`);
  Deno.exit(2);
}
const rows = await run();
console.log("ROWS " + JSON.stringify(rows));
// Suites may leave pools or timers behind; the rows are out, so stop here.
Deno.exit(0);
