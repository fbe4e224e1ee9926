/**
 * The duration histograms of the instrumentation: fixed log-scale buckets,
 * so a sample costs one `Math.clz32` and an add, and every histogram of the
 * runtime shares one set of bounds (the console and Prometheus need no
 * per-histogram bucket list).
 *
 * Buckets: upper bounds 2^(8+2i) ns for i = 0…{@linkcode BUCKETS}-1, that is
 * 256 ns, 1.02 µs, 4.10 µs, … 1.07 s, then one overflow bucket.
 *
 * Invariant: `counts.length === BOUNDS_NS.length + 1` and the counts add up
 * to `count` (the shape `Histogram` of snapshot.ts promises).
 *
 * @module
 */

import type { Histogram } from "./snapshot.ts";

/** Bucket bounds before the overflow bucket. */
export const BUCKETS = 12;
/** log2 of the first bound. */
export const FIRST_LOG2 = 8;
/** The first bound, ns (256). */
export const FIRST_BOUND_NS: number = 2 ** FIRST_LOG2;
/** The last bound, ns (2^30, about 1.07 s); beyond it, the overflow bucket (clz32 works on 32 bits). */
export const LAST_BOUND_NS: number = 2 ** (FIRST_LOG2 + 2 * (BUCKETS - 1));

/**
 * Upper bounds of the buckets, in ns, ascending.
 *
 * @example
 * ```ts
 * import { BOUNDS_NS, BUCKETS } from "./histogram.ts";
 * import assert from "node:assert/strict";
 * assert.equal(BOUNDS_NS.length, BUCKETS);
 * assert.equal(BOUNDS_NS[0], 256);
 * assert.equal(BOUNDS_NS[BUCKETS - 1], 2 ** 30);
 * ```
 */
export const BOUNDS_NS: readonly number[] = Object.freeze(
  Array.from({ length: BUCKETS }, (_, i) => 2 ** (FIRST_LOG2 + 2 * i)),
);

/**
 * The bucket of a sample of `ns` nanoseconds (`BUCKETS` is the overflow bucket).
 *
 * @param ns a duration in ns (>= 0).
 * @returns the bucket index, 0…BUCKETS.
 * @example
 * ```ts
 * import { bucketOf, BUCKETS } from "./histogram.ts";
 * import assert from "node:assert/strict";
 * assert.equal(bucketOf(0), 0);
 * assert.equal(bucketOf(256), 0);
 * assert.equal(bucketOf(257), 1);
 * assert.equal(bucketOf(1024), 1);
 * assert.equal(bucketOf(5e9), BUCKETS);
 * ```
 */
export function bucketOf(ns: number): number {
  if (ns <= FIRST_BOUND_NS) return 0;
  if (ns > LAST_BOUND_NS) return BUCKETS;
  // ceil(log2(ns)) for ns >= 2, then two octaves per bucket.
  return (33 - Math.clz32(Math.ceil(ns) - 1) - FIRST_LOG2) >> 1;
}

/**
 * A histogram being filled: counts per bucket, the sum and the largest sample.
 *
 * @example
 * ```ts
 * import { HistogramBuilder } from "./histogram.ts";
 * import assert from "node:assert/strict";
 * const h = new HistogramBuilder();
 * h.add(100);
 * h.addMany(2000, 3);
 * const out = h.toJSON();
 * assert.equal(out.count, 4);
 * assert.equal(out.sumNs, 6100);
 * assert.equal(out.maxNs, 2000);
 * assert.equal(out.counts.reduce((a, b) => a + b, 0), out.count);
 * ```
 */
export class HistogramBuilder {
  /** Samples per bucket (BUCKETS + 1 entries). */
  readonly counts: Float64Array = new Float64Array(BUCKETS + 1);
  /** Sum of the samples, ns. */
  sumNs = 0;
  /** Largest sample, ns. */
  maxNs = 0;

  /**
   * Add one sample.
   *
   * @param ns the sample, in ns.
   */
  add(ns: number): void {
    this.counts[bucketOf(ns)]++;
    this.sumNs += ns;
    if (ns > this.maxNs) this.maxNs = ns;
  }

  /**
   * Add `n` samples of `ns` each.
   *
   * @param ns each sample, in ns.
   * @param n how many.
   */
  addMany(ns: number, n: number): void {
    this.counts[bucketOf(ns)] += n;
    this.sumNs += ns * n;
    if (ns > this.maxNs) this.maxNs = ns;
  }

  /**
   * The plain-data form the snapshot carries.
   *
   * @returns a fresh `Histogram`.
   */
  toJSON(): Histogram {
    return toHistogram(this.counts, this.sumNs, this.maxNs);
  }
}

/**
 * A snapshot `Histogram` from bucket counts.
 *
 * @param counts samples per bucket (BUCKETS + 1 entries).
 * @param sumNs the sum of the samples.
 * @param maxNs the largest sample.
 * @returns the plain-data histogram.
 * @example
 * ```ts
 * import { BUCKETS, toHistogram } from "./histogram.ts";
 * import assert from "node:assert/strict";
 * const h = toHistogram(new Float64Array(BUCKETS + 1), 0, 0);
 * assert.equal(h.count, 0);
 * assert.equal(h.counts.length, h.bounds.length + 1);
 * ```
 */
export function toHistogram(counts: ArrayLike<number>, sumNs: number, maxNs: number): Histogram {
  const c = Array.from(counts);
  let count = 0;
  for (const x of c) count += x;
  return { bounds: [...BOUNDS_NS], counts: c, count, sumNs, maxNs };
}

/**
 * A histogram of one sample (a task polled once keeps no bucket array).
 *
 * @param ns the sample, or -1 for none.
 * @returns the plain-data histogram.
 * @example
 * ```ts
 * import { singleSample } from "./histogram.ts";
 * import assert from "node:assert/strict";
 * assert.equal(singleSample(500).count, 1);
 * assert.equal(singleSample(-1).count, 0);
 * ```
 */
export function singleSample(ns: number): Histogram {
  const counts = new Float64Array(BUCKETS + 1);
  if (ns < 0) return toHistogram(counts, 0, 0);
  counts[bucketOf(ns)] = 1;
  return toHistogram(counts, ns, ns);
}
