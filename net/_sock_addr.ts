/**
 * Internal: a socket's local and peer addresses as {@linkcode NetAddr}
 * records, asked of the kernel (getsockname / getpeername).
 *
 * Invariant: a closed socket throws ClosedError before the kernel is asked;
 * each call gives a fresh record, which the caller may keep (an address does
 * not change while the socket is open).
 *
 * @module
 */

import type { NetAddr } from "./addr.ts";
import type { SocketCore } from "./_socket.ts";

/**
 * The address `core` is bound to.
 *
 * @throws {ClosedError} when the socket is closed; `IoError` when the kernel refuses.
 * @example
 * ```ts ignore
 * // Not run: a SocketCore exists only inside a TcpStream, TcpListener or UdpSocket (private); the public examples there run this code.
 * const addr = localNetAddr(core, "tcp");
 * ```
 */
export function localNetAddr(core: SocketCore, transport: "tcp" | "udp"): NetAddr {
  core.checkOpen();
  const a = core.reactor.localAddr(core.fd, transport);
  return { transport, hostname: a.hostname, port: a.port };
}

/**
 * The address of the peer `core` is connected to.
 *
 * @throws {ClosedError} when the socket is closed; `IoError` (ENOTCONN…) when the kernel refuses.
 * @example
 * ```ts ignore
 * // Not run: a SocketCore exists only inside a TcpStream, TcpListener or UdpSocket (private); the public examples there run this code.
 * const addr = peerNetAddr(core, "tcp");
 * ```
 */
export function peerNetAddr(core: SocketCore, transport: "tcp" | "udp"): NetAddr {
  core.checkOpen();
  const a = core.reactor.peerAddr(core.fd, transport);
  return { transport, hostname: a.hostname, port: a.port };
}
