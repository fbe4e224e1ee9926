/**
 * The TcpSocket builder on every backend: options set and read back (reuseaddr, reuseport,
 * buffer sizes, linger), bind/listen/connect on v4 and v6, two listeners sharing a port with
 * reuseport, a refused connect, bad arguments at the call, use after listen/connect; the deno
 * backend refuses it with EOPNOTSUPP.
 */

import { NET_BACKENDS } from "./net_helpers.ts";
import assert from "node:assert/strict";
import { ClosedError, IoError, run, TcpListener, TcpSocket } from "../mod.ts";

for (const backend of NET_BACKENDS) {
  Deno.test(`TcpSocket: options read back; bind, listen, connect (v4, v6) [${backend}]`, async () => {
    await run(function* () {
      if (backend === "deno") {
        let err: unknown = null;
        try {
          yield* TcpSocket.newV4();
        } catch (e) {
          err = e;
        }
        assert.ok(err instanceof IoError && err.code === "EOPNOTSUPP", String(err));
        assert.match((err as Error).message, /TcpSocket builder.*deno backend/);
        return;
      }
      for (const [v6, host] of [[false, "127.0.0.1"], [true, "::1"]] as const) {
        const s = v6 ? yield* TcpSocket.newV6() : yield* TcpSocket.newV4();
        assert.equal(s.reuseAddr(), false);
        s.setReuseAddr(true);
        assert.equal(s.reuseAddr(), true);
        assert.equal(s.reusePort(), false);
        s.setReusePort(true);
        assert.equal(s.reusePort(), true);
        s.setSendBufferSize(100_000);
        assert.ok(s.sendBufferSize() >= 100_000, `sndbuf ${s.sendBufferSize()}`);
        s.setRecvBufferSize(50_000);
        assert.ok(s.recvBufferSize() >= 50_000);
        assert.equal(s.linger(), null);
        s.setLinger(7);
        assert.equal(s.linger(), 7);
        s.setLinger(null);
        assert.equal(s.linger(), null);
        s.bind({ hostname: host, port: 0 });
        const port = s.localAddr.port;
        assert.ok(port > 0);
        using listener = s.listen(64);
        assert.equal(listener.localAddr.port, port);
        assert.throws(() => s.reuseAddr(), ClosedError); // spent
        const c = v6 ? yield* TcpSocket.newV6() : yield* TcpSocket.newV4();
        c.setLinger(0);
        using conn = yield* c.connect({ hostname: host, port });
        using peer = yield* listener.accept();
        yield* conn.writeAll(new Uint8Array([9, 8]));
        const buf = new Uint8Array(2);
        yield* peer.readExact(buf);
        assert.deepEqual([...buf], [9, 8]);
        assert.equal(peer.peerAddr.port, conn.localAddr.port);
        assert.throws(() => c.linger(), ClosedError);
      }
    }, { backend });
  });

  if (backend === "deno") continue;

  Deno.test(`TcpSocket: reuseport lets two listeners share a port [${backend}]`, async () => {
    if (Deno.build.os !== "linux") return;
    await run(function* () {
      const a = yield* TcpSocket.newV4();
      a.setReusePort(true);
      a.bind({ hostname: "127.0.0.1", port: 0 });
      const port = a.localAddr.port;
      using la = a.listen();
      const b = yield* TcpSocket.newV4();
      b.setReusePort(true);
      b.bind({ hostname: "127.0.0.1", port });
      using lb = b.listen();
      assert.equal(lb.localAddr.port, la.localAddr.port);
      // Without reuseport the port is busy.
      const c = yield* TcpSocket.newV4();
      assert.throws(
        () => c.bind({ hostname: "127.0.0.1", port }),
        (e) => e instanceof IoError && e.code === "EADDRINUSE",
      );
      c.close();
    }, { backend });
  });

  Deno.test(`TcpSocket: refused connect, bad arguments, close [${backend}]`, async () => {
    await run(function* () {
      const l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
      const port = l.localAddr.port;
      l.close();
      const s = yield* TcpSocket.newV4();
      let err: unknown = null;
      try {
        yield* s.connect({ hostname: "127.0.0.1", port });
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof IoError && err.code === "ECONNREFUSED", String(err));
      assert.throws(() => s.connect({ hostname: "127.0.0.1", port }), ClosedError);
      const t = yield* TcpSocket.newV4();
      assert.throws(() => t.setLinger(-1), RangeError);
      assert.throws(() => t.setLinger(1.5), RangeError);
      assert.throws(() => t.setSendBufferSize(0), RangeError);
      assert.throws(() => t.setRecvBufferSize(2 ** 31), RangeError);
      assert.throws(() => t.listen(0), RangeError);
      assert.throws(() => t.bind({ hostname: "example.com", port: 1 }), TypeError);
      assert.throws(() => t.connect({ hostname: "127.0.0.1", port: 0 }), RangeError);
      t.close();
      t.close();
      assert.throws(() => t.reuseAddr(), ClosedError);
    }, { backend });
  });
}
