/**
 * Sync suite, each beside its peer in the same run: bounded mpsc (1 and 4
 * producers), oneshot request/response, actor ping-pong over two channels
 * of 1, Mutex and Semaphore uncontended and contended by 100 tasks; each
 * also on Tokio (bench/tokio/, current_thread and multi_thread(2)), all in
 * interleaved rounds, medians. Peers: plain-promise equivalents written inline
 * here (an @std/async-style channel, mutex and semaphore built on promises),
 * and `npm:async-mutex` / `npm:p-limit` when they install.
 *
 * Run alone: `deno run -A --lock=bench/deno.lock bench/sync_bench.ts` (the npm peers live in
 * the bench's own lockfile, so the package's `deno.lock` pulls no npm package).
 *
 * @module
 */

import { run, spawn, yieldNow } from "../runtime/mod.ts";
import { mpsc, Mutex, oneshot, type OneshotSender, Semaphore } from "../sync/mod.ts";
import type { BenchRow } from "./row.ts";
import { benchRow, interleaved, rounds, rowLine, tokioFigures, wall } from "./_util.ts";
import { tokioTimers } from "./_tokio.ts";

// ---------------------------------------------------------------- peers

/** A bounded channel on promises (what one writes without a runtime). */
class PromiseChannel<T> {
  #buf: T[] = [];
  #head = 0;
  #cap: number;
  #recvWaiters: ((v: T | undefined) => void)[] = [];
  #sendWaiters: (() => void)[] = [];
  #closed = false;
  constructor(cap: number) {
    this.#cap = cap;
  }
  #len(): number {
    return this.#buf.length - this.#head;
  }
  async send(v: T): Promise<void> {
    while (this.#len() >= this.#cap || this.#sendWaiters.length > 0 && this.#len() >= this.#cap) {
      await new Promise<void>((r) => this.#sendWaiters.push(r));
    }
    const w = this.#recvWaiters.shift();
    if (w !== undefined) w(v);
    else this.#buf.push(v);
  }
  recv(): Promise<T | undefined> | T | undefined {
    if (this.#len() > 0) {
      const v = this.#buf[this.#head++];
      if (this.#head > 1024 && this.#head * 2 > this.#buf.length) {
        this.#buf = this.#buf.slice(this.#head);
        this.#head = 0;
      }
      this.#sendWaiters.shift()?.();
      return v;
    }
    if (this.#closed) return undefined;
    return new Promise((r) => this.#recvWaiters.push(r));
  }
  close(): void {
    this.#closed = true;
    for (const w of this.#recvWaiters.splice(0)) w(undefined);
  }
}

/** A FIFO promise semaphore (and mutex with 1 permit). */
class PromiseSemaphore {
  #n: number;
  #waiters: (() => void)[] = [];
  constructor(n: number) {
    this.#n = n;
  }
  acquire(): Promise<void> | void {
    if (this.#n > 0 && this.#waiters.length === 0) {
      this.#n--;
      return;
    }
    return new Promise<void>((r) => this.#waiters.push(r));
  }
  release(): void {
    const w = this.#waiters.shift();
    if (w !== undefined) w();
    else this.#n++;
  }
}

// ---------------------------------------------------------------- helpers

/** Rounds per figure (each contender once per round); the median counts. */
const ROUNDS = rounds(5, 3);

/** ops/s in millions. */
function mops(n: number, ms: number): number {
  return n / ms / 1000;
}

/** A peer of one Dokio figure: what to time, and how many ops it does (default: Dokio's). */
interface Peer {
  name: string;
  run: () => Promise<unknown>;
  ops?: number;
  bar?: string;
}

/**
 * Time `dokio` (`ops` operations), each peer (null: skipped) and Tokio on
 * `tokio` (a workload of bench/tokio/ and its numbers) in interleaved
 * rounds, medians; one row per peer, named `name`, each with Tokio's figures.
 */
async function compare(
  name: string,
  ops: number,
  dokio: () => Promise<unknown>,
  peers: (Peer | null)[],
  tokio: [workload: string, ...nums: number[]],
): Promise<BenchRow[]> {
  const present = peers.filter((p): p is Peer => p !== null);
  const [d, ...rest] = await interleaved(ROUNDS, [
    wall(dokio),
    ...present.map((p) => wall(p.run)),
    ...await tokioTimers(...tokio),
  ]);
  const [ct, mt] = rest.slice(present.length);
  const t = tokioFigures(ct, mt, (ms) => mops(ops, ms));
  return present.map((p, i) =>
    benchRow(
      "sync",
      name,
      mops(ops, d!),
      mops(p.ops ?? ops, rest[i]!),
      p.name,
      "M ops/s",
      true,
      p.bar,
      t,
    )
  );
}

// ---------------------------------------------------------------- dokio bodies

function* producer(tx: mpsc.Sender<number>, n: number): Generator<unknown, void, unknown> {
  for (let i = 0; i < n; i++) yield* tx.send(i);
  tx.close();
}

function* consumer(rx: mpsc.Receiver<number>): Generator<unknown, number, unknown> {
  let sum = 0;
  let v: number | undefined;
  while ((v = yield* rx.recv()) !== undefined) sum += v;
  return sum;
}

function dokioMpsc(total: number, producers: number, cap: number): Promise<number> {
  return run(function* () {
    const [tx, rx] = mpsc.channel<number>(cap);
    const per = total / producers;
    for (let p = 1; p < producers; p++) spawn(producer(tx.clone(), per));
    spawn(producer(tx, per));
    return yield* consumer(rx);
  });
}

async function promiseMpsc(total: number, producers: number, cap: number): Promise<number> {
  const ch = new PromiseChannel<number>(cap);
  const per = total / producers;
  let live = producers;
  const prod = async () => {
    for (let i = 0; i < per; i++) await ch.send(i);
    if (--live === 0) ch.close();
  };
  for (let p = 0; p < producers; p++) prod();
  let sum = 0;
  for (;;) {
    const v = await ch.recv();
    if (v === undefined) return sum;
    sum += v;
  }
}

function* ponger(rx: mpsc.Receiver<OneshotSender<number>>): Generator<unknown, void, unknown> {
  let tx: OneshotSender<number> | undefined;
  let i = 0;
  while ((tx = yield* rx.recv()) !== undefined) tx.send(i++);
}

function dokioOneshot(rounds: number): Promise<number> {
  return run(function* () {
    const [reqTx, reqRx] = mpsc.channel<OneshotSender<number>>(1);
    spawn(ponger(reqRx));
    let sum = 0;
    for (let r = 0; r < rounds; r++) {
      const [tx, rx] = oneshot.channel<number>();
      yield* reqTx.send(tx);
      sum += yield* rx;
    }
    reqTx.close();
    return sum;
  });
}

async function promiseOneshot(rounds: number): Promise<number> {
  const req = new PromiseChannel<(v: number) => void>(1);
  (async () => {
    let i = 0;
    for (;;) {
      const f = await req.recv();
      if (f === undefined) return;
      f(i++);
    }
  })();
  let sum = 0;
  for (let r = 0; r < rounds; r++) {
    const { promise, resolve } = Promise.withResolvers<number>();
    await req.send(resolve);
    sum += await promise;
  }
  req.close();
  return sum;
}

function* echoPlusOne(
  rx: mpsc.Receiver<number>,
  tx: mpsc.Sender<number>,
): Generator<unknown, void, unknown> {
  let v: number | undefined;
  while ((v = yield* rx.recv()) !== undefined) yield* tx.send(v + 1);
}

/** Two tasks, two channels of 1: this task sends a number, the other sends it back plus one. */
function dokioActor(rounds: number): Promise<number> {
  return run(function* () {
    const [pingTx, pingRx] = mpsc.channel<number>(1);
    const [pongTx, pongRx] = mpsc.channel<number>(1);
    spawn(echoPlusOne(pingRx, pongTx));
    let sum = 0;
    for (let r = 0; r < rounds; r++) {
      yield* pingTx.send(r);
      sum += (yield* pongRx.recv())!;
    }
    pingTx.close();
    return sum;
  });
}

async function promiseActor(rounds: number): Promise<number> {
  const ping = new PromiseChannel<number>(1);
  const pong = new PromiseChannel<number>(1);
  (async () => {
    for (;;) {
      const v = await ping.recv();
      if (v === undefined) return;
      await pong.send(v + 1);
    }
  })();
  let sum = 0;
  for (let r = 0; r < rounds; r++) {
    await ping.send(r);
    sum += (await pong.recv())!;
  }
  ping.close();
  return sum;
}

function* lockLoop(m: Mutex<number>, n: number, hold: boolean): Generator<unknown, void, unknown> {
  for (let i = 0; i < n; i++) {
    const g = yield* m.lock();
    g.value++;
    if (hold) yield* yieldNow();
    g.release();
  }
}

function dokioMutex(tasks: number, per: number, hold: boolean): Promise<void> {
  return run(function* () {
    const m = new Mutex(0);
    const hs = [];
    for (let t = 0; t < tasks; t++) hs.push(spawn(lockLoop(m, per, hold)));
    for (const h of hs) yield* h;
    if (m.tryLock()?.value !== tasks * per) throw new Error("mutex bench miscounted");
  });
}

function* permitLoop(s: Semaphore, n: number, hold: boolean): Generator<unknown, void, unknown> {
  for (let i = 0; i < n; i++) {
    const p = yield* s.acquire();
    if (hold) yield* yieldNow();
    p.release();
  }
}

function dokioSemaphore(tasks: number, per: number, permits: number, hold: boolean): Promise<void> {
  return run(function* () {
    const s = new Semaphore(permits);
    const hs = [];
    for (let t = 0; t < tasks; t++) hs.push(spawn(permitLoop(s, per, hold)));
    for (const h of hs) yield* h;
  });
}

async function promiseLocking(tasks: number, per: number, permits: number, hold: boolean) {
  const s = new PromiseSemaphore(permits);
  let count = 0;
  const body = async () => {
    for (let i = 0; i < per; i++) {
      await s.acquire();
      count++;
      if (hold) await null;
      s.release();
    }
  };
  const ps = [];
  for (let t = 0; t < tasks; t++) ps.push(body());
  await Promise.all(ps);
  if (count !== tasks * per) throw new Error("promise bench miscounted");
}

interface AsyncMutexLike {
  acquire(): Promise<() => void>;
}
interface Npm {
  Mutex: new () => AsyncMutexLike;
  Semaphore: new (n: number) => { acquire(): Promise<[number, () => void]> };
  pLimit: (n: number) => <T>(fn: () => T | Promise<T>) => Promise<T>;
}

async function loadNpm(): Promise<Npm | null> {
  try {
    // deno-lint-ignore no-import-prefix
    const am = await import("npm:async-mutex@0.5.0");
    // deno-lint-ignore no-import-prefix
    const pl = await import("npm:p-limit@6.2.0");
    return { Mutex: am.Mutex, Semaphore: am.Semaphore, pLimit: pl.default } as unknown as Npm;
  } catch {
    return null;
  }
}

async function npmMutex(npm: Npm, tasks: number, per: number, hold: boolean): Promise<void> {
  const m = new npm.Mutex();
  const body = async () => {
    for (let i = 0; i < per; i++) {
      const release = await m.acquire();
      if (hold) await null;
      release();
    }
  };
  const ps = [];
  for (let t = 0; t < tasks; t++) ps.push(body());
  await Promise.all(ps);
}

async function npmLimit(npm: Npm, tasks: number, per: number, permits: number, hold: boolean) {
  const limit = npm.pLimit(permits);
  const work = hold ? () => null : () => undefined;
  const body = async () => {
    for (let i = 0; i < per; i++) await limit(work);
  };
  const ps = [];
  for (let t = 0; t < tasks; t++) ps.push(body());
  await Promise.all(ps);
}

// ---------------------------------------------------------------- suite

/**
 * Run the sync suite and return its rows (figures in millions of
 * operations per second; ratio > 1 means Dokio is faster).
 *
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * import { runSyncBench } from "./sync_bench.ts";
 * const rows = await runSyncBench();
 * ```
 */
export async function runSyncBench(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const N = 1_000_000;
  const CAP = 1024;
  // warm up the code paths
  await dokioMpsc(100_000, 1, CAP);
  await promiseMpsc(100_000, 1, CAP);

  for (const producers of [1, 4]) {
    rows.push(
      ...await compare(
        `bounded mpsc 1M msgs, ${producers} producer${producers > 1 ? "s" : ""} (cap ${CAP})`,
        N,
        () => dokioMpsc(N, producers, CAP),
        [{
          name: "promise channel",
          run: () => promiseMpsc(N, producers, CAP),
          bar: producers === 1 ? "≥ 10 M/s; vs tokio ≥ 0.8×" : undefined,
        }],
        ["mpsc", N, producers, CAP],
      ),
    );
  }

  const R = 200_000;
  await dokioOneshot(10_000);
  await promiseOneshot(10_000);
  rows.push(
    ...await compare("oneshot request/response round trips", R, () => dokioOneshot(R), [
      { name: "Promise.withResolvers", run: () => promiseOneshot(R), bar: "vs tokio ≥ 1.0×" },
    ], ["oneshot", R]),
  );
  await dokioActor(10_000);
  await promiseActor(10_000);
  rows.push(
    ...await compare(
      "actor ping-pong round trips (two tasks, two mpsc(1))",
      R,
      () => dokioActor(R),
      [{ name: "promise channel", run: () => promiseActor(R), bar: "vs tokio ≥ 1.0×" }],
      ["actor", R],
    ),
  );

  const npm = await loadNpm();
  const U = 1_000_000;
  rows.push(
    ...await compare("Mutex lock/release uncontended", U, () => dokioMutex(1, U, false), [
      { name: "promise mutex", run: () => promiseLocking(1, U, 1, false) },
      npm && { name: "npm:async-mutex", run: () => npmMutex(npm, 1, U, false) },
    ], ["mutex", 1, U, 0]),
  );
  const T = 100;
  const K = 2_000;
  rows.push(
    ...await compare(
      "Mutex contended by 100 tasks (hold across a yield)",
      T * K,
      () => dokioMutex(T, K, true),
      [
        { name: "promise mutex", run: () => promiseLocking(T, K, 1, true) },
        npm && { name: "npm:async-mutex", run: () => npmMutex(npm, T, K, true) },
      ],
      ["mutex", T, K, 1],
    ),
  );
  rows.push(
    ...await compare(
      "Semaphore acquire/release uncontended",
      U,
      () => dokioSemaphore(1, U, 4, false),
      [
        { name: "promise semaphore", run: () => promiseLocking(1, U, 4, false) },
        npm && { name: "npm:p-limit", run: () => npmLimit(npm, 1, U / 4, 4, false), ops: U / 4 },
      ],
      ["semaphore", 1, U, 4, 0],
    ),
  );
  rows.push(
    ...await compare(
      "Semaphore(10) contended by 100 tasks",
      T * K,
      () => dokioSemaphore(T, K, 10, true),
      [
        { name: "promise semaphore", run: () => promiseLocking(T, K, 10, true) },
        npm && { name: "npm:p-limit", run: () => npmLimit(npm, T, K, 10, true) },
      ],
      ["semaphore", T, K, 10, 1],
    ),
  );
  return rows;
}

if (import.meta.main) {
  const rows = await runSyncBench();
  for (const r of rows) console.log(rowLine(r));
}
