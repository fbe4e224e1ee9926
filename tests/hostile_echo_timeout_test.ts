/**
 * The echo example's write timeout (examples/echo_handler.ts): a client that
 * writes and never reads its echoes is back-pressured, and once one echo write
 * has made no progress for the timeout its connection is closed (as mini-redis
 * drops such a client at `--write-timeout-ms`), while a well-behaved client is
 * still served. In process (the single-thread path and the pool workers'
 * handler) and as the daemon with `--write-timeout-ms`, on io_uring and epoll.
 *
 * @module
 */

import assert from "node:assert/strict";
import { call, run, Runtime, serve, spawn, TcpListener } from "../mod.ts";
import { echo, ECHO_WRITE_TIMEOUT_ENV } from "../examples/echo_handler.ts";
import { echoOnce, startDaemon } from "./net_helpers.ts";
import { BACKENDS } from "./redis_helpers.ts";
import { fdCount, flood, waitUntil } from "./hostile_helpers.ts";

const ECHO = new URL("../examples/echo.ts", import.meta.url).pathname;
const HANDLERS = new URL("../examples/echo_handler.ts", import.meta.url).href;
/** The write timeout the tests run with, ms (short: the drop is what is tested, not its time). */
const TIMEOUT_MS = 300;
/** How long the hostile client may take to be dropped (generous: a loaded machine), ms. */
const WITHIN_MS = 20_000;
/** What the hostile client writes each time. */
const CHUNK = new Uint8Array(64 * 1024);

/** Flood `port` without reading until the peer drops us (or WITHIN_MS passes). */
async function hostile(port: number): Promise<{ dropped: boolean; written: number }> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    return await flood(c, CHUNK, 1000, WITHIN_MS, false);
  } finally {
    try {
      c.close();
    } catch {
      // already closed
    }
  }
}

async function served(port: number): Promise<void> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await echoOnce(c, "still served\n");
  } finally {
    c.close();
  }
}

Deno.test("echo: a client that never reads is closed after the write timeout; others are served", async () => {
  let port = 0;
  let ready!: () => void;
  const listening = new Promise<void>((r) => (ready = r));
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const server = run(function* () {
    using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
    port = listener.localAddr.port;
    ready();
    const accepting = spawn(function* () {
      for (;;) spawn(echo(yield* listener.accept(), TIMEOUT_MS));
    });
    yield* call(stopped);
    accepting.abort();
  });
  await listening;
  const [h] = await Promise.all([hostile(port), served(port)]);
  assert.ok(h.dropped, `not dropped after writing ${h.written} bytes in ${WITHIN_MS} ms`);
  await served(port);
  stop();
  await server;
});

Deno.test("echo: the pool workers' handler takes its write timeout from the environment", async () => {
  Deno.env.set(ECHO_WRITE_TIMEOUT_ENV, String(TIMEOUT_MS));
  const rt = new Runtime({ poolSize: 2 });
  try {
    const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, HANDLERS, "echo");
    const h = await hostile(srv.localAddr.port);
    assert.ok(h.dropped, `not dropped after writing ${h.written} bytes in ${WITHIN_MS} ms`);
    await served(srv.localAddr.port);
    await srv.close({ drainMs: 0 });
  } finally {
    await rt.shutdown();
    Deno.env.delete(ECHO_WRITE_TIMEOUT_ENV);
  }
});

Deno.test("echo: a bad write timeout is refused at the call", () => {
  const conn = null as unknown as Parameters<typeof echo>[0];
  assert.throws(() => echo(conn, -1), RangeError);
  assert.throws(() => echo(conn, 1.5), RangeError);
});

for (const backend of BACKENDS) {
  Deno.test(`echo daemon --write-timeout-ms drops a client that never reads; fds back to baseline [${backend}]`, async () => {
    const d = await startDaemon(ECHO, backend, ["--write-timeout-ms", String(TIMEOUT_MS)]);
    const pid = d.child.pid;
    try {
      await served(d.port);
      const base = fdCount(pid);
      const h = await hostile(d.port);
      assert.ok(h.dropped, `not dropped after writing ${h.written} bytes in ${WITHIN_MS} ms`);
      await served(d.port);
      assert.ok(
        await waitUntil(() => fdCount(pid) <= base, WITHIN_MS),
        `fds: ${fdCount(pid)} > ${base}`,
      );
    } finally {
      d.child.kill("SIGTERM");
    }
    const st = await d.done;
    await d.lines;
    assert.equal(st.code, 0, d.out.join("\n"));
  });
}

Deno.test("echo daemon: --write-timeout-ms out of range is a usage error (exit 2)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ECHO, "--port", "0", "--write-timeout-ms", "-5"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2, new TextDecoder().decode(out.stderr));
  assert.match(new TextDecoder().decode(out.stderr), /--write-timeout-ms/);
});
