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
 * @example
 * ```sh
 * deno run -A ffi/build_cli.ts --all
 * ```
 *
 * @module
 */
import { buildAll, buildLibrary, hostTarget } from "./build.ts";
import { checkPrebuilt, writePrebuilt } from "./prebuilt_build.ts";

const FLAGS = ["--all", "--check-prebuilt", "--cc"];

/**
 * Runs the build for the given command-line arguments and returns the library paths.
 *
 * @example
 * ```ts
 * import { main } from "./build_cli.ts";
 * import assert from "node:assert/strict";
 * const paths = await main(["--cc"]);
 * assert.equal(paths.length, 1); // the host library
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
  return [await buildLibrary({ target: hostTarget(), compiler: cc ? "cc" : "auto" })];
}

if (import.meta.main) {
  try {
    for (const p of await main(Deno.args)) console.log(p);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
