/**
 * `replaceDead` under kill churn: shared tasks (immediate and sleeping ones) are spawned
 * without pause while pool workers are killed every few hundred milliseconds — one worker, or
 * both at once — and replaced. Every task must settle: with its own value, or with a JoinError
 * saying its worker died. None may stay pending once the pool has its workers back.
 *
 * Found by the soak (3 tasks never settled): a replacement takes work as soon as it has said
 * "ready", but the pool counted it alive only some awaits later, after it had already handled
 * the worker's next message — its first results, dropped as coming from a dead worker. Those
 * tasks were complete, owned by the live incarnation, so no recovery touched them again. Tasks
 * sat in the inject queue when a replacement booted because a worker killed while it counted as
 * searching left the shared searching count too high, so pushes stopped waking the live worker.
 * Killing both workers at once here queues tasks for the replacement every time.
 *
 * @module
 */

import assert from "node:assert/strict";
import { WorkerPool } from "../runtime/pool/pool.ts";
import { JoinError } from "../runtime/errors.ts";
import type { SharedJoinHandle } from "../runtime/pool/handle.ts";
import { Prng } from "./fuzz_helpers.ts";

const TASKS = new URL("./fixtures/pool_tasks.ts", import.meta.url).href;
const WORKERS = 2;
/** How long tasks are spawned and workers killed. */
const CHURN_MS = Number(Deno.env.get("DOKIO_TEST_CHURN_MS") ?? 5000);
/** Between two rounds of spawns. */
const TICK_MS = 5;
/** Tasks spawned per round. */
const PER_TICK = 3;
/** Kills come every KILL_MIN_MS plus up to KILL_SPREAD_MS. */
const KILL_MIN_MS = 300;
const KILL_SPREAD_MS = 700;
/** Every BOTH_EVERY-th kill takes both workers at once (tasks then wait for a replacement). */
const BOTH_EVERY = 3;
/** A replacement boots a Deno Worker: seconds on a loaded machine, never minutes. */
const REPLACE_WITHIN_MS = 120_000;
/**
 * Once every worker is back, how long the tasks still pending may take: the longest task
 * sleeps 40 ms, and a task orphaned by a death is re-queued by the pool's 200 ms sweep. Far
 * longer than that, so a loaded machine does not make it flaky; a lost task never settles.
 */
const SETTLE_MS = 15_000;

/** Tasks pushed one at a time into the quiet pool at the end, each after QUIET_GAP_MS. */
const QUIET_PUSHES = 10;
const QUIET_GAP_MS = 30;

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

Deno.test("pool kill churn: with workers killed and replaced every few hundred ms, every task settles", async () => {
  const seed = Number(Deno.env.get("DOKIO_TEST_SEED") ?? Date.now() % 100_000);
  const r = new Prng(seed); // the seed is printed on failure: DOKIO_TEST_SEED replays its draws
  const pool = await WorkerPool.start({ workers: WORKERS, modules: [TASKS], replaceDead: true });
  const pending = new Map<number, string>();
  const wrong: string[] = [];
  const settled: Promise<void>[] = [];
  let ok = 0;
  let died = 0;
  let kills = 0;
  function track(h: SharedJoinHandle<number>, want: number, what: string): void {
    pending.set(h.id, what);
    settled.push(
      Promise.resolve(h).then(
        (v) => void (v === want ? ok++ : wrong.push(`${what} = ${v}`)),
        (e) => {
          if (e instanceof JoinError && /pool worker \d died/.test(e.message)) died++;
          else wrong.push(`${what} failed: ${e}`);
        },
      ).finally(() => pending.delete(h.id)),
    );
  }
  try {
    const until = performance.now() + CHURN_MS;
    let nextKill = performance.now() + KILL_MIN_MS + r.next() * KILL_SPREAD_MS;
    for (let n = 0; performance.now() < until;) {
      for (let k = 0; k < PER_TICK; k++, n++) {
        if (r.chance(0.3)) {
          const ms = r.int(40);
          track(pool.spawnShared<number>(TASKS, "pool.sleepy", ms, n), n, `sleepy(${ms}, ${n})`);
        } else track(pool.spawnShared<number>(TASKS, "pool.add", n, 7), n + 7, `add(${n}, 7)`);
      }
      await delay(TICK_MS);
      if (performance.now() < nextKill) continue;
      kills++;
      if (kills % BOTH_EVERY === 0) { for (let i = 0; i < WORKERS; i++) pool.terminateWorker(i); }
      else pool.terminateWorker(kills % WORKERS); // a victim already dead is left alone
      nextKill = performance.now() + KILL_MIN_MS + r.next() * KILL_SPREAD_MS;
    }
    // Spawning stopped: once every worker is back, whatever is pending must settle soon.
    const t0 = performance.now();
    while (!pool.metrics().every((m) => m.alive)) {
      assert.ok(performance.now() - t0 < REPLACE_WITHIN_MS, "workers not replaced in time");
      await delay(20);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<string>((res) => (timer = setTimeout(() => res("late"), SETTLE_MS)));
    const outcome = await Promise.race([Promise.all(settled).then(() => "all"), late]);
    clearTimeout(timer);
    const lost = [...pending.entries()].map(([id, what]) => `task ${id} ${what}`);
    assert.equal(
      outcome,
      "all",
      `seed ${seed}: ${lost.length} task(s) never settled after ${kills} kills: ${lost.join(", ")}`,
    );
    assert.deepEqual(wrong, [], `seed ${seed}: wrong results`);
    assert.ok(kills >= 3, `only ${kills} kills`);
    assert.ok(ok > died, `seed ${seed}: ok ${ok}, died ${died}`);
    // With the pool quiet, a push must wake a parked worker by notification again. A search
    // left to a killed worker kept every notification back (only the 100 ms park timeout found
    // work), which shows as no park ended by a notification at all.
    const unparks = () => pool.metrics().reduce((n, m) => n + m.unparks, 0);
    const before = unparks();
    for (let k = 0; k < QUIET_PUSHES; k++) {
      await delay(QUIET_GAP_MS); // both park
      assert.equal(await pool.spawnShared<number>(TASKS, "pool.add", k, 1), k + 1);
    }
    assert.ok(unparks() > before, `seed ${seed}: no push woke a parked worker after the kills`);
  } finally {
    await pool.shutdown({ timeoutMs: 1000 });
  }
});
