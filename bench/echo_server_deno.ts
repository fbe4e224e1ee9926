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

async function echo(conn: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(16384);
  try {
    conn.setNoDelay(true);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
  } catch {
    // reset by the peer
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--port");
  const port = i >= 0 ? Number(Deno.args[i + 1]) : 0;
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  console.log(`listening on 127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  Deno.addSignalListener("SIGTERM", () => {
    listener.close();
    Deno.exit(0);
  });
  for await (const conn of listener) echo(conn);
}
