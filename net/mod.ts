/**
 * Dokio networking: {@linkcode TcpListener}, {@linkcode TcpStream} (with
 * owned split halves and web-stream adapters), {@linkcode UdpSocket},
 * {@linkcode UnixListener}/{@linkcode UnixStream}/{@linkcode UnixDatagram},
 * the {@linkcode TcpSocket} builder and {@linkcode lookupHost}, driven by the
 * reactor (io_uring, epoll, kqueue, or the portable deno backend). Importing this module
 * installs the runtime's I/O driver factory.
 *
 * Every I/O method returns an operation: `yield*` it inside a task, `await`
 * it outside. Failures are `IoError`s carrying `errno` and `code`
 * ("ECONNREFUSED", "ECONNRESET", "EPIPE", "EADDRINUSE", "EMFILE"…); use after
 * close throws `ClosedError`; bad arguments throw TypeError/RangeError at the
 * call.
 *
 * @example
 * ```ts
 * import { run, spawn } from "../runtime/mod.ts";
 * import { TcpListener, TcpStream } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * function* echo(conn: TcpStream) {
 *   using c = conn;
 *   const buf = new Uint8Array(16384);
 *   for (let n; (n = yield* c.read(buf)) !== null;) yield* c.writeAll(buf.subarray(0, n));
 * }
 *
 * const reply = await run(function* () {
 *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
 *   const server = spawn(function* () {
 *     const incoming = listener.incoming();
 *     for (let conn; (conn = yield* incoming.accept()) !== null;) spawn(echo(conn));
 *   });
 *   using c = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
 *   yield* c.writeAll(new TextEncoder().encode("hi"));
 *   const buf = new Uint8Array(2);
 *   yield* c.readExact(buf);
 *   listener.close(); // ends the accept loop
 *   yield* server;
 *   return new TextDecoder().decode(buf);
 * });
 * assert.equal(reply, "hi");
 * ```
 *
 * @module
 */

export type { AddrOptions, NetAddr } from "./addr.ts";
export type { Operation } from "../runtime/operation.ts";
export { type ConnectCallOptions, type ConnectOptions, TcpStream } from "./tcp_stream.ts";
export { Incoming, type IncomingOptions, type ListenOptions, TcpListener } from "./tcp_listener.ts";
export { OwnedReadHalf, OwnedWriteHalf } from "./split.ts";
export { type Datagram, type UdpBindOptions, UdpSocket } from "./udp_socket.ts";
export { SocketStream } from "./socket_stream.ts";
export { UnixStream } from "./unix_stream.ts";
export { UnixListener, type UnixListenOptions } from "./unix_listener.ts";
export { UnixDatagram, type UnixDatagramFrom } from "./unix_datagram.ts";
export { UNIX_PATH_MAX, type UnixAddr, type UnixAddrOptions } from "./unix_addr.ts";
export type { PeerCred } from "../ffi/unix.ts";
export { lookupHost } from "./lookup.ts";
export { TcpSocket } from "./tcp_socket.ts";
export { IoError } from "../ffi/errors.ts";
export { ClosedError } from "../runtime/errors.ts";
export {
  serve,
  type ServeAddr,
  type ServeCloseOptions,
  type ServeOptions,
  Server,
  type ServeStats,
  type ServeWorkerStats,
} from "./serve/serve.ts";
