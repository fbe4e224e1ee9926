/**
 * How the example daemons (echo, chat) take their flags and how they fail:
 * a bad flag, a taken port, an address that is not local or a missing
 * permission prints ONE line on stderr saying what went wrong and how to fix
 * it, and the process exits with status 1 — no stack trace. Anything else
 * is a bug and keeps its stack.
 *
 * @module
 */

import { IoError } from "../net/mod.ts";

/** A bad command line: the message says which flag and what it takes. */
export class UsageError extends Error {
  /** Make one with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** What a flag takes: a string, a number, or nothing (a switch). */
export type FlagKind = "string" | "number" | "switch";

/** Parsed flags: strings, numbers and switches by flag name (without `--`). */
export type Flags = Record<string, string | number | boolean>;

/**
 * Parse `--name value`, `--name=value` and `--switch` against `spec`.
 * `--help`/`-h` prints `usage` and exits 0.
 *
 * @param args the command line (`Deno.args`).
 * @param spec each flag's kind, by name without `--`.
 * @param usage the one-line usage text.
 * @returns the flags given (absent ones are absent).
 * @throws {UsageError} for an unknown flag, a missing value or a value that is not a number.
 *
 * @example
 * ```ts
 * import { parseFlags, UsageError } from "./_daemon.ts";
 * import assert from "node:assert/strict";
 *
 * const spec = { port: "number", host: "string", quiet: "switch" } as const;
 * assert.deepEqual(parseFlags(["--port=7", "--quiet"], spec, ""), { port: 7, quiet: true });
 * assert.throws(() => parseFlags(["--prot", "7"], spec, ""), UsageError);
 * ```
 */
export function parseFlags(args: string[], spec: Record<string, FlagKind>, usage: string): Flags {
  const out: Flags = {};
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
    if (kind === undefined) throw new UsageError(`unknown flag ${flag}`);
    if (kind === "switch") {
      if (eq >= 0) throw new UsageError(`${flag} takes no value`);
      out[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (kind === "number") {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n)) {
        throw new UsageError(`${flag} takes a number, got ${JSON.stringify(value)}`);
      }
      out[name] = n;
    } else out[name] = value;
  }
  return out;
}

/** The address a daemon tried to listen on, for the messages. */
export interface ListenAddr {
  /** The host flag. */
  host: string;
  /** The port flag. */
  port: number;
}

/**
 * The one line for a failure a user can fix, or null for anything else.
 *
 * @param e what was thrown.
 * @param listen where the daemon tried to listen.
 * @returns what went wrong and how to fix it, or null.
 *
 * @example
 * ```ts
 * import { describeFailure } from "./_daemon.ts";
 * import { IoError } from "../net/mod.ts";
 * import assert from "node:assert/strict";
 *
 * const taken = new IoError(98, "EADDRINUSE", "listen");
 * assert.match(describeFailure(taken, { host: "127.0.0.1", port: 7000 })!, /in use.*--port/);
 * assert.equal(describeFailure(new Error("a bug"), { host: "127.0.0.1", port: 7000 }), null);
 * ```
 */
export function describeFailure(e: unknown, listen: ListenAddr): string | null {
  const addr = `${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${listen.port}`;
  if (e instanceof UsageError) return `${e.message} (--help lists the flags)`;
  if (e instanceof Deno.errors.NotCapable) {
    return `missing permission: ${firstLine(e.message)} (or run with -A)`;
  }
  const code = e instanceof IoError
    ? e.code
    : e instanceof Deno.errors.AddrInUse
    ? "EADDRINUSE"
    : e instanceof Deno.errors.AddrNotAvailable
    ? "EADDRNOTAVAIL"
    : e instanceof Deno.errors.PermissionDenied
    ? "EACCES"
    : null;
  switch (code) {
    case "EADDRINUSE":
      return `${addr} is already in use: stop what listens there, or pick another port with ` +
        `--port (--port 0 takes any free one)`;
    case "EACCES":
    case "EPERM":
      return `no permission to listen on ${addr}: ports below 1024 need privileges; use ` +
        `--port 1024 or above`;
    case "EADDRNOTAVAIL":
      return `${listen.host} is not an address of this machine: use --host 127.0.0.1 or ` +
        `another local address`;
  }
  return null;
}

function firstLine(s: string): string {
  const i = s.indexOf("\n");
  return i < 0 ? s : s.slice(0, i);
}

/**
 * Run a daemon: parse its flags, check that it may listen, run it. A
 * failure a user can fix prints `name: <line>` on stderr and exits 1;
 * anything else is rethrown (a bug keeps its stack). The net permission is
 * checked before anything runs, so a run without it says so first, not
 * after the runtime's own notices.
 *
 * @param name the daemon's name, the start of the line.
 * @param parse reads the flags (throws {@linkcode UsageError}).
 * @param body runs the daemon with the flags.
 * @returns a promise that settles when `body` does.
 *
 * @example
 * ```ts ignore
 * await daemon("echo", () => parseEchoFlags(Deno.args), (flags) => run(main(flags)));
 * ```
 */
export async function daemon<F extends ListenAddr>(
  name: string,
  parse: () => F,
  body: (flags: F) => Promise<void>,
): Promise<void> {
  let listen: ListenAddr = { host: "127.0.0.1", port: 0 };
  try {
    const flags = parse();
    listen = flags;
    const where = `${listen.host}:${listen.port}`;
    if (Deno.permissions.querySync({ name: "net", host: where }).state !== "granted") {
      throw new Deno.errors.NotCapable(
        `Requires net access to "${where}", run again with --allow-net=${listen.host}`,
      );
    }
    await body(flags);
  } catch (e) {
    const line = describeFailure(e, listen);
    if (line === null) throw e;
    console.error(`${name}: ${line}`);
    Deno.exit(1);
  }
}
