/** UDP tests of net/: round trips, connected sockets, cancel safety, errors — on both backends. */

import { NET_BACKENDS } from "./net_helpers.ts";
import assert from "node:assert/strict";
import { run, spawn } from "../runtime/mod.ts";
import { ClosedError, UdpSocket } from "../net/mod.ts";
import { sleep } from "../time/mod.ts";

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
