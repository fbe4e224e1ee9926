/**
 * A TCP echo daemon on Dokio: `deno task echo` (or
 * `deno run -A examples/echo.ts --host 127.0.0.1 --port 7000`).
 *
 * One task per connection reads into a reused buffer and writes back what
 * it read (examples/echo_handler.ts). On SIGINT/SIGTERM it stops accepting,
 * lets open connections drain for `--drain-ms` (default 2000), closes what is
 * left, and exits 0.
 *
 * `--workers N` (default 1): 1 runs everything on the main thread, one
 * listener and one accept loop; N > 1 serves on N pool workers with
 * `serve(rt, …)` (net/serve) — each worker has its own SO_REUSEPORT listener and accept
 * loop, the kernel spreads connections over them, and the main thread only
 * waits for the signal and drains.
 *
 * `--console` turns on the runtime's task instrumentation and serves it on
 * 127.0.0.1:6669 (or `--console-addr host:port`): `deno task console` in
 * another terminal shows the tasks live; `/metrics` there is Prometheus text.
 *
 * Flags: `--host` (default 127.0.0.1), `--port` (default 7000; 0 picks
 * one), `--workers`, `--drain-ms`, `--write-timeout-ms` (default 60000; 0: never): a client
 * that does not read its echoes is back-pressured, and closed once one echo write made no
 * progress this long (within 1¼ of it; as mini-redis), `--console`, `--console-addr`,
 * `--debug-fds` (print the process's open fd count at start and at exit on stderr).
 *
 * @example
 * ```sh
 * deno task echo --port 7000 &
 * nc 127.0.0.1 7000
 * ```
 *
 * @module
 */

import {
  call,
  type Runtime,
  select,
  serve,
  shutdownSignal,
  sleep,
  spawn,
  TaskTracker,
  TcpListener,
} from "../mod.ts";
import { echo, ECHO_WRITE_TIMEOUT_ENV, ECHO_WRITE_TIMEOUT_MS, open } from "./echo_handler.ts";
import { checkInt, daemon, parseFlags, UsageError } from "./_daemon.ts";
import {
  CONSOLE_FLAGS,
  CONSOLE_USAGE,
  type ConsoleAddr,
  consoleAddr,
  runWithConsole,
} from "./_console.ts";

const HANDLERS = new URL("./echo_handler.ts", import.meta.url).href;

/** Parsed command line. */
interface Flags {
  host: string;
  port: number;
  workers: number;
  drainMs: number;
  /** An echo write that makes no progress this long closes its connection, ms (0: never). */
  writeTimeoutMs: number;
  debugFds: boolean;
  /** Where `--console` serves the instrumentation, or null. */
  console: ConsoleAddr;
}

const USAGE = "usage: echo.ts [--host 127.0.0.1] [--port 7000] [--workers 1] [--drain-ms 2000]" +
  " [--write-timeout-ms 60000]" + CONSOLE_USAGE + " [--debug-fds]";

function parseEchoFlags(args: string[]): Flags {
  const given = parseFlags(args, {
    host: "string",
    port: "port",
    workers: "number",
    "drain-ms": "number",
    "write-timeout-ms": "number",
    "debug-fds": "switch",
    ...CONSOLE_FLAGS,
  }, USAGE);
  const f: Flags = {
    host: given.host ?? "127.0.0.1",
    port: given.port ?? 7000,
    workers: checkInt("--workers", given.workers ?? 1, 1, 256),
    drainMs: given["drain-ms"] ?? 2000,
    writeTimeoutMs: checkInt(
      "--write-timeout-ms",
      given["write-timeout-ms"] ?? ECHO_WRITE_TIMEOUT_MS,
      0,
      3_600_000,
    ),
    debugFds: given["debug-fds"] === true,
    console: consoleAddr(given),
  };
  if (!(f.drainMs >= 0)) throw new UsageError(`--drain-ms takes a number >= 0, got ${f.drainMs}`);
  return f;
}

function openFds(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n;
}

function announce(hostname: string, port: number, workers: number): void {
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  if (workers > 1) console.log(`dokio echo: ${workers} workers, one SO_REUSEPORT listener each`);
  console.log(`dokio echo listening on ${shown}:${port}`);
  console.log(`try it: nc ${hostname} ${port}   (Ctrl-C to stop)`);
}

/** The single-thread path: one listener, one accept loop, on the main thread. */
function* main(flags: Flags): Generator<unknown, void, unknown> {
  using listener = yield* TcpListener.bind({ hostname: flags.host, port: flags.port });
  const { hostname, port } = listener.localAddr;
  announce(hostname, port, 1);
  if (flags.debugFds) console.error(`fds at start: ${openFds()}`);

  // A stop request closes the listener, which ends the accept loop.
  const stopper = spawn(function* () {
    const sig = yield* shutdownSignal();
    console.log(`${sig}: no longer accepting; draining ${open.size} connection(s)`);
    listener.close();
  }, { name: "shutdown" });

  const tracker = new TaskTracker();
  const incoming = listener.incoming({
    onError: (e) => console.error(`accept: ${e.code}, backing off`),
  });
  for (;;) {
    const conn = yield* incoming.accept();
    if (conn === null) break;
    open.add(conn); // the set owns it until echo does: closed below even if echo never starts
    tracker.spawn(echo(conn, flags.writeTimeoutMs), { name: "echo" });
  }
  yield* stopper;

  tracker.close();
  const r = yield* select({ drained: tracker.wait(), timeout: sleep(flags.drainMs) });
  if (r.key === "timeout") {
    console.log(`drain time over: closing ${open.size} connection(s)`);
    for (const c of open) c.close();
    yield* tracker.wait();
  }
  for (const c of open) c.close(); // a connection whose task never ran
  console.log("stopped");
}

/** The multi-worker path: `serve(rt, …)` over `flags.workers` pool workers. */
function* mainWorkers(rt: Runtime, flags: Flags): Generator<unknown, void, unknown> {
  // The pool workers' handler takes no arguments: it reads its write timeout from here.
  Deno.env.set(ECHO_WRITE_TIMEOUT_ENV, String(flags.writeTimeoutMs));
  const srv = yield* call(serve(rt, { hostname: flags.host, port: flags.port }, HANDLERS, "echo"));
  announce(srv.localAddr.hostname, srv.localAddr.port, flags.workers);
  if (flags.debugFds) console.error(`fds at start: ${openFds()}`);
  const sig = yield* shutdownSignal();
  console.log(`${sig}: no longer accepting; draining ${srv.stats().open} connection(s)`);
  const st = yield* call(srv.close({ drainMs: flags.drainMs }));
  if (st.forced > 0) console.log(`drain time over: closed ${st.forced} connection(s)`);
  console.log(
    `accepted per worker: ${st.perWorker.map((w) => w.accepted).join(", ")}; stopped`,
  );
}

if (import.meta.main) {
  // A bad flag: one line and exit 2; a taken port, a missing permission: one line and exit 1.
  await daemon("echo", () => parseEchoFlags(Deno.args), async (flags) => {
    if (flags.workers > 1) {
      await runWithConsole(
        flags.console,
        { poolSize: flags.workers },
        (rt) => mainWorkers(rt, flags),
        "echo-server",
      );
    } else {
      await runWithConsole(flags.console, {}, () => main(flags), "echo-server");
    }
    if (flags.debugFds) console.error(`fds at exit: ${openFds()}`);
  });
}
