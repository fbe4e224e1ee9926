/**
 * The peer of the echo bench: a TCP echo server on `Deno.listen`, written
 * the idiomatic efficient way (one async loop per connection, a reused
 * buffer, read → write-all). Prints `listening on 127.0.0.1:PORT`; exits on
 * SIGTERM.
 *
 * usage: deno run -A bench/echo_server_deno.ts [--port 0]
 *
 * @module
 */

import { serveDeno } from "./_deno_server.ts";

async function echo(conn: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(16384);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    let off = 0;
    while (off < n) off += await conn.write(buf.subarray(off, n));
  }
}

if (import.meta.main) await serveDeno(echo);
