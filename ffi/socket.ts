/**
 * Synchronous socket helpers of the C library: local/peer address, socket
 * options (set and read back), an immediate close, and the steps of the
 * socket builder (socket, bind, listen, connect). They act on a file descriptor directly,
 * outside any reactor, so they may be called at any time (also while a
 * reactor is parked). Invariant: a negative C result becomes an
 * `IoError`; nothing here returns `-errno`.
 *
 * @module
 */

import { errnoName, ioError } from "./errors.ts";
import {
  ADDR_SIZE,
  DK_FAMILY_INET,
  DK_FAMILY_INET6,
  DK_SOCK_STREAM,
  readAddr,
  type SocketAddr,
} from "./layout.ts";
import type { Library } from "./library.ts";

// Reused scratch record: the calls are synchronous, so one suffices per isolate.
const scratch = new Uint8Array(ADDR_SIZE);

/**
 * The local address a socket is bound to (e.g. the port the kernel chose for `:0`).
 *
 * @throws {IoError} when the fd is not a bound socket.
 * @example
 * ```ts
 * import { openLibrary } from "./library.ts";
 * import { localAddr } from "./socket.ts";
 * import { TcpListener } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const lib = await openLibrary();
 * const listener = await TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 * assert.equal(localAddr(lib, listener.fd).port, listener.localAddr.port);
 * listener.close();
 * ```
 */
export function localAddr(lib: Library, fd: number, transport: "tcp" | "udp" = "tcp"): SocketAddr {
  checkFd(fd);
  const r = lib.symbols.dk_local_addr(fd, scratch);
  if (r < 0) throw ioError(r, "getsockname");
  return readAddr(scratch, transport);
}

/**
 * The address of a connected socket's peer.
 *
 * @throws {IoError} when the fd is not a connected socket (ENOTCONN, EBADF…).
 * @example
 * ```ts
 * import { openLibrary } from "./library.ts";
 * import { peerAddr } from "./socket.ts";
 * import { TcpListener, TcpStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const lib = await openLibrary();
 * const listener = await TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 * const conn = await TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
 * assert.equal(peerAddr(lib, conn.fd).port, listener.localAddr.port);
 * conn.close();
 * listener.close();
 * ```
 */
export function peerAddr(lib: Library, fd: number, transport: "tcp" | "udp" = "tcp"): SocketAddr {
  checkFd(fd);
  const r = lib.symbols.dk_peer_addr(fd, scratch);
  if (r < 0) throw ioError(r, "getpeername");
  return readAddr(scratch, transport);
}

/**
 * Set a socket option (`DK_SOCKOPT_*`) to an integer value (booleans as 0/1).
 *
 * @throws {IoError} on failure; `TypeError` for non-integer arguments.
 * @example
 * ```ts
 * import { DK_SOCKOPT_NODELAY } from "./layout.ts";
 * import { openLibrary } from "./library.ts";
 * import { setSockOpt } from "./socket.ts";
 * import { TcpListener, TcpStream } from "../mod.ts";
 * const lib = await openLibrary();
 * const listener = await TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 * const conn = await TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
 * setSockOpt(lib, conn.fd, DK_SOCKOPT_NODELAY, 1); // throws an IoError if the kernel refuses
 * conn.close();
 * listener.close();
 * ```
 */
export function setSockOpt(lib: Library, fd: number, option: number, value: number): void {
  checkFd(fd);
  if ((option | 0) !== option || (value | 0) !== value) {
    throw new TypeError("socket option id and value must be 32-bit integers");
  }
  const r = lib.symbols.dk_setsockopt(fd, option, value);
  if (r < 0) throw ioError(r, "setsockopt");
}

/**
 * Close a file descriptor now, outside any reactor (for fds no reactor op is using).
 *
 * @throws {IoError} when close(2) fails (EBADF…).
 * @example
 * ```ts ignore
 * // Not run: closes an fd nobody else owns; every Dokio socket's fd belongs to its handle, which closes it.
 * import { closeNow } from "./socket.ts";
 * closeNow(lib, fd);
 * ```
 */
export function closeNow(lib: Library, fd: number): void {
  checkFd(fd);
  const r = lib.symbols.dk_close(fd);
  if (r < 0) throw ioError(r, "close");
}

function checkFd(fd: number): void {
  if ((fd | 0) !== fd) throw new TypeError(`fd must be a 32-bit integer, got ${fd}`);
}

const optOut = new Int32Array(1);

/**
 * A new nonblocking TCP socket (the socket builder's first step).
 *
 * @param lib the loaded library
 * @param v6 true for IPv6, false for IPv4
 * @returns the fd
 * @throws {IoError} when the host refuses (EMFILE, EAFNOSUPPORT…).
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library; the TcpSocket builder's example runs this code.
 * const fd = tcpSocket(lib, false);
 * ```
 */
export function tcpSocket(lib: Library, v6: boolean): number {
  const fd = lib.symbols.dk_socket(v6 ? DK_FAMILY_INET6 : DK_FAMILY_INET, DK_SOCK_STREAM);
  if (fd < 0) throw ioError(fd, "socket");
  return fd;
}

/**
 * Bind `fd` to the `dk_addr` record `addr`.
 *
 * @param lib the loaded library
 * @param fd the socket
 * @param addr a 32-byte `dk_addr` record
 * @throws {IoError} EADDRINUSE, EADDRNOTAVAIL…
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library; the TcpSocket builder's example runs this code.
 * bindFd(lib, fd, writeAddr(newAddr(), "127.0.0.1", 0));
 * ```
 */
export function bindFd(lib: Library, fd: number, addr: Uint8Array): void {
  checkFd(fd);
  const r = lib.symbols.dk_bind(fd, addr);
  if (r < 0) throw ioError(r, "bind");
}

/**
 * listen(2) on a bound socket.
 *
 * @param lib the loaded library
 * @param fd the socket
 * @param backlog the queue length (≤ 0: 1024)
 * @throws {IoError} on failure.
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library; the TcpSocket builder's example runs this code.
 * listenFd(lib, fd, 128);
 * ```
 */
export function listenFd(lib: Library, fd: number, backlog: number): void {
  checkFd(fd);
  const r = lib.symbols.dk_listen(fd, backlog);
  if (r < 0) throw ioError(r, "listen");
}

/**
 * Start connecting `fd` to the `dk_addr` record `addr`.
 *
 * @param lib the loaded library
 * @param fd the socket
 * @param addr a 32-byte `dk_addr` record
 * @returns true when connected at once, false when in progress (wait for writability, then
 *   read `DK_SOCKOPT_ERROR`)
 * @throws {IoError} ECONNREFUSED, ENETUNREACH…
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library; the TcpSocket builder's example runs this code.
 * if (!connectFd(lib, fd, rec)) await writable(fd);
 * ```
 */
export function connectFd(lib: Library, fd: number, addr: Uint8Array): boolean {
  checkFd(fd);
  const r = lib.symbols.dk_connect(fd, addr);
  if (r === 0) return true;
  if (errnoName(r) === "EINPROGRESS") return false;
  throw ioError(r, "connect");
}

/**
 * Read a socket option (`DK_SOCKOPT_*`): booleans as 0/1, buffer sizes in bytes, linger in
 * seconds or -1 when off, `DK_SOCKOPT_ERROR` as a positive errno (0: none).
 *
 * @param lib the loaded library
 * @param fd the socket
 * @param option a `DK_SOCKOPT_*` id
 * @returns the value
 * @throws {IoError} on failure (EINVAL for an unknown option).
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library; the TcpSocket builder's example runs this code.
 * const linger = getSockOpt(lib, fd, DK_SOCKOPT_LINGER);
 * ```
 */
export function getSockOpt(lib: Library, fd: number, option: number): number {
  checkFd(fd);
  const r = lib.symbols.dk_getsockopt(fd, option, optOut);
  if (r < 0) throw ioError(r, "getsockopt");
  return optOut[0];
}
