/**
 * Command line for building the C reactor: `deno run -A ffi/build_cli.ts [--all] [--cc]`.
 *
 * Without flags it builds the host library into `.dokio/lib/<target>/`; `--all` builds every
 * target in `TARGETS` (needs zig); `--cc` uses the system `cc` (or `DOKIO_CC`) instead of zig.
 * It prints one line per library built and exits 1 with the compiler's message on failure.
 *
 * @example
 * ```sh
 * deno run -A ffi/build_cli.ts --all
 * ```
 *
 * @module
 */
import { buildAll, buildLibrary, hostTarget } from "./build.ts";

/**
 * Runs the build for the given command-line arguments and returns the library paths.
 *
 * @example
 * ```ts
 * import { main } from "./build_cli.ts";
 * const paths = await main(["--cc"]);
 * console.log(paths);
 * ```
 */
export async function main(args: string[]): Promise<string[]> {
  const unknown = args.filter((a) => a !== "--all" && a !== "--cc");
  if (unknown.length > 0) {
    throw new TypeError(
      `unknown argument(s) ${unknown.join(" ")}; usage: build_cli.ts [--all] [--cc]`,
    );
  }
  const cc = args.includes("--cc");
  if (args.includes("--all")) {
    if (cc) throw new TypeError("--all needs zig and cannot be combined with --cc");
    return await buildAll();
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
