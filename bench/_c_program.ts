/**
 * Internal: the bench's own C programs (the echo load client, the files suite's syscall floor),
 * compiled once into `.dokio/bench/` with the reactor build's compiler finder and rebuilt when
 * their source is newer than the binary.
 *
 * Invariant: a binary is only ever replaced by a rename of a complete build (a temp file per
 * process), so a bench running beside another never runs a half-written one.
 *
 * @module
 */

import { findCompiler } from "../ffi/build.ts";

const HERE = new URL(".", import.meta.url);

/**
 * Compile `bench/<name>.c` (once; again when the source is newer than the binary) with `-O2`,
 * `-pthread` and `-Wall -Wextra`, and return the binary's path.
 *
 * @param name the program's name: its source is `bench/<name>.c`
 * @returns the path of `.dokio/bench/<name>`
 * @throws {Error} when no C compiler is found or the compile fails.
 * @example
 * ```ts ignore
 * // Not run: it starts a compiler (deno task bench runs it).
 * import { buildBenchProgram } from "./_c_program.ts";
 * const client = await buildBenchProgram("echo_client");
 * ```
 */
export async function buildBenchProgram(name: string): Promise<string> {
  const src = new URL(`${name}.c`, HERE).pathname;
  const outDir = new URL("../.dokio/bench/", HERE).pathname;
  await Deno.mkdir(outDir, { recursive: true });
  const out = `${outDir}${name}`;
  try {
    const [s, o] = [Deno.statSync(src), Deno.statSync(out)];
    if (o.mtime && s.mtime && o.mtime > s.mtime) return out;
  } catch { /* build it */ }
  const cc = await findCompiler();
  if (cc === null) throw new Error(`bench: no C compiler found (zig or cc) for ${name}.c`);
  const tmp = `${out}.${Deno.pid}.tmp`;
  const r = await new Deno.Command(cc.cmd[0], {
    args: [...cc.cmd.slice(1), "-O2", "-pthread", "-Wall", "-Wextra", "-o", tmp, src],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(`bench: compiling ${name}.c failed:\n${new TextDecoder().decode(r.stderr)}`);
  }
  await Deno.rename(tmp, out);
  return out;
}
