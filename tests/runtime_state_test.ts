/**
 * The task header state word (runtime/task/task_state.ts) and the header table.
 *
 * Part 1: every transition from every start state that matters, through both
 * word-operation sets (ATOMIC on a SharedArrayBuffer, LOCAL on a plain array).
 *
 * Part 2: an exhaustive model check. Actors — one or two schedulers (poll
 * cycle: toRunning → complete or toIdle/requeue), a waker (wake-by-ref 1–2
 * times), an aborter (toNotifiedAndCancel) and a join handle (drop =
 * unsetJoinInterest) — each step applying ONE transition function to a shared
 * word; the run queue is a multiset of entries for the one task. A DFS visits
 * every interleaving and checks the invariants after every step and at every
 * terminal state. It runs twice: with the general transitions (ATOMIC), and
 * with the plain-store forms the scheduler's hot path uses
 * (toNotifiedByRefLocal; toRunningFast and toIdleFast, each falling back to
 * the general transition as the scheduler does).
 *
 * Part 3: those plain-store forms agree with the general transitions (LOCAL)
 * on every word: same outcome, same word after.
 */

import assert from "node:assert/strict";
import {
  ATOMIC,
  CANCELLED,
  COMPLETE,
  FLAGS_MASK,
  INITIAL_STATE,
  JOIN_INTEREST,
  JOIN_WAKER,
  LOCAL,
  NOTIFIED,
  REF_ONE,
  refCount,
  refDec,
  refInc,
  RUNNING,
  setJoinWaker,
  toComplete,
  ToIdle,
  toIdle,
  toIdleFast,
  ToNotified,
  toNotifiedAndCancel,
  toNotifiedByRef,
  toNotifiedByRefLocal,
  ToRunning,
  toRunning,
  toRunningFast,
  toShutdown,
  unsetJoinInterest,
  type WordOps,
} from "../runtime/task/task_state.ts";
import { HeaderTable, SENTINEL_SLOT } from "../runtime/task/header_table.ts";

// ---------------------------------------------------------------------------
// Part 1: single transitions

const OPS: [string, WordOps, () => Int32Array][] = [
  ["ATOMIC/shared", ATOMIC, () => new Int32Array(new SharedArrayBuffer(8))],
  ["LOCAL/plain", LOCAL, () => new Int32Array(2)],
];

/** A word with `flags` and `refs` references, at index 1 (index 0 is a canary). */
function word(make: () => Int32Array, flags: number, refs: number): Int32Array {
  const w = make();
  w[0] = 0x5a5a;
  w[1] = refs * REF_ONE | flags;
  return w;
}

function flagsOf(w: Int32Array): number {
  return w[1] & FLAGS_MASK;
}

function refsOf(w: Int32Array): number {
  return refCount(w[1]);
}

for (const [name, ops, make] of OPS) {
  Deno.test(`state word [${name}]: toRunning from every start state`, () => {
    // Notified (a fresh task): Success, NOTIFIED → RUNNING, refs unchanged.
    let w = word(make, 0, 0);
    w[1] = INITIAL_STATE;
    assert.equal(toRunning(w, 1, ops), ToRunning.Success);
    assert.equal(flagsOf(w), RUNNING | JOIN_INTEREST);
    assert.equal(refsOf(w), 3);
    assert.equal(w[0], 0x5a5a, "only the given index is touched");

    // Notified and cancelled: Cancelled, it owns RUNNING now.
    w = word(make, NOTIFIED | CANCELLED | JOIN_INTEREST, 2);
    assert.equal(toRunning(w, 1, ops), ToRunning.Cancelled);
    assert.equal(flagsOf(w), RUNNING | CANCELLED | JOIN_INTEREST);
    assert.equal(refsOf(w), 2);

    // Already running: Failed; the entry's reference is dropped, flags untouched.
    w = word(make, RUNNING | NOTIFIED, 2);
    assert.equal(toRunning(w, 1, ops), ToRunning.Failed);
    assert.equal(flagsOf(w), RUNNING | NOTIFIED);
    assert.equal(refsOf(w), 1);

    // Complete, two references: Failed, one left.
    w = word(make, COMPLETE | NOTIFIED, 2);
    assert.equal(toRunning(w, 1, ops), ToRunning.Failed);
    assert.equal(flagsOf(w), COMPLETE | NOTIFIED);
    assert.equal(refsOf(w), 1);

    // Complete, the entry held the last reference: Dealloc.
    w = word(make, COMPLETE, 1);
    assert.equal(toRunning(w, 1, ops), ToRunning.Dealloc);
    assert.equal(refsOf(w), 0);
  });

  Deno.test(`state word [${name}]: toIdle from every start state`, () => {
    let w = word(make, RUNNING | JOIN_INTEREST, 2);
    assert.equal(toIdle(w, 1, ops), ToIdle.Ok);
    assert.equal(flagsOf(w), JOIN_INTEREST);
    assert.equal(refsOf(w), 1, "the queue entry's reference is consumed");

    w = word(make, RUNNING | NOTIFIED | JOIN_INTEREST, 2);
    assert.equal(toIdle(w, 1, ops), ToIdle.OkNotified);
    assert.equal(flagsOf(w), NOTIFIED | JOIN_INTEREST);
    assert.equal(refsOf(w), 2, "the reference carries over to the new entry");

    w = word(make, RUNNING, 1);
    assert.equal(toIdle(w, 1, ops), ToIdle.OkDealloc);
    assert.equal(refsOf(w), 0);
    assert.equal(flagsOf(w), 0);

    w = word(make, RUNNING | CANCELLED | NOTIFIED, 2);
    assert.equal(toIdle(w, 1, ops), ToIdle.Cancelled);
    assert.equal(flagsOf(w), RUNNING | CANCELLED | NOTIFIED, "the canceller keeps RUNNING");
    assert.equal(refsOf(w), 2);
  });

  Deno.test(`state word [${name}]: toNotifiedByRef from every start state`, () => {
    let w = word(make, JOIN_INTEREST, 1);
    assert.equal(toNotifiedByRef(w, 1, ops), ToNotified.Submit);
    assert.equal(flagsOf(w), NOTIFIED | JOIN_INTEREST);
    assert.equal(refsOf(w), 2, "the new queue entry holds a reference");

    // Already notified: nothing (never two queue entries).
    assert.equal(toNotifiedByRef(w, 1, ops), ToNotified.DoNothing);
    assert.equal(flagsOf(w), NOTIFIED | JOIN_INTEREST);
    assert.equal(refsOf(w), 2);

    // Running: only NOTIFIED, no reference (the poller re-queues).
    w = word(make, RUNNING, 1);
    assert.equal(toNotifiedByRef(w, 1, ops), ToNotified.DoNothing);
    assert.equal(flagsOf(w), RUNNING | NOTIFIED);
    assert.equal(refsOf(w), 1);
    assert.equal(toNotifiedByRef(w, 1, ops), ToNotified.DoNothing);
    assert.equal(flagsOf(w), RUNNING | NOTIFIED);
    assert.equal(refsOf(w), 1);

    // Complete: nothing at all.
    w = word(make, COMPLETE | JOIN_INTEREST, 1);
    assert.equal(toNotifiedByRef(w, 1, ops), ToNotified.DoNothing);
    assert.equal(flagsOf(w), COMPLETE | JOIN_INTEREST);
    assert.equal(refsOf(w), 1);
  });

  Deno.test(`state word [${name}]: toNotifiedAndCancel from every start state`, () => {
    let w = word(make, JOIN_INTEREST, 1);
    assert.equal(toNotifiedAndCancel(w, 1, ops), ToNotified.Submit);
    assert.equal(flagsOf(w), NOTIFIED | CANCELLED | JOIN_INTEREST);
    assert.equal(refsOf(w), 2);

    // Second abort: nothing.
    assert.equal(toNotifiedAndCancel(w, 1, ops), ToNotified.DoNothing);
    assert.equal(flagsOf(w), NOTIFIED | CANCELLED | JOIN_INTEREST);
    assert.equal(refsOf(w), 2);

    // Queued (notified, idle): mark only; the existing entry will see it.
    w = word(make, NOTIFIED, 2);
    assert.equal(toNotifiedAndCancel(w, 1, ops), ToNotified.DoNothing);
    assert.equal(flagsOf(w), NOTIFIED | CANCELLED);
    assert.equal(refsOf(w), 2);

    // Running: mark only; the poller cancels when the poll ends.
    w = word(make, RUNNING, 1);
    assert.equal(toNotifiedAndCancel(w, 1, ops), ToNotified.DoNothing);
    assert.equal(flagsOf(w), RUNNING | CANCELLED);
    assert.equal(refsOf(w), 1);

    // Complete: nothing.
    w = word(make, COMPLETE, 1);
    assert.equal(toNotifiedAndCancel(w, 1, ops), ToNotified.DoNothing);
    assert.equal(flagsOf(w), COMPLETE);
    assert.equal(refsOf(w), 1);
  });

  Deno.test(`state word [${name}]: toShutdown from every start state`, () => {
    let w = word(make, JOIN_INTEREST, 2);
    assert.equal(toShutdown(w, 1, ops), true, "idle: the caller claims it");
    assert.equal(flagsOf(w) & (RUNNING | CANCELLED), RUNNING | CANCELLED);
    assert.equal(refsOf(w), 2);
    assert.equal(toShutdown(w, 1, ops), false, "now running: not claimed twice");

    w = word(make, NOTIFIED, 2);
    assert.equal(toShutdown(w, 1, ops), true, "queued but idle: claimed");
    assert.equal(flagsOf(w) & (RUNNING | CANCELLED), RUNNING | CANCELLED);

    w = word(make, RUNNING, 1);
    assert.equal(toShutdown(w, 1, ops), false, "running: the poller cancels it");
    assert.equal(flagsOf(w), RUNNING | CANCELLED);

    w = word(make, COMPLETE, 1);
    assert.equal(toShutdown(w, 1, ops), false, "complete: nothing to cancel");
    assert.equal(flagsOf(w) & (RUNNING | COMPLETE), COMPLETE);
    assert.equal(refsOf(w), 1);
  });

  Deno.test(`state word [${name}]: toComplete keeps join bits and references`, () => {
    let w = word(make, RUNNING | JOIN_INTEREST | JOIN_WAKER, 2);
    const after = toComplete(w, 1, ops);
    assert.equal(after, w[1], "returns the state after");
    assert.equal(flagsOf(w), COMPLETE | JOIN_INTEREST | JOIN_WAKER);
    assert.equal(refsOf(w), 2);

    w = word(make, RUNNING | NOTIFIED | CANCELLED, 1);
    toComplete(w, 1, ops);
    assert.equal(flagsOf(w) & (RUNNING | COMPLETE), COMPLETE);
    assert.equal(refsOf(w), 1);
  });

  Deno.test(`state word [${name}]: setJoinWaker / unsetJoinInterest`, () => {
    let w = word(make, JOIN_INTEREST | NOTIFIED, 3);
    assert.equal(setJoinWaker(w, 1, ops), true);
    assert.equal(flagsOf(w), JOIN_INTEREST | NOTIFIED | JOIN_WAKER);
    assert.equal(refsOf(w), 3);

    w = word(make, COMPLETE | JOIN_INTEREST, 1);
    assert.equal(setJoinWaker(w, 1, ops), false, "complete: read the output instead");
    assert.equal(flagsOf(w), COMPLETE | JOIN_INTEREST);

    // Drop before completion.
    w = word(make, JOIN_INTEREST | JOIN_WAKER | RUNNING, 2);
    assert.deepEqual(unsetJoinInterest(w, 1, ops), { complete: false, last: false });
    assert.equal(flagsOf(w), RUNNING);
    assert.equal(refsOf(w), 1);
    assert.throws(() => unsetJoinInterest(w, 1, ops), /join interest dropped twice/);

    // Drop after completion, last reference.
    w = word(make, COMPLETE | JOIN_INTEREST | JOIN_WAKER, 1);
    assert.deepEqual(unsetJoinInterest(w, 1, ops), { complete: true, last: true });
    assert.equal(w[1], COMPLETE);
  });

  Deno.test(`state word [${name}]: refInc / refDec, underflow throws`, () => {
    const w = word(make, NOTIFIED | JOIN_INTEREST, 1);
    refInc(w, 1, ops);
    refInc(w, 1, ops);
    assert.equal(refsOf(w), 3);
    assert.equal(flagsOf(w), NOTIFIED | JOIN_INTEREST, "flags untouched");
    assert.equal(refDec(w, 1, 1, ops), false);
    assert.equal(refDec(w, 1, 1, ops), false);
    assert.equal(refDec(w, 1, 1, ops), true, "the last one says release");
    assert.equal(refsOf(w), 0);
    assert.throws(() => refDec(w, 1, 1, ops), /underflow/);

    const v = word(make, COMPLETE, 1);
    assert.throws(() => refDec(v, 1, 2, ops), /underflow/);
    const u = word(make, COMPLETE, 3);
    assert.equal(refDec(u, 1, 2, ops), false);
    assert.equal(refDec(u, 1, 1, ops), true);
  });
}

Deno.test("state word: a refDec underflow does not leave a negative count behind", () => {
  // BUG (runtime/task/task_state.ts refDec): it subtracts first and checks after, so the
  // throw leaves the word with a negative reference count (and flags borrowed).
  for (const [, ops, make] of OPS) {
    const w = word(make, COMPLETE, 1);
    assert.throws(() => refDec(w, 1, 2, ops), /underflow/);
    assert.ok(w[1] >= 0, `word is ${w[1]} after the failed refDec`);
    assert.equal(refsOf(w), 1);
    assert.equal(flagsOf(w), COMPLETE);
  }
});

Deno.test("state word: toRunning refuses a stale entry (idle, not NOTIFIED)", () => {
  // A queue entry exists only while NOTIFIED is set (module invariant). An entry
  // that finds the task idle and not notified is stale: polling it would be a
  // spurious poll. BUG (runtime/task/task_state.ts toRunning): it claims the task anyway.
  const w = new Int32Array([2 * REF_ONE | JOIN_INTEREST]);
  const r = toRunning(w, 0, LOCAL);
  assert.equal(r, ToRunning.Failed, "a stale entry must be dropped, not polled");
  assert.equal(w[0] & RUNNING, 0);
});

Deno.test("header table: sentinel, reuse, growth, bad slots", () => {
  assert.throws(() => new HeaderTable(1), RangeError);
  assert.throws(() => new HeaderTable(2.5), RangeError);
  const t = new HeaderTable(2);
  assert.equal(t.words[SENTINEL_SLOT], COMPLETE);
  const a = t.alloc(INITIAL_STATE);
  assert.equal(a, 1);
  const b = t.alloc(INITIAL_STATE); // grows
  const c = t.alloc(INITIAL_STATE);
  assert.deepEqual([a, b, c], [1, 2, 3]);
  assert.ok(t.words.length >= 4);
  assert.equal(t.words[SENTINEL_SLOT], COMPLETE, "growth keeps the sentinel");
  assert.equal(t.words[a], INITIAL_STATE, "growth keeps the words");
  assert.equal(t.live, 3);
  t.free(b);
  assert.equal(t.words[b], COMPLETE, "a freed slot reads complete");
  assert.equal(t.live, 2);
  assert.equal(t.alloc(64), b, "freed slots are reused");
  assert.throws(() => t.free(SENTINEL_SLOT), RangeError);
  assert.throws(() => t.free(99), RangeError);
  // Stale wakes/aborts through the sentinel do nothing.
  assert.equal(toNotifiedByRef(t.words, SENTINEL_SLOT, LOCAL), ToNotified.DoNothing);
  assert.equal(toNotifiedAndCancel(t.words, SENTINEL_SLOT, LOCAL), ToNotified.DoNothing);
  assert.equal(setJoinWaker(t.words, SENTINEL_SLOT, LOCAL), false);
  assert.equal(t.words[SENTINEL_SLOT], COMPLETE);
});

// ---------------------------------------------------------------------------
// Part 2: exhaustive interleavings

/** Phase of one scheduler actor. */
const S_IDLE = 0; // may pop an entry
const S_POLLING = 1; // toRunning said Success: next, the body returns or pends
const S_CANCELLING = 2; // toRunning/toIdle said Cancelled: next, complete as cancelled

/** The transitions the scheduler and waker actors apply. */
interface Transitions {
  name: string;
  toRunning(w: Int32Array, i: number): ToRunning;
  toIdle(w: Int32Array, i: number): ToIdle;
  toNotifiedByRef(w: Int32Array, i: number): ToNotified;
}

/** The general transitions (compare-exchange loops through Atomics). */
const GENERAL: Transitions = {
  name: "general",
  toRunning: (w, i) => toRunning(w, i),
  toIdle: (w, i) => toIdle(w, i),
  toNotifiedByRef: (w, i) => toNotifiedByRef(w, i),
};

/** The scheduler's toRunning: the plain-store common case, else the general transition. */
function schedulerToRunning(w: Int32Array, i: number): ToRunning {
  return toRunningFast(w, i) ? ToRunning.Success : toRunning(w, i, LOCAL);
}

/** The scheduler's toIdle: the plain-store common case, else the general transition. */
function schedulerToIdle(w: Int32Array, i: number): ToIdle {
  return toIdleFast(w, i) ? ToIdle.OkNotified : toIdle(w, i, LOCAL);
}

/** What runtime/scheduler/scheduler.ts does on its isolate-private table. */
const SCHEDULER_LOCAL: Transitions = {
  name: "scheduler plain-store",
  toRunning: schedulerToRunning,
  toIdle: schedulerToIdle,
  toNotifiedByRef: toNotifiedByRefLocal,
};

interface ModelConfig {
  transitions: Transitions;
  schedulers: number;
  wakes: number;
  abort: boolean;
  join: boolean;
}

interface ModelState {
  word: number;
  /** Queue entries (a multiset of entries of the one task: just a count). */
  entries: number;
  sched: number[];
  /** Per scheduler: an abort arrived during the poll in progress. */
  abortInPoll: boolean[];
  wakesLeft: number;
  abortLeft: boolean;
  joinLeft: boolean;
  ownerHeld: boolean;
  joinHeld: boolean;
  /** A wake happened and no poll has started since. */
  pendingWake: boolean;
  /** Abort requested while not complete. */
  aborted: boolean;
  /** A Success poll started after the abort. */
  polledAfterAbort: boolean;
  outcome: "none" | "ok" | "cancelled";
  okFromAbortedPoll: boolean;
  trace: string[];
}

function clone(s: ModelState): ModelState {
  return {
    ...s,
    sched: s.sched.slice(),
    abortInPoll: s.abortInPoll.slice(),
    trace: s.trace.slice(),
  };
}

/** Apply a transition function to the model's word. */
function apply<R>(s: ModelState, f: (w: Int32Array) => R): R {
  const w = new Int32Array([s.word]);
  const r = f(w);
  s.word = w[0];
  return r;
}

function checkStep(s: ModelState): void {
  const where = () => s.trace.join(" → ");
  assert.ok(s.word >= 0, `negative word ${s.word}: ${where()}`);
  assert.ok(s.entries <= 1, `two queue entries for one task: ${where()}`);
  const running = s.sched.filter((p) => p !== S_IDLE).length;
  assert.ok(running <= 1, `polled by two schedulers at once: ${where()}`);
  assert.equal(
    (s.word & RUNNING) !== 0,
    running === 1,
    `RUNNING bit disagrees with the pollers: ${where()}`,
  );
  assert.ok(
    (s.word & (RUNNING | COMPLETE)) !== (RUNNING | COMPLETE),
    `RUNNING and COMPLETE both set: ${where()}`,
  );
  const expected = (s.ownerHeld ? 1 : 0) + (s.joinHeld ? 1 : 0) + s.entries + running;
  assert.equal(
    refCount(s.word),
    expected,
    `refcount ${refCount(s.word)} != owner+join+entries(+poller) ${expected}: ${where()}`,
  );
  assert.equal(
    (s.word & JOIN_INTEREST) !== 0,
    s.joinHeld,
    `JOIN_INTEREST disagrees with the handle: ${where()}`,
  );
}

function checkTerminal(s: ModelState): void {
  const where = () => s.trace.join(" → ");
  const complete = (s.word & COMPLETE) !== 0;
  assert.equal(s.entries, 0);
  if (s.pendingWake) assert.ok(complete, `a wake after the last poll was lost: ${where()}`);
  if (s.aborted) {
    assert.ok(complete, `aborted but never completed: ${where()}`);
    assert.ok(
      s.outcome === "cancelled" || s.okFromAbortedPoll,
      `aborted, yet completed as ${s.outcome}: ${where()}`,
    );
    assert.ok(!s.polledAfterAbort, `body polled after abort: ${where()}`);
  }
  if (complete) assert.ok(!s.ownerHeld, "owner reference released at completion");
}

/** Finish the task on scheduler `k` (body returned, or cancelled). */
function complete(s: ModelState, k: number, outcome: "ok" | "cancelled"): void {
  const after = apply(s, (w) => toComplete(w, 0));
  assert.equal(after & (RUNNING | COMPLETE), COMPLETE);
  s.outcome = outcome;
  if (outcome === "ok" && s.abortInPoll[k]) s.okFromAbortedPoll = true;
  s.sched[k] = S_IDLE;
  s.abortInPoll[k] = false;
  // The poller's (running) reference and the owner list's are released.
  apply(s, (w) => refDec(w, 0, 2));
  s.ownerHeld = false;
}

function successors(s: ModelState, cfg: ModelConfig): ModelState[] {
  const out: ModelState[] = [];
  for (let k = 0; k < cfg.schedulers; k++) {
    const phase = s.sched[k];
    if (phase === S_IDLE && s.entries > 0) {
      const n = clone(s);
      n.entries--;
      const r = apply(n, (w) => cfg.transitions.toRunning(w, 0));
      n.trace.push(`S${k}.toRunning=${r}`);
      if (r === ToRunning.Success) {
        n.sched[k] = S_POLLING;
        n.pendingWake = false;
        if (n.aborted) n.polledAfterAbort = true;
      } else if (r === ToRunning.Cancelled) {
        n.sched[k] = S_CANCELLING;
        n.pendingWake = false;
      } else {
        throw new Error(`unexpected toRunning ${r}: ${n.trace.join(" → ")}`);
      }
      out.push(n);
    } else if (phase === S_POLLING) {
      // The body returns…
      const a = clone(s);
      a.trace.push(`S${k}.return`);
      complete(a, k, "ok");
      out.push(a);
      // …or pends.
      const b = clone(s);
      const r = apply(b, (w) => cfg.transitions.toIdle(w, 0));
      b.trace.push(`S${k}.toIdle=${r}`);
      if (r === ToIdle.Ok || r === ToIdle.OkDealloc) {
        b.sched[k] = S_IDLE;
        b.abortInPoll[k] = false;
        assert.equal(r === ToIdle.OkDealloc, refCount(b.word) === 0);
      } else if (r === ToIdle.OkNotified) {
        b.sched[k] = S_IDLE;
        b.abortInPoll[k] = false;
        b.entries++;
      } else {
        b.sched[k] = S_CANCELLING;
      }
      out.push(b);
    } else if (phase === S_CANCELLING) {
      const c = clone(s);
      c.trace.push(`S${k}.cancel`);
      complete(c, k, "cancelled");
      out.push(c);
    }
  }
  if (s.wakesLeft > 0) {
    const n = clone(s);
    n.wakesLeft--;
    const wasComplete = (n.word & COMPLETE) !== 0;
    const r = apply(n, (w) => cfg.transitions.toNotifiedByRef(w, 0));
    n.trace.push(`W.wake=${r}`);
    if (r === ToNotified.Submit) n.entries++;
    if (!wasComplete) n.pendingWake = true;
    out.push(n);
  }
  if (s.abortLeft) {
    const n = clone(s);
    n.abortLeft = false;
    const wasComplete = (n.word & COMPLETE) !== 0;
    const r = apply(n, (w) => toNotifiedAndCancel(w, 0));
    n.trace.push(`A.abort=${r}`);
    if (r === ToNotified.Submit) n.entries++;
    if (!wasComplete) {
      n.aborted = true;
      for (let k = 0; k < cfg.schedulers; k++) {
        if (n.sched[k] === S_POLLING) n.abortInPoll[k] = true;
      }
    }
    out.push(n);
  }
  if (s.joinLeft) {
    const n = clone(s);
    n.joinLeft = false;
    const wasComplete = (n.word & COMPLETE) !== 0;
    const r = apply(n, (w) => unsetJoinInterest(w, 0));
    n.trace.push(`J.drop`);
    n.joinHeld = false;
    assert.equal(r.complete, wasComplete);
    assert.equal(r.last, refCount(n.word) === 0);
    out.push(n);
  }
  return out;
}

function explore(cfg: ModelConfig): { states: number; terminals: number } {
  const init: ModelState = {
    word: INITIAL_STATE,
    entries: 1,
    sched: new Array(cfg.schedulers).fill(S_IDLE),
    abortInPoll: new Array(cfg.schedulers).fill(false),
    wakesLeft: cfg.wakes,
    abortLeft: cfg.abort,
    joinLeft: cfg.join,
    ownerHeld: true,
    joinHeld: true,
    pendingWake: false,
    aborted: false,
    polledAfterAbort: false,
    outcome: "none",
    okFromAbortedPoll: false,
    trace: [],
  };
  let states = 0;
  let terminals = 0;
  const stack: ModelState[] = [init];
  while (stack.length > 0) {
    const s = stack.pop()!;
    states++;
    checkStep(s);
    const next = successors(s, cfg);
    if (next.length === 0) {
      terminals++;
      checkTerminal(s);
    } else {
      for (const n of next) stack.push(n);
    }
  }
  return { states, terminals };
}

for (const transitions of [GENERAL, SCHEDULER_LOCAL]) {
  Deno.test(`state word model (${transitions.name} transitions): every interleaving of scheduler, waker, aborter, join drop`, () => {
    const t0 = performance.now();
    let total = 0;
    let sawCancel = 0;
    for (const schedulers of [1, 2]) {
      for (const wakes of [0, 1, 2]) {
        for (const abort of [false, true]) {
          for (const join of [false, true]) {
            const { states, terminals } = explore({ transitions, schedulers, wakes, abort, join });
            assert.ok(terminals > 0);
            total += states;
            if (abort) sawCancel++;
          }
        }
      }
    }
    assert.ok(total > 1000, `explored only ${total} states`);
    assert.equal(sawCancel, 12);
    assert.ok(performance.now() - t0 < 20_000, "model check stays small");
  });
}

Deno.test("state word model: the checker catches a broken transition (mutation check)", () => {
  // The same DFS over a mutated toNotifiedByRef that always submits must fail:
  // proof that the invariants are not vacuous.
  const cfg: ModelConfig = {
    transitions: GENERAL,
    schedulers: 1,
    wakes: 2,
    abort: false,
    join: false,
  };
  const broken = (s: ModelState): ModelState[] => {
    const out = successors({ ...clone(s), wakesLeft: 0 }, cfg);
    if (s.wakesLeft > 0) {
      const n = clone(s);
      n.wakesLeft--;
      // Mutant: submit even when NOTIFIED or RUNNING.
      n.word = (n.word | NOTIFIED) + REF_ONE;
      n.entries++;
      n.pendingWake = true;
      n.trace.push("W.mutant");
      out.push(n);
    }
    return out;
  };
  assert.throws(() => {
    const stack: ModelState[] = [{
      word: INITIAL_STATE,
      entries: 1,
      sched: [S_IDLE],
      abortInPoll: [false],
      wakesLeft: 2,
      abortLeft: false,
      joinLeft: false,
      ownerHeld: true,
      joinHeld: true,
      pendingWake: false,
      aborted: false,
      polledAfterAbort: false,
      outcome: "none",
      okFromAbortedPoll: false,
      trace: [],
    }];
    while (stack.length > 0) {
      const s = stack.pop()!;
      checkStep(s);
      for (const n of broken(s)) stack.push(n);
    }
  }, /two queue entries|refcount|unexpected toRunning/);
});

// ---------------------------------------------------------------------------
// Part 3: the scheduler's plain-store forms agree with the general transitions

/** Every flag combination with 0–3 references. */
function everyWord(): number[] {
  const out: number[] = [];
  for (let refs = 0; refs <= 3; refs++) {
    for (let flags = 0; flags <= FLAGS_MASK; flags++) out.push(refs * REF_ONE | flags);
  }
  return out;
}

/** The first word on which `fast` and `general` differ (outcome or word after), or null. */
function disagreement(
  fast: (w: Int32Array, i: number) => number,
  general: (w: Int32Array, i: number) => number,
): string | null {
  for (const start of everyWord()) {
    const a = new Int32Array([start]);
    const b = new Int32Array([start]);
    const ra = fast(a, 0);
    const rb = general(b, 0);
    if (ra !== rb || a[0] !== b[0]) {
      return `from ${start}: ${ra} → ${a[0]} (plain-store) vs ${rb} → ${b[0]} (general)`;
    }
  }
  return null;
}

Deno.test("state word: the scheduler's plain-store transitions agree with the general ones on every word", () => {
  assert.equal(
    disagreement(toNotifiedByRefLocal, (w, i) => toNotifiedByRef(w, i, LOCAL)),
    null,
  );
  assert.equal(disagreement(schedulerToRunning, (w, i) => toRunning(w, i, LOCAL)), null);
  assert.equal(disagreement(schedulerToIdle, (w, i) => toIdle(w, i, LOCAL)), null);
});

Deno.test("state word: the agreement check catches a broken plain-store copy (mutation check)", () => {
  // Mutant: the toRunning fast case forgets CANCELLED, so an aborted task is polled.
  const mutantFast = (w: Int32Array, i: number): boolean => {
    const cur = w[i];
    if ((cur & (RUNNING | COMPLETE | NOTIFIED)) !== NOTIFIED) return false;
    w[i] = cur ^ (RUNNING | NOTIFIED);
    return true;
  };
  const mutant = (w: Int32Array, i: number): ToRunning =>
    mutantFast(w, i) ? ToRunning.Success : toRunning(w, i, LOCAL);
  assert.notEqual(disagreement(mutant, (w, i) => toRunning(w, i, LOCAL)), null);
});
