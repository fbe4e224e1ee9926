/**
 * Builds and runs the reactor's libFuzzer targets (`fuzz_reactor.c` once per backend:
 * `fuzz_io_uring`, `fuzz_epoll`) with clang's `-fsanitize=fuzzer,address,undefined`, each for a
 * bounded time, one after the other.
 *
 * `deno task fuzz [seconds]` (default 300 per target). Each target starts from the committed seed
 * corpus (`tests/c/fuzz/corpus/`, read only) and a working corpus kept between runs in
 * `.dokio/fuzz/corpus_<target>/`; libFuzzer's `-timeout` fails an input that runs past
 * {@linkcode INPUT_TIMEOUT_S} seconds (a hang), LeakSanitizer fails a leak, and the harness's own
 * oracles abort (see the top of `fuzz_reactor.c`). A crashing input is written to
 * `.dokio/fuzz/<target>-crash-…`; rerun it with `FUZZ_DEBUG=1 .dokio/fuzz/<target> <file>`. Exits
 * non-zero when any target found anything, after printing each target's final statistics
 * (executions, corpus size). `--merge` folds the working corpora into the seed corpus (keeping
 * only inputs that add coverage).
 *
 * @example
 * ```ts ignore
 * // Not run here: it builds with clang and fuzzes for minutes (see deno task fuzz).
 * import { buildFuzzTargets } from "./run_fuzz.ts";
 * console.log(await buildFuzzTargets());
 * ```
 *
 * @module
 */

const ROOT = decodeURIComponent(new URL("../../../", import.meta.url).pathname).replace(/\/$/, "");
const OUT = `${ROOT}/.dokio/fuzz`;
const SEEDS = `${ROOT}/tests/c/fuzz/corpus`;

/** A run of one input longer than this (seconds) is a hang. */
export const INPUT_TIMEOUT_S = 10;
/** The largest input libFuzzer makes (bytes): about a hundred commands. */
const MAX_LEN = 2048;

/** The targets: one build of fuzz_reactor.c per backend (`FUZZ_BACKEND`, dokio.h's numbers). */
export const FUZZ_TARGETS: readonly { name: string; backend: number }[] = [
  { name: "fuzz_io_uring", backend: 1 },
  { name: "fuzz_epoll", backend: 2 },
];

/**
 * Compiles every target into `.dokio/fuzz/` and returns their paths. Throws with clang's output
 * on an error or a warning.
 *
 * @returns the path of each target's binary, in {@linkcode FUZZ_TARGETS}' order
 * @throws {Error} when clang is missing or the build fails
 */
export async function buildFuzzTargets(): Promise<string[]> {
  await Deno.mkdir(OUT, { recursive: true });
  const sources: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}/reactor_c`)) {
    if (e.isFile && e.name.endsWith(".c")) sources.push(`${ROOT}/reactor_c/${e.name}`);
  }
  sources.sort();
  const out: string[] = [];
  for (const t of FUZZ_TARGETS) {
    const exe = `${OUT}/${t.name}`;
    const args = [
      "-std=c11",
      "-g",
      "-O1",
      "-fsanitize=fuzzer,address,undefined",
      "-fno-sanitize-recover=all",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-D_GNU_SOURCE",
      `-DFUZZ_BACKEND=${t.backend}`,
      `-I${ROOT}/reactor_c`,
      "-o",
      exe,
      `${ROOT}/tests/c/fuzz/fuzz_reactor.c`,
      ...sources,
      "-lpthread",
      "-lm",
    ];
    const res = await new Deno.Command("clang", { args, stdout: "piped", stderr: "piped" })
      .output();
    if (!res.success) {
      const dec = new TextDecoder();
      throw new Error(`building ${t.name} failed:\n${dec.decode(res.stderr)}`);
    }
    out.push(exe);
  }
  return out;
}

/** The figures of one target's run, from libFuzzer's final statistics. */
export interface FuzzResult {
  /** The target's name. */
  name: string;
  /** The fuzzer's exit status (0: nothing found). */
  code: number;
  /** Inputs run. */
  executions: number;
  /** Inputs in the working corpus at the end. */
  corpus: number;
  /** Seconds the target ran. */
  seconds: number;
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) if (e.isFile) n++;
  return n;
}

/**
 * Runs one built target for `seconds`, its output going to `log` (and its tail to stdout).
 *
 * @param exe the target's binary
 * @param name the target's name
 * @param seconds how long to fuzz
 * @returns its figures
 */
export async function runTarget(exe: string, name: string, seconds: number): Promise<FuzzResult> {
  const corpus = `${OUT}/corpus_${name}`;
  await Deno.mkdir(corpus, { recursive: true });
  const started = Date.now();
  const res = await new Deno.Command(exe, {
    args: [
      `-max_total_time=${seconds}`,
      `-timeout=${INPUT_TIMEOUT_S}`,
      `-max_len=${MAX_LEN}`,
      "-rss_limit_mb=2048",
      "-print_final_stats=1",
      `-artifact_prefix=${OUT}/${name}-`,
      corpus,
      SEEDS,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { ASAN_OPTIONS: "detect_leaks=1:abort_on_error=1", UBSAN_OPTIONS: "print_stacktrace=1" },
  }).output();
  const text = new TextDecoder().decode(res.stderr) + new TextDecoder().decode(res.stdout);
  await Deno.writeTextFile(`${OUT}/${name}.log`, text);
  const stat = (k: string) => Number(text.match(new RegExp(`stat::${k}:\\s+(\\d+)`))?.[1] ?? 0);
  const lines = text.split("\n");
  const bad = lines.findIndex((l) =>
    /fuzz oracle|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:/.test(l)
  );
  if (!res.success) {
    console.log(lines.slice(Math.max(0, bad - 2), bad + 40).join("\n"));
    console.log(lines.filter((l) => l.includes("Test unit written to")).join("\n"));
  }
  return {
    name,
    code: res.code,
    executions: stat("number_of_executed_units"),
    corpus: await countFiles(corpus),
    seconds: Math.round((Date.now() - started) / 1000),
  };
}

async function merge(exe: string): Promise<void> {
  const corpora = FUZZ_TARGETS.map((t) => `${OUT}/corpus_${t.name}`);
  const res = await new Deno.Command(exe, {
    args: ["-merge=1", `-max_len=${MAX_LEN}`, `-timeout=${INPUT_TIMEOUT_S}`, SEEDS, ...corpora],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  if (!res.success) throw new Error(`merging into ${SEEDS} failed (${res.code})`);
}

if (import.meta.main) {
  const seconds = Number(Deno.args.find((a) => /^\d+$/.test(a)) ?? 300);
  const exes = await buildFuzzTargets();
  if (Deno.args.includes("--merge")) {
    await merge(exes[0]);
    console.log(`merged into ${SEEDS}: ${await countFiles(SEEDS)} inputs`);
    Deno.exit(0);
  }
  let failed = 0;
  for (let i = 0; i < exes.length; i++) {
    const r = await runTarget(exes[i], FUZZ_TARGETS[i].name, seconds);
    console.log(
      `${r.code === 0 ? "ok  " : "FAIL"} ${r.name}: ${r.seconds} s, ${r.executions} executions, ` +
        `corpus ${r.corpus}${r.code === 0 ? "" : `, exit ${r.code} (log: ${OUT}/${r.name}.log)`}`,
    );
    if (r.code !== 0) failed++;
  }
  console.log(`${exes.length - failed} passed, ${failed} failed`);
  Deno.exitCode = failed === 0 ? 0 : 1;
}
