/**
 * Internal: the timing and row helpers the bench suites share.
 *
 * Invariant: a figure is the best (lowest) wall time of several runs, each run
 * timed from just before the call until its result settled; a row's ratio is
 * "how many times better Dokio is", whichever way the unit points.
 *
 * @module
 */

import type { BenchRow } from "./row.ts";

/**
 * Wall time of one run of `f` in ms, until its result (awaited) settled.
 *
 * @example
 * ```ts
 * import { timed } from "./_util.ts";
 * const ms = await timed(() => Promise.resolve());
 * console.assert(ms >= 0);
 * ```
 */
export async function timed(f: () => unknown): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

/**
 * Best of `reps` runs of `f`, in ms.
 *
 * @example
 * ```ts
 * import { best } from "./_util.ts";
 * const ms = await best(3, () => Promise.resolve());
 * console.assert(ms >= 0);
 * ```
 */
export async function best(reps: number, f: () => Promise<unknown>): Promise<number> {
  let b = Infinity;
  for (let i = 0; i < reps; i++) b = Math.min(b, await timed(f));
  return b;
}

/**
 * Run both sides `reps` times, alternating, and keep each side's best time (ms).
 *
 * @example
 * ```ts
 * import { duel } from "./_util.ts";
 * const [d, p] = await duel(2, () => {}, () => Promise.resolve());
 * console.assert(d >= 0 && p >= 0);
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

/** The fields of a row after its suite: what {@linkcode benchRow} takes. */
export type RowArgs = [
  name: string,
  dokio: number,
  peer: number,
  peerName: string,
  unit: string,
  higherIsBetter: boolean,
  bar?: string,
];

/**
 * A bench row; `higherIsBetter` says which way the unit points (rates: true;
 * times and sizes: false, then the ratio is peer ÷ dokio).
 *
 * @example
 * ```ts
 * import { benchRow } from "./_util.ts";
 * const r = benchRow("sync", "x", 2, 1, "peer", "M ops/s", true);
 * console.assert(r.ratio === 2);
 * ```
 */
export function benchRow(suite: string, ...args: RowArgs): BenchRow {
  const [name, dokio, peer, peerName, unit, higherIsBetter, bar] = args;
  const ratio = higherIsBetter ? dokio / peer : peer / dokio;
  return { suite, name, dokio, peer, peerName, unit, ratio, bar };
}

/**
 * The row maker of one suite: {@linkcode benchRow} with `suite` filled in.
 *
 * @example
 * ```ts
 * import { suiteRow } from "./_util.ts";
 * const row = suiteRow("runtime");
 * console.assert(row("x", 1, 2, "peer", "ms", false).ratio === 2);
 * ```
 */
export function suiteRow(suite: string): (...args: RowArgs) => BenchRow {
  return (...args) => benchRow(suite, ...args);
}
