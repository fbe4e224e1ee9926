// select / race / join / all, CancellationToken, TaskTracker.
import assert from "node:assert/strict";
import { CancelledError, run, spawn, yieldNow } from "../runtime/mod.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import type { Operation } from "../runtime/operation.ts";
import { sleep } from "../time/sleep.ts";
import {
  all,
  CancellationToken,
  join,
  mpsc,
  Notify,
  race,
  select,
  Semaphore,
  TaskTracker,
} from "../sync/mod.ts";
import { logged, settle, until } from "./sync_helpers.ts";

function* after<T>(n: number, v: T): Generator<unknown, T, unknown> {
  for (let i = 0; i < n; i++) yield* yieldNow();
  return v;
}

function* failAfter(n: number, msg: string): Generator<unknown, never, unknown> {
  for (let i = 0; i < n; i++) yield* yieldNow();
  throw new Error(msg);
}

Deno.test("select: the first to finish wins; losers are cancelled (finally ran, waiters gone)", async () => {
  const n = new Notify();
  const sem = new Semaphore(0);
  const log: string[] = [];
  await run(function* () {
    const timersBefore = currentCore().time.size;
    const r = yield* select({
      notified: logged(log, "notified", n.notified()),
      permit: logged(log, "permit", sem.acquire()),
      timer: logged(log, "timer", sleep(60_000)),
      value: after(3, "x"),
    });
    assert.deepEqual(r, { key: "value", value: "x" });
    assert.deepEqual(log.sort(), ["notified:finally", "permit:finally", "timer:finally"]);
    assert.equal(n.waiting, 0);
    assert.equal(sem.waiting, 0);
    assert.equal(currentCore().time.size, timersBefore, "the loser's timer was removed");
    sem.addPermits(1);
    assert.equal(sem.available, 1, "the cancelled acquire took nothing");
    n.notifyOne();
    assert.equal(n.hasPermit, true, "the cancelled notified() took nothing");
  });
});

Deno.test("select: a message arriving for a losing recv stays in the channel", async () => {
  const [tx, rx] = mpsc.channel<number>(4);
  await run(function* () {
    spawn(function* () {
      yield* settle(2);
      tx.trySend(1);
    });
    const r = yield* select({ msg: rx.recv(), tick: sleep(5) }, { biased: true });
    assert.equal(r.key, "msg");
    assert.equal(r.value, 1);
    const r2 = yield* select({ msg: rx.recv(), tick: after(1, "t") });
    assert.equal(r2.key, "tick");
    tx.trySend(2);
    assert.equal(yield* rx.recv(), 2);
  });
});

Deno.test("select: fair by default (rotating start), declaration order when biased", async () => {
  await run(function* () {
    const ready = (): Record<string, Operation<number>> => ({
      a: after(0, 1),
      b: after(0, 2),
    });
    const wins = new Set<string>();
    for (let i = 0; i < 4; i++) wins.add((yield* select(ready())).key);
    assert.deepEqual([...wins].sort(), ["a", "b"]);
    for (let i = 0; i < 4; i++) {
      assert.equal((yield* select(ready(), { biased: true })).key, "a");
    }
  });
});

Deno.test("select: an error in a branch cancels the others and is rethrown", async () => {
  const log: string[] = [];
  await run(function* () {
    let err: unknown;
    try {
      yield* select({ slow: logged(log, "slow", after(100, 0)), bad: failAfter(2, "bad") });
    } catch (e) {
      err = e;
    }
    assert.equal((err as Error).message, "bad");
    assert.deepEqual(log, ["slow:finally"]);
  });
  assert.throws(() => select({}), TypeError);
  assert.throws(() => select({ a: 5 as unknown as Operation<number> }), TypeError);
});

Deno.test("select: a loser whose finally suspends is driven to its end first", async () => {
  const log: string[] = [];
  function* cleanupSlowly(): Generator<unknown, void, unknown> {
    try {
      yield* after(1000, 0);
    } finally {
      yield* after(3, 0);
      log.push("cleaned");
    }
  }
  await run(function* () {
    const r = yield* select({ loser: cleanupSlowly(), winner: after(2, "w") });
    log.push(`won:${r.key}`);
  });
  assert.deepEqual(log, ["cleaned", "won:winner"]);
});

Deno.test("select: cancelling the task cancels every branch", async () => {
  const log: string[] = [];
  const n = new Notify();
  await run(function* () {
    const h = spawn(function* () {
      yield* select({ a: logged(log, "a", n.notified()), b: logged(log, "b", sleep(60_000)) });
    });
    yield* settle(2);
    assert.equal(n.waiting, 1);
    h.abort();
    yield* until(() => log.length === 2);
    assert.equal(n.waiting, 0);
  });
});

Deno.test("race, join, all: values in order; first error cancels the rest", async () => {
  const log: string[] = [];
  await run(function* () {
    assert.equal(yield* race([after(5, "slow"), after(1, "fast")]), "fast");
    const [a, b, c] = yield* join(after(3, 1), after(1, "two"), Promise.resolve(true));
    assert.deepEqual([a, b, c], [1, "two", true]);
    assert.deepEqual(yield* all([after(2, 1), after(0, 2), after(1, 3)]), [1, 2, 3]);
    assert.deepEqual(yield* all([]), []);
    let err: unknown;
    try {
      yield* all([
        logged(log, "x", after(50, 0)),
        failAfter(1, "oops"),
        logged(log, "y", after(50, 0)),
      ]);
    } catch (e) {
      err = e;
    }
    assert.equal((err as Error).message, "oops");
    assert.deepEqual(log.sort(), ["x:finally", "y:finally"]);
  });
  assert.deepEqual(await all([after(1, "p")]), ["p"], "awaitable outside tasks");
  assert.throws(() => race([]), TypeError);
});

Deno.test("CancellationToken: trees, signal, cancelled(), runUntilCancelled", async () => {
  const root = new CancellationToken();
  const child = root.child();
  const grandchild = child.child();
  const sibling = root.child();
  const signal = grandchild.signal;
  let aborted: unknown = null;
  signal.addEventListener("abort", () => aborted = signal.reason);
  sibling.cancel();
  assert.equal(root.isCancelled, false, "a child never cancels its parent");
  assert.equal(child.isCancelled, false);
  await run(function* () {
    let woke = 0;
    for (let i = 0; i < 2; i++) {
      spawn(function* () {
        yield* grandchild.cancelled();
        woke++;
      });
    }
    const v = yield* root.runUntilCancelled(after(2, "done"));
    assert.equal(v, "done");
    const log: string[] = [];
    const h = spawn(function* () {
      return yield* child.runUntilCancelled(logged(log, "op", after(1000, "never")));
    });
    yield* settle(3);
    assert.equal(woke, 0);
    root.cancel();
    assert.equal(yield* h, undefined);
    assert.deepEqual(log, ["op:finally"]);
    yield* until(() => woke === 2);
  });
  assert.ok(grandchild.isCancelled);
  assert.ok(aborted instanceof CancelledError);
  assert.ok(root.child().isCancelled, "a child of a cancelled token is born cancelled");
  assert.ok(root.child().signal.aborted);
  assert.equal(await root.runUntilCancelled(after(0, 1)), undefined, "cancellation wins a tie");
});

Deno.test("TaskTracker: wait() completes once closed and every tracked task ended", async () => {
  const tracker = new TaskTracker();
  await run(function* () {
    const ended: string[] = [];
    tracker.spawn(function* () {
      yield* after(5, 0);
      ended.push("gen");
    });
    tracker.spawn(async () => {
      await new Promise((r) => setTimeout(r, 5));
      ended.push("async");
    });
    const never = tracker.spawn(function* () {
      try {
        yield* sleep(60_000);
      } finally {
        ended.push("aborted");
      }
    });
    tracker.spawn(after(1, 0));
    assert.equal(tracker.size, 4);
    let waited = false;
    const w = spawn(function* () {
      yield* tracker.wait();
      waited = true;
    });
    yield* settle(10);
    assert.equal(waited, false, "not closed yet");
    tracker.close();
    const size = (): number => tracker.size;
    for (let i = 0; i < 5000 && size() !== 1; i++) yield* sleep(1);
    assert.equal(size(), 1);
    assert.equal(waited, false, "one task still runs");
    never.abort();
    yield* w;
    assert.equal(tracker.size, 0);
    assert.deepEqual(ended.sort(), ["aborted", "async", "gen"]);
    // a task aborted before it ever ran is still counted as ended
    tracker.reopen();
    const h = tracker.spawn(after(1, 0));
    h.abort();
    tracker.close();
    yield* tracker.wait();
    assert.equal(tracker.size, 0);
  });
});
