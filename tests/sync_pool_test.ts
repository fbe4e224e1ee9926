/**
 * `Pool<T>` (sync/pool.ts): the size bound under contention, reuse newest
 * first, idle timeout on the paused clock, broken items discarded (by the
 * guard and by `isBroken`), a failing create gives its permit back,
 * cancelled waiters take nothing, close.
 */

import assert from "node:assert/strict";
import { run, spawn } from "../runtime/mod.ts";
import { ClosedError } from "../runtime/errors.ts";
import { Pool, select } from "../sync/mod.ts";
import { sleep, time } from "../time/mod.ts";
import { settle, until } from "./sync_helpers.ts";

interface Item {
  id: number;
  ok: boolean;
}

function counting(
  maxSize: number,
  extra: Partial<ConstructorParameters<typeof Pool<Item>>[0]> = {},
) {
  const made: Item[] = [];
  const destroyed: number[] = [];
  const pool = new Pool<Item>({
    create: () => {
      const it = { id: made.length + 1, ok: true };
      made.push(it);
      return it;
    },
    destroy: (it) => destroyed.push(it.id),
    maxSize,
    ...extra,
  });
  return { pool, made, destroyed };
}

Deno.test("pool: never more than maxSize items; waiters get items given back", async () => {
  const { pool, made } = counting(3);
  let inUse = 0, peak = 0;
  await run(function* () {
    const tasks = Array.from({ length: 20 }, () =>
      spawn(function* () {
        using g = yield* pool.acquire();
        inUse++;
        peak = Math.max(peak, inUse);
        assert.ok(g.value.ok);
        yield* sleep(1);
        inUse--;
      }));
    yield* until(() => pool.waiting > 0);
    assert.equal(pool.size, 3);
    for (const t of tasks) yield* t;
  });
  assert.equal(peak, 3);
  assert.equal(made.length, 3);
  assert.equal(pool.idle, 3);
  assert.equal(pool.size, 3);
});

Deno.test("pool: idle items are reused newest first", async () => {
  const { pool } = counting(4);
  const a = await pool.acquire();
  const b = await pool.acquire();
  a.release();
  b.release();
  const c = await pool.acquire();
  assert.equal(c.value.id, 2);
  c.release();
  c.release(); // a second release is a no-op
  assert.equal(pool.idle, 2);
  assert.throws(() => c.value, ClosedError);
});

Deno.test("pool: idle timeout (paused clock) destroys old idle items", async () => {
  const { pool, destroyed } = counting(4, { idleTimeoutMs: 1000 });
  await run(function* () {
    time.pause();
    const a = yield* pool.acquire();
    const b = yield* pool.acquire();
    a.release();
    yield* time.advance(600);
    b.release();
    yield* time.advance(500); // a idle 1100 ms, b 500 ms
    const g = yield* pool.acquire();
    assert.equal(g.value.id, 2);
    assert.deepEqual(destroyed, [1]);
    assert.equal(pool.size, 1);
    g.release();
    yield* time.advance(1000);
    const h = yield* pool.acquire(); // b is too old now: a new item
    assert.equal(h.value.id, 3);
    assert.deepEqual(destroyed, [1, 2]);
    h.release();
  });
});

Deno.test("pool: broken items are discarded, by the guard or by isBroken", async () => {
  const { pool, destroyed } = counting(2, { isBroken: (it) => !it.ok });
  const a = await pool.acquire();
  a.discard();
  a.release();
  assert.deepEqual(destroyed, [1]);
  assert.equal(pool.size, 0);
  const b = await pool.acquire();
  b.value.ok = false;
  b.release();
  assert.deepEqual(destroyed, [1, 2]);
  const c = await pool.acquire();
  assert.equal(c.value.id, 3);
  c.release();
  assert.equal(pool.idle, 1);
});

Deno.test("pool: a failing create gives its permit back", async () => {
  let fail = true;
  const pool = new Pool<string>({
    create: () => {
      if (fail) return Promise.reject(new Error("connect refused"));
      return Promise.resolve("conn");
    },
    maxSize: 1,
  });
  await assert.rejects(async () => await pool.acquire(), /connect refused/);
  assert.equal(pool.size, 0);
  fail = false;
  const g = await pool.acquire();
  assert.equal(g.value, "conn");
  g.release();
});

Deno.test("pool: create may be an operation", async () => {
  const pool = new Pool<number>({
    create: function* () {
      yield* sleep(1);
      return 7;
    },
    maxSize: 1,
  });
  const v = await run(function* () {
    using g = yield* pool.acquire();
    return g.value;
  });
  assert.equal(v, 7);
});

Deno.test("pool: a cancelled waiter takes nothing", async () => {
  const { pool } = counting(1);
  await run(function* () {
    const held = yield* pool.acquire();
    const r = yield* select({ got: pool.acquire(), timeout: sleep(5) });
    assert.equal(r.key, "timeout");
    assert.equal(pool.waiting, 0);
    held.release();
    const again = yield* pool.acquire();
    assert.equal(again.value.id, 1);
    again.release();
    yield* settle();
  });
});

Deno.test("pool: close destroys idle items, fails waiters and later acquires", async () => {
  const { pool, destroyed } = counting(1);
  await run(function* () {
    const g = yield* pool.acquire();
    const waiter = spawn(function* () {
      try {
        yield* pool.acquire();
        return "got";
      } catch (e) {
        return e instanceof ClosedError ? "closed" : String(e);
      }
    });
    yield* until(() => pool.waiting === 1);
    pool.close();
    assert.equal(yield* waiter, "closed");
    g.release(); // in use at close: destroyed when given back
    assert.deepEqual(destroyed, [1]);
    assert.equal(pool.size, 0);
  });
  await assert.rejects(async () => await pool.acquire(), ClosedError);
});

Deno.test("pool: bad options are refused at the call", () => {
  assert.throws(() => new Pool({ create: () => 1, maxSize: 0 }), RangeError);
  assert.throws(() => new Pool({ create: () => 1, maxSize: 1.5 }), RangeError);
  assert.throws(() => new Pool({ create: () => 1, maxSize: 1, idleTimeoutMs: -1 }), RangeError);
  assert.throws(() => new Pool({ create: 1 as unknown as () => number, maxSize: 1 }), TypeError);
});
