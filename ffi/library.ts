/**
 * Finding, building, caching and loading the C reactor library.
 *
 * `openLibrary()` returns the one loaded instance per path per isolate
 * (memoised; the library is never closed, so handles stay valid for the
 * isolate's life). Discovery order, first hit wins:
 *
 * 1. an explicit path: the `path` option, else the `DOKIO_LIB` environment variable;
 * 2. a fresh local build (in a checkout): `<repo>/.dokio/lib/<target>/libdokio.so` whose
 *    recorded source hash equals the hash of `reactor_c/` now;
 * 3. the cache: `$DOKIO_CACHE` (else `$XDG_CACHE_HOME/dokio`, else `~/.cache/dokio`)
 *    `/<version>-<target>-<sourcehash>/libdokio.so`, a library built from source earlier;
 * 4. the shipped prebuilt library of the host target (`ffi/prebuilt.ts`), when it was built
 *    from these sources (always so for a package from the registry): checked against the
 *    SHA-256 recorded at build time, written into the cache as
 *    `prebuilt-<target>-<sha>/libdokio.so` (a temp file, then a rename) and loaded from there;
 *    a file already there is checked the same way before it is opened;
 * 5. a new build with `buildLibrary()` (from `ffi/build.ts`) when a compiler is found
 *    and the `build` option is not `false`; the result is copied into the cache (a
 *    temp file, then a rename; an existing cache entry is never overwritten).
 *
 * Otherwise it throws a {@linkcode NoLibraryError} listing what was tried and what to do; a
 * shipped library whose bytes do not match their checksum is an Error, never loaded. Permissions
 * it may need: `--allow-ffi` (on the file loaded), `--allow-env` (DOKIO_LIB, DOKIO_CACHE,
 * XDG_CACHE_HOME, HOME), `--allow-read`/`--allow-write` on the cache directory, and in a
 * checkout `--allow-read` of it; a missing one is named in the error. Every library is
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
import { cacheDir, readEnv } from "./env.ts";
import { hostTarget, libraryFileName, parseTarget, TARGETS } from "./target.ts";

export { cacheDir, readEnv } from "./env.ts";

/** Operating systems the C reactor builds for. */
const NATIVE_OSES: readonly string[] = ["linux", "macos"];
import { prebuiltBytes, prebuiltEntry, prebuiltSourceHash, sha256Hex } from "./prebuilt.ts";

/**
 * A loaded reactor library.
 *
 * @example
 * ```ts
 * import { type Library, openLibrary } from "./library.ts";
 * import assert from "node:assert/strict";
 * const lib: Library = await openLibrary();
 * assert.ok(lib.path.length > 0); // the file loaded
 * assert.ok(Number(lib.symbols.dk_clock_ms()) >= 0); // a C call
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
 * // Not run: needs a prebuilt library at /opt/dokio.
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
 * ```ts
 * import { openLibrary } from "./library.ts";
 * import assert from "node:assert/strict";
 * const lib = await openLibrary();
 * assert.equal(await openLibrary(), lib); // opened once per process
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
    const flag = e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied
      ? ` (run with --allow-ffi=${path}, or --allow-ffi)`
      : "";
    throw new Error(`Dokio: cannot load the reactor library ${path}${flag}: ${message(e)}`, {
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
  const target = hostTarget();
  const fileName = libraryFileName(target);
  const localDir = build !== null ? build.localLibraryDir(target) : null;
  // In a checkout the sources on disk decide; a package from the registry is immutable, so
  // its sources are the ones the shipped libraries were built from.
  let hash = localDir === null ? prebuiltSourceHash() : "";
  if (localDir !== null && build !== null) {
    try {
      hash = await build.sourceHash();
    } catch (e) {
      tried.push(`the reactor sources could not be hashed (${message(e)})`);
    }
  }
  // 2. a fresh local build
  if (localDir !== null && hash !== "") {
    const local = `${localDir}/${fileName}`;
    const recorded = await recordedHash(local);
    if (recorded === hash) return loadPath(local);
    tried.push(recorded === null ? `no local build at ${local}` : `stale local build ${local}`);
  }
  // 3. the cache
  const cacheBase = cacheDir();
  const cacheFile = cacheBase !== null && hash !== ""
    ? `${cacheBase}/${VERSION}-${target}-${hash}/${fileName}`
    : null;
  if (cacheFile !== null) {
    if (await isFile(cacheFile)) return loadPath(cacheFile);
    tried.push(`no cached build at ${cacheFile}`);
  } else if (cacheBase === null) {
    tried.push(
      "no cache directory (HOME, XDG_CACHE_HOME and DOKIO_CACHE unset or need --allow-env)",
    );
  }
  // 4. the shipped prebuilt library
  const entry = prebuiltEntry(target);
  if (entry === null) {
    tried.push(`no shipped library for ${target} (shipped: ${shippedTargets()})`);
  } else if (hash !== prebuiltSourceHash()) {
    tried.push(
      `the shipped library for ${target} was built from other reactor sources ` +
        `(${prebuiltSourceHash()}, these are ${hash || "unhashed"})`,
    );
  } else if (cacheBase === null) {
    tried.push(
      `the shipped library for ${target} needs a cache directory to be unpacked into: ` +
        "run with --allow-env=HOME (or set DOKIO_CACHE)",
    );
  } else {
    return loadPath(await unpackPrebuilt(target, entry.sha256, cacheBase, fileName));
  }
  // 5. a build from source (the C reactor has backends for Linux and macOS only)
  const buildable = isBuildable(target);
  if (!buildable) tried.push(`no native reactor for ${target} (Linux and macOS only)`);
  if (allowBuild && build !== null && buildable) {
    let compiler: unknown = null;
    try {
      compiler = await build.findCompiler();
    } catch (e) {
      tried.push(`looking for a compiler failed (${message(e)})`);
    }
    if (compiler) {
      const built = await build.buildLibrary({ target });
      if (cacheFile !== null) await copyIntoCache(built, cacheFile);
      return loadPath(built);
    }
    tried.push(
      granted("run") ? "no C compiler (zig or cc) found" : "no --allow-run to start a compiler",
    );
  }
  throw new NoLibraryError(
    "Dokio: no reactor library found (" + tried.join("; ") + "). To get one: " +
      (entry !== null
        ? "let Dokio unpack the shipped library (it needs --allow-env=HOME plus --allow-read, " +
          "--allow-write and --allow-ffi on the cache directory, or -A), or "
        : "") +
      "build it with `deno task build` in a clone (zig — `pip install ziglang` — or `cc`), " +
      "or set DOKIO_LIB to the path of a built libdokio, or use the portable backend " +
      "(DOKIO_BACKEND=deno) that needs no library.",
  );
}

/**
 * No reactor library could be found, unpacked or built (the message lists what was tried and
 * what to do).
 *
 * @example
 * ```ts
 * import { NoLibraryError } from "./library.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new NoLibraryError("none").name, "NoLibraryError");
 * ```
 */
export class NoLibraryError extends Error {
  /** Make one with the full message. */
  constructor(message: string) {
    super(message);
    this.name = "NoLibraryError";
  }
}

/**
 * Write the shipped library of `target` (checked against its SHA-256 first) into the cache
 * directory `cacheBase` under a name with its checksum, and return that path. An existing file
 * there is read and checked before it is used; one that does not match is replaced (temp file,
 * then rename).
 *
 * @throws {Error} naming the flags to add when the cache cannot be read or written, or when the
 *   shipped bytes do not match their checksum.
 * @example
 * ```ts
 * import { unpackPrebuilt } from "./library.ts";
 * import { prebuiltEntry } from "./prebuilt.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const sha = prebuiltEntry("aarch64-linux")!.sha256;
 * const file = await unpackPrebuilt("aarch64-linux", sha, dir, "libdokio.so");
 * assert.ok(file.startsWith(`${dir}/prebuilt-aarch64-linux-`));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function unpackPrebuilt(
  target: string,
  sha256: string,
  cacheBase: string,
  fileName: string,
): Promise<string> {
  const dir = `${cacheBase}/prebuilt-${target}-${sha256.slice(0, 16)}`;
  const file = `${dir}/${fileName}`;
  try {
    if (await isFile(file) && await sha256Hex(await Deno.readFile(file)) === sha256) return file;
    const bytes = await prebuiltBytes(target); // throws when the embedded bytes do not match
    await Deno.mkdir(dir, { recursive: true });
    const tmp = `${file}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    try {
      await Deno.writeFile(tmp, bytes!, { mode: 0o755 });
      await Deno.rename(tmp, file); // a new inode: a process using the old file keeps it
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
    return file;
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error(
        `Dokio: unpacking the shipped reactor library into ${dir} needs --allow-read=${cacheBase} ` +
          `and --allow-write=${cacheBase} (${message(e)}); or set DOKIO_CACHE to a directory ` +
          "you allow, or DOKIO_LIB to a built library",
        { cause: e },
      );
    }
    throw e;
  }
}

/** True when the C reactor can be built for `target` (a known arch on Linux or macOS). */
function isBuildable(target: string): boolean {
  try {
    return NATIVE_OSES.includes(parseTarget(target).os);
  } catch {
    return false; // an arch or OS the build does not know
  }
}

function shippedTargets(): string {
  return TARGETS.filter((t) => prebuiltEntry(t) !== null).join(", ");
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
