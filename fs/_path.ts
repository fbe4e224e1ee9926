/**
 * Internal: path arguments and the permission check of everything fs/ opens
 * through the reactor.
 *
 * Dokio opens files through FFI, which Deno's `--allow-read`/`--allow-write`
 * do not see, so every open asks Deno's permission state first
 * (`Deno.permissions.querySync`) and refuses what `Deno.open` would refuse,
 * with the same error (`Deno.errors.NotCapable`). A query costs ~2.4 µs here,
 * which would dominate a 4 KiB `readFile`, so an *unrestricted* grant (the
 * process may read, or write, every path) is remembered for at most
 * {@linkcode RECHECK_MS} ms: a `Deno.permissions.revoke` takes effect for
 * Dokio's opens within that time. A grant limited to some paths is asked
 * about on every open.
 *
 * @module
 */

/**
 * How long (ms) an unrestricted read or write grant is trusted before it is asked again.
 *
 * @example
 * ```ts
 * import { RECHECK_MS } from "./_path.ts";
 * import assert from "node:assert/strict";
 * assert.ok(RECHECK_MS > 0);
 * assert.ok(RECHECK_MS <= 1);
 * ```
 */
export const RECHECK_MS = 1;

/** A path argument: a string or a `file:` URL. */
export type PathLike = string | URL;

/**
 * Validate a path argument and return it as a string.
 *
 * @throws {TypeError} when it is not a string or `file:` URL, or contains NUL.
 * @example
 * ```ts
 * import { toPath } from "./_path.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(toPath(new URL("file:///tmp/a%20b"), "stat"), "/tmp/a b");
 * assert.throws(() => toPath("a\0b", "stat"), TypeError);
 * ```
 */
export function toPath(path: PathLike, fn: string): string {
  let p: string;
  if (typeof path === "string") p = path;
  else if (path instanceof URL) {
    if (path.protocol !== "file:") {
      throw new TypeError(`${fn}: only file: URLs are paths, got ${path.protocol}`);
    }
    p = decodeURIComponent(path.pathname);
  } else {
    throw new TypeError(`${fn}: path must be a string or a file: URL, got ${typeof path}`);
  }
  if (p.includes("\0")) throw new TypeError(`${fn}: path contains a NUL character`);
  return p;
}

interface Grant {
  all: boolean;
  at: number;
}

const grants: Record<"read" | "write", Grant> = {
  read: { all: false, at: -Infinity },
  write: { all: false, at: -Infinity },
};

function permitted(name: "read" | "write", path: string): boolean {
  const g = grants[name];
  const now = performance.now();
  if (now - g.at > RECHECK_MS) {
    g.all = Deno.permissions.querySync({ name }).state === "granted";
    g.at = now;
  }
  if (g.all) return true;
  return Deno.permissions.querySync({ name, path }).state === "granted";
}

/**
 * Throw what Deno would throw when `path` may not be read (`read`) and/or
 * written (`write`) by this process.
 *
 * @throws {Deno.errors.NotCapable} when Deno's permission state refuses it.
 * @example
 * ```ts
 * import { checkAccess } from "./_path.ts";
 * checkAccess("/tmp/x", true, false); // passes under --allow-read (or -A)
 * ```
 */
export function checkAccess(path: string, read: boolean, write: boolean): void {
  if (read && !permitted("read", path)) deny("read", path);
  if (write && !permitted("write", path)) deny("write", path);
}

function deny(name: string, path: string): never {
  throw new Deno.errors.NotCapable(
    `Requires ${name} access to "${path}", run again with the --allow-${name} flag`,
  );
}
