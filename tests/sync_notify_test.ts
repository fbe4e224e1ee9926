// Notify, Barrier, OnceCell: contracts and cancellation safety.
import assert from "node:assert/strict";
import { run, spawn, yieldNow } from "../runtime/mod.ts";
import { Barrier, Notify, OnceCell } from "../sync/mod.ts";
import { settle, until } from "./sync_helpers.ts";

Deno.test("Notify: notifyOne stores a single permit when nobody waits", async () => {
  const n = new Notify();
  n.notifyOne();
  n.notifyOne(); // coalesces
  assert.ok(n.hasPermit);
  await run(function* () {
    yield* n.notified(); // consumes the permit at once
    assert.equal(n.hasPermit, false);
    let woke = false;
    spawn(function* () {
      yield* n.notified();
      woke = true;
    });
    yield* settle(4);
    assert.equal(woke, false, "only one permit was stored");
    n.notifyOne();
    yield* until(() => woke);
    assert.equal(n.hasPermit, false, "given to the waiter, not stored");
  });
});

Deno.test("Notify: notifyOne wakes waiters in FIFO order, one per call", async () => {
  const n = new Notify();
  await run(function* () {
    const woke: number[] = [];
    for (let i = 0; i < 3; i++) {
      spawn(function* () {
        yield* n.notified();
        woke.push(i);
      });
      yield* settle(2);
    }
    n.notifyOne();
    yield* settle(4);
    n.notifyOne();
    yield* settle(4);
    assert.deepEqual(woke, [0, 1]);
    n.notifyOne();
    yield* until(() => woke.length === 3);
    assert.deepEqual(woke, [0, 1, 2]);
  });
});

Deno.test("Notify: notifyWaiters wakes everyone waiting now and stores nothing", async () => {
  const n = new Notify();
  await run(function* () {
    let woke = 0;
    for (let i = 0; i < 3; i++) {
      spawn(function* () {
        yield* n.notified();
        woke++;
      });
    }
    // made before the call, first polled after it: still completes
    const early = n.notified();
    yield* settle(4);
    n.notifyWaiters();
    yield* until(() => woke === 3);
    assert.equal(n.hasPermit, false);
    yield* early;
    let late = false;
    spawn(function* () {
      yield* n.notified();
      late = true;
    });
    yield* settle(4);
    assert.equal(late, false);
    n.notifyOne();
    yield* until(() => late);
  });
});

Deno.test("Notify: a notification given to a waiter aborted before it ran passes on", async () => {
  const n = new Notify();
  await run(function* () {
    const a = spawn(function* () {
      yield* n.notified();
    });
    yield* settle(2);
    let bWoke = false;
    spawn(function* () {
      yield* n.notified();
      bWoke = true;
    });
    yield* settle(2);
    n.notifyOne(); // goes to a
    a.abort(); // a never observed it
    yield* until(() => bWoke);
    assert.equal(n.waiting, 0);
    // and with no other waiter, it becomes the stored permit
    const c = spawn(function* () {
      yield* n.notified();
    });
    yield* settle(2);
    n.notifyOne();
    c.abort();
    yield* settle(2);
    assert.equal(n.hasPermit, true);
  });
});

Deno.test("Notify: an aborted plain waiter leaves the queue", async () => {
  const n = new Notify();
  await run(function* () {
    const a = spawn(function* () {
      yield* n.notified();
    });
    yield* settle(2);
    assert.equal(n.waiting, 1);
    a.abort(); // takes effect when the task is next scheduled
    yield* settle(2);
    assert.equal(n.waiting, 0);
    n.notifyOne();
    assert.equal(n.hasPermit, true, "nobody took it");
  });
});

Deno.test("Barrier: one leader per generation, reusable", async () => {
  assert.throws(() => new Barrier(0), RangeError);
  assert.throws(() => new Barrier(2.5), RangeError);
  const b = new Barrier(3);
  await run(function* () {
    const results: boolean[] = [];
    const passed: number[] = [];
    const hs = [];
    for (let i = 0; i < 6; i++) {
      hs.push(spawn(function* () {
        const r = yield* b.wait();
        results.push(r.isLeader);
        passed.push(i);
      }));
      yield* settle(2);
      if (i === 1) assert.deepEqual(passed, [], "two of three arrived: nobody passes");
    }
    for (const h of hs) yield* h;
    assert.equal(results.filter((x) => x).length, 2);
    assert.equal(results.length, 6);
    assert.equal(b.arrived, 0);
  });
});

Deno.test("Barrier: an aborted waiter withdraws its arrival", async () => {
  const b = new Barrier(2);
  await run(function* () {
    const a = spawn(function* () {
      yield* b.wait();
    });
    yield* settle(2);
    assert.equal(b.arrived, 1);
    a.abort();
    yield* settle(2);
    assert.equal(b.arrived, 0);
    let through = false;
    spawn(function* () {
      yield* b.wait();
      through = true;
    });
    yield* settle(4);
    assert.equal(through, false, "the aborted task does not count");
    const r = yield* b.wait();
    assert.equal(r.isLeader, true);
    yield* until(() => through);
  });
});

Deno.test("OnceCell: set/get, and getOrInit runs one initialiser for concurrent callers", async () => {
  const c = new OnceCell<number>();
  assert.equal(c.get(), undefined);
  const cell = new OnceCell<string>();
  let calls = 0;
  await run(function* () {
    const hs = [];
    for (let i = 0; i < 5; i++) {
      hs.push(spawn(cell.getOrInit(function* () {
        calls++;
        yield* settle(3);
        return `v${i}`;
      })));
    }
    const vs = [];
    for (const h of hs) vs.push(yield* h);
    assert.equal(calls, 1);
    assert.equal(new Set(vs).size, 1);
    assert.equal(cell.get(), vs[0]);
    assert.equal(cell.set("other"), false);
  });
  assert.equal(c.set(1), true);
  assert.equal(c.set(2), false);
  assert.equal(c.get(), 1);
  const p = new OnceCell<number[]>();
  assert.deepEqual(await p.getOrInit(() => Promise.resolve([1, 2])), [1, 2]);
  const arr = new OnceCell<number[]>();
  assert.deepEqual(await arr.getOrInit(() => [3]), [3], "an array is a plain value");
});

Deno.test("OnceCell: a failing or cancelled initialiser hands over to the next waiter", async () => {
  const cell = new OnceCell<string>();
  await run(function* () {
    const failing = spawn(cell.getOrInit(function* () {
      yield* settle(3);
      throw new Error("boom");
    }));
    yield* settle(1);
    const second = spawn(cell.getOrInit(() => "second"));
    yield* settle(1);
    const third = spawn(cell.getOrInit(() => "third"));
    let err: unknown;
    try {
      yield* failing;
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof Error && (err.cause as Error).message === "boom");
    assert.equal(yield* second, "second");
    assert.equal(yield* third, "second");

    // the right to initialise handed to a waiter that is cancelled before it ran passes on
    const c3 = new OnceCell<string>();
    const gate = new Notify();
    let bHandle: { abort(): void } | null = null;
    const a = spawn(c3.getOrInit(function* () {
      yield* gate.notified();
      bHandle!.abort(); // b is cancelled before it can observe the hand-off
      throw new Error("a failed");
    }));
    yield* settle(2);
    const b = spawn(c3.getOrInit(() => "b"));
    bHandle = b;
    yield* settle(2);
    const c = spawn(c3.getOrInit(() => "c"));
    yield* settle(2);
    gate.notifyOne();
    assert.equal(yield* c, "c");
    assert.equal(c3.get(), "c");
    for (const h of [a, b]) {
      let failed = false;
      try {
        yield* h;
      } catch {
        failed = true;
      }
      assert.ok(failed);
    }

    // cancellation of the initialiser
    const c2 = new OnceCell<number>();
    let cleaned = false;
    const slow = spawn(c2.getOrInit(function* () {
      try {
        for (;;) yield* yieldNow();
      } finally {
        cleaned = true;
      }
    }));
    yield* settle(2);
    const next = spawn(c2.getOrInit(() => 7));
    yield* settle(2);
    slow.abort();
    yield* until(() => cleaned);
    assert.equal(yield* next, 7);
    assert.equal(c2.get(), 7);
  });
});
