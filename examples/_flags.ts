/**
 * The command-line parser every example daemon and bench server uses: `--name value`,
 * `--name=value` and `--switch`, checked against a spec. A bad command line is a
 * {@linkcode UsageError}; {@linkcode parseOrExit} turns it into ONE line on stderr and exit
 * status 2 ({@linkcode EXIT_USAGE}), never a stack trace. No imports: a server that is not
 * Dokio's (a bench peer) can use it without loading Dokio.
 *
 * @module
 */

/** Exit status for a bad command line (status 1 is left for failures while running). */
export const EXIT_USAGE = 2;

/** A bad command line: the message says which flag and what it takes. */
export class UsageError extends Error {
  /** Make one with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * What a flag takes: a string, a number, a port (an integer in 0..65535), or nothing (a switch).
 */
export type FlagKind = "string" | "number" | "port" | "switch";

/** The value of a flag of kind `K`. */
export type FlagValue<K extends FlagKind> = K extends "string" ? string
  : K extends "switch" ? boolean
  : number;

/** Parsed flags: the given ones by name (without `--`), typed by their kind; absent ones absent. */
export type Flags<S extends Record<string, FlagKind> = Record<string, FlagKind>> = {
  [N in keyof S]?: FlagValue<S[N]>;
};

/** Largest TCP/UDP port. */
const MAX_PORT = 65535;

/**
 * Parse `--name value`, `--name=value` and `--switch` against `spec`.
 * `--help`/`-h` prints `usage` and exits 0.
 *
 * @param args the command line (`Deno.args`).
 * @param spec each flag's kind, by name without `--`.
 * @param usage the one-line usage text.
 * @returns the flags given (absent ones are absent).
 * @throws {UsageError} for an unknown flag, a missing value, a value that is not a number, or a
 *   port outside 0..65535.
 *
 * @example
 * ```ts
 * import { parseFlags, UsageError } from "./_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const spec = { port: "port", host: "string", quiet: "switch" } as const;
 * assert.deepEqual(parseFlags(["--port=7", "--quiet"], spec, ""), { port: 7, quiet: true });
 * assert.throws(() => parseFlags(["--prot", "7"], spec, ""), UsageError);
 * assert.throws(() => parseFlags(["--port", "70000"], spec, ""), /0\.\.65535/);
 * ```
 */
export function parseFlags<S extends Record<string, FlagKind>>(
  args: string[],
  spec: S,
  usage: string,
): Flags<S> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") {
      console.log(usage);
      Deno.exit(0);
    }
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const name = flag.startsWith("--") ? flag.slice(2) : "";
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined) {
      throw new UsageError(flag.startsWith("-") ? `unknown flag ${flag}` : `unexpected ${flag}`);
    }
    if (kind === "switch") {
      if (eq >= 0) throw new UsageError(`${flag} takes no value`);
      out[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (kind === "string") {
      out[name] = value;
      continue;
    }
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) {
      throw new UsageError(`${flag} takes a number, got ${JSON.stringify(value)}`);
    }
    out[name] = kind === "port" ? checkInt(flag, n, 0, MAX_PORT) : n;
  }
  return out as Flags<S>;
}

/**
 * Check that a flag's number is an integer in `lo..hi`.
 *
 * @param flag the flag, for the message (e.g. `"--workers"`).
 * @param n its value.
 * @param lo the smallest allowed.
 * @param hi the largest allowed.
 * @returns `n`.
 * @throws {UsageError} when `n` is not an integer in `lo..hi`.
 *
 * @example
 * ```ts
 * import { checkInt } from "./_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(checkInt("--workers", 4, 1, 256), 4);
 * assert.throws(() => checkInt("--workers", 0, 1, 256), /--workers takes an integer in 1\.\.256/);
 * ```
 */
export function checkInt(flag: string, n: number, lo: number, hi: number): number {
  if (!Number.isInteger(n) || n < lo || n > hi) {
    throw new UsageError(`${flag} takes an integer in ${lo}..${hi}, got ${n}`);
  }
  return n;
}

/**
 * A flag that must be given.
 *
 * @param value its parsed value, or undefined when absent.
 * @param flag the flag, for the message (e.g. `"--path"`).
 * @returns `value`.
 * @throws {UsageError} when it is absent.
 *
 * @example
 * ```ts
 * import { required } from "./_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(required("/tmp/s", "--path"), "/tmp/s");
 * assert.throws(() => required(undefined, "--path"), /--path is required/);
 * ```
 */
export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(`${flag} is required`);
  return value;
}

/**
 * Run `parse`; a {@linkcode UsageError} prints `name: <message> (--help lists the flags)` on
 * stderr and exits with {@linkcode EXIT_USAGE}. Anything else is rethrown (a bug keeps its stack).
 *
 * @param name the program's name, the start of the line.
 * @param parse reads the command line.
 * @returns what `parse` returned.
 *
 * @example
 * ```ts
 * import { parseFlags, parseOrExit } from "./_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const f = parseOrExit("demo", () => parseFlags(["--path", "/tmp/s"], { path: "string" }, ""));
 * assert.equal(f.path, "/tmp/s");
 * ```
 */
export function parseOrExit<F>(name: string, parse: () => F): F {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${name}: ${e.message} (--help lists the flags)`);
    Deno.exit(EXIT_USAGE);
  }
}
