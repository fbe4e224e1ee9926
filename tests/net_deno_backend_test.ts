/**
 * The portable backend chosen automatically: with only network permission no native library
 * can be found, unpacked or built, so the runtime runs on Deno's sockets, says so in one line,
 * and a refused permission's error names the flag.
 *
 * @module
 */

import assert from "node:assert/strict";

Deno.test("no library at hand: auto falls back to the deno backend with a one-line notice", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      new URL("./fixtures/net_only_echo.ts", import.meta.url).href,
    ],
    // DOKIO_LIB emptied: a library named by the environment (the sanitizer run sets one) is
    // not "no library at hand".
    env: { NO_COLOR: "1", DOKIO_BACKEND: "auto", DOKIO_LIB: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, stderr);
  const r = JSON.parse(stdout.trim().split("\n").at(-1)!);
  assert.equal(r.backend, "deno");
  assert.equal(r.echoed, "hi");
  assert.match(r.refused, /--allow-net/);
  const notices = stderr.split("\n").filter((l) => l.includes("Deno-socket backend"));
  assert.equal(notices.length, 1, stderr);
});
