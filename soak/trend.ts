/**
 * The soak's verdict on one series of samples: a least-squares line through
 * the samples after warm-up, and whether it trends up beyond a threshold.
 *
 * A series passes when its slope, less three standard errors of the slope
 * (the fit's own noise: a GC sawtooth or a burst of open connections widens
 * it), is at most the threshold — so noise alone does not fail a run — and
 * no sample after warm-up passes the absolute ceiling, so a leak the noise
 * hides is still bounded. Pure functions: tests/soak_trend_test.ts.
 *
 * @module
 */

/** A least-squares line `y = intercept + slope × x` and how well it fits. */
export interface LineFit {
  /** Points fitted. */
  n: number;
  /** Change of y per unit of x. */
  slope: number;
  /** y at x = 0. */
  intercept: number;
  /** Standard deviation of the residuals (n − 2 degrees of freedom); 0 below 3 points. */
  residualSd: number;
  /** Standard error of the slope; Infinity below 3 points or when every x is equal. */
  slopeSe: number;
}

/**
 * Fit a least-squares line through the points `(xs[i], ys[i])`.
 *
 * @param xs the abscissae.
 * @param ys the ordinates, as many as `xs`.
 * @returns the fit (slope 0 and an infinite slope error when it cannot be told).
 * @throws {RangeError} when the arrays differ in length.
 */
export function fitLine(xs: readonly number[], ys: readonly number[]): LineFit {
  if (xs.length !== ys.length) {
    throw new RangeError(`fitLine: ${xs.length} abscissae for ${ys.length} ordinates`);
  }
  const n = xs.length;
  if (n === 0) return { n, slope: 0, intercept: 0, residualSd: 0, slopeSe: Infinity };
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  if (sxx === 0) return { n, slope: 0, intercept: my, residualSd: 0, slopeSe: Infinity };
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  if (n < 3) return { n, slope, intercept, residualSd: 0, slopeSe: Infinity };
  let ssr = 0;
  for (let i = 0; i < n; i++) ssr += (ys[i] - intercept - slope * xs[i]) ** 2;
  const residualSd = Math.sqrt(ssr / (n - 2));
  return { n, slope, intercept, residualSd, slopeSe: residualSd / Math.sqrt(sxx) };
}

/** How many slope standard errors a slope may exceed its threshold by before it fails. */
export const NOISE_SIGMAS = 3;
/** Fewest samples after warm-up for a slope verdict (fewer: the series fails as unjudged). */
export const MIN_FIT_SAMPLES = 10;

/** What a series may do after warm-up. */
export interface Limit {
  /** Largest upward trend allowed, in the series' unit per minute. */
  maxSlopePerMin: number;
  /**
   * Shortest span of samples after warm-up, seconds, over which the slope means anything (a
   * memory figure moves in GC cycles of seconds): a shorter run judges the ceiling only.
   */
  minSpanS: number;
  /**
   * When set, the slope is fitted through the peak of each window of this many seconds, not
   * through every sample: for memory, which an allocator gives back and takes again (RSS dips
   * by tens of MiB and returns), a leak lifts the peaks while the dips say nothing.
   */
  peakWindowS?: number;
  /** No sample after warm-up may be above this. */
  ceiling: number;
}

/** The verdict on one series. */
export interface Verdict {
  /** The fit over the samples after warm-up (x in minutes). */
  fit: LineFit;
  /** `slope − NOISE_SIGMAS × slopeSe`: the slope the noise cannot explain away. */
  slopeLow: number;
  /** The largest sample after warm-up. */
  peak: number;
  /** Whether the slope was judged (the samples spanned at least `minSpanS`). */
  slopeJudged: boolean;
  /** True when the series holds: no trend beyond the limit and under the ceiling. */
  ok: boolean;
  /** Why it failed (empty when it held). */
  reason: string;
}

/**
 * Judge one series: `ts` in seconds since the start, `ys` the values, samples
 * before `warmupS` ignored.
 *
 * @param ts sample times, seconds.
 * @param ys sample values.
 * @param warmupS seconds ignored at the start.
 * @param limit the slope and ceiling allowed.
 * @returns the verdict.
 */
export function judge(
  ts: readonly number[],
  ys: readonly number[],
  warmupS: number,
  limit: Limit,
): Verdict {
  const xs: number[] = [];
  const vs: number[] = [];
  for (let i = 0; i < ts.length; i++) {
    if (ts[i] < warmupS) continue;
    xs.push(ts[i] / 60);
    vs.push(ys[i]);
  }
  const spanS = xs.length === 0 ? 0 : (xs[xs.length - 1] - xs[0]) * 60;
  const slopeJudged = spanS >= limit.minSpanS;
  const w = limit.peakWindowS;
  const fit = w === undefined ? fitLine(xs, vs) : fitPeaks(xs, vs, w / 60);
  const peak = vs.length === 0 ? NaN : Math.max(...vs);
  const slopeLow = fit.slope - NOISE_SIGMAS * (Number.isFinite(fit.slopeSe) ? fit.slopeSe : 0);
  let reason = "";
  if (vs.length === 0) {
    reason = "no samples after warm-up";
  } else if (slopeJudged && fit.n < MIN_FIT_SAMPLES) {
    reason = `only ${fit.n} points after warm-up (need ${MIN_FIT_SAMPLES})`;
  } else if (slopeJudged && slopeLow > limit.maxSlopePerMin) {
    reason = `trends up: ${fmt(fit.slope)}/min ± ${fmt(fit.slopeSe)} (limit ${
      fmt(limit.maxSlopePerMin)
    }/min)`;
  } else if (peak > limit.ceiling) {
    reason = `peak ${fmt(peak)} above the ceiling ${fmt(limit.ceiling)}`;
  }
  return { fit, slopeLow, peak, slopeJudged, ok: reason === "", reason };
}

/**
 * Fit through the largest value of each whole window of `width` (in x units) from the first x,
 * placed at the window's middle; a last partial window is left out.
 *
 * @param xs the abscissae, ascending.
 * @param ys the ordinates.
 * @param width the window width.
 * @returns the fit through the window peaks.
 */
export function fitPeaks(xs: readonly number[], ys: readonly number[], width: number): LineFit {
  const px: number[] = [];
  const py: number[] = [];
  if (xs.length > 0) {
    const x0 = xs[0];
    const windows = Math.floor((xs[xs.length - 1] - x0) / width);
    for (let k = 0; k < windows; k++) {
      let top = -Infinity;
      for (let i = 0; i < xs.length; i++) {
        if (xs[i] >= x0 + k * width && xs[i] < x0 + (k + 1) * width) top = Math.max(top, ys[i]);
      }
      if (top > -Infinity) {
        px.push(x0 + (k + 0.5) * width);
        py.push(top);
      }
    }
  }
  return fitLine(px, py);
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}
