/**
 * Command line for building the C reactor:
 * `deno run -A ffi/build_cli.ts [--all | --check-prebuilt] [--cc]`.
 *
 * Without flags it builds the host library into `.dokio/lib/<target>/`; `--all` builds every
 * target in `TARGETS` (needs zig) and regenerates the shipped libraries in `ffi/prebuilt/`
 * (`deno task build:all`); `--check-prebuilt` rebuilds every target into a temporary directory
 * and compares with the shipped ones (`deno task prebuilt:check`, see `ffi/prebuilt_build.ts`);
 * `--cc` uses the system `cc` (or `DOKIO_CC`) instead of zig. It prints one line per library
 * built (or checked) and exits 1 with the compiler's message, or the failed check, on failure.
 *
 * Without flags on a machine with no C compiler (only Deno), nothing is built: the shipped
 * library of the host (`ffi/prebuilt/`, checked against its SHA-256, when it was built from these
 * reactor sources) is copied where the build would put it, loaded to check it, and one line says
 * so. In CI (`DOKIO_CI=1`) a missing compiler fails instead, so CI always builds from source.
 *
 * @example
 * ```sh
 * deno run -A ffi/build_cli.ts --all
 * ```
 *
 * @module
 */
import {
  buildAll,
  buildLibrary,
  findCompiler,
  hostTarget,
  libraryFileName,
  localLibraryDir,
  sourceHash,
} from "./build.ts";
import { openLibrary, readEnv } from "./library.ts";
import { prebuiltBytes, prebuiltSourceHash } from "./prebuilt.ts";
import { checkPrebuilt, writePrebuilt } from "./prebuilt_build.ts";

const FLAGS = ["--all", "--check-prebuilt", "--cc"];

/**
 * Runs the build for the given command-line arguments and returns the lines to print (the library
 * paths, the checks, or the one line saying no compiler was found and what is used instead).
 *
 * @example
 * ```ts
 * import { main } from "./build_cli.ts";
 * import assert from "node:assert/strict";
 * const lines = await main([]); // builds, or without a compiler loads the shipped library
 * assert.equal(lines.length, 1);
 * ```
 */
export async function main(args: string[]): Promise<string[]> {
  const unknown = args.filter((a) => !FLAGS.includes(a));
  if (unknown.length > 0) {
    throw new TypeError(
      `unknown argument(s) ${unknown.join(" ")}; ` +
        "usage: build_cli.ts [--all | --check-prebuilt] [--cc]",
    );
  }
  const cc = args.includes("--cc");
  if (cc && (args.includes("--all") || args.includes("--check-prebuilt"))) {
    throw new TypeError("--all and --check-prebuilt need zig and cannot be combined with --cc");
  }
  if (args.includes("--check-prebuilt")) {
    const checks = await checkPrebuilt();
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0) {
      throw new Error(failed.map((c) => `prebuilt ${c.target}: ${c.detail}`).join("\n"));
    }
    return checks.map((c) => `prebuilt ${c.target} ok: ${c.detail}`);
  }
  if (args.includes("--all")) {
    const libs = await buildAll();
    return [...libs, ...await writePrebuilt(libs)];
  }
  if (!cc && await findCompiler() === null) return [await noCompiler()];
  return [await buildLibrary({ target: hostTarget(), compiler: cc ? "cc" : "auto" })];
}

/**
 * No compiler: put the shipped library of the host (when it was built from these sources) where
 * a build would (`.dokio/lib/<target>/`, with its `.hash`), load it, and say so in one line.
 */
async function noCompiler(): Promise<string> {
  const none = "no C compiler (zig, python3 -m ziglang, or cc) found";
  if (readEnv("DOKIO_CI") === "1") {
    throw new Error(`${none}; CI (DOKIO_CI=1) builds the reactor from source: install one`);
  }
  const target = hostTarget();
  const dir = localLibraryDir(target);
  const hash = await sourceHash();
  const bytes = await prebuiltBytes(target); // checked against its SHA-256
  if (dir === null || bytes === null || prebuiltSourceHash() !== hash) {
    throw new Error(
      `${none}, and no shipped library fits (${target}, reactor sources ${hash}, shipped ones ` +
        `built from ${prebuiltSourceHash()}): install zig (pip install ziglang) or cc`,
    );
  }
  const out = `${dir}/${libraryFileName(target)}`;
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${out}.tmp-${Deno.pid}`;
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, out); // a new inode: a loaded library stays intact
  await Deno.writeTextFile(`${out}.hash.tmp-${Deno.pid}`, hash + "\n");
  await Deno.rename(`${out}.hash.tmp-${Deno.pid}`, `${out}.hash`);
  await openLibrary({ path: out }); // loads, and has this code's ABI and layout
  return `${none}, so nothing was built: using the shipped prebuilt library (ffi/prebuilt/) ` +
    `for ${target}, copied to ${out}`;
}

if (import.meta.main) {
  try {
    for (const p of await main(Deno.args)) console.log(p);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
