/**
 * The lines the soak's child processes print and the parent reads: the
 * server's one-per-second {@linkcode Sample} (`sample {json}`) and its and
 * the load generator's counters (`counts {json}`). Any other line (a daemon's
 * own notice) is not ours and is passed through. Pure: tests/soak_trend_test.ts.
 *
 * @module
 */

/** One second's figures of the server process. */
export interface Sample {
  /** Seconds since the server started sampling. */
  t: number;
  /** Open file descriptors (/proc/self/fd). */
  fds: number;
  /** Resident set size, bytes. */
  rss: number;
  /** V8 heap used by the main isolate, bytes. */
  heap: number;
  /** Live tasks on the main scheduler (`rt.metrics().activeTasks`). */
  tasks: number;
  /** Armed timers (`rt.metrics().timers`). */
  timers: number;
  /** Reactor operations in flight, cancelled ones awaiting their completion too. */
  io: number;
  /** Memory of ArrayBuffers outside the V8 heap (`Deno.memoryUsage().external`), bytes. */
  external: number;
}

/** The series a soak judges, in the order its table prints them. */
export const SERIES: readonly (keyof Omit<Sample, "t">)[] = [
  "fds",
  "rss",
  "heap",
  "tasks",
  "timers",
  "io",
  "external",
];

/** Named counters (requests served, errors, kills…), summed by name. */
export type Counts = Record<string, number>;

/** A parsed line. */
export type Line =
  | { kind: "sample"; sample: Sample }
  | { kind: "counts"; counts: Counts }
  | { kind: "other"; text: string };

const SAMPLE = "sample ";
const COUNTS = "counts ";

/**
 * Format a sample as its line.
 *
 * @param s the sample.
 * @returns the line, without a newline.
 */
export function formatSample(s: Sample): string {
  return SAMPLE + JSON.stringify(s);
}

/**
 * Format counters as their line.
 *
 * @param c the counters.
 * @returns the line, without a newline.
 */
export function formatCounts(c: Counts): string {
  return COUNTS + JSON.stringify(c);
}

/**
 * Parse one line a soak child printed. A line that starts like ours but does
 * not hold a well-formed record is "other" (printed, not trusted).
 *
 * @param text the line.
 * @returns what it holds.
 */
export function parseLine(text: string): Line {
  if (text.startsWith(SAMPLE)) {
    const v = tryJson(text.slice(SAMPLE.length));
    if (isSample(v)) return { kind: "sample", sample: v };
  } else if (text.startsWith(COUNTS)) {
    const v = tryJson(text.slice(COUNTS.length));
    if (isCounts(v)) return { kind: "counts", counts: v };
  }
  return { kind: "other", text };
}

function tryJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

function isSample(v: unknown): v is Sample {
  if (v === null || typeof v !== "object") return false;
  const o = v as Record<string, unknown>;
  return ["t", ...SERIES].every((k) => typeof o[k] === "number" && Number.isFinite(o[k]));
}

function isCounts(v: unknown): v is Counts {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  return Object.values(v).every((x) => typeof x === "number" && Number.isFinite(x));
}

/** The server's ports, printed once it listens. */
export interface Ready {
  /** The echo port. */
  echo: number;
  /** The mini-redis port. */
  redis: number;
}

const READY = "ready ";

/**
 * Format the server's ports as its line.
 *
 * @param r the ports.
 * @returns the line, without a newline.
 */
export function formatReady(r: Ready): string {
  return READY + JSON.stringify(r);
}

/**
 * The ports in a `ready` line, or null for any other line.
 *
 * @param text the line.
 * @returns the ports, or null.
 */
export function parseReady(text: string): Ready | null {
  if (!text.startsWith(READY)) return null;
  const v = tryJson(text.slice(READY.length)) as Record<string, unknown> | undefined;
  if (v === null || typeof v !== "object") return null;
  const ok = [v.echo, v.redis].every((p) => Number.isInteger(p) && (p as number) > 0);
  return ok ? { echo: v.echo as number, redis: v.redis as number } : null;
}
