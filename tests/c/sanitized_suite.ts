/**
 * Runs TS test suites against the ASan+UBSan build of the reactor (`variant_build.ts`, `"asan"`),
 * loaded through `DOKIO_LIB` with the ASan runtime preloaded into deno, and fails on a failed test
 * or on any sanitizer report (ASan and UBSan abort at the first one, so the process dies; the
 * output is also scanned for a report, in case a child process printed one).
 *
 * `deno task test:asan [files or folders…]` (default: every suite in `tests/`). CI runs the
 * suites that drive the reactor: {@linkcode REACTOR_SUITES}.
 *
 * Under the sanitizer, `DOKIO_SANITIZER=address` is set: the few tests that bound RSS skip that
 * bound (ASan keeps freed memory in quarantine and shadows every allocation, so RSS measures
 * the sanitizer, not Dokio); their fd counts still hold.
 *
 * @example
 * ```ts ignore
 * // Not run here: it builds with clang and runs whole suites.
 * // deno run -A tests/c/sanitized_suite.ts tests/net_tcp_test.ts
 * ```
 *
 * @module
 */
import { asanEnv, buildVariant } from "./variant_build.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");

/** The suites CI runs under ASan: every one that drives the reactor (net, io, fs, ffi, C). */
export const REACTOR_SUITES: readonly string[] = [
  "tests/c_reactor_test.ts",
  "tests/ffi_test.ts",
  "tests/native_clock_test.ts",
  "tests/net_abort_close_test.ts",
  "tests/net_chat_test.ts",
  "tests/net_lookup_test.ts",
  "tests/net_reuse_test.ts",
  "tests/net_tcp_socket_test.ts",
  "tests/net_tcp_test.ts",
  "tests/net_try_io_test.ts",
  "tests/net_udp_test.ts",
  "tests/net_unix_test.ts",
  "tests/io_copy_test.ts",
  "tests/io_duplex_test.ts",
  "tests/io_proxy_example_test.ts",
  "tests/fs_file_test.ts",
  "tests/fs_file_server_test.ts",
  "tests/fs_meta_test.ts",
  "tests/fs_whole_test.ts",
  "tests/runtime_cancel_test.ts",
];

/** A line that starts a sanitizer report. */
const REPORT =
  /ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer/;

if (import.meta.main) {
  const quick = Deno.args.includes("--reactor");
  const picked = Deno.args.filter((a) => !a.startsWith("--"));
  const suites = picked.length > 0 ? picked : quick ? [...REACTOR_SUITES] : ["tests/"];
  const lib = await buildVariant("asan");
  const env = await asanEnv(lib);
  console.log(`ASan+UBSan reactor ${lib}; suites: ${suites.join(" ")}`);
  const child = new Deno.Command("deno", {
    args: ["test", "-A", ...suites],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let reports = 0;
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>, out: typeof Deno.stdout) => {
    let rest = "";
    for await (const chunk of s) {
      await out.write(chunk);
      const text = rest + dec.decode(chunk, { stream: true });
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      reports += lines.filter((l) => REPORT.test(l)).length;
    }
    if (REPORT.test(rest)) reports++;
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, Deno.stdout),
    pump(child.stderr, Deno.stderr),
  ]);
  console.log(`sanitizer reports: ${reports}; deno test exit ${status.code}`);
  Deno.exitCode = status.success && reports === 0 ? 0 : 1;
}
