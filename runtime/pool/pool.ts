/**
 * `WorkerPool`: N workers (threads with their own isolates), each running its own one-worker Dokio runtime,
 * sharing work through the SharedArrayBuffer queues of `runtime/pool/queues/`.
 *
 * Design choices:
 * - What crosses workers is a *shared task*: a function registered with
 *   `defineTask(name, fn)` in a module every worker imports, plus plain-data
 *   arguments. `spawnShared(moduleUrl, name, ...args)` takes a header slot
 *   (state word with task_state.ts's bits, driven with ATOMIC ops), encodes
 *   URL, name and arguments into the slot's argument bytes (≤ 256 B inline;
 *   larger arguments, and any SharedArrayBuffer argument such as a
 *   `sharedChannel`'s buffer, are fetched by the worker with one message), pushes the
 *   slot id into the inject queue and wakes a parked worker (`notifyOne`).
 *   The queueing never uses postMessage; results come back by postMessage,
 *   batched per dispatcher tick, keyed by slot id and generation.
 * - Only the pool's owner thread spawns shared tasks (workers do not spawn
 *   shared tasks yet); a worker pins the local tasks its shared task spawns.
 * - `spawnOn(index, …)` pins a shared task to one worker: the slot is
 *   written as usual but its id goes to that worker by one message instead of
 *   the inject queue (a control path: `serve(rt, …)` binds one listener per
 *   worker this way). If that worker dies first, the task fails.
 * - `WorkerPool.create()` returns at once and boots the workers in the
 *   background (`ready`); tasks spawned meanwhile wait in the shared queues
 *   (or, pinned, in the worker's message queue). A boot failure fails them.
 * - `spawnBlocking` queues the same way but the worker calls the function
 *   inline on its dispatcher (no task machinery): the CPU fan-out path.
 * - Abort: CANCELLED is set on the shared state word; a queued task is then
 *   never run, a running one is aborted by its worker (its cancel epoch is
 *   bumped and it is unparked). The handle rejects with a cancelled JoinError.
 * - A throwing task rejects its handle with a JoinError whose `cause` carries
 *   the remote name and message; the worker stays alive.
 * - A worker that dies (an uncaught error, or `terminateWorker`) is reported
 *   through `onWorkerExit` and `metrics()[i].alive`; its LIFO slot and ring
 *   are drained into the inject queue (others run them), and the tasks it was
 *   running fail with a JoinError saying so. Nothing is lost silently; a
 *   result it posted before dying but delivered later is dropped (messages
 *   from a dead worker are ignored: its tasks were already failed).
 * - With `replaceDead`, a new worker takes a dead one's index once the dead
 *   thread has exited (until then it may still touch its ring and LIFO slot,
 *   which are drained again before the new one starts); events of the old
 *   Worker object are ignored from then on. The new one counts as alive from
 *   the handler of its "ready" message on: it takes work at once, and its
 *   first results may be the very next message. While every worker is dead and a
 *   replacement is booting, tasks wait for it instead of failing.
 * - `shutdown()` refuses new work, waits (up to `timeoutMs`) for every task to
 *   finish, cancels what is left, stops the workers (each shuts its runtime
 *   down and says goodbye) and terminates them, so nothing keeps the process alive.
 * - Without `shutdown()`: the workers are `node:worker_threads` Workers, ref'd
 *   while any task is queued or running and unref'd when none is (Tokio's
 *   blocking pool retires idle threads after a keep-alive; here an idle pool
 *   simply stops holding the process). A program whose work is done exits by
 *   itself; one that leaves a task running exits when that task is done.
 * - A pool worker never builds a pool: it imports the module of each task it
 *   runs, and a program that defines its tasks in its own file would re-run
 *   its main code there. `create` refuses inside a pool worker with an error
 *   that says to guard the main code with `import.meta.main`.
 *
 * Known limits: ids a dying worker held privately (claimed by a steal in
 * progress, in its hands mid-batch, or spilled into its private inject
 * overflow) are in no queue; while tasks are live the sweep (every 200 ms)
 * re-queues each one not started once every queue looks empty, so they run
 * late, not never. A worker killed while it held a search gives it back
 * through the idle state's per-worker search word (at its death, and again
 * once its thread stopped); only a kill landing in the one step between a
 * search being counted and being recorded as that worker's leaves the shared
 * searching count one too high, and then pushes stop waking parked workers
 * and work is found at the 100 ms park timeout: slower, not lost. A worker
 * killed between claiming inject-queue cells and finishing them (publishing
 * a push, releasing a pop) would block that queue at the claimed cell: after a
 * death the sweep runs `InjectQueue.repairStalled` until no claimed cell is
 * left unfinished across two sweeps, and that skips an unpublished cell (its
 * id was in the dead worker's hands: the sweep re-queues that task) and
 * releases an unreleased one (its id is queued again), so the queue flows
 * again within about two sweeps of the dead thread stopping. A stealer killed
 * mid-steal leaves its victim's ring marked as being stolen from: the owner
 * still pushes and pops it, but nobody steals from it again and a full ring
 * overflows one task at a time.
 *
 * @module
 */

import { Worker } from "node:worker_threads";
import {
  attachSharedQueues,
  createSharedQueuesBuffer,
  type SharedQueues,
} from "./queues/layout.ts";
import {
  ATOMIC,
  CANCELLED,
  COMPLETE,
  INITIAL_STATE,
  RUNNING,
  toNotifiedAndCancel,
} from "../task/task_state.ts";
import { JoinError } from "../errors.ts";
import { IoError } from "../../ffi/errors.ts";
import { ArgWriter, type SharedArg } from "./codec.ts";
import { type HandleOwner, SharedJoinHandle } from "./handle.ts";
import {
  ARG_BYTES,
  C_STOP,
  C_WORKER,
  controlBytes,
  DEFAULT_SLOTS,
  H_ARGLEN,
  H_KIND,
  H_OWNER,
  H_STATE,
  HEADER_WORDS,
  ownerIndex,
  ownerWord,
  W_CANCEL_EPOCH,
  W_FENCE,
  W_PARKS,
  W_POLLS,
  W_STEALS,
  W_STOLEN,
  W_UNPARKS,
} from "./pool_layout.ts";

export type { SharedArg } from "./codec.ts";
import type { SharedArgs, SharedFn, SharedResult, SharedTaskDef } from "./registry.ts";
export { SharedJoinHandle } from "./handle.ts";

/**
 * Options of {@link WorkerPool.start}.
 *
 * @example
 * ```ts ignore
 * // Not run: a pool worker imports the tasks by the URL of a module of their own (tests/pool_test.ts runs these calls).
 * import { WorkerPool, type WorkerPoolOptions } from "../../mod.ts";
 * // tasks.ts: defineTask("sum", (xs: number[]) => xs.reduce((a, b) => a + b, 0));
 * import assert from "node:assert/strict";
 * const tasks = new URL("./tasks.ts", import.meta.url).href;
 * const options: WorkerPoolOptions = { workers: 2, modules: [tasks], slots: 64 };
 * const pool = await WorkerPool.start(options);
 * assert.equal(await pool.spawnShared<number>(tasks, "sum", [1, 2, 3]), 6);
 * await pool.shutdown();
 * ```
 */
export interface WorkerPoolOptions {
  /** Number of Deno Workers (≥ 1). */
  workers: number;
  /** Module URLs every worker imports before it takes work (others load on first use). */
  modules?: string[];
  /** Header slots: shared tasks queued or running at once (more wait in a local backlog). */
  slots?: number;
  /**
   * Start a new worker in the place of one that died or was terminated (default false: the
   * pool goes on with fewer). The new one takes the dead one's index and queues once the dead
   * thread has exited; `metrics()[i].alive` is false until it is ready.
   */
  replaceDead?: boolean;
}

/**
 * Counters of one pool worker.
 *
 * @example
 * ```ts
 * import { type PoolWorkerMetrics, WorkerPool } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const pool = await WorkerPool.start({ workers: 2 });
 * const perWorker: PoolWorkerMetrics[] = pool.metrics(); // also `rt.metrics().pool`
 * assert.equal(perWorker.length, 2);
 * assert.ok(perWorker.every((w) => w.alive && w.polls >= 0 && w.queueDepth >= 0));
 * await pool.shutdown();
 * ```
 */
export interface PoolWorkerMetrics {
  /** Shared tasks this worker started. */
  polls: number;
  /** Successful steals from other workers' rings. */
  steals: number;
  /** Tasks taken by those steals. */
  stolenTasks: number;
  /** Times it parked for lack of work. */
  parks: number;
  /** Parks ended by a notification (not a timeout). */
  unparks: number;
  /** Tasks in its LIFO slot and ring now. */
  queueDepth: number;
  /** False once the worker died or was terminated (until a replacement is ready). */
  alive: boolean;
  /** Workers started in this index's place after a death (`replaceDead`). */
  replaced: number;
}

/**
 * Options of {@link WorkerPool.shutdown}.
 *
 * @example
 * ```ts
 * import { type PoolShutdownOptions, WorkerPool } from "../../mod.ts";
 * const pool = await WorkerPool.start({ workers: 1 });
 * // … spawn shared tasks …
 * const options: PoolShutdownOptions = { timeoutMs: 1000 }; // then cancel what still runs
 * await pool.shutdown(options);
 * ```
 */
export interface PoolShutdownOptions {
  /** How long to let queued and running tasks finish before cancelling them (default 5000). */
  timeoutMs?: number;
}

interface Pending {
  handle: SharedJoinHandle<unknown>;
  bytes: Uint8Array;
  kind: number;
  shared: SharedArrayBuffer[];
  target: number;
}

const WORKER_URL = new URL("./worker_main.ts", import.meta.url);
/**
 * What `node:worker_threads` starts: the worker's module itself when it is a
 * local file, else (the library loaded from a registry) a one-line `data:`
 * module that imports it (a node-style Worker takes file and data URLs only).
 * Node-style Workers are used because they can be unref'd (see `#hold`).
 */
const WORKER_ENTRY = WORKER_URL.protocol === "file:"
  ? WORKER_URL
  : new URL(`data:text/javascript,import ${encodeURIComponent(JSON.stringify(WORKER_URL.href))};`);
const BYE_TIMEOUT_MS = 2000;
/**
 * How long a starting worker may take to say it is ready before the pool's
 * start fails. Generous on purpose: each worker loads (and, with a cold
 * cache, transpiles) the runtime's module graph itself, which took ~28 s on a
 * 2-core machine at load average 20; the bound exists to turn a worker that
 * never starts into an error instead of a hang, not to time the start.
 */
const READY_TIMEOUT_MS = 120_000;
const SWEEP_MS = 200;
/**
 * Sweeps that look for stalled inject-queue cells after a death, and after the dead thread
 * stopped: `repairStalled` acts on its second look at a cell, so two after the last claim.
 */
const INJECT_WATCH_SWEEPS = 2;
/**
 * How long a slot failed at a death waits before reuse: far longer than a fenced thread
 * takes from its fence check to its next write, unless the OS stalls it that long.
 */
const QUARANTINE_MS = 5000;
/** After a dead worker's exit event, how long its fenced thread gets to stop (≥ 2 parks). */
const REPLACE_GRACE_MS = 250;
/** Longest wait for a dead worker's exit event before its replacement starts anyway. */
const EXIT_WAIT_MS = 2000;
/** Replacements tried in a row for one death before the index is left dead. */
const REPLACE_ATTEMPTS = 3;

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `p`, or a rejection once `ms` passed. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready in ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** What the pool keeps for one worker index. */
interface Member {
  /** Its thread (a new one after a replacement). */
  worker: Worker;
  /** False once it died, was terminated, or the pool stopped it (until a replacement is ready). */
  alive: boolean;
  /** Why it died last ("" if it never did, or when the pool stopped it). */
  deathReason: string;
  /** Called when it says "bye" at shutdown (or dies meanwhile). */
  onBye: () => void;
  /** How many workers had this index before the current one (see W_FENCE). */
  incarnation: number;
  /** Workers started in this index's place after a death (`replaceDead`). */
  replaced: number;
  /** Settles when the current worker's exit event came. */
  exited: Promise<void>;
  /**
   * A replacement's thread is starting (from its start until it is adopted or given up): it
   * owns index i's ring and LIFO slot though it is not alive yet, so the sweep leaves them.
   */
  booting: boolean;
}

let insidePoolWorker = false;

/**
 * Mark this isolate as a pool worker (the worker's entry calls it first):
 * from then on {@link WorkerPool.create} refuses, so a program module that a
 * worker imports for its shared tasks cannot start a pool per worker by
 * re-running its top-level code.
 *
 * @example
 * ```ts ignore
 * // Not run: it marks the current isolate as a pool worker, which only runtime/pool/worker_main.ts is.
 * import { enterPoolWorker } from "./pool.ts";
 * enterPoolWorker(); // in runtime/pool/worker_main.ts only
 * ```
 */
export function enterPoolWorker(): void {
  insidePoolWorker = true;
}

const NESTED_POOL = "a pool worker imported a module that starts a pool of its own. " +
  "A pool worker imports the module of every shared task it runs, so a program that " +
  "defines its tasks in its own file must guard its main code with " +
  "`if (import.meta.main) { … }` (or define the tasks in a module of their own)";

function resultError(id: number, info: unknown): JoinError {
  const i = (info ?? {}) as {
    name?: string;
    message?: string;
    stack?: string;
    errno?: number;
    code?: string;
    syscall?: string;
  };
  const e = i.name === "IoError" && typeof i.errno === "number"
    ? new IoError(i.errno, i.code ?? "E?", i.syscall ?? "?", i.message)
    : new Error(i.message ?? "shared task failed");
  e.name = i.name ?? "Error";
  if (i.stack) e.stack = i.stack;
  return new JoinError(id, e);
}

/**
 * A pool of Deno Workers running shared tasks. See the module doc for the design.
 *
 * @example
 * ```ts ignore
 * // Not run: a pool worker imports the tasks by the URL of a module of their own (tests/pool_test.ts runs these calls).
 * import { WorkerPool } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const tasks = new URL("./my_tasks.ts", import.meta.url).href; // calls defineTask("sum", …)
 * const pool = await WorkerPool.start({ workers: 2, modules: [tasks] });
 * assert.equal(await pool.spawnShared<number>(tasks, "sum", [1, 2, 3]), 6);
 * await pool.shutdown();
 * ```
 */
export class WorkerPool implements HandleOwner {
  #n: number;
  /** One record per worker, by index (empty until the workers are created). */
  #members: Member[] = [];
  #queuesSab: SharedArrayBuffer;
  #q: SharedQueues;
  #hdr: Int32Array;
  #args: Uint8Array;
  #ctl: Int32Array;
  #slots: number;
  #free: Int32Array;
  #freeTop: number;
  #live: (SharedJoinHandle<unknown> | null)[];
  #big = new Map<number, { bytes: Uint8Array; shared: SharedArrayBuffer[] }>();
  #backlog: Pending[] = [];
  #backlogHead = 0;
  #writer = new ArgWriter();
  #nextId = 1;
  #slotOf = new Map<SharedJoinHandle<unknown>, number>();
  #closing = false;
  #closed: Promise<void> | null = null;
  #drained: (() => void) | null = null;
  #liveCount = 0;
  #held = false;
  #sweeper: ReturnType<typeof setInterval> | null = null;
  /** Sweeps still owed to the inject queue's repair (see {@link INJECT_WATCH_SWEEPS}). */
  #injectWatch = 0;
  #target: Int32Array;
  #ready: Promise<void> = Promise.resolve();
  #bootError: Error | null = null;
  #modules: string[] = [];
  #replaceDead = false;
  /** Slots of tasks failed at a death, not reused before their time in `#quarantineUntil`. */
  #quarantine: number[] = [];
  #quarantineUntil: number[] = [];
  /**
   * Indices whose replacement is under way: their old or new Worker holds the process too, and
   * tasks wait for them instead of failing as "every pool worker died".
   */
  #beingReplaced = new Map<number, object>();

  /**
   * Called with the worker index and a reason when a worker dies or is terminated
   * (not at shutdown). Default: nothing (see `metrics()[i].alive`).
   */
  onWorkerExit: ((index: number, reason: string) => void) | null = null;

  private constructor(n: number, slots: number) {
    this.#n = n;
    this.#slots = slots;
    this.#queuesSab = createSharedQueuesBuffer({ workers: n });
    this.#q = attachSharedQueues(this.#queuesSab);
    this.#hdr = new Int32Array(new SharedArrayBuffer(slots * HEADER_WORDS * 4));
    this.#args = new Uint8Array(new SharedArrayBuffer(slots * ARG_BYTES));
    this.#ctl = new Int32Array(new SharedArrayBuffer(controlBytes(n)));
    this.#free = new Int32Array(slots);
    for (let i = 0; i < slots; i++) this.#free[i] = slots - 1 - i;
    this.#freeTop = slots;
    this.#live = new Array(slots).fill(null);
    this.#target = new Int32Array(slots).fill(-1);
  }

  /**
   * Start `workers` workers, each importing `modules`; resolves once all are ready.
   *
   * @param options the worker count, the modules every worker imports, the queue slots.
   * @returns a promise of the pool, once every worker is ready.
   * @throws {TypeError} when an option has the wrong type.
   * @throws {RangeError} when `workers` or `slots` is out of range.
   * @throws {Error} (as a rejection) when a worker fails to start.
   * @example
   * ```ts
   * import { WorkerPool } from "../../mod.ts";
   * import assert from "node:assert/strict";
   * const pool = await WorkerPool.start({ workers: 2 });
   * assert.equal(pool.workers, 2);
   * await pool.shutdown();
   * ```
   */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = WorkerPool.create(options);
    await pool.ready;
    return pool;
  }

  /**
   * Make a pool and boot its workers in the background: returns at once.
   * Tasks may be spawned right away (they start once a worker is ready);
   * `ready` settles when every worker is, and rejects — failing every task
   * spawned so far — if one cannot start. Refused inside a pool worker (the
   * error says to guard the program's main code with `import.meta.main`).
   *
   * @param options the worker count, the modules every worker imports, the queue slots.
   * @returns the pool, still booting.
   * @throws {TypeError} when an option has the wrong type.
   * @throws {RangeError} when `workers` or `slots` is out of range.
   * @example
   * ```ts ignore
   * // Not run: a pool worker imports the tasks by the URL of a module of their own (tests/pool_test.ts runs these calls).
   * import { WorkerPool } from "../../mod.ts";
   * const pool = WorkerPool.create({ workers: 2, modules: [tasksUrl] });
   * const h = pool.spawnShared<number>(tasksUrl, "sum", [1, 2]); // queued while booting
   * assert.equal(await h, 3);
   * await pool.shutdown();
   * ```
   */
  static create(options: WorkerPoolOptions): WorkerPool {
    if (insidePoolWorker) throw new Error(NESTED_POOL);
    if (options === null || typeof options !== "object") {
      throw new TypeError("WorkerPool.start: options must be an object");
    }
    const n = options.workers;
    if (!Number.isInteger(n) || n < 1 || n > 256) {
      throw new RangeError(`WorkerPool.start: workers must be an integer in [1, 256], got ${n}`);
    }
    const modules = options.modules ?? [];
    if (!Array.isArray(modules) || modules.some((m) => typeof m !== "string")) {
      throw new TypeError("WorkerPool.start: modules must be an array of URL strings");
    }
    const slots = options.slots ?? DEFAULT_SLOTS;
    if (!Number.isInteger(slots) || slots < 1 || slots > 1 << 20) {
      throw new RangeError(`WorkerPool.start: slots must be an integer in [1, 2^20], got ${slots}`);
    }
    const urls = modules.map((m) => new URL(m).href);
    const replaceDead = options.replaceDead ?? false;
    if (typeof replaceDead !== "boolean") {
      throw new TypeError("WorkerPool.start: replaceDead must be a boolean");
    }
    const pool = new WorkerPool(n, slots);
    pool.#modules = urls;
    pool.#replaceDead = replaceDead;
    pool.#ready = pool.#boot(urls).catch((e: Error) => {
      pool.#bootFailed(e);
      throw e;
    });
    pool.#ready.catch(() => {}); // observed through `ready` or the failed tasks
    return pool;
  }

  /** Settles once every worker is ready (rejects if one could not start). */
  get ready(): Promise<void> {
    return this.#ready;
  }

  #bootFailed(e: Error): void {
    this.#bootError = e;
    this.#closing = true;
    for (const m of this.#members) m.alive = false;
    for (let s = 0; s < this.#slots; s++) {
      if (this.#live[s] !== null) this.#settle(s, 1, { name: "Error", message: e.message });
    }
    for (const p of this.#takeBacklog()) {
      this.#taskDone();
      p.handle._reject(new JoinError(p.handle.id, e));
    }
    this.#checkDrained();
  }

  async #boot(modules: string[]): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < this.#n; i++) {
      ready.push(this.#startWorker(i, modules));
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.all(ready),
        new Promise<never>((_, rej) => {
          timer = setTimeout(
            () => rej(new Error("WorkerPool.start: workers not ready in time")),
            READY_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (e) {
      for (const m of this.#members) m.worker.terminate();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Start worker `i` (at boot, or in a dead one's place): resolves once it is ready. Its events
   * count only while it is the current worker of index `i` (a replaced one's late exit, error
   * or message is ignored). `adopt` (a replacement's) runs in the handler of its "ready"
   * message, before any later message of it is handled, unless its start was given up meanwhile.
   */
  #startWorker(i: number, modules: string[], adopt?: () => void): Promise<void> {
    const w = new Worker(WORKER_ENTRY);
    if (!this.#held) w.unref();
    let exited!: () => void;
    const gone = new Promise<void>((r) => (exited = r));
    const m = this.#members[i];
    if (m === undefined) {
      this.#members[i] = {
        worker: w,
        alive: true,
        deathReason: "",
        onBye: () => {},
        incarnation: 0,
        replaced: 0,
        exited: gone,
        booting: false,
      };
    } else {
      m.worker = w;
      m.exited = gone;
    }
    const incarnation = this.#members[i].incarnation;
    const ready = new Promise<void>((resolve, reject) => {
      let booted = false;
      w.on("message", (m) => {
        if (this.#members[i].worker !== w) return;
        if (booted) this.#onMessage(i, m);
        else if (m.t === "ready") {
          booted = true;
          // The worker takes shared work as soon as it has said "ready", and its first results
          // may be the very next message: a replacement must count as alive before that one is
          // handled (#onMessage drops what a worker that is not alive says, and a result dropped
          // from the current incarnation settles nothing ever again). Resolving `ready` is too
          // late: the awaits behind it run after the next message event. A start given up on
          // (its incarnation moved on, see #replace) is not adopted.
          if (this.#members[i].incarnation === incarnation) adopt?.();
          resolve();
        } else if (m.t === "fatal") reject(new Error(`pool worker ${i}: ${m.error?.message}`));
      });
      w.on("error", (e: Error) => {
        if (this.#members[i].worker !== w) return;
        if (booted) this.#death(i, `uncaught error: ${e?.message}`);
        else reject(new Error(`pool worker ${i} failed to start: ${e?.message}`));
      });
      w.on("exit", () => {
        exited();
        if (this.#members[i].worker !== w) return;
        if (booted) this.#death(i, "exited");
        else reject(new Error(`pool worker ${i} exited while starting`));
      });
    });
    w.postMessage({
      t: "init",
      index: i,
      incarnation,
      queues: this.#queuesSab,
      headers: this.#hdr.buffer,
      args: this.#args.buffer,
      control: this.#ctl.buffer,
      modules,
    });
    return ready;
  }

  /**
   * Put a new worker in dead worker `i`'s place once its thread has exited (until then it may
   * still touch its ring): recover what it left, start the new one, and let it take work.
   */
  async #replace(i: number): Promise<void> {
    // This replacement's token: a worker adopted at "ready" may die (and be replaced again)
    // before this function resumes, and only the latest replacement owns the entry.
    const token = {};
    this.#beingReplaced.set(i, token);
    // The old Worker's exit event must come even when nothing else holds the process.
    if (this.#held) this.#members[i].worker.ref();
    try {
      for (let attempt = 1;; attempt++) {
        await this.#stopped(i);
        if (this.#closing) return;
        this.#recover(i, this.#members[i].deathReason);
        this.#retireIdle(i);
        this.#watchInject();
        this.#members[i].booting = true;
        try {
          await within(this.#startWorker(i, this.#modules, () => this.#adopt(i)), READY_TIMEOUT_MS);
          break;
        } catch (e) {
          this.#members[i].booting = false;
          // A Worker whose module load stalls never says ready: fence it off and start another.
          this.#members[i].incarnation++;
          Atomics.store(this.#ctl, C_WORKER + 16 * i + W_FENCE, this.#members[i].incarnation);
          this.#members[i].worker.terminate();
          if (attempt === REPLACE_ATTEMPTS) throw e;
        }
      }
      if (this.#beingReplaced.get(i) !== token) return; // adopted, died, replaced again
      this.#members[i].booting = false;
      // Ready while the pool was closing: not adopted, and shutdown() did not ask it to stop.
      if (!this.#members[i].alive && this.#closing) this.#members[i].worker.terminate();
    } catch (e) {
      // No new worker could start: the index stays dead, as without replaceDead.
      this.#members[i].deathReason = `replacement failed: ${(e as Error).message}`;
    } finally {
      if (this.#beingReplaced.get(i) === token) this.#beingReplaced.delete(i);
      if (!this.#closing && this.#beingReplaced.size === 0 && !this.#members.some((m) => m.alive)) {
        this.#failAll("every pool worker died");
      }
    }
  }

  /**
   * Settles once dead worker `i`'s thread has surely stopped. A Deno Worker's exit event does not
   * mean its thread stopped (and may come late): the fenced thread gets time to notice (it checks
   * its fence each dispatcher turn; a park lasts at most 100 ms).
   */
  async #stopped(i: number): Promise<void> {
    await Promise.race([this.#members[i].exited, delay(EXIT_WAIT_MS)]);
    await delay(REPLACE_GRACE_MS);
  }

  /**
   * Forget dead worker `i` in the idle state once its thread stopped (it may have parked or
   * searched again after its death): out of the sleepers, its search given back, and its park
   * word left NOTIFIED (never PARKED with nobody behind it). The live workers are woken, as the
   * search it gave back may have been the last one.
   */
  #retireIdle(i: number): void {
    const idle = this.#q.idle;
    idle.retireWorker(i);
    idle.unpark(i);
    for (let k = 0; k < this.#n; k++) if (this.#isAlive(k)) idle.unpark(k);
  }

  /**
   * The replacement of index `i` said "ready" (called in that message's handler): from now on
   * it is the live worker `i`, whose results count.
   */
  #adopt(i: number): void {
    if (this.#closing) return; // #replace terminates it
    const m = this.#members[i];
    m.alive = true;
    m.booting = false;
    m.replaced++;
    if (this.#held) m.worker.ref();
    this.#refill();
    this.#q.idle.unpark(i);
  }

  /** Whether worker `i` exists and is alive. */
  #isAlive(i: number): boolean {
    return this.#members[i]?.alive === true;
  }

  /** Free the quarantined slots whose time has come. */
  #releaseQuarantine(): void {
    const q = this.#quarantine;
    if (q.length === 0) return;
    const now = performance.now();
    let k = 0;
    while (k < q.length && this.#quarantineUntil[k] <= now) this.#free[this.#freeTop++] = q[k++];
    if (k === 0) return;
    q.splice(0, k);
    this.#quarantineUntil.splice(0, k);
    this.#refill();
  }

  /** Fail every queued and running task with `message` (no worker is left to run them). */
  #failAll(message: string): void {
    for (let s = 0; s < this.#slots; s++) {
      if (this.#live[s] !== null) this.#settle(s, 1, { name: "Error", message });
    }
    for (const p of this.#takeBacklog()) {
      this.#taskDone();
      p.handle._reject(new JoinError(p.handle.id, new Error(message)));
    }
    this.#checkDrained();
  }

  /**
   * Let the workers keep the process alive (`on`: some task is queued or
   * running) or not (idle): a program whose work is done exits without
   * `shutdown()`, and one with work still in the pool waits for it.
   */
  #hold(on: boolean): void {
    if (this.#held === on) return;
    this.#held = on;
    for (let i = 0; i < this.#members.length; i++) {
      const m = this.#members[i];
      if (!m.alive && !this.#beingReplaced.has(i)) continue;
      if (on) m.worker.ref();
      else m.worker.unref();
    }
  }

  /** One task settled or was dropped: count it; release the process when none is left. */
  #taskDone(): void {
    if (--this.#liveCount === 0) this.#hold(false);
  }

  /** Number of workers. */
  get workers(): number {
    return this.#n;
  }

  /**
   * Run a shared task on some worker with plain-data arguments: `task` is
   * what `defineTask` returned (arguments and result typed from its
   * function), or, for names known only at run time, the URL of the module
   * that defines it followed by its name. Generator functions run as tasks
   * on the worker's runtime.
   *
   * @param task the task's definition (or its module's URL, then its name).
   * @param args plain-data arguments (copied to the worker).
   * @returns the task's handle.
   * @throws {TypeError} when the task is not a definition nor a URL and a name, or an argument
   *   cannot be sent.
   * @throws {Error} after `shutdown()` or when the pool failed to start.
   * @example
   * ```ts ignore
   * // Not run: a pool worker imports the tasks by the URL of a module of their own (tests/pool_test.ts runs these calls).
   * const h = pool.spawnShared(greet, "ada"); // greet = defineTask("greet", (who: string) => …)
   * assert.equal(await h, "hello, ada");
   * const g = pool.spawnShared<string>(tasksUrl, "greet", "bob"); // by URL and name
   * ```
   */
  spawnShared<F extends SharedFn>(
    task: SharedTaskDef<F>,
    ...args: SharedArgs<F>
  ): SharedJoinHandle<SharedResult<F>>;
  /**
   * Run the shared task `name` of the module at `moduleUrl` (see the definition form).
   *
   * @param moduleUrl the URL of the module that defines the task.
   * @param name the name given to `defineTask`.
   * @param args plain-data arguments (copied to the worker).
   * @returns the task's handle.
   */
  spawnShared<T>(moduleUrl: string, name: string, ...args: SharedArg[]): SharedJoinHandle<T>;
  spawnShared(
    task: SharedTaskDef<SharedFn> | string,
    ...rest: unknown[]
  ): SharedJoinHandle<unknown> {
    return this.#spawnTask(0, "spawnShared", task, rest);
  }

  /**
   * Run the shared task `name` from `moduleUrl` on worker `index` (pinned:
   * never stolen). For per-worker setup such as one listener per worker.
   *
   * @param index the worker to run on, from 0.
   * @param moduleUrl the URL of the module that defines the task.
   * @param name the name given to `defineTask`.
   * @param args plain-data arguments (copied to the worker).
   * @returns the task's handle.
   * @throws {RangeError} when there is no worker `index`.
   * @throws {Error} when that worker is not alive, after `shutdown()`, or when the pool failed to
   *   start.
   * @example
   * ```ts ignore
   * // Not run: a pool worker imports the tasks by the URL of a module of their own (tests/pool_test.ts runs these calls).
   * const hs = [0, 1].map((i) => pool.spawnOn<number>(i, tasksUrl, "whoami"));
   * ```
   */
  spawnOn<T>(
    index: number,
    moduleUrl: string,
    name: string,
    ...args: SharedArg[]
  ): SharedJoinHandle<T> {
    if (!Number.isInteger(index) || index < 0 || index >= this.#n) {
      throw new RangeError(`spawnOn: no worker ${index} (the pool has ${this.#n})`);
    }
    return this.#spawn<T>(0, index, moduleUrl, name, args);
  }

  /**
   * Run a CPU job inline on some worker's dispatcher (no task machinery, not
   * abortable once started): `task` as for {@linkcode WorkerPool.spawnShared}.
   *
   * @param task the job's definition (or its module's URL, then its name).
   * @param args plain-data arguments (copied to the worker).
   * @returns the job's handle.
   * @throws {TypeError} when the task is not a definition nor a URL and a name, or an argument
   *   cannot be sent.
   * @throws {Error} after `shutdown()` or when the pool failed to start.
   * @example
   * ```ts ignore
   * // Not run: a pool worker imports the tasks by the URL of a module of their own (tests/pool_test.ts runs these calls).
   * const sums = await Promise.all(chunks.map((c) => pool.spawnBlocking(sum, c)));
   * ```
   */
  spawnBlocking<F extends SharedFn>(
    task: SharedTaskDef<F>,
    ...args: SharedArgs<F>
  ): SharedJoinHandle<SharedResult<F>>;
  /**
   * Run the CPU job `name` of the module at `moduleUrl` (see the definition form).
   *
   * @param moduleUrl the URL of the module that defines the job.
   * @param name the name given to `defineTask`.
   * @param args plain-data arguments (copied to the worker).
   * @returns the job's handle.
   */
  spawnBlocking<T>(moduleUrl: string, name: string, ...args: SharedArg[]): SharedJoinHandle<T>;
  spawnBlocking(
    task: SharedTaskDef<SharedFn> | string,
    ...rest: unknown[]
  ): SharedJoinHandle<unknown> {
    return this.#spawnTask(1, "spawnBlocking", task, rest);
  }

  /** Either form of spawnShared/spawnBlocking: a definition, or a URL and a name. */
  #spawnTask(
    kind: number,
    what: string,
    task: SharedTaskDef<SharedFn> | string,
    rest: unknown[],
  ): SharedJoinHandle<unknown> {
    if (typeof task === "string") {
      return this.#spawn(kind, -1, task, rest[0] as string, rest.slice(1) as SharedArg[]);
    }
    if (task === null || typeof task !== "object" || typeof task.name !== "string") {
      throw new TypeError(
        `${what} takes what defineTask returned (\`${what}(square, 12)\`), ` +
          `or a module URL and a task name (\`${what}(url, "square", 12)\`)`,
      );
    }
    if (task.module === undefined) {
      throw new TypeError(
        `${what}: the task "${task.name}" does not know its module (stack traces are off?): ` +
          "pass import.meta.url as defineTask's third argument",
      );
    }
    return this.#spawn(kind, -1, task.module, task.name, rest as SharedArg[]);
  }

  #spawn<T>(
    kind: number,
    target: number,
    url: string,
    name: string,
    args: SharedArg[],
  ): SharedJoinHandle<T> {
    if (typeof url !== "string" || url.length === 0) {
      throw new TypeError(
        "spawnShared: moduleUrl must be a URL string (or pass a task definition)",
      );
    }
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError("spawnShared: name must be a non-empty string");
    }
    if (this.#bootError !== null) {
      throw new Error(`WorkerPool: the pool failed to start (${this.#bootError.message})`);
    }
    if (this.#closing) throw new Error("WorkerPool: spawn after shutdown()");
    if (target >= 0 && !this.#isAlive(target)) {
      throw new Error(`WorkerPool: worker ${target} is not alive`);
    }
    const w = this.#writer;
    w.reset();
    w.value(url);
    w.value(name);
    for (let i = 0; i < args.length; i++) w.value(args[i]);
    const h = new SharedJoinHandle<T>(this.#nextId++, this);
    const hu = h as SharedJoinHandle<unknown>;
    if (this.#liveCount++ === 0) this.#hold(true);
    if (this.#freeTop === 0) {
      this.#backlog.push({
        handle: hu,
        bytes: w.bytes().slice(0, w.length),
        kind,
        shared: w.shared,
        target,
      });
    } else {
      this.#submit(hu, w.bytes(), w.length, kind, w.shared, target);
    }
    return h;
  }

  #submit(
    h: SharedJoinHandle<unknown>,
    bytes: Uint8Array,
    len: number,
    kind: number,
    shared: SharedArrayBuffer[],
    target: number,
  ): void {
    const slot = this.#free[--this.#freeTop];
    const base = slot * HEADER_WORDS;
    const hdr = this.#hdr;
    // Fields first, the state word last: a stale duplicate id of this slot
    // (see #sweep) sees COMPLETE until the task is fully written.
    Atomics.store(hdr, base + H_OWNER, 0);
    Atomics.store(hdr, base + H_KIND, kind);
    if (len <= ARG_BYTES && shared.length === 0) {
      this.#args.set(bytes.subarray(0, len), slot * ARG_BYTES);
      Atomics.store(hdr, base + H_ARGLEN, len);
    } else {
      this.#big.set(slot, { bytes: bytes.slice(0, len), shared });
      Atomics.store(hdr, base + H_ARGLEN, -1);
    }
    this.#live[slot] = h;
    this.#slotOf.set(h, slot);
    this.#target[slot] = target;
    Atomics.store(hdr, base + H_STATE, INITIAL_STATE);
    if (target >= 0) {
      if (!this.#isAlive(target)) {
        this.#settle(slot, 1, { name: "Error", message: `pool worker ${target} is not alive` });
        return;
      }
      this.#members[target].worker.postMessage({ t: "run", id: slot });
      return;
    }
    if (!this.#q.inject.push(slot)) {
      // Cannot happen with slots ≤ inject capacity; fail loudly rather than lose it.
      this.#settle(slot, 1, { name: "RangeError", message: "inject queue full" });
      return;
    }
    this.#q.idle.notifyOne();
  }

  /**
   * Internal (HandleOwner): abort a task.
   *
   * @param _id the task's id (the handle carries it too).
   * @param h the task's handle.
   */
  abortShared(_id: number, h: SharedJoinHandle<unknown>): void {
    const slot = this.#slotOf.get(h);
    if (slot === undefined) {
      // Still in the backlog: drop it there.
      const i = this.#backlog.findIndex((p, k) => k >= this.#backlogHead && p.handle === h);
      if (i >= 0) this.#backlog.splice(i, 1);
      this.#taskDone();
      h._reject(new JoinError(h.id, undefined, true));
      this.#checkDrained();
      return;
    }
    const base = slot * HEADER_WORDS;
    toNotifiedAndCancel(this.#hdr, base + H_STATE, ATOMIC);
    const owner = ownerIndex(Atomics.load(this.#hdr, base + H_OWNER));
    if (owner >= 0) {
      // Running (or about to): the owner aborts its local task and reports.
      Atomics.add(this.#ctl, C_WORKER + 16 * owner + W_CANCEL_EPOCH, 1);
      this.#q.idle.unpark(owner);
    } else {
      // Queued: it will never run; settle now, the slot is freed when a worker pops it.
      h._reject(new JoinError(h.id, undefined, true));
    }
  }

  #onMessage(i: number, m: { t: string; r?: unknown[]; id?: number; error?: unknown }): void {
    if (!this.#isAlive(i)) return;
    if (m.t === "res") {
      const r = m.r!;
      const hdr = this.#hdr;
      const me = ownerWord(i, this.#members[i].incarnation);
      for (let k = 0; k < r.length; k += 3) {
        const slot = r[k] as number;
        // Only the worker that claimed a task reports it (the owner word is claimed once per
        // task); a result for a slot another worker owns, or a reused one, is stale.
        if (Atomics.load(hdr, slot * HEADER_WORDS + H_OWNER) !== me) continue;
        this.#settle(slot, r[k + 1] as number, r[k + 2]);
      }
      this.#refill();
      this.#checkDrained();
    } else if (m.t === "need") {
      const big = this.#big.get(m.id!);
      this.#members[i].worker.postMessage({
        t: "args",
        id: m.id,
        bytes: big?.bytes,
        shared: big?.shared,
      });
    } else if (m.t === "bye") {
      this.#members[i].onBye();
    } else if (m.t === "fatal") {
      this.#death(i, `fatal: ${(m.error as { message?: string })?.message}`);
    }
  }

  /**
   * Settle the task in `slot` with `code` (0 value, 1 error, 2 cancelled). `heldBy`: the index of
   * a dead worker that may still be running it; its slot is then not reused for
   * `QUARANTINE_MS` (the dead thread is fenced, but one already past its fence check could
   * still write the state word, which would land on the next task's).
   */
  #settle(slot: number, code: number, value: unknown, heldBy = -1): void {
    const h = this.#live[slot];
    if (h === null) return;
    this.#live[slot] = null;
    this.#target[slot] = -1;
    Atomics.store(this.#hdr, slot * HEADER_WORDS + H_STATE, COMPLETE | CANCELLED);
    this.#slotOf.delete(h);
    this.#big.delete(slot);
    if (heldBy >= 0) {
      this.#quarantine.push(slot);
      this.#quarantineUntil.push(performance.now() + QUARANTINE_MS);
    } else this.#free[this.#freeTop++] = slot;
    this.#taskDone();
    if (code === 0) h._resolve(value);
    else if (code === 2) h._reject(new JoinError(h.id, undefined, true));
    else h._reject(resultError(h.id, value));
  }

  #refill(): void {
    const b = this.#backlog;
    let k = this.#backlogHead;
    while (k < b.length && this.#freeTop > 0) {
      const p = b[k];
      b[k++] = undefined as unknown as Pending;
      this.#submit(p.handle, p.bytes, p.bytes.length, p.kind, p.shared, p.target);
    }
    this.#backlogHead = k;
    if (k === b.length) {
      b.length = 0;
      this.#backlogHead = 0;
    } else if (k > 4096 && k * 2 > b.length) {
      b.splice(0, k); // compact now and then: amortised O(1) per task
      this.#backlogHead = 0;
    }
  }

  #takeBacklog(): Pending[] {
    const rest = this.#backlog.slice(this.#backlogHead);
    this.#backlog = [];
    this.#backlogHead = 0;
    return rest;
  }

  #checkDrained(): void {
    if (this.#liveCount === 0 && this.#drained !== null) {
      const d = this.#drained;
      this.#drained = null;
      d();
    }
  }

  /**
   * Simulate a worker crash (tests, or to fence off a stuck worker): terminate
   * worker `index` now and recover its queued tasks as after a real death.
   *
   * @param index the worker to terminate, from 0.
   * @throws {RangeError} when there is no worker `index`.
   * @example
   * ```ts
   * import { WorkerPool } from "../../mod.ts";
   * import assert from "node:assert/strict";
   * const pool = await WorkerPool.start({ workers: 2 });
   * pool.terminateWorker(0);
   * assert.equal(pool.metrics()[0].alive, false);
   * assert.equal(pool.metrics()[1].alive, true);
   * await pool.shutdown();
   * ```
   */
  terminateWorker(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.#n) {
      throw new RangeError(`terminateWorker: no worker ${index}`);
    }
    this.#death(index, "terminated");
  }

  #death(i: number, reason: string): void {
    if (!this.#isAlive(i)) return;
    this.#members[i].alive = false;
    this.#members[i].deathReason = reason;
    // Fence the dead one off first: its thread may run on after terminate() and even after its
    // exit event, and must stop claiming, completing and queueing tasks.
    this.#members[i].incarnation++;
    Atomics.store(this.#ctl, C_WORKER + 16 * i + W_FENCE, this.#members[i].incarnation);
    this.#members[i].worker.terminate();
    this.#members[i].onBye();
    // Out of the sleepers, and its search (if it held one) given back: a search held by a dead
    // worker would keep pushes from waking the live ones.
    this.#q.idle.retireWorker(i);
    // terminate() is asynchronous: the thread may run on for a moment, so the
    // recovery below is repeated by the sweeper until every task settled.
    const requeued = this.#recover(i, reason);
    const q = this.#q;
    const replace = this.#replaceDead && !this.#closing;
    if (replace) void this.#replace(i);
    else {
      // Its thread may park or search again before it stops: forget it again then.
      void this.#stopped(i).then(() => {
        if (!this.#isAlive(i)) this.#retireIdle(i);
        if (!this.#closing) this.#watchInject();
      });
    }
    const anyAlive = this.#members.some((m) => m.alive);
    if (!anyAlive && !replace) {
      this.#failAll("every pool worker died");
    } else {
      this.#refill();
      for (let k = 0; k < requeued && q.idle.notifyOne() >= 0; k++);
      // The dead one may have been the last searcher (a push then woke nobody): wake the others.
      for (let k = 0; k < this.#n; k++) if (this.#isAlive(k)) q.idle.unpark(k);
    }
    this.#checkDrained();
    // A cell of the inject queue it claimed and did not finish would block that queue for good.
    this.#watchInject();
    this.onWorkerExit?.(i, reason);
  }

  /**
   * Recover dead worker `i`'s work: its LIFO slot and ring go back to the
   * inject queue (we own them now), and the tasks it started fail.
   */
  #recover(i: number, reason: string): number {
    const q = this.#q;
    const dead = !this.#isAlive(i);
    let requeued = 0;
    // A replacement past its start already works its own ring (it takes work before the pool
    // has its "ready"): its queues are not the dead one's any more.
    if (dead && !this.#members[i].booting) {
      const lifo = q.lifo[i].take();
      if (lifo >= 0 && q.inject.push(lifo)) requeued++;
      for (let id = q.rings[i].pop(); id >= 0; id = q.rings[i].pop()) {
        if (q.inject.push(id)) requeued++;
      }
    }
    // Tasks claimed by an earlier incarnation of index i (before its death, or by its thread
    // running on after it) fail; the current incarnation's own do not.
    const hdr = this.#hdr;
    const current = ownerWord(i, this.#members[i].incarnation);
    for (let s = 0; s < this.#slots; s++) {
      if (this.#live[s] === null) continue;
      const owner = Atomics.load(hdr, s * HEADER_WORDS + H_OWNER);
      if (
        (ownerIndex(owner) === i && owner !== current) || (dead && this.#target[s] === i)
      ) {
        this.#settle(s, 1, { name: "Error", message: `pool worker ${i} died (${reason})` }, i);
      }
    }
    return requeued;
  }

  /** Have the next sweeps look for stalled inject-queue cells (a worker died or stopped). */
  #watchInject(): void {
    if (this.#closing && this.#liveCount === 0) return; // nothing left to flow
    this.#injectWatch = INJECT_WATCH_SWEEPS;
    if (this.#sweeper === null) this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
  }

  /**
   * Finish the inject-queue cells a dead worker claimed and left unfinished (a
   * skipped cell's id is in that worker's hands, so the sweep below finds its
   * task); an id taken out of an unreleased cell is queued again.
   */
  #repairInject(): void {
    if (this.#injectWatch === 0) return;
    const reclaimed: number[] = [];
    const watching = this.#q.inject.repairStalled(reclaimed);
    this.#injectWatch = watching > 0 ? INJECT_WATCH_SWEEPS : this.#injectWatch - 1;
    let pushed = 0;
    for (const s of reclaimed) if (this.#requeueWaiting(s)) pushed++;
    if (pushed > 0) this.#unparkAlive();
  }

  /**
   * Queue slot `s` again if it holds a task waiting to start that no worker is pinned to; a
   * duplicate entry is harmless (see {@link WorkerPool.#sweep}).
   */
  #requeueWaiting(s: number): boolean {
    if (this.#live[s] === null || this.#target[s] >= 0) return false;
    const st = Atomics.load(this.#hdr, s * HEADER_WORDS + H_STATE);
    return (st & (RUNNING | COMPLETE)) === 0 && this.#q.inject.push(s);
  }

  #unparkAlive(): void {
    for (let k = 0; k < this.#n; k++) if (this.#isAlive(k)) this.#q.idle.unpark(k);
  }

  /**
   * After a death: an id the dead worker held privately (mid-pop, mid-steal,
   * mid-batch) is in no queue. When every queue looks empty, re-queue each live
   * task that has not started; a duplicate entry is dropped by the state word
   * (`toRunning` sees RUNNING/COMPLETE), so this can never run a task twice.
   */
  #sweep(): void {
    this.#repairInject();
    this.#releaseQuarantine();
    if (this.#liveCount === 0 && this.#quarantine.length === 0 && this.#injectWatch === 0) {
      clearInterval(this.#sweeper!);
      this.#sweeper = null;
      return;
    }
    const q = this.#q;
    for (let k = 0; k < this.#n; k++) {
      if (this.#members[k].deathReason !== "") this.#recover(k, this.#members[k].deathReason);
    }
    this.#releaseQuarantine();
    this.#refill();
    this.#checkDrained();
    if (this.#liveCount === 0) return;
    if (q.inject.length > 0) return;
    for (let k = 0; k < this.#n; k++) {
      if (this.#isAlive(k) && (q.rings[k].length > 0 || !q.lifo[k].isEmpty())) return;
    }
    let pushed = 0;
    for (let s = 0; s < this.#slots; s++) if (this.#requeueWaiting(s)) pushed++;
    if (pushed > 0) this.#unparkAlive();
  }

  /**
   * Per-worker counters (a snapshot).
   *
   * @example
   * ```ts
   * import { WorkerPool } from "../../mod.ts";
   * import assert from "node:assert/strict";
   * const pool = await WorkerPool.start({ workers: 1 });
   * const depth = pool.metrics().reduce((n, m) => n + m.queueDepth, 0);
   * assert.equal(depth, 0); // nothing queued
   * await pool.shutdown();
   * ```
   */
  metrics(): PoolWorkerMetrics[] {
    const out: PoolWorkerMetrics[] = [];
    const c = this.#ctl;
    for (let i = 0; i < this.#n; i++) {
      const b = C_WORKER + 16 * i;
      out.push({
        polls: Atomics.load(c, b + W_POLLS),
        steals: Atomics.load(c, b + W_STEALS),
        stolenTasks: Atomics.load(c, b + W_STOLEN),
        parks: Atomics.load(c, b + W_PARKS),
        unparks: Atomics.load(c, b + W_UNPARKS),
        queueDepth: this.#q.rings[i].length + (this.#q.lifo[i].isEmpty() ? 0 : 1),
        alive: this.#isAlive(i),
        replaced: this.#members[i]?.replaced ?? 0,
      });
    }
    return out;
  }

  /**
   * Stop taking work, let queued and running tasks finish (up to `timeoutMs`),
   * cancel the rest, then stop and terminate every worker.
   *
   * @param options `timeoutMs`: how long queued and running tasks may take (default 1000).
   * @returns a promise that resolves once every worker is terminated.
   * @throws {RangeError} when `timeoutMs` is negative or not a number.
   * @example
   * ```ts
   * import { WorkerPool } from "../../mod.ts";
   * import assert from "node:assert/strict";
   * const pool = await WorkerPool.start({ workers: 1 });
   * await pool.shutdown({ timeoutMs: 1000 });
   * assert.throws(() => pool.spawnShared("file:///x.ts", "x"), Error); // no work after shutdown
   * ```
   */
  shutdown(options?: PoolShutdownOptions): Promise<void> {
    options ??= {};
    if (this.#closed === null) this.#closed = this.#shutdown(options.timeoutMs ?? 5000);
    return this.#closed;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new RangeError("shutdown: timeoutMs must be a non-negative number");
    }
    this.#closing = true;
    try {
      await this.#ready;
    } catch {
      return; // never started: #bootFailed terminated the workers and failed the tasks
    }
    if (this.#liveCount > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((r) => (this.#drained = r)),
        new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
      ]);
      clearTimeout(timer);
      this.#drained = null;
    }
    if (this.#sweeper !== null) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
    // Cancel what is left: queued tasks never run, running ones are aborted.
    for (const p of this.#takeBacklog()) {
      this.#taskDone();
      p.handle._reject(new JoinError(p.handle.id, undefined, true));
    }
    for (let s = 0; s < this.#slots; s++) {
      const h = this.#live[s];
      if (h === null) continue;
      Atomics.or(this.#hdr, s * HEADER_WORDS + H_STATE, CANCELLED);
      this.#settle(s, 2, undefined);
    }
    Atomics.store(this.#ctl, C_STOP, 1);
    const byes: Promise<void>[] = [];
    for (let i = 0; i < this.#n; i++) {
      if (!this.#isAlive(i)) continue;
      Atomics.add(this.#ctl, C_WORKER + 16 * i + W_CANCEL_EPOCH, 1);
      byes.push(new Promise<void>((r) => (this.#members[i].onBye = r)));
      this.#q.idle.unpark(i);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(byes),
      new Promise<void>((r) => (timer = setTimeout(r, BYE_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    for (let i = 0; i < this.#n; i++) {
      this.#members[i].alive = false;
      this.#members[i].worker.terminate();
    }
  }
}
