/**
 * The chat example as a person uses it: started as a child process, two
 * clients connect with Deno.connect, a line from one reaches the other,
 * and SIGTERM stops it with exit code 0.
 *
 * @module
 */

import { NET_BACKENDS } from "./net_helpers.ts";
import assert from "node:assert/strict";
import { startDaemon } from "./net_helpers.ts";

const CHAT = new URL("../examples/chat.ts", import.meta.url).pathname;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Collect everything `conn` receives into `box.text` until it closes. */
async function pump(conn: Deno.Conn, box: { text: string }): Promise<void> {
  const buf = new Uint8Array(4096);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return;
      box.text += dec.decode(buf.subarray(0, n));
    }
  } catch { /* closed by the test */ }
}

for (const backend of NET_BACKENDS) {
  Deno.test(`chat example: a line from one client reaches the other, SIGTERM exits 0 [${backend}]`, async () => {
    const d = await startDaemon(CHAT, backend, [], { listening: /chat on 127\.0\.0\.1:(\d+)/ });
    const port = d.port;
    const a = await Deno.connect({ hostname: "127.0.0.1", port });
    const b = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      // b must be subscribed before a speaks; the server joins clients as
      // it accepts them, so say the line until b hears it (bounded).
      const heard = { text: "" };
      const reading = pump(b, heard);
      for (let attempt = 0; attempt < 40 && !heard.text.includes("hello from a"); attempt++) {
        await a.write(enc.encode("hello from a\n"));
        await new Promise((r) => setTimeout(r, 125));
      }
      const got = heard.text;
      assert.match(got, /hello from a/);
      b.close();
      await reading;
    } finally {
      a.close();
      try {
        b.close();
      } catch { /* closed above */ }
    }
    d.child.kill("SIGTERM");
    const status = await d.done;
    await d.lines;
    assert.equal(status.code, 0, d.out.join("\n"));
  });
}
