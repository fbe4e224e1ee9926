/**
 * Synchronous socket helpers of the C library: local/peer address, socket
 * options and an immediate close. They act on a file descriptor directly,
 * outside any reactor, so they may be called at any time (also while a
 * reactor is parked). Invariant: a negative C result becomes an
 * `IoError`; nothing here returns `-errno`.
 *
 * @module
 */

import { ioError } from "./errors.ts";
import { ADDR_SIZE, readAddr, type SocketAddr } from "./layout.ts";
import type { Library } from "./library.ts";

// Reused scratch record: the calls are synchronous, so one suffices per isolate.
const scratch = new Uint8Array(ADDR_SIZE);

/**
 * The local address a socket is bound to (e.g. the port the kernel chose for `:0`).
 *
 * @throws {IoError} when the fd is not a bound socket.
 * @example
 * ```ts ignore
 * import { openLibrary } from "./library.ts";
 * import { localAddr } from "./socket.ts";
 * const lib = await openLibrary();
 * console.log(localAddr(lib, listenerFd).port);
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
 * ```ts ignore
 * import { peerAddr } from "./socket.ts";
 * console.log(peerAddr(lib, connFd).hostname);
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
 * ```ts ignore
 * import { DK_SOCKOPT_NODELAY } from "./layout.ts";
 * import { setSockOpt } from "./socket.ts";
 * setSockOpt(lib, fd, DK_SOCKOPT_NODELAY, 1);
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
