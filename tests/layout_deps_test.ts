/**
 * The dependency rule of docs/ARCHITECTURE.md, checked on the code: arrows
 * only point down (user API → runtime → ffi → C). Every static import and
 * re-export of every module under `runtime/` and `ffi/` is resolved and must
 * land in its own layer or below; doc examples (in comments) are not imports.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const USER_API = ["net", "fs", "io", "sync", "time", "examples", "bench", "tests"];

function* modules(dir: URL): Generator<URL> {
  for (const e of Deno.readDirSync(dir)) {
    const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* modules(u);
    else if (e.name.endsWith(".ts")) yield u;
  }
}

/** The relative specifiers of `src`'s import/export statements (comments removed). */
function specifiers(src: string): string[] {
  const code = src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\b[^"']*?(?:from\s*)?["'](\.{1,2}\/[^"']+)["']/g;
  for (const m of code.matchAll(re)) out.push(m[1]);
  return out;
}

function topFolder(u: URL): string {
  return u.href.slice(ROOT.href.length).split("/")[0];
}

function violations(layer: string, forbidden: string[]): string[] {
  const bad: string[] = [];
  for (const file of modules(new URL(layer + "/", ROOT))) {
    for (const spec of specifiers(Deno.readTextFileSync(file))) {
      const target = new URL(spec, file);
      if (forbidden.includes(topFolder(target))) {
        bad.push(`${file.href.slice(ROOT.href.length)} imports ${spec}`);
      }
    }
  }
  return bad;
}

Deno.test("layout: runtime/ imports nothing from the user-API folders", () => {
  assert.deepEqual(violations("runtime", USER_API), []);
});

Deno.test("layout: ffi/ imports nothing from runtime/ or the user-API folders", () => {
  assert.deepEqual(violations("ffi", ["runtime", ...USER_API]), []);
});

Deno.test("layout: the checker sees a planted upward import", () => {
  const src = 'import { x } from "../net/mod.ts";\n// import "../sync/mod.ts";\n';
  assert.deepEqual(specifiers(src), ["../net/mod.ts"]);
});
