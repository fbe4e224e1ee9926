/**
 * Internal: operations made of a nonblocking attempt and a readiness wait. `ReadyOp` calls
 * `attempt` (a try-call of the C library: peek, gathering send, Unix datagram); when it says
 * "not ready" (null) it submits a POLL record for `mask`, and tries again when the fd is ready.
 *
 * Invariant: nothing is consumed by the wait itself (a POLL moves no bytes), so cancelling
 * one loses nothing; the attempt runs on its socket's lane, after any orphan of that lane.
 *
 * @module
 */

import type { IoReactor } from "../ffi/reactor.ts";
import { DK_OP_POLL } from "../ffi/layout.ts";
import type { Poll } from "../runtime/operation.ts";
import { IO_DONE, IO_NEW } from "../runtime/io/reactor_driver.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { GO, NetOp, type SocketCore } from "./_socket.ts";

/**
 * Try `attempt`; when it gives null, wait until `mask` is ready and try again.
 *
 * @example
 * ```ts ignore
 * // Not run: needs a socket's SocketCore (private); SocketStream.peek and writev run it.
 * const n = yield* new ReadyOp(core, READ, DK_POLL_IN, (r, fd) => r.tryRecv(fd, buf, true));
 * ```
 */
export class ReadyOp<T> extends NetOp<T> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "ready";
  }

  readonly #mask: number;
  readonly #attempt: (r: IoReactor, fd: number) => T | null;

  /**
   * Make one on `sock`'s `lane`.
   *
   * @param sock the socket
   * @param lane READ or WRITE
   * @param mask the DK_POLL_* readiness to wait for
   * @param attempt the nonblocking call: its value, or null when not ready
   */
  constructor(
    sock: SocketCore,
    lane: number,
    mask: number,
    attempt: (r: IoReactor, fd: number) => T | null,
  ) {
    super(sock, lane);
    this.#mask = mask;
    this.#attempt = attempt;
  }

  protected override poll(waker: Waker): Poll<T> {
    if (this.ioState === IO_DONE) {
      if (this.result < 0) this.fail(this.result, "poll");
      this.ioState = IO_NEW;
    }
    return super.poll(waker);
  }

  protected override prepare(_w: Waker): Poll<T> | typeof GO {
    const s = this.sock!;
    const v = this.#attempt(s.reactor, s.fd);
    return v === null ? GO : v;
  }

  protected write(r: IoReactor, token: number): void {
    r.pushOp(DK_OP_POLL, token, this.sock!.fd, this.#mask, 0, 0, 0);
  }

  protected finish(_res: number): T {
    throw new Error("unreachable: a ReadyOp finishes in prepare");
  }
}
