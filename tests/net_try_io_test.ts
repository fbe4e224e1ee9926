/**
 * peek, tryRead, tryWrite and writev on TcpStream and UnixStream, on every backend (the deno
 * backend refuses peek/tryRead/tryWrite with EOPNOTSUPP and joins writev's buffers).
 */

import { NET_BACKENDS } from "./net_helpers.ts";
import assert from "node:assert/strict";
import { IoError, run, spawn, TcpListener, TcpStream, UnixListener, UnixStream } from "../mod.ts";
import type { Operation } from "../mod.ts";

type B = typeof NET_BACKENDS[number];
type Pair = [TcpStream | UnixStream, TcpStream | UnixStream, () => void];

function* tcpPair(): Generator<unknown, Pair, unknown> {
  const l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
  const c = yield* TcpStream.connect({ hostname: "127.0.0.1", port: l.localAddr.port });
  const s = yield* l.accept();
  return [c, s, () => l.close()];
}

function* unixPair(): Generator<unknown, Pair, unknown> {
  const path = Deno.makeTempDirSync() + "/t.sock";
  const l = yield* UnixListener.bind({ path });
  const c = yield* UnixStream.connect({ path });
  const s = yield* l.accept();
  return [c, s, () => l.close()];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

for (const backend of NET_BACKENDS) {
  for (const [kind, make] of [["tcp", tcpPair], ["unix", unixPair]] as const) {
    Deno.test(`writev gathers buffers, large and many [${kind}] [${backend}]`, async () => {
      await run(function* () {
        const [c, s, done] = yield* make();
        const bufs = [
          enc.encode("head-"),
          new Uint8Array(0),
          enc.encode("body-"),
          enc.encode("tail"),
        ];
        assert.equal(yield* c.writev(bufs), 14);
        const got = new Uint8Array(14);
        yield* s.readExact(got);
        assert.equal(dec.decode(got), "head-body-tail");
        // 3 MiB over 300 buffers: partial sends resume at the right byte.
        const many: Uint8Array[] = [];
        let total = 0;
        for (let i = 0; i < 300; i++) {
          const b = new Uint8Array(10_000 + i).fill(i & 0xff);
          many.push(b);
          total += b.length;
        }
        const reader = spawn(function* () {
          const all = new Uint8Array(total);
          yield* s.readExact(all);
          return all;
        });
        assert.equal(yield* c.writev(many), total);
        const all = yield* reader;
        let off = 0;
        for (const b of many) {
          assert.equal(all[off], b[0]);
          assert.equal(all[off + b.length - 1], b[0]);
          off += b.length;
        }
        assert.equal(yield* c.writev([]), 0);
        assert.throws(() => c.writev([new Uint8Array(1), "x" as unknown as Uint8Array]), TypeError);
        assert.throws(() => c.writev(new Array(1025).fill(new Uint8Array(1))), RangeError);
        c.close();
        s.close();
        done();
      }, { backend });
    });

    Deno.test(`peek, tryRead, tryWrite [${kind}] [${backend}]`, async () => {
      await run(function* () {
        const [c, s, done] = yield* make();
        if (backend === "deno") {
          const unsupported = (e: unknown) => e instanceof IoError && e.code === "EOPNOTSUPP";
          assert.throws(() => s.tryRead(new Uint8Array(4)), unsupported);
          assert.throws(() => c.tryWrite(new Uint8Array(4)), unsupported);
          let err: unknown = null;
          try {
            yield* s.peek(new Uint8Array(4));
          } catch (e) {
            err = e;
          }
          assert.ok(unsupported(err), String(err));
          c.close();
          s.close();
          return done();
        }
        const buf = new Uint8Array(64);
        assert.equal(s.tryRead(buf), null); // nothing yet
        assert.equal(s.tryRead(new Uint8Array(0)), 0);
        const peeking = spawn(s.peek(buf.subarray(0, 3)) as Operation<number>);
        assert.equal(c.tryWrite(enc.encode("hello")), 5);
        assert.equal(yield* peeking, 3);
        assert.equal(dec.decode(buf.subarray(0, 3)), "hel");
        assert.equal(yield* s.peek(buf), 5); // still there
        assert.equal(s.tryRead(buf), 5); // now consumed
        assert.equal(dec.decode(buf.subarray(0, 5)), "hello");
        assert.equal(s.tryRead(buf), null);
        // tryWrite until the send buffer is full: null, never a block.
        const chunk = new Uint8Array(1 << 16);
        let wrote = 0;
        for (let i = 0; i < 10_000; i++) {
          const n = c.tryWrite(chunk);
          if (n === null) break;
          wrote += n;
        }
        assert.equal(c.tryWrite(chunk), null);
        assert.ok(wrote > 0);
        // Drain with tryRead/peek + read, then end of stream is 0.
        let got = 0;
        while (got < wrote) {
          const n = yield* s.read(chunk);
          got += n!;
        }
        c.close();
        assert.equal(yield* s.peek(buf), 0);
        assert.equal(s.tryRead(buf), 0);
        s.close();
        assert.throws(() => s.tryRead(buf));
        done();
      }, { backend });
    });
  }
}
