/**
 * The dependency rule of docs/ARCHITECTURE.md, checked on the code: arrows
 * only point down (user API → runtime → ffi → C). Every static import and
 * re-export of every module under `runtime/` and `ffi/` is resolved and must
 * land in its own layer or below; doc examples (in comments) are not imports. No two modules of
 * the library import each other's values, directly or round a longer cycle.
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

// No two modules of the library need each other's values: an import cycle makes load order
// matter (a value read before its module ran is undefined). Type-only imports vanish at run
// time and are left out; dynamic `import("./x.ts")` counts.

/** The relative specifiers `src` needs at run time: value imports, re-exports, `import()`. */
function valueSpecifiers(src: string): string[] {
  const code = src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  const re =
    /(?:^|\n)\s*(import|export)\s+(type\s+)?([^"';]*?)\s*from\s*["'](\.{1,2}\/[^"']+)["']/g;
  for (const m of code.matchAll(re)) {
    const names = m[3].trim();
    const list = names.startsWith("{") ? names.slice(1, -1).split(",").map((n) => n.trim()) : [];
    const typesOnly = m[2] !== undefined ||
      (list.length > 0 && list.every((n) => n === "" || n.startsWith("type ")));
    if (!typesOnly) out.push(m[4]);
  }
  for (const m of code.matchAll(/import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)) out.push(m[1]);
  return out;
}

/** Every cycle of value imports between the modules of `graph`, one path each. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (m: string) => {
    state.set(m, "open");
    path.push(m);
    for (const t of graph.get(m) ?? []) {
      if (state.get(t) === "open") found.push([...path.slice(path.indexOf(t)), t]);
      else if (!state.has(t) && graph.has(t)) visit(t);
    }
    path.pop();
    state.set(m, "done");
  };
  for (const m of graph.keys()) if (!state.has(m)) visit(m);
  return found;
}

Deno.test("layout: no value import cycles in the library (type-only imports aside)", () => {
  const graph = new Map<string, string[]>();
  for (const room of ["runtime", "ffi", "net", "io", "fs", "sync", "time"]) {
    for (const file of modules(new URL(room + "/", ROOT))) {
      const name = file.href.slice(ROOT.href.length);
      const targets = valueSpecifiers(Deno.readTextFileSync(file))
        .map((s) => new URL(s, file).href.slice(ROOT.href.length));
      graph.set(name, targets);
    }
  }
  assert.ok(graph.size > 50, `read ${graph.size} modules`);
  assert.deepEqual(cycles(graph).map((c) => c.join(" → ")), []);
});

Deno.test("layout: the cycle checker sees a planted cycle and ignores type-only imports", () => {
  const a = 'import { b } from "./b.ts";\nimport type { C } from "./c.ts";\n';
  const b = 'const a = await import("./a.ts");\nimport { type C } from "./c.ts";\n';
  assert.deepEqual(valueSpecifiers(a), ["./b.ts"]);
  assert.deepEqual(valueSpecifiers(b), ["./a.ts"]);
  const graph = new Map([["a.ts", ["b.ts"]], ["b.ts", ["a.ts"]], ["c.ts", []]]);
  assert.deepEqual(cycles(graph), [["a.ts", "b.ts", "a.ts"]]);
});

// Type-only imports vanish at run time, but a cycle through them still ties the modules into one
// knot (deno doc, type checking and the reader have to take them together): a type two layers
// share lives in the lower one (runtime/operation_type.ts, runtime/task/task.ts's TaskOwner,
// ffi/prebuilt_types.ts).

/** The relative specifiers of every import, re-export and `import()` of `src`, types included. */
function allSpecifiers(src: string): string[] {
  const code = src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  // A statement's text stops at its `;`, so `new URL("./x.ts")` further down is no import.
  const re =
    /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\s*from\s*)?["'](\.{1,2}\/[^"']+)["']/g;
  for (const m of code.matchAll(re)) out.push(m[1]);
  for (const m of code.matchAll(/import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)) out.push(m[1]);
  return out;
}

Deno.test("layout: no import cycles in the library, type-only imports included", () => {
  const graph = new Map<string, string[]>();
  for (const room of ["runtime", "ffi", "net", "io", "fs", "sync", "time"]) {
    for (const file of modules(new URL(room + "/", ROOT))) {
      const name = file.href.slice(ROOT.href.length);
      const targets = allSpecifiers(Deno.readTextFileSync(file))
        .map((s) => new URL(s, file).href.slice(ROOT.href.length));
      graph.set(name, targets);
    }
  }
  assert.ok(graph.size > 50, `read ${graph.size} modules`);
  assert.deepEqual(cycles(graph).map((c) => c.join(" → ")), []);
  const src = 'import type { A } from "./a.ts";\nexport const u = 1;\nnew URL("./c.ts");\n' +
    'export { type B } from "./b.ts";\nawait import("./d.ts");\n';
  assert.deepEqual(allSpecifiers(src), ["./a.ts", "./b.ts", "./d.ts"]);
});
