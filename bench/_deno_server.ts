/**
 * Internal: the frame of the bench's `Deno.listen` peer servers — listen on
 * 127.0.0.1 (`--port N` or `--port=N`, default 0), print `listening on 127.0.0.1:PORT`, run
 * one async handler per connection (Nagle off; a reset peer ends only its
 * connection; the connection is closed after), exit 0 on SIGTERM.
 *
 * @module
 */

import { portFlag } from "./_util.ts";

/**
 * Serve every connection with `handle` until SIGTERM.
 *
 * @example
 * ```ts ignore
 * import { serveDeno } from "./_deno_server.ts";
 * await serveDeno(async (conn) => {
 *   for await (const chunk of conn.readable) await conn.write(chunk);
 * });
 * ```
 */
export async function serveDeno(handle: (conn: Deno.TcpConn) => Promise<void>): Promise<void> {
  const port = portFlag(Deno.args, 0);
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  console.log(`listening on 127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  Deno.addSignalListener("SIGTERM", () => {
    listener.close();
    Deno.exit(0);
  });
  for await (const conn of listener) serveOne(conn, handle);
}

async function serveOne(
  conn: Deno.TcpConn,
  handle: (conn: Deno.TcpConn) => Promise<void>,
): Promise<void> {
  try {
    conn.setNoDelay(true);
    await handle(conn);
  } catch {
    // reset by the peer
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}
