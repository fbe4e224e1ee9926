/**
 * The daemons' write-stall watcher (examples/_write_stall.ts) on its own: a write in progress
 * for its timeout is reported once, a write that ends followed by a new one is not taken for
 * one long write, a connection that is not writing is never reported. First with the checks'
 * times given by hand, then with `run()` on a paused clock. The daemons' drops of a client
 * that never reads are in hostile_echo_timeout_test.ts and hostile_clients_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { now, run, sleep, spawn, time } from "../mod.ts";
import { WRITE_CHECKS_PER_TIMEOUT, WriteStallWatcher } from "../examples/_write_stall.ts";

/** The timeout the watches here have, ms. */
const TIMEOUT_MS = 100;
/** The checks' spacing for TIMEOUT_MS, ms. */
const EVERY_MS = TIMEOUT_MS / WRITE_CHECKS_PER_TIMEOUT;
/** How many timeouts the "never reported" cases run for. */
const LONG = 20;

/** A watcher with one watch that counts its reports. */
function oneWatch(timeoutMs = TIMEOUT_MS) {
  const watcher = new WriteStallWatcher();
  const reports = { n: 0 };
  const w = watcher.watch(timeoutMs, () => reports.n++);
  return { watcher, w, reports };
}

Deno.test("write stall: a write in progress for the timeout is reported once, not before", () => {
  const { watcher, w, reports } = oneWatch();
  w.begin();
  // The write's time counts from the first check that sees it.
  for (let t = 0; t < TIMEOUT_MS; t += EVERY_MS) assert.equal(watcher.check(t), 0, `t=${t}`);
  assert.equal(reports.n, 0);
  assert.equal(watcher.check(TIMEOUT_MS), 1);
  assert.equal(reports.n, 1);
  for (let t = TIMEOUT_MS + EVERY_MS; t < LONG * TIMEOUT_MS; t += EVERY_MS) watcher.check(t);
  assert.equal(reports.n, 1, "reported again");
});

Deno.test("write stall: a write that ends and a new one that begins are not one long write", () => {
  const { watcher, w, reports } = oneWatch();
  w.begin();
  watcher.check(0); // first seen
  w.end();
  w.begin(); // between two checks: the watcher sees `writing` at every check
  assert.equal(watcher.check(TIMEOUT_MS), 0, "the new write was taken for the old one");
  assert.equal(watcher.check(2 * TIMEOUT_MS - 1), 0);
  // The new write's own timeout, from the check that first saw it.
  assert.equal(watcher.check(2 * TIMEOUT_MS), 1);
  assert.equal(reports.n, 1);
  // After a report, the next write starts afresh.
  w.end();
  w.begin();
  assert.equal(watcher.check(3 * TIMEOUT_MS), 0);
  assert.equal(watcher.check(4 * TIMEOUT_MS), 1);
  assert.equal(reports.n, 2);
});

Deno.test("write stall: a connection not writing, or whose writes end, is never reported", () => {
  const idle = oneWatch();
  const busy = oneWatch();
  for (let t = 0; t < LONG * TIMEOUT_MS; t += EVERY_MS) {
    busy.w.begin(); // each write ends before the next check; one is always in progress there
    assert.equal(idle.watcher.check(t), 0);
    assert.equal(busy.watcher.check(t), 0);
    busy.w.end();
  }
  assert.equal(idle.w.started, 0);
  assert.equal(busy.w.started, LONG * WRITE_CHECKS_PER_TIMEOUT);
  assert.equal(idle.reports.n + busy.reports.n, 0);
  // An ended write, seen ended, leaves nothing behind to report.
  busy.w.begin();
  busy.watcher.check(0);
  busy.w.end();
  assert.equal(busy.watcher.check(LONG * TIMEOUT_MS), 0);
});

Deno.test("write stall: each watch has its own timeout; the shortest sets the checks' spacing", () => {
  const watcher = new WriteStallWatcher();
  const reported: string[] = [];
  const short = watcher.watch(TIMEOUT_MS, () => reported.push("short"));
  const long = watcher.watch(2 * TIMEOUT_MS, () => reported.push("long"));
  const quiet = watcher.watch(TIMEOUT_MS, () => reported.push("quiet"));
  assert.equal(watcher.size, 3);
  assert.equal(watcher.checkEveryMs(), EVERY_MS);
  short.begin();
  long.begin();
  watcher.check(0);
  watcher.check(TIMEOUT_MS);
  assert.deepEqual(reported, ["short"]);
  watcher.check(2 * TIMEOUT_MS);
  assert.deepEqual(reported, ["short", "long"]);
  watcher.unwatch(short);
  assert.equal(watcher.checkEveryMs(), EVERY_MS); // quiet still has the short timeout
  watcher.unwatch(quiet);
  assert.equal(watcher.checkEveryMs(), 2 * EVERY_MS);
  watcher.unwatch(long);
  assert.equal(watcher.size, 0);
  assert.equal(watcher.checkEveryMs(), Infinity);
  assert.equal(long.writing, true); // the watch's own state is the write path's
});

Deno.test("write stall: timeout 0 is never (not kept); a bad timeout is refused", () => {
  const watcher = new WriteStallWatcher();
  const w = watcher.watch(0, () => assert.fail("reported"));
  assert.equal(watcher.size, 0);
  w.begin();
  assert.equal(w.writing, true);
  assert.equal(watcher.check(0) + watcher.check(LONG * TIMEOUT_MS), 0);
  for (const bad of [-1, NaN, Infinity]) {
    assert.throws(() => watcher.watch(bad, () => {}), RangeError, String(bad));
  }
});

Deno.test("write stall: run() reports a stalled write within 1 + 1/checks timeouts, then returns", async () => {
  const took = await run(function* () {
    time.pause();
    const watcher = new WriteStallWatcher();
    const start = now();
    let reportedAt = -1;
    const w = watcher.watch(TIMEOUT_MS, () => {
      reportedAt = now();
      watcher.unwatch(w); // as a daemon's closed connection leaves it
    });
    w.begin(); // never ends
    yield* watcher.run(); // returns once nothing is watched
    return reportedAt - start;
  });
  assert.ok(took >= TIMEOUT_MS, `reported after ${took} ms`);
  assert.ok(took <= TIMEOUT_MS + EVERY_MS, `reported after ${took} ms`);
});

Deno.test("write stall: run() never reports back-to-back writes each shorter than the timeout", async () => {
  const reports = await run(function* () {
    time.pause();
    const { watcher, w, reports } = oneWatch();
    const writer = spawn(function* () {
      for (let i = 0; i < LONG; i++) {
        w.begin();
        yield* sleep(TIMEOUT_MS - EVERY_MS); // then the next begins at once
        w.end();
      }
      watcher.unwatch(w);
    });
    yield* watcher.run();
    yield* writer;
    return reports.n;
  });
  assert.equal(reports, 0);
});
