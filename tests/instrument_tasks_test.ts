/**
 * Task instrumentation against known workloads: poll, wake and self-wake
 * counts, what a task waits on, names and spawn sites (spawn, JoinSet,
 * TaskTracker), finished tasks, the worker histograms, resources, and that
 * a runtime without instrumentation reports no tasks.
 */

import assert from "node:assert/strict";
import {
  JoinSet,
  mpsc,
  Mutex,
  Notify,
  Runtime,
  Semaphore,
  sleep,
  spawn,
  TaskTracker,
  yieldNow,
} from "../mod.ts";
import type { ConsoleSnapshot, TaskSnapshot } from "../mod.ts";
import { settle, until } from "./sync_helpers.ts";
import { INJECT_BATCH } from "../runtime/scheduler/scheduler.ts";

function task(snap: ConsoleSnapshot, name: string): TaskSnapshot {
  const t = snap.tasks.find((t) => t.name === name);
  assert.ok(t, `task ${name} in the snapshot`);
  return t;
}

/** Assert the task series `family{name="name"}` of `text` is `n`. */
function series(text: string, family: string, name: string, n: number): void {
  assert.match(text, new RegExp(`^dokio_task_${family}_total\\{name="${name}"\\} ${n}$`, "m"));
}

function histogramOk(h: TaskSnapshot["pollTimes"]): void {
  assert.equal(h.counts.length, h.bounds.length + 1);
  assert.equal(h.counts.reduce((a, b) => a + b, 0), h.count);
  for (let i = 1; i < h.bounds.length; i++) assert.ok(h.bounds[i] > h.bounds[i - 1]);
}

Deno.test("instrument: a task that sleeps 3 times has 4 polls and 3 wakes, none of them its own", async () => {
  await using rt = new Runtime({ instrument: true });
  await rt.run(function* () {
    yield* spawn(function* () {
      for (let i = 0; i < 3; i++) yield* sleep(2);
    }, { name: "sleeper" });
  });
  const t = task(rt.consoleSnapshot(), "sleeper");
  assert.equal(t.state, "done");
  assert.equal(t.polls, 4);
  assert.equal(t.wakes, 3);
  assert.equal(t.selfWakes, 0);
  assert.equal(t.pollTimes.count, 4);
  histogramOk(t.pollTimes);
  assert.ok(t.busyNs > 0);
  assert.ok(t.idleNs >= 3 * 1e6, `idle ${t.idleNs} ns covers the three 2 ms sleeps`);
  assert.match(t.spawnSite ?? "", /instrument_tasks_test\.ts:\d+:\d+$/);
});

Deno.test("instrument: yieldNow 5 times: 6 polls, 5 wakes, all self-wakes", async () => {
  await using rt = new Runtime({ instrument: true });
  await rt.run(function* () {
    yield* spawn(function* () {
      for (let i = 0; i < 5; i++) yield* yieldNow();
    }, { name: "yielder" });
  });
  const t = task(rt.consoleSnapshot(), "yielder");
  assert.equal(t.polls, 6);
  assert.equal(t.wakes, 5);
  assert.equal(t.selfWakes, 5);
  assert.equal(t.pollTimes.count, 6);
});

Deno.test("instrument: a sleeping task is idle and waits on 'sleep'; a lock waiter on 'lock'", async () => {
  await using rt = new Runtime({ instrument: true });
  const snap = await rt.run(function* () {
    const m = new Mutex(0);
    const guard = yield* m.lock();
    const a = spawn(sleep(60_000), { name: "napper" });
    const b = spawn(function* () {
      using _g = yield* m.lock();
    }, { name: "locker" });
    const n = new Notify();
    const c = spawn(n.notified(), { name: "notified" });
    const [tx, rx] = mpsc.channel<number>(1);
    const d = spawn(rx.recv(), { name: "receiver" });
    yield* settle();
    const snap = rt.consoleSnapshot();
    guard.release();
    yield* b;
    a.abort();
    n.notifyOne();
    yield* c;
    yield* tx.send(1);
    yield* d;
    return snap;
  });
  const napper = task(snap, "napper");
  assert.equal(napper.state, "idle");
  assert.equal(napper.waitingOn, "sleep");
  assert.equal(napper.polls, 1);
  assert.equal(task(snap, "locker").waitingOn, "lock");
  assert.equal(task(snap, "notified").waitingOn, "notified");
  assert.equal(task(snap, "receiver").waitingOn, "mpsc.recv");
  const after = rt.consoleSnapshot();
  assert.equal(task(after, "napper").state, "cancelled");
  assert.equal(task(after, "locker").state, "done");
});

Deno.test("instrument: JoinSet and TaskTracker names; the site is where the user spawned", async () => {
  await using rt = new Runtime({ instrument: true });
  await rt.run(function* () {
    const set = new JoinSet<number>();
    function* one(): Generator<unknown, number, unknown> {
      yield* yieldNow();
      return 1;
    }
    set.spawn(one(), { name: "in-set" });
    const tracker = new TaskTracker();
    tracker.spawn(function* () {
      yield* sleep(1);
    }, { name: "tracked" });
    tracker.close();
    assert.equal(yield* set.joinNext(), 1);
    yield* tracker.wait();
  });
  const snap = rt.consoleSnapshot();
  for (const name of ["in-set", "tracked"]) {
    const t = task(snap, name);
    assert.equal(t.state, "done");
    assert.match(t.spawnSite ?? "", /instrument_tasks_test\.ts:\d+:\d+$/, name);
  }
});

Deno.test("instrument: one spawn site per body kind, taken once; names share it", async () => {
  await using rt = new Runtime({ instrument: true });
  function* work(i: number): Generator<unknown, number, unknown> {
    yield* yieldNow();
    return i;
  }
  await rt.run(function* () {
    const hs = [];
    for (let i = 0; i < 100; i++) hs.push(spawn(work(i), { name: i % 2 === 0 ? "even" : "odd" }));
    for (const h of hs) yield* h;
  });
  const snap = rt.consoleSnapshot();
  const sites = new Set(snap.tasks.filter((t) => t.name !== null).map((t) => t.spawnSite));
  assert.equal(sites.size, 1);
  const text = rt.metricsText();
  series(text, "spawned", "even", 50);
  series(text, "finished", "odd", 50);
  series(text, "polls", "odd", 100);
});

Deno.test("instrument: fresh closures of one function expression share its site", async () => {
  await using rt = new Runtime({ instrument: true });
  await rt.run(function* () {
    const hs = [];
    for (let i = 0; i < 20; i++) {
      hs.push(spawn(function* () {
        yield* yieldNow();
        return i;
      }, { name: "fresh" }));
    }
    hs.push(spawn(function* () {
      yield* yieldNow();
      return -1;
    }, { name: "other" }));
    for (const h of hs) yield* h;
  });
  const snap = rt.consoleSnapshot();
  const fresh = snap.tasks.filter((t) => t.name === "fresh");
  assert.equal(fresh.length, 20);
  const sites = new Set(fresh.map((t) => t.spawnSite));
  assert.equal(sites.size, 1);
  assert.match([...sites][0] ?? "", /instrument_tasks_test\.ts:\d+:\d+$/);
  const other = task(snap, "other").spawnSite;
  assert.match(other ?? "", /instrument_tasks_test\.ts:\d+:\d+$/);
  assert.notEqual(other, [...sites][0]);
});

Deno.test("instrument: worker histograms count every poll; queue depths and timers are reported", async () => {
  await using rt = new Runtime({ instrument: true });
  const snap = await rt.run(function* () {
    const hs = [];
    for (let i = 0; i < 50; i++) {
      hs.push(spawn(function* () {
        for (let j = 0; j < 20; j++) yield* yieldNow();
      }));
    }
    for (const h of hs) yield* h;
    spawn(sleep(60_000), { name: "timer" });
    yield* yieldNow();
    return rt.consoleSnapshot();
  });
  const w = snap.workers[0];
  assert.equal(w.worker, 0);
  histogramOk(w.pollTimes);
  histogramOk(w.scheduledTimes);
  assert.ok(w.pollTimes.count >= 50 * 21, `polls ${w.pollTimes.count}`);
  assert.ok(w.pollTimes.count <= w.polls);
  assert.ok(w.scheduledTimes.count >= 50 * 20);
  assert.equal(w.timersArmed, 1);
  assert.equal(snap.version, 1);
  assert.equal(snap.pid, Deno.pid);
});

Deno.test("instrument: the scheduled-time histogram's sampled waits add up to every wait (spawn + join of quick tasks)", async () => {
  await using rt = new Runtime({ instrument: true });
  const N = 20_000;
  function* quick(i: number) {
    return i;
  }
  const before = rt.consoleSnapshot().workers[0].scheduledTimes.count;
  const snap = await rt.run(function* () {
    const hs = [];
    for (let i = 0; i < N; i++) hs.push(spawn(quick(i)));
    for (const h of hs) yield* h;
    return rt.consoleSnapshot();
  }, { name: "joiner" });
  const joiner = task(snap, "joiner");
  // Every wait for a poll: each task's first, and each of the joiner's wakes
  // by the tasks it joins (its own first wait too): about one per batch the
  // scheduler takes from the inject queue. Fast windows sample one in
  // WAKE_SAMPLE of them, counted WAKE_SAMPLE times; the rest are exact.
  const waits = N + 1 + (joiner.wakes - joiner.selfWakes);
  const counted = snap.workers[0].scheduledTimes.count - before;
  assert.ok(
    joiner.wakes - joiner.selfWakes > N / INJECT_BATCH / 2,
    `the joiner was woken ${joiner.wakes} times`,
  );
  assert.ok(
    Math.abs(counted - waits) <= waits * 0.02,
    `histogram counts ${counted} waits of ${waits}`,
  );
});

Deno.test("instrument: resources with waiters (mutex, semaphore, channel)", async () => {
  await using rt = new Runtime({ instrument: true });
  const snap = await rt.run(function* () {
    const m = new Mutex(0);
    const sem = new Semaphore(1);
    const [_tx, rx] = mpsc.channel<number>(4);
    const g = yield* m.lock();
    const p = yield* sem.acquire();
    const hs = [
      spawn(function* () {
        using _g = yield* m.lock();
      }),
      spawn(function* () {
        using _g = yield* m.lock();
      }),
      spawn(function* () {
        using _p = yield* sem.acquire();
      }),
      spawn(rx.recv()),
    ];
    yield* settle();
    const snap = rt.consoleSnapshot();
    g.release();
    p.release();
    hs[3].abort();
    for (const h of hs.slice(0, 3)) yield* h;
    return snap;
  });
  const mutex = snap.resources.find((r) => r.kind === "mutex" && r.waiters === 2);
  assert.ok(mutex, JSON.stringify(snap.resources));
  assert.equal(mutex.detail, "locked");
  assert.match(mutex.site ?? "", /instrument_tasks_test\.ts/);
  const sem = snap.resources.find((r) => r.kind === "semaphore" && r.waiters === 1);
  assert.equal(sem?.detail, "0 permits free");
  const chan = snap.resources.find((r) => r.kind === "mpsc" && r.waiters === 1);
  assert.equal(chan?.detail, "0/4 queued");
  assert.ok(snap.resources[0].waiters >= snap.resources[snap.resources.length - 1].waiters);
});

Deno.test("instrument: off by default: no tasks, empty histograms, counters still there", async () => {
  await using rt = new Runtime({ instrument: false });
  assert.equal(rt.instrumented, false);
  const snap = await rt.run(function* () {
    spawn(sleep(60_000));
    yield* yieldNow();
    return rt.consoleSnapshot();
  });
  assert.deepEqual(snap.tasks, []);
  assert.deepEqual(snap.resources, []);
  assert.equal(snap.workers[0].pollTimes.count, 0);
  assert.ok(snap.workers[0].polls >= 2);
  assert.match(rt.metricsText(), /^dokio_instrumented 0$/m);
});

Deno.test("instrument: the builder turns it on; a task running now is 'running'", async () => {
  const rt = Runtime.builder().instrument().build();
  assert.equal(rt.instrumented, true);
  const snap = await rt.run(function* () {
    yield* until(() => true);
    return rt.consoleSnapshot();
  });
  const self = snap.tasks.find((t) => t.state === "running");
  assert.ok(self);
  await rt.shutdown();
  assert.throws(() => Runtime.builder().instrument({ longPollMs: 0 }).build(), RangeError);
});

Deno.test("instrument: rt.run(main, { name }) names the main task", async () => {
  await using rt = new Runtime({ instrument: true });
  const snap = await rt.run(function* () {
    yield* yieldNow();
    return rt.consoleSnapshot();
  }, { name: "main-loop" });
  const main = snap.tasks.find((t) => t.name === "main-loop");
  assert.ok(main, "the main task is listed by its name");
  assert.equal(main.state, "running");
  assert.match(rt.metricsText(), /^dokio_task_spawned_total\{name="main-loop"\} 1$/m);
});

Deno.test("instrument: tasks ended in their first poll, and tasks not yet polled, are counted in full", async () => {
  await using rt = new Runtime({ instrument: true });
  function* quick(i: number) {
    return i;
  }
  const during = await rt.run(function* () {
    const hs = [];
    for (let i = 0; i < 300; i++) hs.push(spawn(quick(i), { name: "quick" }));
    // Queued, never polled: scheduled, no polls, waiting on nothing.
    const snap = rt.consoleSnapshot();
    let sum = 0;
    for (const h of hs) sum += yield* h;
    assert.equal(sum, (299 * 300) / 2);
    return snap;
  });
  const queued = during.tasks.filter((t) => t.name === "quick");
  assert.equal(queued.length, 300);
  for (const t of queued) {
    assert.equal(t.state, "scheduled");
    assert.equal(t.polls, 0);
    assert.equal(t.busyNs, 0);
    assert.equal(t.waitingOn, null);
    assert.match(t.spawnSite ?? "", /instrument_tasks_test\.ts:\d+:\d+$/);
  }
  // Those read by that snapshot took rows; these never do.
  const after = await rt.run(function* () {
    const hs = [];
    for (let i = 0; i < 50; i++) hs.push(spawn(quick(i), { name: "first-poll" }));
    for (const h of hs) yield* h;
    return rt.consoleSnapshot();
  });
  const done = after.tasks.filter((t) => t.name === "first-poll");
  assert.equal(done.length, 50);
  for (const t of done) {
    assert.equal(t.state, "done");
    assert.equal(t.polls, 1);
    assert.equal(t.wakes, 0);
    assert.equal(t.pollTimes.count, 1);
    assert.ok(t.busyNs > 0);
    assert.ok(t.ageNs >= t.busyNs);
    assert.match(t.spawnSite ?? "", /instrument_tasks_test\.ts:\d+:\d+$/);
  }
  const text = rt.metricsText();
  series(text, "spawned", "quick", 300);
  series(text, "spawned", "first-poll", 50);
  series(text, "polls", "first-poll", 50);
});

Deno.test("instrument: unnamed spawns of alternating body kinds keep each kind's site; runs of first-poll ends are totalled by name", async () => {
  await using rt = new Runtime({ instrument: true });
  function* alpha(i: number) {
    return i;
  }
  function* beta(i: number) {
    return -i;
  }
  // Which kind each unnamed spawn was, in spawn (id) order.
  const kinds: string[] = [];
  const snap = await rt.run(function* () {
    const hs = [];
    const unnamed = (kind: "alpha" | "beta", i: number) => {
      kinds.push(kind);
      hs.push(kind === "alpha" ? spawn(alpha(i)) : spawn(beta(i)));
    };
    // A run of one kind, the kinds alternating, a named spawn of the kind just
    // spawned unnamed, a run of the other kind, then named runs.
    for (let i = 0; i < 40; i++) unnamed("alpha", i);
    for (let i = 0; i < 40; i++) unnamed(i % 2 === 0 ? "alpha" : "beta", i);
    hs.push(spawn(alpha(7), { name: "named-alpha" }));
    for (let i = 0; i < 30; i++) unnamed("beta", i);
    for (let i = 0; i < 20; i++) hs.push(spawn(beta(i), { name: i % 3 === 0 ? "b3" : "b" }));
    for (const h of hs) yield* h;
    return rt.consoleSnapshot();
  });
  const spawned = snap.tasks
    .filter((t) => t.name === null && t.state === "done" && t.polls === 1)
    .sort((x, y) => x.id - y.id);
  assert.equal(spawned.length, kinds.length);
  const siteOf = new Map<string, string | null>();
  spawned.forEach((t, i) => {
    const kind = kinds[i];
    if (!siteOf.has(kind)) siteOf.set(kind, t.spawnSite);
    assert.equal(t.spawnSite, siteOf.get(kind), `task ${i} (${kind}) has its kind's site`);
  });
  assert.match(siteOf.get("alpha") ?? "", /instrument_tasks_test\.ts:\d+:\d+$/);
  assert.match(siteOf.get("beta") ?? "", /instrument_tasks_test\.ts:\d+:\d+$/);
  assert.notEqual(siteOf.get("alpha"), siteOf.get("beta"));
  assert.equal(task(snap, "named-alpha").polls, 1);
  const text = rt.metricsText();
  series(text, "finished", "b3", 7);
  series(text, "finished", "b", 13);
  series(text, "polls", "b", 13);
  series(text, "finished", "named-alpha", 1);
});

Deno.test("instrument: a task woken and polled within one window of fast polls has its idle time", async () => {
  await using rt = new Runtime({ instrument: true });
  const snap = await rt.run(function* () {
    // Warm the window up to many polls a clock reading.
    for (let i = 0; i < 2000; i++) yield* yieldNow();
    const sleeper = spawn(function* () {
      yield* sleep(1);
    }, { name: "joined" });
    const joiner = spawn(function* () {
      // Waits for the sleeper: idle ≥ 1 ms, then woken by the sleeper's end.
      yield* sleeper;
    }, { name: "joiner" });
    yield* joiner;
    return rt.consoleSnapshot();
  });
  const j = task(snap, "joiner");
  assert.equal(j.polls, 2);
  assert.equal(j.wakes, 1);
  assert.ok(j.idleNs >= 1e6, `idle ${j.idleNs} ns covers the 1 ms sleep it waited for`);
});

Deno.test("instrument: finished tasks, ended in their first poll or later, cancelled or done, are listed newest first", async () => {
  await using rt = new Runtime({ instrument: true });
  await rt.run(function* () {
    yield* spawn(function* () {
      return 1;
    }, { name: "quick-done" });
    const h = spawn(function* () {
      yield* sleep(1);
    }, { name: "quick-cancelled" });
    h.abort(); // before its first poll: it ends there, cancelled
    yield* settle();
    yield* spawn(function* () {
      yield* yieldNow();
    }, { name: "second-poll-done" });
    const s = spawn(sleep(10_000), { name: "slept-cancelled" });
    yield* settle();
    s.abort();
    yield* settle();
    yield* spawn(function* () {
      return 2;
    }, { name: "last-quick" });
  });
  const snap = rt.consoleSnapshot();
  const want: [string, string, number][] = [
    ["quick-done", "done", 1],
    ["quick-cancelled", "cancelled", 1],
    ["second-poll-done", "done", 2],
    ["slept-cancelled", "cancelled", 2],
    ["last-quick", "done", 1],
  ];
  for (const [name, state, polls] of want) {
    const t = task(snap, name);
    assert.equal(t.state, state, name);
    assert.equal(t.polls, polls, name);
    assert.equal(t.idleNs >= 0 && t.busyNs >= 0 && t.scheduledNs >= 0, true, name);
  }
  // Both kinds come from one list ordered by end time, newest first.
  const order = snap.tasks.filter((t) => want.some(([n]) => n === t.name)).map((t) => t.name);
  assert.deepEqual(order, want.map(([n]) => n).reverse());
  const finished = snap.tasks.filter((t) => t.state === "done" || t.state === "cancelled");
  for (let i = 1; i < finished.length; i++) {
    assert.ok(finished[i].sinceLastPollNs >= finished[i - 1].sinceLastPollNs);
  }
});
