/**
 * A TCP (or Unix → TCP) proxy on Dokio: every connection to `--port` (or to
 * the Unix socket `--unix PATH`) is joined to a new connection to
 * `--to host:port`, and bytes flow both ways with
 * `copyBidirectional` until both sides are done (each side's FIN is passed
 * on as a half-close, so request/response protocols that half-close work).
 *
 * `deno run -A examples/proxy.ts --port 8000 --to 127.0.0.1:7000`
 * (then `deno task echo --port 7000` and `nc 127.0.0.1 8000`).
 *
 * One task per client; an upstream that refuses or resets only ends that
 * client's connection. SIGINT/SIGTERM stops accepting and exits. Prints
 * `listening on 127.0.0.1:PORT` (or `listening on unix:PATH`) once ready.
 * `--to` takes a host name too (resolved with lookupHost on each connect).
 *
 * Flags: `--host` (default 127.0.0.1), `--port` (default 8000; 0 picks one), `--unix PATH`,
 * `--to host:port` (default 127.0.0.1:7000). A bad flag prints one line and exits 2; a taken
 * port or a missing permission, one line and exit 1 (examples/_daemon.ts).
 *
 * @example
 * ```sh
 * deno run -A examples/proxy.ts --port 8000 --to 127.0.0.1:7000
 * ```
 *
 * @module
 */

import {
  ClosedError,
  copyBidirectional,
  IoError,
  run,
  shutdownSignal,
  type SocketStream,
  spawn,
  TcpListener,
  TcpStream,
  UnixListener,
  type UnixStream,
} from "../mod.ts";
import { checkInt, daemon, parseFlags, UsageError } from "./_daemon.ts";

/** Parsed command line. */
interface Flags {
  unix: string | null;
  host: string;
  port: number;
  toHost: string;
  toPort: number;
}

const USAGE = "usage: proxy.ts [--host 127.0.0.1] [--port 8000 | --unix PATH] " +
  "[--to 127.0.0.1:7000]";

function parseProxyFlags(args: string[]): Flags {
  const given = parseFlags(
    args,
    { host: "string", port: "port", unix: "string", to: "string" },
    USAGE,
  );
  const to = given.to ?? "127.0.0.1:7000";
  const colon = to.lastIndexOf(":");
  const toHost = to.slice(0, Math.max(colon, 0)).replace(/^\[|\]$/g, "");
  const toPort = to.slice(colon + 1);
  if (colon < 0 || toHost === "" || !/^\d+$/.test(toPort)) {
    throw new UsageError(`--to takes host:port, got ${JSON.stringify(to)}`);
  }
  if (given.unix === "") throw new UsageError('--unix takes a socket path, got ""');
  return {
    unix: given.unix ?? null,
    host: given.host ?? "127.0.0.1",
    port: given.port ?? 8000,
    toHost,
    toPort: checkInt("--to's port", Number(toPort), 1, 65535),
  };
}

/** Join one client to a fresh upstream connection until both directions end. */
function* relay(client: SocketStream, to: Flags): Generator<unknown, void, unknown> {
  using c = client;
  try {
    using up = yield* TcpStream.connect({ hostname: to.toHost, port: to.toPort });
    if (c instanceof TcpStream) c.setNoDelay(true);
    up.setNoDelay(true);
    yield* copyBidirectional(c, up);
  } catch (e) {
    // A refused, reset or closed upstream or client ends this connection only.
    if (!(e instanceof IoError) && !(e instanceof ClosedError)) throw e;
  }
}

/** Stop accepting on SIGINT/SIGTERM: closing the listener ends the accept loop. */
function* closeOnSignal(listener: { close(): void }): Generator<unknown, void, unknown> {
  yield* shutdownSignal();
  listener.close();
}

/** Unix → TCP: accept on the Unix socket at `f.unix` until the listener is closed. */
function* mainUnix(f: Flags, path: string): Generator<unknown, void, unknown> {
  using listener = yield* UnixListener.bind({ path });
  console.log(`dokio proxy → ${f.toHost}:${f.toPort}, listening on unix:${path}`);
  spawn(closeOnSignal(listener));
  for (;;) {
    let c: UnixStream;
    try {
      c = yield* listener.accept();
    } catch (e) {
      if (e instanceof ClosedError) return;
      throw e;
    }
    spawn(relay(c, f));
  }
}

function* main(f: Flags): Generator<unknown, void, unknown> {
  if (f.unix !== null) return yield* mainUnix(f, f.unix);
  using listener = yield* TcpListener.bind({ hostname: f.host, port: f.port });
  const port = listener.localAddr.port;
  console.log(`dokio proxy → ${f.toHost}:${f.toPort}, listening on ${f.host}:${port}`);
  spawn(closeOnSignal(listener));
  const clients = listener.incoming();
  for (let c = yield* clients.accept(); c !== null; c = yield* clients.accept()) {
    spawn(relay(c, f));
  }
}

if (import.meta.main) {
  await daemon("proxy", () => parseProxyFlags(Deno.args), (f) => run(main(f)));
  Deno.exit(0);
}
