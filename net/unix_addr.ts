/**
 * Unix socket addresses: {@linkcode UnixAddrOptions} (what a caller names: a file system path,
 * or on Linux an abstract name) and {@linkcode UnixAddr} (what a socket reports), with the
 * checks every Unix call makes at the call:
 * - a path (UTF-8) must be shorter than the OS limit (`sun_path`: 108 bytes on Linux, 104 on
 *   macOS), an abstract name at most one byte shorter: else a `RangeError`;
 * - a path needs Deno's read *and* write permission for it (`Deno.permissions.querySync`), as
 *   `Deno.listen`/`Deno.connect` with transport "unix" do, so the native reactor grants no
 *   more than Deno would: else `Deno.errors.NotCapable`, naming the flags. An abstract name
 *   touches no file and needs no file permission.
 *
 * @module
 */

/**
 * The longest Unix address `sun_path` holds on this OS (the C side reports the same number;
 * a test checks it).
 *
 * @example
 * ```ts
 * import { UNIX_PATH_MAX } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(UNIX_PATH_MAX === 108 || UNIX_PATH_MAX === 104);
 * ```
 */
export const UNIX_PATH_MAX: number = Deno.build.os === "linux" ? 108 : 104;

/**
 * Where a Unix socket binds or connects: exactly one of `path` and `abstract`.
 *
 * @example
 * ```ts
 * import type { UnixAddrOptions } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const file: UnixAddrOptions = { path: "/tmp/app.sock" };
 * const linuxOnly: UnixAddrOptions = { abstract: "app" };
 * assert.notEqual(file.path, linuxOnly.abstract);
 * ```
 */
export interface UnixAddrOptions {
  /** A file system path (the socket file is made by bind; remove it when done). */
  path?: string;
  /** A Linux abstract name (no file; gone with the last socket using it). */
  abstract?: string;
}

/**
 * A Unix socket's address, as the kernel reports it.
 *
 * @example
 * ```ts
 * import type { UnixAddr } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const a: UnixAddr = { transport: "unix", path: "/tmp/app.sock", abstract: false };
 * assert.equal(a.transport, "unix");
 * ```
 */
export interface UnixAddr {
  /** Always "unix". */
  transport: "unix";
  /** The path, or the abstract name (without its leading NUL); "" for an unnamed socket. */
  path: string;
  /** True for a Linux abstract name. */
  abstract: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Check `opts` and encode it as the raw address bytes the reactor takes (an abstract name
 * led by a 0 byte).
 *
 * @param opts the address
 * @param what the call, for messages
 * @returns the address bytes
 * @throws {TypeError} unless exactly one of `path`/`abstract` is a non-empty string without
 *   NUL; {@linkcode RangeError} when it is over the OS limit; `Deno.errors.NotCapable` without
 *   read and write permission for the path.
 * @example
 * ```ts
 * import { unixAddrBytes, UNIX_PATH_MAX } from "./unix_addr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(unixAddrBytes({ abstract: "a" }, "bind"), new Uint8Array([0, 97]));
 * assert.throws(() => unixAddrBytes({ path: "/" + "x".repeat(UNIX_PATH_MAX) }, "bind"), RangeError);
 * ```
 */
export function unixAddrBytes(opts: UnixAddrOptions, what: string): Uint8Array {
  if (opts === null || typeof opts !== "object") {
    throw new TypeError(`${what}: expected an options object { path } or { abstract }`);
  }
  const { path, abstract } = opts;
  if ((path === undefined) === (abstract === undefined)) {
    throw new TypeError(`${what}: give exactly one of path and abstract`);
  }
  const name = path ?? abstract;
  if (typeof name !== "string" || name.length === 0 || name.includes("\0")) {
    throw new TypeError(
      `${what}: the ${
        path !== undefined ? "path" : "abstract name"
      } must be a non-empty string without NUL`,
    );
  }
  const bytes = encoder.encode(name);
  if (abstract !== undefined) {
    if (bytes.byteLength + 1 > UNIX_PATH_MAX) {
      throw new RangeError(
        `${what}: abstract name of ${bytes.byteLength} bytes is over the limit of ${
          UNIX_PATH_MAX - 1
        }`,
      );
    }
    const out = new Uint8Array(bytes.byteLength + 1);
    out.set(bytes, 1);
    return out;
  }
  if (bytes.byteLength >= UNIX_PATH_MAX) {
    throw new RangeError(
      `${what}: path of ${bytes.byteLength} bytes is over the OS limit (${
        UNIX_PATH_MAX - 1
      } bytes): ${JSON.stringify(name.slice(0, 40))}…`,
    );
  }
  checkPathPermission(name);
  return bytes;
}

function checkPathPermission(path: string): void {
  for (const name of ["read", "write"] as const) {
    if (Deno.permissions.querySync({ name, path }).state !== "granted") {
      throw new Deno.errors.NotCapable(
        `Requires read and write access to "${path}", run again with the --allow-read and ` +
          `--allow-write flags`,
      );
    }
  }
}

/**
 * Decode raw address bytes (as the reactor reports them) into a {@linkcode UnixAddr}.
 *
 * @param bytes the address bytes (empty: unnamed; a leading 0: abstract)
 * @returns the address
 * @example
 * ```ts
 * import { unixAddrOf } from "./unix_addr.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(unixAddrOf(new Uint8Array([0, 97])), { transport: "unix", path: "a", abstract: true });
 * ```
 */
export function unixAddrOf(bytes: Uint8Array): UnixAddr {
  const abstract = bytes.byteLength > 0 && bytes[0] === 0;
  return {
    transport: "unix",
    path: decoder.decode(abstract ? bytes.subarray(1) : bytes),
    abstract,
  };
}

/** Remove the socket file a bound unix socket left at `path`, if any; already gone is fine. */
export function removeSocketFile(path: string | null): void {
  if (path === null) return;
  try {
    Deno.removeSync(path);
  } catch {
    // already gone (the deno backend's listener removes it itself)
  }
}
