/**
 * `UnixStream`: a connected Unix-domain stream socket, with everything a `TcpStream` reads and
 * writes with (it is an io/ `Reader` and `Writer`: `BufReader`, `Framed`, `copyBidirectional`
 * take it), plus its addresses and the peer's credentials.
 *
 * Invariants: those of `TcpStream` (cancel safety, call order per direction, ClosedError after
 * close). A connect cancelled while Deno (deno backend) is still connecting closes the late
 * connection; a full listener backlog (EAGAIN) is retried every millisecond, for up to a
 * second, then thrown.
 *
 * @module
 */

import type { PeerCred } from "../ffi/unix.ts";
import { errnoOf, IoError } from "../ffi/errors.ts";
import { PromiseWait } from "../runtime/call.ts";
import type { Operation } from "../runtime/operation.ts";
import type { ReactorDriver } from "../runtime/io/reactor_driver.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import { sleep } from "../time/sleep.ts";
import { dropFd, SocketCore } from "./_socket.ts";
import { GenOp } from "../runtime/operation.ts";
import { SocketStream } from "./socket_stream.ts";
import { currentDriver } from "./_driver.ts";
import { type UnixAddr, unixAddrBytes, unixAddrOf, type UnixAddrOptions } from "./unix_addr.ts";

/** How long a connect retries a full backlog (EAGAIN), in 1 ms steps. */
const BACKLOG_RETRIES = 1000;

/**
 * Wait for an fd the reactor gives now or later; one that arrives after the task stopped
 * waiting is closed.
 *
 * @example
 * ```ts ignore
 * // Not run: needs the runtime's I/O driver; UnixStream.connect runs it.
 * const fd = yield* fdOf(driver, driver.reactor.unixConnect(path));
 * ```
 */
export function* fdOf(
  driver: ReactorDriver,
  v: number | Promise<number>,
): Generator<unknown, number, unknown> {
  if (typeof v === "number") return v;
  let done = false;
  try {
    const fd = yield* new PromiseWait(v);
    done = true;
    return fd;
  } finally {
    if (!done) v.then((fd) => dropFd(driver, fd), () => {});
  }
}

/**
 * A connected Unix stream socket.
 *
 * @example
 * ```ts
 * import { BufReader, run, spawn, UnixListener, UnixStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempDir() + "/echo.sock";
 * await run(function* () {
 *   using listener = yield* UnixListener.bind({ path });
 *   const server = spawn(function* () {
 *     using conn = yield* listener.accept();
 *     const line = yield* new BufReader(conn).readLine();
 *     yield* conn.writeAll(new TextEncoder().encode(`echo ${line}\n`));
 *   });
 *   using client = yield* UnixStream.connect({ path });
 *   yield* client.writeAll(new TextEncoder().encode("hi\n"));
 *   assert.equal(yield* new BufReader(client).readLine(), "echo hi");
 *   yield* server;
 * });
 * assert.throws(() => Deno.statSync(path), Deno.errors.NotFound); // close removed the file
 * ```
 */
export class UnixStream extends SocketStream {
  readonly #core: SocketCore;
  #local: UnixAddr | null = null;
  #peer: UnixAddr | null = null;

  /**
   * Internal: wrap an open socket (made by `connect` and `UnixListener.accept`).
   *
   * @param core the socket state
   * @throws {TypeError} when called with anything else.
   */
  constructor(core: SocketCore) {
    if (!(core instanceof SocketCore)) {
      throw new TypeError("UnixStream is made by UnixStream.connect() or UnixListener.accept()");
    }
    super(core, "UnixStream");
    this.#core = core;
  }

  /**
   * Connect to the Unix socket at `path` (or, on Linux, the abstract name `abstract`).
   *
   * @param opts `{ path }` or `{ abstract }`
   * @returns an operation giving the connected stream
   * @throws {TypeError} for a bad address; {@linkcode RangeError} for a path over the OS limit;
   *   `Deno.errors.NotCapable` without --allow-read and --allow-write for the path; the
   *   operation throws an `IoError` (ENOENT: no socket there, ECONNREFUSED: nobody listening,
   *   EOPNOTSUPP: an abstract name on the deno backend or off Linux).
   * @example
   * ```ts
   * import { IoError, UnixStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempDir() + "/none.sock";
   * await assert.rejects(
   *   async () => await UnixStream.connect({ path }),
   *   (e: unknown) => e instanceof IoError && e.code === "ENOENT",
   * );
   * ```
   */
  static connect(opts: UnixAddrOptions): Operation<UnixStream> & PromiseLike<UnixStream> {
    const addr = unixAddrBytes(opts, "UnixStream.connect");
    return new GenOp(function* () {
      const driver = yield* currentDriver();
      for (let i = 0;; i++) {
        const v = driver.reactor.unixConnect(addr);
        if (v !== null) {
          const fd = yield* fdOf(driver, v);
          return new UnixStream(new SocketCore(fd, "UnixStream", driver, currentCore()));
        }
        if (i >= BACKLOG_RETRIES) {
          throw new IoError(
            errnoOf("EAGAIN"),
            "EAGAIN",
            "connect",
            "UnixStream.connect: the listener's backlog stayed full for a second",
          );
        }
        yield* sleep(1);
      }
    });
  }

  /** The local address (unnamed — path "" — for a connected client). */
  get localAddr(): UnixAddr {
    if (this.#local === null) this.#local = this.#name(false);
    return this.#local;
  }

  /** The peer's address (unnamed for a client's socket seen from a listener). */
  get peerAddr(): UnixAddr {
    if (this.#peer === null) this.#peer = this.#name(true);
    return this.#peer;
  }

  /**
   * Same as {@linkcode UnixStream.peerAddr}, under `Deno.UnixConn`'s name.
   *
   * @example
   * ```ts
   * import { run, UnixListener, UnixStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempDirSync() + "/peer.sock";
   * await run(function* () {
   *   using listener = yield* UnixListener.bind({ path });
   *   using conn = yield* UnixStream.connect({ path });
   *   assert.equal(conn.remoteAddr, conn.peerAddr);
   *   assert.equal(conn.remoteAddr.path, path);
   * });
   * ```
   */
  get remoteAddr(): UnixAddr {
    return this.peerAddr;
  }

  /**
   * The credentials of the process at the other end (SO_PEERCRED on Linux; getpeereid and
   * LOCAL_PEERPID on macOS, where pid may be -1), as the kernel recorded them at connect.
   *
   * @returns pid, uid and gid
   * @throws {ClosedError} when closed; `IoError` with code "EOPNOTSUPP" on the deno backend.
   * @example
   * ```ts
   * import { run, UnixListener, UnixStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const path = await Deno.makeTempDir() + "/cred.sock";
   * await run(function* () {
   *   using listener = yield* UnixListener.bind({ path });
   *   using client = yield* UnixStream.connect({ path });
   *   using server = yield* listener.accept();
   *   assert.equal(server.peerCred().uid, Deno.uid());
   *   client.close();
   * });
   * ```
   */
  peerCred(): PeerCred {
    const c = this.#core;
    c.checkOpen();
    return c.reactor.peerCred(c.fd);
  }

  #name(peer: boolean): UnixAddr {
    const c = this.#core;
    c.checkOpen();
    return unixAddrOf(c.reactor.unixName(c.fd, peer));
  }
}
