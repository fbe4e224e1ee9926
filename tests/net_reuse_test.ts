/**
 * fd-number reuse through the TCP API, on epoll and io_uring: a stream closed
 * with a read pending, and a listener closed and bound again, each followed by
 * a new socket that takes the same fd number. The new socket must carry only
 * its own operations: no read of the old socket receives its bytes, and its
 * accepts complete (the reactor's per-fd state of the old file is gone).
 */

import { NET_BACKENDS } from "./net_helpers.ts";
import assert from "node:assert/strict";
import { run, spawn } from "../runtime/mod.ts";
import { ClosedError, TcpListener, TcpStream } from "../net/mod.ts";
import { sleep, timeout } from "../time/mod.ts";

// Not the deno backend: its virtual fds are never reused (a counter), so the number reuse these
// tests provoke in the kernel cannot happen there.
const BACKENDS = NET_BACKENDS.filter((b) => b !== "deno");
type B = typeof BACKENDS[number];

function t(name: string, fn: (b: B) => Promise<void>): void {
  for (const b of BACKENDS) Deno.test(`${name} [${b}]`, () => fn(b));
}

t(
  "close with a read pending: the peer sees EOF, the next socket on the number keeps its bytes",
  async (backend) => {
    await run(function* () {
      using l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
      const port = l.localAddr.port;
      using c1 = yield* TcpStream.connect({ port });
      const s1 = yield* l.accept();
      const oldFd = s1.fd;
      const oldBuf = new Uint8Array(8);
      const pending = spawn(function* () {
        try {
          yield* s1.read(oldBuf);
          return null;
        } catch (e) {
          return e;
        }
      });
      yield* sleep(5); // the read is with the reactor
      s1.close();
      assert.ok((yield* pending) instanceof ClosedError);
      // The peer sees the close.
      assert.equal(yield* timeout(2000, c1.read(new Uint8Array(8))), null);
      // Connections until one end lands on the old number (usually the first connect's).
      const keep: TcpStream[] = [];
      let onOld: TcpStream | null = null;
      let peer: TcpStream | null = null;
      for (let i = 0; i < 8 && onOld === null; i++) {
        const c = yield* TcpStream.connect({ port });
        const s = yield* l.accept();
        keep.push(c, s);
        if (c.fd === oldFd) [onOld, peer] = [c, s];
        else if (s.fd === oldFd) [onOld, peer] = [s, c];
      }
      assert.ok(onOld !== null && peer !== null, `fd ${oldFd} was not reused`);
      yield* peer.writeAll(new TextEncoder().encode("fresh"));
      const buf = new Uint8Array(8);
      const n = yield* timeout(2000, onOld.read(buf));
      assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "fresh");
      assert.deepEqual([...oldBuf], [0, 0, 0, 0, 0, 0, 0, 0]);
      for (const s of keep) s.close();
    }, { backend });
  },
);

t("re-listen on the same fd number: accepts on the new listener complete", async (backend) => {
  await run(function* () {
    for (let round = 0; round < 3; round++) {
      const l1 = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
      // An accept that waits (the reactor registers the fd), then completes.
      const first = spawn(function* () {
        return yield* l1.accept();
      });
      yield* sleep(5);
      using c0 = yield* TcpStream.connect({ port: l1.localAddr.port });
      using s0 = yield* first;
      const oldFd = l1.fd;
      l1.close(); // nothing in flight: closed at once, outside the reactor's op path
      using l2 = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
      assert.equal(l2.fd, oldFd);
      const acc = spawn(function* () {
        return yield* l2.accept();
      });
      yield* sleep(5); // the accept waits for readiness on the reused number
      using c = yield* TcpStream.connect({ port: l2.localAddr.port });
      using s = yield* timeout(2000, acc);
      yield* c.writeAll(new Uint8Array([round]));
      const b = new Uint8Array(1);
      yield* s.readExact(b);
      assert.equal(b[0], round);
      void c0;
      void s0;
    }
  }, { backend });
});
