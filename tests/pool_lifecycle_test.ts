/**
 * A pool program's life as a new user writes it: the one-file form (the
 * shared task and the program in one module, guarded by `import.meta.main`),
 * the same file without the guard (every pool worker re-runs the program: the
 * pool it tries to build there is refused with an error naming the guard,
 * instead of a pool per worker, recursively), and plain async code that never
 * calls `rt.shutdown()` (it must exit by itself once its work is done,
 * without losing work still running).
 *
 * @module
 */

import assert from "node:assert/strict";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

async function runChild(name: string, ms: number): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fixture(name)],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(ms),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test("pool: the one-file form guarded by import.meta.main works", async () => {
  const { code, text } = await runChild("pool_one_file.ts", 30_000);
  assert.equal(code, 0, text);
  assert.match(text, /square 144/);
});

Deno.test("pool: a pool built inside a pool worker is refused, naming import.meta.main", async () => {
  const t0 = Date.now();
  const { code, text } = await runChild("pool_unguarded.ts", 30_000);
  assert.equal(code, 0, text);
  assert.match(text, /failed: .*import\.meta\.main/);
  assert.ok(Date.now() - t0 < 25_000, `took ${Date.now() - t0} ms`);
});

Deno.test("pool: a program that never calls shutdown exits once its work is done", async () => {
  const t0 = Date.now();
  const { code, text } = await runChild("pool_no_shutdown.ts", 20_000);
  assert.equal(code, 0, text);
  assert.match(text, /blocking 9/);
  assert.match(text, /main done/);
  assert.match(text, /late 7/, "the shared task still running at the end was not lost");
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
});
