// The native monotonic clock (ffi/native_clock.ts): loaded when --allow-ffi is
// granted and a library is built, ticking at performance.now()'s rate, and
// never used without the permission or when DOKIO_CLOCK=performance.

import assert from "node:assert/strict";
import { nativeClockLoaded, nativeClockSource } from "../ffi/native_clock.ts";
import { run, sleep } from "../mod.ts";
import { now } from "../time/sleep.ts";

const MODULE = new URL("../ffi/native_clock.ts", import.meta.url).href;

Deno.test("native clock: loads under -A with a built library and never goes back", () => {
  const f = nativeClockSource();
  assert.ok(f !== null, "the test task builds the library first, so the clock must load");
  assert.ok(nativeClockLoaded());
  let prev = f();
  for (let i = 0; i < 10_000; i++) {
    const t = f();
    assert.ok(t >= prev, `clock went back: ${prev} -> ${t}`);
    prev = t;
  }
});

Deno.test("native clock: ticks at performance.now()'s rate", async () => {
  const f = nativeClockSource()!;
  const a0 = f();
  const p0 = performance.now();
  await new Promise((r) => setTimeout(r, 50));
  const da = f() - a0;
  const dp = performance.now() - p0;
  assert.ok(da >= 45, `native clock advanced only ${da} ms over a 50 ms wait`);
  assert.ok(Math.abs(da - dp) < 5, `native ${da} ms vs performance.now ${dp} ms`);
});

Deno.test("native clock: a runtime's timers on it fire on time, never early", async () => {
  await run(function* () {
    const t0 = now();
    const p0 = performance.now();
    yield* sleep(20);
    assert.ok(now() - t0 >= 20);
    assert.ok(performance.now() - p0 >= 19.9, "a 20 ms sleep ended early by performance.now()");
  });
});

async function probeIn(args: string[], env: Record<string, string> = {}): Promise<string> {
  const code = `import { nativeClockSource } from ${JSON.stringify(MODULE)};
    console.log(nativeClockSource() === null ? "none" : "native");`;
  // `deno eval` grants everything: run the probe as a data: module instead.
  const url = `data:application/typescript;base64,${btoa(code)}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...args, url],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("native clock: not used without --allow-ffi, nor with DOKIO_CLOCK=performance", async () => {
  assert.equal(await probeIn(["--allow-read", "--allow-env"]), "none");
  assert.equal(await probeIn(["-A"], { DOKIO_CLOCK: "performance" }), "none");
  assert.equal(await probeIn(["-A"]), "native");
});
