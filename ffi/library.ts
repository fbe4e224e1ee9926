/**
 * Finding, building, caching and loading the C reactor library.
 *
 * `openLibrary()` returns the one loaded instance per path per isolate
 * (memoised; the library is never closed, so handles stay valid for the
 * isolate's life). Discovery order, first hit wins:
 *
 * 1. an explicit path: the `path` option, else the `DOKIO_LIB` environment variable;
 * 2. a fresh local build: `<repo>/.dokio/lib/<target>/libdokio.so` whose recorded
 *    source hash equals the hash of `reactor_c/` now;
 * 3. the cache: `$DOKIO_CACHE` (else `$XDG_CACHE_HOME/dokio`, else `~/.cache/dokio`)
 *    `/<version>-<target>-<sourcehash>/libdokio.so`;
 * 4. a new build with `buildLibrary()` (from `ffi/build.ts`) when a compiler is found
 *    and the `build` option is not `false`; the result is copied into the cache (a
 *    temp file, then a rename; an existing cache entry is never overwritten).
 *
 * Otherwise it throws an Error saying how to get a library. Every library is
 * checked with `dk_layout`: its ABI version and record layout must equal
 * `ffi/layout.ts`, or it is refused. Environment variables are read tolerantly:
 * without `--allow-env` they count as unset.
 *
 * @module
 */

import config from "../deno.json" with { type: "json" };
import { DK_ABI_VERSION, LAYOUT_FACTS } from "./layout.ts";
import { type DokioSymbols, SYMBOLS } from "./symbols.ts";
import { setErrnoSource } from "./errors.ts";

/**
 * A loaded reactor library.
 *
 * @example
 * ```ts ignore
 * import { type Library, openLibrary } from "./library.ts";
 * const lib: Library = await openLibrary();
 * console.log(lib.path, lib.symbols.dk_clock_ms()); // the file loaded, a C call
 * ```
 */
export interface Library {
  /** Absolute path of the file that was loaded. */
  readonly path: string;
  /** The bound C functions. */
  readonly symbols: DokioSymbols;
  /** What `dk_layout` reported (equal to `LAYOUT_FACTS`). */
  readonly layout: readonly number[];
}

/**
 * Options of {@linkcode openLibrary}.
 *
 * @example
 * ```ts ignore
 * import { openLibrary, type OpenLibraryOptions } from "./library.ts";
 * // Load a prebuilt library; never start a build.
 * const options: OpenLibraryOptions = { path: "/opt/dokio/libdokio.so", build: false };
 * const lib = await openLibrary(options);
 * ```
 */
export interface OpenLibraryOptions {
  /** Load exactly this file (overrides `DOKIO_LIB` and discovery). */
  path?: string;
  /** Build the library when none is found (default true). */
  build?: boolean;
}

/**
 * Version of this package, part of the cache key.
 *
 * @example
 * ```ts
 * import { VERSION } from "./library.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(VERSION, /^\d+\.\d+\.\d+/); // deno.json's "version"
 * ```
 */
export const VERSION: string = (config as { version: string }).version;

const byPath = new Map<string, Promise<Library>>();
let discovered: Promise<Library> | null = null;

/**
 * Load the reactor library (see the module doc for the discovery order).
 *
 * @throws {Error} when no library can be found or built, or the library's
 *   ABI/layout differs from this code's.
 * @example
 * ```ts ignore
 * import { openLibrary } from "./library.ts";
 * const lib = await openLibrary();
 * console.log(lib.path);
 * ```
 */
export function openLibrary(options: OpenLibraryOptions = {}): Promise<Library> {
  const explicit = options.path ?? readEnv("DOKIO_LIB");
  if (explicit !== undefined && explicit !== "") return loadPath(explicit);
  if (discovered === null) {
    discovered = discover(options.build !== false);
    discovered.catch(() => {
      discovered = null;
    });
  }
  return discovered;
}

/**
 * Read an environment variable; `undefined` when unset or when `--allow-env`
 * does not cover it.
 *
 * @example
 * ```ts
 * import { readEnv } from "./library.ts";
 * console.assert(readEnv("SURELY_NOT_SET_DOKIO_X") === undefined);
 * ```
 */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function loadPath(path: string): Promise<Library> {
  const abs = absolute(path);
  let p = byPath.get(abs);
  if (p === undefined) {
    p = Promise.resolve().then(() => load(abs));
    byPath.set(abs, p);
    p.catch(() => byPath.delete(abs));
  }
  return p;
}

function load(path: string): Library {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("Dokio's reactor records are little-endian; this host is big-endian");
  }
  let dl: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    dl = Deno.dlopen(path, SYMBOLS);
  } catch (e) {
    throw new Error(`Dokio: cannot load the reactor library ${path}: ${message(e)}`, {
      cause: e,
    });
  }
  const out = new Uint32Array(16);
  const n = dl.symbols.dk_layout(out, out.length);
  const layout = Array.from(out.subarray(0, Math.max(0, n)));
  if (layout[0] !== DK_ABI_VERSION) {
    dl.close();
    throw new Error(
      `Dokio: ${path} speaks reactor ABI ${layout[0]}, this code needs ${DK_ABI_VERSION}; ` +
        "rebuild it with `deno task build`",
    );
  }
  for (let i = 0; i < LAYOUT_FACTS.length; i++) {
    if (layout[i] !== LAYOUT_FACTS[i]) {
      dl.close();
      throw new Error(
        `Dokio: ${path} has record layout [${layout}], ffi/layout.ts expects ` +
          `[${LAYOUT_FACTS}]; rebuild it with \`deno task build\``,
      );
    }
  }
  const symbols = dl.symbols;
  setErrnoSource((errno) => {
    const p = symbols.dk_errno_name(errno);
    return p === null ? "E?" : Deno.UnsafePointerView.getCString(p);
  });
  return { path, symbols, layout };
}

async function discover(allowBuild: boolean): Promise<Library> {
  const tried: string[] = [];
  let build: typeof import("./build.ts") | null = null;
  try {
    build = await import("./build.ts");
  } catch (e) {
    tried.push(`ffi/build.ts could not be loaded (${message(e)})`);
  }
  let target = "";
  let hash = "";
  let fileName = "libdokio.so";
  if (build !== null) {
    try {
      target = build.hostTarget();
      fileName = build.libraryFileName(target);
      hash = await build.sourceHash();
    } catch (e) {
      tried.push(`the reactor sources could not be hashed (${message(e)})`);
    }
  }
  const localDir = build !== null && target !== "" ? build.localLibraryDir(target) : null;
  if (localDir !== null && hash !== "") {
    const local = `${localDir}/${fileName}`;
    const recorded = await recordedHash(local);
    if (recorded === hash) return loadPath(local);
    tried.push(recorded === null ? `no local build at ${local}` : `stale local build ${local}`);
  }
  const cacheBase = cacheDir();
  const cacheFile = cacheBase !== null && target !== "" && hash !== ""
    ? `${cacheBase}/${VERSION}-${target}-${hash}/${fileName}`
    : null;
  if (cacheFile !== null) {
    if (await isFile(cacheFile)) return loadPath(cacheFile);
    tried.push(`no cached library at ${cacheFile}`);
  }
  if (allowBuild && build !== null) {
    let compiler: unknown = null;
    try {
      compiler = await build.findCompiler();
    } catch (e) {
      tried.push(`looking for a compiler failed (${message(e)})`);
    }
    if (compiler) {
      const built = await build.buildLibrary({ target: target || undefined });
      if (cacheFile !== null) await copyIntoCache(built, cacheFile);
      return loadPath(built);
    }
    tried.push(
      granted("run") ? "no C compiler (zig or cc) found" : "no --allow-run to start a compiler",
    );
  }
  if (cacheBase === null && !granted("env")) tried.push("no --allow-env to locate the cache");
  throw new Error(
    "Dokio: no reactor library found (" + tried.join("; ") + "). " +
      "Build it with `deno task build` (it uses zig — install it with " +
      "`pip install ziglang` — or falls back to `cc`), or set DOKIO_LIB to the path " +
      "of a built libdokio.",
  );
}

/** The hash `buildLibrary` recorded beside `lib` (in `<lib>.hash`), or null when none. */
async function recordedHash(lib: string): Promise<string | null> {
  if (!(await isFile(lib))) return null;
  try {
    return (await Deno.readTextFile(`${lib}.hash`)).trim();
  } catch {
    return "";
  }
}

async function copyIntoCache(from: string, to: string): Promise<void> {
  try {
    if (await isFile(to)) return;
    await Deno.mkdir(dirname(to), { recursive: true });
    const tmp = `${to}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.copyFile(from, tmp);
    try {
      if (await isFile(to)) return; // someone else won; never replace a file in use
      await Deno.rename(tmp, to);
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
  } catch {
    // A cache that cannot be written is not an error: the local build is used.
  }
}

/**
 * The library cache directory: `$DOKIO_CACHE`, else `$XDG_CACHE_HOME/dokio`,
 * else `~/.cache/dokio`; null when none can be read (no `--allow-env`).
 *
 * @example
 * ```ts
 * import { cacheDir } from "./library.ts";
 * console.log(cacheDir());
 * ```
 */
export function cacheDir(): string | null {
  const own = readEnv("DOKIO_CACHE");
  if (own) return own;
  const xdg = readEnv("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/dokio`;
  const home = readEnv("HOME");
  return home ? `${home}/.cache/dokio` : null;
}

function granted(name: "env" | "run"): boolean {
  try {
    return Deno.permissions.querySync({ name }).state === "granted";
  } catch {
    return false;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

function absolute(path: string): string {
  if (path.startsWith("/")) return path;
  let cwd = "";
  try {
    cwd = Deno.cwd();
  } catch {
    return path;
  }
  return `${cwd}/${path}`;
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
