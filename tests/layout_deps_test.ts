/**
 * The dependency rule of docs/ARCHITECTURE.md, checked on the code: arrows
 * only point down (user API → runtime → ffi → C). Every static import and
 * re-export of every module under `runtime/` and `ffi/` is resolved and must
 * land in its own layer or below; doc examples (in comments) are not imports.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const USER_API = ["net", "fs", "io", "sync", "time", "examples", "bench", "tests", "console"];

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

// The console is a tool above everything: it reads the daemon's stream, so of the library it may
// know only the wire contract's types (runtime/instrument/snapshot.ts), and imports them as types.
const CONTRACT = "runtime/instrument/snapshot.ts";

Deno.test("layout: console/ imports only its own files and, as types, the snapshot contract", () => {
  const bad: string[] = [];
  for (const file of modules(new URL("console/", ROOT))) {
    const src = Deno.readTextFileSync(file);
    const name = file.href.slice(ROOT.href.length);
    for (const spec of specifiers(src)) {
      const target = new URL(spec, file).href.slice(ROOT.href.length);
      if (topFolder(new URL(spec, file)) === "console") continue;
      if (target !== CONTRACT) bad.push(`${name} imports ${spec}`);
    }
    const code = src.replace(/\/\*[\s\S]*?\*\//g, "");
    for (
      const m of code.matchAll(/import\s+(type\s+)?[^;]*?from\s*["']([^"']+snapshot\.ts)["']/g)
    ) {
      if (!m[1]) bad.push(`${name} imports values from ${m[2]} (types only)`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("layout: the checker sees a planted upward import", () => {
  const src = 'import { x } from "../net/mod.ts";\n// import "../sync/mod.ts";\n';
  assert.deepEqual(specifiers(src), ["../net/mod.ts"]);
});
