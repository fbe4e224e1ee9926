/**
 * The body of one pool worker (a `node:worker_threads` Worker, which the pool can unref while idle). It runs its own one-worker
 * Dokio `Runtime` plus a dispatcher loop that takes shared task ids from the
 * SharedArrayBuffer queues and runs them as local tasks.
 *
 * Dispatcher order per tick (Tokio's): every `GLOBAL_INTERVAL`-th tick the
 * inject queue first; then the LIFO slot, the own ring, the inject queue (a
 * batch: the first id runs, the rest go to the own ring where others may steal
 * them), then — if `IdleState` grants a search (at most half the workers
 * search) — steal half of a random victim's ring. With nothing found it parks
 * with `Atomics.waitAsync` on its park word, so its runtime's timers and I/O
 * keep running; pushers wake it with `IdleState.notifyOne`. Whether this
 * worker holds one of the counted searches lives in its search word of the
 * idle state, not here, so the pool can take back the search of a worker it
 * killed. Parks also end after `PARK_TIMEOUT_MS` as a safety net (for a wake
 * lost with a dying worker, see the pool's "Known limits").
 *
 * Invariants: a popped id is claimed with `toRunning` on its shared state word
 * before anything runs (a CANCELLED word means: report "cancelled", run nothing);
 * every id taken (from a queue, or pinned to this worker by a "run" message)
 * produces exactly one result message; at most `MAX_INFLIGHT`
 * shared tasks run concurrently here, so the rest stay stealable. Abort: the
 * pool sets CANCELLED, bumps this worker's cancel epoch and unparks it; the
 * dispatcher then aborts the local tasks whose word is CANCELLED. A task
 * whose word is CANCELLED runs none of its code: the word is checked again
 * when its module and arguments are at hand, and at its local task's first
 * poll (an abort that lands while a task waits for either was lost before).
 *
 * @module
 */

import { parentPort } from "node:worker_threads";
import { attachSharedQueues, type SharedQueues } from "./queues/layout.ts";
import {
  ATOMIC,
  CANCELLED,
  COMPLETE,
  RUNNING,
  toComplete,
  ToRunning,
  toRunning,
} from "../task/task_state.ts";
import { Runtime } from "../runtime.ts";
import type { JoinHandle } from "../task/join_handle.ts";
import type { Operation } from "../operation.ts";
import { JoinError } from "../errors.ts";
import { IoError } from "../../ffi/errors.ts";
import { decodeArgs } from "./codec.ts";
import { lookupTask, type SharedFn } from "./registry.ts";
import {
  C_STOP,
  C_WORKER,
  H_ARGLEN,
  H_KIND,
  H_OWNER,
  H_STATE,
  HEADER_WORDS,
  ownerWord,
  W_CANCEL_EPOCH,
  W_FENCE,
  W_PARKS,
  W_POLLS,
  W_STEALS,
  W_STOLEN,
  W_UNPARKS,
} from "./pool_layout.ts";
import { isGeneratorFunction } from "../task/body.ts";
import { enterPoolWorker } from "./pool.ts";

const GLOBAL_INTERVAL = 31;
const MAX_INFLIGHT = 64;
const BATCH = 61;
const PARK_TIMEOUT_MS = 100;
const BLOCKING_SLICE_MS = 4;

interface Init {
  t: "init";
  index: number;
  /** How many workers had this index before (the pool fences off the older ones). */
  incarnation: number;
  queues: SharedArrayBuffer;
  headers: SharedArrayBuffer;
  args: SharedArrayBuffer;
  control: SharedArrayBuffer;
  modules: string[];
}

if (parentPort === null) throw new Error("worker_main.ts runs as a pool worker only");
const port = parentPort;
let me = -1;
let q!: SharedQueues;
let hdr!: Int32Array;
let argBytes!: Uint8Array;
let argSlot = 0;
let ctl!: Int32Array;
let rt!: Runtime;
let tick = 0;
let seenEpoch = 0;
let incarnation = 0;
let myOwner = 0;
const inflight = new Map<number, JoinHandle<unknown>>();
let results: unknown[] = [];
const argWaiters = new Map<number, (b: Uint8Array, shared: SharedArrayBuffer[]) => void>();
const loaded = new Map<string, Promise<unknown>>();
const batchBuf = new Int32Array(128);
const hop = new MessageChannel();
let hopResolve: (() => void) | null = null;
hop.port1.onmessage = () => {
  const r = hopResolve;
  hopResolve = null;
  r?.();
};

function yieldToLoop(): Promise<void> {
  return new Promise<void>((r) => {
    hopResolve = r;
    hop.port2.postMessage(0);
  });
}

function count(field: number, n = 1): void {
  Atomics.add(ctl, C_WORKER + 16 * me + field, n);
}

function flush(): void {
  if (results.length === 0) return;
  const r = results;
  results = [];
  try {
    port.postMessage({ t: "res", r });
  } catch {
    // Some value cannot be cloned: send one by one, failing only the culprits.
    for (let k = 0; k < r.length; k += 3) {
      try {
        port.postMessage({ t: "res", r: [r[k], r[k + 1], r[k + 2]] });
      } catch (e) {
        port.postMessage({ t: "res", r: [r[k], 1, errorInfo(e)] });
      }
    }
  }
}

/**
 * Whether the pool has given this worker's index to another incarnation (this one was killed
 * but its thread runs on): from then on it touches no shared task.
 */
function fenced(): boolean {
  return Atomics.load(ctl, C_WORKER + 16 * me + W_FENCE) !== incarnation;
}

function finish(id: number, code: number, value: unknown): void {
  // Fenced: the pool failed this task already and may have reused its slot.
  if (fenced()) return;
  toComplete(hdr, id * HEADER_WORDS + H_STATE, ATOMIC);
  results.push(id, code, value);
}

function errorInfo(e: unknown): unknown {
  const cause = e instanceof JoinError && e.cause !== undefined ? e.cause : e;
  if (cause instanceof IoError) {
    // Kept whole, so the main thread rebuilds an IoError a caller can test (e.code === "EADDRINUSE").
    const { name, message, errno, code, syscall } = cause;
    return { name, message, stack: cause.stack ?? "", errno, code, syscall };
  }
  if (cause instanceof Error) {
    return { name: cause.name, message: cause.message, stack: cause.stack ?? "" };
  }
  return { name: "Error", message: String(cause), stack: "" };
}

/** Next shared task id, or -1. Implements the order in the module doc. */
function findWork(): number {
  tick++;
  const inject = q.inject;
  const ring = q.rings[me];
  if (tick % GLOBAL_INTERVAL === 0) {
    const id = inject.pop();
    if (id >= 0) return id;
  }
  let id = q.lifo[me].take();
  if (id >= 0) return id;
  id = ring.pop();
  if (id >= 0) return id;
  id = popInjectBatch();
  if (id >= 0) return id;
  return steal();
}

function popInjectBatch(): number {
  const inject = q.inject;
  const n0 = inject.length;
  if (n0 <= 0 && inject.spilled === 0) return -1;
  const want = Math.max(1, Math.min(batchBuf.length, Math.floor(n0 / q.layout.workers)));
  const n = inject.popBatch(batchBuf, want);
  if (n <= 0) return inject.pop();
  const ring = q.rings[me];
  for (let i = 1; i < n; i++) ring.push(batchBuf[i], inject);
  return batchBuf[0];
}

function steal(): number {
  // Granted at most to half the workers (true at once if a notifier gave this one a search).
  if (!q.idle.transitionWorkerToSearching(me)) return -1;
  const workers = q.layout.workers;
  const start = (Math.random() * workers) | 0;
  for (let k = 0; k < workers; k++) {
    const v = (start + k) % workers;
    if (v === me) continue;
    const before = q.rings[me].length;
    const id = q.rings[v].stealInto(q.rings[me]);
    if (id >= 0) {
      count(W_STEALS);
      count(W_STOLEN, 1 + q.rings[me].length - before);
      return id;
    }
  }
  return -1;
}

function hasWork(): boolean {
  if (q.inject.length > 0) return true;
  for (let v = 0; v < q.layout.workers; v++) {
    if (q.rings[v].length > 0 || !q.lifo[v].isEmpty()) return true;
  }
  return false;
}

/** Found a task: stop searching if this worker was; the last searcher wakes another if work waits. */
function foundWork(): void {
  if (q.idle.transitionWorkerFromSearching(me) && hasWork()) q.idle.notifyOne();
}

function loadModule(url: string): Promise<unknown> {
  let p = loaded.get(url);
  if (p === undefined) {
    p = import(url);
    loaded.set(url, p);
  }
  return p;
}

function readArgs(id: number): unknown[] | Promise<unknown[]> {
  const len = Atomics.load(hdr, id * HEADER_WORDS + H_ARGLEN);
  if (len >= 0) {
    const at = id * argSlot;
    return decodeArgs(argBytes, at, at + len);
  }
  return new Promise<unknown[]>((resolve, reject) => {
    argWaiters.set(id, (b, sh) => {
      try {
        if (!(b instanceof Uint8Array)) throw new Error("shared task arguments are gone");
        resolve(decodeArgs(b, 0, b.length, sh));
      } catch (e) {
        reject(e);
      }
    });
    port.postMessage({ t: "need", id });
  });
}

/** Claim shared task `id` on its state word and start it (or report it cancelled). */
function start(id: number): void {
  const base = id * HEADER_WORDS;
  if ((Atomics.load(hdr, base + H_STATE) & (RUNNING | COMPLETE)) !== 0) return; // duplicate
  // Claim the task: the first worker to set its owner word runs it. A duplicate queue entry
  // (re-queued after a death) popped at the same time loses here, so the owner word always
  // names the worker that runs the task (a death fails exactly that worker's tasks, and only
  // the owner's result is accepted). A fenced worker claims nothing.
  if (fenced()) return;
  if (Atomics.compareExchange(hdr, base + H_OWNER, 0, myOwner) !== 0) return;
  const r = toRunning(hdr, base + H_STATE, ATOMIC);
  if (r === ToRunning.Cancelled) {
    finish(id, 2, undefined);
    return;
  }
  // Already running or complete: a duplicate queue entry (the pool re-queues
  // possibly orphaned ids after a worker death); the state word makes it harmless.
  if (r !== ToRunning.Success) return;
  count(W_POLLS);
  const decoded = readArgs(id);
  if (decoded instanceof Promise) {
    // Large arguments: wait for them, then run.
    whenReady(id, decoded, (a) => launch(id, a));
    return;
  }
  launch(id, decoded);
}

/**
 * Task `id` waits for `p` (its arguments, its module, or an async blocking
 * job's result): count it in flight meanwhile, then go on with `next`, or
 * fail the task with `p`'s error.
 */
function whenReady<V>(id: number, p: PromiseLike<V>, next: (v: V) => void): void {
  inflight.set(id, null as unknown as JoinHandle<unknown>);
  p.then((v) => {
    inflight.delete(id);
    next(v);
    q.idle.unpark(me);
  }, (e) => {
    inflight.delete(id);
    finish(id, 1, errorInfo(e));
    q.idle.unpark(me);
  });
}

function launch(id: number, decoded: unknown[]): void {
  const url = decoded[0] as string;
  const name = decoded[1] as string;
  const args = decoded.slice(2);
  const blocking = Atomics.load(hdr, id * HEADER_WORDS + H_KIND) === 1;
  const fn = lookupTask(name);
  if (fn === undefined) {
    // First use of this module here: import it, then run.
    whenReady(id, loadModule(url), () => {
      const f = lookupTask(name);
      if (f === undefined) {
        finish(id, 1, {
          name: "TypeError",
          message: `no shared task "${name}" is defined by ${url}`,
          stack: "",
        });
      } else run(id, f, args, blocking);
    });
    return;
  }
  run(id, fn, args, blocking);
}

/** Whether the pool has aborted shared task `id` (CANCELLED on its state word). */
function abortedShared(id: number): boolean {
  return (Atomics.load(hdr, id * HEADER_WORDS + H_STATE) & CANCELLED) !== 0;
}

/** What a local task returns when its shared task was aborted before its first poll. */
const NOT_STARTED: unique symbol = Symbol("dokio.notStarted");

/**
 * Run the generator body of shared task `id` unless the pool aborted it
 * before this first poll: then none of its code runs.
 */
function* unlessAborted(id: number, body: Operation<unknown>): Generator<unknown, unknown> {
  if (abortedShared(id)) return NOT_STARTED;
  return yield* body;
}

function run(id: number, fn: SharedFn, args: unknown[], blocking: boolean): void {
  // Claimed, but the abort came while it waited for its module or arguments.
  if (abortedShared(id)) {
    finish(id, 2, undefined);
    return;
  }
  if (blocking && !isGeneratorFunction(fn)) {
    // CPU job: run inline on the dispatcher, no task machinery.
    let v: unknown;
    try {
      v = fn(...args);
    } catch (e) {
      finish(id, 1, errorInfo(e));
      return;
    }
    if (v !== null && typeof (v as PromiseLike<unknown>)?.then === "function") {
      // An async job: in flight until it settles.
      whenReady(id, v as PromiseLike<unknown>, (x) => finish(id, 0, x));
      return;
    }
    finish(id, 0, v);
    return;
  }
  let h: JoinHandle<unknown>;
  try {
    h = isGeneratorFunction(fn)
      ? rt.spawn(unlessAborted(id, fn(...args) as Operation<unknown>))
      : rt.spawn((signal: AbortSignal) => abortedShared(id) ? NOT_STARTED : fn(...args, signal));
  } catch (e) {
    finish(id, 1, errorInfo(e));
    return;
  }
  inflight.set(id, h);
  h.then((v) => {
    inflight.delete(id);
    if (v === NOT_STARTED) finish(id, 2, undefined);
    else finish(id, 0, v);
    q.idle.unpark(me);
  }, (e) => {
    inflight.delete(id);
    if (e instanceof JoinError && e.cancelled) finish(id, 2, undefined);
    else finish(id, 1, errorInfo(e));
    q.idle.unpark(me);
  });
}

function checkCancels(): void {
  const epoch = Atomics.load(ctl, C_WORKER + 16 * me + W_CANCEL_EPOCH);
  if (epoch === seenEpoch) return;
  seenEpoch = epoch;
  for (const [id, h] of inflight) {
    if (h === null) continue;
    if ((Atomics.load(hdr, id * HEADER_WORDS + H_STATE) & CANCELLED) !== 0) h.abort();
  }
}

async function park(): Promise<void> {
  const idle = q.idle;
  // The last searcher re-checks the queues before it sleeps (a push may have skipped waking
  // anyone because it searched).
  if (idle.transitionWorkerToParked(me) && hasWork()) {
    idle.unparkWorker(me);
    return;
  }
  count(W_PARKS);
  if (idle.prepareToPark(me)) {
    const w = Atomics.waitAsync(queuesI32, parkWord, 1, /* PARKED */ PARK_TIMEOUT_MS);
    if (w.async) await w.value;
  }
  const notified = idle.finishPark(me);
  if (idle.isParked(me)) {
    idle.unparkWorker(me); // self-wake, timeout, local completion: holds no search
  } else if (notified) {
    count(W_UNPARKS); // a notifier chose us: its search is ours (our search word says so)
  }
}

let queuesI32!: Int32Array;
let parkWord = 0;

async function loop(): Promise<void> {
  for (;;) {
    if (fenced()) return; // killed: its tasks were failed, another worker has its index
    if (Atomics.load(ctl, C_STOP) !== 0 && inflight.size === 0) break;
    checkCancels();
    let started = 0;
    const t0 = performance.now();
    while (started < BATCH && inflight.size < MAX_INFLIGHT && Atomics.load(ctl, C_STOP) === 0) {
      const id = findWork();
      if (id < 0) break;
      foundWork();
      start(id);
      started++;
      if (performance.now() - t0 > BLOCKING_SLICE_MS) break;
    }
    flush();
    if (started > 0) {
      await yieldToLoop(); // let the local runtime, timers and messages run
      continue;
    }
    await park();
  }
  flush();
}

function onInit(m: Init): Promise<void> {
  enterPoolWorker();
  me = m.index;
  incarnation = m.incarnation;
  myOwner = ownerWord(me, incarnation);
  queuesI32 = new Int32Array(m.queues);
  q = attachSharedQueues(m.queues);
  parkWord = (q.layout.idleOffset >> 2) + parkWordIndex(q.layout.workers, me);
  hdr = new Int32Array(m.headers);
  argBytes = new Uint8Array(m.args);
  argSlot = m.args.byteLength / (m.headers.byteLength / (HEADER_WORDS * 4));
  ctl = new Int32Array(m.control);
  rt = new Runtime();
  return Promise.all(m.modules.map(loadModule)).then(() => undefined);
}

/** Park word index (int32 words from the idle region start); mirrors idle.ts's layout. */
function parkWordIndex(workers: number, index: number): number {
  return 16 + Math.ceil(Math.ceil(workers / 32) / 16) * 16 + index * 16;
}

port.on("message", (m) => {
  if (m.t === "init") {
    onInit(m as Init).then(() => {
      port.postMessage({ t: "ready" });
      return loop();
    }).then(async () => {
      await rt.shutdown(500);
      hop.port1.close();
      hop.port2.close();
      port.postMessage({ t: "bye" }); // the pool terminates this worker
    }, (e) => {
      port.postMessage({ t: "fatal", error: errorInfo(e) });
    });
  } else if (m.t === "run") {
    // A task pinned to this worker (`spawnOn`): claimed and started like a popped id.
    start(m.id);
    q.idle.unpark(me); // the dispatcher flushes what it reported
  } else if (m.t === "args") {
    const w = argWaiters.get(m.id);
    argWaiters.delete(m.id);
    w?.(m.bytes, m.shared ?? []);
  }
});
