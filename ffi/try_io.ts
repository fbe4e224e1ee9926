/**
 * Nonblocking socket calls of the C library (`reactor_c/net.c`): one recv
 * (optionally peeking), one send, one gathering send, and Unix datagrams by
 * path. Each returns at once: `null` means "not ready" (EAGAIN), and the caller
 * then waits for readiness with a reactor POLL record before trying again.
 *
 * Invariant: buffers are passed to C for the duration of the call only (the
 * gathering send's addresses too), so nothing outlives the call; a negative C
 * result other than EAGAIN becomes an `IoError`.
 *
 * @module
 */

import { errnoName, ioError } from "./errors.ts";
import { DK_MAX_LEN, DK_MSG_PEEK } from "./layout.ts";
import type { Library } from "./library.ts";
import { pointerOf } from "./pointer.ts";

/** Most buffers one gathering send takes (dokio.h). */
export const MAX_IOV = 1024;

const iovWords = new Uint32Array(MAX_IOV * 4);
const fromOut = new Uint8Array(256);
const fromLen = new Uint32Array(1);

function done(r: number, what: string): number | null {
  if (r >= 0) return r;
  if (errnoName(r) === "EAGAIN") return null;
  throw ioError(r, what);
}

/**
 * One nonblocking recv into `buf`.
 *
 * @param lib the loaded library
 * @param fd the socket
 * @param buf where the bytes go
 * @param peek true to leave the bytes queued (MSG_PEEK)
 * @returns bytes read (0 at end of stream), or null when none are ready
 * @throws {IoError} ECONNRESET…
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library and a socket fd; SocketStream's peek/tryRead/writev examples run this code.
 * const n = tryRecv(lib, fd, buf, false);
 * ```
 */
export function tryRecv(lib: Library, fd: number, buf: Uint8Array, peek: boolean): number | null {
  const n = Math.min(buf.byteLength, DK_MAX_LEN);
  return done(lib.symbols.dk_try_recv(fd, buf, n, peek ? DK_MSG_PEEK : 0), "recv");
}

/**
 * One nonblocking send of `buf`.
 *
 * @param lib the loaded library
 * @param fd the socket
 * @param buf the bytes
 * @returns bytes taken (maybe fewer), or null when the send buffer is full
 * @throws {IoError} EPIPE, ECONNRESET…
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library and a socket fd; SocketStream's peek/tryRead/writev examples run this code.
 * const n = trySend(lib, fd, bytes);
 * ```
 */
export function trySend(lib: Library, fd: number, buf: Uint8Array): number | null {
  const n = Math.min(buf.byteLength, DK_MAX_LEN);
  return done(lib.symbols.dk_try_send(fd, buf, n), "send");
}

/**
 * One nonblocking gathering send of `bufs` (at most {@linkcode MAX_IOV}, total capped at
 * `DK_MAX_LEN`: the caller sends the rest with the next call).
 *
 * @param lib the loaded library
 * @param fd the socket
 * @param bufs the buffers, in order
 * @returns bytes taken (maybe fewer than all), or null when the send buffer is full
 * @throws {IoError} EPIPE…; {@linkcode RangeError} for more than MAX_IOV buffers.
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library and a socket fd; SocketStream's peek/tryRead/writev examples run this code.
 * const n = trySendv(lib, fd, [header, body]);
 * ```
 */
export function trySendv(lib: Library, fd: number, bufs: readonly Uint8Array[]): number | null {
  if (bufs.length > MAX_IOV) {
    throw new RangeError(`writev: at most ${MAX_IOV} buffers, got ${bufs.length}`);
  }
  let total = 0;
  let n = 0;
  for (const b of bufs) {
    const len = Math.min(b.byteLength, DK_MAX_LEN - total);
    if (len === 0) continue;
    const p = pointerOf(b);
    iovWords[4 * n] = p % 4294967296;
    iovWords[4 * n + 1] = Math.floor(p / 4294967296);
    iovWords[4 * n + 2] = len;
    iovWords[4 * n + 3] = 0;
    n++;
    total += len;
    if (total >= DK_MAX_LEN) break;
  }
  if (n === 0) return 0;
  return done(lib.symbols.dk_try_sendv(fd, iovWords, n), "sendmsg");
}

/**
 * One nonblocking datagram to a Unix address (`to` null: the connected peer).
 *
 * @param lib the loaded library
 * @param fd the datagram socket
 * @param buf the datagram
 * @param to the address bytes, or null
 * @returns bytes sent, or null when the socket is not ready
 * @throws {IoError} ENOENT, ECONNREFUSED, EMSGSIZE…
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library and a socket fd; SocketStream's peek/tryRead/writev examples run this code.
 * trySendToUnix(lib, fd, bytes, path);
 * ```
 */
export function trySendToUnix(
  lib: Library,
  fd: number,
  buf: Uint8Array,
  to: Uint8Array | null,
): number | null {
  const n = Math.min(buf.byteLength, DK_MAX_LEN);
  return done(
    lib.symbols.dk_try_unix_sendto(fd, buf, n, to, to === null ? 0 : to.byteLength),
    "sendto",
  );
}

/**
 * One nonblocking datagram from a Unix datagram socket.
 *
 * @param lib the loaded library
 * @param fd the datagram socket
 * @param buf where the datagram goes (a longer one is truncated)
 * @returns its length and the sender's address bytes (empty: unnamed), or null when none
 * @throws {IoError} on failure.
 * @example
 * ```ts ignore
 * // Not run: needs the loaded library and a socket fd; SocketStream's peek/tryRead/writev examples run this code.
 * const got = tryRecvFromUnix(lib, fd, buf);
 * ```
 */
export function tryRecvFromUnix(
  lib: Library,
  fd: number,
  buf: Uint8Array,
): [number, Uint8Array] | null {
  const n = Math.min(buf.byteLength, DK_MAX_LEN);
  const r = done(
    lib.symbols.dk_try_unix_recvfrom(fd, buf, n, fromOut, fromOut.byteLength, fromLen),
    "recvfrom",
  );
  return r === null ? null : [r, fromOut.slice(0, fromLen[0])];
}
