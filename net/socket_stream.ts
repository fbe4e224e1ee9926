/**
 * `SocketStream`, what every connected byte-stream socket offers — `TcpStream` and
 * `UnixStream` extend it: `read`/`readExact`/`write`/`writeAll`/`shutdown` on reactor records,
 * `peek`/`writev` as a nonblocking attempt plus a readiness wait, `tryRead`/`tryWrite` as one
 * nonblocking call, web-stream adapters, and `close`/`using`.
 *
 * Invariants: those of `TcpStream` (cancel safety: bytes the kernel handed over are never
 * lost; ops on one direction reach the kernel in call order; use after close throws
 * ClosedError). `tryRead` takes salvaged bytes first and says "not ready" (null) while a
 * cancelled read of the stream is still in the reactor, so it never jumps ahead of it.
 *
 * @module
 */

import type { IoReactor } from "../ffi/reactor.ts";
import { DK_POLL_IN, DK_POLL_OUT } from "../ffi/layout.ts";
import { GenOp, type Operation } from "../runtime/operation.ts";
import { checkBuffer } from "./addr.ts";
import { READ, type SocketCore, takeBytes, WRITE } from "./_socket.ts";
import { ReadExactOp, RecvOp, SendOp, ShutdownOp, WriteAllOp } from "./_stream_ops.ts";
import { ReadyOp } from "./_ready_op.ts";
import { readableOf, writableOf } from "../runtime/io/web_streams.ts";

/**
 * The stream methods shared by `TcpStream` and `UnixStream` (made by their `connect` and by
 * listeners' `accept`, never directly).
 *
 * @example
 * ```ts
 * import { run, SocketStream, TcpListener, TcpStream } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * function* echoOnce(s: SocketStream) {
 *   const buf = new Uint8Array(64);
 *   const n = yield* s.read(buf);
 *   if (n !== null) yield* s.writeAll(buf.subarray(0, n));
 * }
 * await run(function* () {
 *   using l = yield* TcpListener.bind({ port: 0 });
 *   using c = yield* TcpStream.connect({ port: l.localAddr.port });
 *   using s = yield* l.accept();
 *   yield* c.writev([new Uint8Array([1]), new Uint8Array([2, 3])]);
 *   yield* echoOnce(s);
 *   const back = new Uint8Array(3);
 *   yield* c.readExact(back);
 *   assert.deepEqual([...back], [1, 2, 3]);
 * });
 * ```
 */
export abstract class SocketStream implements Disposable {
  readonly #core: SocketCore;
  /** What the user calls this type (for messages). */
  protected readonly what: string;
  /** Set once split into halves: the stream itself is then unusable. */
  protected detached = false;
  #readable: ReadableStream<Uint8Array> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;
  // The last op of each kind handed out: reused once it has finished (a
  // read/write loop then allocates no op; see BufOp.reuse).
  #recv: RecvOp | null = null;
  #readExact: ReadExactOp | null = null;
  #send: SendOp | null = null;
  #writeAll: WriteAllOp | null = null;

  /**
   * Internal: wrap an open socket.
   *
   * @param core the socket state
   * @param what the type's name, for messages
   */
  protected constructor(core: SocketCore, what: string) {
    this.#core = core;
    this.what = what;
  }

  /** The fd (for diagnostics; -1 once closed). */
  get fd(): number {
    return this.#core.fd;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#core.closed;
  }

  #usable(): SocketCore {
    if (this.detached) throw new TypeError(`${this.what} was split: use its halves`);
    return this.#core;
  }

  /**
   * Read into `buf`: the number of bytes read (≥ 1), or `null` at end of
   * stream (0 for an empty `buf`).
   *
   * @param buf where the bytes go.
   * @returns an operation (also awaitable) giving the count, or `null` at end of stream.
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @throws {ClosedError} (from the operation) when the stream is closed; {@linkcode IoError} when
   *   the read fails.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   yield* peer.writeAll(new Uint8Array([1, 2, 3]));
   *   const buf = new Uint8Array(16);
   *   const n = yield* conn.read(buf);
   *   assert.deepEqual(buf.subarray(0, n ?? 0), new Uint8Array([1, 2, 3]));
   *   peer.close();
   *   assert.equal(yield* conn.read(buf), null); // end of stream
   * });
   * ```
   */
  read(buf: Uint8Array): Operation<number | null> & PromiseLike<number | null> {
    checkBuffer(buf, `${this.what}.read`);
    const core = this.#usable();
    const op = this.#recv;
    if (op !== null && op.reuse(buf)) return op;
    return this.#recv = new RecvOp(core, buf);
  }

  /**
   * Fill `buf` completely; end of stream first throws `Deno.errors.UnexpectedEof`.
   * Cancel-safe: bytes read before a cancellation are returned by the next read.
   *
   * @param buf the buffer to fill.
   * @returns an operation (also awaitable) that finishes once `buf` is full.
   * @throws {Deno.errors.UnexpectedEof} (from the operation) when the stream ends first; {@linkcode
   *   ClosedError} or {@linkcode IoError} as for `read`.
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   yield* peer.writeAll(new Uint8Array([0, 0, 0, 5]));
   *   const header = new Uint8Array(4);
   *   yield* conn.readExact(header);
   *   assert.equal(new DataView(header.buffer).getUint32(0), 5);
   * });
   * ```
   */
  readExact(buf: Uint8Array): Operation<void> & PromiseLike<void> {
    checkBuffer(buf, `${this.what}.readExact`);
    const core = this.#usable();
    const op = this.#readExact;
    if (op !== null && op.reuse(buf)) return op;
    return this.#readExact = new ReadExactOp(core, buf);
  }

  /**
   * Write from `buf`: resolves with the bytes the kernel took (≥ 1 unless
   * `buf` is empty; may be fewer than `buf.length`).
   *
   * @param buf the bytes to send.
   * @returns an operation (also awaitable) giving how many bytes the kernel took.
   * @throws {ClosedError} (from the operation) when the stream is closed; {@linkcode IoError} (e.g.
   *   "EPIPE") when the write fails.
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   const data = new TextEncoder().encode("ping");
   *   const n = yield* conn.write(data);
   *   assert.ok(n > 0 && n <= data.byteLength); // may be a partial write
   * });
   * ```
   */
  write(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    checkBuffer(buf, `${this.what}.write`);
    const core = this.#usable();
    const op = this.#send;
    if (op !== null && op.reuse(buf)) return op;
    return this.#send = new SendOp(core, buf);
  }

  /**
   * Write all of `buf`.
   *
   * @param buf the bytes to send.
   * @returns an operation (also awaitable) that finishes once every byte was taken.
   * @throws {ClosedError} (from the operation) when the stream is closed; {@linkcode IoError} when
   *   a write fails.
   * @throws {TypeError} when `buf` is not a Uint8Array.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   yield* conn.writeAll(new TextEncoder().encode("hello"));
   *   const buf = new Uint8Array(5);
   *   yield* peer.readExact(buf);
   *   assert.equal(new TextDecoder().decode(buf), "hello");
   * });
   * ```
   */
  writeAll(buf: Uint8Array): Operation<void> & PromiseLike<void> {
    checkBuffer(buf, `${this.what}.writeAll`);
    const core = this.#usable();
    const op = this.#writeAll;
    if (op !== null && op.reuse(buf)) return op;
    return this.#writeAll = new WriteAllOp(core, buf);
  }

  /**
   * Shut down the write half (send FIN); reading goes on.
   *
   * @returns an operation (also awaitable) that finishes once the FIN is queued.
   * @throws {ClosedError} (from the operation) when the stream is closed.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   yield* conn.shutdown();
   *   assert.equal(yield* peer.read(new Uint8Array(8)), null); // the peer sees end of stream
   * });
   * ```
   */
  shutdown(): Operation<void> & PromiseLike<void> {
    return new ShutdownOp(this.#usable(), 1);
  }

  /**
   * Same as {@linkcode SocketStream.shutdown}, under the name `Deno.Conn`
   * (and `Deno.UnixConn`) give it: send FIN; reading still works.
   *
   * @returns an operation (and PromiseLike) that completes once the FIN is sent.
   * @throws {TypeError} when the stream was split (shut down its write half instead).
   *
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   *
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ port: listener.addr.port });
   *   using peer = yield* listener.accept();
   *   yield* conn.closeWrite();
   *   assert.equal(yield* peer.read(new Uint8Array(8)), null); // the peer reads end of stream
   * });
   * ```
   */
  closeWrite(): Operation<void> & PromiseLike<void> {
    return this.shutdown();
  }

  /**
   * Wait until bytes can be read, then copy them into `buf` without consuming them: the next
   * `read` returns them again. 0 at end of stream (or for an empty `buf`).
   *
   * @param buf where the bytes are copied
   * @returns an operation giving how many were copied
   * @throws {TypeError} when `buf` is not a Uint8Array; `IoError` code "EOPNOTSUPP" on the deno
   *   backend.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using c = yield* TcpStream.connect({ hostname: "127.0.0.1", port: l.localAddr.port });
   *   using s = yield* l.accept();
   *   yield* c.writeAll(new TextEncoder().encode("GET /"));
   *   const head = new Uint8Array(3);
   *   assert.equal(yield* s.peek(head), 3); // look without taking
   *   const all = new Uint8Array(5);
   *   yield* s.readExact(all); // the peeked bytes are still there
   *   assert.equal(new TextDecoder().decode(all), "GET /");
   * });
   * ```
   */
  peek(buf: Uint8Array): Operation<number> & PromiseLike<number> {
    checkBuffer(buf, `${this.what}.peek`);
    const core = this.#usable();
    return new ReadyOp(core, READ, DK_POLL_IN, (r, fd) => {
      if (buf.byteLength === 0) return 0;
      const kept = core.pending;
      if (kept !== null) {
        const n = Math.min(kept.byteLength, buf.byteLength);
        buf.set(kept.subarray(0, n));
        return n;
      }
      return r.tryRecv(fd, buf, true);
    });
  }

  /**
   * Read what is ready now, without waiting: the count (≥ 1), 0 at end of stream (or for an
   * empty `buf`), or null when nothing is ready.
   *
   * @param buf where the bytes go
   * @returns the count, 0 at end of stream, or null
   * @throws {TypeError} for a bad `buf`; {@linkcode ClosedError} when closed; `IoError`
   *   (ECONNRESET…; "EOPNOTSUPP" on the deno backend).
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using c = yield* TcpStream.connect({ hostname: "127.0.0.1", port: l.localAddr.port });
   *   using s = yield* l.accept();
   *   const buf = new Uint8Array(16);
   *   assert.equal(s.tryRead(buf), null); // nothing has arrived
   *   yield* c.writeAll(new Uint8Array([1, 2]));
   *   yield* s.peek(buf); // wait until it has
   *   assert.equal(s.tryRead(buf), 2);
   * });
   * ```
   */
  tryRead(buf: Uint8Array): number | null {
    checkBuffer(buf, `${this.what}.tryRead`);
    const core = this.#usable();
    core.checkOpen();
    if (buf.byteLength === 0) return 0;
    if (core.pending !== null) return takeBytes(core, buf);
    if (core.orphans[READ] !== null) return null;
    return core.reactor.tryRecv(core.fd, buf, false);
  }

  /**
   * Write what fits now, without waiting: the count taken (maybe fewer than `buf.length`),
   * or null when the send buffer is full.
   *
   * @param buf the bytes
   * @returns the count, or null
   * @throws {TypeError} for a bad `buf`; {@linkcode ClosedError} when closed; `IoError` (EPIPE…;
   *   "EOPNOTSUPP" on the deno backend).
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using c = yield* TcpStream.connect({ hostname: "127.0.0.1", port: l.localAddr.port });
   *   using s = yield* l.accept();
   *   assert.equal(c.tryWrite(new Uint8Array([7, 8, 9])), 3); // room in the send buffer
   *   const got = new Uint8Array(3);
   *   yield* s.readExact(got);
   *   assert.deepEqual([...got], [7, 8, 9]);
   * });
   * ```
   */
  tryWrite(buf: Uint8Array): number | null {
    checkBuffer(buf, `${this.what}.tryWrite`);
    const core = this.#usable();
    core.checkOpen();
    if (buf.byteLength === 0) return 0;
    if (core.orphans[WRITE] !== null) return null;
    return core.reactor.trySend(core.fd, buf);
  }

  /**
   * Write every buffer of `bufs`, in order, gathering them into as few system calls as the
   * kernel allows (sendmsg with an iovec); on the deno backend they are joined and written.
   *
   * @param bufs the buffers (at most 1024 per call)
   * @returns an operation giving the total byte count written
   * @throws {TypeError} when `bufs` is not an array of Uint8Arrays; {@linkcode RangeError} for
   *   more than 1024.
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using c = yield* TcpStream.connect({ hostname: "127.0.0.1", port: l.localAddr.port });
   *   using s = yield* l.accept();
   *   const enc = new TextEncoder();
   *   const n = yield* c.writev([enc.encode("HTTP/1.1 200 OK\r\n\r\n"), enc.encode("body")]);
   *   const got = new Uint8Array(n);
   *   yield* s.readExact(got);
   *   assert.equal(new TextDecoder().decode(got), "HTTP/1.1 200 OK\r\n\r\nbody");
   * });
   * ```
   */
  writev(bufs: readonly Uint8Array[]): Operation<number> & PromiseLike<number> {
    if (!Array.isArray(bufs)) throw new TypeError(`${this.what}.writev: expected an array`);
    if (bufs.length > 1024) {
      throw new RangeError(`${this.what}.writev: at most 1024 buffers, got ${bufs.length}`);
    }
    for (const b of bufs) checkBuffer(b, `${this.what}.writev`);
    const core = this.#usable();
    const list = bufs.slice();
    return new GenOp(function* () {
      let total = 0;
      for (const b of list) total += b.byteLength;
      if (total === 0) return 0;
      if (core.driver !== null && core.driver.reactor.backend === "deno") {
        yield* new WriteAllOp(core, joined(list, total));
        return total;
      }
      let i = 0;
      while (i < list.length) {
        const rest = list.slice(i);
        let n = yield* new ReadyOp(core, WRITE, DK_POLL_OUT, (r: IoReactor, fd) => {
          const v = r.trySendv(fd, rest);
          return v === 0 ? null : v;
        });
        while (n > 0) {
          const len = list[i].byteLength;
          if (n >= len) {
            n -= len;
            i++;
          } else {
            list[i] = list[i].subarray(n);
            n = 0;
          }
        }
        while (i < list.length && list[i].byteLength === 0) i++;
      }
      return total;
    });
  }

  /**
   * A ReadableStream of the bytes read (a byte stream: BYOB readers work).
   * Cancelling it closes the stream.
   */
  get readable(): ReadableStream<Uint8Array> {
    if (this.#readable === null) {
      const c = this.#usable();
      this.#readable = readableOf((b) => new RecvOp(c, b), () => this.close());
    }
    return this.#readable;
  }

  /** A WritableStream writing to the socket; closing it shuts down the write half. */
  get writable(): WritableStream<Uint8Array> {
    if (this.#writable === null) {
      const c = this.#usable();
      this.#writable = writableOf(
        (b) => new WriteAllOp(c, b),
        () => new ShutdownOp(c, 1),
        () => this.close(),
      );
    }
    return this.#writable;
  }

  /**
   * Close the stream: ops still pending on it end with ClosedError, then the
   * fd is closed. Idempotent.
   *
   * @example
   * ```ts
   * import { run, TcpListener, TcpStream } from "../mod.ts";
   * import assert from "node:assert/strict";
   * await run(function* () {
   *   using listener = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
   *   using conn = yield* TcpStream.connect({ hostname: "127.0.0.1", port: listener.localAddr.port });
   *   using peer = yield* listener.accept();
   *   conn.close();
   *   assert.equal(conn.closed, true);
   *   assert.equal(yield* peer.read(new Uint8Array(8)), null);
   * });
   * ```
   */
  close(): void {
    if (this.detached) return;
    this.#core.close();
  }

  /** `using conn = …` closes it at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function joined(list: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const b of list) {
    out.set(b, off);
    off += b.byteLength;
  }
  return out;
}
