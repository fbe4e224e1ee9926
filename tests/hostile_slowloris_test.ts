/**
 * Slowloris against the daemons (examples/echo.ts and mini-redis), on
 * io_uring and epoll: 10,000 connections held open — half idle, half with
 * a partial request sent — do not stop a fresh client from being served;
 * the daemon holds them all, and after they close its fd count is back to
 * where it started. `DOKIO_HOSTILE_CONNS` changes the count. The test
 * process and the daemon need that many open files (Deno raises its soft
 * limit to the hard one at start); under a lower hard limit the test is
 * skipped saying why, and fails in CI (`DOKIO_CI=1`).
 */

import assert from "node:assert/strict";
import { echoOnce, startDaemon } from "./net_helpers.ts";
import { BACKENDS, frame, roundTrip, SERVER, stopRedis } from "./redis_helpers.ts";
import { connectMany, fdCount, ignoreWithoutFds, waitUntil } from "./hostile_helpers.ts";

const ECHO = new URL("../examples/echo.ts", import.meta.url).pathname;
/** Connections held open. */
const CONNS = Number(Deno.env.get("DOKIO_HOSTILE_CONNS") ?? 10_000);
/** Open files the test process needs beyond them (Deno, the runtime, the fresh client). */
const SPARE_FDS = 200;
/** A generous bound for the fresh client's reply on a loaded machine, ms. */
const SERVED_WITHIN_MS = 15_000;

const ignore = ignoreWithoutFds("slowloris tests", CONNS + SPARE_FDS);

const enc = new TextEncoder();

/**
 * Hold CONNS connections (every other one with `partial` sent), run `fresh` (a client that
 * must be served), close them; the daemon's fd count must come back to its baseline.
 */
async function hold(
  pid: number,
  port: number,
  partial: Uint8Array,
  fresh: () => Promise<void>,
): Promise<void> {
  // A first client (and a moment) lets the daemon open what it opens lazily before the baseline.
  await fresh();
  await new Promise((r) => setTimeout(r, 300));
  const base = fdCount(pid);
  const conns = await connectMany(port, CONNS);
  try {
    await Promise.all(conns.filter((_, i) => i % 2 === 1).map((c) => c.write(partial)));
    assert.ok(
      await waitUntil(() => fdCount(pid) >= base + CONNS, 30_000),
      `the daemon holds ${fdCount(pid)} fds, expected ${base + CONNS} or more`,
    );
    const t0 = Date.now();
    await fresh();
    const took = Date.now() - t0;
    assert.ok(took < SERVED_WITHIN_MS, `the fresh client waited ${took} ms`);
  } finally {
    for (const c of conns) c.close();
  }
  assert.ok(
    await waitUntil(() => fdCount(pid) <= base, 30_000),
    `fds after the close: ${fdCount(pid)} > ${base}`,
  );
}

for (const backend of BACKENDS) {
  Deno.test({
    name: `slowloris: ${CONNS} held connections do not stop echo serving a new one [${backend}]`,
    ignore,
    fn: async () => {
      const d = await startDaemon(ECHO, backend, ["--drain-ms", "200"]);
      try {
        await hold(d.child.pid, d.port, enc.encode("half a li"), async () => {
          const c = await Deno.connect({ hostname: "127.0.0.1", port: d.port });
          try {
            await echoOnce(c, "fresh client\n");
          } finally {
            c.close();
          }
        });
      } finally {
        d.child.kill("SIGTERM");
      }
      const st = await d.done;
      await d.lines;
      assert.equal(st.code, 0, d.out.join("\n"));
    },
  });

  Deno.test({
    name:
      `slowloris: ${CONNS} held connections do not stop mini-redis serving a new one [${backend}]`,
    ignore,
    fn: async () => {
      const d = await startDaemon(SERVER, backend, ["--max-clients", String(CONNS + 100)]);
      try {
        const half = frame(["SET", "k", "v"]).subarray(0, 12);
        await hold(d.child.pid, d.port, half, async () => {
          const c = await Deno.connect({ hostname: "127.0.0.1", port: d.port });
          try {
            await roundTrip(c, frame(["SET", "fresh", "1"]), "+OK\r\n");
            await roundTrip(c, "GET fresh\r\n", "$1\r\n1\r\n");
          } finally {
            c.close();
          }
        });
      } catch (e) {
        d.child.kill("SIGKILL");
        throw e;
      }
      await stopRedis(d);
    },
  });
}
