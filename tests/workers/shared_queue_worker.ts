/**
 * Worker side of the shared-queue stress tests (tests/shared_queue_test.ts).
 *
 * The worker says "ready" once its module is loaded (so the test can time the
 * work apart from the start-up, which includes a type check under deno test);
 * then one message starts one job, and the worker replies once with its
 * statistics.
 * Every task id is "executed" by `Atomics.add` on its counter, so the test can
 * check that each id ran exactly once. Workers stop when the shared executed
 * count reaches the total, or when the test raises the abort flag.
 *
 * @module
 */

import { attachSharedQueues } from "../../runtime/pool/queues/layout.ts";

/** Counter words: executed total, abort flag, then one counter per id. */
export const EXECUTED = 0;
/** Set to 1 by the test to make every worker give up. */
export const ABORT = 1;
/** Also used as a sleep word (never notified). */
export const SLEEP = 2;
/** First per-id counter. */
export const COUNTERS = 16;

/** A job for one worker. */
export interface Job {
  mode: "ring" | "inject" | "park";
  sab: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  index: number;
  workers: number;
  total: number;
  /** Ids this worker produces: [first, end). */
  first: number;
  end: number;
  seed: number;
  /** park mode: rounds of park → notified. */
  rounds?: number;
}

/** What a worker reports. */
export interface Stats {
  index: number;
  executed: number;
  pushed: number;
  steals: number;
  stolen: number;
  overflows: number;
  injectPops: number;
  lifoHits: number;
  spilledAtEnd: number;
  rejected: number;
  wakes: number;
  aborted: boolean;
}

/** The first message a worker posts. */
export const READY = "ready";

const port = self as unknown as {
  onmessage: ((e: MessageEvent<Job>) => void) | null;
  postMessage(message: Stats | typeof READY): void;
};

function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function stats(index: number): Stats {
  return {
    index,
    executed: 0,
    pushed: 0,
    steals: 0,
    stolen: 0,
    overflows: 0,
    injectPops: 0,
    lifoHits: 0,
    spilledAtEnd: 0,
    rejected: 0,
    wakes: 0,
    aborted: false,
  };
}

function ringJob(job: Job): Stats {
  const q = attachSharedQueues(job.sab);
  const me = job.index;
  const ring = q.rings[me];
  const lifo = q.lifo[me];
  const inject = q.inject;
  const c = new Int32Array(job.counters);
  const st = stats(me);
  const rand = rng(job.seed);
  const sink = {
    pushBatch(ids: Int32Array | number[], count: number): void {
      st.overflows++;
      inject.pushBatch(ids, count);
    },
  };
  const exec = (id: number): void => {
    Atomics.add(c, COUNTERS + id, 1);
    Atomics.add(c, EXECUTED, 1);
    st.executed++;
  };
  const batch = new Int32Array(32);
  let next = job.first;
  let idle = 0;
  while (Atomics.load(c, EXECUTED) < job.total) {
    if (Atomics.load(c, ABORT) !== 0) {
      st.aborted = true;
      break;
    }
    const r = rand() % 100;
    let progress = false;
    if (next < job.end && r < 35) {
      // A burst of new tasks; some through the LIFO slot, whose previous
      // occupant moves to the ring (as a scheduler does on spawn).
      const burst = 1 + (rand() % 300);
      for (let k = 0; k < burst && next < job.end; k++) {
        const id = next++;
        st.pushed++;
        if ((rand() & 7) === 0) {
          const prev = lifo.swap(id);
          if (prev >= 0) ring.push(prev, sink);
        } else {
          ring.push(id, sink);
        }
      }
      progress = true;
    } else if (r < 70) {
      const fromLifo = lifo.take();
      if (fromLifo >= 0) {
        st.lifoHits++;
        exec(fromLifo);
        progress = true;
      }
      const n = 1 + (rand() % 8);
      for (let k = 0; k < n; k++) {
        const id = ring.pop();
        if (id < 0) break;
        exec(id);
        progress = true;
      }
    } else if (r < 88) {
      if (job.workers > 1) {
        let victim = rand() % (job.workers - 1);
        if (victim >= me) victim++;
        const before = ring.length;
        const id = q.rings[victim].stealInto(ring);
        if (id >= 0) {
          st.steals++;
          st.stolen += 1 + ring.length - before;
          exec(id);
          progress = true;
        }
      }
    } else {
      const n = inject.popBatch(batch, 1 + (rand() % batch.length));
      if (n > 0) {
        st.injectPops += n;
        exec(batch[0]);
        // Re-queue the rest locally, as a scheduler refilling its ring does.
        for (let k = 1; k < n; k++) ring.push(batch[k], sink);
        progress = true;
      }
    }
    if (progress) {
      idle = 0;
    } else if (++idle > 64) {
      Atomics.wait(c, SLEEP, 0, 0.05); // let the 2 cores go to workers with work
      idle = 0;
    }
  }
  st.spilledAtEnd = inject.spilled;
  return st;
}

function injectJob(job: Job): Stats {
  const q = attachSharedQueues(job.sab);
  const inject = q.inject;
  const c = new Int32Array(job.counters);
  const st = stats(job.index);
  const rand = rng(job.seed);
  const exec = (id: number): void => {
    Atomics.add(c, COUNTERS + id, 1);
    Atomics.add(c, EXECUTED, 1);
    st.executed++;
  };
  const buf = new Int32Array(64);
  const out = new Int32Array(64);
  let next = job.first;
  let idle = 0;
  while (Atomics.load(c, EXECUTED) < job.total) {
    if (Atomics.load(c, ABORT) !== 0) {
      st.aborted = true;
      break;
    }
    const r = rand() % 100;
    let progress = false;
    if (next < job.end && r < 30) {
      if (inject.push(next)) {
        next++;
        st.pushed++;
        progress = true;
      } else {
        st.rejected++;
      }
    } else if (next < job.end && r < 50) {
      const n = Math.min(1 + (rand() % buf.length), job.end - next);
      for (let k = 0; k < n; k++) buf[k] = next + k;
      inject.pushBatch(buf, n); // never fails: spills what does not fit
      next += n;
      st.pushed += n;
      progress = true;
    } else if (r < 75) {
      const id = inject.pop();
      if (id >= 0) {
        st.injectPops++;
        exec(id);
        progress = true;
      }
    } else {
      const n = inject.popBatch(out, 1 + (rand() % out.length));
      for (let k = 0; k < n; k++) exec(out[k]);
      st.injectPops += n;
      progress = n > 0;
    }
    if (progress) {
      idle = 0;
    } else if (++idle > 64) {
      Atomics.wait(c, SLEEP, 0, 0.05);
      idle = 0;
    }
  }
  st.spilledAtEnd = inject.spilled;
  return st;
}

/** Park until notified, `rounds` times; each wake is counted in the executed word. */
function parkJob(job: Job): Stats {
  const q = attachSharedQueues(job.sab);
  const idle = q.idle;
  const me = job.index;
  const c = new Int32Array(job.counters);
  const st = stats(me);
  for (let round = 0; round < (job.rounds ?? 0); round++) {
    idle.transitionWorkerToParked(me);
    while (idle.isParked(me)) {
      if (Atomics.load(c, ABORT) !== 0) {
        st.aborted = true;
        idle.unparkWorker(me);
        return st;
      }
      if (idle.park(me, 20)) st.wakes++;
    }
    // Removed from the sleepers by a notifier: we come back holding its search.
    const searching = idle.numSearching;
    if (searching < 1) throw new Error(`woken worker ${me} not counted as searching`);
    // Its notifier records the search as ours just after clearing our sleeper bit.
    while (!idle.isSearching(me));
    idle.transitionWorkerFromSearching(me);
    Atomics.add(c, COUNTERS + me, 1);
    Atomics.add(c, EXECUTED, 1);
    st.executed++;
  }
  return st;
}

port.onmessage = (e: MessageEvent<Job>) => {
  const job = e.data;
  const result = job.mode === "ring"
    ? ringJob(job)
    : job.mode === "inject"
    ? injectJob(job)
    : parkJob(job);
  port.postMessage(result);
};
// Only in a Worker: the test imports this module's constants on the main thread too.
if (typeof port.postMessage === "function") port.postMessage(READY);
