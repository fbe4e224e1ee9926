/**
 * `replaceDead`: a pool worker that dies (terminated, or crashed) is replaced
 * by a new one at the same index, over and over, and no task is lost on the
 * way: each settles with its value, or with a JoinError saying its worker died.
 *
 * @module
 */

import assert from "node:assert/strict";
import { WorkerPool } from "../runtime/pool/pool.ts";
import { JoinError } from "../runtime/errors.ts";

const TASKS = new URL("./fixtures/pool_tasks.ts", import.meta.url).href;
/** A replacement boots a Deno Worker: seconds on a loaded machine, never minutes. */
const REPLACE_WITHIN_MS = 60_000;

async function untilAlive(pool: WorkerPool, i: number): Promise<void> {
  const t0 = performance.now();
  while (!pool.metrics()[i].alive) {
    if (performance.now() - t0 > REPLACE_WITHIN_MS) throw new Error(`worker ${i} not replaced`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("pool replaceDead: killed workers are replaced, again and again; no task is lost", async () => {
  const pool = await WorkerPool.start({ workers: 2, modules: [TASKS], replaceDead: true });
  try {
    const exits: string[] = [];
    pool.onWorkerExit = (i, reason) => exits.push(`${i}: ${reason}`);
    const hs = [];
    let next = 0;
    for (let round = 0; round < 4; round++) {
      for (let k = 0; k < 100; k++) {
        hs.push({ v: next, h: pool.spawnShared<number>(TASKS, "pool.sleepy", 2, next) });
        next++;
      }
      const victim = round % 2;
      pool.terminateWorker(victim);
      assert.equal(pool.metrics()[victim].alive, false);
      await untilAlive(pool, victim);
      assert.equal(pool.metrics()[victim].replaced, Math.floor(round / 2) + 1);
    }
    let ok = 0;
    for (const { v, h } of hs) {
      try {
        assert.equal(await h, v);
        ok++;
      } catch (e) {
        assert.ok(e instanceof JoinError, String(e));
        assert.match(e.message, /worker [01] died \(terminated\)/);
      }
    }
    assert.ok(ok >= hs.length / 2, `${ok} of ${hs.length} ran`);
    assert.deepEqual(exits, ["0: terminated", "1: terminated", "0: terminated", "1: terminated"]);
    // Both replacements take work (a task pinned to each runs there).
    for (const i of [0, 1]) {
      assert.equal(await pool.spawnOn<number>(i, TASKS, "pool.add", i, 40), 40 + i);
    }
    assert.ok(pool.metrics().every((m) => m.alive));
  } finally {
    await pool.shutdown({ timeoutMs: 2000 });
  }
  assert.ok(pool.metrics().every((m) => !m.alive), "every worker terminated at shutdown");
});

Deno.test("pool replaceDead: a crashed worker is replaced; the old one's late exit does not kill the new one", async () => {
  const pool = await WorkerPool.start({ workers: 1, modules: [TASKS], replaceDead: true });
  try {
    const e = await pool.spawnShared(TASKS, "pool.crash").then(() => null, (e) => e);
    assert.ok(e instanceof JoinError);
    assert.match(e.message, /died \(uncaught error/);
    // With its only worker dead, a task waits for the replacement instead of failing.
    assert.equal(await pool.spawnShared<number>(TASKS, "pool.add", 2, 3), 5);
    await untilAlive(pool, 0);
    await new Promise((r) => setTimeout(r, 200)); // the old worker's exit event, if late
    assert.equal(pool.metrics()[0].alive, true);
    assert.equal(pool.metrics()[0].replaced, 1);
    assert.equal(await pool.spawnShared<number>(TASKS, "pool.add", 4, 5), 9);
  } finally {
    await pool.shutdown({ timeoutMs: 2000 });
  }
});

Deno.test("pool replaceDead: without it a dead worker stays dead; a bad value is a TypeError", async () => {
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => WorkerPool.create({ workers: 1, replaceDead: "yes" as any }),
    TypeError,
  );
  const pool = await WorkerPool.start({ workers: 2, modules: [TASKS] });
  try {
    pool.terminateWorker(1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(pool.metrics()[1].alive, false);
    assert.equal(pool.metrics()[1].replaced, 0);
  } finally {
    await pool.shutdown({ timeoutMs: 2000 });
  }
});

Deno.test("pool replaceDead: under a kill every 300 ms every task gets its own result or a death", async () => {
  // Found by the soak: a duplicate queue entry overwrote the owner word of a task another
  // worker ran, so a kill failed the wrong task, its slot was reused, and the runner's result
  // then settled the next task in that slot (a wrong value); a killed Worker's thread, which
  // runs on after terminate() and even after its exit event, completed a reused slot's task
  // (lost). Now the owner is claimed once, a killed incarnation is fenced, and its slots wait.
  const pool = await WorkerPool.start({ workers: 2, modules: [TASKS], replaceDead: true });
  let wrong = 0;
  let died = 0;
  let ok = 0;
  const settled: Promise<void>[] = [];
  try {
    const until = performance.now() + 8000;
    let nextKill = performance.now() + 300;
    let kills = 0;
    for (let n = 0; performance.now() < until;) {
      for (let k = 0; k < 20; k++, n++) {
        const slow = n % 3 === 0;
        const want = slow ? n : n + 7;
        const h = slow
          ? pool.spawnShared<number>(TASKS, "pool.sleepy", 1 + (n % 5), n)
          : pool.spawnShared<number>(TASKS, "pool.add", n, 7);
        settled.push(
          Promise.resolve(h).then(
            (v) => void (v === want ? ok++ : wrong++),
            (e) => {
              assert.ok(e instanceof JoinError, String(e));
              assert.match(e.message, /pool worker [01] died/);
              died++;
            },
          ),
        );
      }
      await new Promise((r) => setTimeout(r, 5));
      // The next kill once both are up again (with both dead, tasks wait for a replacement).
      if (performance.now() > nextKill && pool.metrics().every((m) => m.alive)) {
        pool.terminateWorker(kills++ % 2);
        nextKill = performance.now() + 300;
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A stalled replacement boot is retried after 30 s: allow that once.
    const late = new Promise<string>((r) => (timer = setTimeout(() => r("late"), 90_000)));
    assert.equal(await Promise.race([Promise.all(settled).then(() => "all"), late]), "all");
    clearTimeout(timer);
    assert.equal(wrong, 0, "no task got another's result");
    assert.ok(ok > died, `ok ${ok}, died ${died}`);
  } finally {
    await pool.shutdown({ timeoutMs: 2000 });
  }
});

Deno.test("pool replaceDead: a replacement whose boot stalls is given up after 30 s and another one starts", async () => {
  const marker = await Deno.makeTempFile();
  await Deno.remove(marker); // absent while the pool boots
  Deno.env.set("DOKIO_TEST_STALL_BOOT", marker);
  const stall = new URL("./fixtures/pool_stall_boot.ts", import.meta.url).href;
  const pool = await WorkerPool.start({ workers: 1, modules: [TASKS, stall], replaceDead: true });
  try {
    await Deno.writeTextFile(marker, ""); // the next worker to boot stalls
    pool.terminateWorker(0);
    // Queued meanwhile: runs on the second replacement.
    assert.equal(await pool.spawnShared<number>(TASKS, "pool.add", 20, 22), 42);
    assert.equal(pool.metrics()[0].alive, true);
    assert.equal(pool.metrics()[0].replaced, 1);
  } finally {
    Deno.env.delete("DOKIO_TEST_STALL_BOOT");
    await pool.shutdown({ timeoutMs: 2000 });
  }
});
