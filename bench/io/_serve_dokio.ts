/**
 * Internal: the frame of the io bench's Dokio servers — bind 127.0.0.1
 * (`--port N` or `--port=N`, default 0), print `listening on 127.0.0.1:PORT`, spawn
 * `handle(conn)` per connection (Nagle off, the stream closed after, a reset
 * peer ending only its connection), stop on SIGINT/SIGTERM and exit 0. The
 * backend comes from DOKIO_BACKEND.
 *
 * @module
 */

import { run, spawn } from "../../runtime/mod.ts";
import { TcpListener, type TcpStream } from "../../net/mod.ts";
import { shutdownSignal } from "../../sync/mod.ts";
import { portFlag } from "../_util.ts";

type Handler = (conn: TcpStream) => Generator<unknown, void, unknown>;

function* serveOne(conn: TcpStream, handle: Handler): Generator<unknown, void, unknown> {
  using c = conn;
  c.setNoDelay(true);
  try {
    yield* handle(c);
  } catch {
    // reset by the peer
  }
}

function* closeOnSignal(l: TcpListener): Generator<unknown, void, unknown> {
  yield* shutdownSignal();
  l.close();
}

function* acceptLoop(port: number, handle: Handler): Generator<unknown, void, unknown> {
  using l = yield* TcpListener.bind({ hostname: "127.0.0.1", port });
  console.log(`listening on 127.0.0.1:${l.localAddr.port}`);
  spawn(closeOnSignal(l));
  const conns = l.incoming();
  for (let c = yield* conns.accept(); c !== null; c = yield* conns.accept()) {
    spawn(serveOne(c, handle));
  }
}

/**
 * Serve every connection with `handle` until SIGINT/SIGTERM, then exit 0.
 *
 * @example
 * ```ts ignore
 * import { serveDokio } from "./_serve_dokio.ts";
 * await serveDokio(function* (conn) {
 *   const buf = new Uint8Array(4096);
 *   for (let n = yield* conn.read(buf); n !== null; n = yield* conn.read(buf)) {
 *     yield* conn.writeAll(buf.subarray(0, n));
 *   }
 * });
 * ```
 */
export async function serveDokio(handle: Handler): Promise<void> {
  await run(acceptLoop(portFlag(Deno.args, 0), handle));
  Deno.exit(0);
}
