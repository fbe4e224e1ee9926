/**
 * The bench servers' flag reader (bench/_util.ts `flagValue`, `portFlag`):
 * `--port N` and `--port=N` both work, a bad port is refused, and the
 * servers built on it listen where they are told either way.
 *
 * @module
 */

import assert from "node:assert/strict";
import { flagValue, portFlag } from "../bench/_util.ts";

Deno.test("bench flags: --name VALUE and --name=VALUE, the last one wins; a missing value throws", () => {
  assert.equal(flagValue(["--port", "7000"], "--port", "0"), "7000");
  assert.equal(flagValue(["--port=7000"], "--port", "0"), "7000");
  assert.equal(flagValue(["--to", "h:1", "--to=h:2"], "--to", ""), "h:2");
  assert.equal(flagValue(["--portable", "1", "--port-x=2"], "--port", "none"), "none");
  assert.equal(flagValue(["--to="], "--to", "x"), "");
  assert.throws(() => flagValue(["--port"], "--port", "0"), TypeError);
});

Deno.test("bench flags: portFlag takes 0..65535 in either form and refuses the rest", () => {
  assert.equal(portFlag([], 6379), 6379);
  assert.equal(portFlag(["--port", "0"], 6379), 0);
  assert.equal(portFlag(["--port=65535"], 0), 65535);
  for (const bad of ["65536", "-1", "1.5", "", "7e3", "0x10", "abc"]) {
    assert.throws(() => portFlag([`--port=${bad}`], 0), RangeError, bad);
  }
  assert.throws(() => portFlag(["--port"], 0), TypeError);
});

/** A port nothing listens on right now. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Start `script` with `args`, return the port its first line says it listens on; SIGTERM it. */
async function listensOn(script: string, args: string[]): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
    await child.status;
  }
  const m = /listening on 127\.0\.0\.1:(\d+)/.exec(text);
  assert.ok(m, `no "listening on" line: ${text}`);
  return Number(m[1]);
}

for (
  const script of [
    "../bench/echo_server_deno.ts",
    "../bench/redis_server_deno.ts",
    "../bench/io/line_echo_dokio.ts",
  ]
) {
  Deno.test(`bench server ${script.slice(9)} listens on --port=N and --port N`, async () => {
    const a = freePort();
    assert.equal(await listensOn(script, [`--port=${a}`]), a);
    const b = freePort();
    assert.equal(await listensOn(script, ["--port", String(b)]), b);
  });
}
