/**
 * Internal: fs/ errors. A failed system call on a path becomes an
 * {@linkcode IoError} whose `code` is the host's errno name (the same
 * `code` Deno's own fs errors carry: "ENOENT", "EACCES", "EISDIR"…) and
 * whose message names the operation and the path. Errors of the Deno APIs
 * fs/ delegates to are turned into the same IoError (the original is its
 * `cause`; the errno is the "os error N" of its message); Deno's permission
 * refusals (`NotCapable`) pass unchanged.
 *
 * @module
 */

import { errnoName, errnoOf, IoError } from "../ffi/errors.ts";

/**
 * The IoError of a negative reactor result (`-errno`) for `syscall` on `path`.
 *
 * @example
 * ```ts
 * import { fsError } from "./_errors.ts";
 * import { openLibrary } from "../ffi/library.ts";
 * import assert from "node:assert/strict";
 * await openLibrary(); // errno names come from the loaded library ("E?" before)
 * const e = fsError(-2, "open", "/nope"); // IoError ENOENT: "open '/nope': ENOENT (errno 2)"
 * assert.equal(e.code, "ENOENT");
 * assert.ok(e.message.includes("/nope"));
 * ```
 */
export function fsError(result: number, syscall: string, path: string): IoError {
  const errno = -result;
  const code = errnoName(errno);
  return new IoError(errno, code, syscall, `${syscall} '${path}': ${code} (errno ${errno})`);
}

/**
 * Map an error of a Deno fs API to an IoError (NotCapable and non-OS errors pass unchanged).
 *
 * @example
 * ```ts
 * import { fromDeno } from "./_errors.ts";
 * import { IoError } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * try {
 *   Deno.statSync("/no/such/path");
 * } catch (e) {
 *   const mapped = fromDeno(e, "stat", "/no/such/path");
 *   assert.ok(mapped instanceof IoError && mapped.code === "ENOENT");
 * }
 * ```
 */
export function fromDeno(e: unknown, syscall: string, path: string): unknown {
  if (e instanceof IoError || e instanceof Deno.errors.NotCapable || !(e instanceof Error)) {
    return e;
  }
  const code = (e as { code?: unknown }).code;
  if (typeof code !== "string" || !code.startsWith("E")) return e;
  // Deno's message carries the host's number ("… (os error 2): stat '/x'").
  const m = /\(os error (\d+)\)/.exec(e.message);
  const errno = m !== null ? Number(m[1]) : errnoOf(code);
  const err = new IoError(errno, code, syscall, `${syscall} '${path}': ${code} (errno ${errno})`);
  (err as { cause?: unknown }).cause = e;
  return err;
}
