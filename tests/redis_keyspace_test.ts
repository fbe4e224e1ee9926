/**
 * mini-redis's key space (examples/mini_redis/db.ts) against a `Map` model:
 * random sets, reads and deletes by string and by request bytes, over few
 * enough keys that home slots collide, through growth and through deletes
 * that shift probe runs back; then deadlines (lazy expiry, purge, persist)
 * on a hand-driven clock.
 */

import assert from "node:assert/strict";
import { Db, NO_EXPIRY } from "../examples/mini_redis/db.ts";
import {
  Command,
  DEFAULT_MAX_BULK,
  latin1Bytes,
  parseCommand,
} from "../examples/mini_redis/resp.ts";
import { frame } from "./redis_helpers.ts";
import { rng } from "./rng.ts";

/** A parsed `GET key` whose argument 1 is `key`'s bytes (latin1). */
function args(key: string): Command {
  const f = frame(["GET", latin1Bytes(key)]);
  const c = new Command();
  assert.equal(parseCommand(f, 0, f.length, c, DEFAULT_MAX_BULK), f.length);
  return c;
}

Deno.test("key space: random sets, gets and deletes agree with a Map, by string and by bytes", () => {
  const rand = rng(12345);
  const db = new Db(() => 1);
  const model = new Map<string, string>();
  // 3,000 names over 20,000 operations: the table grows from 1,024 slots to 8,192.
  const names = Array.from({ length: 3000 }, (_, i) => `k${i}\x00\xff${"x".repeat(i % 7)}`);
  for (let n = 0; n < 20_000; n++) {
    const key = names[Math.floor(rand() * names.length)];
    const byBytes = rand() < 0.5;
    const r = rand();
    if (r < 0.45) {
      const v = `v${n}`;
      if (byBytes) db.setArg(args(key), 1, v, NO_EXPIRY);
      else db.set(key, v, NO_EXPIRY);
      model.set(key, v);
    } else if (r < 0.75) {
      const want = model.get(key);
      assert.equal(byBytes ? db.getArg(args(key), 1) : db.get(key), want, `get ${key} at ${n}`);
    } else {
      const had = model.delete(key);
      assert.equal(byBytes ? db.delArg(args(key), 1) : db.del(key), had, `del ${key} at ${n}`);
    }
    if (n % 997 === 0) {
      assert.equal(db.size, model.size);
      for (const k of model.keys()) assert.equal(db.get(k), model.get(k));
      assert.deepEqual([...db.keys()].sort(), [...model.keys()].sort());
    }
  }
  assert.equal(db.size, model.size);
  for (const k of names) assert.equal(db.has(k), model.has(k), k);
  db.clear();
  assert.equal(db.size, 0);
  assert.equal(db.get(names[0]), undefined);
});

Deno.test("key space: deadlines expire lazily and by purge, survive growth and shifts", () => {
  let now = 1000;
  const db = new Db(() => now);
  for (let i = 0; i < 2000; i++) db.set(`t${i}`, `v${i}`, i % 2 === 0 ? now + 10 + i : NO_EXPIRY);
  assert.equal(db.timedKeys, 1000);
  // Deletes shift probe runs: the deadlines move with their keys.
  for (let i = 0; i < 2000; i += 4) assert.equal(db.del(`t${i + 1}`), true);
  assert.equal(db.deadline("t10"), 1020);
  assert.equal(db.deadline("t11"), NO_EXPIRY);
  assert.equal(db.persist("t12"), true);
  assert.equal(db.persist("t12"), false);
  assert.equal(db.timedKeys, 999);
  now = 1030; // t0..t20 (even, but t12) are due
  assert.equal(db.getArg(args("t10"), 1), undefined, "lazy: a due key is never returned");
  assert.equal(db.has("t10"), false);
  assert.equal(db.get("t12"), "v12");
  assert.equal(db.purge(now), 1030 + 2);
  for (let i = 0; i <= 20; i += 2) assert.equal(db.has(`t${i}`), i === 12, `t${i}`);
  assert.equal(db.timedKeys, 999 - 10, "t10 by the read, nine by the purge");
  // Overwriting without a deadline drops it.
  db.setArg(args("t20"), 1, "new", NO_EXPIRY);
  assert.equal(db.deadline("t20"), NO_EXPIRY);
  now = 1_000_000;
  assert.equal(db.purge(now), null);
  assert.equal(db.timedKeys, 0);
  // Left: the 500 odd keys never deleted, t12 (persisted) and t20 (set again without one).
  assert.equal(db.size, 502);
});
