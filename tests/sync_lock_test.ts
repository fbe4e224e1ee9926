// Mutex, RwLock and Semaphore: contracts, FIFO order, cancellation safety.
import assert from "node:assert/strict";
import { ClosedError, run, spawn } from "../runtime/mod.ts";
import { Mutex, RwLock, Semaphore } from "../sync/mod.ts";
import { settle, until } from "./sync_helpers.ts";

Deno.test("Mutex: exclusive and FIFO-fair; no barging while handed over", async () => {
  const m = new Mutex<string[]>([]);
  await run(function* () {
    const first = m.tryLock();
    assert.ok(first !== null);
    assert.equal(m.tryLock(), null);
    const order: string[] = [];
    for (const name of ["b", "c", "d"]) {
      spawn(function* () {
        using g = yield* m.lock();
        order.push(name);
        g.value.push(name);
        yield* settle(2); // hold it across suspensions
      });
      yield* settle(2);
    }
    assert.equal(m.waiting, 3);
    first.release();
    // handed to "b": still locked, a newcomer cannot take it
    assert.ok(m.isLocked);
    assert.equal(m.tryLock(), null);
    yield* until(() => !m.isLocked);
    assert.deepEqual(order, ["b", "c", "d"]);
    const g = yield* m.lock();
    assert.deepEqual(g.value, ["b", "c", "d"]);
    g.release();
    g.release(); // idempotent
    assert.throws(() => g.value, TypeError);
  });
});

Deno.test("Mutex: an aborted waiter loses its place and takes nothing", async () => {
  const m = new Mutex(0);
  await run(function* () {
    const held = m.tryLock()!;
    const got: string[] = [];
    const mk = (name: string) =>
      spawn(function* () {
        using g = yield* m.lock();
        got.push(name);
        g.value++;
      });
    const b = mk("b");
    yield* settle(2);
    mk("c");
    yield* settle(2);
    b.abort();
    yield* settle(2);
    assert.equal(m.waiting, 1);
    held.release();
    yield* until(() => !m.isLocked);
    assert.deepEqual(got, ["c"]);
    assert.equal(m.tryLock()?.value, 1);
  });
});

Deno.test("Mutex: a waiter aborted after the lock was handed to it passes it on", async () => {
  const m = new Mutex(0);
  await run(function* () {
    const held = m.tryLock()!;
    const got: string[] = [];
    const mk = (name: string) =>
      spawn(function* () {
        using _g = yield* m.lock();
        got.push(name);
      });
    const b = mk("b");
    yield* settle(2);
    mk("c");
    yield* settle(2);
    held.release(); // granted to b, which has not run yet
    b.abort();
    yield* until(() => !m.isLocked);
    assert.deepEqual(got, ["c"]);
    assert.equal(m.waiting, 0);
  });
});

Deno.test("RwLock: readers share, a waiting writer blocks new readers, no starvation", async () => {
  const l = new RwLock(0);
  await run(function* () {
    const r1 = l.tryRead()!;
    const r2 = yield* l.read();
    assert.equal(l.readers, 2);
    assert.equal(l.tryWrite(), null);
    const log: string[] = [];
    spawn(function* () {
      using g = yield* l.write();
      log.push("w");
      g.value = 1;
    });
    yield* settle(2);
    assert.equal(l.tryRead(), null, "a queued writer blocks new readers");
    spawn(function* () {
      using g = yield* l.read();
      log.push(`r=${g.value}`);
    });
    yield* settle(2);
    r1.release();
    yield* settle(2);
    assert.deepEqual(log, [], "writer waits for every reader");
    r2.release();
    yield* until(() => log.length === 2);
    assert.deepEqual(log, ["w", "r=1"]);
    assert.throws(() => r2.value, TypeError);
  });
});

Deno.test("RwLock: cancelling a waiting writer lets the readers queued behind it in", async () => {
  const l = new RwLock("x");
  await run(function* () {
    const r = l.tryRead()!;
    const w = spawn(function* () {
      using _g = yield* l.write();
    });
    yield* settle(2);
    let readerIn = false;
    spawn(function* () {
      using _g = yield* l.read();
      readerIn = true;
      yield* settle(5);
    });
    yield* settle(2);
    assert.equal(readerIn, false);
    w.abort();
    yield* until(() => readerIn);
    assert.equal(l.readers, 2);
    r.release();
    yield* until(() => l.readers === 0);
    assert.ok(l.tryWrite() !== null);
  });
});

Deno.test("Semaphore: bad arguments are RangeErrors", () => {
  assert.throws(() => new Semaphore(-1), RangeError);
  assert.throws(() => new Semaphore(1.5), RangeError);
  assert.throws(() => new Semaphore(NaN), RangeError);
  const s = new Semaphore(1);
  assert.throws(() => s.acquire(-1), RangeError);
  assert.throws(() => s.acquire(0.5), RangeError);
  assert.throws(() => s.acquire(Semaphore.MAX_PERMITS + 1), RangeError);
  assert.throws(() => s.tryAcquire(-2), RangeError);
  assert.throws(() => s.addPermits(Semaphore.MAX_PERMITS), RangeError);
  assert.equal(s.available, 1);
});

Deno.test("Semaphore: FIFO, a large head blocks smaller requests behind it", async () => {
  const s = new Semaphore(2);
  await run(function* () {
    const p = yield* s.acquire(2);
    const order: string[] = [];
    const mk = (name: string, n: number) =>
      spawn(function* () {
        const q = yield* s.acquire(n);
        order.push(name);
        return q;
      });
    const big = mk("big", 3);
    yield* settle(2);
    const small = mk("small", 1);
    yield* settle(2);
    assert.equal(s.tryAcquire(1), null, "tryAcquire does not overtake waiters");
    p.release(); // 2 free: not enough for big, and small must wait behind it
    yield* settle(4);
    assert.deepEqual(order, []);
    assert.equal(s.available, 2);
    s.addPermits(1); // 3 free: the head is served, the small one still waits
    const bp = yield* big;
    yield* settle(4);
    assert.deepEqual(order, ["big"]);
    s.addPermits(1);
    const sp = yield* small;
    assert.deepEqual(order, ["big", "small"]);
    assert.equal(bp.count, 3);
    assert.equal(sp.count, 1);
    assert.equal(s.available, 0);
    bp.release();
    sp[Symbol.dispose]();
    assert.equal(s.available, 4);
  });
});

Deno.test("Semaphore: aborting the blocking head lets the rest through; nothing leaks", async () => {
  const s = new Semaphore(1);
  await run(function* () {
    const big = spawn(function* () {
      yield* s.acquire(5);
    });
    yield* settle(2);
    const got: number[] = [];
    spawn(function* () {
      const p = yield* s.acquire(1);
      got.push(p.count);
      p.release();
    });
    yield* settle(2);
    assert.equal(s.waiting, 2);
    big.abort();
    yield* until(() => got.length === 1);
    assert.equal(s.available, 1);
    assert.equal(s.waiting, 0);
  });
});

Deno.test("Semaphore: permits granted to an aborted waiter go back", async () => {
  const s = new Semaphore(0);
  await run(function* () {
    const a = spawn(function* () {
      yield* s.acquire(2);
    });
    yield* settle(2);
    let bGot = 0;
    spawn(function* () {
      bGot = (yield* s.acquire(2)).count;
    });
    yield* settle(2);
    s.addPermits(2); // granted to a, not yet observed
    assert.equal(s.available, 0);
    a.abort();
    yield* until(() => bGot === 2);
    assert.equal(s.available, 0, "b holds (and forgot to release) the 2 permits");
  });
});

Deno.test("Semaphore: close fails waiters and later acquires; forget shrinks", async () => {
  const s = new Semaphore(1);
  await run(function* () {
    const p = s.tryAcquire()!;
    const waiter = spawn(function* () {
      yield* s.acquire();
    });
    yield* settle(2);
    s.close();
    yield* settle(2);
    let err: unknown;
    try {
      yield* waiter;
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof Error && err.cause instanceof ClosedError);
    assert.throws(() => s.tryAcquire(), ClosedError);
    let later: unknown;
    try {
      yield* s.acquire();
    } catch (e) {
      later = e;
    }
    assert.ok(later instanceof ClosedError);
    p.forget();
    assert.equal(p.count, 0);
    assert.equal(s.available, 0);
  });
  const s2 = new Semaphore(3);
  const p = await s2.acquire(2);
  assert.equal(s2.available, 1);
  p.forget();
  p.release();
  assert.equal(s2.available, 1);
});
