/**
 * Following a daemon's `/console` stream: connect with fetch, read its NDJSON
 * lines (bounded, `ndjson.ts`), decode each (`decode.ts`), and when the
 * daemon goes away — refused, reset, closed, or silent for `STALL_MS` —
 * report it and try again after a delay that doubles from `RETRY_FIRST_MS`
 * up to `RETRY_MAX_MS` (back to the first after a good snapshot). Ends only
 * when the caller's signal aborts.
 *
 * @module
 */

import type { ConsoleSnapshot } from "../runtime/instrument/snapshot.ts";
import { decodeSnapshot } from "./decode.ts";
import { sanitize } from "./format.ts";
import { DEFAULT_MAX_LINE_BYTES, readLines } from "./ndjson.ts";

/**
 * The metrics port the console looks at when given none: tokio-console's
 * convention, and the runtime's `DEFAULT_METRICS_PORT` (runtime/instrument/server.ts;
 * the console imports no values from there, tests/console_client_test.ts checks they agree).
 */
export const DEFAULT_METRICS_PORT = 6669;

/** The host the console looks at when given none: the metrics server listens on loopback. */
export const DEFAULT_HOST = "127.0.0.1";

/** The stream's path on the metrics port. */
export const CONSOLE_PATH = "/console";

/** The first reconnection delay. */
export const RETRY_FIRST_MS = 250;
/** The longest reconnection delay. */
export const RETRY_MAX_MS = 5000;
/** A connected stream silent this long is taken as gone (the daemon sends one line per interval). */
export const STALL_MS = 15_000;
/** A stream whose lines come every `intervalMs` is taken as gone after this many silent intervals (if longer). */
export const STALL_INTERVALS = 3;

/** Where the daemon's metrics port is. */
export interface Target {
  /** `host:port` as shown. */
  addr: string;
  /** The stream's URL. */
  url: string;
}

/**
 * Parses the command line's `host:port` (`:port`, `port`, `host`, `[::1]:port` too).
 *
 * @param arg the argument, or undefined for the default
 * @returns the address and the stream's URL
 * @throws {RangeError} when the port is not 1–65535 or the host is empty or malformed
 */
export function parseTarget(arg: string | undefined): Target {
  let host = DEFAULT_HOST;
  let port = String(DEFAULT_METRICS_PORT);
  const text = (arg ?? "").trim();
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d*))?$/.exec(text);
  if (v6) {
    host = v6[1];
    if (v6[2] !== undefined) port = v6[2];
  } else if (/^\d+$/.test(text)) {
    port = text;
  } else if (text !== "") {
    const colon = text.lastIndexOf(":");
    if (colon >= 0) {
      if (colon > 0) host = text.slice(0, colon);
      port = text.slice(colon + 1);
    } else host = text;
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535) {
    throw new RangeError(`bad port in "${sanitize(text)}": want 1-65535`);
  }
  if (!/^[A-Za-z0-9.:_-]+$/.test(host) || (host.includes(":") && !v6)) {
    throw new RangeError(`bad host in "${sanitize(text)}"`);
  }
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return { addr: `${urlHost}:${n}`, url: `http://${urlHost}:${n}${CONSOLE_PATH}` };
}

/**
 * The delay after `previous` (doubling, capped).
 *
 * @param previous the last delay in ms, or 0 before the first retry
 * @returns the next delay in ms
 */
export function nextDelay(previous: number): number {
  return previous <= 0 ? RETRY_FIRST_MS : Math.min(RETRY_MAX_MS, previous * 2);
}

/** What happened on the stream. */
export type StreamEvent =
  | { kind: "connected" }
  | { kind: "snapshot"; snapshot: ConsoleSnapshot; missing: string[] }
  | { kind: "bad-line"; message: string }
  | { kind: "disconnected"; message: string; retryInMs: number };

/** How to follow. */
export interface FollowOptions {
  /** Stops following (the generator returns). */
  signal: AbortSignal;
  /** The longest line kept; longer ones are dropped. */
  maxLineBytes?: number;
  /** Silence after which a connected stream is dropped and re-dialled. */
  stallMs?: number;
}

/** A fetch error's useful end ("Connection refused (os error 111)"), one short line. */
function describe(e: unknown): string {
  const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : "";
  const text = (e instanceof Error ? e.message : String(e)) + cause;
  const parts = text.split(": ");
  const os = parts.find((p) => /os error/.test(p));
  return sanitize(os ?? parts[parts.length - 1]).slice(0, 120);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** One connection: its events until it ends (by returning) or fails (by throwing). */
async function* connection(
  url: string,
  options: FollowOptions,
  onGood: () => void,
): AsyncGenerator<StreamEvent> {
  let stall = options.stallMs ?? STALL_MS;
  const local = new AbortController();
  const abort = () => local.abort();
  options.signal.addEventListener("abort", abort, { once: true });
  let timer = setTimeout(() => local.abort(new Error(`no update for ${stall / 1000}s`)), stall);
  const quiet = () => {
    clearTimeout(timer);
    timer = setTimeout(() => local.abort(new Error(`no update for ${stall / 1000}s`)), stall);
  };
  // A daemon that says it sends a line every intervalMs is given STALL_INTERVALS of them.
  const heed = (snap: ConsoleSnapshot) => {
    if (snap.intervalMs !== undefined) {
      stall = Math.max(options.stallMs ?? STALL_MS, STALL_INTERVALS * snap.intervalMs);
    }
  };
  try {
    const res = await fetch(url, { signal: local.signal });
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status} from ${CONSOLE_PATH}`);
    }
    const type = res.headers.get("content-type") ?? "";
    if (!type.includes("ndjson")) {
      await res.body.cancel();
      throw new Error(`not a console stream (content-type "${type}")`);
    }
    yield { kind: "connected" };
    try {
      for await (const ev of readLines(res.body, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)) {
        quiet();
        if ("error" in ev) {
          yield { kind: "bad-line", message: ev.error };
          continue;
        }
        const d = decodeSnapshot(ev.line);
        if (!d.ok) yield { kind: "bad-line", message: d.error };
        else {
          onGood();
          heed(d.snapshot);
          yield { kind: "snapshot", snapshot: d.snapshot, missing: d.missing };
        }
      }
    } catch (e) {
      // Reading stopped because of the stall timer: say why, not "aborted".
      throw local.signal.reason instanceof Error ? local.signal.reason : e;
    }
    throw new Error("the daemon closed the stream");
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener("abort", abort);
  }
}

/**
 * Follows the stream at `url` until `options.signal` aborts, re-dialling with
 * backoff whenever it is lost.
 *
 * @param url the `/console` URL
 * @param options the signal that ends it, the line bound, the stall timeout
 * @returns the stream's events
 */
export async function* follow(url: string, options: FollowOptions): AsyncGenerator<StreamEvent> {
  let delay = 0;
  while (!options.signal.aborted) {
    try {
      yield* connection(url, options, () => delay = 0);
    } catch (e) {
      if (options.signal.aborted) return;
      delay = nextDelay(delay);
      yield { kind: "disconnected", message: describe(e), retryInMs: delay };
      await pause(delay, options.signal);
    }
  }
}
