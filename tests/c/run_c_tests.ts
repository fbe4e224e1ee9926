/**
 * Compiles and runs the C-level reactor tests (`tests/c/*.c` together with `reactor_c/*.c`) with the compiler `ffi/build.ts` finds (zig cc or cc), using
 * `-std=c11 -Wall -Wextra -Werror`. Invariant: a warning fails the build, a failed case fails the
 * run (the binary exits non-zero and prints `N passed, M failed`).
 *
 * `deno run -A tests/c/run_c_tests.ts [--cc] [--sanitize=address|thread]` prints the test
 * program's output and exits with its status. `--sanitize=address` builds with clang's
 * AddressSanitizer and UndefinedBehaviorSanitizer, `--sanitize=thread` with ThreadSanitizer
 * (`deno task test:c:asan`, `deno task test:c:tsan`); either makes a sanitizer report fail the
 * run (ASan and UBSan abort at the first report, TSan exits with status 66).
 *
 * @example
 * ```ts ignore
 * // Not run here: needs a C compiler; tests/c_reactor_test.ts runs the C tests.
 * import { compileCTests } from "./run_c_tests.ts";
 * const exe = await compileCTests();
 * const { code } = await new Deno.Command(exe).output();
 * console.log(code === 0 ? "C tests pass" : "C tests fail");
 * ```
 *
 * @module
 */
import { findCompiler, WARNING_FLAGS } from "../../ffi/build.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");

/** Options of {@linkcode compileCTests}. */
export interface CTestOptions {
  /** Use the system `cc` instead of zig. */
  cc?: boolean;
  /** Extra `-D` macros, e.g. `["DK_TEST_NO_CANCEL_FD"]` to run io_uring's pre-5.19 paths. */
  defines?: string[];
  /** Build with clang sanitizers: ASan + UBSan (`"address"`) or TSan (`"thread"`). */
  sanitize?: "address" | "thread";
}

/** The clang flags of each sanitizer mode; recovery is off so a report fails the run. */
/** The compiler flags of each sanitizer build (the C tests, and the ASan library variant). */
export const SANITIZER_FLAGS: Record<"address" | "thread", string[]> = {
  address: [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
  ],
  thread: ["-fsanitize=thread", "-fno-omit-frame-pointer"],
};

/**
 * Builds the C test binary and returns its path (in a fresh temp directory the caller may
 * remove). Throws with the compiler's output on a compile error or warning.
 *
 * @example
 * ```ts ignore
 * // Not run here: needs a C compiler; tests/c_reactor_test.ts runs the C tests.
 * import { compileCTests } from "./run_c_tests.ts";
 * console.log(await compileCTests({ cc: true }));
 * ```
 */
export async function compileCTests(opts: CTestOptions = {}): Promise<string> {
  const found = opts.sanitize !== undefined
    ? { kind: "cc" as const, cmd: ["clang"] }
    : opts.cc
    ? { kind: "cc" as const, cmd: ["cc"] }
    : await findCompiler();
  if (found === null) throw new Error("no C compiler (zig or cc) found");
  const dir = await Deno.makeTempDir({ prefix: "dokio_ctest_" });
  const exe = `${dir}/reactor_test`;
  const sources: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}/reactor_c`)) {
    if (e.isFile && e.name.endsWith(".c")) sources.push(`${ROOT}/reactor_c/${e.name}`);
  }
  sources.sort();
  const tests: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}/tests/c`)) {
    if (e.isFile && e.name.endsWith(".c")) tests.push(`${ROOT}/tests/c/${e.name}`);
  }
  tests.sort();
  const args = [
    ...found.cmd.slice(1),
    "-std=c11",
    opts.sanitize === undefined ? "-O2" : "-O1",
    "-g",
    ...(opts.sanitize === undefined ? [] : SANITIZER_FLAGS[opts.sanitize]),
    ...WARNING_FLAGS,
    ...(Deno.build.os === "linux" ? ["-D_GNU_SOURCE"] : []),
    ...(opts.defines ?? []).map((d) => `-D${d}`),
    `-I${ROOT}/reactor_c`,
    "-o",
    exe,
    ...tests,
    ...sources,
    "-lpthread",
  ];
  const res = await new Deno.Command(found.cmd[0], { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!res.success) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    const dec = new TextDecoder();
    throw new Error(
      `compiling the C tests failed (${found.cmd.join(" ")}):\n` + dec.decode(res.stderr) +
        dec.decode(res.stdout),
    );
  }
  return exe;
}

if (import.meta.main) {
  let exe = "";
  try {
    const mode = Deno.args.find((a) => a.startsWith("--sanitize="))?.slice("--sanitize=".length);
    if (mode !== undefined && mode !== "address" && mode !== "thread") {
      throw new Error(`--sanitize=${mode}: expected address or thread`);
    }
    exe = await compileCTests({ cc: Deno.args.includes("--cc"), sanitize: mode });
    const { code } = await new Deno.Command(exe, {
      stdout: "inherit",
      stderr: "inherit",
      env: {
        ASAN_OPTIONS: "detect_leaks=1:abort_on_error=1",
        TSAN_OPTIONS: "second_deadlock_stack=1",
      },
    }).output();
    Deno.exitCode = code;
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exitCode = 1;
  } finally {
    if (exe) await Deno.remove(exe.replace(/\/[^/]*$/, ""), { recursive: true }).catch(() => {});
  }
}
