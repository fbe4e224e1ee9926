/**
 * The public API's documentation keeps its promises: every function and
 * method exported from mod.ts names each parameter (`@param`) and, unless it
 * returns nothing, what it returns (`@returns`); no doc example checks itself
 * with console's `assert` (it passes whatever it computes); every example left
 * `ts ignore` says why next to its fence (`// Not run: …`).
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const ROOMS = ["mod.ts", "README.md", "runtime", "time", "sync", "net", "io", "fs", "ffi"];

interface Param {
  kind: string;
  name?: string;
  arg?: Param;
  left?: Param;
}

interface TsType {
  kind?: string;
  repr?: string;
}

interface Tag {
  kind: string;
  name?: string;
}

interface Doc {
  tags?: Tag[];
}

interface Fn {
  name: string;
  doc: Doc | undefined;
  params: Param[];
  returns: TsType | undefined;
  where: string;
}

// Return types that give the caller nothing, so need no @returns.
const NOTHING = new Set(["void", "Promise<void>", "never"]);

function paramName(p: Param): string {
  if (p.kind === "rest" && p.arg) return paramName(p.arg);
  if (p.kind === "assign" && p.left) return paramName(p.left);
  return p.name ?? "?";
}

// deno doc --json mod.ts: the exported functions, class methods and
// constructors, interface methods, and namespace members, each with its doc.
// deno-lint-ignore no-explicit-any
function collect(symbol: any, prefix: string, out: Fn[]): void {
  for (const d of symbol.declarations ?? []) {
    const name = prefix + symbol.name;
    const where = `${d.location?.filename?.replace(ROOT.href, "")}:${(d.location?.line ?? 0) + 1}`;
    if (d.kind === "function") {
      out.push({ name, doc: d.jsDoc, params: d.def.params, returns: d.def.returnType, where });
    } else if (d.kind === "class") {
      for (const c of d.def.constructors ?? []) {
        if (c.accessibility === "private" || c.accessibility === "protected") continue;
        if (c.params.length > 0) {
          out.push({
            name: `${name}.constructor`,
            doc: c.jsDoc,
            params: c.params,
            returns: undefined,
            where,
          });
        }
      }
      // deno-lint-ignore no-explicit-any
      const methods: any[] = d.def.methods ?? [];
      const count = (n: string) => methods.filter((m) => m.name === n).length;
      for (const m of methods) {
        if (m.accessibility === "private" || m.kind === "getter" || m.kind === "setter") continue;
        if (count(m.name) > 1 && !m.jsDoc) continue; // an overload's implementation signature
        out.push({
          name: `${name}.${m.name}`,
          doc: m.jsDoc,
          params: m.functionDef.params,
          returns: m.functionDef.returnType,
          where,
        });
      }
    } else if (d.kind === "interface") {
      for (const m of d.def.methods ?? []) {
        out.push({
          name: `${name}.${m.name}`,
          doc: m.jsDoc,
          params: m.params,
          returns: m.returnType,
          where,
        });
      }
    } else if (d.kind === "namespace") {
      for (const e of d.def.elements ?? []) collect(e, `${name}.`, out);
    }
  }
}

function returnsSomething(t: TsType | undefined): boolean {
  if (t === undefined) return false;
  if (t.kind === "tuple" || t.kind === "union" || t.kind === "intersection") return true;
  return !NOTHING.has(t.repr ?? "") && (t.repr ?? "") !== "";
}

async function publicApi(): Promise<Fn[]> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "mod.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await cmd.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const json = JSON.parse(new TextDecoder().decode(stdout));
  const nodes = json.nodes[new URL("mod.ts", ROOT).href];
  const out: Fn[] = [];
  for (const s of nodes.symbols) collect(s, "", out);
  return out;
}

async function* sources(path: string): AsyncGenerator<string> {
  const url = new URL(path, ROOT);
  const info = await Deno.stat(url);
  if (info.isFile) {
    yield path;
    return;
  }
  for await (const e of Deno.readDir(url)) {
    const child = `${path}/${e.name}`;
    if (e.isDirectory) yield* sources(child);
    else if (e.name.endsWith(".ts") || e.name.endsWith(".md")) yield child;
  }
}

Deno.test("docs: every public function and method has @param for each parameter and @returns", async () => {
  const api = await publicApi();
  assert.ok(api.length > 100, `only ${api.length} functions found: is deno doc's JSON shape new?`);
  const missing: string[] = [];
  for (const f of api) {
    const tags = f.doc?.tags ?? [];
    const named = new Set(tags.filter((t) => t.kind === "param").map((t) => t.name));
    const lacks = f.params.map(paramName).filter((p) => !named.has(p)).map((p) => `@param ${p}`);
    if (returnsSomething(f.returns) && !tags.some((t) => t.kind === "return")) {
      lacks.push("@returns");
    }
    if (lacks.length > 0) missing.push(`${f.where} ${f.name}: ${lacks.join(", ")}`);
  }
  assert.deepEqual(missing, [], `undocumented:\n${missing.join("\n")}`);
});

Deno.test("docs: no example checks itself with console's assert; every ts ignore says why", async () => {
  const bad: string[] = [];
  for (const room of ROOMS) {
    for await (const path of sources(room)) {
      const lines = (await Deno.readTextFile(new URL(path, ROOT))).split("\n");
      lines.forEach((line, i) => {
        const code = line.replace(/^\s*\*?\s?/, "");
        if (/^\s*console\.assert\(/.test(code)) bad.push(`${path}:${i + 1} console assert`);
        if (/```ts ignore\s*$/.test(line) && !/\/\/ Not run\b/.test(lines[i + 1] ?? "")) {
          bad.push(`${path}:${i + 1} ts ignore without a "// Not run: …" reason`);
        }
      });
    }
  }
  assert.deepEqual(bad, [], bad.join("\n"));
});
