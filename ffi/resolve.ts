/**
 * Name resolution through the C library's `dk_resolve` (getaddrinfo: `/etc/hosts`, then the
 * system resolver, as the host is configured).
 *
 * getaddrinfo blocks, so `dk_resolve` is bound only as a `nonblocking` FFI symbol: Deno runs
 * the call on one of its blocking-call threads and settles a promise, and the scheduler thread
 * never waits for a name server. The output buffer is held by the promise's closure until the
 * call returns, so a caller that stops waiting (a cancelled task) leaves nothing dangling.
 *
 * @module
 */

import { errnoName, IoError } from "./errors.ts";
import {
  ADDR_SIZE,
  DK_EAI_AGAIN,
  DK_EAI_FAIL,
  DK_EAI_NONAME,
  readAddr,
  type SocketAddr,
} from "./layout.ts";
import type { Library } from "./library.ts";

/** Most addresses one lookup returns. */
export const MAX_ADDRS = 32;
/** Longest host name (RFC 1035). */
export const MAX_HOST = 253;

/**
 * The error code of a lookup that found no such host (as Node names it).
 *
 * @example
 * ```ts
 * import { ENOTFOUND } from "./resolve.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ENOTFOUND, "ENOTFOUND");
 * ```
 */
export const ENOTFOUND = "ENOTFOUND";

/**
 * The `IoError` of a failed lookup of `host`: code "ENOTFOUND" (no such host), "EAI_AGAIN"
 * (the resolver failed for now) or "EAI_FAIL"; the message names the host.
 *
 * @param result the negative result of `dk_resolve`
 * @param host the name looked up
 * @returns the error to throw
 * @example
 * ```ts
 * import { DK_EAI_NONAME } from "./layout.ts";
 * import { resolveError } from "./resolve.ts";
 * import assert from "node:assert/strict";
 *
 * const e = resolveError(-DK_EAI_NONAME, "nope.invalid");
 * assert.equal(e.code, "ENOTFOUND");
 * assert.match(e.message, /nope\.invalid/);
 * ```
 */
export function resolveError(result: number, host: string): IoError {
  const n = -result;
  const code = n === DK_EAI_NONAME
    ? ENOTFOUND
    : n === DK_EAI_AGAIN
    ? "EAI_AGAIN"
    : n === DK_EAI_FAIL
    ? "EAI_FAIL"
    : errnoName(n);
  const why = code === ENOTFOUND
    ? "no such host"
    : code === "EAI_AGAIN"
    ? "the resolver failed for now; try again"
    : `resolver error ${code}`;
  return new IoError(n, code, "getaddrinfo", `lookup of "${host}" failed: ${why} (${code})`);
}

/**
 * Resolve `host` off the scheduler thread.
 *
 * @param lib the loaded library
 * @param host a name or IP literal (validated by the caller: 1..253 bytes, no NUL)
 * @param port the port every address gets
 * @returns the addresses, in the resolver's order, no duplicates
 * @throws {IoError} code "ENOTFOUND" when no such host (the message names it), "EAI_AGAIN"…
 * @example
 * ```ts ignore
 * // Not run here: lookupHost's example runs this code.
 * const addrs = await resolve(lib, "localhost", 80);
 * ```
 */
export async function resolve(lib: Library, host: string, port: number): Promise<SocketAddr[]> {
  const name = new TextEncoder().encode(host);
  const out = new Uint8Array(MAX_ADDRS * ADDR_SIZE);
  const n = await lib.symbols.dk_resolve(name, name.byteLength, port, out, MAX_ADDRS);
  if (n < 0) throw resolveError(n, host);
  const addrs: SocketAddr[] = [];
  for (let i = 0; i < n; i++) {
    addrs.push(readAddr(out.subarray(i * ADDR_SIZE, (i + 1) * ADDR_SIZE), "tcp"));
  }
  return addrs;
}
