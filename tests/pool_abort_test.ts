/**
 * Abort of a shared task issued before it started: the handle rejects with
 * a cancelled JoinError and none of the task's code runs, also when the
 * worker that claimed it was still waiting for the task's module (its first
 * use on that worker) or for its arguments (large ones, and any
 * SharedArrayBuffer, travel by message).
 *
 * @module
 */

import assert from "node:assert/strict";
import { JoinError, Runtime } from "../mod.ts";

const TASKS = new URL("./fixtures/pool_abort_tasks.ts", import.meta.url).href;
const OTHER = new URL("./fixtures/pool_tasks.ts", import.meta.url).href;

async function cancelled(h: PromiseLike<unknown>): Promise<boolean> {
  try {
    await h;
    return false;
  } catch (e) {
    assert.ok(e instanceof JoinError, String(e));
    return e.cancelled;
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("pool abort: before start, no code of the task runs (arguments in flight)", async () => {
  const rt = Runtime.builder().poolSize(2).build();
  const counter = new SharedArrayBuffer(4);
  try {
    assert.equal(await rt.spawnShared<number>(TASKS, "abort.later", 0, 5), 5); // pool and module warm
    for (let i = 0; i < 20; i++) {
      // A SharedArrayBuffer argument travels by message: the worker that
      // claimed the task waits for it, and the abort lands meanwhile.
      const h = rt.spawnShared<number>(TASKS, "abort.marked", counter, 20, i);
      h.abort();
      assert.ok(await cancelled(h), `task ${i}: the value came back instead`);
      await pause(2);
    }
    await pause(100); // anything that slipped through would have counted itself by now
    assert.equal(Atomics.load(new Int32Array(counter), 0), 0, "no aborted task ran");
  } finally {
    await rt.shutdown();
  }
});

Deno.test("pool abort: a task with a 1 MiB argument aborted before start is cancelled", async () => {
  const rt = Runtime.builder().poolSize(2).build();
  try {
    assert.equal(await rt.spawnShared<number>(TASKS, "abort.size", new Uint8Array(8)), 8);
    for (let i = 0; i < 30; i++) {
      const h = rt.spawnShared<number>(TASKS, "abort.size", new Uint8Array(1 << 20));
      h.abort();
      assert.ok(await cancelled(h), `task ${i}: the value came back instead`);
      await pause(2);
    }
  } finally {
    await rt.shutdown();
  }
});

Deno.test("pool abort: aborted while its worker loads the task's module: cancelled", async () => {
  for (let round = 0; round < 4; round++) {
    const rt = Runtime.builder().poolSize(1).build();
    try {
      // Boot the worker with another module, so this one is loaded on first use.
      assert.equal(await rt.spawnBlocking<number>(OTHER, "pool.add", 1, 2), 3);
      const h = rt.spawnShared<number>(TASKS, "abort.later", 100, 1);
      await pause(round); // claimed, then aborted while its module loads (or before)
      h.abort();
      assert.ok(await cancelled(h), `round ${round}: the value came back instead`);
    } finally {
      await rt.shutdown();
    }
  }
});
