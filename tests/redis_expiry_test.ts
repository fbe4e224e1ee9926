/**
 * mini-redis expiry on the paused clock (no real sleeps): the background
 * purge deletes each key exactly at its deadline (not a millisecond
 * before), an earlier deadline set later wakes it, lazy checks hide a due
 * key even before the purge ran, overwrites and PERSIST cancel deadlines,
 * and the deadline heap stays bounded under repeated re-expiry. The
 * commands run through the same `execute` the server uses.
 */

import assert from "node:assert/strict";
import { run, spawn } from "../runtime/mod.ts";
import { time } from "../time/mod.ts";
import { yieldNow } from "../runtime/mod.ts";
import { execute, type Session } from "../examples/mini_redis/commands.ts";
import { Command, DEFAULT_MAX_BULK, parseCommand, Reply } from "../examples/mini_redis/resp.ts";
import { MiniRedis, parseFlags } from "../examples/mini_redis/server.ts";
import { frame } from "./redis_helpers.ts";

const NO_PUBSUB: Session = {
  subscriptions: 0,
  subscribe: () => {
    throw new Error("not in this test");
  },
  unsubscribe: () => {
    throw new Error("not in this test");
  },
  publish: () => 0,
  quit: () => {},
};

/** Run one command through the server's parser and command table; the raw reply. */
function cmd(server: MiniRedis, ...args: string[]): string {
  const f = frame(args);
  const c = new Command();
  assert.equal(parseCommand(f, 0, f.length, c, DEFAULT_MAX_BULK), f.length);
  const out = new Reply();
  execute(c, { db: server.db, session: NO_PUBSUB }, out);
  return new TextDecoder().decode(out.bytes);
}

function* settle(): Generator<unknown, void, unknown> {
  for (let i = 0; i < 10; i++) yield* yieldNow();
}

Deno.test("expiry: the purge deletes each key exactly at its deadline (paused clock)", async () => {
  const t0 = Date.now();
  await run(function* () {
    time.pause();
    const s = new MiniRedis(parseFlags([]));
    const purge = spawn(s.purge());
    assert.equal(cmd(s, "SET", "a", "1", "PX", "1000"), "+OK\r\n");
    assert.equal(cmd(s, "SET", "b", "2", "EX", "3"), "+OK\r\n");
    assert.equal(cmd(s, "SET", "keep", "3"), "+OK\r\n");
    yield* time.advance(999);
    yield* settle();
    assert.equal(s.db.size, 3, "nothing due before 1000 ms");
    assert.equal(cmd(s, "PTTL", "a"), ":1\r\n");
    yield* time.advance(1);
    yield* settle();
    assert.equal(s.db.has("a"), false, "a purged at 1000 ms without a read");
    assert.equal(s.db.size, 2);
    assert.equal(cmd(s, "PTTL", "b"), ":2000\r\n");
    assert.equal(cmd(s, "TTL", "b"), ":2\r\n");
    yield* time.advance(2000);
    yield* settle();
    assert.deepEqual([...s.db.keys()], ["keep"]);
    assert.equal(cmd(s, "PTTL", "b"), ":-2\r\n");
    assert.equal(cmd(s, "PTTL", "keep"), ":-1\r\n");
    purge.abort();
  });
  assert.ok(Date.now() - t0 < 10_000, "no real sleeping");
});

Deno.test("expiry: an earlier deadline set later wakes the purge", async () => {
  await run(function* () {
    time.pause();
    const s = new MiniRedis(parseFlags([]));
    const purge = spawn(s.purge());
    cmd(s, "SET", "late", "x", "EX", "3600");
    yield* settle(); // the purge now sleeps until the late deadline
    cmd(s, "SET", "soon", "x");
    assert.equal(cmd(s, "PEXPIRE", "soon", "50"), ":1\r\n");
    yield* time.advance(50);
    yield* settle();
    assert.equal(s.db.has("soon"), false);
    assert.equal(s.db.has("late"), true);
    purge.abort();
  });
});

Deno.test("expiry: lazy checks hide a due key before the purge runs", async () => {
  await run(function* () {
    time.pause();
    const s = new MiniRedis(parseFlags([])); // no purge task at all
    cmd(s, "SET", "k", "v", "PX", "10");
    cmd(s, "RPUSH", "l", "a");
    cmd(s, "PEXPIRE", "l", "10");
    yield* time.advance(10);
    assert.equal(s.db.size, 2, "still stored");
    assert.equal(cmd(s, "GET", "k"), "$-1\r\n");
    assert.equal(cmd(s, "EXISTS", "k"), ":0\r\n");
    assert.equal(cmd(s, "LRANGE", "l", "0", "-1"), "*0\r\n");
    assert.equal(cmd(s, "INCR", "k"), ":1\r\n", "a due key counts as absent");
    assert.equal(cmd(s, "PTTL", "k"), ":-1\r\n");
  });
});

Deno.test("expiry: SET without EX, PERSIST and EXPIRE 0 change deadlines; the heap stays bounded", async () => {
  await run(function* () {
    time.pause();
    const s = new MiniRedis(parseFlags([]));
    const purge = spawn(s.purge());
    cmd(s, "SET", "a", "1", "PX", "100");
    cmd(s, "SET", "a", "2"); // a plain SET clears the deadline
    cmd(s, "SET", "b", "1", "PX", "100");
    assert.equal(cmd(s, "PERSIST", "b"), ":1\r\n");
    assert.equal(cmd(s, "PERSIST", "b"), ":0\r\n");
    cmd(s, "SET", "c", "1");
    assert.equal(cmd(s, "EXPIRE", "c", "0"), ":1\r\n"); // a non-positive timeout deletes
    assert.equal(cmd(s, "EXISTS", "c"), ":0\r\n");
    yield* time.advance(200);
    yield* settle();
    assert.equal(cmd(s, "GET", "a"), "$1\r\n2\r\n");
    assert.equal(cmd(s, "GET", "b"), "$1\r\n1\r\n");
    // Re-expiring one key many times leaves one live deadline.
    for (let i = 0; i < 10_000; i++) cmd(s, "PEXPIRE", "a", String(1000 + i));
    assert.equal(s.db.timedKeys, 1);
    yield* time.advance(10_999);
    yield* settle();
    assert.equal(s.db.has("a"), false);
    assert.equal(s.db.timedKeys, 0);
    purge.abort();
  });
});
