/**
 * Runs the reactor's C-level tests from `deno test`, and checks that the reactor
 * cross-compiles (kqueue backend included) for macOS with zig.
 *
 * Invariant: these tests fail when any C case fails, when the C sources warn, or when a
 * cross build fails; the cross-build test is ignored (with a reason) only where zig is absent,
 * the others only where no C compiler (or `nm`) is; never in CI (`tests/tool_helpers.ts`).
 *
 * @module
 */
import { match, ok, strictEqual } from "node:assert/strict";
import { compileCTests } from "./c/run_c_tests.ts";
import {
  buildLibrary,
  hostTarget,
  libraryFileName,
  REACTOR_SOURCES,
  sourceHash,
} from "../ffi/build.ts";
import { ignoreWithout, missingCompiler, missingPrograms } from "./tool_helpers.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");

async function hasZig(): Promise<boolean> {
  for (const cmd of [["zig", "version"], ["python3", "-m", "ziglang", "version"]]) {
    try {
      const r = await new Deno.Command(cmd[0], {
        args: cmd.slice(1),
        stdout: "null",
        stderr: "null",
      })
        .output();
      if (r.success) return true;
    } catch {
      // try the next one
    }
  }
  return false;
}

const zig = await hasZig();
const noCompiler = ignoreWithout("the C reactor tests", await missingCompiler());

async function runCTests(defines: string[]): Promise<void> {
  const exe = await compileCTests({ defines });
  try {
    const res = await new Deno.Command(exe, { stdout: "piped", stderr: "piped" }).output();
    const out = new TextDecoder().decode(res.stdout);
    const err = new TextDecoder().decode(res.stderr);
    if (!res.success) console.error(out + err);
    match(out, /\n(\d+) passed, 0 failed\n$/);
    strictEqual(res.code, 0);
  } finally {
    await Deno.remove(exe.replace(/\/[^/]*$/, ""), { recursive: true });
  }
}

Deno.test({
  name: "C reactor tests pass on every local backend",
  ignore: noCompiler,
  async fn() {
    await runCTests([]);
  },
});

Deno.test({
  name: "C reactor tests pass with io_uring's fallback for kernels without CANCEL_FD",
  ignore: Deno.build.os !== "linux" || noCompiler,
  async fn() {
    await runCTests(["DK_TEST_NO_CANCEL_FD"]);
  },
});

Deno.test({
  name: "reactor cross-compiles for x86_64-macos and aarch64-macos (kqueue) with zig",
  ignore: ignoreWithout("the macOS cross-build test", zig ? [] : ["zig (or python3 -m ziglang)"]),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "dokio_cross_" });
    try {
      for (const target of ["x86_64-macos", "aarch64-macos"]) {
        const lib = await buildLibrary({ target, outDir: `${dir}/${target}`, compiler: "zig" });
        strictEqual(lib, `${await Deno.realPath(dir)}/${target}/libdokio.dylib`);
        const head = (await Deno.readFile(lib)).subarray(0, 4);
        // Mach-O 64-bit magic, little-endian: cf fa ed fe
        strictEqual(Array.from(head).join(","), "207,250,237,254");
        strictEqual((await Deno.readTextFile(`${lib}.hash`)).trim(), await sourceHash());
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Names of the functions a shared library defines in its dynamic symbol table (`nm -D`). */
async function exportedFunctions(lib: string): Promise<string[]> {
  const res = await new Deno.Command("nm", {
    args: ["-D", "--defined-only", lib],
    stdout: "piped",
    stderr: "piped",
  }).output();
  strictEqual(res.code, 0, new TextDecoder().decode(res.stderr));
  return new TextDecoder().decode(res.stdout).split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 3 && /^[TtWi]$/.test(f[1]))
    .map((f) => f[2])
    .sort();
}

Deno.test({
  name: "the library exports exactly the dk_* functions dokio.h declares (hidden visibility)",
  ignore: Deno.build.os !== "linux" ||
    ignoreWithout("the exported-symbols test", [
      ...await missingCompiler(),
      ...missingPrograms(["nm"]),
    ]),
  async fn() {
    const header = await Deno.readTextFile(`${ROOT}/reactor_c/dokio.h`);
    const declared = [...header.matchAll(/^DK_API [^(]*?\b(dk_\w+)\(/gm)].map((m) => m[1]).sort();
    ok(declared.length >= 15, `found ${declared.length} DK_API declarations`);
    const dir = await Deno.makeTempDir({ prefix: "dokio_syms_" });
    try {
      const lib = await buildLibrary({ target: hostTarget(), outDir: dir });
      strictEqual(JSON.stringify(await exportedFunctions(lib)), JSON.stringify(declared));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("build helpers: target names, file names, hash, source list", async () => {
  match(hostTarget(), /^(x86_64|aarch64)-(linux|macos)$/);
  strictEqual(libraryFileName("x86_64-linux"), "libdokio.so");
  strictEqual(libraryFileName("aarch64-macos"), "libdokio.dylib");
  let threw = false;
  try {
    libraryFileName("sparc-plan9");
  } catch (e) {
    threw = e instanceof RangeError;
  }
  ok(threw);
  const h = await sourceHash();
  match(h, /^[0-9a-f]{16}$/);
  strictEqual(await sourceHash(), h);
  const local: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}/reactor_c`)) {
    if (e.isFile && /\.[ch]$/.test(e.name)) local.push(e.name);
  }
  strictEqual(JSON.stringify([...REACTOR_SOURCES].sort()), JSON.stringify(local.sort()));
});
