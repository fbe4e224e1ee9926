/**
 * The instrumentation's warnings on planted cases: a poll that busy-loops
 * 50 ms (long-poll), a task woken and then kept from its poll by a blocked
 * thread (lost-wake), a task that yields in a loop (self-wake-loop), a
 * failed task nobody joins (lost-error); and that quiet tasks raise none.
 */

import assert from "node:assert/strict";
import { type JoinError, Notify, Runtime, sleep, spawn, yieldNow } from "../mod.ts";
import type { TaskWarning } from "../mod.ts";

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* hold the thread */ }
}

function only(ws: TaskWarning[], kind: string): TaskWarning[] {
  return ws.filter((w) => w.kind === kind);
}

Deno.test("warnings: a poll that busy-loops 50 ms is a long poll of that task", async () => {
  await using rt = new Runtime({ instrument: true });
  await rt.run(function* () {
    yield* spawn(function* () {
      yield* sleep(1);
      busyWait(50);
      yield* sleep(1);
    }, { name: "hog" });
  });
  // (Other polls may be long too on a loaded machine: the first, cold one of main.)
  const ws = only(rt.consoleSnapshot().warnings, "long-poll").filter((w) => w.taskName === "hog");
  assert.equal(ws.length, 1, JSON.stringify(ws));
  assert.match(ws[0].message, /one poll ran \d+ ms/);
  const hog = rt.consoleSnapshot().tasks.find((t) => t.name === "hog")!;
  assert.ok(hog.pollTimes.maxNs >= 50e6, `max poll ${hog.pollTimes.maxNs} ns`);
  assert.match(rt.metricsText(), /^dokio_warnings_total\{kind="long-poll"\} [1-9]\d*$/m);
});

Deno.test("warnings: a long poll among many fast ones is never lost: attributed, or counted on the worker", async () => {
  await using rt = new Runtime({ instrument: true });
  await rt.run(function* () {
    const fast = [];
    for (let i = 0; i < 20; i++) {
      fast.push(spawn(function* () {
        for (let j = 0; j < 2000; j++) yield* yieldNow();
      }));
    }
    const hog = spawn(function* () {
      for (let j = 0; j < 1000; j++) yield* yieldNow();
      busyWait(30);
      yield* yieldNow();
    }, { name: "hidden-hog" });
    for (const h of fast) yield* h;
    yield* hog;
  });
  const snap = rt.consoleSnapshot();
  const attributed = only(snap.warnings, "long-poll").filter((w) => w.taskName === "hidden-hog");
  const unattributed = Number(
    /^dokio_long_polls_unattributed_total (\d+)$/m.exec(rt.metricsText())![1],
  );
  assert.ok(attributed.length + unattributed >= 1);
});

Deno.test("warnings: woken, then kept from its poll by a blocked thread: lost wake", async () => {
  await using rt = new Runtime({ instrument: { lostWakeMs: 100 } });
  const n = new Notify();
  await rt.run(function* () {
    const waiter = spawn(n.notified(), { name: "sleepy" });
    yield* sleep(5);
    // From outside the runtime: wake it, then hold the thread for 200 ms.
    setTimeout(() => {
      n.notifyOne();
      busyWait(200);
    }, 0);
    yield* waiter;
  });
  const ws = only(rt.consoleSnapshot().warnings, "lost-wake").filter((w) =>
    w.taskName === "sleepy"
  );
  assert.equal(ws.length, 1, JSON.stringify(rt.consoleSnapshot().warnings));
  const t = rt.consoleSnapshot().tasks.find((t) => t.name === "sleepy")!;
  assert.ok(t.scheduledNs >= 100e6, `scheduled ${t.scheduledNs} ns`);
});

Deno.test("warnings: a task still queued long after its wake is reported by the snapshot", async () => {
  await using rt = new Runtime({ instrument: { lostWakeMs: 50 } });
  const n = new Notify();
  let snapWarnings: TaskWarning[] = [];
  await rt.run(function* () {
    const waiter = spawn(n.notified(), { name: "queued" });
    yield* sleep(5);
    setTimeout(() => {
      n.notifyOne();
      busyWait(80);
      snapWarnings = rt.consoleSnapshot().warnings; // still not polled
    }, 0);
    yield* waiter;
  });
  const ws = only(snapWarnings, "lost-wake").filter((w) => w.taskName === "queued");
  assert.equal(ws.length, 1, JSON.stringify(snapWarnings));
  assert.match(ws[0].message, /not yet polled/);
});

Deno.test("warnings: yielding in a loop is a self-wake loop (once per task)", async () => {
  await using rt = new Runtime({ instrument: { selfWakeLoop: 100 } });
  await rt.run(function* () {
    yield* spawn(function* () {
      for (let i = 0; i < 350; i++) yield* yieldNow();
    }, { name: "spinner" });
    yield* spawn(function* () {
      for (let i = 0; i < 50; i++) yield* yieldNow();
    }, { name: "polite" });
  });
  const ws = only(rt.consoleSnapshot().warnings, "self-wake-loop");
  assert.deepEqual(ws.map((w) => w.taskName), ["spinner"]);
});

Deno.test("warnings: a failed task whose handle is detached is a lost error", async () => {
  const reported: JoinError[] = [];
  await using rt = new Runtime({ instrument: true, onUnhandledError: (e) => reported.push(e) });
  await rt.run(function* () {
    const h = spawn(function* (): Generator<unknown, void, unknown> {
      yield* sleep(1);
      throw new Error("nobody looks");
    }, { name: "doomed" });
    h.detach();
    const seen = spawn(function* (): Generator<unknown, void, unknown> {
      throw new Error("joined");
    }, { name: "watched" });
    try {
      yield* seen;
    } catch { /* seen */ }
    yield* sleep(10);
  });
  assert.equal(reported.length, 1);
  const ws = only(rt.consoleSnapshot().warnings, "lost-error");
  assert.deepEqual(ws.map((w) => [w.taskName, w.taskId]), [["doomed", reported[0].taskId]]);
});

Deno.test("warnings: quiet tasks raise none", async () => {
  // Thresholds a loaded machine cannot reach by descheduling the thread.
  await using rt = new Runtime({ instrument: { longPollMs: 5000, lostWakeMs: 5000 } });
  await rt.run(function* () {
    const hs = [];
    for (let i = 0; i < 10; i++) {
      hs.push(spawn(function* () {
        yield* sleep(1);
        yield* yieldNow();
      }));
    }
    for (const h of hs) yield* h;
  });
  assert.deepEqual(rt.consoleSnapshot().warnings, []);
});
