/**
 * The proxy example as a person uses it: the echo daemon and the proxy
 * started as child processes, a client talks to the echo daemon through
 * the proxy, half-closes, and still reads the echo to the end; SIGTERM
 * stops the proxy with exit code 0.
 *
 * @module
 */

import assert from "node:assert/strict";
import { echoOnce, startDaemon } from "./net_helpers.ts";
import { run, UnixStream } from "../mod.ts";

const ECHO = new URL("../examples/echo.ts", import.meta.url).pathname;
const PROXY = new URL("../examples/proxy.ts", import.meta.url).pathname;

for (const backend of ["io_uring", "epoll"]) {
  Deno.test(`proxy example: echo through the proxy, half-close passes through [${backend}]`, async () => {
    const echo = await startDaemon(ECHO, backend, ["--drain-ms", "0"]);
    const proxy = await startDaemon(PROXY, backend, ["--to", `127.0.0.1:${echo.port}`]);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
      try {
        await echoOnce(conn, "hello through the proxy\n");
        // Send a big block, half-close, and read the whole echo back.
        const big = new Uint8Array(300_000).map((_, i) => i & 0xff);
        const reading = (async () => {
          const got = new Uint8Array(big.length + 1);
          let off = 0;
          for (;;) {
            const n = await conn.read(got.subarray(Math.min(off, big.length)));
            if (n === null) return { got: got.subarray(0, big.length), off };
            off += n;
          }
        })();
        let w = 0;
        while (w < big.length) w += await conn.write(big.subarray(w));
        await conn.closeWrite();
        const { got, off } = await reading;
        assert.equal(off, big.length);
        assert.deepEqual(got, big);
      } finally {
        conn.close();
      }
    } finally {
      proxy.child.kill("SIGTERM");
      echo.child.kill("SIGTERM");
      assert.equal((await proxy.done).code, 0, proxy.out.join("\n"));
      await echo.done;
      await Promise.all([proxy.lines, echo.lines]);
    }
  });
}

for (const backend of ["io_uring", "epoll"]) {
  Deno.test(`proxy example: Unix → TCP with --unix [${backend}]`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "dk_proxy_" });
    const path = `${dir}/proxy.sock`;
    const echo = await startDaemon(ECHO, backend, ["--drain-ms", "0"]);
    const proxy = await startDaemon(
      PROXY,
      backend,
      ["--unix", path, "--to", `localhost:${echo.port}`],
      { listening: /listening on unix:(.*)$/ },
    ).catch((e) => {
      echo.child.kill("SIGTERM");
      throw e;
    });
    try {
      const reply = await run(function* () {
        using c = yield* UnixStream.connect({ path });
        yield* c.writeAll(new TextEncoder().encode("via unix\n"));
        yield* c.shutdown();
        const buf = new Uint8Array(64);
        let off = 0;
        for (let n; (n = yield* c.read(buf.subarray(off))) !== null;) off += n;
        return new TextDecoder().decode(buf.subarray(0, off));
      }, { backend: backend as "epoll" | "io_uring" });
      assert.equal(reply, "via unix\n");
    } finally {
      proxy.child.kill("SIGTERM");
      echo.child.kill("SIGTERM");
      assert.equal((await proxy.done).code, 0, proxy.out.join("\n"));
      await echo.done;
      await Promise.all([proxy.lines, echo.lines]);
      await Deno.remove(dir, { recursive: true });
    }
  });
}
