/**
 * One NDJSON line from the daemon → a `ConsoleSnapshot` the renderer can
 * trust: JSON that is not an object, or a snapshot of another contract
 * version, is an error (the caller shows it and keeps the last good
 * snapshot); a field that is missing or of the wrong type is filled in
 * (numbers NaN, names null, lists empty, histograms empty-and-malformed) and
 * named in `missing`, so an older or newer daemon still gets a screen. Every
 * string is sanitized here (no control bytes reach the terminal).
 *
 * @module
 */

import type {
  ConsoleSnapshot,
  Histogram,
  ResourceSnapshot,
  TaskSnapshot,
  TaskStateName,
  TaskWarning,
  WarningKind,
  WorkerSnapshot,
} from "../runtime/instrument/snapshot.ts";
import { sanitize } from "./format.ts";

/**
 * The contract version this console speaks (`SNAPSHOT_VERSION` of
 * runtime/instrument/snapshot.ts; the console imports only types from there,
 * and tests/console_decode_test.ts checks the two agree).
 */
export const CONSOLE_SNAPSHOT_VERSION = 1;

/** The result of decoding one line. */
export type Decoded =
  | { ok: true; snapshot: ConsoleSnapshot; missing: string[] }
  | { ok: false; error: string };

type Json = Record<string, unknown>;

/** Collects the names of fields filled in for being missing, once each. */
class Gaps {
  readonly names = new Set<string>();
  num(o: Json, key: string, where: string): number {
    const v = o[key];
    if (typeof v === "number" && Number.isFinite(v)) return v;
    this.names.add(`${where}.${key}`);
    return NaN;
  }
  nums<K extends string>(o: Json, keys: readonly K[], where: string): Record<K, number> {
    const out = {} as Record<K, number>;
    for (const k of keys) out[k] = this.num(o, k, where);
    return out;
  }
  str(o: Json, key: string, where: string): string | null {
    const v = o[key];
    if (typeof v === "string") return sanitize(v);
    if (v !== null) this.names.add(`${where}.${key}`);
    return null;
  }
  list(o: Json, key: string, where: string): Json[] {
    const v = o[key];
    if (Array.isArray(v)) return v.filter(isObject);
    this.names.add(`${where}.${key}`);
    return [];
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function numbers(v: unknown): number[] | null {
  return Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x)) ? v : null;
}

/** A histogram that `isWellFormed` rejects: drawn as "not reported". */
const NO_HISTOGRAM: Histogram = { bounds: [], counts: [], count: NaN, sumNs: NaN, maxNs: NaN };

function histogram(v: unknown, where: string, gaps: Gaps): Histogram {
  if (isObject(v)) {
    const bounds = numbers(v.bounds), counts = numbers(v.counts);
    if (bounds && counts) {
      return {
        bounds,
        counts,
        count: gaps.num(v, "count", where),
        sumNs: gaps.num(v, "sumNs", where),
        maxNs: gaps.num(v, "maxNs", where),
      };
    }
  }
  gaps.names.add(where);
  return NO_HISTOGRAM;
}

const TASK_NUMBERS = [
  "id",
  "worker",
  "polls",
  "busyNs",
  "scheduledNs",
  "idleNs",
  "wakes",
  "selfWakes",
  "sinceLastPollNs",
  "ageNs",
] as const;

const WORKER_NUMBERS = [
  "worker",
  "polls",
  "steals",
  "parks",
  "localQueueDepth",
  "injectQueueDepth",
  "timersArmed",
] as const;

function task(o: Json, gaps: Gaps): TaskSnapshot {
  const w = "tasks[]";
  return {
    ...gaps.nums(o, TASK_NUMBERS, w),
    name: gaps.str(o, "name", w),
    spawnSite: gaps.str(o, "spawnSite", w),
    state: (gaps.str(o, "state", w) ?? "?") as TaskStateName,
    waitingOn: gaps.str(o, "waitingOn", w),
    pollTimes: histogram(o.pollTimes, `${w}.pollTimes`, gaps),
  };
}

function ioKinds(v: unknown, gaps: Gaps): Record<string, number> {
  const out: Record<string, number> = {};
  if (!isObject(v)) {
    gaps.names.add("workers[].ioInFlight");
    return out;
  }
  for (const [k, n] of Object.entries(v)) {
    if (typeof n === "number" && Number.isFinite(n)) out[sanitize(k)] = n;
  }
  return out;
}

function worker(o: Json, gaps: Gaps): WorkerSnapshot {
  const w = "workers[]";
  return {
    ...gaps.nums(o, WORKER_NUMBERS, w),
    ioInFlight: ioKinds(o.ioInFlight, gaps),
    pollTimes: histogram(o.pollTimes, `${w}.pollTimes`, gaps),
    scheduledTimes: histogram(o.scheduledTimes, `${w}.scheduledTimes`, gaps),
  };
}

function resource(o: Json, gaps: Gaps): ResourceSnapshot {
  const w = "resources[]";
  return {
    id: gaps.num(o, "id", w),
    kind: gaps.str(o, "kind", w) ?? "?",
    name: gaps.str(o, "name", w),
    site: gaps.str(o, "site", w),
    waiters: gaps.num(o, "waiters", w),
    detail: gaps.str(o, "detail", w) ?? "",
  };
}

function warning(o: Json, gaps: Gaps): TaskWarning {
  const w = "warnings[]";
  return {
    kind: (gaps.str(o, "kind", w) ?? "?") as WarningKind,
    taskId: gaps.num(o, "taskId", w),
    taskName: gaps.str(o, "taskName", w),
    message: gaps.str(o, "message", w) ?? "",
    atNs: gaps.num(o, "atNs", w),
  };
}

/**
 * Decodes one line of the `/console` stream.
 *
 * @param line one line, without its newline
 * @returns the snapshot and the fields that were filled in, or why the line was refused
 */
export function decodeSnapshot(line: string): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { ok: false, error: `bad JSON line: ${sanitize((e as Error).message).slice(0, 80)}` };
  }
  if (!isObject(value)) return { ok: false, error: "bad line: not a JSON object" };
  if (value.version !== undefined && value.version !== CONSOLE_SNAPSHOT_VERSION) {
    return {
      ok: false,
      error: `the daemon speaks snapshot version ${
        sanitize(String(value.version)).slice(0, 20)
      }; this console speaks ${CONSOLE_SNAPSHOT_VERSION}`,
    };
  }
  const gaps = new Gaps();
  const snapshot: ConsoleSnapshot = {
    version: CONSOLE_SNAPSHOT_VERSION,
    pid: gaps.num(value, "pid", "snapshot"),
    atMs: gaps.num(value, "atMs", "snapshot"),
    uptimeNs: gaps.num(value, "uptimeNs", "snapshot"),
    workers: gaps.list(value, "workers", "snapshot").map((o) => worker(o, gaps)),
    tasks: gaps.list(value, "tasks", "snapshot").map((o) => task(o, gaps)),
    resources: gaps.list(value, "resources", "snapshot").map((o) => resource(o, gaps)),
    warnings: gaps.list(value, "warnings", "snapshot").map((o) => warning(o, gaps)),
  };
  if (value.version === undefined) gaps.names.add("snapshot.version");
  // Optional (only the stream carries it): kept when it is a positive number.
  const every = value.intervalMs;
  if (typeof every === "number" && Number.isFinite(every) && every > 0) snapshot.intervalMs = every;
  return { ok: true, snapshot, missing: [...gaps.names] };
}
