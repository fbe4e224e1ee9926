/**
 * mini-redis protocol edge cases over raw TCP, on both backends: frames
 * split at every byte, 1 MiB values, binary-safe keys and values, inline
 * commands with quotes, garbage bytes (an error that keeps the connection
 * for an unknown inline command, `-ERR Protocol error` and a close for a
 * malformed frame), a bulk length over the maximum refused at once, a
 * client that sends half a frame and goes away, the client limit, an idle
 * client during shutdown, bad flags and a taken port.
 */

import assert from "node:assert/strict";
import {
  BACKENDS,
  frame,
  readN,
  readToEnd,
  roundTrip,
  SERVER,
  startRedis,
  stopRedis,
} from "./redis_helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

async function writeAll(conn: Deno.Conn, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) off += await conn.write(b.subarray(off));
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const backend of BACKENDS) {
  Deno.test(`protocol: frames split at every byte [${backend}]`, async () => {
    const d = await startRedis(backend);
    try {
      const conn = await connect(d.port);
      conn.setNoDelay(true);
      const req = new Uint8Array([
        ...frame(["SET", "split", "hello world"]),
        ...enc.encode("GET split\r\n"),
        ...frame(["GET", "split"]),
      ]);
      const reply = "+OK\r\n$11\r\nhello world\r\n$11\r\nhello world\r\n";
      for (let i = 1; i < req.length; i++) {
        await writeAll(conn, req.subarray(0, i));
        await pause(2);
        await writeAll(conn, req.subarray(i));
        assert.equal(dec.decode(await readN(conn, reply.length)), reply, `split at ${i}`);
      }
      // And one byte per write.
      for (let i = 0; i < req.length; i++) {
        await writeAll(conn, req.subarray(i, i + 1));
        if (i % 7 === 0) await pause(1);
      }
      assert.equal(dec.decode(await readN(conn, reply.length)), reply);
      conn.close();
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(`protocol: 1 MiB values, binary-safe keys and values [${backend}]`, async () => {
    const d = await startRedis(backend);
    try {
      const conn = await connect(d.port);
      const big = new Uint8Array(1 << 20);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
      await roundTrip(conn, frame(["SET", "big", big]), "+OK\r\n");
      await writeAll(conn, frame(["GET", "big"]));
      const head = `$${big.length}\r\n`;
      const got = await readN(conn, head.length + big.length + 2);
      assert.equal(dec.decode(got.subarray(0, head.length)), head);
      assert.deepEqual(got.subarray(head.length, head.length + big.length), big);
      // Keys and values with every byte value, CR LF and NUL included.
      const all = new Uint8Array(256).map((_, i) => i);
      const key = new Uint8Array([0, 13, 10, 0x80, 0x9f, 0xff, 32]);
      await roundTrip(conn, frame(["SET", key, all]), "+OK\r\n");
      await writeAll(conn, frame(["GET", key]));
      const v = await readN(conn, 6 + 256 + 2);
      assert.deepEqual(v.subarray(6, 262), all);
      await roundTrip(
        conn,
        frame(["EXISTS", new Uint8Array([0, 13, 10, 0x80, 0x9f, 0xff])]),
        ":0\r\n",
      );
      const listKey = new Uint8Array([...key, 0]);
      await roundTrip(conn, frame(["RPUSH", listKey, all]), ":1\r\n");
      await roundTrip(
        conn,
        frame(["RPOP", listKey]),
        new Uint8Array([...enc.encode("$256\r\n"), ...all, 13, 10]),
      );
      await roundTrip(conn, frame(["DEL", key, key, listKey]), ":1\r\n");
      conn.close();
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(`protocol: inline commands with quotes [${backend}]`, async () => {
    const d = await startRedis(backend);
    try {
      const conn = await connect(d.port);
      await roundTrip(conn, "PING\r\n", "+PONG\r\n");
      await roundTrip(conn, "ping\n", "+PONG\r\n"); // bare LF, lower case
      await roundTrip(conn, `SET "my key" 'it\\'s here'\r\n`, "+OK\r\n");
      await roundTrip(conn, `GET "my key"\r\n`, "$9\r\nit's here\r\n");
      await roundTrip(conn, `ECHO "a\\x41\\n\\"q\\""\r\n`, '$6\r\naA\n"q"\r\n');
      await roundTrip(conn, "  \t \r\n\r\nPING  \r\n", "+PONG\r\n"); // blank lines are skipped
      // Unbalanced quotes: a protocol error, then the server closes.
      await writeAll(conn, enc.encode(`SET "open value\r\n`));
      assert.equal(
        await readToEnd(conn),
        "-ERR Protocol error: unbalanced quotes in request\r\n",
      );
      conn.close();
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(`protocol: garbage bytes, unknown commands and bad arity [${backend}]`, async () => {
    const d = await startRedis(backend);
    try {
      // Unknown (inline) command and bad arity: -ERR, the connection stays.
      const c1 = await connect(d.port);
      await roundTrip(
        c1,
        new Uint8Array([0xff, 0xfe, 0x20, 0x01, 13, 10]),
        new Uint8Array([
          ...enc.encode("-ERR unknown command '"),
          0xff,
          0xfe,
          ...enc.encode("', with args beginning with: '\x01' \r\n"),
        ]),
      );
      await roundTrip(c1, frame(["GET"]), "-ERR wrong number of arguments for 'get' command\r\n");
      await roundTrip(c1, frame(["SET", "k", "v", "PX"]), "-ERR syntax error\r\n");
      await roundTrip(c1, "PING\r\n", "+PONG\r\n");
      c1.close();
      // Malformed frames: -ERR Protocol error, then a close (replies before it still come).
      const cases: [string, string][] = [
        ["*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
        ["*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"],
        ["*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
        ["*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
        ["*1\r\n$4\r\nPINGxx", "-ERR Protocol error: invalid bulk length\r\n"],
        ["*99999999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
        ["*1\r\n$" + "9".repeat(40), "-ERR Protocol error: invalid bulk length\r\n"],
        [
          "PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n",
          "+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
        ],
      ];
      for (const [req, want] of cases) {
        const c = await connect(d.port);
        await writeAll(c, enc.encode(req));
        assert.equal(await readToEnd(c), want, JSON.stringify(req));
        c.close();
      }
      // An over-long inline line is refused without waiting for its end.
      const c2 = await connect(d.port);
      await writeAll(c2, new Uint8Array(80 * 1024).fill(0x61));
      assert.equal(await readToEnd(c2), "-ERR Protocol error: too big inline request\r\n");
      c2.close();
      await roundTrip(await connect(d.port), "PING\r\n", "+PONG\r\n");
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(`protocol: a bulk length over the maximum is refused before any allocation [${backend}]`, async () => {
    const d = await startRedis(backend, ["--max-bulk", "1024"]);
    try {
      const c = await connect(d.port);
      await roundTrip(c, frame(["SET", "ok", new Uint8Array(1024)]), "+OK\r\n");
      // Only the header is sent: the refusal cannot have waited for (or sized a buffer to) the body.
      await writeAll(c, enc.encode("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1025\r\n"));
      assert.equal(await readToEnd(c), "-ERR Protocol error: invalid bulk length\r\n");
      c.close();
      // The default limit, 512 MiB: 600 MB is refused at once too.
      const rss0 = rss(d.child.pid);
      const c3 = await connect(d.port);
      await writeAll(c3, enc.encode("*2\r\n$3\r\nGET\r\n$600000000\r\nabc"));
      assert.equal(await readToEnd(c3), "-ERR Protocol error: invalid bulk length\r\n");
      assert.ok(rss(d.child.pid) - rss0 < 64 << 20, "no large allocation");
      c3.close();
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(`protocol: half a frame then gone; the server goes on [${backend}]`, async () => {
    const d = await startRedis(backend);
    try {
      for (let i = 0; i < 20; i++) {
        const c = await connect(d.port);
        await writeAll(c, enc.encode("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nhalf"));
        c.close();
      }
      const c = await connect(d.port);
      await roundTrip(c, frame(["GET", "k"]), "$-1\r\n");
      await roundTrip(c, "PING\r\n", "+PONG\r\n");
      c.close();
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(`protocol: --max-clients; the extra client is told and closed [${backend}]`, async () => {
    const d = await startRedis(backend, ["--max-clients", "2"]);
    try {
      const a = await connect(d.port), b = await connect(d.port);
      await roundTrip(a, "PING\r\n", "+PONG\r\n");
      await roundTrip(b, "PING\r\n", "+PONG\r\n");
      const c = await connect(d.port);
      assert.equal(await readToEnd(c), "-ERR max number of clients reached\r\n");
      c.close();
      a.close();
      // a's slot comes back once the server saw it close.
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        await pause(20);
        const e = await connect(d.port);
        await writeAll(e, enc.encode("PING\r\n"));
        ok = (await readToEnd(e, 7)).startsWith("+PONG");
        e.close();
      }
      assert.ok(ok);
      b.close();
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(`pub/sub: a subscriber that does not read lags and is dropped; memory stays bounded [${backend}]`, async () => {
    const d = await startRedis(backend);
    try {
      const sub = await connect(d.port);
      await roundTrip(
        sub,
        frame(["SUBSCRIBE", "firehose"]),
        "*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n",
      );
      const pub = await connect(d.port);
      const msg = new Uint8Array(16 * 1024).fill(0x78);
      const one = frame(["PUBLISH", "firehose", msg]);
      const COUNT = 3000;
      // The subscriber reads nothing while 3000 × 16 KiB are published.
      const replies = readN(pub, COUNT * 4);
      for (let i = 0; i < COUNT; i++) await writeAll(pub, one);
      const got = dec.decode(await replies);
      assert.equal(got.length, COUNT * 4);
      assert.ok(got.includes(":0\r\n"), "later messages found no subscriber: it was dropped");
      assert.ok(rss(d.child.pid) < 512 << 20, `server RSS ${rss(d.child.pid)}`);
      // What the subscriber gets now ends with the connection closed, well short of everything.
      const total = (await readToEnd(sub, COUNT * msg.length)).length;
      assert.ok(total < COUNT * msg.length, `read ${total}`);
      await roundTrip(pub, "PING\r\n", "+PONG\r\n");
      sub.close();
      pub.close();
    } finally {
      await stopRedis(d);
    }
  });

  Deno.test(`shutdown: an idle client does not hold the server; exit 0 at once [${backend}]`, async () => {
    const d = await startRedis(backend, ["--drain-ms", "10000"]);
    const idle = await connect(d.port);
    await roundTrip(idle, "PING\r\n", "+PONG\r\n");
    const t0 = Date.now();
    d.child.kill("SIGTERM");
    const st = await d.done;
    await d.lines;
    assert.equal(st.code, 0, d.out.join("\n"));
    assert.ok(Date.now() - t0 < 5000, "exited without waiting for the drain time");
    assert.equal(await readToEnd(idle), "", "the idle client saw the end");
    assert.ok(d.out.some((l) => l.includes("mini-redis stopped")), d.out.join("\n"));
    idle.close();
  });
}

function rss(pid: number): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) * 1024 : 0;
}

Deno.test("flags: a bad flag is one line and exit 2, a taken port one line and exit 1", async () => {
  const run = async (args: string[]) => {
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SERVER, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: o.code, err: dec.decode(o.stderr).trim(), out: dec.decode(o.stdout).trim() };
  };
  const bad = await run(["--port", "70000"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.err.split("\n").length, 1, bad.err);
  assert.match(bad.err, /^mini-redis: --port takes an integer in 0\.\.65535/);
  const unknown = await run(["--bogus"]);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.err, "mini-redis: unknown flag --bogus (--help lists the flags)");
  const holder = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const taken = await run(["--port", String(holder.addr.port)]);
    assert.equal(taken.code, 1);
    assert.equal(taken.err.split("\n").length, 1, taken.err);
    assert.match(taken.err, /^mini-redis: 127\.0\.0\.1:\d+ is already in use: .*--port/);
  } finally {
    holder.close();
  }
});
