/**
 * How the example daemons (echo, chat, proxy, file server, mini-redis) take their flags and how
 * they fail: a bad flag prints ONE line on stderr and exits with status 2 (`examples/_flags.ts`,
 * the parser they share); a taken port, an address that is not local or a missing permission
 * prints one line saying what went wrong and how to fix it, and exits with status 1 — no stack
 * trace. Anything else is a bug and keeps its stack.
 *
 * @module
 */

import { IoError } from "../net/mod.ts";
import { EXIT_USAGE, parseOrExit, UsageError } from "./_flags.ts";

export {
  checkInt,
  EXIT_USAGE,
  type FlagKind,
  type Flags,
  parseFlags,
  UsageError,
} from "./_flags.ts";

/** Exit status for a failure a user can fix while running (a taken port, a permission). */
export const EXIT_FAILURE = 1;

/** The address a daemon tried to listen on, for the messages. */
export interface ListenAddr {
  /** The host flag. */
  host: string;
  /** The port flag. */
  port: number;
  /** A Unix socket path it listens on instead of `host:port`, if any. */
  unix?: string | null;
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
  if (listen.unix && e instanceof IoError && e.code === "EADDRINUSE") {
    return `unix:${listen.unix} is already in use: stop what listens there, or remove the ` +
      `socket file, or pick another path with --unix`;
  }
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
 * Run a daemon: parse its flags, check that it may listen, run it. A bad command line prints
 * `name: <line>` on stderr and exits 2; a failure a user can fix while running prints
 * `name: <line>` and exits 1; anything else is rethrown (a bug keeps its stack). The net
 * permission is checked before anything runs (unless it listens on a Unix socket), so a run
 * without it says so first, not after the runtime's own notices.
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
  const flags = parseOrExit(name, parse);
  try {
    const where = `${flags.host}:${flags.port}`;
    if (
      !flags.unix &&
      Deno.permissions.querySync({ name: "net", host: where }).state !== "granted"
    ) {
      throw new Deno.errors.NotCapable(
        `Requires net access to "${where}", run again with --allow-net=${flags.host}`,
      );
    }
    await body(flags);
  } catch (e) {
    const line = describeFailure(e, flags);
    if (line === null) throw e;
    console.error(`${name}: ${line}`);
    Deno.exit(e instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE);
  }
}
