/**
 * `deno task console [host:port] [--interval MS] [--max-line BYTES] [--once]`: the console's
 * thin I/O shell. It follows the daemon's stream (`client.ts`), reads keys
 * (`keys.ts` → the reducer in `view_state.ts`), and on every event renders
 * the screen (`render.ts`) and sends what changed (`screen.ts`). SIGWINCH and
 * every frame re-read the size. `q`, Ctrl-C, SIGTERM, SIGHUP or an error end
 * it, and the terminal is restored on each path.
 *
 * `--once` prints one frame (the first snapshot) to stdout and exits: 0 with
 * a snapshot, 1 when none came within `ONCE_TIMEOUT_MS`.
 *
 * @example
 * ```sh
 * deno task echo --console &
 * deno task console 127.0.0.1:6669
 * ```
 *
 * @module
 */

import type { ConsoleSnapshot } from "../runtime/instrument/snapshot.ts";
import { follow, parseTarget, type StreamEvent, type Target } from "./client.ts";
import { decodeKeys } from "./keys.ts";
import { DEFAULT_MAX_LINE_BYTES } from "./ndjson.ts";
import { type ConnectionStatus, render } from "./render.ts";
import { Screen } from "./screen.ts";
import { colorEnabled, screenMode, Terminal, type TerminalEnv } from "./terminal.ts";
import { initialViewState, reduce, type ViewState, withSnapshot } from "./view_state.ts";

/** How long `--once` waits for a snapshot. */
export const ONCE_TIMEOUT_MS = 10_000;
/** How long a note (a dropped line, fields the daemon leaves out) stays on the status row. */
export const NOTE_MS = 5_000;

const USAGE = "usage: deno task console [host:port] [--interval MS] [--max-line BYTES] [--once]";

/** The parsed command line. */
export interface ConsoleArgs {
  /** The daemon's address and stream URL. */
  target: Target;
  /** The longest stream line kept. */
  maxLineBytes: number;
  /** Print one frame and exit. */
  once: boolean;
}

/**
 * Parses the console's command line.
 *
 * @param argv the arguments after the script
 * @returns what they ask for
 * @throws {RangeError} with the message to print (the usage for `--help`)
 */
export function parseConsoleArgs(argv: string[]): ConsoleArgs {
  let addr: string | undefined;
  let maxLineBytes = DEFAULT_MAX_LINE_BYTES;
  let once = false;
  let intervalMs: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--once") once = true;
    else if (a === "--interval") {
      intervalMs = Number(argv[++i]);
      if (!Number.isInteger(intervalMs) || intervalMs < 1) {
        throw new RangeError("--interval wants a positive number of milliseconds");
      }
    } else if (a === "--max-line") {
      maxLineBytes = Number(argv[++i]);
      if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) {
        throw new RangeError("--max-line wants a positive number of bytes");
      }
    } else if (a === "-h" || a === "--help") throw new RangeError(USAGE);
    else if (a.startsWith("-") || addr !== undefined) {
      throw new RangeError(`unexpected "${a}"\n${USAGE}`);
    } else addr = a;
  }
  const target = parseTarget(addr);
  // The daemon's server takes `?interval=ms` (it keeps its own floor).
  if (intervalMs !== null) target.url += `?interval=${intervalMs}`;
  return { target, maxLineBytes, once };
}

function environment(): TerminalEnv {
  return {
    noColor: Deno.env.get("NO_COLOR"),
    term: Deno.env.get("TERM"),
    isTty: Deno.stdout.isTerminal(),
  };
}

/** The stream's state as the screen shows it, kept up to date from stream events. */
class Connection {
  status: ConnectionStatus;
  snapshot: ConsoleSnapshot | null = null;
  #note = "";
  #noteUntil = 0;
  #missing = "";

  constructor(addr: string) {
    this.status = { addr, state: "connecting" };
  }

  /** Takes one event; returns true when it brought a snapshot. */
  take(ev: StreamEvent): boolean {
    switch (ev.kind) {
      case "connected":
        this.status = { addr: this.status.addr, state: "connected" };
        this.#missing = "";
        return false;
      case "snapshot": {
        this.snapshot = ev.snapshot;
        const missing = ev.missing.join(", ");
        if (missing !== "" && missing !== this.#missing) {
          this.note(`the daemon does not report ${missing}`);
        }
        this.#missing = missing;
        return true;
      }
      case "bad-line":
        this.note(ev.message);
        return false;
      case "disconnected":
        this.status = {
          addr: this.status.addr,
          state: "disconnected",
          message: `${ev.message}; retrying in ${(ev.retryInMs / 1000).toFixed(1)}s`,
        };
        return false;
    }
  }

  note(message: string): void {
    this.#note = message;
    this.#noteUntil = Date.now() + NOTE_MS;
  }

  /** The status for the next frame (a note while it lasts). */
  current(): ConnectionStatus {
    if (this.status.state === "connected" && Date.now() < this.#noteUntil) {
      return { ...this.status, message: this.#note };
    }
    return this.status;
  }
}

async function once(args: ConsoleArgs, env: TerminalEnv): Promise<number> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ONCE_TIMEOUT_MS);
  const conn = new Connection(args.target.addr);
  try {
    for await (
      const ev of follow(args.target.url, {
        signal: controller.signal,
        maxLineBytes: args.maxLineBytes,
      })
    ) {
      if (!conn.take(ev)) continue;
      const snap = conn.snapshot!;
      const size = { width: 80, height: 24 };
      try {
        const { columns, rows } = Deno.consoleSize();
        Object.assign(size, { width: columns, height: rows });
      } catch { /* not a terminal: 80×24 */ }
      const rows = render(snap, withSnapshot(initialViewState(), snap), {
        ...size,
        color: colorEnabled(env),
        status: conn.current(),
      });
      console.log(rows.join("\n"));
      return 0;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  console.error(
    `no snapshot from ${args.target.addr} within ${ONCE_TIMEOUT_MS / 1000}s: ${
      conn.status.message ?? ""
    }`,
  );
  return 1;
}

async function interactive(args: ConsoleArgs, env: TerminalEnv): Promise<number> {
  const term = new Terminal(screenMode(env));
  const screen = new Screen(screenMode(env));
  const color = colorEnabled(env);
  const conn = new Connection(args.target.addr);
  const controller = new AbortController();
  let state: ViewState = initialViewState();
  let failure: unknown = null;
  const quit = Promise.withResolvers<void>();
  controller.signal.addEventListener("abort", () => quit.resolve(), { once: true });

  const draw = () => {
    const { width, height } = term.size();
    const rows = render(conn.snapshot, state, { width, height, color, status: conn.current() });
    term.write(screen.draw(rows, width, height));
  };
  const fail = (e: unknown) => {
    failure ??= e;
    controller.abort();
  };
  const guarded = () => {
    try {
      draw();
    } catch (e) {
      fail(e);
    }
  };
  // Whatever escapes (a bug in a listener, a rejected promise) still ends in restore().
  const uncaught = (e: Event) => {
    e.preventDefault();
    fail(e instanceof ErrorEvent ? e.error : (e as PromiseRejectionEvent).reason);
  };
  globalThis.addEventListener("error", uncaught);
  globalThis.addEventListener("unhandledrejection", uncaught);
  const signals: Array<[Deno.Signal, () => void]> = [
    ["SIGWINCH", guarded],
    ["SIGTERM", () => controller.abort()],
    ["SIGHUP", () => controller.abort()],
    ["SIGINT", () => controller.abort()],
  ];
  for (const [sig, fn] of signals) Deno.addSignalListener(sig, fn);

  const keys = async () => {
    const buf = new Uint8Array(256);
    while (!controller.signal.aborted) {
      const n = await Deno.stdin.read(buf);
      if (n === null) return; // stdin closed: keep watching until a signal
      for (const key of decodeKeys(buf.subarray(0, n))) {
        if (key === "ctrl-l") screen.invalidate();
        state = reduce(state, key);
        if (conn.snapshot) state = withSnapshot(state, conn.snapshot);
        if (state.quit) return controller.abort();
      }
      draw();
    }
  };
  const stream = async () => {
    for await (
      const ev of follow(args.target.url, {
        signal: controller.signal,
        maxLineBytes: args.maxLineBytes,
      })
    ) {
      if (conn.take(ev)) state = withSnapshot(state, conn.snapshot!);
      draw();
    }
  };
  // A note expires without an event to redraw it away.
  const tick = setInterval(guarded, NOTE_MS);

  try {
    draw();
    if (term.readsKeys) keys().catch(fail);
    stream().catch(fail);
    await quit.promise;
  } finally {
    clearInterval(tick);
    for (const [sig, fn] of signals) Deno.removeSignalListener(sig, fn);
    globalThis.removeEventListener("error", uncaught);
    globalThis.removeEventListener("unhandledrejection", uncaught);
    term.restore();
  }
  if (failure) {
    console.error(`console: ${failure instanceof Error ? failure.stack : failure}`);
    return 1;
  }
  return 0;
}

/**
 * Runs the console.
 *
 * @param argv the command-line arguments
 * @returns the exit code
 */
export async function main(argv: string[]): Promise<number> {
  let args: ConsoleArgs;
  try {
    args = parseConsoleArgs(argv);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const env = environment();
  return args.once ? await once(args, env) : await interactive(args, env);
}

if (import.meta.main) {
  // A pending stdin read would keep the process alive after the terminal is restored.
  Deno.exit(await main(Deno.args));
}
