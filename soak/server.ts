/**
 * The soak's server process: `deno run -A soak/server.ts --backend B
 * [--seed S]`. One Dokio runtime on backend B serves the echo handler of
 * examples/echo_handler.ts and mini-redis (examples/mini_redis/server.ts) on
 * ports it prints in a `ready` line, and churns its own work beside them:
 *
 * - reads cancelled mid-flight, idle and while bytes arrive (the bytes are
 *   then read again and compared: none may be lost), and tasks aborted in a read;
 * - writes to a peer that does not read, cancelled mid-flight, and tasks
 *   aborted in such a write;
 * - sleeps set and cancelled, and timeouts that fire and that do not;
 * - a pool of {@linkcode POOL_WORKERS} workers running digest tasks checked
 *   against a local computation, one worker killed every
 *   {@linkcode KILL_EVERY_MS} and replaced by the pool.
 *
 * Every second it prints a `sample` line (soak/sample.ts): its open fds, RSS,
 * V8 heap used, live tasks and armed timers. On SIGTERM it stops the churn,
 * drains the servers and the pool, and prints its `counts` line.
 *
 * `--skip cancel,timers,pool,kill` leaves out parts of the churn (to find
 * which one a trend comes from).
 *
 * @module
 */

import {
  call,
  JoinError,
  type JoinHandle,
  Runtime,
  select,
  shutdownSignal,
  sleep,
  spawn,
  TcpListener,
  TcpStream,
  timeout,
  WorkerPool,
} from "../mod.ts";
import { echo } from "../examples/echo_handler.ts";
import { main as redisMain } from "../examples/mini_redis/server.ts";
import { type Counts, formatCounts, formatReady, formatSample } from "./sample.ts";
import { digest, digestOf, slowDigest } from "./pool_tasks.ts";
import { rng } from "../tests/rng.ts";

const HOST = "127.0.0.1";
/** Between two samples. */
const SAMPLE_MS = 1000;
/** Pool workers. */
const POOL_WORKERS = 2;
/** One pool worker is killed this often. */
const KILL_EVERY_MS = 10_000;
/** A killed worker not replaced within this long is a failure (the pool retries a stalled boot after 30 s, 3 times). */
const REPLACE_WITHIN_MS = 120_000;
/** Between two rounds of pool tasks. */
const POOL_TICK_MS = 50;
/** Between two rounds of cancelled reads and writes. */
const CHURN_PAUSE_MS = 5;
/** Sleepers alive at once in the timer churn. */
const SLEEPER_SLOTS = 100;
/** Sleepers cancelled per timer round (a round takes a few ms). */
const CANCELS_PER_ROUND = 5;
/** Longest sleep set. */
const SLEEP_MAX_MS = 1000;
/** A pool task unsettled this long after the stop is lost. */
const SETTLE_MS = 10_000;
/** What a write to the sink offers: more than loopback buffers take. */
const SINK_WRITE_BYTES = 16 << 20;

/** What the server counts (printed at the end). */
const C: Counts = {
  echoAccepted: 0,
  midReadCancels: 0,
  readAborts: 0,
  salvageChecks: 0,
  salvageWrong: 0,
  midWriteCancels: 0,
  writeAborts: 0,
  sinkResets: 0,
  timersSet: 0,
  timersCancelled: 0,
  timeoutsFired: 0,
  poolTasks: 0,
  poolOk: 0,
  poolWrong: 0,
  poolDiedInFlight: 0,
  poolLost: 0,
  poolKills: 0,
  poolReplaced: 0,
  poolNotReplaced: 0,
  serverErrors: 0,
};
let told = 0;

function fail(name: string, what: unknown): void {
  C[name]++;
  if (told++ < 20) console.error(`server: ${name}: ${what}`);
}

function openFds(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n;
}

function* sampler(rt: Runtime): Generator<unknown, void, unknown> {
  const t0 = performance.now();
  for (;;) {
    const m = rt.metrics();
    const mem = Deno.memoryUsage();
    console.log(formatSample({
      t: Math.round(performance.now() - t0) / 1000,
      fds: openFds(),
      rss: mem.rss,
      heap: mem.heapUsed,
      tasks: m.activeTasks,
      timers: m.timers,
      io: m.ioInFlight,
      external: mem.external,
    }));
    yield* sleep(SAMPLE_MS);
  }
}

function* echoServer(listener: TcpListener): Generator<unknown, void, unknown> {
  const incoming = listener.incoming({ onError: (e) => fail("serverErrors", `accept: ${e.code}`) });
  for (;;) {
    const conn = yield* incoming.accept();
    if (conn === null) return;
    C.echoAccepted++;
    spawn(echo(conn));
  }
}

/** Accepts and never reads: each connection is closed after a while (its writer sees an RST). */
function* sinkServer(listener: TcpListener, r: () => number): Generator<unknown, void, unknown> {
  const incoming = listener.incoming();
  for (;;) {
    const conn = yield* incoming.accept();
    if (conn === null) return;
    const hold = 50 + r() * 250;
    spawn(function* () {
      try {
        yield* sleep(hold);
      } finally {
        conn.close();
      }
    });
  }
}

function isPeerGone(e: unknown): boolean {
  return e instanceof Error && e.name === "IoError" &&
    ["ECONNRESET", "EPIPE"].includes((e as { code?: string }).code ?? "");
}

/** Abort `h` and wait for it to end (a cancelled JoinError, or a value it had already). */
function* abortAndJoin(h: JoinHandle<unknown>): Generator<unknown, void, unknown> {
  h.abort();
  try {
    yield* h;
  } catch (e) {
    if (!(e instanceof JoinError)) throw e;
    if (!e.cancelled && !isPeerGone(e.cause)) throw e;
  }
}

/** Reads cancelled idle and while the echo arrives; the echo must still come back whole. */
function* readChurn(echoPort: number, r: () => number): Generator<unknown, void, unknown> {
  const idle = new Uint8Array(1024);
  using conn = yield* TcpStream.connect({ hostname: HOST, port: echoPort });
  const first = yield* select({ read: conn.read(idle), t: sleep(r() * 5) });
  if (first.key === "read") fail("serverErrors", "a read with nothing sent completed");
  else C.midReadCancels++;
  const sent = new Uint8Array(1 + Math.floor(r() * 48 * 1024));
  crypto.getRandomValues(sent);
  yield* conn.writeAll(sent);
  const got = new Uint8Array(sent.length);
  let off = 0;
  const s = yield* select({ read: conn.read(got), t: sleep(r() < 0.5 ? 0 : r() * 2) });
  if (s.key === "read") {
    if (s.value === null) throw new Error("echo ended early");
    off = s.value as number;
  } else C.midReadCancels++;
  while (off < got.length) {
    const n = yield* conn.read(got.subarray(off));
    if (n === null) throw new Error(`echo ended after ${off} of ${got.length} bytes`);
    off += n;
  }
  C.salvageChecks++;
  const at = got.findIndex((b, i) => b !== sent[i]);
  if (at >= 0) fail("salvageWrong", `byte ${at} of ${sent.length} differs after a cancelled read`);
  const reader = spawn(function* () {
    yield* conn.read(idle);
  });
  try {
    yield* sleep(r() * 3);
  } finally {
    // Also when the churn itself is cancelled (shutdown): the reader is
    // aborted before `conn` closes under it, so it ends cancelled, not failed
    // with a ClosedError nobody joins. Not joined here: a cancelled task's
    // cleanup does not wait.
    reader.abort();
  }
  yield* abortAndJoin(reader);
  C.readAborts++;
}

/** Writes to a peer that does not read, cancelled mid-flight, then a task aborted in one. */
function* writeChurn(
  sinkPort: number,
  big: Uint8Array,
  r: () => number,
): Generator<unknown, void, unknown> {
  using conn = yield* TcpStream.connect({ hostname: HOST, port: sinkPort });
  try {
    const s = yield* select({ w: conn.writeAll(big), t: sleep(1 + r() * 20) });
    if (s.key === "t") C.midWriteCancels++;
    const writer = spawn(function* () {
      yield* conn.writeAll(big);
    });
    try {
      yield* sleep(1 + r() * 10);
    } finally {
      writer.abort(); // as in readChurn: aborted before `conn` closes, even at shutdown
    }
    yield* abortAndJoin(writer);
    C.writeAborts++;
  } catch (e) {
    if (!isPeerGone(e)) throw e;
    C.sinkResets++; // the sink closed first, with our bytes unread
  }
}

function* cancelChurn(
  echoPort: number,
  sinkPort: number,
  r: () => number,
): Generator<unknown, void, unknown> {
  const big = new Uint8Array(SINK_WRITE_BYTES);
  for (;;) {
    try {
      yield* readChurn(echoPort, r);
      yield* writeChurn(sinkPort, big, r);
    } catch (e) {
      fail("serverErrors", `churn: ${e instanceof Error ? e.stack : e}`);
    }
    yield* sleep(CHURN_PAUSE_MS);
  }
}

/**
 * A fixed set of sleeper slots, each refilled when its sleeper ends or is
 * cancelled: the number of live sleepers stays near {@linkcode SLEEPER_SLOTS}
 * however fast the machine runs the rounds, so a timer or task count that
 * grows is a leak, not a change of pace.
 */
function* timerChurn(r: () => number): Generator<unknown, void, unknown> {
  const slots: (JoinHandle<void> | null)[] = new Array(SLEEPER_SLOTS).fill(null);
  for (;;) {
    for (let i = 0; i < CANCELS_PER_ROUND; i++) {
      const k = Math.floor(r() * SLEEPER_SLOTS);
      const h = slots[k];
      if (h !== null && !h.isFinished()) {
        h.abort();
        C.timersCancelled++;
      }
      slots[k] = null;
    }
    for (let k = 0; k < SLEEPER_SLOTS; k++) {
      if (slots[k] !== null && !slots[k]!.isFinished()) continue;
      slots[k] = spawn(sleep(1 + r() * SLEEP_MAX_MS));
      C.timersSet++;
    }
    try {
      yield* timeout(1 + r() * 5, sleep(1 + r() * 10));
    } catch (e) {
      if (!(e instanceof Error && e.name === "TimeoutError")) throw e;
      C.timeoutsFired++;
    }
  }
}

/** Pool tasks in flight, by the time they were spawned. */
const pending = new Set<Promise<void>>();

function checkPoolTask(pool: WorkerPool, r: () => number): void {
  const seed = 1 + Math.floor(r() * 0x7fffffff);
  const len = 1000 + Math.floor(r() * 20_000);
  const h = r() < 0.3
    ? pool.spawnShared(slowDigest, seed, len, Math.floor(r() * 300))
    : pool.spawnShared(digest, seed, len);
  C.poolTasks++;
  const p = (async () => {
    try {
      const v = await h;
      if (v === digestOf(seed, len)) C.poolOk++;
      else fail("poolWrong", `digest(${seed}, ${len}) = ${v}`);
    } catch (e) {
      // A task on the worker that was killed fails, saying so: accounted, not lost.
      if (e instanceof JoinError && /died/.test(String((e.cause as Error)?.message))) {
        C.poolDiedInFlight++;
      } else fail("serverErrors", `pool task: ${e}`);
    }
  })();
  pending.add(p);
  p.finally(() => pending.delete(p));
}

function* poolChurn(
  pool: WorkerPool,
  r: () => number,
  kill: boolean,
): Generator<unknown, void, unknown> {
  let nextKill = performance.now() + KILL_EVERY_MS;
  let victim = 0;
  for (;;) {
    for (let i = 0; i < 3; i++) checkPoolTask(pool, r);
    yield* sleep(POOL_TICK_MS);
    if (!kill || performance.now() < nextKill) continue;
    pool.terminateWorker(victim);
    C.poolKills++;
    const t0 = performance.now();
    while (!pool.metrics()[victim].alive && performance.now() - t0 < REPLACE_WITHIN_MS) {
      for (let i = 0; i < 3; i++) checkPoolTask(pool, r); // others serve meanwhile
      yield* sleep(POOL_TICK_MS);
    }
    if (pool.metrics()[victim].alive) C.poolReplaced++;
    else {
      fail("poolNotReplaced", `worker ${victim} not replaced in ${REPLACE_WITHIN_MS} ms`);
      return; // no second kill: a pool that cannot replace would run out of workers
    }
    victim = (victim + 1) % POOL_WORKERS;
    nextKill = performance.now() + KILL_EVERY_MS;
  }
}

/** Parts of the churn `--skip` can leave out. */
type Part = "cancel" | "timers" | "pool" | "kill";

function* main(
  rt: Runtime,
  pool: WorkerPool,
  seed: number,
  skip: Set<Part>,
): Generator<unknown, void, unknown> {
  const r = rng(seed);
  using echoListener = yield* TcpListener.bind({ hostname: HOST, port: 0 });
  using sinkListener = yield* TcpListener.bind({ hostname: HOST, port: 0 });
  let redisPort = 0;
  const redis = spawn(redisMain(
    {
      host: HOST,
      port: 0,
      maxClients: 10_000,
      maxBulk: 1 << 20,
      maxQuery: 4 << 20,
      drainMs: 500,
      writeTimeoutMs: 30_000,
    },
    (p) => (redisPort = p),
  ));
  while (redisPort === 0) yield* sleep(5);
  console.log(formatReady({ echo: echoListener.localAddr.port, redis: redisPort }));
  const stop = shutdownSignal({ signals: ["SIGTERM"] });
  const servers = [
    spawn(echoServer(echoListener)),
    spawn(sinkServer(sinkListener, r)),
  ];
  const churn = [spawn(sampler(rt))];
  if (!skip.has("cancel")) {
    churn.push(spawn(cancelChurn(echoListener.localAddr.port, sinkListener.localAddr.port, r)));
  }
  if (!skip.has("timers")) churn.push(spawn(timerChurn(r)));
  if (!skip.has("pool")) churn.push(spawn(poolChurn(pool, r, !skip.has("kill"))));
  yield* stop;
  for (const h of churn) yield* abortAndJoin(h);
  echoListener.close();
  sinkListener.close();
  for (const h of servers) yield* h;
  yield* redis; // mini-redis saw the same SIGTERM: it drains and returns
  const settled = yield* select({
    all: call(Promise.all([...pending])),
    late: sleep(SETTLE_MS),
  });
  if (settled.key === "late") fail("poolLost", `${pending.size} pool task(s) never settled`);
  C.poolLost = pending.size;
}

function flag(name: string, dflt: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : dflt;
}

if (import.meta.main) {
  const backend = flag("backend", "io_uring") as "io_uring" | "epoll";
  const seed = Number(flag("seed", "1"));
  const skip = new Set(flag("skip", "").split(",").filter((p) => p !== "") as Part[]);
  const pool = await WorkerPool.start({
    workers: POOL_WORKERS,
    modules: [new URL("./pool_tasks.ts", import.meta.url).href],
    replaceDead: true,
  });
  const rt = new Runtime({ backend });
  await rt.run(main(rt, pool, seed, skip));
  await rt.shutdown();
  await pool.shutdown({ timeoutMs: 1000 });
  C.fdsAtExit = openFds();
  console.log(formatCounts(C));
  Deno.exit(C.serverErrors + C.salvageWrong + C.poolWrong + C.poolLost > 0 ? 1 : 0);
}
