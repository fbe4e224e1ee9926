/**
 * Hostile clients against the daemons (examples/echo.ts and mini-redis),
 * on io_uring and epoll, each while a well-behaved client must still be
 * served:
 * - a client that writes requests and never reads its replies: mini-redis
 *   keeps at most about 1 MiB of its replies (its RSS is sampled) and
 *   drops it at `--write-timeout-ms`; echo stops reading from it once its
 *   write is stuck (back-pressure: the client's writes stall, the daemon's
 *   RSS stays flat);
 * - `*1\r\n$4294967296\r\n`, a 4 GiB bulk length: a RESP error and a close,
 *   nothing allocated;
 * - a partial request and then a close, and a reset (SO_LINGER 0) in the
 *   middle of a request or of a large reply: the connection is cleaned up
 *   (fd count back to its baseline), nothing is printed as an error.
 */

import assert from "node:assert/strict";
import { echoOnce, startDaemon } from "./net_helpers.ts";
import { BACKENDS, frame, readToEnd, roundTrip, startRedis, stopRedis } from "./redis_helpers.ts";
import { fdCount, flood, resetAfter, rss, waitUntil } from "./hostile_helpers.ts";
import type { Daemon } from "./net_helpers.ts";

const ECHO = new URL("../examples/echo.ts", import.meta.url).pathname;
const MiB = 1024 * 1024;
/** The value the non-reading client asks for again and again. */
const BIG = 1 * MiB;
/**
 * RSS growth allowed while a hostile client runs: the daemon keeps about 1 MiB of replies and
 * one reply; the rest is the allocator's and V8's slack. Without the bound mini-redis encodes
 * every reply of a 16 KiB read of `GET big` (over 1,500 MiB) before writing any.
 */
const RSS_SLACK = 96 * MiB;
/** The write timeout mini-redis runs with here, ms. */
const WRITE_TIMEOUT_MS = 1000;
/** How long any one hostile client may take to be dealt with (generous: a loaded machine), ms. */
const WITHIN_MS = 20_000;

const enc = new TextEncoder();

function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** A well-behaved client is served: PING answered. */
async function redisServes(port: number): Promise<void> {
  const c = await connect(port);
  try {
    await roundTrip(c, "PING\r\n", "+PONG\r\n");
  } finally {
    c.close();
  }
}

async function echoServes(port: number): Promise<void> {
  const c = await connect(port);
  try {
    await echoOnce(c, "still served\n");
  } finally {
    c.close();
  }
}

/** Sample `pid`'s RSS every 50 ms while `work` runs; the peak. */
async function peakRss<T>(pid: number, work: () => Promise<T>): Promise<[T, number]> {
  let peak = rss(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rss(pid));
    } catch {
      // the process ended
    }
  }, 50);
  try {
    return [await work(), peak];
  } finally {
    clearInterval(timer);
  }
}

/** Write each of `parts` in full, stopping at the first failed write (the peer closed). */
async function sendAll(conn: Deno.Conn, parts: Uint8Array[]): Promise<void> {
  for (const p of parts) {
    for (let off = 0; off < p.length;) {
      const n = await conn.write(p.subarray(off)).catch(() => -1);
      if (n < 0) return;
      off += n;
    }
  }
}

/** A warmed-up daemon's fd baseline (lazily opened fds are open by then). */
async function baseline(d: Daemon, serves: (port: number) => Promise<void>): Promise<number> {
  await serves(d.port);
  await new Promise((r) => setTimeout(r, 300));
  return fdCount(d.child.pid);
}

function noErrorsPrinted(d: Daemon): void {
  const bad = d.out.filter((l) => /error/i.test(l) && !/accept/.test(l));
  assert.deepEqual(bad, [], d.out.join("\n"));
}

for (const backend of BACKENDS) {
  Deno.test(`hostile: a mini-redis client that never reads is bounded and dropped [${backend}]`, async () => {
    const d = await startRedis(backend, ["--write-timeout-ms", String(WRITE_TIMEOUT_MS)]);
    const pid = d.child.pid;
    try {
      const setup = await connect(d.port);
      await roundTrip(setup, frame(["SET", "big", new Uint8Array(BIG).fill(0x78)]), "+OK\r\n");
      setup.close();
      await baseline(d, redisServes);
      const before = rss(pid);
      const hostile = await connect(d.port);
      // 16 KiB of pipelined GETs per write, each asking for the 1 MiB value.
      const gets = enc.encode("GET big\r\n".repeat(1820));
      const [result, peak] = await peakRss(pid, async () => {
        const f = flood(hostile, gets, 500, WITHIN_MS, false);
        await redisServes(d.port); // served while the hostile client floods
        return await f;
      });
      hostile.close();
      console.log(
        `non-reader [${backend}]: wrote ${
          (result.written / MiB).toFixed(1)
        } MiB of GETs, dropped: ` +
          `${result.dropped}, RSS ${(before / MiB).toFixed(1)} -> peak ${
            (peak / MiB).toFixed(1)
          } MiB`,
      );
      assert.ok(result.dropped, `not dropped after ${result.written} bytes in ${WITHIN_MS} ms`);
      assert.ok(
        peak - before < RSS_SLACK,
        `RSS grew ${((peak - before) / MiB).toFixed(1)} MiB (from ${(before / MiB).toFixed(1)})`,
      );
      await redisServes(d.port);
      noErrorsPrinted(d);
    } catch (e) {
      d.child.kill("SIGKILL");
      throw e;
    }
    await stopRedis(d);
  });

  Deno.test(`hostile: a 4 GiB bulk length is refused by mini-redis without allocating [${backend}]`, async () => {
    const d = await startRedis(backend);
    const pid = d.child.pid;
    try {
      await baseline(d, redisServes);
      const before = rss(pid);
      for (const req of ["*1\r\n$4294967296\r\n", "*2\r\n$3\r\nGET\r\n$4294967296\r\n"]) {
        const c = await connect(d.port);
        await c.write(enc.encode(req));
        const [reply, peak] = await peakRss(pid, () => readToEnd(c));
        c.close();
        assert.equal(reply, "-ERR Protocol error: invalid bulk length\r\n");
        assert.ok(peak - before < RSS_SLACK, `RSS grew ${((peak - before) / MiB).toFixed(1)} MiB`);
      }
      await redisServes(d.port);
      noErrorsPrinted(d);
    } catch (e) {
      d.child.kill("SIGKILL");
      throw e;
    }
    await stopRedis(d);
  });

  Deno.test(`hostile: a request past --max-query is refused, the server's RSS flat [${backend}]`, async () => {
    const maxQuery = MiB;
    const d = await startRedis(backend, ["--max-query", String(maxQuery)]);
    const pid = d.child.pid;
    try {
      await baseline(d, redisServes);
      const before = rss(pid);
      const big = 8 * maxQuery;
      const requests = [
        // One bulk of 8 MiB (under --max-bulk), sent in full.
        [enc.encode(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${big}\r\n`), new Uint8Array(big)],
        // A million-argument frame of small args.
        [enc.encode(`*1048576\r\n`), enc.encode("$1\r\na\r\n".repeat(big / 7))],
      ];
      for (const parts of requests) {
        const c = await connect(d.port);
        const giveUp = setTimeout(() => c.close(), WITHIN_MS); // unblocks the reads
        const [reply, peak] = await peakRss(pid, async () => {
          const got = readToEnd(c);
          await sendAll(c, parts);
          return await got;
        });
        clearTimeout(giveUp);
        try {
          c.close();
        } catch {
          // closed by the timer
        }
        assert.equal(reply, "-ERR Protocol error: query buffer limit reached\r\n");
        assert.ok(peak - before < RSS_SLACK, `RSS grew ${((peak - before) / MiB).toFixed(1)} MiB`);
      }
      await redisServes(d.port);
      const c = await connect(d.port);
      await roundTrip(c, "EXISTS k\r\n", ":0\r\n");
      c.close();
      noErrorsPrinted(d);
    } catch (e) {
      d.child.kill("SIGKILL");
      throw e;
    }
    await stopRedis(d);
  });

  Deno.test(`hostile: mini-redis survives a partial frame then a close, and resets mid-request and mid-reply [${backend}]`, async () => {
    const d = await startRedis(backend);
    const pid = d.child.pid;
    try {
      const setup = await connect(d.port);
      await roundTrip(setup, frame(["SET", "big", new Uint8Array(BIG).fill(0x79)]), "+OK\r\n");
      setup.close();
      const base = await baseline(d, redisServes);
      const half = frame(["SET", "half", "value"]);
      for (let i = 0; i < 20; i++) {
        const c = await connect(d.port);
        await c.write(half.subarray(0, 5 + i));
        c.close();
        await resetAfter(d.port, half.subarray(0, 5 + i));
        // A 1 MiB reply being written when the reset comes.
        await resetAfter(d.port, enc.encode("GET big\r\n".repeat(4)));
      }
      await redisServes(d.port);
      const c = await connect(d.port);
      await roundTrip(c, "EXISTS half\r\n", ":0\r\n"); // no half frame ran
      c.close();
      assert.ok(
        await waitUntil(() => fdCount(pid) <= base, WITHIN_MS),
        `fds: ${fdCount(pid)} > ${base}`,
      );
      noErrorsPrinted(d);
    } catch (e) {
      d.child.kill("SIGKILL");
      throw e;
    }
    await stopRedis(d);
  });

  Deno.test(`hostile: an echo client that never reads is back-pressured, the daemon's RSS flat [${backend}]`, async () => {
    const d = await startDaemon(ECHO, backend, ["--drain-ms", "200"]);
    const pid = d.child.pid;
    try {
      const base = await baseline(d, echoServes);
      const before = rss(pid);
      const hostile = await connect(d.port);
      const [result, peak] = await peakRss(pid, async () => {
        // Writes stall once the socket buffers both ways are full: the daemon stopped reading.
        const f = await flood(hostile, new Uint8Array(64 * 1024), 1000, WITHIN_MS, true);
        await echoServes(d.port);
        return f;
      });
      console.log(
        `echo non-reader [${backend}]: wrote ${
          (result.written / MiB).toFixed(1)
        } MiB before its writes ` +
          `stalled, RSS ${(before / MiB).toFixed(1)} -> peak ${(peak / MiB).toFixed(1)} MiB`,
      );
      assert.ok(!result.dropped, "echo dropped the client");
      assert.ok(result.written < 256 * MiB, `the client wrote ${result.written} bytes unhindered`);
      assert.ok(peak - before < RSS_SLACK, `RSS grew ${((peak - before) / MiB).toFixed(1)} MiB`);
      hostile.close();
      for (let i = 0; i < 20; i++) {
        const c = await connect(d.port);
        await c.write(enc.encode("a partial line, then the client goes"));
        c.close();
        await resetAfter(d.port, new Uint8Array(256 * 1024)); // reset while echo writes back
      }
      await echoServes(d.port);
      assert.ok(
        await waitUntil(() => fdCount(pid) <= base, WITHIN_MS),
        `fds: ${fdCount(pid)} > ${base}`,
      );
      noErrorsPrinted(d);
    } finally {
      d.child.kill("SIGTERM");
    }
    const st = await d.done;
    await d.lines;
    assert.equal(st.code, 0, d.out.join("\n"));
  });
}

Deno.test("hostile: mini-redis --write-timeout-ms is checked", async () => {
  const { parseFlags } = await import("../examples/mini_redis/server.ts");
  const { UsageError } = await import("../examples/_flags.ts");
  assert.equal(parseFlags(["--write-timeout-ms", "250"]).writeTimeoutMs, 250);
  assert.equal(parseFlags([]).writeTimeoutMs, 60_000);
  assert.throws(() => parseFlags(["--write-timeout-ms", "-1"]), UsageError);
});
