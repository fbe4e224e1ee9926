/**
 * mini-redis driven by the real `redis-cli` (Debian's redis-tools): every
 * command, `--pipe` mass insertion of 100,000 keys, SUBSCRIBE in one
 * redis-cli while another PUBLISHes, expiry observed with PTTL — on both
 * backends.
 */

import assert from "node:assert/strict";
import { BACKENDS, cli, startRedis, stopRedis } from "./redis_helpers.ts";
import { ignoreWithout, missingPrograms } from "./tool_helpers.ts";

const noCli = { ignore: ignoreWithout("the redis-cli tests", missingPrograms(["redis-cli"])) };

/**
 * [arguments, expected raw stdout] in order, against one fresh server. Checked against a real
 * redis-server 7.0 (errors print with an extra newline in redis-cli's raw mode), except where
 * mini-redis differs on purpose: no COMMAND DOCS (empty) and no RESP3 (NOPROTO, as Redis 5).
 */
const SCRIPT: [string[], string][] = [
  [["PING"], "PONG\n"],
  [["PING", "hi there"], "hi there\n"],
  [["ECHO", "héllo"], "héllo\n"],
  [["SET", "k", "v1"], "OK\n"],
  [["GET", "k"], "v1\n"],
  [["SET", "k", "v2", "NX"], "\n"],
  [["SET", "k", "v2", "XX"], "OK\n"],
  [["SET", "new", "x", "XX"], "\n"],
  [["GET", "k"], "v2\n"],
  [["GET", "missing"], "\n"],
  [["EXISTS", "k", "missing", "k"], "2\n"],
  [["DEL", "k", "missing"], "1\n"],
  [["EXISTS", "k"], "0\n"],
  [["INCR", "n"], "1\n"],
  [["INCRBY", "n", "41"], "42\n"],
  [["DECR", "n"], "41\n"],
  [["GET", "n"], "41\n"],
  [["SET", "s", "abc"], "OK\n"],
  [["INCR", "s"], "ERR value is not an integer or out of range\n\n"],
  [["MSET", "a", "1", "b", "2"], "OK\n"],
  [["MGET", "a", "nope", "b"], "1\n\n2\n"],
  [["SET", "e", "v", "EX", "100"], "OK\n"],
  [["EXPIRE", "a", "50"], "1\n"],
  [["TTL", "b"], "-1\n"],
  [["TTL", "nope"], "-2\n"],
  [["PEXPIRE", "b", "100000"], "1\n"],
  [["EXPIRE", "nope", "5"], "0\n"],
  [["RPUSH", "l", "b", "c"], "2\n"],
  [["LPUSH", "l", "a"], "3\n"],
  [["LRANGE", "l", "0", "-1"], "a\nb\nc\n"],
  [["LRANGE", "l", "-2", "10"], "b\nc\n"],
  [["LPOP", "l"], "a\n"],
  [["RPOP", "l"], "c\n"],
  [["LRANGE", "l", "0", "-1"], "b\n"],
  [["GET", "l"], "WRONGTYPE Operation against a key holding the wrong kind of value\n\n"],
  [["PUBLISH", "nobody", "x"], "0\n"],
  [["NOSUCH", "arg"], "ERR unknown command 'NOSUCH', with args beginning with: 'arg' \n\n"],
  [["GET"], "ERR wrong number of arguments for 'get' command\n\n"],
  [["SET", "k", "v", "EX", "0"], "ERR invalid expire time in 'set' command\n\n"],
  [["SET", "k", "v", "BOGUS"], "ERR syntax error\n\n"],
  [["CONFIG", "GET", "save"], "save\n\n"],
  [["CONFIG", "GET", "appendonly"], "appendonly\nno\n"],
  [["COMMAND", "DOCS"], "\n"],
  [["HELLO", "3"], "NOPROTO sorry, this protocol version is not supported\n\n"],
  [["QUIT"], "OK\n"],
];

for (const backend of BACKENDS) {
  Deno.test(`redis-cli: every command [${backend}]`, noCli, async () => {
    const d = await startRedis(backend);
    try {
      for (const [args, want] of SCRIPT) {
        assert.equal(await cli(d.port, args), want, `redis-cli ${args.join(" ")}`);
      }
      // TTLs in whole seconds (redis-cli starts take time on a loaded machine: a range).
      const ttlE = Number(await cli(d.port, ["TTL", "e"]));
      assert.ok(ttlE > 90 && ttlE <= 100, `TTL e ${ttlE}`);
      const ttlA = Number(await cli(d.port, ["TTL", "a"]));
      assert.ok(ttlA > 40 && ttlA <= 50, `TTL a ${ttlA}`);
      // HELLO 2 and COMMAND COUNT answer with what the real clients read.
      const hello = await cli(d.port, ["HELLO", "2"]);
      assert.match(hello, /^server\nredis\nversion\n7\.0\.0\nproto\n2\n/);
      assert.ok(Number(await cli(d.port, ["COMMAND", "COUNT"])) > 30);
      // Several commands through one redis-cli (one connection, stdin).
      const many = await cli(
        d.port,
        [],
        new TextEncoder().encode("SET x 1\nINCR x\nGET x\n"),
      );
      assert.equal(many, "OK\n2\n2\n");
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(
    `redis-cli --pipe: 100,000 keys, then redis-benchmark-free checks [${backend}]`,
    noCli,
    async () => {
      const d = await startRedis(backend);
      try {
        const N = 100_000;
        let text = "";
        for (let i = 0; i < N; i++) {
          const k = `key:${i}`, v = `value:${i}`;
          text += `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`;
        }
        const out = await cli(d.port, ["--pipe"], new TextEncoder().encode(text));
        assert.match(out, new RegExp(`errors: 0, replies: ${N}`), out);
        assert.equal(await cli(d.port, ["DBSIZE"]), `${N}\n`);
        assert.equal(await cli(d.port, ["GET", "key:99999"]), "value:99999\n");
        assert.equal(await cli(d.port, ["MGET", "key:0", "key:50000"]), "value:0\nvalue:50000\n");
      } finally {
        await stopRedis(d);
      }
    },
  );

  Deno.test(`redis-cli: SUBSCRIBE in one, PUBLISH from another [${backend}]`, noCli, async () => {
    const d = await startRedis(backend);
    const sub = new Deno.Command("redis-cli", {
      args: ["-p", String(d.port), "SUBSCRIBE", "news", "sport"],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const psub = new Deno.Command("redis-cli", {
      args: ["-p", String(d.port), "PSUBSCRIBE", "n*"],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      // Wait until both are subscribed (PUBLISH counts the receivers).
      const deadline = Date.now() + 20_000;
      let n = 0;
      while (n < 2 && Date.now() < deadline) {
        n = Number(await cli(d.port, ["PUBLISH", "news", "warm-up"]));
        if (n < 2) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(n, 2, "both subscribers counted");
      assert.equal(await cli(d.port, ["PUBLISH", "news", "hello world"]), "2\n");
      assert.equal(await cli(d.port, ["PUBLISH", "sport", "goal"]), "1\n");
      assert.equal(await cli(d.port, ["PUBLISH", "weather", "rain"]), "0\n");
      await new Promise((r) => setTimeout(r, 300));
      sub.kill("SIGTERM");
      psub.kill("SIGTERM");
      const s = new TextDecoder().decode((await sub.output()).stdout);
      const p = new TextDecoder().decode((await psub.output()).stdout);
      assert.ok(s.startsWith("subscribe\nnews\n1\nsubscribe\nsport\n2\n"), s);
      assert.ok(s.includes("message\nnews\nhello world\n"), s);
      assert.ok(s.includes("message\nsport\ngoal\n"), s);
      assert.ok(!s.includes("rain"), s);
      assert.ok(p.startsWith("psubscribe\nn*\n1\n"), p);
      assert.ok(p.includes("pmessage\nn*\nnews\nhello world\n"), p);
      assert.ok(!p.includes("goal"), p);
    } finally {
      try {
        sub.kill("SIGKILL");
        psub.kill("SIGKILL");
      } catch { /* already gone */ }
      await stopRedis(d);
    }
  });

  Deno.test(`redis-cli: expiry observed with PTTL [${backend}]`, noCli, async () => {
    const d = await startRedis(backend);
    try {
      assert.equal(await cli(d.port, ["SET", "t", "v", "PX", "60000"]), "OK\n");
      const left = Number(await cli(d.port, ["PTTL", "t"]));
      assert.ok(left > 50_000 && left <= 60_000, `PTTL ${left}`);
      assert.equal(await cli(d.port, ["PEXPIRE", "t", "1500"]), "1\n");
      const soon = Number(await cli(d.port, ["PTTL", "t"]));
      // -2 when starting redis-cli took longer than the deadline (a loaded machine).
      assert.ok(soon === -2 || (soon >= 0 && soon <= 1500), `PTTL ${soon}`);
      // Wait past the deadline (a child process: its clock is real).
      const deadline = Date.now() + 10_000;
      let v = "";
      while (Date.now() < deadline) {
        v = await cli(d.port, ["PTTL", "t"]);
        if (v === "-2\n") break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(v, "-2\n");
      assert.equal(await cli(d.port, ["GET", "t"]), "\n");
      assert.equal(await cli(d.port, ["EXISTS", "t"]), "0\n");
    } finally {
      await stopRedis(d);
    }
  });
}
