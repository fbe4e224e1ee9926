/**
 * Building the C reactor (`reactor_c/`) into a shared library.
 *
 * The compiler is found in this order: the command in `DOKIO_CC` (if set), `zig` on the PATH,
 * `python3 -m ziglang` (the `ziglang` pip package), then `cc`. Zig can cross-compile every
 * target in {@linkcode TARGETS}; `cc` builds the host target only. Every build uses the same
 * flags (`-std=c11 -O2 -g0 -s -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror`, plus
 * `-D_GNU_SOURCE` on Linux); the library exports only the `dk_*` ABI that `dokio.h` marks `DK_API`.
 * `-g0` and `-s` keep paths out of the library (ours and those in the toolchain's own objects),
 * so zig's output is byte-identical wherever the sources, zig and its cache live (the shipped
 * libraries in `ffi/prebuilt/` are checked that way).
 *
 * Invariant: a library is never overwritten in place. The compiler writes a temporary file in
 * the output directory which is then renamed over the old name, so a process that has the old
 * library loaded keeps its (now unlinked) inode. Beside the library, `<lib>.hash` records the
 * {@linkcode sourceHash} it was built from; `ffi/library.ts` uses it to tell a fresh build from a
 * stale one.
 *
 * The sources are found next to this module (`../reactor_c/`). When this module is loaded from a
 * remote URL (e.g. `jsr:`), the sources are fetched and copied into a cache directory first.
 *
 * @example
 * ```ts
 * import { buildLibrary, findCompiler, hostTarget } from "./build.ts";
 * import { libraryFileName } from "./target.ts";
 * import assert from "node:assert/strict";
 * if (await findCompiler() !== null) { // a machine with only Deno has none
 *   const lib = await buildLibrary({ target: hostTarget() });
 *   assert.ok(lib.endsWith(libraryFileName(hostTarget())));
 * }
 * ```
 *
 * @module
 */

import { cacheDir, readEnv } from "./env.ts";
import { hostTarget, libraryFileName, parseTarget, TARGETS } from "./target.ts";

export { hostTarget, libraryFileName, TARGETS };

/**
 * A C compiler command: `kind` tells whether it can cross-compile (`zig`) or not (`cc`).
 *
 * @example
 * ```ts
 * import type { Compiler } from "./build.ts";
 * import assert from "node:assert/strict";
 *
 * // What `DOKIO_CC="gcc"` selects: a host-only compiler; its argv prefix starts every compile.
 * const gcc: Compiler = { kind: "cc", cmd: ["gcc"] };
 * assert.deepEqual([...gcc.cmd, "-c", "common.c"], ["gcc", "-c", "common.c"]);
 * ```
 */
export interface Compiler {
  /** `"zig"` for `zig cc` (any target), `"cc"` for the system compiler (host only). */
  kind: "zig" | "cc";
  /** The argv prefix that compiles C, e.g. `["zig", "cc"]` or `["cc"]`. */
  cmd: string[];
}

/**
 * Options of {@linkcode buildLibrary}.
 *
 * @example
 * ```ts
 * import { type BuildOptions, buildLibrary, findCompiler, hostTarget } from "./build.ts";
 * import assert from "node:assert/strict";
 *
 * if (await findCompiler() !== null) { // a machine with only Deno has none
 *   const outDir = await Deno.makeTempDir();
 *   const opts: BuildOptions = { target: hostTarget(), outDir, compiler: "auto" };
 *   const path = await buildLibrary(opts); // e.g. "/tmp/…/libdokio.so"
 *   assert.ok(path.startsWith(outDir));
 *   await Deno.remove(outDir, { recursive: true });
 * }
 * ```
 */
export interface BuildOptions {
  /** `"<arch>-<os>"`, e.g. `"aarch64-macos"`; default {@linkcode hostTarget}. */
  target?: string;
  /** Output directory; default `<repo>/.dokio/lib/<target>/` (or a cache dir for remote use). */
  outDir?: string;
  /** `"auto"` (default) tries zig then cc; `"zig"` or `"cc"` insist on one. */
  compiler?: "auto" | "zig" | "cc";
}

/**
 * The reactor's source files. Used when this module is loaded from a remote URL, where a
 * directory cannot be listed; a test checks it against `reactor_c/`.
 *
 * @example
 * ```ts
 * import { REACTOR_SOURCES } from "./build.ts";
 * import assert from "node:assert/strict";
 * assert.ok(REACTOR_SOURCES.includes("dokio.h"));
 * ```
 */
export const REACTOR_SOURCES: readonly string[] = [
  "dokio.h",
  "reactor.h",
  "common.c",
  "clock.c",
  "uring.c",
  "ready.c",
  "epoll.c",
  "kqueue.c",
  "fs.c",
  "net.c",
];

/**
 * Warnings are errors in every build of the reactor: the library, its C tests and its test
 * variants.
 *
 * @example
 * ```ts
 * import { WARNING_FLAGS } from "./build.ts";
 * import assert from "node:assert/strict";
 * assert.ok(WARNING_FLAGS.includes("-Werror"));
 * ```
 */
export const WARNING_FLAGS: readonly string[] = ["-Wall", "-Wextra", "-Werror"];

/**
 * A position-independent shared library whose symbols are hidden unless `dokio.h` marks them
 * `DK_API`: the shape of the shipped library and of every test variant loaded in its place.
 *
 * @example
 * ```ts
 * import { SHARED_LIBRARY_FLAGS } from "./build.ts";
 * import assert from "node:assert/strict";
 * assert.ok(SHARED_LIBRARY_FLAGS.includes("-fvisibility=hidden"));
 * ```
 */
export const SHARED_LIBRARY_FLAGS: readonly string[] = ["-fPIC", "-shared", "-fvisibility=hidden"];

/**
 * Hidden visibility: the library exports only the `dk_*` ABI that `dokio.h` marks `DK_API`.
 * `-s` strips what debug info the toolchain's own objects bring (zig's glibc stubs carry the
 * working directory of the build that filled zig's cache and the path zig is installed at),
 * so the same sources give the same bytes on any machine, from any checkout.
 */
const BASE_FLAGS = ["-std=c11", "-O2", "-g0", "-s", ...SHARED_LIBRARY_FLAGS, ...WARNING_FLAGS];

/** Bump when the build recipe changes in a way the sources do not show. */
const RECIPE = "dokio-build-2 " + BASE_FLAGS.join(" ");

const SOURCE_URL = new URL("../reactor_c/", import.meta.url);

/**
 * Finds a C compiler: `DOKIO_CC` (a command line, e.g. `"gcc"` or `"zig cc"`), then `zig`,
 * then `python3 -m ziglang`, then `cc`. Resolves to `null` when none runs.
 *
 * @example
 * ```ts
 * import { findCompiler } from "./build.ts";
 * import assert from "node:assert/strict";
 * const c = await findCompiler();
 * assert.ok(c === null || c.cmd.length > 0); // null: no compiler on this machine
 * ```
 */
export async function findCompiler(): Promise<Compiler | null> {
  const forced = readEnv("DOKIO_CC");
  if (forced) {
    const cmd = forced.trim().split(/\s+/);
    return { kind: /zig/.test(forced) ? "zig" : "cc", cmd };
  }
  const zig = await findZig();
  if (zig !== null) return zig;
  return (await runs(["cc", "--version"])) ? { kind: "cc", cmd: ["cc"] } : null;
}

async function findZig(): Promise<Compiler | null> {
  if (await runs(["zig", "version"])) return { kind: "zig", cmd: ["zig", "cc"] };
  if (await runs(["python3", "-m", "ziglang", "version"])) {
    return { kind: "zig", cmd: ["python3", "-m", "ziglang", "cc"] };
  }
  return null;
}

/**
 * A short hex SHA-256 over the reactor's `*.c` and `*.h` files (names and contents, in name
 * order) and the build recipe. Equal hashes mean an existing build can be reused.
 *
 * @example
 * ```ts
 * import { sourceHash } from "./build.ts";
 * import assert from "node:assert/strict";
 * const h = await sourceHash(); // e.g. "3f9a0c1d2e4b5a69"
 * assert.match(h, /^[0-9a-f]+$/);
 * assert.equal(await sourceHash(), h); // the same sources give the same hash
 * ```
 */
export async function sourceHash(): Promise<string> {
  const files = await readSources();
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [enc.encode(RECIPE + "\n")];
  for (const [name, text] of files) parts.push(enc.encode(`${name}\n${text.length}\n`), text);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Compiles `reactor_c/*.c` into a shared library for `target` and returns its absolute path.
 * Cross targets need zig; with `cc` only the host target builds. Throws an `Error` carrying the
 * compiler's output when the build fails, a `RangeError` for an unknown target.
 *
 * @example
 * ```ts
 * import { buildLibrary, findCompiler } from "./build.ts";
 * import assert from "node:assert/strict";
 * if ((await findCompiler())?.kind === "zig") { // cross builds need zig
 *   const path = await buildLibrary({ target: "aarch64-macos", outDir: "/tmp/dokio" });
 *   assert.equal(path, "/tmp/dokio/libdokio.dylib");
 * }
 * ```
 */
export async function buildLibrary(opts: BuildOptions = {}): Promise<string> {
  const target = opts.target ?? hostTarget();
  const { arch, os } = parseTarget(target);
  if (os !== "linux" && os !== "macos") {
    throw new RangeError(`no reactor backend for target "${target}" (linux, macos only)`);
  }
  const compiler = await pickCompiler(opts.compiler ?? "auto");
  const cross = target !== hostTarget();
  if (cross && compiler.kind !== "zig") {
    throw new Error(
      `building for ${target} needs zig (found only ${compiler.cmd.join(" ")}); ` +
        "install it with `pip install ziglang`",
    );
  }
  const hash = await sourceHash();
  const srcDir = await sourceDir(hash);
  const outDir = opts.outDir ?? defaultOutDir(target, hash);
  await Deno.mkdir(outDir, { recursive: true });
  const out = await Deno.realPath(outDir) + "/" + libraryFileName(target);
  // The compiler writes the library under its final name in a private directory: a Mach-O
  // library records its file name (code signature) and path (install name) in its bytes.
  const tmpDir = `${out}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(tmpDir);
  const tmp = `${tmpDir}/${libraryFileName(target)}`;

  const cSources: string[] = [];
  for await (const e of Deno.readDir(srcDir)) {
    if (e.isFile && e.name.endsWith(".c")) cSources.push(`${srcDir}/${e.name}`);
  }
  cSources.sort();
  const args = [...compiler.cmd.slice(1)];
  if (compiler.kind === "zig") args.push("-target", zigTarget(arch, os));
  args.push(...BASE_FLAGS);
  if (os === "linux") args.push("-D_GNU_SOURCE");
  if (os === "macos") args.push(`-Wl,-install_name,@rpath/${libraryFileName(target)}`);
  args.push(`-I${srcDir}`, "-o", tmp, ...cSources);
  if (os === "linux") args.push("-lpthread");

  try {
    const res = await new Deno.Command(compiler.cmd[0], {
      args,
      stdout: "piped",
      stderr: "piped",
      env: compiler.kind === "zig" ? zigEnv() : undefined,
    }).output();
    if (!res.success) {
      const text = new TextDecoder().decode(res.stderr) + new TextDecoder().decode(res.stdout);
      throw new Error(
        `building the reactor for ${target} failed (${compiler.cmd.join(" ")}):\n${text}`,
      );
    }
    await Deno.rename(tmp, out); // a new inode: a loaded library stays intact
    const hashTmp = `${out}.hash.tmp-${Deno.pid}`;
    await Deno.writeTextFile(hashTmp, hash + "\n");
    await Deno.rename(hashTmp, `${out}.hash`);
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
  return out;
}

/**
 * Builds every target in {@linkcode TARGETS} (needs zig) and returns the library paths.
 *
 * @example
 * ```ts
 * import { buildAll, findCompiler } from "./build.ts";
 * import assert from "node:assert/strict";
 * if ((await findCompiler())?.kind === "zig") { // every target needs zig
 *   for (const p of await buildAll()) assert.ok((await Deno.stat(p)).isFile);
 * }
 * ```
 */
export async function buildAll(): Promise<string[]> {
  const zig = await pickCompiler("zig");
  if (zig.kind !== "zig") throw new Error("buildAll needs zig");
  const out: string[] = [];
  for (const target of TARGETS) out.push(await buildLibrary({ target, compiler: "zig" }));
  return out;
}

// ------------------------------------------------------------------ internals

async function runs(cmd: string[]): Promise<boolean> {
  try {
    const r = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdout: "null",
      stderr: "null",
    }).output();
    return r.success;
  } catch {
    return false;
  }
}

async function pickCompiler(want: "auto" | "zig" | "cc"): Promise<Compiler> {
  let c: Compiler | null;
  if (want === "zig") {
    const forced = readEnv("DOKIO_CC");
    c = forced && /zig/.test(forced) ? await findCompiler() : await findZig();
  } else if (want === "cc") {
    const forced = readEnv("DOKIO_CC");
    c = { kind: "cc", cmd: forced && !/zig/.test(forced) ? forced.trim().split(/\s+/) : ["cc"] };
  } else {
    c = await findCompiler();
  }
  if (c === null) {
    throw new Error(
      want === "zig"
        ? "zig not found (install it with `pip install ziglang`)"
        : "no C compiler found (zig or cc); install zig with `pip install ziglang`",
    );
  }
  return c;
}

function zigTarget(arch: string, os: string): string {
  return os === "linux" ? `${arch}-linux-gnu` : `${arch}-${os}`;
}

/** zig needs a writable cache; give it one under the Dokio cache when HOME is missing. */
function zigEnv(): Record<string, string> | undefined {
  if (readEnv("ZIG_GLOBAL_CACHE_DIR") || readEnv("HOME") || readEnv("XDG_CACHE_HOME")) {
    return undefined;
  }
  return { ZIG_GLOBAL_CACHE_DIR: `${cacheBase()}/zig` };
}

function cacheBase(): string {
  return cacheDir() ?? `${Deno.makeTempDirSync()}/dokio`;
}

function isLocal(): boolean {
  return SOURCE_URL.protocol === "file:";
}

function localPath(url: URL): string {
  return decodeURIComponent(url.pathname).replace(/\/$/, "");
}

/**
 * The local build directory for `target`, `<repo>/.dokio/lib/<target>`, or
 * null when the package is not on a local file system (e.g. loaded from JSR).
 *
 * @example
 * ```ts
 * import { hostTarget, localLibraryDir } from "./build.ts";
 * import assert from "node:assert/strict";
 * const dir = localLibraryDir(hostTarget()); // e.g. "/src/dokio/.dokio/lib/x86_64-linux"
 * assert.ok(dir === null || dir.endsWith(`/.dokio/lib/${hostTarget()}`)); // null outside a checkout
 * ```
 */
export function localLibraryDir(target: string): string | null {
  return isLocal() ? `${localPath(new URL("../", SOURCE_URL))}/.dokio/lib/${target}` : null;
}

function defaultOutDir(target: string, hash: string): string {
  return localLibraryDir(target) ?? `${cacheBase()}/build/${hash}/${target}`;
}

/** [name, bytes] of every reactor source, sorted by name. */
async function readSources(): Promise<[string, Uint8Array][]> {
  const out: [string, Uint8Array][] = [];
  if (isLocal()) {
    const dir = localPath(SOURCE_URL);
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && /\.[ch]$/.test(e.name)) {
        out.push([e.name, await Deno.readFile(`${dir}/${e.name}`)]);
      }
    }
  } else {
    for (const name of REACTOR_SOURCES) {
      const res = await fetch(new URL(name, SOURCE_URL));
      if (!res.ok) throw new Error(`cannot fetch reactor source ${name}: ${res.status}`);
      out.push([name, new Uint8Array(await res.arrayBuffer())]);
    }
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** A local directory holding the sources: the checkout itself, or a cache copy. */
async function sourceDir(hash: string): Promise<string> {
  if (isLocal()) return localPath(SOURCE_URL);
  const dir = `${cacheBase()}/src-${hash}`;
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, bytes] of await readSources()) {
    const tmp = `${dir}/${name}.tmp-${Deno.pid}`;
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, `${dir}/${name}`);
  }
  return dir;
}
