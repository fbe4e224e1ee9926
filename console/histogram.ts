/**
 * Reading a `Histogram` of the wire contract: whether it is well formed,
 * percentiles from its buckets, and its buckets drawn as text bars that fit a
 * given number of rows (adjacent buckets merged when there are more buckets
 * than rows). Pure functions.
 *
 * @module
 */

import type { Histogram } from "../runtime/instrument/snapshot.ts";
import { count, duration, padEnd, padStart } from "./format.ts";

/** The percentiles the detail view shows, as fractions. */
export const PERCENTILES: ReadonlyArray<readonly [string, number]> = [
  ["p50", 0.5],
  ["p90", 0.9],
  ["p99", 0.99],
];

/** The character a bar is drawn with. */
export const BAR_CHAR = "#";

/**
 * Whether `h` keeps the contract's shape: `counts.length === bounds.length + 1`,
 * finite numbers, `count` equal to the sum of `counts`.
 *
 * @param h a histogram as received (fields may be missing)
 * @returns true when it can be drawn
 */
export function isWellFormed(h: Histogram | null | undefined): h is Histogram {
  if (!h || !Array.isArray(h.bounds) || !Array.isArray(h.counts)) return false;
  if (h.counts.length !== h.bounds.length + 1) return false;
  if (!h.bounds.every(Number.isFinite) || !h.counts.every(Number.isFinite)) return false;
  return h.counts.reduce((a, b) => a + b, 0) === h.count;
}

/**
 * The `q` quantile of `h`, as the upper bound of the bucket that holds it
 * (never above the largest sample); the overflow bucket answers `maxNs`.
 *
 * @param h a well-formed histogram
 * @param q a fraction in (0, 1]
 * @returns nanoseconds, or NaN when `h` is empty
 */
export function percentile(h: Histogram, q: number): number {
  if (h.count <= 0) return NaN;
  const target = Math.max(1, Math.ceil(q * h.count));
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i];
    if (seen >= target) {
      const bound = i < h.bounds.length ? h.bounds[i] : h.maxNs;
      return h.maxNs > 0 ? Math.min(bound, h.maxNs) : bound;
    }
  }
  return h.maxNs;
}

/** One drawn bar: the range it covers and its samples. */
interface Bar {
  label: string;
  samples: number;
}

/** The non-empty span of buckets, merged into at most `rows` bars. */
function bars(h: Histogram, rows: number): Bar[] {
  let first = h.counts.findIndex((c) => c > 0);
  let last = h.counts.length - 1;
  while (last > 0 && h.counts[last] === 0) last--;
  if (first < 0) first = last = 0;
  const span = last - first + 1;
  const per = Math.ceil(span / Math.max(1, rows));
  const out: Bar[] = [];
  for (let i = first; i <= last; i += per) {
    const end = Math.min(last, i + per - 1);
    let samples = 0;
    for (let j = i; j <= end; j++) samples += h.counts[j];
    const label = end < h.bounds.length
      ? `<=${duration(h.bounds[end])}`
      : `>${duration(h.bounds[h.bounds.length - 1] ?? 0)}`;
    out.push({ label, samples });
  }
  return out;
}

/** The label column's width: `<=12.5ms`. */
const LABEL_COLUMNS = 8;
/** The count column's width. */
const COUNT_COLUMNS = 6;

/**
 * The histogram as text rows `<=1.25us |#####     | 1234`, at most `rows`
 * rows of at most `width` columns; buckets before the first and after the
 * last sample are left out, and neighbours merged to fit.
 *
 * @param h a well-formed histogram with at least one sample
 * @param width columns available
 * @param rows rows available (≥ 1)
 * @returns the rows, plain text
 */
export function drawBars(h: Histogram, width: number, rows: number): string[] {
  if (rows <= 0) return [];
  const all = bars(h, rows);
  const most = Math.max(1, ...all.map((b) => b.samples));
  const barWidth = Math.max(1, width - LABEL_COLUMNS - COUNT_COLUMNS - 4);
  return all.map((b) => {
    const filled = b.samples === 0 ? 0 : Math.max(1, Math.round((b.samples / most) * barWidth));
    const bar = BAR_CHAR.repeat(filled) + " ".repeat(barWidth - filled);
    return `${padStart(b.label, LABEL_COLUMNS)} |${bar}| ${
      padEnd(count(b.samples), COUNT_COLUMNS)
    }`;
  });
}
