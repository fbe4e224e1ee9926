/**
 * Test builds of the reactor library, made with clang beside (never instead of) the shipped one:
 *
 * - `"asan"`: AddressSanitizer + UndefinedBehaviorSanitizer (`-fsanitize=address,undefined
 *   -fno-sanitize-recover=all -shared-libasan`), for the TS suites run against it
 *   (`sanitized_suite.ts`). It needs the ASan runtime preloaded into deno: see
 *   {@linkcode asanEnv}.
 * - `"faults"`: the production flags plus `-DDK_FAULTS` and `reactor_c/testing/fault.c`, the test-only
 *   fault plan (`dk_test_fault`, `dk_test_fault_hits`, `dk_test_fault_clear`), for
 *   `tests/fault_*_test.ts`. Production builds (`ffi/build.ts`, `build.zig`, `ffi/prebuilt/`)
 *   never list `reactor_c/testing/` nor define `DK_FAULTS`, so they hold none of it.
 *
 * Both go to `.dokio/variants/libdokio_<kind>.so`, rebuilt when a source is newer. Linux only.
 *
 * @example
 * ```ts ignore
 * // Not run here: it needs clang (Debian's) and writes under .dokio/.
 * import { buildVariant } from "./variant_build.ts";
 * const lib = await buildVariant("faults");
 * console.log(`DOKIO_LIB=${lib}`);
 * ```
 *
 * @module
 */

import { SHARED_LIBRARY_FLAGS, WARNING_FLAGS } from "../../ffi/build.ts";
import { SANITIZER_FLAGS } from "./run_c_tests.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");

/** The kinds of test build. */
export type VariantKind = "asan" | "faults";

const FLAGS: Record<VariantKind, string[]> = {
  asan: ["-O1", "-g", ...SANITIZER_FLAGS.address, "-shared-libasan"],
  faults: ["-O2", "-DDK_FAULTS"],
};

/**
 * Builds (or reuses, when no source is newer) the test library of `kind` and returns its path.
 *
 * @param kind which build
 * @returns the absolute path of the library
 * @throws {Error} when clang fails (its output is in the message)
 */
export async function buildVariant(kind: VariantKind): Promise<string> {
  const dir = `${ROOT}/.dokio/variants`;
  await Deno.mkdir(dir, { recursive: true });
  const out = `${dir}/libdokio_${kind}.so`;
  const sources: string[] = [];
  let newest = 0;
  for await (const e of Deno.readDir(`${ROOT}/reactor_c`)) {
    if (!e.isFile || !/\.[ch]$/.test(e.name)) continue;
    const path = `${ROOT}/reactor_c/${e.name}`;
    newest = Math.max(newest, (await Deno.stat(path)).mtime?.getTime() ?? 0);
    if (e.name.endsWith(".c")) sources.push(path);
  }
  sources.sort();
  if (kind === "faults") sources.push(`${ROOT}/reactor_c/testing/fault.c`);
  newest = Math.max(
    newest,
    (await Deno.stat(`${ROOT}/reactor_c/testing/fault.c`)).mtime?.getTime() ?? 0,
  );
  const built = await Deno.stat(out).then((s) => s.mtime?.getTime() ?? 0, () => 0);
  if (built > newest) return out;
  const tmp = `${out}.${Deno.pid}.tmp`;
  const args = [
    "-std=c11",
    ...FLAGS[kind],
    ...SHARED_LIBRARY_FLAGS,
    ...WARNING_FLAGS,
    "-D_GNU_SOURCE",
    "-o",
    tmp,
    ...sources,
    "-lpthread",
  ];
  const res = await new Deno.Command("clang", { args, stdout: "piped", stderr: "piped" }).output();
  if (!res.success) {
    throw new Error(
      `building the ${kind} library failed:\n${new TextDecoder().decode(res.stderr)}`,
    );
  }
  await Deno.rename(tmp, out);
  return out;
}

/**
 * The environment a deno process needs to load the `"asan"` build: the ASan runtime preloaded
 * (the library expects it in the process: `-shared-libasan`), and ASan's options.
 * `detect_leaks=0`: LeakSanitizer would report at exit what deno itself (V8, its Rust runtime)
 * never frees, allocations the reactor has no part in; the reactor's own leaks are caught by the
 * C suite under ASan (`deno task test:c:asan`) and the fuzzers, which run LeakSanitizer.
 *
 * @param lib the path of the `"asan"` build
 * @returns the variables to add to the environment
 * @throws {Error} when clang has no ASan runtime
 */
export async function asanEnv(lib: string): Promise<Record<string, string>> {
  const res = await new Deno.Command("clang", {
    args: ["-print-file-name=libclang_rt.asan-x86_64.so"],
    stdout: "piped",
  }).output();
  const rt = new TextDecoder().decode(res.stdout).trim();
  if (!rt.startsWith("/")) throw new Error("clang has no ASan runtime (libclang-rt-dev)");
  return {
    DOKIO_LIB: lib,
    DOKIO_SANITIZER: "address",
    LD_PRELOAD: rt,
    ASAN_OPTIONS: "detect_leaks=0:abort_on_error=1:halt_on_error=1",
    UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1",
  };
}
