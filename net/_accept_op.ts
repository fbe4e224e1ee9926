/**
 * Internal: `AcceptOp`, one accept on a listening socket (TCP or Unix), handing the new fd to
 * a factory that wraps it (`TcpStream`, `UnixStream`).
 *
 * Invariant (cancel safety): a connection accepted for a task that is gone is kept by the
 * listener (`salvaged`) and handed to the next accept, or closed with the listener.
 *
 * @module
 */

import type { IoReactor } from "../ffi/reactor.ts";
import { newAddr } from "../ffi/layout.ts";
import type { Poll } from "../runtime/operation.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { dropFd, GO, NetOp, READ, SocketCore } from "./_socket.ts";

/**
 * Accept one connection on `sock` and wrap it with `make`.
 *
 * @example
 * ```ts ignore
 * // Not run: needs a listener's SocketCore (private); TcpListener/UnixListener.accept run it.
 * const conn = yield* new AcceptOp(core, "TcpStream", true, (c, peer) => new TcpStream(c));
 * ```
 */
export class AcceptOp<T> extends NetOp<T> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "accept";
  }

  readonly #peer: Uint8Array | null;
  readonly #kind: string;
  readonly #make: (core: SocketCore, peer: Uint8Array | null) => T;

  /**
   * Make one.
   *
   * @param sock the listener
   * @param kind what the new socket is called (for messages)
   * @param wantPeer true to ask the reactor for the peer's IP address
   * @param make wraps the accepted socket (peer: the address record, or null)
   */
  constructor(
    sock: SocketCore,
    kind: string,
    wantPeer: boolean,
    make: (core: SocketCore, peer: Uint8Array | null) => T,
  ) {
    super(sock, READ);
    this.#kind = kind;
    this.#peer = wantPeer ? newAddr() : null;
    this.#make = make;
  }

  protected override prepare(_w: Waker): Poll<T> | typeof GO {
    const kept = this.sock!.salvaged;
    if (kept !== null && kept.length > 0) {
      const fd = kept.shift() as number;
      const s = this.sock!;
      return this.#make(new SocketCore(fd, this.#kind, s.driver, s.sched), null);
    }
    return GO;
  }

  protected write(r: IoReactor, token: number): void {
    r.accept(token, this.sock!.fd, this.#peer);
  }

  protected finish(res: number): T {
    if (res < 0) return this.fail(res, "accept");
    return this.#make(new SocketCore(res, this.#kind, this.driverRef, currentCore()), this.#peer);
  }

  protected override salvage(res: number): void {
    if (res < 0) return;
    const s = this.sock!;
    if (s.closed) {
      dropFd(this.driverRef, res);
      return;
    }
    (s.salvaged ??= []).push(res);
  }
}
