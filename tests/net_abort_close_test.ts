/**
 * Cancellation closes what a task declared with `using`: an aborted echo
 * task, blocked in a read, closes its connection (the peer sees end of
 * stream), and so does one whose runtime shuts down. This is the form the
 * README's TCP example uses; Dokio itself does not close what a cancelled
 * task opened (see the README for why). On both backends.
 *
 * @module
 */

import assert from "node:assert/strict";
import { run, sleep, spawn, TcpListener, TcpStream } from "../mod.ts";

const BACKENDS = ["epoll", "io_uring"] as const;
type B = typeof BACKENDS[number];

function t(name: string, fn: (b: B) => Promise<void>): void {
  for (const b of BACKENDS) Deno.test(`${name} [${b}]`, () => fn(b));
}

function* echo(conn: TcpStream) {
  using c = conn;
  const buf = new Uint8Array(1024);
  let n;
  while ((n = yield* c.read(buf)) !== null) yield* c.writeAll(buf.subarray(0, n));
}

t("an aborted task closes the connection it holds with `using`", async (backend) => {
  await run(function* () {
    using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
    using client = yield* TcpStream.connect({
      hostname: "127.0.0.1",
      port: listener.localAddr.port,
    });
    const server = spawn(echo(yield* listener.accept()));
    yield* client.writeAll(new Uint8Array([7]));
    const one = new Uint8Array(1);
    yield* client.readExact(one); // the echo task is running, blocked in its next read
    server.abort();
    assert.equal(yield* client.read(new Uint8Array(8)), null, "the peer saw end of stream");
  }, { backend });
});

t("run() ending cancels an echo task, and its `using` closes the connection", async (backend) => {
  let port = 0;
  const listening = Promise.withResolvers<void>();
  // The client is Deno's own, so it does not run on the runtime under test.
  const eof = (async () => {
    await listening.promise;
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      return await c.read(new Uint8Array(8));
    } finally {
      c.close();
    }
  })();
  await run(function* () {
    using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
    port = listener.localAddr.port;
    listening.resolve();
    spawn(echo(yield* listener.accept()));
    yield* sleep(20); // the echo task waits in its read when main returns
  }, { backend });
  assert.equal(await eof, null);
});
