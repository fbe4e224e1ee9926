/**
 * The public surface as `deno doc` shows it: a parameter with a default must
 * be declared optional (`n?: number`, then `n ??= 1` in the body), because
 * `deno doc` prints `n = 1` as `n: number` and the argument looks required
 * (`acquire(n: number)`, `shutdown(timeoutMs: number)`).
 *
 * @module
 */

import assert from "node:assert/strict";

/** Every path in `node` to a parameter written with a default (`kind: "assign"`). */
function defaults(node: unknown, path: string, out: string[]): void {
  if (Array.isArray(node)) {
    node.forEach((v, i) => defaults(v, `${path}[${i}]`, out));
  } else if (node !== null && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if (o.kind === "assign") out.push(path);
    for (const [k, v] of Object.entries(o)) {
      defaults(v, k === "name" && typeof v === "string" ? `${path}.${v}` : `${path}.${k}`, out);
    }
  }
}

Deno.test("api: no public parameter with a default shows as required in deno doc", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", new URL("../mod.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  const found: string[] = [];
  for (const file of Object.values(doc.nodes ?? doc) as { symbols?: unknown[] }[]) {
    for (const sym of file.symbols ?? []) {
      defaults(sym, (sym as { name: string }).name, found);
    }
  }
  assert.deepEqual(found, [], "make these parameters optional (`?`) and apply the default inside");
});
