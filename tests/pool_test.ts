/**
 * The multi-worker pool: shared tasks across Deno Workers, abort, failures,
 * worker death, shutdown, and the cross-worker channel and notify.
 *
 * @module
 */

import assert from "node:assert/strict";
import { WorkerPool } from "../runtime/pool/pool.ts";
import { SharedChannel, sharedChannel, SharedNotify } from "../runtime/pool/channel.ts";
import { ArgWriter, decodeArgs } from "../runtime/pool/codec.ts";
import { JoinError } from "../runtime/errors.ts";

const TASKS = new URL("./fixtures/pool_tasks.ts", import.meta.url).href;

async function withPool(
  workers: number,
  f: (pool: WorkerPool) => Promise<void>,
): Promise<void> {
  const pool = await WorkerPool.start({ workers, modules: [TASKS] });
  try {
    await f(pool);
  } finally {
    await pool.shutdown({ timeoutMs: 2000 });
  }
  assert.ok(pool.metrics().every((m) => !m.alive), "every worker terminated");
}

async function rejection(p: PromiseLike<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

Deno.test("codec: round trip and typed errors", () => {
  const w = new ArgWriter();
  const sab = new SharedArrayBuffer(8);
  const values = [
    0,
    -1,
    2 ** 40,
    1.5,
    -0,
    NaN,
    "ascii",
    "ünïcødé ✓".repeat(20),
    true,
    null,
    undefined,
    12n,
    new Uint8Array([0, 255, 7]),
    [1, ["x"]],
    { a: { b: [null] } },
  ];
  for (const v of values) w.value(v);
  w.value(sab);
  const out = decodeArgs(w.bytes(), 0, w.length, w.shared);
  assert.deepStrictEqual(out.slice(0, values.length), values);
  assert.equal(out[values.length], sab);
  w.reset();
  assert.throws(() => w.value(() => 1), TypeError);
  assert.throws(() => w.value(new Map()), TypeError);
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assert.throws(() => w.value(cyc), TypeError);
});

Deno.test("pool: args and results round trip (numbers, strings, bytes, objects)", async () => {
  await withPool(2, async (pool) => {
    const big = new Uint8Array(10_000).map((_, i) => i & 0xff);
    const args = [42, -7.25, "héllo", new Uint8Array([1, 2, 3]), { k: [1, "v", { z: null }] }];
    assert.deepStrictEqual(await pool.spawnShared(TASKS, "pool.echo", ...args), args);
    // Large arguments travel by message instead of the inline slot.
    const r = await pool.spawnShared<{ sum: number; len: number }>(TASKS, "pool.byteSum", big);
    assert.deepStrictEqual(r, { sum: big.reduce((a, b) => a + b, 0), len: 10_000 });
    assert.equal(await pool.spawnShared(TASKS, "pool.asyncDouble", 21), 42);
    assert.equal(await pool.spawnBlocking(TASKS, "pool.spin", 0, 9), 9);
    // An async function as a blocking job: in flight until its promise settles.
    assert.equal(await pool.spawnBlocking(TASKS, "pool.asyncDouble", 21), 42);
    assert.throws(() => pool.spawnShared(TASKS, "pool.echo", (() => 1) as never), TypeError);
    assert.throws(() => pool.spawnShared("", "x"), TypeError);
    const e = await rejection(pool.spawnShared(TASKS, "pool.nope"));
    assert.ok(e instanceof JoinError && /no shared task "pool.nope"/.test(e.message));
  });
});

Deno.test("pool: 2 workers run 10,000 small shared tasks, each exactly once", async () => {
  await withPool(2, async (pool) => {
    const hs = [];
    for (let i = 0; i < 10_000; i++) hs.push(pool.spawnShared<number>(TASKS, "pool.add", i, 1));
    const vs = await Promise.all(hs);
    for (let i = 0; i < 10_000; i++) assert.equal(vs[i], i + 1);
    const m = pool.metrics();
    assert.equal(m[0].polls + m[1].polls, 10_000, "each task started exactly once");
    assert.ok(m[0].polls > 0 && m[1].polls > 0, `both workers worked: ${m[0].polls}/${m[1].polls}`);
  });
});

Deno.test("pool: abort reaches a running task on another worker, and a queued one", async () => {
  await withPool(2, async (pool) => {
    const running = pool.spawnShared<number>(TASKS, "pool.sleepy", 60_000, 1);
    // Wait until some worker has started it.
    for (let i = 0; i < 200 && pool.metrics().every((m) => m.polls === 0); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    running.abort();
    const e = await rejection(running);
    assert.ok(e instanceof JoinError && e.cancelled, "running task cancelled");
    // Fill both workers' concurrency, then abort one that must still be queued.
    const many = [];
    for (let i = 0; i < 200; i++) many.push(pool.spawnShared<number>(TASKS, "pool.sleepy", 20, i));
    const last = pool.spawnShared<number>(TASKS, "pool.sleepy", 20, -1);
    last.abort();
    const e2 = await rejection(last);
    assert.ok(e2 instanceof JoinError && e2.cancelled);
    assert.deepStrictEqual(await Promise.all(many), many.map((_, i) => i));
    assert.ok(last.isFinished());
  });
});

Deno.test("pool: a throwing task rejects with JoinError and the worker stays alive", async () => {
  await withPool(1, async (pool) => {
    const e = await rejection(pool.spawnShared(TASKS, "pool.boom", "kaput"));
    assert.ok(e instanceof JoinError && !e.cancelled);
    assert.match(e.message, /kaput/);
    assert.equal((e.cause as Error).name, "RangeError");
    const e2 = await rejection(pool.spawnBlocking(TASKS, "pool.boom", "again"));
    assert.match((e2 as Error).message, /again/);
    const e3 = await rejection(pool.spawnBlocking(TASKS, "pool.asyncBoom", "later"));
    assert.ok(e3 instanceof JoinError && !e3.cancelled);
    assert.match(e3.message, /later/);
    assert.equal(await pool.spawnShared(TASKS, "pool.add", 2, 3), 5);
    assert.ok(pool.metrics()[0].alive);
  });
});

Deno.test("pool: a terminated worker's queued tasks are not lost", async () => {
  await withPool(2, async (pool) => {
    const exits: number[] = [];
    pool.onWorkerExit = (i) => exits.push(i);
    const hs = [];
    for (let i = 0; i < 400; i++) hs.push(pool.spawnShared<number>(TASKS, "pool.sleepy", 5, i));
    // Let both workers take work, then kill worker 0.
    for (let i = 0; i < 200 && pool.metrics()[0].polls === 0; i++) {
      await new Promise((r) => setTimeout(r, 2));
    }
    pool.terminateWorker(0);
    const outcomes = await Promise.allSettled(hs);
    let ok = 0;
    let died = 0;
    outcomes.forEach((o, i) => {
      if (o.status === "fulfilled") {
        assert.equal(o.value, i);
        ok++;
      } else {
        assert.ok(o.reason instanceof JoinError);
        assert.match(o.reason.message, /worker 0 died/);
        died++;
      }
    });
    assert.equal(ok + died, 400, "every task settled");
    // Only tasks the dead worker had started fail (terminate() is asynchronous,
    // so it may start a few more than one batch before it stops).
    assert.ok(died < 200 && ok > 200, `ok ${ok}, died ${died}`);
    assert.deepStrictEqual(exits, [0]);
    assert.equal(pool.metrics()[0].alive, false);
    assert.equal(await pool.spawnShared(TASKS, "pool.add", 1, 1), 2, "the pool still works");
  });
});

Deno.test("pool: a worker crashing on an uncaught error is reported; the pool goes on", async () => {
  await withPool(2, async (pool) => {
    const exits: string[] = [];
    pool.onWorkerExit = (i, reason) => exits.push(`${i}: ${reason}`);
    const e = await rejection(pool.spawnShared(TASKS, "pool.crash"));
    assert.ok(e instanceof JoinError);
    assert.match(e.message, /died \(uncaught error: .*worker crash/);
    assert.equal(exits.length, 1);
    assert.equal(pool.metrics().filter((m) => m.alive).length, 1);
    const vs = await Promise.all(
      Array.from({ length: 50 }, (_, i) => pool.spawnShared<number>(TASKS, "pool.add", i, i)),
    );
    assert.deepStrictEqual(vs, Array.from({ length: 50 }, (_, i) => 2 * i));
  });
});

Deno.test("pool: shutdown drains work in flight, then cancels what outlives the timeout", async () => {
  const pool = await WorkerPool.start({ workers: 2, modules: [TASKS] });
  const hs = [];
  for (let i = 0; i < 300; i++) hs.push(pool.spawnShared<number>(TASKS, "pool.sleepy", 2, i));
  await pool.shutdown({ timeoutMs: 10_000 });
  assert.deepStrictEqual(await Promise.all(hs), hs.map((_, i) => i));
  assert.throws(() => pool.spawnShared(TASKS, "pool.add", 1, 1), /after shutdown/);

  const pool2 = await WorkerPool.start({ workers: 2, modules: [TASKS] });
  const slow = [];
  for (let i = 0; i < 10; i++) slow.push(pool2.spawnShared(TASKS, "pool.sleepy", 60_000, i));
  const t = performance.now();
  await pool2.shutdown({ timeoutMs: 50 });
  assert.ok(performance.now() - t < 5000);
  for (const o of await Promise.allSettled(slow)) {
    assert.equal(o.status, "rejected");
    assert.ok((o as PromiseRejectedResult).reason.cancelled);
  }
  assert.ok(pool2.metrics().every((m) => !m.alive));
});

Deno.test("channel: order and backpressure across workers", async () => {
  await withPool(1, async (pool) => {
    const toW = sharedChannel(64); // small: forces the sender to wait for room
    const fromW = sharedChannel(64);
    const relay = pool.spawnShared<number>(TASKS, "pool.relay", toW.buffer, fromW.buffer, 0);
    const N = 2000;
    const sender = (async () => {
      for (let i = 0; i < N; i++) {
        const msg = new Uint8Array(1 + (i % 24)).fill(i & 0xff);
        msg[0] = i & 0xff;
        await toW.send(msg);
        assert.ok(toW.queuedBytes <= toW.capacity);
      }
      toW.close();
    })();
    for (let i = 0; i < N; i++) {
      const m = await fromW.recv();
      assert.ok(m instanceof Uint8Array);
      assert.equal(m.length, 1 + (i % 24));
      assert.equal(m[0], i & 0xff, `message ${i} in order`);
    }
    assert.equal(await fromW.recv(), null, "closed after the last message");
    await sender;
    assert.equal(await relay, N);
  });
});

Deno.test("channel: local semantics, bad input, close", async () => {
  const ch = sharedChannel(60);
  assert.equal(ch.capacity, 64);
  assert.throws(() => sharedChannel(0), RangeError);
  assert.throws(() => ch.trySend(new Uint8Array(61)), RangeError);
  assert.throws(() => ch.trySend("x" as never), TypeError);
  assert.ok(ch.trySend(new Uint8Array(56)));
  assert.equal(ch.trySend(new Uint8Array(1)), false, "full");
  const again = SharedChannel.from(ch.buffer);
  assert.equal(again.tryRecv()?.length, 56);
  assert.equal(again.tryRecv(), undefined, "empty");
  ch.trySend(new Uint8Array([9]));
  ch.close();
  assert.throws(() => ch.trySend(new Uint8Array(1)), /closed/);
  assert.deepStrictEqual(await ch.recv(), new Uint8Array([9]));
  assert.equal(await ch.recv(), null);
});

Deno.test("SharedNotify: permit and cross-worker wake", async () => {
  const n = new SharedNotify();
  n.notifyOne();
  await n.notified(); // the stored permit
  await withPool(1, async (pool) => {
    const h = pool.spawnShared<string>(TASKS, "pool.waitNotify", n.buffer);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(h.isFinished(), false, "waits for a notification");
    n.notifyOne();
    assert.equal(await h, "woken");
  });
});
