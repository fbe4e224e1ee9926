/**
 * duplex: backpressure (a writer waits with exactly `capacity` bytes
 * unread, and goes on as the reader reads), wrap-around of the ring,
 * shutdown and close in each direction, and cancellation of a waiting
 * read or write.
 */

import assert from "node:assert/strict";
import { ClosedError, run, spawn } from "../runtime/mod.ts";
import { yieldNow } from "../runtime/mod.ts";
import { IoError } from "../net/mod.ts";
import { duplex } from "../io/mod.ts";
import { rng } from "./io_helpers.ts";

Deno.test("duplex: a writer waits while the pipe is full, and resumes as it drains", async () => {
  await run(function* () {
    const [a, b] = duplex(8);
    let written = 0;
    const writer = spawn(function* () {
      for (let i = 0; i < 10; i++) {
        yield* a.writeAll(new Uint8Array(3).fill(i));
        written += 3;
      }
      yield* a.shutdown();
    });
    for (let i = 0; i < 5; i++) yield* yieldNow();
    assert.equal(written, 6); // the third write waits: 8 of its bytes fit, 6 + 2 = 8 buffered
    const one = new Uint8Array(1);
    assert.equal(yield* b.read(one), 1);
    for (let i = 0; i < 5; i++) yield* yieldNow();
    assert.equal(written, 9); // one byte of room let the third write finish
    const rest: number[] = [one[0]];
    const buf = new Uint8Array(5);
    for (let n = yield* b.read(buf); n !== null; n = yield* b.read(buf)) {
      rest.push(...buf.subarray(0, n));
    }
    yield* writer;
    assert.deepEqual(rest, Array.from({ length: 30 }, (_, k) => Math.floor(k / 3)));
  });
});

Deno.test("duplex: random reads and writes through a small ring keep every byte in order", async () => {
  const rand = rng(42);
  const data = new Uint8Array(50_000).map(() => Math.floor(rand() * 256));
  const got = await run(function* () {
    const [a, b] = duplex(13);
    const writer = spawn(function* () {
      let at = 0;
      while (at < data.byteLength) {
        at += yield* a.write(data.subarray(at, at + 1 + Math.floor(rand() * 40)));
      }
      yield* a.shutdown();
    });
    const out: number[] = [];
    const buf = new Uint8Array(64);
    for (;;) {
      const n = yield* b.read(buf.subarray(0, 1 + Math.floor(rand() * 63)));
      if (n === null) break;
      out.push(...buf.subarray(0, n));
    }
    yield* writer;
    return out;
  });
  assert.deepEqual(new Uint8Array(got), data);
});

Deno.test("duplex: both directions are independent; close ends both", async () => {
  await run(function* () {
    const [a, b] = duplex(16);
    yield* a.writeAll(new Uint8Array([1]));
    yield* b.writeAll(new Uint8Array([2, 2]));
    const buf = new Uint8Array(4);
    assert.equal(yield* b.read(buf), 1);
    assert.equal(yield* a.read(buf), 2);
    // A reader waiting when the other end closes sees the end of stream.
    const waiting = spawn(b.read(buf));
    yield* yieldNow();
    yield* a.writeAll(new Uint8Array([9]));
    a.close();
    assert.equal(yield* waiting, 1);
    assert.equal(yield* b.read(buf), null);
    // Writing to a closed end's peer: EPIPE; using a closed end: ClosedError.
    let e: unknown = null;
    try {
      yield* b.write(new Uint8Array(1));
    } catch (x) {
      e = x;
    }
    assert.ok(e instanceof IoError && e.code === "EPIPE", String(e));
    try {
      yield* a.read(buf);
      assert.fail("closed");
    } catch (x) {
      assert.ok(x instanceof ClosedError);
    }
  });
});

Deno.test("duplex: a blocked writer woken by close gets EPIPE; a cancelled one leaves nothing registered", async () => {
  await run(function* () {
    const [a, b] = duplex(4);
    const blocked = spawn(a.writeAll(new Uint8Array(10)));
    yield* yieldNow();
    b.close();
    try {
      yield* blocked;
      assert.fail("the reader closed");
    } catch (x) {
      assert.ok((x as Error).cause instanceof IoError);
    }
    const [c, d] = duplex(2);
    const w = spawn(c.writeAll(new Uint8Array(5).fill(7)));
    yield* yieldNow();
    w.abort();
    try {
      yield* w;
    } catch { /* cancelled */ }
    // The cancelled writeAll delivered exactly the prefix that fit.
    const buf = new Uint8Array(8);
    assert.equal(yield* d.read(buf), 2);
    yield* c.shutdown();
    assert.equal(yield* d.read(buf), null);
    assert.throws(() => duplex(0), RangeError);
  });
});
