/**
 * `--console` on the example daemons: echo and mini-redis, started with
 * `--console --console-addr 127.0.0.1:0`, print where the console is served;
 * with clients connected, `/metrics` is valid exposition text that counts
 * their connection tasks and the reactor operations in flight, and the
 * `/console` stream shows the tasks and what they wait on. Both backends
 * with a reactor (io_uring, epoll).
 */

import assert from "node:assert/strict";
import type { ConsoleSnapshot } from "../mod.ts";
import { echoOnce, NET_BACKENDS, startDaemon } from "./net_helpers.ts";
import { parseExposition, value } from "./instrument_helpers.ts";

const ECHO = new URL("../examples/echo.ts", import.meta.url).pathname;
const REDIS = new URL("../examples/mini_redis/server.ts", import.meta.url).pathname;
const CONSOLE_LINE = /^console: deno task console (\S+) {3}\(metrics: (http:\S+)\/metrics\)$/;

function consoleUrl(out: string[]): string {
  for (const line of out) {
    const m = CONSOLE_LINE.exec(line);
    if (m) return m[2];
  }
  throw new Error(`no console line in:\n${out.join("\n")}`);
}

/** Run `check` until it passes (up to 100 tries, 50 ms apart); its last failure otherwise. */
async function eventually(check: () => Promise<void>): Promise<void> {
  for (let i = 0;; i++) {
    try {
      return await check();
    } catch (e) {
      if (i >= 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function firstSnapshot(url: string): Promise<ConsoleSnapshot> {
  const res = await fetch(`${url}/console?interval=100`);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!buf.includes("\n")) {
    const r = await reader.read();
    if (r.done) break;
    buf += r.value;
  }
  await reader.cancel();
  return JSON.parse(buf.slice(0, buf.indexOf("\n")));
}

for (const backend of NET_BACKENDS.filter((b) => b !== "deno")) {
  Deno.test(`echo --console: its tasks and I/O in /metrics and /console [${backend}]`, async () => {
    const d = await startDaemon(ECHO, backend, ["--console", "--console-addr", "127.0.0.1:0"]);
    const url = consoleUrl(d.out);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/); // loopback
    const conns = await Promise.all(
      [1, 2, 3].map(() => Deno.connect({ hostname: "127.0.0.1", port: d.port })),
    );
    try {
      for (const c of conns) await echoOnce(c, "ping\n");
      // The server re-arms each read just after its write: ask until it has.
      await eventually(async () => {
        const fams = parseExposition(await (await fetch(`${url}/metrics`)).text());
        assert.equal(value(fams, "dokio_task_alive", { name: "echo" }), 3);
        assert.equal(value(fams, "dokio_io_in_flight", { worker: "0", kind: "recv" }), 3);
        assert.equal(value(fams, "dokio_io_in_flight", { worker: "0", kind: "accept" }), 1);
        assert.equal(value(fams, "dokio_instrumented", {}), 1);
      });
      await eventually(async () => {
        const snap = await firstSnapshot(url);
        const echoes = snap.tasks.filter((t) => t.name === "echo" && t.state === "idle");
        assert.equal(echoes.length, 3);
        for (const t of echoes) {
          assert.equal(t.waitingOn, "recv");
          assert.match(t.spawnSite ?? "", /examples\/echo\.ts:\d+:\d+$/);
        }
        assert.ok(snap.tasks.some((t) => t.waitingOn === "accept"));
      });
    } finally {
      for (const c of conns) c.close();
      d.child.kill("SIGTERM");
      assert.equal((await d.done).code, 0);
      await d.lines;
    }
  });
}

Deno.test("mini-redis --console: serves the console beside the redis port", async () => {
  const d = await startDaemon(REDIS, "epoll", ["--console", "--console-addr", "127.0.0.1:0"]);
  const url = consoleUrl(d.out);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: d.port });
  try {
    await echoOnceRedis(conn);
    await eventually(async () => {
      const fams = parseExposition(await (await fetch(`${url}/metrics`)).text());
      assert.ok(value(fams, "dokio_tasks_active", {}) >= 2);
      const snap = await firstSnapshot(url);
      assert.ok(snap.tasks.some((t) => t.waitingOn === "accept"));
    });
  } finally {
    conn.close();
    d.child.kill("SIGTERM");
    await d.done;
    await d.lines;
  }
});

async function echoOnceRedis(conn: Deno.Conn): Promise<void> {
  await conn.write(new TextEncoder().encode("PING\r\n"));
  const buf = new Uint8Array(64);
  const n = await conn.read(buf);
  assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "+PONG\r\n");
}

Deno.test("echo --console-addr that is not host:port: one line, exit 2", async () => {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ECHO, "--console-addr", "nowhere"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(o.code, 2);
  assert.match(new TextDecoder().decode(o.stderr), /--console-addr takes host:port/);
});
