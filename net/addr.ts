/**
 * Socket addresses of the networking API: {@linkcode NetAddr} (shaped like
 * `Deno.NetAddr`) and the checks that turn user options into the reactor's
 * 32-byte `dk_addr` records.
 *
 * Invariant: every address that reaches the reactor was validated here at
 * the call — a bad port is a `RangeError`, a bad hostname or a non-object
 * option a `TypeError` — so a malformed address never becomes an I/O error.
 *
 * Hostnames are IP literals ("127.0.0.1", "::1", "[::1]", "0.0.0.0") or
 * "localhost" (127.0.0.1); other names must be resolved first
 * (`Deno.resolveDns`), because the reactor does no name lookups.
 *
 * @module
 */

import { newAddr, readAddr, writeAddr } from "../ffi/layout.ts";

/**
 * A socket address, as `Deno.NetAddr`.
 *
 * @example
 * ```ts
 * import { type NetAddr, run, TcpListener } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 *   const addr: NetAddr = listener.localAddr;
 *   assert.equal(`${addr.transport} ${addr.hostname}`, "tcp 127.0.0.1");
 *   assert.ok(addr.port > 0);
 * });
 * ```
 */
export interface NetAddr {
  /** "tcp" or "udp". */
  transport: "tcp" | "udp";
  /** The IP address in text form ("127.0.0.1", "::1"). */
  hostname: string;
  /** The port, 0..65535. */
  port: number;
}

/**
 * Where to connect or send: a hostname (IP literal or "localhost") and a port.
 *
 * @example
 * ```ts
 * import { type AddrOptions, run, UdpSocket } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   using a = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
 *   using b = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
 *   const to: AddrOptions = { hostname: "127.0.0.1", port: b.localAddr.port };
 *   yield* a.sendTo(new Uint8Array([1, 2, 3]), to);
 *   assert.equal(yield* b.recv(new Uint8Array(16)), 3);
 * });
 * ```
 */
export interface AddrOptions {
  /** IP literal or "localhost"; default "127.0.0.1". */
  hostname?: string;
  /** Port 0..65535. */
  port: number;
}

/**
 * Validate `opts` and encode it as a `dk_addr` record.
 *
 * @throws {TypeError} for a non-object, a missing/non-numeric port or a bad hostname.
 * @throws {RangeError} for a port outside 0..65535 (or 0 when `allowZero` is false).
 * @example
 * ```ts
 * import { addrRecord } from "./addr.ts";
 * import assert from "node:assert/strict";
 * const rec = addrRecord({ hostname: "::1", port: 80 }, "connect", false);
 * assert.equal(rec.byteLength, 32);
 * ```
 */
export function addrRecord(opts: AddrOptions, what: string, allowZero: boolean): Uint8Array {
  if (opts === null || typeof opts !== "object") {
    throw new TypeError(`${what}: expected an options object { hostname, port }`);
  }
  const { hostname = "127.0.0.1", port } = opts;
  if (typeof port !== "number") {
    throw new TypeError(`${what}: port must be a number, got ${typeof port}`);
  }
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new RangeError(
      `${what}: port must be an integer in ${allowZero ? 0 : 1}..65535, got ${port}`,
    );
  }
  if (typeof hostname !== "string") {
    throw new TypeError(`${what}: hostname must be a string, got ${typeof hostname}`);
  }
  try {
    return writeAddr(newAddr(), hostname, port);
  } catch (e) {
    if (e instanceof TypeError) throw new TypeError(`${what}: ${e.message}`);
    throw e;
  }
}

/**
 * Decode a `dk_addr` record as a {@linkcode NetAddr}.
 *
 * @example
 * ```ts
 * import { addrRecord, netAddr } from "./addr.ts";
 * import assert from "node:assert/strict";
 * const a = netAddr(addrRecord({ port: 7 }, "x", true), "tcp");
 * assert.equal(a.hostname, "127.0.0.1");
 * assert.equal(a.port, 7);
 * ```
 */
export function netAddr(rec: Uint8Array, transport: "tcp" | "udp"): NetAddr {
  const a = readAddr(rec, transport);
  return { transport, hostname: a.hostname, port: a.port };
}

/**
 * Check that `buf` is a Uint8Array (the reactor reads and writes raw bytes).
 *
 * @throws {TypeError} otherwise.
 * @example
 * ```ts
 * import { checkBuffer } from "./addr.ts";
 * checkBuffer(new Uint8Array(4), "read");
 * ```
 */
export function checkBuffer(buf: unknown, what: string): asserts buf is Uint8Array {
  if (!(buf instanceof Uint8Array)) {
    throw new TypeError(`${what}: the buffer must be a Uint8Array`);
  }
}
