/**
 * mini-redis driven by the project's client (examples/mini_redis/client.ts):
 * the commands, expiry with PTTL, pub/sub with recv() and async iteration,
 * 10,000 pipelined commands in one write, pool limits, and a server killed
 * mid-request (a typed error; the pool drops the broken connection and
 * recovers once a server is back) — on both backends.
 */

import assert from "node:assert/strict";
import { ClosedError, run, spawn } from "../runtime/mod.ts";
import { IoError } from "../net/mod.ts";
import { Client, connectPool, RedisError } from "../examples/mini_redis/client.ts";
import { BACKENDS, startRedis, stopRedis } from "./redis_helpers.ts";

for (const backend of BACKENDS) {
  Deno.test(`client: commands, expiry, errors [${backend}]`, async () => {
    const d = await startRedis(backend);
    try {
      await run(function* () {
        using c = yield* Client.connect({ port: d.port });
        assert.equal(yield* c.ping(), "PONG");
        assert.equal(yield* c.set("k", "héllo"), true);
        assert.equal(yield* c.get("k"), "héllo");
        assert.equal(yield* c.set("k", "x", { nx: true }), false);
        assert.equal(yield* c.set("nope", "x", { xx: true }), false);
        assert.equal(yield* c.get("nope"), null);
        assert.equal(yield* c.incr("n"), 1);
        assert.equal(yield* c.incr("n"), 2);
        assert.equal(yield* c.del("k", "n", "nope"), 2);
        const bin = new Uint8Array([0, 13, 10, 255, 36, 42]);
        yield* c.set(bin, bin);
        assert.deepEqual(yield* c.getBytes(bin), bin);
        assert.equal(yield* c.set("e", "v", { px: 60_000 }), true);
        const left = yield* c.pttl("e");
        assert.ok(left > 50_000 && left <= 60_000, String(left));
        yield* c.set("e", "v", { ex: 100 });
        assert.ok((yield* c.pttl("e")) > 90_000);
        assert.equal(yield* c.pttl("missing"), -2);
        assert.deepEqual(yield* c.command("RPUSH", "l", "a", "b"), 2);
        const range = (yield* c.command("LRANGE", "l", 0, -1)) as Uint8Array[];
        assert.deepEqual(range.map((b) => new TextDecoder().decode(b)), ["a", "b"]);
        // An error reply is typed, and the connection stays usable.
        let err: unknown;
        try {
          yield* c.command("NOSUCH");
        } catch (e) {
          err = e;
        }
        assert.ok(err instanceof RedisError, String(err));
        assert.match((err as Error).message, /^ERR unknown command 'NOSUCH'/);
        assert.equal(c.broken, false);
        assert.equal(yield* c.ping(), "PONG");
      });
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(`client: 10,000 pipelined commands in one write [${backend}]`, async () => {
    const d = await startRedis(backend);
    try {
      await run(function* () {
        using c = yield* Client.connect({ port: d.port });
        const p = c.pipeline();
        for (let i = 0; i < 5000; i++) p.set(`key:${i}`, `v${i}`).incr("counter");
        assert.equal(p.length, 10_000);
        const replies = yield* p.exec();
        assert.equal(replies.length, 10_000);
        for (let i = 0; i < 5000; i++) {
          assert.equal(replies[2 * i], "OK");
          assert.equal(replies[2 * i + 1], i + 1);
        }
        const q = c.pipeline();
        for (let i = 0; i < 10_000; i++) q.get(`key:${i % 5000}`);
        const got = yield* q.exec();
        for (let i = 0; i < 10_000; i++) {
          assert.equal(new TextDecoder().decode(got[i] as Uint8Array), `v${i % 5000}`);
        }
        // Error replies come back in place, not thrown.
        const r = yield* c.pipeline().command("NOSUCH").command("PING").exec();
        assert.ok(r[0] instanceof RedisError);
        assert.equal(r[1], "PONG");
      });
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(`client: subscribe, recv() and async iteration; PUBLISH counts [${backend}]`, async () => {
    const d = await startRedis(backend);
    try {
      const sub = await Client.connect({ port: d.port }).then((c) => c.subscribe("a", "b"));
      assert.deepEqual(sub.channels.sort(), ["a", "b"]);
      const pub = await Client.connect({ port: d.port });
      assert.equal(await pub.publish("a", "one"), 1);
      assert.equal(await pub.publish("b", "two"), 1);
      assert.equal(await pub.publish("c", "none"), 0);
      const m1 = await sub.recv();
      assert.equal(m1?.channel, "a");
      assert.equal(m1?.text, "one");
      await sub.unsubscribe("b");
      await sub.subscribe("c");
      assert.deepEqual(sub.channels.sort(), ["a", "c"]);
      await pub.publish("b", "dropped");
      await pub.publish("c", "three");
      await pub.publish("a", "four");
      const seen: string[] = [];
      for await (const m of sub) {
        seen.push(`${m.channel}:${m.text}`);
        if (seen.length === 3) break;
      }
      // "two" was sent before the unsubscribe; "dropped" after it.
      assert.deepEqual(seen, ["b:two", "c:three", "a:four"]);
      sub.close();
      pub.close();
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(`client pool: at most maxSize connections under 50 tasks [${backend}]`, async () => {
    const d = await startRedis(backend);
    try {
      const pool = connectPool({ port: d.port, maxSize: 4 });
      let peak = 0, inUse = 0;
      await run(function* () {
        const tasks = Array.from({ length: 50 }, (_, i) =>
          spawn(function* () {
            using g = yield* pool.acquire();
            inUse++;
            peak = Math.max(peak, inUse);
            yield* g.value.set(`p:${i}`, String(i));
            assert.equal(yield* g.value.get(`p:${i}`), String(i));
            inUse--;
          }));
        for (const t of tasks) yield* t;
      });
      assert.ok(peak <= 4 && peak >= 1, `peak ${peak}`);
      assert.ok(pool.size <= 4, `size ${pool.size}`);
      assert.equal(pool.idle, pool.size);
      pool.close();
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(`client pool: server killed mid-request, typed error, pool recovers [${backend}]`, async () => {
    const d = await startRedis(backend);
    const port = d.port;
    const pool = connectPool({ port, maxSize: 2 });
    let d2: Awaited<ReturnType<typeof startRedis>> | null = null;
    try {
      assert.equal(
        await run(function* () {
          using g = yield* pool.acquire();
          return yield* g.value.ping();
        }),
        "PONG",
      );
      // Freeze the server, send a request, then kill it while the reply is awaited.
      Deno.kill(d.child.pid, "SIGSTOP");
      const failed = run(function* () {
        using g = yield* pool.acquire();
        try {
          yield* g.value.set("k", "v");
          return "replied";
        } catch (e) {
          return e;
        }
      });
      await new Promise((r) => setTimeout(r, 200));
      d.child.kill("SIGKILL");
      await d.done;
      await d.lines;
      const e = await failed;
      assert.ok(e instanceof ClosedError || e instanceof IoError, String(e));
      assert.equal(pool.size, 0, "the broken connection was dropped");
      // Nothing listens: acquiring fails with the connect error, and takes no slot.
      const refused = await run(function* () {
        try {
          yield* pool.acquire();
          return null;
        } catch (e) {
          return e;
        }
      });
      if (refused === null) {
        // Only when another process took the freed port meanwhile (a shared machine).
        assert.throws(() => Deno.listen({ hostname: "127.0.0.1", port }).close());
        return;
      }
      assert.ok(refused instanceof IoError, String(refused));
      assert.equal(pool.size, 0);
      // A server is back on the same port: the pool connects afresh.
      d2 = await startRedis(backend, ["--port", String(port)]);
      assert.equal(d2.port, port);
      assert.equal(
        await run(function* () {
          using g = yield* pool.acquire();
          yield* g.value.set("after", "restart");
          return yield* g.value.get("after");
        }),
        "restart",
      );
    } finally {
      pool.close();
      if (d2 !== null) await stopRedis(d2);
    }
  });
}

Deno.test("deno task redis-cli: one command, commands from stdin, replies as redis-cli prints them", async () => {
  const d = await startRedis("auto");
  const CLI = new URL("../examples/mini_redis/cli.ts", import.meta.url).pathname;
  const cliRun = async (args: string[], input = "") => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "-p", String(d.port), ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
    const o = await child.output();
    return { code: o.code, out: new TextDecoder().decode(o.stdout) };
  };
  try {
    assert.deepEqual(await cliRun(["set", "greeting", "hello"]), { code: 0, out: "OK\n" });
    assert.deepEqual(await cliRun(["get", "greeting"]), { code: 0, out: '"hello"\n' });
    const many = await cliRun([], `rpush l a b "c d"\nlrange l 0 -1\nincr greeting\nget nope\n`);
    assert.equal(
      many.out,
      '(integer) 3\n1) "a"\n2) "b"\n3) "c d"\n' +
        "(error) ERR value is not an integer or out of range\n(nil)\n",
    );
  } finally {
    await stopRedis(d);
  }
});
