/**
 * The peer of the Unix echo bench: `Deno.listen({ transport: "unix" })` at `--path`, one async
 * echo loop per connection (16 KiB buffer). Prints `listening on unix:PATH:0`; exits on SIGTERM.
 *
 * @module
 */

import { parseFlags, parseOrExit, required } from "../examples/_flags.ts";

async function echo(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16384);
  try {
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
  const usage = "usage: unix_echo_server_deno.ts --path PATH";
  const path = parseOrExit(
    "unix_echo_server_deno",
    () => required(parseFlags(Deno.args, { path: "string" }, usage).path, "--path"),
  );
  const listener = Deno.listen({ transport: "unix", path });
  console.log(`listening on unix:${path}:0`);
  Deno.addSignalListener("SIGTERM", () => {
    listener.close();
    Deno.exit(0);
  });
  for await (const conn of listener) echo(conn);
}
