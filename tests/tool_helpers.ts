/**
 * Tests that need a program besides Deno (a C compiler, `redis-cli`, `nm`, `prlimit`…).
 *
 * On a machine with only Deno (what the README promises `deno task test` works on) such a test
 * is ignored, and one line names the program it lacks. In CI (`DOKIO_CI=1`, set by `.ci/run`)
 * a missing program is an error instead: the test module fails to load, so CI never skips.
 *
 * @module
 */

import { findCompiler } from "../ffi/build.ts";

/** The environment variable `.ci/run` sets: a missing program fails instead of skipping. */
export const CI_ENV = "DOKIO_CI";

/**
 * Whether `DOKIO_CI=1` is set (CI, where nothing may be skipped).
 *
 * @returns true in CI.
 * @example
 * ```ts ignore
 * // Not run: test tooling.
 * if (inCi()) console.log("every suite runs");
 * ```
 */
export function inCi(): boolean {
  return Deno.env.get(CI_ENV) === "1";
}

/**
 * Whether an executable file `name` is in one of the `PATH` directories.
 *
 * @param name a program name, e.g. `"redis-cli"`.
 * @returns true when found.
 * @example
 * ```ts ignore
 * // Not run: test tooling.
 * const has = onPath("redis-cli");
 * ```
 */
export function onPath(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/**
 * The names in `programs` that are not on `PATH`.
 *
 * @param programs program names.
 * @returns those missing, in order.
 * @example
 * ```ts ignore
 * // Not run: test tooling.
 * const missing = missingPrograms(["redis-cli", "nm"]);
 * ```
 */
export function missingPrograms(programs: readonly string[]): string[] {
  return programs.filter((p) => !onPath(p));
}

/** What a missing C compiler is called in the messages. */
export const COMPILER = "a C compiler (zig, python3 -m ziglang, or cc)";

/**
 * `[COMPILER]` when the reactor's build finds no C compiler (`findCompiler()` of `ffi/build.ts`:
 * `DOKIO_CC`, zig, `python3 -m ziglang`, cc), else `[]`.
 *
 * @returns the missing compiler, or nothing.
 * @example
 * ```ts ignore
 * // Not run: test tooling.
 * const ignore = ignoreWithout("C reactor tests", await missingCompiler());
 * ```
 */
export async function missingCompiler(): Promise<string[]> {
  return (await findCompiler()) === null ? [COMPILER] : [];
}

/**
 * Decide whether the tests of `suite` are ignored for lack of `missing` programs: with none
 * missing, false; else prints `skipped <suite>: <programs> not found` and returns true, or, in
 * CI (`DOKIO_CI=1`), throws.
 *
 * @param suite what is skipped, e.g. `"mini-redis tests with redis-cli"`.
 * @param missing the programs it lacks (from {@linkcode missingPrograms} or
 *   {@linkcode missingCompiler}).
 * @returns the value for `Deno.test`'s `ignore`.
 * @throws {Error} in CI when a program is missing.
 * @example
 * ```ts ignore
 * // Not run: test tooling.
 * const ignore = ignoreWithout("redis-cli tests", missingPrograms(["redis-cli"]));
 * Deno.test({ name: "PING", ignore, fn: async () => {} });
 * ```
 */
export function ignoreWithout(suite: string, missing: readonly string[]): boolean {
  if (missing.length === 0) return false;
  const what = `${suite}: ${missing.join(", ")} not found on PATH`;
  if (inCi()) {
    throw new Error(`${what}; CI (${CI_ENV}=1) runs every suite: install it`);
  }
  console.log(`skipped ${what} (install it to run them)`);
  return true;
}
