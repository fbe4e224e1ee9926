/**
 * The chat example as a person uses it: started as a child process, two
 * clients connect with Deno.connect, a line from one reaches the other,
 * and SIGTERM stops it with exit code 0.
 *
 * @module
 */

import assert from "node:assert/strict";

const CHAT = new URL("../examples/chat.ts", import.meta.url).pathname;
const enc = new TextEncoder();
const dec = new TextDecoder();

async function readUntil(conn: Deno.Conn, needle: string, ms: number): Promise<string> {
  let acc = "";
  const buf = new Uint8Array(4096);
  const deadline = Date.now() + ms;
  while (!acc.includes(needle)) {
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(`did not see ${JSON.stringify(needle)} in ${JSON.stringify(acc)}`);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(buf),
      new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), left))),
    ]).finally(() => clearTimeout(timer));
    if (n === "timeout") continue;
    if (n === null) throw new Error(`connection closed before ${JSON.stringify(needle)}: ${acc}`);
    acc += dec.decode(buf.subarray(0, n));
  }
  return acc;
}

for (const backend of ["io_uring", "epoll"]) {
  Deno.test(`chat example: a line from one client reaches the other, SIGTERM exits 0 [${backend}]`, async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CHAT, "--port", "0"],
      env: { DOKIO_BACKEND: backend },
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    let out = "";
    let port = 0;
    const start = Date.now();
    while (port === 0) {
      assert.ok(Date.now() - start < 30_000, `chat did not start: ${out}`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`chat exited early: ${out}`);
      out += dec.decode(value);
      const m = /127\.0\.0\.1:(\d+)/.exec(out);
      if (m) port = Number(m[1]);
    }
    const a = await Deno.connect({ hostname: "127.0.0.1", port });
    const b = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      // b must be subscribed before a speaks; the server joins clients as
      // it accepts them, so say the line until b hears it (bounded).
      let got = "";
      for (let attempt = 0; attempt < 20 && got === ""; attempt++) {
        await a.write(enc.encode("hello from a\n"));
        try {
          got = await readUntil(b, "hello from a", 250);
        } catch { /* not yet subscribed: say it again */ }
      }
      assert.match(got, /hello from a/);
    } finally {
      a.close();
      b.close();
    }
    child.kill("SIGTERM");
    // Drain stdout so the child can exit, then check its status.
    (async () => {
      try {
        for (;;) {
          const { done } = await reader.read();
          if (done) break;
        }
      } catch { /* closed */ }
    })();
    const status = await child.status;
    assert.equal(status.code, 0);
  });
}
