/**
 * Multi-worker suite, each figure beside its peer in the same run:
 * cross-worker ping-pong over a SAB `sharedChannel` vs `Worker.postMessage`
 * ping-pong; a CPU fan-out of small jobs on a 2-worker pool vs a 1-worker pool
 * and vs a hand-written postMessage worker pool; shared-task spawn+join
 * throughput vs postMessage request/response to a worker pair.
 *
 * Run alone: `deno run -A bench/workers_bench.ts`.
 *
 * @module
 */

import { run } from "../runtime/runtime.ts";
import { WorkerPool } from "../runtime/pool/pool.ts";
import { sharedChannel } from "../runtime/pool/channel.ts";
import type { BenchRow } from "./row.ts";
import { suiteRow } from "./_util.ts";

const TASKS = new URL("../tests/fixtures/pool_tasks.ts", import.meta.url).href;
const ECHO = new URL("../tests/fixtures/pool_echo_worker.ts", import.meta.url).href;

const row = suiteRow("workers");

function spinLocal(iters: number, seed: number): number {
  let x = seed | 0;
  for (let i = 0; i < iters; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  return x;
}

/** Iterations of the spin job that take about `ms` here. */
function calibrate(ms: number): number {
  spinLocal(1e6, 1);
  const t = performance.now();
  spinLocal(4e6, 1);
  const per = (performance.now() - t) / 4e6;
  return Math.max(1000, Math.round(ms / per));
}

function startEchoWorkers(n: number): Worker[] {
  const ws: Worker[] = [];
  for (let i = 0; i < n; i++) ws.push(new Worker(ECHO, { type: "module" }));
  return ws;
}

/** Round trips per second of postMessage ping-pong with one worker. */
async function postMessagePingPong(w: Worker, n: number): Promise<number> {
  let left = n;
  const msg = new Uint8Array(16);
  const t = performance.now();
  await new Promise<void>((resolve) => {
    w.onmessage = () => {
      if (--left === 0) resolve();
      else w.postMessage(msg);
    };
    w.postMessage(msg);
  });
  return n / ((performance.now() - t) / 1000);
}

/** Round trips per second over two SAB channels to a pool worker relaying them. */
async function channelPingPong(pool: WorkerPool, n: number, spin: number): Promise<number> {
  const to = sharedChannel(4096, { spin });
  const from = sharedChannel(4096, { spin });
  const relay = pool.spawnShared<number>(TASKS, "pool.relay", to.buffer, from.buffer, spin);
  const msg = new Uint8Array(16);
  // Warm the relay up (module load, first message) outside the timing.
  await run(function* () {
    yield* to.send(msg);
    yield* from.recv();
  });
  const t = performance.now();
  await run(function* () {
    for (let i = 0; i < n; i++) {
      yield* to.send(msg);
      yield* from.recv();
    }
  });
  const rate = n / ((performance.now() - t) / 1000);
  to.close();
  await relay;
  return rate;
}

async function fanOutPool(pool: WorkerPool, jobs: number, iters: number): Promise<number> {
  const t = performance.now();
  const hs = [];
  for (let i = 0; i < jobs; i++) hs.push(pool.spawnBlocking<number>(TASKS, "pool.spin", iters, i));
  await Promise.all(hs);
  return performance.now() - t;
}

async function fanOutPostMessage(ws: Worker[], jobs: number, iters: number): Promise<number> {
  const t = performance.now();
  let left = jobs;
  await new Promise<void>((resolve) => {
    for (const w of ws) {
      w.onmessage = () => {
        if (--left === 0) resolve();
      };
    }
    for (let i = 0; i < jobs; i++) {
      ws[i % ws.length].postMessage({ job: "spin", id: i, iters, seed: i });
    }
  });
  return performance.now() - t;
}

async function spawnPool(pool: WorkerPool, n: number): Promise<number> {
  const t = performance.now();
  const hs = [];
  for (let i = 0; i < n; i++) hs.push(pool.spawnShared<number>(TASKS, "pool.add", i, 1));
  await Promise.all(hs);
  return n / ((performance.now() - t) / 1000);
}

async function spawnPostMessage(ws: Worker[], n: number): Promise<number> {
  const t = performance.now();
  let left = n;
  const results = new Array<number>(n);
  await new Promise<void>((resolve) => {
    for (const w of ws) {
      w.onmessage = (e) => {
        results[e.data.id] = e.data.v;
        if (--left === 0) resolve();
      };
    }
    for (let i = 0; i < n; i++) ws[i % ws.length].postMessage({ job: "add", id: i, a: i, b: 1 });
  });
  return n / ((performance.now() - t) / 1000);
}

/**
 * Run the workers suite and return its rows.
 *
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * import { runWorkersBench } from "./workers_bench.ts";
 * console.table(await runWorkersBench());
 * ```
 */
export async function runWorkersBench(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const echo = startEchoWorkers(2);
  const pool2 = await WorkerPool.start({ workers: 2, modules: [TASKS] });
  try {
    // Ping-pong.
    await postMessagePingPong(echo[0], 2000); // warm-up
    const pm = await postMessagePingPong(echo[0], 20_000);
    const chSpin = await channelPingPong(pool2, 200_000, 1 << 20);
    const chPark = await channelPingPong(pool2, 5_000, 0);
    rows.push(row(
      "cross-worker ping-pong, 16 B (sharedChannel, spinning)",
      chSpin / 1000,
      pm / 1000,
      "Worker.postMessage",
      "k rt/s",
      true,
      "≥ 10×",
    ));
    rows.push(row(
      "cross-worker ping-pong, 16 B (sharedChannel, parked: Atomics.waitAsync)",
      chPark / 1000,
      pm / 1000,
      "Worker.postMessage",
      "k rt/s",
      true,
    ));

    // CPU fan-out: 2,000 jobs of ~0.5 ms.
    const jobs = 2000;
    const iters = calibrate(0.5);
    await fanOutPool(pool2, 100, iters); // warm-up
    const t2 = await fanOutPool(pool2, jobs, iters);
    const tpm = await fanOutPostMessage(echo, jobs, iters);
    const pool1 = await WorkerPool.start({ workers: 1, modules: [TASKS] });
    let t1: number;
    try {
      await fanOutPool(pool1, 100, iters);
      t1 = await fanOutPool(pool1, jobs, iters);
    } finally {
      await pool1.shutdown();
    }
    rows.push(row(
      "CPU fan-out 2,000 × 0.5 ms: 2 workers vs 1",
      t2,
      t1,
      "the same pool with 1 worker",
      "ms",
      false,
      "≥ 1.8×",
    ));
    rows.push(row(
      "CPU fan-out 2,000 × 0.5 ms on 2 workers",
      t2,
      tpm,
      "postMessage worker pool (round robin)",
      "ms",
      false,
    ));

    // Spawn + join throughput of tiny shared tasks.
    await spawnPool(pool2, 2000);
    const sp = await spawnPool(pool2, 50_000);
    await spawnPostMessage(echo, 2000);
    const spm = await spawnPostMessage(echo, 50_000);
    rows.push(row(
      "shared-task spawn + join, 50k tiny tasks, 2 workers",
      sp / 1000,
      spm / 1000,
      "postMessage request/response, 2 workers",
      "k tasks/s",
      true,
    ));
  } finally {
    await pool2.shutdown();
    for (const w of echo) w.terminate();
  }
  return rows;
}

if (import.meta.main) {
  console.table(await runWorkersBench());
}
