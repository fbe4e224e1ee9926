/**
 * copy and copyBidirectional over TCP (epoll and io_uring) and duplex:
 * everything arrives, each direction half-closes its destination when its
 * source ends (each way round), a reset peer ends the proxy with an
 * IoError, and a cancelled copy from a BufReader loses nothing it read.
 */

import assert from "node:assert/strict";
import { run, spawn } from "../runtime/mod.ts";
import { sleep } from "../time/mod.ts";
import { IoError, TcpListener, TcpStream } from "../net/mod.ts";
import { BufReader, BufWriter, copy, copyBidirectional, duplex } from "../io/mod.ts";
import type { Reader } from "../io/mod.ts";
import { BACKENDS, rng, type Transport, transports, withPair } from "./io_helpers.ts";

const enc = new TextEncoder();

function t(name: string, fn: (tr: Transport) => Promise<void>, duplexCapacity?: number): void {
  for (const tr of transports(duplexCapacity)) Deno.test(`${name} [${tr.name}]`, () => fn(tr));
}

function* readAll(r: Reader): Generator<unknown, Uint8Array, unknown> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  for (let n = yield* r.read(buf); n !== null; n = yield* r.read(buf)) parts.push(buf.slice(0, n));
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.byteLength), 0);
  return out;
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return new Uint8Array(n).map(() => Math.floor(r() * 256));
}

t("copy moves every byte to the end of stream and flushes a BufWriter", async (tr) => {
  const data = randomBytes(300_000, 1);
  await withPair(tr, function* ({ a, b }) {
    const [c, d] = duplex(1000);
    const w = new BufWriter(c, { capacity: 4096 });
    const pump = spawn(function* () {
      const n = yield* copy(b, w); // b's bytes into a BufWriter over c
      yield* c.shutdown();
      return n;
    });
    const reader = spawn(readAll(d));
    yield* a.writeAll(data);
    yield* a.shutdown();
    assert.equal(yield* pump, data.byteLength);
    assert.deepEqual(yield* reader, data);
  });
}, 777);

/**
 * A proxy in the middle: client ⇄ [p1 | copyBidirectional | p2] ⇄ server.
 * Returns the two far ends and the proxy's handle.
 */
function* proxied(tr: Transport) {
  const left = yield* tr.pair();
  const right = yield* tr.pair();
  const proxy = spawn(copyBidirectional(left.b, right.a));
  return { client: left.a, server: right.b, proxy, all: [left.a, left.b, right.a, right.b] };
}

t("copyBidirectional: the client half-closes first; the server still answers", async (tr) => {
  const up = randomBytes(100_000, 2), down = randomBytes(70_000, 3);
  await run(function* () {
    const { client, server, proxy, all } = yield* proxied(tr);
    try {
      const sent = spawn(function* () {
        yield* client.writeAll(up);
        yield* client.shutdown();
      });
      assert.deepEqual(yield* readAll(server), up); // ends: the proxy shut its side down
      yield* sent;
      const answer = spawn(function* () {
        yield* server.writeAll(down); // half-closed the other way: still open
        yield* server.shutdown();
      });
      assert.deepEqual(yield* readAll(client), down);
      yield* answer;
      assert.deepEqual(yield* proxy, [up.byteLength, down.byteLength]);
    } finally {
      for (const s of all) s.close();
    }
  }, tr.backend === null ? {} : { backend: tr.backend });
}, 4096);

t("copyBidirectional: the server half-closes first; the client still sends", async (tr) => {
  await run(function* () {
    const { client, server, proxy, all } = yield* proxied(tr);
    try {
      yield* server.writeAll(enc.encode("banner\n"));
      yield* server.shutdown();
      assert.equal(yield* new BufReader(client).readLine(), "banner");
      assert.equal((yield* readAll(client)).byteLength, 0);
      yield* client.writeAll(enc.encode("late words\n"));
      yield* client.shutdown();
      assert.equal(new TextDecoder().decode(yield* readAll(server)), "late words\n");
      assert.deepEqual(yield* proxy, [11, 7]);
    } finally {
      for (const s of all) s.close();
    }
  }, tr.backend === null ? {} : { backend: tr.backend });
});

for (const backend of BACKENDS) {
  Deno.test(`copyBidirectional: a reset peer ends the proxy with an IoError [tcp ${backend}]`, async () => {
    await run(function* () {
      using l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
      using client = yield* TcpStream.connect({ port: l.localAddr.port });
      using p1 = yield* l.accept();
      using p2 = yield* TcpStream.connect({ port: l.localAddr.port });
      const server = yield* l.accept();
      const proxy = spawn(copyBidirectional(p1, p2));
      // The server closes with unread bytes in its receive buffer: its kernel
      // resets the connection, and the proxy's next recv/send on p2 fails.
      yield* client.writeAll(new Uint8Array(1000));
      yield* sleep(30);
      server.close();
      // Keep writing (in a task of its own: once the proxy failed nobody reads p1 any more, and
      // whether 4 MiB still fits the loopback buffers depends on the backend and the machine).
      const big = new Uint8Array(4 << 20);
      const writer = spawn(function* () {
        try {
          yield* client.writeAll(big);
        } catch { /* the proxy may close first */ }
      });
      let err: unknown = null;
      try {
        yield* proxy;
      } catch (e) {
        err = (e as Error).cause; // the JoinError of the proxy's task carries it
      }
      writer.abort();
      assert.ok(err instanceof IoError, String(err));
      assert.ok(["ECONNRESET", "EPIPE"].includes(err.code), err.code);
    }, { backend });
  });
}

t("a cancelled copy from a BufReader loses nothing it read", async (tr) => {
  const data = randomBytes(200_000, 4);
  await withPair(tr, function* ({ a, b }) {
    const src = new BufReader(b, { capacity: 1000 });
    const [c, d] = duplex(512); // a slow sink: copies often wait to write
    const reader = spawn(readAll(d));
    const writer = spawn(function* () {
      yield* a.writeAll(data);
      yield* a.shutdown();
    });
    let copied = 0;
    const rand = rng(5);
    for (let round = 0; round < 50; round++) {
      const h = spawn(copy(src, c));
      yield* sleep(0);
      if (rand() < 0.5) yield* sleep(0);
      h.abort();
      try {
        copied += yield* h; // finished before the abort
      } catch { /* cancelled */ }
    }
    yield* copy(src, c);
    yield* c.shutdown();
    yield* writer;
    const got = yield* reader;
    assert.equal(got.byteLength, data.byteLength);
    assert.deepEqual(got, data);
    assert.ok(copied <= data.byteLength);
  });
});

Deno.test("copy and copyBidirectional refuse non-streams with TypeError", () => {
  const [a] = duplex(8);
  assert.throws(() => copy({} as Reader, a), TypeError);
  assert.throws(() => copy(a, {} as typeof a), TypeError);
  assert.throws(() => copyBidirectional(a, {} as typeof a), TypeError);
});
