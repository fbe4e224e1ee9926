/**
 * `lookupHost(hostname, port)`: a host name's addresses, as the system resolves it.
 *
 * How it stays off the scheduler thread: names go to getaddrinfo (so `/etc/hosts`, nsswitch
 * and the system resolver are honoured) through the C library's `dk_resolve`, bound as a
 * `nonblocking` FFI symbol — Deno runs it on one of its blocking-call threads and settles a
 * promise the task waits on (see ffi/resolve.ts and docs/ARCHITECTURE.md). IP literals are
 * parsed here, with no call at all. "localhost" (and names under ".localhost") always include
 * both loopback addresses, as RFC 6761 asks of resolver libraries, after what the resolver
 * said. Where the library cannot be loaded (the deno backend without one) it asks
 * `Deno.resolveDns` for A and AAAA records instead, which does not read `/etc/hosts`.
 *
 * @module
 */

import { IoError } from "../ffi/errors.ts";
import { newAddr, writeAddr } from "../ffi/layout.ts";
import { openLibrary } from "../ffi/library.ts";
import { MAX_HOST, resolve, resolveError } from "../ffi/resolve.ts";
import { DK_EAI_NONAME } from "../ffi/layout.ts";
import { PromiseWait } from "../runtime/call.ts";
import type { Operation } from "../runtime/operation.ts";
import type { NetAddr } from "./addr.ts";
import { GenOp } from "../runtime/operation.ts";

const LOOPBACKS = ["::1", "127.0.0.1"];

/**
 * Resolve `hostname` to its addresses, each with `port`: IP literals at once, names through
 * getaddrinfo on a Deno blocking-call thread (never on the scheduler's).
 *
 * @param hostname a host name or an IP literal (1..253 characters)
 * @param port the port each address gets (0..65535)
 * @returns an operation giving the addresses (at least one), in the resolver's order
 * @throws {TypeError} for a hostname that is not a non-empty string of at most 253 characters
 *   without NUL; {@linkcode RangeError} for a bad port; the operation throws an `IoError` with
 *   code "ENOTFOUND" (no such host; the message names it) or "EAI_AGAIN" (the resolver failed
 *   for now).
 * @example
 * ```ts
 * import { IoError, lookupHost } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const addrs = await lookupHost("localhost", 8080);
 * assert.ok(addrs.some((a) => a.hostname === "127.0.0.1" && a.port === 8080));
 * await assert.rejects(
 *   async () => await lookupHost("no-such-host.invalid", 80),
 *   (e: unknown) => e instanceof IoError && e.code === "ENOTFOUND" && /no-such/.test(e.message),
 * );
 * ```
 */
export function lookupHost(
  hostname: string,
  port: number,
): Operation<NetAddr[]> & PromiseLike<NetAddr[]> {
  checkHost(hostname, "lookupHost");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`lookupHost: port must be an integer in 0..65535, got ${port}`);
  }
  return new GenOp(function* () {
    const literal = ipLiteral(hostname);
    if (literal !== null) return [{ transport: "tcp" as const, hostname: literal, port }];
    const found = yield* new PromiseWait(systemLookup(hostname, port));
    const out: NetAddr[] = found.map((a) => ({ transport: "tcp", hostname: a, port }));
    if (isLocalhost(hostname)) {
      for (const lo of LOOPBACKS) {
        if (!found.includes(lo)) out.push({ transport: "tcp", hostname: lo, port });
      }
    }
    return out;
  });
}

/**
 * Check a host name argument.
 *
 * @param hostname the value given
 * @param what the call, for the message
 * @throws {TypeError} unless a string of 1..253 characters without NUL.
 * @example
 * ```ts
 * import { checkHost } from "./lookup.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkHost("", "connect"), TypeError);
 * checkHost("example.com", "connect");
 * ```
 */
export function checkHost(hostname: unknown, what: string): asserts hostname is string {
  if (typeof hostname !== "string") {
    throw new TypeError(`${what}: hostname must be a string, got ${typeof hostname}`);
  }
  if (hostname.length === 0 || hostname.length > MAX_HOST || hostname.includes("\0")) {
    throw new TypeError(
      `${what}: hostname must have 1..${MAX_HOST} characters and no NUL, got ${
        JSON.stringify(hostname.slice(0, 40))
      }`,
    );
  }
}

/**
 * The address text of an IP literal ("[::1]" → "::1"), or null for a name.
 *
 * @param hostname a host name or literal
 * @returns the literal's text, or null
 * @example
 * ```ts
 * import { ipLiteral } from "./lookup.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ipLiteral("127.0.0.1"), "127.0.0.1");
 * assert.equal(ipLiteral("localhost"), null);
 * ```
 */
export function ipLiteral(hostname: string): string | null {
  if (isLocalhost(hostname)) return null;
  try {
    writeAddr(newAddr(), hostname, 0);
  } catch {
    return null;
  }
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

function isLocalhost(h: string): boolean {
  const l = h.toLowerCase().replace(/\.$/, "");
  return l === "localhost" || l.endsWith(".localhost");
}

/** The address texts of `host`: getaddrinfo through the library, else Deno's DNS client. */
async function systemLookup(host: string, port: number): Promise<string[]> {
  let lib;
  try {
    lib = await openLibrary();
  } catch {
    return await dnsLookup(host);
  }
  return (await resolve(lib, host, port)).map((a) => a.hostname);
}

async function dnsLookup(host: string): Promise<string[]> {
  const out: string[] = [];
  let failure: unknown = null;
  for (const type of ["AAAA", "A"] as const) {
    try {
      out.push(...await Deno.resolveDns(host, type));
    } catch (e) {
      failure = e;
    }
  }
  if (out.length > 0) return out;
  if (isLocalhost(host)) return [];
  if (failure instanceof Deno.errors.NotCapable) throw failure;
  throw resolveError(-DK_EAI_NONAME, host);
}

/**
 * The error thrown when every address of `host` refused a connect: the last error's code,
 * and a message naming the host and the addresses tried.
 *
 * @param host the name connected to
 * @param port the port
 * @param tried the addresses tried
 * @param last the last address's error
 * @returns the error to throw
 * @example
 * ```ts
 * import { IoError } from "../mod.ts";
 * import { connectError } from "./lookup.ts";
 * import assert from "node:assert/strict";
 * const e = connectError("db.local", 5432, ["10.0.0.1"], new IoError(111, "ECONNREFUSED", "connect"));
 * assert.equal(e.code, "ECONNREFUSED");
 * assert.match(e.message, /db\.local/);
 * ```
 */
export function connectError(
  host: string,
  port: number,
  tried: string[],
  last: IoError,
): IoError {
  return new IoError(
    last.errno,
    last.code,
    "connect",
    `connect to "${host}" port ${port} failed: ${last.code} (tried ${tried.join(", ")})`,
  );
}
