/**
 * `UnixListener`: a listening Unix-domain stream socket.
 *
 * Invariants: a cancelled accept loses no connection (the next accept gets it); close ends a
 * pending accept with ClosedError. Binding makes the socket file and closing removes it, on
 * every backend (as `Deno.listen` does), so a path can be bound again at once.
 *
 * @module
 */

import { ClosedError } from "../runtime/errors.ts";
import type { Operation } from "../runtime/operation.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import { SocketCore } from "./_socket.ts";
import { GenOp } from "../runtime/operation.ts";
import { AcceptOp } from "./_accept_op.ts";
import { currentDriver } from "./_driver.ts";
import {
  removeSocketFile,
  type UnixAddr,
  unixAddrBytes,
  unixAddrOf,
  type UnixAddrOptions,
} from "./unix_addr.ts";
import { UnixStream } from "./unix_stream.ts";

/**
 * Options of {@linkcode UnixListener.bind}: the address and the accept queue's length.
 *
 * @example
 * ```ts
 * import type { UnixListenOptions } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const o: UnixListenOptions = { path: "/tmp/app.sock", backlog: 128 };
 * assert.equal(o.backlog, 128);
 * ```
 */
export interface UnixListenOptions extends UnixAddrOptions {
  /** Pending connections the kernel queues (1..65535, default 1024). */
  backlog?: number;
}

const unixStreamOf = (core: SocketCore): UnixStream => new UnixStream(core);

/**
 * A listening Unix stream socket.
 *
 * @example
 * ```ts
 * import { run, UnixListener, UnixStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * await run(function* () {
 *   using listener = yield* UnixListener.bind({ abstract: `dokio-doc-${Deno.pid}` });
 *   using client = yield* UnixStream.connect({ abstract: `dokio-doc-${Deno.pid}` });
 *   using server = yield* listener.accept();
 *   yield* client.writeAll(new Uint8Array([1, 2, 3]));
 *   const buf = new Uint8Array(8);
 *   assert.equal(yield* server.read(buf), 3);
 *   assert.equal(listener.localAddr.abstract, true);
 * });
 * ```
 */
export class UnixListener implements Disposable, AsyncIterable<UnixStream> {
  readonly #core: SocketCore;
  readonly #path: string | null;
  #local: UnixAddr | null = null;

  /**
   * Internal: made by {@linkcode UnixListener.bind}.
   *
   * @param core the socket state
   * @param path the socket file it made (removed by close), or null for an abstract name
   * @throws {TypeError} when called with anything else.
   */
  constructor(core: SocketCore, path?: string | null) {
    if (!(core instanceof SocketCore)) throw new TypeError("use UnixListener.bind()");
    this.#core = core;
    this.#path = path ?? null;
  }

  /**
   * Bind to `path` (making the socket file) or a Linux abstract name, and listen.
   *
   * @param opts `{ path }` or `{ abstract }`, and `backlog`
   * @returns an operation giving the listener
   * @throws {TypeError} for a bad address; {@linkcode RangeError} for a path over the OS limit
   *   or a bad backlog; `Deno.errors.NotCapable` without --allow-read and --allow-write for the
   *   path; the operation throws an `IoError` (EADDRINUSE: the file exists; EOPNOTSUPP: an
   *   abstract name on the deno backend or off Linux).
   * @example
   * ```ts
   * import { UnixListener } from "../mod.ts";
   * import assert from "node:assert/strict";
   * assert.throws(() => UnixListener.bind({ path: "/tmp/" + "x".repeat(200) }), RangeError);
   * ```
   */
  static bind(opts: UnixListenOptions): Operation<UnixListener> & PromiseLike<UnixListener> {
    const addr = unixAddrBytes(opts, "UnixListener.bind");
    const backlog = opts.backlog ?? 1024;
    if (!Number.isInteger(backlog) || backlog < 1 || backlog > 65535) {
      throw new RangeError(`UnixListener.bind: backlog must be an integer in 1..65535`);
    }
    return new GenOp(function* () {
      const driver = yield* currentDriver();
      const fd = driver.reactor.unixListen(addr, backlog);
      const core = new SocketCore(fd, "UnixListener", driver, currentCore());
      return new UnixListener(core, opts.path ?? null);
    });
  }

  /** The address it listens on. */
  get localAddr(): UnixAddr {
    if (this.#local === null) {
      const c = this.#core;
      c.checkOpen();
      this.#local = unixAddrOf(c.reactor.unixName(c.fd, false));
    }
    return this.#local;
  }

  /**
   * Same as {@linkcode UnixListener.localAddr}, under `Deno.Listener`'s name.
   *
   * @example
   * ```ts
   * import { run, UnixListener } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * const path = Deno.makeTempDirSync() + "/addr.sock";
   * await run(function* () {
   *   using listener = yield* UnixListener.bind({ path });
   *   assert.equal(listener.addr, listener.localAddr);
   *   assert.equal(listener.addr.path, path);
   * });
   * ```
   */
  get addr(): UnixAddr {
    return this.localAddr;
  }

  /** The fd (for diagnostics; -1 once closed). */
  get fd(): number {
    return this.#core.fd;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#core.closed;
  }

  /**
   * Accept one connection.
   *
   * @returns an operation giving the connected stream
   * @throws {ClosedError} (from the operation) when the listener is closed; `IoError` (EMFILE…).
   * @example
   * ```ts
   * import { run, UnixListener, UnixStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempDir() + "/a.sock";
   * await run(function* () {
   *   using l = yield* UnixListener.bind({ path });
   *   using c = yield* UnixStream.connect({ path });
   *   using s = yield* l.accept();
   *   assert.equal(s.localAddr.path, path);
   *   c.close();
   * });
   * ```
   */
  accept(): Operation<UnixStream> & PromiseLike<UnixStream> {
    return new AcceptOp(this.#core, "UnixStream", false, unixStreamOf);
  }

  /**
   * `for await (const conn of listener)`: connections until the listener is closed.
   *
   * @returns an async iterator of the connections.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<UnixStream, void, undefined> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (e) {
        if (e instanceof ClosedError) return;
        throw e;
      }
    }
  }

  /**
   * Stop listening: a pending accept ends with ClosedError, the fd is closed and the socket
   * file removed. Idempotent.
   */
  close(): void {
    if (this.#core.closed) return;
    this.#core.close();
    removeSocketFile(this.#path);
  }

  /** `using listener = …` closes it at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }
}
