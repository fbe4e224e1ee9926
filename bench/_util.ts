/**
 * Internal: the timing and row helpers the bench suites share.
 *
 * Invariant: a figure is the median over rounds in which every contender
 * runs once ({@linkcode interleaved}), or the best (lowest) of alternating
 * runs ({@linkcode duel}), each run timed from just before the call until its
 * result settled; a row's ratios are "how many times better Dokio is",
 * whichever way the unit points.
 *
 * @module
 */

import type { BenchRow } from "./row.ts";

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (Linux's USER_HZ). */
const TICKS_PER_S = 100;

/**
 * The user and kernel CPU time process `pid` has used so far, in seconds (all its threads, at
 * clock-tick resolution), from `/proc/<pid>/stat` (Linux).
 *
 * @param pid the process (`Deno.pid` for this one)
 * @returns `[user, kernel]` seconds
 * @throws {Deno.errors.NotFound} when there is no such process or no /proc
 *
 * @example
 * ```ts ignore
 * // Linux only: reads /proc.
 * import { procCpuSeconds } from "./_util.ts";
 * import assert from "node:assert/strict";
 * const [user, kernel] = procCpuSeconds(Deno.pid);
 * assert.ok(user >= 0 && kernel >= 0);
 * ```
 */
export function procCpuSeconds(pid: number): [number, number] {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // After the name (which may hold ") "): state is field 3, so utime (14) and stime (15) are at
  // 11 and 12.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return [Number(f[11]) / TICKS_PER_S, Number(f[12]) / TICKS_PER_S];
}

/**
 * The q-quantile of `xs` by the nearest rank below (0: the least, 1: the greatest), for the
 * A/B tools' spreads of per-round ratios.
 *
 * @param xs the figures (not changed; at least one)
 * @param q the quantile, in [0, 1]
 * @returns the figure at rank ⌊(n − 1)·q⌋ of the sorted figures
 *
 * @example
 * ```ts
 * import { quantile } from "./_util.ts";
 * import assert from "node:assert/strict";
 * assert.equal(quantile([4, 1, 3, 2], 0.25), 1);
 * assert.equal(quantile([4, 1, 3, 2], 0.75), 3);
 * assert.equal(quantile([4, 1, 3, 2], 1), 4);
 * ```
 */
export function quantile(xs: readonly number[], q: number): number {
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.floor((a.length - 1) * q)];
}

/**
 * Wall time of one run of `f` in ms, until its result (awaited) settled.
 *
 * @example
 * ```ts
 * import { timed } from "./_util.ts";
 * import assert from "node:assert/strict";
 * const ms = await timed(() => Promise.resolve());
 * assert.ok(ms >= 0);
 * ```
 */
export async function timed(f: () => unknown): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

/**
 * Run both sides `reps` times, alternating, and keep each side's best time (ms).
 *
 * @example
 * ```ts
 * import { duel } from "./_util.ts";
 * import assert from "node:assert/strict";
 * const [d, p] = await duel(2, () => {}, () => Promise.resolve());
 * assert.ok(d >= 0);
 * assert.ok(p >= 0);
 * ```
 */
export async function duel(
  reps: number,
  dokio: () => unknown,
  peer: () => Promise<unknown>,
): Promise<[number, number]> {
  let d = Infinity;
  let p = Infinity;
  for (let i = 0; i < reps; i++) {
    d = Math.min(d, await timed(dokio));
    p = Math.min(p, await timed(peer));
  }
  return [d, p];
}

/**
 * One contender of an interleaved measurement: runs once, resolves to its
 * time in ms (its own wall time, or a time a child process reported).
 */
export type Timer = () => Promise<number>;

/**
 * A {@linkcode Timer} that takes the wall time of `f` (until its result settled).
 *
 * @example
 * ```ts
 * import { wall } from "./_util.ts";
 * import assert from "node:assert/strict";
 * const ms = await wall(() => Promise.resolve())();
 * assert.ok(ms >= 0);
 * ```
 */
export function wall(f: () => unknown): Timer {
  return () => timed(f);
}

/**
 * The median of `xs` (the mean of the middle two for an even count).
 *
 * @example
 * ```ts
 * import { median } from "./_util.ts";
 * import assert from "node:assert/strict";
 * assert.equal(median([3, 1, 2]), 2);
 * assert.equal(median([4, 1, 2, 3]), 2.5);
 * ```
 */
export function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 === 1 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/**
 * Run every contender once per round, in list order on even rounds and in
 * reverse on odd ones, and return each one's median time (ms); a null
 * contender (a peer that is not available) stays null. Interleaving puts
 * every contender under the same drift of a shared machine.
 *
 * @example
 * ```ts
 * import { interleaved, wall } from "./_util.ts";
 * import assert from "node:assert/strict";
 * const [a, b] = await interleaved(3, [wall(() => {}), null]);
 * assert.ok(a! >= 0);
 * assert.equal(b, null);
 * ```
 */
export async function interleaved(
  rounds: number,
  contenders: (Timer | null)[],
): Promise<(number | null)[]> {
  const times: number[][] = contenders.map(() => []);
  const order = contenders.map((_, i) => i);
  for (let r = 0; r < rounds; r++) {
    for (const i of r % 2 === 0 ? order : [...order].reverse()) {
      const c = contenders[i];
      if (c !== null) times[i].push(await c());
    }
  }
  return contenders.map((c, i) => (c === null ? null : median(times[i])));
}

/**
 * Rounds of an interleaved measurement: `quick` (DOKIO_BENCH_QUICK=1, set by
 * `deno task bench --quick`) or `full`.
 *
 * @example
 * ```ts
 * import { rounds } from "./_util.ts";
 * import assert from "node:assert/strict";
 * assert.ok(rounds(5, 3) >= 3);
 * ```
 */
export function rounds(full: number, quick: number): number {
  try {
    return Deno.env.get("DOKIO_BENCH_QUICK") === "1" ? quick : full;
  } catch {
    return full; // no env permission
  }
}

/** Tokio's figures for a row, in the row's unit: current_thread and multi_thread(2). */
export interface TokioFigures {
  /** current_thread; null when Tokio did not run. */
  ct: number | null;
  /** multi_thread with 2 workers; null when Tokio did not run. */
  mt: number | null;
}

/**
 * Tokio's figures from its two median times: `toUnit` turns ms into the
 * row's unit (null times stay null).
 *
 * @example
 * ```ts
 * import { tokioFigures } from "./_util.ts";
 * import assert from "node:assert/strict";
 * const t = tokioFigures(500, null, (ms) => 1e6 / ms / 1e3);
 * assert.equal(t.ct, 2);
 * assert.equal(t.mt, null);
 * ```
 */
export function tokioFigures(
  ct: number | null,
  mt: number | null,
  toUnit: (ms: number) => number,
): TokioFigures {
  return { ct: ct === null ? null : toUnit(ct), mt: mt === null ? null : toUnit(mt) };
}

/** The fields of a row after its suite: what {@linkcode benchRow} takes. */
export type RowArgs = [
  name: string,
  dokio: number,
  peer: number,
  peerName: string,
  unit: string,
  higherIsBetter: boolean,
  bar?: string,
  tokio?: TokioFigures,
];

/**
 * A bench row; `higherIsBetter` says which way the unit points (rates: true;
 * times and sizes: false, then the ratio is peer ÷ dokio). With `tokio`,
 * the row also carries Tokio's figures and Dokio's ratio to each, the same
 * way round.
 *
 * @example
 * ```ts
 * import { benchRow } from "./_util.ts";
 * import assert from "node:assert/strict";
 * const r = benchRow("sync", "x", 2, 1, "peer", "M ops/s", true);
 * assert.equal(r.ratio, 2);
 * ```
 */
export function benchRow(suite: string, ...args: RowArgs): BenchRow {
  const [name, dokio, peer, peerName, unit, higherIsBetter, bar, tokio] = args;
  const vs = (other: number) => (higherIsBetter ? dokio / other : other / dokio);
  const row: BenchRow = { suite, name, dokio, peer, peerName, unit, ratio: vs(peer), bar };
  if (tokio?.ct != null) {
    row.tokio = tokio.ct;
    row.vsTokio = vs(tokio.ct);
  }
  if (tokio?.mt != null) {
    row.tokioMt = tokio.mt;
    row.vsTokioMt = vs(tokio.mt);
  }
  return row;
}

/**
 * The row maker of one suite: {@linkcode benchRow} with `suite` filled in.
 *
 * @example
 * ```ts
 * import { suiteRow } from "./_util.ts";
 * import assert from "node:assert/strict";
 * const row = suiteRow("runtime");
 * assert.equal(row("x", 1, 2, "peer", "ms", false).ratio, 2);
 * ```
 */
export function suiteRow(suite: string): (...args: RowArgs) => BenchRow {
  return (...args) => benchRow(suite, ...args);
}

/**
 * One row as a line of text (a suite run alone prints these), with Tokio's
 * figures when the row has them.
 *
 * @example
 * ```ts
 * import { benchRow, rowLine } from "./_util.ts";
 * import assert from "node:assert/strict";
 * const r = benchRow("sync", "x", 2, 1, "peer", "M ops/s", true, undefined, { ct: 4, mt: null });
 * assert.ok(rowLine(r).includes("tokio 4.00 (0.50×)"));
 * ```
 */
export function rowLine(r: BenchRow): string {
  const n = (x: number | undefined) => (x === undefined ? "—" : x.toFixed(2));
  const tokio = r.tokio === undefined && r.tokioMt === undefined
    ? ""
    : `  tokio ${n(r.tokio)} (${n(r.vsTokio)}×) mt2 ${n(r.tokioMt)} (${n(r.vsTokioMt)}×)`;
  return `${r.name.padEnd(56)} dokio ${n(r.dokio).padStart(8)} ${r.unit.padEnd(10)} ` +
    `${r.peerName} ${n(r.peer)} (${n(r.ratio)}×)${tokio}${r.bar ? `  bar ${r.bar}` : ""}`;
}

/**
 * The value of flag `name` in `args`, given as `--name VALUE` or `--name=VALUE` (the last one
 * given wins), or `fallback` when it is absent. The bench servers' one flag reader.
 *
 * @param args the command line (`Deno.args`)
 * @param name the flag, with its dashes (`"--port"`)
 * @param fallback the value when the flag is absent
 * @returns the value
 * @throws {TypeError} when the flag is the last argument, with no value
 *
 * @example
 * ```ts
 * import { flagValue } from "./_util.ts";
 * import assert from "node:assert/strict";
 * assert.equal(flagValue(["--to", "127.0.0.1:7000"], "--to", ""), "127.0.0.1:7000");
 * assert.equal(flagValue(["--to=h:1"], "--to", ""), "h:1");
 * assert.equal(flagValue([], "--to", "x"), "x");
 * ```
 */
export function flagValue(args: readonly string[], name: string, fallback: string): string {
  let value = fallback;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === name) {
      if (i + 1 >= args.length) throw new TypeError(`${name} needs a value`);
      value = args[++i];
    } else if (a.startsWith(`${name}=`)) value = a.slice(name.length + 1);
  }
  return value;
}

/**
 * The `--port` of a bench server (`--port N` or `--port=N`), or `fallback` when absent.
 *
 * @param args the command line (`Deno.args`)
 * @param fallback the port when the flag is absent (0: the kernel picks one)
 * @returns the port, an integer in [0, 65535]
 * @throws {TypeError} when the flag has no value; {@linkcode RangeError} when it is not a port
 *
 * @example
 * ```ts
 * import { portFlag } from "./_util.ts";
 * import assert from "node:assert/strict";
 * assert.equal(portFlag(["--port", "7000"], 0), 7000);
 * assert.equal(portFlag(["--port=7001"], 0), 7001);
 * assert.equal(portFlag([], 6379), 6379);
 * assert.throws(() => portFlag(["--port=70000"], 0), RangeError);
 * ```
 */
export function portFlag(args: readonly string[], fallback: number): number {
  const given = flagValue(args, "--port", String(fallback));
  const port = /^\d+$/.test(given) ? Number(given) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new RangeError(`--port takes an integer in 0..65535, got ${given}`);
  }
  return port;
}
