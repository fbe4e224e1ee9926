/**
 * The traps a new user falls into, each turned into an error that names the
 * fix: `yield` written for `yield*` (a task, a select branch, a cancelled
 * task's finally), and an argument that is not an operation (`timeout`,
 * `select`, `race`, `all`, `spawn`, `run`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { all, call, race, run, Runtime, select, sleep, spawn, timeout } from "../mod.ts";
import { CancelledError, JoinError } from "../runtime/errors.ts";

/** Run `body` as a task and return what its join threw (or fail). */
async function joinError(body: () => Generator<unknown, unknown, unknown>): Promise<Error> {
  return await run(function* () {
    try {
      yield* spawn(body);
    } catch (e) {
      assert.ok(e instanceof JoinError, String(e));
      return e.cause as Error;
    }
    assert.fail("the task should have failed");
  });
}

Deno.test("trap: `yield op` throws a TypeError into the task naming yield* and call()", async () => {
  const e = await joinError(function* () {
    yield sleep(10);
  });
  assert.ok(e instanceof TypeError);
  assert.match(e.message, /yield\* op/);
  assert.match(e.message, /call\(promise\)/);
});

Deno.test("trap: `yield promise` names call(), the abortable form too", async () => {
  const e = await joinError(function* () {
    yield Promise.resolve(1);
  });
  assert.ok(e instanceof TypeError);
  assert.match(e.message, /yield\* call\(promise\)/);
  assert.match(e.message, /call\(\(signal\) => fetch\(url, \{ signal \}\)\)/);
});

Deno.test("trap: `yield value` names yield*; the task may catch it and go on", async () => {
  const v = await run(function* () {
    try {
      yield 42;
      return "resumed";
    } catch (e) {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /yield\*/);
    }
    yield* sleep(1);
    return "caught";
  });
  assert.equal(v, "caught");
});

Deno.test("trap: `yield op` inside a select branch fails the select with the same TypeError", async () => {
  const e = await joinError(function* () {
    yield* select({
      wrong: (function* () {
        yield sleep(5);
      })(),
      slow: sleep(10_000),
    });
  });
  assert.ok(e instanceof TypeError);
  assert.match(e.message, /yield\* op/);
});

Deno.test("trap: `yield op` in the finally of a cancelled task does not hang it", async () => {
  let caught = "";
  await run(function* () {
    const h = spawn(function* () {
      try {
        yield* sleep(10_000);
      } finally {
        try {
          yield sleep(1);
        } catch (e) {
          caught = (e as Error).name;
        }
      }
    });
    yield* sleep(1);
    h.abort();
    try {
      yield* h;
    } catch (e) {
      assert.ok(e instanceof JoinError && e.cancelled);
    }
  });
  assert.equal(caught, "TypeError");
});

Deno.test("trap: timeout(ms, promise) is accepted, as select/race/join/all accept promises", async () => {
  const v = await run(function* () {
    const a = yield* timeout(1000, Promise.resolve("a"));
    const b = yield* race([Promise.resolve("b")]);
    const [c] = yield* all([Promise.resolve("c")]);
    const r = yield* select({ d: Promise.resolve("d") });
    const e = yield* spawn(Promise.resolve("e"));
    return [a, b, c, r.value, e].join("");
  });
  assert.equal(v, "abcde");
  await assert.rejects(
    () =>
      run(function* () {
        yield* timeout(5, new Promise(() => {}));
      }),
    (e: Error) => e.name === "TimeoutError",
  );
});

Deno.test("trap: every 'expected an operation' error names what to pass instead", () => {
  function* worker() {}
  const bad: [string, () => unknown][] = [
    ["timeout()", () => timeout(5, worker as never)],
    ["timeout()", () => timeout(5, 42 as never)],
    ["select()", () => select({ a: worker as never })],
    ["race()", () => race([7 as never])],
    ["all()", () => all([{} as never])],
    ["spawn()/run()", () => spawn(42 as never)],
  ];
  for (const [what, f] of bad) {
    assert.throws(f, (e: Error) => {
      assert.ok(e instanceof TypeError, what);
      assert.ok(e.message.includes(`${what} expected an operation or a promise`), e.message);
      assert.match(e.message, /`worker\(\)`/, e.message); // what to pass
      return true;
    });
  }
  // A function where an operation goes: call it.
  assert.throws(() => timeout(5, worker as never), /`worker\(\)`, not `worker`/);
  // call() given something else says what it takes.
  assert.throws(() => call(5 as never), /call\(\) takes a promise or a function/);
});

Deno.test("trap: call((signal) => fetch(url, { signal })) aborts the request when the task times out", async () => {
  let aborted = 0;
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) =>
      new Promise<Response>((resolve) => {
        req.signal.addEventListener("abort", () => {
          aborted++;
          resolve(new Response("gone"));
        });
      }),
  );
  const url = `http://127.0.0.1:${server.addr.port}/`;
  try {
    const outcome = await run(function* () {
      try {
        yield* timeout(50, call((signal) => fetch(url, { signal })));
        return "answered";
      } catch (e) {
        return (e as Error).name;
      }
    });
    assert.equal(outcome, "TimeoutError");
    for (let i = 0; i < 100 && aborted === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(aborted, 1, "the server saw the request aborted");
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("CancelledError is what its doc says: never caught in the task; the join's cause; the signal's reason", async () => {
  let caught = 0;
  let reason: unknown = null;
  await run(function* () {
    const gen = spawn(function* () {
      try {
        yield* sleep(60_000);
      } catch {
        caught++;
      }
    });
    const asyncBody = spawn(async (signal: AbortSignal) => {
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      reason = signal.reason;
    });
    yield* sleep(1);
    gen.abort();
    asyncBody.abort();
    for (const h of [gen, asyncBody]) {
      try {
        yield* h;
        assert.fail("a cancelled join throws");
      } catch (e) {
        assert.ok(e instanceof JoinError && e.cancelled);
        assert.ok(e.cause instanceof CancelledError, String(e.cause));
      }
    }
    yield* sleep(1);
  });
  assert.equal(caught, 0, "a catch in the task never sees the cancellation");
  assert.ok(reason instanceof CancelledError);
  // run() of a main task cancelled by shutdown rejects with CancelledError.
  const rt = new Runtime();
  const main = rt.run(function* () {
    yield* sleep(60_000);
  });
  await new Promise((r) => setTimeout(r, 5));
  await rt.shutdown();
  await assert.rejects(main, CancelledError);
});
