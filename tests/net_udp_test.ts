/** UDP tests of net/: round trips, connected sockets, cancel safety, errors — on both backends. */

import { NET_BACKENDS } from "./net_helpers.ts";
import assert from "node:assert/strict";
import { run, spawn } from "../runtime/mod.ts";
import { ClosedError, UdpSocket } from "../net/mod.ts";
import { sleep, timeout } from "../time/mod.ts";

const BACKENDS = NET_BACKENDS;
type B = typeof BACKENDS[number];

function t(name: string, fn: (b: B) => Promise<void>): void {
  for (const b of BACKENDS) Deno.test(`${name} [${b}]`, () => fn(b));
}

t("UDP round trip with sendTo/recvFrom", async (backend) => {
  await run(function* () {
    using a = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
    using b = yield* UdpSocket.bind({ port: 0 });
    assert.equal(a.localAddr.transport, "udp");
    assert.deepEqual(a.addr, a.localAddr, "Deno.DatagramConn's name for the local address");
    const buf = new Uint8Array(1500);
    for (let i = 0; i < 20; i++) {
      const msg = new TextEncoder().encode(`ping ${i}`);
      assert.equal(yield* a.sendTo(msg, b.localAddr), msg.length);
      const { n, addr } = yield* b.recvFrom(buf);
      assert.equal(new TextDecoder().decode(buf.subarray(0, n)), `ping ${i}`);
      assert.equal(addr.port, a.localAddr.port);
      yield* b.sendTo(buf.subarray(0, n), addr);
      const back = yield* a.recvFrom(buf);
      assert.equal(back.n, n);
    }
  }, { backend });
});

t("connected UDP sockets use send/recv", async (backend) => {
  await run(function* () {
    using a = yield* UdpSocket.bind({ port: 0 });
    using b = yield* UdpSocket.bind({ port: 0 });
    yield* a.connect(b.localAddr);
    yield* b.connect(a.localAddr);
    yield* a.send(new Uint8Array([1, 2, 3]));
    const buf = new Uint8Array(8);
    assert.equal(yield* b.recv(buf), 3);
    assert.deepEqual([...buf.subarray(0, 3)], [1, 2, 3]);
  }, { backend });
});

t("a cancelled recvFrom keeps the datagram for the next receive", async (backend) => {
  await run(function* () {
    using a = yield* UdpSocket.bind({ port: 0 });
    using b = yield* UdpSocket.bind({ port: 0 });
    const got: number[] = [];
    for (let round = 0; round < 30; round++) {
      const h = spawn(function* () {
        const buf = new Uint8Array(16);
        const { n } = yield* b.recvFrom(buf);
        got.push(buf[0]);
        return n;
      });
      yield* sleep(0);
      yield* a.sendTo(new Uint8Array([round]), b.localAddr);
      h.abort();
      try {
        yield* h;
      } catch { /* cancelled */ }
    }
    // Every datagram was either seen by its task or is still receivable.
    const buf = new Uint8Array(16);
    while (got.length < 30) {
      const { n } = yield* b.recvFrom(buf);
      assert.equal(n, 1);
      got.push(buf[0]);
    }
    assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => i));
  }, { backend });
});

t("UDP bad arguments and use after close", async (backend) => {
  await run(function* () {
    assert.throws(() => UdpSocket.bind({ port: 65536 }), RangeError);
    assert.throws(() => UdpSocket.bind({ hostname: "x.invalid", port: 0 }), TypeError);
    const s = yield* UdpSocket.bind({ port: 0 });
    assert.throws(() => s.sendTo(new Uint8Array(1), { port: 0 }), RangeError);
    assert.throws(() => s.recvFrom({} as Uint8Array), TypeError);
    const pending = spawn(function* () {
      try {
        yield* s.recvFrom(new Uint8Array(4));
      } catch (e) {
        return e;
      }
    });
    yield* sleep(5);
    s.close();
    assert.ok((yield* pending) instanceof ClosedError);
    let e: unknown;
    try {
      yield* s.sendTo(new Uint8Array(1), { port: 9 });
    } catch (x) {
      e = x;
    }
    assert.ok(e instanceof ClosedError);
  }, { backend });
});

t(
  "recvBufferSize sets how much a burst the socket keeps; bad sizes are RangeErrors",
  async (backend) => {
    /** Send `count` datagrams of 1000 B at a socket bound with `options`, unread; count what it kept. */
    function* kept(options: { recvBufferSize?: number }, count: number) {
      using rx = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0, ...options });
      using tx = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
      const msg = new Uint8Array(1000);
      for (let i = 0; i < count; i++) yield* tx.sendTo(msg, rx.localAddr);
      yield* sleep(20);
      let n = 0;
      const buf = new Uint8Array(1500);
      for (;;) {
        try {
          yield* timeout(50, rx.recvFrom(buf));
        } catch {
          return n; // nothing more queued
        }
        n++;
      }
    }
    if (backend === "deno") {
      // Deno's datagram API has no buffer sizes: refused, not ignored.
      await assert.rejects(
        () => run(() => UdpSocket.bind({ port: 0, recvBufferSize: 4096 }), { backend }),
        (e: Error) => (e as { code?: string }).code === "EOPNOTSUPP",
      );
      return;
    }
    await run(function* () {
      const small = yield* kept({ recvBufferSize: 4096 }, 300);
      const large = yield* kept({ recvBufferSize: 1 << 20 }, 300);
      assert.ok(small < 300, `a 4 KiB buffer kept all ${small} of 300 datagrams`);
      assert.ok(large > small, `a 1 MiB buffer kept ${large}, a 4 KiB one ${small}`);
    }, { backend });
    assert.throws(() => UdpSocket.bind({ port: 0, recvBufferSize: 0 }), RangeError);
    assert.throws(() => UdpSocket.bind({ port: 0, sendBufferSize: 1.5 }), RangeError);
    assert.throws(() => UdpSocket.bind({ port: 0, recvBufferSize: 2 ** 31 }), RangeError);
  },
);
