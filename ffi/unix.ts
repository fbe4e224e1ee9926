/**
 * Unix-domain socket helpers of the C library (`reactor_c/net.c`): make,
 * bind, connect and name `AF_UNIX` sockets, and ask a peer's credentials.
 * They act on fds directly, outside any reactor (the reactor's ACCEPT, RECV,
 * SEND, SHUTDOWN and CLOSE records then work on those fds as on any socket).
 *
 * A Unix address travels as raw bytes: a file system path (UTF-8, no NUL),
 * or on Linux an abstract name, whose first byte is 0. Invariant: a negative C
 * result becomes an `IoError` (`EAGAIN` becomes `null` where a caller retries).
 *
 * @module
 */

import { errnoName, ioError } from "./errors.ts";
import { DK_FAMILY_UNIX, DK_SOCK_DGRAM, DK_SOCK_STREAM } from "./layout.ts";
import type { Library } from "./library.ts";

/**
 * The credentials of the process at the other end of a Unix socket.
 *
 * @example
 * ```ts
 * import type { PeerCred } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const me: PeerCred = { pid: Deno.pid, uid: Deno.uid() ?? -1, gid: Deno.gid() ?? -1 };
 * assert.equal(me.pid, Deno.pid);
 * ```
 */
export interface PeerCred {
  /** The peer's process id; -1 where the host does not report it. */
  pid: number;
  /** The peer's user id. */
  uid: number;
  /** The peer's group id. */
  gid: number;
}

const credOut = new Int32Array(3);
/** A Unix name is at most sizeof sun_path (108) bytes; one more to detect a longer one. */
const nameOut = new Uint8Array(256);

/**
 * A new nonblocking Unix socket (stream or datagram).
 *
 * @param lib the loaded library
 * @param stream true for a stream socket, false for datagrams
 * @returns the fd
 * @throws {IoError} when the host refuses (EMFILE…).
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library and an fd; UnixListener/UnixStream's examples run this code.
 * const fd = unixSocket(lib, true);
 * ```
 */
export function unixSocket(lib: Library, stream: boolean): number {
  const fd = lib.symbols.dk_socket(DK_FAMILY_UNIX, stream ? DK_SOCK_STREAM : DK_SOCK_DGRAM);
  if (fd < 0) throw ioError(fd, "socket");
  return fd;
}

/**
 * Bind a Unix socket to `path` (raw address bytes).
 *
 * @param lib the loaded library
 * @param fd the socket
 * @param path the address bytes
 * @throws {IoError} EADDRINUSE, ENAMETOOLONG, EOPNOTSUPP (abstract off Linux)…
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library and an fd; UnixListener/UnixStream's examples run this code.
 * unixBind(lib, fd, new TextEncoder().encode("/tmp/app.sock"));
 * ```
 */
export function unixBind(lib: Library, fd: number, path: Uint8Array): void {
  const r = lib.symbols.dk_unix_bind(fd, path, path.byteLength);
  if (r < 0) throw ioError(r, "bind");
}

/**
 * Connect a Unix socket to `path`.
 *
 * @param lib the loaded library
 * @param fd the socket
 * @param path the address bytes
 * @param retryable true to answer a full backlog (EAGAIN) with false instead of an error
 * @returns true when connected, false when the listener's backlog is full (try again later).
 * @throws {IoError} ENOENT, ECONNREFUSED…
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library and an fd; UnixListener/UnixStream's examples run this code.
 * while (!unixConnect(lib, fd, path, true)) await delay(1);
 * ```
 */
export function unixConnect(
  lib: Library,
  fd: number,
  path: Uint8Array,
  retryable: boolean,
): boolean {
  const r = lib.symbols.dk_unix_connect(fd, path, path.byteLength);
  if (r === 0) return true;
  const code = errnoName(r);
  if (retryable && (code === "EAGAIN" || code === "EINPROGRESS")) return false;
  throw ioError(r, "connect");
}

/**
 * The Unix address of `fd` (its own, or its peer's), as raw bytes (empty when unnamed).
 *
 * @param lib the loaded library
 * @param fd the socket
 * @param peer true for the peer's address
 * @returns a fresh copy of the address bytes
 * @throws {IoError} ENOTCONN, EBADF…
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library and an fd; UnixListener/UnixStream's examples run this code.
 * const bytes = unixName(lib, fd, false);
 * ```
 */
export function unixName(lib: Library, fd: number, peer: boolean): Uint8Array {
  const n = lib.symbols.dk_unix_name(fd, peer ? 1 : 0, nameOut, nameOut.byteLength);
  if (n < 0) throw ioError(n, peer ? "getpeername" : "getsockname");
  return nameOut.slice(0, n);
}

/**
 * The credentials of the peer of a connected Unix socket.
 *
 * @param lib the loaded library
 * @param fd the socket
 * @returns pid, uid and gid
 * @throws {IoError} ENOTCONN, EOPNOTSUPP (a host with no way to ask)…
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library and an fd; UnixListener/UnixStream's examples run this code.
 * const { uid } = peerCred(lib, fd);
 * ```
 */
export function peerCred(lib: Library, fd: number): PeerCred {
  const r = lib.symbols.dk_peer_cred(fd, credOut);
  if (r < 0) throw ioError(r, "getsockopt(SO_PEERCRED)");
  return { pid: credOut[0], uid: credOut[1], gid: credOut[2] };
}
