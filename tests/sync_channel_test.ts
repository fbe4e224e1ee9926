// mpsc, oneshot, broadcast, watch: contracts and cancellation safety.
import assert from "node:assert/strict";
import { ClosedError, run, spawn } from "../runtime/mod.ts";
import { broadcast, LaggedError, mpsc, oneshot, select, watch } from "../sync/mod.ts";
import { settle, until } from "./sync_helpers.ts";

Deno.test("mpsc: bad arguments", () => {
  assert.throws(() => mpsc.channel(0), RangeError);
  assert.throws(() => mpsc.channel(-1), RangeError);
  assert.throws(() => mpsc.channel(2.5), RangeError);
  const [tx, rx] = mpsc.channel<number | undefined>(2);
  assert.throws(() => tx.trySend(undefined), TypeError);
  assert.throws(() => tx.send(undefined), TypeError);
  assert.throws(() => rx.recvMany([], -1), RangeError);
});

Deno.test("mpsc: FIFO through a wrapping ring; capacity is enforced; close drains", async () => {
  const [tx, rx] = mpsc.channel<number>(3);
  assert.equal(tx.trySend(1), true);
  assert.equal(tx.trySend(2), true);
  assert.equal(tx.trySend(3), true);
  assert.equal(tx.trySend(4), false, "full");
  assert.equal(tx.capacity, 0);
  assert.equal(rx.tryRecv(), 1);
  assert.equal(tx.trySend(4), true);
  const got: number[] = [];
  await run(function* () {
    const producer = spawn(function* () {
      for (let i = 5; i <= 100; i++) yield* tx.send(i);
      tx.close();
    });
    let v: number | undefined;
    while ((v = yield* rx.recv()) !== undefined) {
      got.push(v);
      assert.ok(rx.length <= 3);
    }
    yield* producer;
  });
  assert.deepEqual(got, Array.from({ length: 99 }, (_, i) => i + 2));
  assert.equal(rx.isClosed, true);
  assert.equal(rx.tryRecv(), undefined);
});

Deno.test("mpsc: every sender clone must close; recvMany; unbounded; async iteration", async () => {
  const [tx, rx] = mpsc.channel<string>(8);
  const tx2 = tx.clone();
  tx.trySend("a");
  tx2.trySend("b");
  tx2.trySend("c");
  tx.close();
  assert.throws(() => tx.trySend("x"), ClosedError);
  assert.equal(rx.isClosed, false);
  const buf: string[] = [];
  assert.equal(await rx.recvMany(buf, 2), 2);
  assert.deepEqual(buf, ["a", "b"]);
  tx2.close();
  assert.equal(await rx.recvMany(buf, 10), 1);
  assert.equal(await rx.recvMany(buf, 10), 0, "closed and drained");
  assert.equal(await rx.recv(), undefined);

  const [utx, urx] = mpsc.unbounded<number>();
  for (let i = 0; i < 1000; i++) utx.send(i);
  utx.close();
  let sum = 0;
  for await (const v of urx) sum += v;
  assert.equal(sum, 499500);
});

Deno.test("mpsc: send into a closed receiver throws ClosedError carrying the value", async () => {
  const [tx, rx] = mpsc.channel<{ id: number }>(1);
  tx.trySend({ id: 1 });
  const blocked = spawn(function* () {
    yield* tx.send({ id: 2 });
  });
  await run(function* () {
    yield* settle(2);
  });
  rx.close();
  await assert.rejects(() => Promise.resolve(blocked), (e: Error) => {
    const c = e.cause as ClosedError<{ id: number }>;
    return c instanceof ClosedError && c.value?.id === 2;
  });
  let err: ClosedError<{ id: number }> | undefined;
  try {
    tx.trySend({ id: 3 });
  } catch (e) {
    err = e as ClosedError<{ id: number }>;
  }
  assert.equal(err?.value?.id, 3);
  assert.equal(tx.isClosed, true);
  assert.deepEqual(rx.tryRecv(), { id: 1 }, "queued messages are still received");
});

Deno.test("mpsc: a blocked sender aborted sends nothing and keeps no slot", async () => {
  const [tx, rx] = mpsc.channel<string>(1);
  await run(function* () {
    tx.trySend("first");
    const a = spawn(function* () {
      yield* tx.send("aborted");
    });
    yield* settle(2);
    const b = spawn(function* () {
      yield* tx.send("b");
    });
    yield* settle(2);
    a.abort();
    yield* settle(2);
    assert.equal(yield* rx.recv(), "first");
    yield* b;
    assert.equal(yield* rx.recv(), "b");
    assert.equal(rx.tryRecv(), undefined);
    assert.equal(tx.capacity, 1, "the slot is free again");
  });
});

Deno.test("mpsc: a sender granted a slot then aborted passes the slot on", async () => {
  const [tx, rx] = mpsc.channel<string>(1);
  await run(function* () {
    tx.trySend("first");
    const a = spawn(function* () {
      yield* tx.send("a");
    });
    yield* settle(2);
    const b = spawn(function* () {
      yield* tx.send("b");
    });
    yield* settle(2);
    assert.equal(rx.tryRecv(), "first"); // slot granted to a (not run yet)
    a.abort();
    yield* b;
    assert.equal(rx.tryRecv(), "b");
    assert.equal(tx.capacity, 1);
  });
});

Deno.test("mpsc: reserve holds a slot; an unsent permit returns it", async () => {
  const [tx, rx] = mpsc.channel<number>(2);
  await run(function* () {
    const p1 = yield* tx.reserve();
    const p2 = tx.tryReserve()!;
    assert.equal(tx.capacity, 0);
    assert.equal(tx.trySend(9), false);
    const waiting = spawn(function* () {
      using p = yield* tx.reserve();
      p.send(3);
    });
    yield* settle(2);
    p1.send(1);
    assert.throws(() => p1.send(5), TypeError, "a permit sends once");
    {
      using _unsent = p2;
    } // disposed unsent: its slot goes to the waiting reserve
    yield* waiting;
    assert.equal(rx.tryRecv(), 1);
    assert.equal(rx.tryRecv(), 3);
    assert.equal(tx.capacity, 2);
    // an aborted reserve() waiter also leaves its slot
    tx.trySend(7);
    tx.trySend(8);
    const r = spawn(function* () {
      yield* tx.reserve();
    });
    yield* settle(2);
    rx.tryRecv(); // slot granted to r
    r.abort();
    yield* settle(2);
    assert.equal(tx.capacity, 1);
    // permits keep the channel open after every Sender closed
    const p = tx.tryReserve()!;
    tx.close();
    assert.equal(rx.isClosed, false);
    p.send(10);
    assert.equal(rx.isClosed, true);
    assert.equal(yield* rx.recv(), 8);
    assert.equal(yield* rx.recv(), 10);
    assert.equal(yield* rx.recv(), undefined);
  });
});

Deno.test("mpsc: an aborted recv takes no message and passes its wake-up on", async () => {
  const [tx, rx] = mpsc.channel<string>(4);
  await run(function* () {
    const got: string[] = [];
    const mk = (name: string) =>
      spawn(function* () {
        const v = yield* rx.recv();
        got.push(`${name}:${v}`);
      });
    const a = mk("a");
    yield* settle(2);
    const b = mk("b");
    yield* settle(2);
    tx.trySend("m1"); // wakes a…
    a.abort(); // …which is cancelled before it runs: b must get m1
    yield* b;
    assert.deepEqual(got, ["b:m1"]);
    const c = mk("c");
    yield* settle(2);
    c.abort();
    yield* settle(2);
    tx.trySend("m2");
    assert.equal(yield* rx.recv(), "m2", "an aborted recv took nothing");
  });
});

Deno.test("mpsc: senders blocked on a full channel are served FIFO", async () => {
  const [tx, rx] = mpsc.channel<string>(1);
  await run(function* () {
    tx.trySend("x");
    for (const name of ["s1", "s2", "s3"]) {
      spawn(function* () {
        yield* tx.send(name);
      });
      yield* settle(2);
    }
    assert.equal(tx.trySend("late"), false, "no overtaking blocked senders");
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push((yield* rx.recv())!);
    assert.deepEqual(got, ["x", "s1", "s2", "s3"]);
  });
});

Deno.test("oneshot: value, closed sender, closed receiver, retry after select", async () => {
  const [tx, rx] = oneshot.channel<number>();
  tx.send(5);
  assert.throws(() => tx.send(6), TypeError);
  assert.equal(await rx, 5);

  const [tx2, rx2] = oneshot.channel<number>();
  tx2.close();
  await assert.rejects(async () => await rx2, ClosedError);

  const [tx3, rx3] = oneshot.channel<string>();
  rx3.close();
  assert.equal(tx3.isClosed, true);
  assert.throws(() => tx3.send("lost"), (e: ClosedError<string>) => e.value === "lost");

  const [tx4, rx4] = oneshot.channel<string>();
  await run(function* () {
    const [ctx, crx] = oneshot.channel<void>();
    ctx.send();
    const r = yield* select({ v: rx4, other: crx }, { biased: true });
    assert.equal(r.key, "other");
    spawn(function* () {
      yield* settle(2);
      tx4.send("later");
    });
    assert.equal(yield* rx4, "later", "a cancelled receive can be retried");
  });
  const [tx5, rx5] = oneshot.channel<number>();
  const closedWait = spawn(function* () {
    yield* tx5.closed();
    return "closed";
  });
  rx5.close();
  assert.equal(await closedWait, "closed");
});

Deno.test("broadcast: every receiver sees every message; lag is counted exactly", async () => {
  assert.throws(() => broadcast.channel(0), RangeError);
  const [tx, rx1] = broadcast.channel<number>(4);
  const rx2 = tx.subscribe();
  // undefined marks end of stream: refused at the call, and nothing is sent.
  assert.throws(() => tx.send(undefined as unknown as number), TypeError);
  for (let i = 1; i <= 3; i++) tx.send(i);
  assert.deepEqual([rx1.tryRecv(), rx1.tryRecv(), rx1.tryRecv()], [1, 2, 3]);
  for (let i = 4; i <= 10; i++) assert.equal(tx.send(i), 2);
  // rx2 is at 1, the ring keeps 7..10: it missed 1..6
  assert.throws(
    () => rx2.tryRecv(),
    (e: LaggedError) => e instanceof LaggedError && e.missed === 6,
  );
  assert.equal(rx2.tryRecv(), 7, "continues from the oldest retained");
  // rx1 is at 4: missed 4..6
  await run(function* () {
    let lag: unknown;
    try {
      yield* rx1.recv();
    } catch (e) {
      lag = e;
    }
    assert.ok(lag instanceof LaggedError && lag.missed === 3);
    assert.equal(yield* rx1.recv(), 7);
    // waiting receivers are woken by a send
    const got: number[] = [];
    const h = spawn(function* () {
      let v: number | undefined;
      while ((v = yield* rx1.recv()) !== undefined) got.push(v);
    });
    yield* settle(2);
    tx.send(11);
    tx.close();
    yield* h;
    assert.deepEqual(got, [8, 9, 10, 11]);
  });
  rx1.close();
  rx2.close();
  const [tx3, rx3] = broadcast.channel<number>(2);
  rx3.close();
  assert.throws(() => tx3.send(1), ClosedError, "no receivers");
});

Deno.test("watch: changes coalesce into one wake; closed sender ends after the last change", async () => {
  const [tx, rx] = watch.channel(0);
  await run(function* () {
    let wakes = 0;
    const seen: number[] = [];
    const h = spawn(function* () {
      for (;;) {
        try {
          yield* rx.changed();
        } catch (e) {
          assert.ok(e instanceof ClosedError);
          return;
        }
        wakes++;
        seen.push(rx.borrow());
      }
    });
    yield* settle(2);
    tx.send(1);
    tx.send(2);
    tx.sendModify((v) => v + 1);
    yield* until(() => wakes === 1);
    yield* settle(4);
    assert.equal(wakes, 1, "three sends, one wake");
    assert.deepEqual(seen, [3]);
    tx.send(4);
    tx.close();
    yield* h;
    assert.deepEqual(seen, [3, 4], "the change before close is still reported");
  });
  const [tx2, rx2] = watch.channel({ n: 1 });
  tx2.sendModify((s) => {
    s.n = 5;
  });
  assert.equal(rx2.hasChanged, true);
  assert.equal(rx2.borrowAndUpdate().n, 5);
  assert.equal(rx2.hasChanged, false);
  rx2.close();
  assert.throws(() => tx2.send({ n: 0 }), ClosedError);
  assert.equal(tx2.sendReplace({ n: 6 }).n, 5);
});

Deno.test("watch: an aborted changed() waiter deregisters and marks nothing seen", async () => {
  const [tx, rx] = watch.channel("a");
  await run(function* () {
    const w = spawn(function* () {
      yield* rx.changed();
    });
    yield* settle(2);
    w.abort();
    yield* settle(2);
    tx.send("b");
    assert.equal(rx.hasChanged, true);
    yield* rx.changed();
    assert.equal(rx.borrow(), "b");
  });
});
