/**
 * A TCP echo daemon on Dokio: `deno task echo` (or
 * `deno run -A examples/echo.ts --host 127.0.0.1 --port 7000`).
 *
 * One task per connection reads into a reused buffer and writes back what
 * it read. On SIGINT/SIGTERM it stops accepting, lets open connections
 * drain for `--drain-ms` (default 2000), closes what is left, and exits 0.
 *
 * Flags: `--host` (default 127.0.0.1), `--port` (default 7000; 0 picks
 * one), `--drain-ms`, `--debug-fds` (print the process's open fd count at
 * start and at exit on stderr).
 *
 * @example
 * ```sh
 * deno task echo --port 7000 &
 * nc 127.0.0.1 7000
 * ```
 *
 * @module
 */

import { run, spawn } from "../runtime/mod.ts";
import { TcpListener, type TcpStream } from "../net/mod.ts";
import { select, shutdownSignal, TaskTracker } from "../sync/mod.ts";
import { sleep } from "../time/mod.ts";

/** Parsed command line. */
interface Flags {
  host: string;
  port: number;
  drainMs: number;
  debugFds: boolean;
}

function parseFlags(args: string[]): Flags {
  const f: Flags = { host: "127.0.0.1", port: 7000, drainMs: 2000, debugFds: false };
  for (let i = 0; i < args.length; i++) {
    const [k, inline] = args[i].split("=", 2);
    const val = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new TypeError(`${k} needs a value`);
      return v;
    };
    if (k === "--host") f.host = val();
    else if (k === "--port") f.port = Number(val());
    else if (k === "--drain-ms") f.drainMs = Number(val());
    else if (k === "--debug-fds") f.debugFds = true;
    else if (k === "--help" || k === "-h") {
      console.log(
        "usage: echo.ts [--host 127.0.0.1] [--port 7000] [--drain-ms 2000] [--debug-fds]",
      );
      Deno.exit(0);
    } else throw new TypeError(`unknown flag ${k}`);
  }
  if (!Number.isInteger(f.port) || f.port < 0 || f.port > 65535) {
    throw new RangeError(`--port must be 0..65535`);
  }
  if (!(f.drainMs >= 0)) throw new RangeError(`--drain-ms must be >= 0`);
  return f;
}

function openFds(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n;
}

const open = new Set<TcpStream>();

/** Echo one connection until EOF; reuses one buffer. */
function* echo(conn: TcpStream): Generator<unknown, void, unknown> {
  open.add(conn);
  const buf = new Uint8Array(16384);
  try {
    conn.setNoDelay(true);
    for (;;) {
      const n = yield* conn.read(buf);
      if (n === null) return;
      yield* conn.writeAll(buf.subarray(0, n));
    }
  } catch {
    // peer reset, or closed at shutdown: nothing to do but close
  } finally {
    open.delete(conn);
    conn.close();
  }
}

function* main(flags: Flags): Generator<unknown, void, unknown> {
  using listener = yield* TcpListener.bind({ hostname: flags.host, port: flags.port });
  const { hostname, port } = listener.localAddr;
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  console.log(`dokio echo listening on ${shown}:${port}`);
  console.log(`try it: nc ${hostname} ${port}   (Ctrl-C to stop)`);
  if (flags.debugFds) console.error(`fds at start: ${openFds()}`);

  // A stop request closes the listener, which ends the accept loop.
  const stopper = spawn(function* () {
    const sig = yield* shutdownSignal();
    console.log(`${sig}: no longer accepting; draining ${open.size} connection(s)`);
    listener.close();
  });

  const tracker = new TaskTracker();
  const incoming = listener.incoming({
    onError: (e) => console.error(`accept: ${e.code}, backing off`),
  });
  for (;;) {
    const conn = yield* incoming.accept();
    if (conn === null) break;
    tracker.spawn(echo(conn));
  }
  yield* stopper;

  tracker.close();
  const r = yield* select({ drained: tracker.wait(), timeout: sleep(flags.drainMs) });
  if (r.key === "timeout") {
    console.log(`drain time over: closing ${open.size} connection(s)`);
    for (const c of open) c.close();
    yield* tracker.wait();
  }
  console.log("stopped");
}

if (import.meta.main) {
  const flags = parseFlags(Deno.args);
  await run(main(flags));
  if (flags.debugFds) console.error(`fds at exit: ${openFds()}`);
}
