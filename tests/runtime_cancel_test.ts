// Task bodies without a suspension are test subjects here.
// deno-lint-ignore-file require-yield
/**
 * Cancellation: abort of idle, running and finished tasks, async cleanup in
 * `finally`, the forced second abort, cancellation of every leaf the runtime
 * has, runtime shutdown and JoinSet disposal.
 */

import assert from "node:assert/strict";
import {
  call,
  CancelledError,
  JoinError,
  type JoinHandle,
  JoinSet,
  run,
  Runtime,
  spawn,
  yieldNow,
} from "../mod.ts";
import { sleep } from "../time/sleep.ts";
import { timeout } from "../time/timeout.ts";
import type { Task } from "../runtime/task/task.ts";
import { delay, Gate, PollProbe } from "./fixtures/runtime_helpers.ts";

/** Join `h` and return the JoinError it throws (fails if it returns). */
function* joinErr(h: JoinHandle<unknown>): Generator<unknown, JoinError, unknown> {
  try {
    yield* h;
  } catch (e) {
    assert.ok(e instanceof JoinError, `expected JoinError, got ${e}`);
    return e;
  }
  throw new assert.AssertionError({ message: "the join did not throw" });
}

Deno.test("cancel: abort of an idle task runs its finally and removes its timer", async () => {
  const rt = new Runtime();
  const log: string[] = [];
  await rt.run(function* () {
    const h = spawn(function* () {
      try {
        yield* sleep(60_000);
        log.push("woke");
      } finally {
        log.push("finally");
      }
    });
    yield* yieldNow();
    assert.equal(rt.metrics().timers, 1);
    assert.equal(h.isFinished(), false);
    h.abort();
    yield* yieldNow();
    assert.deepEqual(log, ["finally"]);
    assert.equal(rt.metrics().timers, 0, "the sleep left the wheel");
    assert.equal(h.isFinished(), true);
    const e = yield* joinErr(h);
    assert.equal(e.cancelled, true);
    assert.ok(e.cause instanceof CancelledError);
    assert.equal(e.taskId, h.id);
  });
});

Deno.test("cancel: a task that aborts itself stops at its next suspension", async () => {
  const log: string[] = [];
  await run(function* () {
    // deno-lint-ignore prefer-const
    let self: JoinHandle<void>;
    const h = spawn(function* () {
      try {
        self.abort();
        log.push("still running after abort");
        yield* sleep(1);
        log.push("after suspension");
      } finally {
        log.push("finally");
      }
    });
    self = h;
    const e = yield* joinErr(h);
    assert.equal(e.cancelled, true);
  });
  assert.deepEqual(log, ["still running after abort", "finally"]);

  // Without a suspension the poll completes with its value.
  const v = await run(function* () {
    // deno-lint-ignore prefer-const
    let self: JoinHandle<number>;
    const h = spawn(function* () {
      self.abort();
      return 7;
    });
    self = h;
    return yield* h;
  });
  assert.equal(v, 7);
});

Deno.test("cancel: a task aborted by a task it woke never resumes", async () => {
  const log: string[] = [];
  const gate = new Gate();
  await run(function* () {
    // deno-lint-ignore prefer-const
    let a: JoinHandle<void>;
    const b = spawn(function* () {
      yield* gate.wait();
      log.push("B aborts A");
      a.abort();
    });
    a = spawn(function* () {
      try {
        yield* yieldNow(); // let B register
        gate.open(); // wakes B: B runs next
        log.push("A yields");
        yield* yieldNow();
        log.push("A resumed");
      } finally {
        log.push("A finally");
      }
    });
    yield* b;
    const e = yield* joinErr(a);
    assert.equal(e.cancelled, true);
  });
  assert.deepEqual(log, ["A yields", "B aborts A", "A finally"]);
});

Deno.test("cancel: abort of a finished task is a no-op", async () => {
  const rt = new Runtime();
  await rt.run(function* () {
    const h = spawn(function* () {
      return "v";
    });
    assert.equal(yield* h, "v");
    const before = rt.metrics().perWorker[0].polls;
    h.abort();
    h.abort();
    yield* yieldNow();
    assert.equal(h.isFinished(), true);
    assert.equal(yield* h, "v", "the value is still there");
    assert.equal(rt.metrics().perWorker[0].polls, before + 1, "only main was polled");
  });
});

Deno.test("cancel: the JoinHandle of an aborted task rejects with JoinError{cancelled}", async () => {
  const rt = new Runtime();
  const h = rt.spawn(function* () {
    yield* sleep(60_000);
  });
  const gate = delay(1);
  await gate.promise;
  h.abort();
  await assert.rejects(
    Promise.resolve(h),
    (e) => e instanceof JoinError && e.cancelled && e.cause instanceof CancelledError,
  );
  await rt.shutdown();
});

Deno.test("cancel: async cleanup in finally completes before the task is reported finished", async () => {
  const rt = new Runtime();
  const log: string[] = [];
  await rt.run(function* () {
    const h = spawn(function* () {
      try {
        yield* sleep(60_000);
      } finally {
        log.push("cleanup start");
        yield* sleep(3);
        log.push("cleanup done");
      }
    });
    yield* yieldNow();
    h.abort();
    yield* yieldNow();
    assert.deepEqual(log, ["cleanup start"]);
    assert.equal(h.isFinished(), false, "still cleaning up");
    assert.equal(rt.metrics().timers, 1, "only the cleanup's timer");
    const e = yield* joinErr(h);
    assert.equal(e.cancelled, true);
    assert.deepEqual(log, ["cleanup start", "cleanup done"]);
  });
});

Deno.test("cancel: a second abort forces a task out of its suspended finally", async () => {
  const rt = new Runtime();
  const log: string[] = [];
  await rt.run(function* () {
    const h = spawn(function* () {
      try {
        try {
          yield* sleep(60_000);
        } finally {
          log.push("inner cleanup");
          yield* sleep(60_000);
          log.push("never");
        }
      } finally {
        log.push("outer finally");
      }
    });
    yield* yieldNow();
    h.abort();
    yield* yieldNow();
    assert.equal(h.isFinished(), false);
    h.abort();
    yield* yieldNow();
    assert.equal(h.isFinished(), true);
    assert.equal(rt.metrics().timers, 0);
    const e = yield* joinErr(h);
    assert.equal(e.cancelled, true);
  });
  assert.deepEqual(log, ["inner cleanup", "outer finally"]);
});

// ---------------------------------------------------------------------------
// Every leaf

Deno.test("cancel leaf: timeout unlinks its timer and cancels the inner op", async () => {
  const rt = new Runtime();
  const log: string[] = [];
  function* inner(): Generator<unknown, number, unknown> {
    try {
      yield* sleep(20_000);
      return 1;
    } finally {
      log.push("inner finally");
    }
  }
  await rt.run(function* () {
    const h = spawn(function* () {
      return yield* timeout(10_000, inner());
    });
    yield* yieldNow();
    assert.equal(rt.metrics().timers, 2, "the op's sleep and the deadline");
    h.abort();
    yield* yieldNow();
    assert.equal(rt.metrics().timers, 0);
    assert.equal((yield* joinErr(h)).cancelled, true);
  });
  assert.deepEqual(log, ["inner finally"]);
});

Deno.test("cancel leaf: call(factory) aborts the AbortSignal; a late settlement is ignored", async () => {
  let signal: AbortSignal | undefined;
  let settle!: (v: number) => void;
  const rt = new Runtime();
  await rt.run(function* () {
    const h = spawn(function* () {
      return yield* call((s: AbortSignal) => {
        signal = s;
        return new Promise<number>((res) => (settle = res));
      });
    });
    yield* yieldNow();
    assert.ok(signal !== undefined && !signal.aborted);
    h.abort();
    yield* yieldNow();
    assert.ok(signal.aborted);
    assert.ok(signal.reason instanceof CancelledError);
    settle(5); // too late: nothing happens
    yield* call(Promise.resolve());
    assert.equal((yield* joinErr(h)).cancelled, true);
  });
});

Deno.test("cancel leaf: call(promise) — abort while waiting", async () => {
  let settle!: () => void;
  const p = new Promise<void>((r) => (settle = r));
  const log: string[] = [];
  await run(function* () {
    const h = spawn(function* () {
      yield* call(p);
      log.push("resumed");
    });
    yield* yieldNow();
    h.abort();
    settle();
    yield* call(p);
    yield* yieldNow();
    assert.equal((yield* joinErr(h)).cancelled, true);
  });
  assert.deepEqual(log, []);
});

Deno.test("cancel leaf: an async-function task sees its signal abort", async () => {
  let seen: AbortSignal | undefined;
  await run(function* () {
    const h = spawn(async (signal: AbortSignal) => {
      seen = signal;
      await new Promise<void>((res) => signal.addEventListener("abort", () => res()));
      return 1;
    });
    yield* yieldNow();
    h.abort();
    assert.equal((yield* joinErr(h)).cancelled, true);
  });
  assert.ok(seen?.aborted);
});

Deno.test("cancel leaf: a joiner cancelled while joining unregisters its waker", async () => {
  await run(function* () {
    const gate = new Gate();
    const target = spawn(function* () {
      yield* gate.wait();
      return "t";
    });
    const joiner = spawn(function* () {
      return yield* target;
    });
    yield* yieldNow();
    assert.ok((target as Task<string>).joinWakers !== null, "the joiner registered");
    joiner.abort();
    yield* yieldNow();
    assert.equal((target as Task<string>).joinWakers, null, "and unregistered on cancel");
    assert.equal((yield* joinErr(joiner)).cancelled, true);
    gate.open();
    assert.equal(yield* target, "t", "the target's value is intact");
  });
});

Deno.test("cancel leaf: JoinSet.joinNext — a cancelled waiter takes nothing", async () => {
  await run(function* () {
    const set = new JoinSet<string>();
    const gate = new Gate();
    set.spawn(function* () {
      yield* gate.wait();
      return "x";
    });
    const waiter = spawn(function* () {
      return yield* set.joinNext();
    });
    yield* yieldNow();
    waiter.abort();
    yield* yieldNow();
    assert.equal((yield* joinErr(waiter)).cancelled, true);
    gate.open();
    assert.equal(yield* set.joinNext(), "x", "the value is still in the set");
    assert.equal(yield* set.joinNext(), undefined);
  });
});

Deno.test("cancel leaf: yieldNow — aborted while queued, it never resumes", async () => {
  const log: string[] = [];
  await run(function* () {
    const h = spawn(function* () {
      try {
        log.push("before");
        yield* yieldNow();
        log.push("after");
      } finally {
        log.push("finally");
      }
    });
    // Let h run once: it yields and sits in the queue behind main.
    yield* yieldNow();
    h.abort();
    assert.equal((yield* joinErr(h)).cancelled, true);
  });
  assert.deepEqual(log, ["before", "finally"]);
});

Deno.test("cancel leaf: a custom leaf's cancel() runs exactly once", async () => {
  const probe = new PollProbe(60_000);
  await run(function* () {
    const h = spawn(function* () {
      yield* probe;
    });
    yield* yieldNow();
    h.abort();
    h.abort();
    yield* yieldNow();
    assert.equal((yield* joinErr(h)).cancelled, true);
  });
  assert.equal(probe.cancelled, true);
  assert.equal(probe.polls, 1);
});

// ---------------------------------------------------------------------------
// Shutdown and disposal

/** Spawn three tasks that never finish on their own (a timer, a gate, a promise). */
function* spawnStuck(log: string[], handles: JoinHandle<unknown>[], gate: Gate) {
  const never = new Promise<void>(() => {});
  const bodies = [
    function* () {
      yield* sleep(1e9);
    },
    function* () {
      yield* gate.wait();
    },
    function* () {
      yield* call(never);
    },
  ];
  bodies.forEach((body, i) => {
    handles.push(spawn(function* () {
      try {
        yield* body();
      } finally {
        log.push(`finally ${i}`);
      }
    }));
  });
  yield* sleep(2);
}

async function assertAllCancelled(log: string[], handles: JoinHandle<unknown>[]): Promise<void> {
  assert.deepEqual(log.sort(), ["finally 0", "finally 1", "finally 2"]);
  for (const h of handles) {
    assert.equal(h.isFinished(), true);
    await assert.rejects(Promise.resolve(h), (e) => e instanceof JoinError && e.cancelled);
  }
}

Deno.test("cancel: the free run() ending with live tasks cancels them all", async () => {
  const log: string[] = [];
  const handles: JoinHandle<unknown>[] = [];
  const t0 = performance.now();
  await run(() => spawnStuck(log, handles, new Gate()));
  await assertAllCancelled(log, handles);
  assert.ok(performance.now() - t0 < 900, "no waiting for the shutdown grace period");
});

Deno.test("cancel: rt.run() can run again; its tasks live until rt.shutdown() cancels them", async () => {
  const log: string[] = [];
  const handles: JoinHandle<unknown>[] = [];
  const rt = new Runtime();
  await rt.run(() => spawnStuck(log, handles, new Gate()));
  // A runtime the user built stays up: main's leftover tasks still run on it.
  assert.deepEqual(log, []);
  assert.equal(rt.metrics().activeTasks, 3);
  assert.ok(handles.every((h) => !h.isFinished()));
  const seen = await rt.run(function* () {
    yield* sleep(1);
    return rt.metrics().activeTasks;
  });
  assert.equal(seen, 4, "a second run() on the same runtime: its main and the three");
  const t0 = performance.now();
  await rt.shutdown();
  await assertAllCancelled(log, handles);
  assert.equal(rt.metrics().activeTasks, 0);
  assert.equal(rt.metrics().timers, 0);
  assert.ok(performance.now() - t0 < 900, "no waiting for the shutdown grace period");
  await assert.rejects(rt.run(function* () {}), /shut down/);
});

Deno.test("cancel: await using a runtime shuts it down at the end of the block", async () => {
  const log: string[] = [];
  const handles: JoinHandle<unknown>[] = [];
  let outer: Runtime;
  {
    await using rt = new Runtime();
    outer = rt;
    await rt.run(() => spawnStuck(log, handles, new Gate()));
    assert.deepEqual(log, []);
  }
  await assertAllCancelled(log, handles);
  assert.throws(() => outer.spawn(function* () {}), /shut down/);
});

Deno.test("cancel: a second shutdown() waits for the first to finish", async () => {
  const rt = new Runtime();
  let cleaned = false;
  rt.spawn(function* () {
    try {
      yield* sleep(1e9);
    } finally {
      yield* sleep(20); // async cleanup
      cleaned = true;
    }
  });
  await rt.run(function* () {
    yield* sleep(1);
  });
  const first = rt.shutdown();
  await rt.shutdown();
  assert.equal(cleaned, true, "the second call resolved before the cleanup ran");
  await first;
});

Deno.test("cancel: run() ending while another task is busy (a hop in flight) resolves", async () => {
  // BUG (runtime/scheduler/scheduler.ts #closeChannel, reached from close()): with a hop message
  // in flight, Deno's MessagePort.close() on port1 synchronously dispatches it, so
  // #drive → #parkOrStop → #closeChannel runs re-entrantly and sets #channel = null;
  // the outer call then reads `this.#channel.port2` → TypeError, and run() rejects.
  // Fix: detach first — `const ch = this.#channel; this.#channel = null;
  // ch.port1.onmessage = null; ch.port1.close(); ch.port2.close();`.
  const log: string[] = [];
  const v = await run(function* () {
    spawn(function* () {
      try {
        for (;;) yield* yieldNow(); // keeps the loop hopping
      } finally {
        log.push("busy task cancelled");
      }
    });
    yield* sleep(3);
    return "main done";
  });
  assert.equal(v, "main done");
  assert.deepEqual(log, ["busy task cancelled"]);
});

Deno.test("cancel: rt.shutdown() from outside cancels live tasks", async () => {
  const rt = new Runtime();
  const log: string[] = [];
  const h = rt.spawn(function* () {
    try {
      yield* sleep(60_000);
    } finally {
      log.push("finally");
    }
  });
  await delay(2).promise;
  await rt.shutdown();
  assert.deepEqual(log, ["finally"]);
  assert.equal(h.isFinished(), true);
  assert.throws(() => rt.spawn(function* () {}));
});

Deno.test("cancel: a JoinSet disposed with `using` aborts its tasks", async () => {
  const log: string[] = [];
  let hs: JoinHandle<void>[] = [];
  await run(function* () {
    {
      using set = new JoinSet<void>();
      hs = [1, 2, 3].map((i) =>
        set.spawn(function* () {
          try {
            yield* sleep(60_000);
          } finally {
            log.push(`finally ${i}`);
          }
        })
      );
      yield* yieldNow();
      assert.deepEqual(log, []);
    }
    yield* yieldNow();
    assert.deepEqual(log.sort(), ["finally 1", "finally 2", "finally 3"]);
    assert.ok(hs.every((h) => h.isFinished()));
  });
});

// ---------------------------------------------------------------------------
// Shutdown bugs

Deno.test("cancel: async cleanup at shutdown runs promptly while the runtime is parked", async () => {
  // BUG (runtime/scheduler/scheduler.ts abortAll/#cancelTask, used by Runtime.shutdown): the
  // scheduler is parked (PARKED_JS on a setTimeout for the old 60 s deadline, or IDLE)
  // when shutdown() cancels the tasks; the cleanup's new timer (and any task re-queued
  // by #cancelTask) never kicks the loop, so shutdown waits its whole 1000 ms grace
  // period and then force-cancels the cleanup.
  const log: string[] = [];
  const t0 = performance.now();
  await run(function* () {
    spawn(function* () {
      try {
        yield* sleep(60_000);
      } finally {
        yield* sleep(1);
        log.push("cleaned");
      }
    });
    yield* sleep(1);
  });
  const ms = performance.now() - t0;
  assert.deepEqual(log, ["cleaned"], "the cleanup ran to its end");
  assert.ok(ms < 500, `run() took ${ms.toFixed(0)} ms`);
});

Deno.test("cancel: a queued task cancelled by shutdown is not polled spuriously", async () => {
  // BUG (runtime/task/task_state.ts toShutdown + toRunning, runtime/scheduler/scheduler.ts #cancelTask):
  // shutdown claims a task that is queued (NOTIFIED, entry in the ring) without
  // clearing NOTIFIED; when its cleanup suspends, #cancelTask's toIdle sees NOTIFIED →
  // OkNotified and pushes a SECOND entry. Both entries then poll it (toRunning does not
  // require NOTIFIED), so the leaf in the finally is polled with no wake.
  const probe = new PollProbe(5);
  await run(function* () {
    spawn(function* () {
      try {
        for (;;) yield* yieldNow(); // always queued
      } finally {
        yield* probe;
      }
    });
    yield* sleep(3);
  });
  assert.equal(probe.wakes, 1);
  assert.equal(probe.polls, 2, `polled ${probe.polls}× for 1 wake (expected first poll + 1)`);
});

Deno.test("cancel: rt.shutdown() called inside a task keeps that task's context", async () => {
  // BUG (runtime/scheduler/scheduler.ts abortAll → #cancelTask → #leave): cancelling another task
  // synchronously from inside a poll resets the current task/core to null, so the caller's
  // next operation throws "an operation was resumed outside a task" — the task fails
  // instead of being cancelled at its next suspension. Fix: save and restore the previous
  // #polling/context (enter(prev…)) around #cancelTask, or defer the cancels to the loop.
  const rt = new Runtime();
  const log: string[] = [];
  let err: unknown = null;
  try {
    await rt.run(function* () {
      spawn(function* () {
        try {
          yield* sleep(60_000);
        } finally {
          log.push("other cancelled");
        }
      });
      yield* sleep(1);
      const done = rt.shutdown();
      yield* call(done);
      log.push("unreachable: main was cancelled");
    });
  } catch (e) {
    err = e;
  }
  assert.ok(log.includes("other cancelled"));
  assert.ok(!log.includes("unreachable: main was cancelled"));
  assert.ok(
    err instanceof CancelledError,
    `main should end cancelled, got: ${err instanceof Error ? err.message : err}`,
  );
});
