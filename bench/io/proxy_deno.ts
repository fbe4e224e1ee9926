/**
 * TCP proxy on Deno's own API, the peer of bench/io_bench.ts: per client a
 * `Deno.connect` upstream and `readable.pipeTo(writable)` both ways.
 * Prints `listening on 127.0.0.1:PORT`; exits on SIGTERM.
 *
 * usage: deno run -A bench/io/proxy_deno.ts --port 0 --to 127.0.0.1:7000
 *
 * @module
 */

import { flagValue, portFlag } from "../_util.ts";

async function relay(client: Deno.TcpConn, host: string, port: number): Promise<void> {
  try {
    const up = await Deno.connect({ hostname: host, port });
    client.setNoDelay(true);
    up.setNoDelay(true);
    await Promise.all([
      client.readable.pipeTo(up.writable),
      up.readable.pipeTo(client.writable),
    ]);
  } catch {
    // reset or refused
  }
}

if (import.meta.main) {
  const to = flagValue(Deno.args, "--to", "127.0.0.1:7000");
  const colon = to.lastIndexOf(":");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: portFlag(Deno.args, 0) });
  console.log(`listening on 127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  Deno.addSignalListener("SIGTERM", () => {
    listener.close();
    Deno.exit(0);
  });
  for await (const conn of listener) relay(conn, to.slice(0, colon), Number(to.slice(colon + 1)));
}
