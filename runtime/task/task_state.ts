/**
 * The task header state word, after Tokio's `runtime/task/state.rs`.
 *
 * One 32-bit word per task, kept in an `Int32Array` (SharedArrayBuffer-backed
 * for tasks other workers may wake): six flag bits and, above them, a
 * reference count in units of {@linkcode REF_ONE}. Every transition is one
 * `Atomics.compareExchange` loop, so the word is correct when several
 * workers race on it.
 *
 * The word operations are a parameter ({@linkcode WordOps}): {@linkcode ATOMIC}
 * (real `Atomics`, the default, for SharedArrayBuffer-backed headers) or
 * {@linkcode LOCAL} (plain loads and a plain compare-and-store, for headers
 * only one isolate touches — JS runs one thread per isolate, so the same
 * loops are then correct without the ~20 ns a locked CAS costs here).
 *
 * The scheduler's hot path uses plain-store forms on its isolate-private
 * table ({@linkcode toNotifiedByRefLocal}, and {@linkcode toRunningFast} and
 * {@linkcode toIdleFast} for the common cases, falling back to the general
 * transitions); they live here, beside the transitions they must agree
 * with, and the tests check both the agreement (every word) and the
 * invariants (every interleaving).
 *
 * Invariants:
 * - RUNNING and COMPLETE are never both set; COMPLETE is final.
 * - NOTIFIED means "queued or to be queued exactly once": a wake while
 *   RUNNING only sets NOTIFIED and the poller re-queues the task once when
 *   its poll ends; a wake while NOTIFIED or COMPLETE does nothing. So a task
 *   is never in a run queue twice and never polled spuriously twice.
 * - Each run-queue entry owns one reference; so do the owner list and the
 *   JoinHandle (while JOIN_INTEREST is set). The slot is released when the
 *   count reaches zero.
 *
 * @module
 */

/**
 * How a transition reads and updates a word.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, LOCAL, toRunning, ToRunning, type WordOps } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const ops: WordOps = LOCAL; // this word is touched by one isolate only
 * const w = new Int32Array([INITIAL_STATE]);
 * assert.equal(toRunning(w, 0, ops), ToRunning.Success);
 * ```
 */
export interface WordOps {
  /** Read word `i`. */
  load(words: Int32Array, i: number): number;
  /** If word `i` equals `expected`, set it to `next`; return what it held. */
  compareExchange(words: Int32Array, i: number, expected: number, next: number): number;
  /** Add `v` to word `i`; return what it held. */
  add(words: Int32Array, i: number, v: number): number;
  /** Subtract `v` from word `i`; return what it held. */
  sub(words: Int32Array, i: number, v: number): number;
  /** Bitwise-and word `i` with `v`; return what it held. */
  and(words: Int32Array, i: number, v: number): number;
}

/**
 * Word operations through `Atomics`: for headers other workers touch.
 *
 * @example
 * ```ts
 * import { ATOMIC, INITIAL_STATE, NOTIFIED } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array(new SharedArrayBuffer(4)); // a word other workers may touch
 * w[0] = INITIAL_STATE;
 * assert.equal(ATOMIC.and(w, 0, ~NOTIFIED), INITIAL_STATE); // returns the old value
 * assert.equal(w[0] & NOTIFIED, 0);
 * ```
 */
export const ATOMIC: WordOps = {
  load: (w, i) => Atomics.load(w, i),
  compareExchange: (w, i, e, n) => Atomics.compareExchange(w, i, e, n),
  add: (w, i, v) => Atomics.add(w, i, v),
  sub: (w, i, v) => Atomics.sub(w, i, v),
  and: (w, i, v) => Atomics.and(w, i, v),
};

class PlainWordOps implements WordOps {
  load(w: Int32Array, i: number): number {
    return w[i];
  }
  compareExchange(w: Int32Array, i: number, e: number, n: number): number {
    const c = w[i];
    if (c === e) w[i] = n;
    return c;
  }
  add(w: Int32Array, i: number, v: number): number {
    const c = w[i];
    w[i] = c + v;
    return c;
  }
  sub(w: Int32Array, i: number, v: number): number {
    const c = w[i];
    w[i] = c - v;
    return c;
  }
  and(w: Int32Array, i: number, v: number): number {
    const c = w[i];
    w[i] = c & v;
    return c;
  }
}

/**
 * Plain word operations: for headers only this isolate touches.
 *
 * @example
 * ```ts
 * import { LOCAL } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([5]);
 * assert.equal(LOCAL.compareExchange(w, 0, 5, 7), 5); // matched: stored 7
 * assert.equal(LOCAL.compareExchange(w, 0, 5, 9), 7); // no match: unchanged
 * assert.equal(w[0], 7);
 * ```
 */
export const LOCAL: WordOps = new PlainWordOps();

/**
 * The task is being polled.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, RUNNING, toIdle, toRunning } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([INITIAL_STATE]);
 * toRunning(w, 0);
 * assert.notEqual(w[0] & RUNNING, 0);
 * toIdle(w, 0);
 * assert.equal(w[0] & RUNNING, 0);
 * ```
 */
export const RUNNING = 1;
/**
 * The task finished (value, error or cancellation); final.
 *
 * @example
 * ```ts
 * import { COMPLETE, INITIAL_STATE, RUNNING, toComplete, toRunning } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([INITIAL_STATE]);
 * toRunning(w, 0);
 * assert.equal(toComplete(w, 0) & (COMPLETE | RUNNING), COMPLETE);
 * ```
 */
export const COMPLETE = 2;
/**
 * The task is in (or about to be pushed to) a run queue.
 *
 * @example
 * ```ts
 * import { NOTIFIED, REF_ONE, toNotifiedByRef } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([REF_ONE]); // idle, one reference
 * toNotifiedByRef(w, 0);
 * assert.equal(w[0], NOTIFIED | 2 * REF_ONE); // queued: the entry holds a reference
 * ```
 */
export const NOTIFIED = 4;
/**
 * A JoinHandle still wants the output.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, JOIN_INTEREST, unsetJoinInterest } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([INITIAL_STATE]);
 * unsetJoinInterest(w, 0); // the JoinHandle was detached
 * assert.equal(w[0] & JOIN_INTEREST, 0);
 * ```
 */
export const JOIN_INTEREST = 8;
/**
 * The JoinHandle registered a waker to be woken at completion.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, JOIN_WAKER, setJoinWaker } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([INITIAL_STATE]);
 * assert.equal(setJoinWaker(w, 0), true);
 * assert.notEqual(w[0] & JOIN_WAKER, 0);
 * ```
 */
export const JOIN_WAKER = 16;
/**
 * The task was asked to stop; its next poll cancels it instead.
 *
 * @example
 * ```ts
 * import {
 *   CANCELLED,
 *   INITIAL_STATE,
 *   toNotifiedAndCancel,
 *   toRunning,
 *   ToRunning,
 * } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([INITIAL_STATE]);
 * toNotifiedAndCancel(w, 0); // abort() while queued
 * assert.notEqual(w[0] & CANCELLED, 0);
 * assert.equal(toRunning(w, 0), ToRunning.Cancelled); // the poll cancels it instead
 * ```
 */
export const CANCELLED = 32;
/**
 * One reference in the count held in the bits above the flags.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, REF_ONE, refCount } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(refCount(INITIAL_STATE), 3);
 * assert.equal(refCount(INITIAL_STATE + REF_ONE), 4);
 * ```
 */
export const REF_ONE = 64;
/**
 * Where the reference count starts: the bit position of {@linkcode REF_ONE}.
 *
 * @example
 * ```ts
 * import { REF_ONE, REF_SHIFT } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(1 << REF_SHIFT, REF_ONE);
 * ```
 */
export const REF_SHIFT: number = 31 - Math.clz32(REF_ONE);
/**
 * Mask of the flag bits.
 *
 * @example
 * ```ts
 * import { FLAGS_MASK, INITIAL_STATE, JOIN_INTEREST, NOTIFIED } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(INITIAL_STATE & FLAGS_MASK, JOIN_INTEREST | NOTIFIED);
 * ```
 */
export const FLAGS_MASK: number = REF_ONE - 1;

/**
 * A new task: owned by the owner list, its JoinHandle and its first run-queue
 * entry (three references), notified, with join interest.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, JOIN_INTEREST, NOTIFIED, refCount } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(refCount(INITIAL_STATE), 3);
 * assert.equal(INITIAL_STATE & (NOTIFIED | JOIN_INTEREST), NOTIFIED | JOIN_INTEREST);
 * ```
 */
export const INITIAL_STATE: number = 3 * REF_ONE | JOIN_INTEREST | NOTIFIED;

/**
 * Outcomes of {@linkcode toRunning}: Success (poll it), Cancelled (cancel it
 * instead; it now owns RUNNING), Failed (it was running or complete: drop
 * this queue entry), Dealloc (as Failed, and that was the last reference).
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, toRunning, ToRunning } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([INITIAL_STATE]);
 * assert.equal(toRunning(w, 0), ToRunning.Success);
 * assert.equal(toRunning(w, 0), ToRunning.Failed); // a stale second queue entry is dropped
 * ```
 */
export const ToRunning = { Success: 0, Cancelled: 1, Failed: 2, Dealloc: 3 } as const;
/**
 * One outcome of {@linkcode toRunning}.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, toRunning, ToRunning } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const outcome: ToRunning = toRunning(new Int32Array([INITIAL_STATE]), 0);
 * assert.equal(outcome, ToRunning.Success);
 * ```
 */
export type ToRunning = typeof ToRunning[keyof typeof ToRunning];

/**
 * Outcomes of {@linkcode toIdle}: Ok (wait for a wake), OkNotified (woken
 * during the poll: queue it again), OkDealloc (idle and that was the last
 * reference), Cancelled (abort arrived during the poll: cancel it now).
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, toIdle, ToIdle, toNotifiedByRef, toRunning } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([INITIAL_STATE]);
 * toRunning(w, 0);
 * toNotifiedByRef(w, 0); // woken during its own poll
 * assert.equal(toIdle(w, 0), ToIdle.OkNotified); // queue it again
 * ```
 */
export const ToIdle = { Ok: 0, OkNotified: 1, OkDealloc: 2, Cancelled: 3 } as const;
/**
 * One outcome of {@linkcode toIdle}.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, toIdle, ToIdle, toRunning } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([INITIAL_STATE]);
 * toRunning(w, 0);
 * const outcome: ToIdle = toIdle(w, 0);
 * assert.equal(outcome, ToIdle.Ok);
 * ```
 */
export type ToIdle = typeof ToIdle[keyof typeof ToIdle];

/**
 * Outcomes of the notify transitions: DoNothing, or Submit (push the task to
 * a run queue; a reference was added for the entry).
 *
 * @example
 * ```ts
 * import { REF_ONE, toNotifiedByRef, ToNotified } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([REF_ONE]); // idle
 * assert.equal(toNotifiedByRef(w, 0), ToNotified.Submit);
 * assert.equal(toNotifiedByRef(w, 0), ToNotified.DoNothing); // already queued
 * ```
 */
export const ToNotified = { DoNothing: 0, Submit: 1 } as const;
/**
 * One outcome of the notify transitions.
 *
 * @example
 * ```ts
 * import { REF_ONE, toNotifiedAndCancel, ToNotified } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const outcome: ToNotified = toNotifiedAndCancel(new Int32Array([REF_ONE]), 0);
 * assert.equal(outcome, ToNotified.Submit);
 * ```
 */
export type ToNotified = typeof ToNotified[keyof typeof ToNotified];

/**
 * The reference count held in a state word.
 *
 * @example
 * ```ts
 * import { refCount, REF_ONE } from "./task_state.ts";
 * import assert from "node:assert/strict";
 * assert.equal(refCount(2 * REF_ONE), 2);
 * ```
 */
export function refCount(state: number): number {
  return state >>> REF_SHIFT;
}

/**
 * Claim a notified task for a poll: clear NOTIFIED, set RUNNING.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, toRunning, RUNNING } from "./task_state.ts";
 * import assert from "node:assert/strict";
 * const w = new Int32Array([INITIAL_STATE]);
 * toRunning(w, 0);
 * assert.notEqual(w[0] & RUNNING, 0);
 * ```
 */
export function toRunning(words: Int32Array, i: number, a: WordOps = ATOMIC): ToRunning {
  for (;;) {
    const cur = a.load(words, i);
    if ((cur & (RUNNING | COMPLETE)) !== 0 || (cur & NOTIFIED) === 0) {
      // A stale entry (running, complete, or idle without a notification):
      // drop this queue entry's reference and do not poll.
      const next = cur - REF_ONE;
      if (a.compareExchange(words, i, cur, next) === cur) {
        return refCount(next) === 0 ? ToRunning.Dealloc : ToRunning.Failed;
      }
      continue;
    }
    const next = (cur | RUNNING) & ~NOTIFIED;
    if (a.compareExchange(words, i, cur, next) === cur) {
      return (next & CANCELLED) !== 0 ? ToRunning.Cancelled : ToRunning.Success;
    }
  }
}

/**
 * End a poll that left the task pending: clear RUNNING. The queue entry's
 * reference is consumed unless the task was notified meanwhile, in which case
 * it carries over to the new entry.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, toRunning, toIdle, ToIdle } from "./task_state.ts";
 * import assert from "node:assert/strict";
 * const w = new Int32Array([INITIAL_STATE]);
 * toRunning(w, 0);
 * assert.equal(toIdle(w, 0), ToIdle.Ok);
 * ```
 */
export function toIdle(words: Int32Array, i: number, a: WordOps = ATOMIC): ToIdle {
  for (;;) {
    const cur = a.load(words, i);
    if ((cur & CANCELLED) !== 0) return ToIdle.Cancelled;
    let next = cur & ~RUNNING;
    let out: ToIdle;
    if ((cur & NOTIFIED) !== 0) {
      out = ToIdle.OkNotified; // the running reference moves to the new queue entry
    } else {
      next -= REF_ONE;
      out = refCount(next) === 0 ? ToIdle.OkDealloc : ToIdle.Ok;
    }
    if (a.compareExchange(words, i, cur, next) === cur) return out;
  }
}

/**
 * Wake by reference (the waker keeps nothing). If idle: set NOTIFIED, add a
 * reference for the queue entry, and say Submit. If running: set NOTIFIED
 * only — the poller re-queues it. If notified or complete: nothing.
 *
 * @example
 * ```ts
 * import { toNotifiedByRef, ToNotified } from "./task_state.ts";
 * import assert from "node:assert/strict";
 * const w = new Int32Array([64]); // idle, one reference
 * assert.equal(toNotifiedByRef(w, 0), ToNotified.Submit);
 * assert.equal(toNotifiedByRef(w, 0), ToNotified.DoNothing);
 * ```
 */
export function toNotifiedByRef(words: Int32Array, i: number, a: WordOps = ATOMIC): ToNotified {
  for (;;) {
    const cur = a.load(words, i);
    if ((cur & (COMPLETE | NOTIFIED)) !== 0) return ToNotified.DoNothing;
    if ((cur & RUNNING) !== 0) {
      if (a.compareExchange(words, i, cur, cur | NOTIFIED) === cur) {
        return ToNotified.DoNothing;
      }
      continue;
    }
    const next = (cur | NOTIFIED) + REF_ONE;
    if (a.compareExchange(words, i, cur, next) === cur) return ToNotified.Submit;
  }
}

/**
 * {@linkcode toNotifiedByRef} on a word only this isolate touches, as plain
 * loads and stores (no WordOps, no compare loop): the scheduler's wake, the
 * hottest transition (every yield, timer and I/O completion). Same result
 * and same word after as `toNotifiedByRef(words, i, LOCAL)`; the model check
 * in tests/runtime_state_test.ts runs it in every interleaving.
 *
 * @param words the header table's words.
 * @param i the task's slot.
 * @returns Submit when the caller must queue the task, else DoNothing.
 *
 * @example
 * ```ts
 * import { REF_ONE, toNotifiedByRefLocal, ToNotified } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([REF_ONE]); // idle, one reference
 * assert.equal(toNotifiedByRefLocal(w, 0), ToNotified.Submit);
 * assert.equal(toNotifiedByRefLocal(w, 0), ToNotified.DoNothing);
 * ```
 */
export function toNotifiedByRefLocal(words: Int32Array, i: number): ToNotified {
  const cur = words[i];
  if ((cur & (COMPLETE | NOTIFIED)) !== 0) return ToNotified.DoNothing;
  if ((cur & RUNNING) !== 0) {
    words[i] = cur | NOTIFIED; // re-queued by its poller when the poll ends
    return ToNotified.DoNothing;
  }
  words[i] = (cur | NOTIFIED) + REF_ONE; // the queue entry's reference
  return ToNotified.Submit;
}

/**
 * The common case of {@linkcode toRunning} on a word only this isolate
 * touches, as one plain store: when the task is notified, idle and not
 * cancelled, set RUNNING, clear NOTIFIED and return true (as `toRunning`
 * saying Success). Otherwise change nothing and return false: the caller
 * then calls `toRunning(words, i, LOCAL)`. The pair agrees with
 * `toRunning(words, i, LOCAL)` alone on every word (checked in
 * tests/runtime_state_test.ts, which also runs the pair in the model).
 *
 * @param words the header table's words.
 * @param i the task's slot.
 * @returns true when the task is now running.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, LOCAL, RUNNING, toRunning, ToRunning, toRunningFast } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([INITIAL_STATE]);
 * const r = toRunningFast(w, 0) ? ToRunning.Success : toRunning(w, 0, LOCAL);
 * assert.equal(r, ToRunning.Success);
 * assert.notEqual(w[0] & RUNNING, 0);
 * ```
 */
export function toRunningFast(words: Int32Array, i: number): boolean {
  const cur = words[i];
  if ((cur & (RUNNING | COMPLETE | NOTIFIED | CANCELLED)) !== NOTIFIED) return false;
  words[i] = cur ^ (RUNNING | NOTIFIED);
  return true;
}

/**
 * The common case of {@linkcode toIdle} on a word only this isolate touches,
 * as one plain store: when the task was woken during its own poll and not
 * cancelled, clear RUNNING (the running reference moves to the new queue
 * entry) and return true (as `toIdle` saying OkNotified). Otherwise change
 * nothing and return false: the caller then calls `toIdle(words, i, LOCAL)`.
 * The pair agrees with `toIdle(words, i, LOCAL)` alone on every word.
 *
 * @param words the header table's words.
 * @param i the task's slot.
 * @returns true when the caller must queue the task again.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, toIdleFast, toNotifiedByRefLocal, toRunningFast } from "./task_state.ts";
 * import assert from "node:assert/strict";
 *
 * const w = new Int32Array([INITIAL_STATE]);
 * toRunningFast(w, 0);
 * toNotifiedByRefLocal(w, 0); // woken during its own poll
 * assert.equal(toIdleFast(w, 0), true); // queue it again
 * ```
 */
export function toIdleFast(words: Int32Array, i: number): boolean {
  const cur = words[i];
  if ((cur & (NOTIFIED | CANCELLED)) !== NOTIFIED) return false;
  words[i] = cur & ~RUNNING;
  return true;
}

/**
 * Remote abort: set CANCELLED and make sure the task gets polled so it can
 * observe it — Submit when it was idle; nothing when running (it is
 * cancelled when its poll ends), already notified, or complete.
 *
 * @example
 * ```ts
 * import { toNotifiedAndCancel, ToNotified, CANCELLED } from "./task_state.ts";
 * import assert from "node:assert/strict";
 * const w = new Int32Array([64]);
 * assert.equal(toNotifiedAndCancel(w, 0), ToNotified.Submit);
 * assert.notEqual(w[0] & CANCELLED, 0);
 * ```
 */
export function toNotifiedAndCancel(words: Int32Array, i: number, a: WordOps = ATOMIC): ToNotified {
  for (;;) {
    const cur = a.load(words, i);
    if ((cur & (COMPLETE | CANCELLED)) !== 0) return ToNotified.DoNothing;
    let next = cur | CANCELLED;
    let out: ToNotified = ToNotified.DoNothing;
    if ((cur & (RUNNING | NOTIFIED)) === 0) {
      next = (next | NOTIFIED) + REF_ONE;
      out = ToNotified.Submit;
    }
    if (a.compareExchange(words, i, cur, next) === cur) return out;
  }
}

/**
 * Shutdown: set CANCELLED and, if the task is idle, claim it (set RUNNING)
 * so the caller cancels it now. Returns true when the caller must cancel it.
 *
 * @example
 * ```ts
 * import { toShutdown } from "./task_state.ts";
 * import assert from "node:assert/strict";
 * const w = new Int32Array([64]);
 * assert.equal(toShutdown(w, 0), true);
 * assert.equal(toShutdown(w, 0), false);
 * ```
 */
export function toShutdown(words: Int32Array, i: number, a: WordOps = ATOMIC): boolean {
  for (;;) {
    const cur = a.load(words, i);
    const idle = (cur & (RUNNING | COMPLETE)) === 0;
    // Claiming an idle task consumes its notification: a queue entry it may
    // still have is then stale and toRunning drops it.
    const next = idle ? (cur | CANCELLED | RUNNING) & ~NOTIFIED : cur | CANCELLED;
    if (a.compareExchange(words, i, cur, next) === cur) return idle;
  }
}

/**
 * Finish a poll that completed the task: RUNNING → COMPLETE. Returns the
 * state after, so the caller sees JOIN_INTEREST and JOIN_WAKER.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, toRunning, toComplete, COMPLETE } from "./task_state.ts";
 * import assert from "node:assert/strict";
 * const w = new Int32Array([INITIAL_STATE]);
 * toRunning(w, 0);
 * assert.notEqual(toComplete(w, 0) & COMPLETE, 0);
 * ```
 */
export function toComplete(words: Int32Array, i: number, a: WordOps = ATOMIC): number {
  for (;;) {
    const cur = a.load(words, i);
    const next = (cur & ~RUNNING) | COMPLETE;
    if (a.compareExchange(words, i, cur, next) === cur) return next;
  }
}

/**
 * Drop `count` references; returns true when none remain (release the slot).
 *
 * @example
 * ```ts
 * import { refDec } from "./task_state.ts";
 * import assert from "node:assert/strict";
 * const w = new Int32Array([128]);
 * assert.equal(refDec(w, 0, 1), false);
 * assert.equal(refDec(w, 0, 1), true);
 * ```
 */
export function refDec(words: Int32Array, i: number, count: number, a: WordOps = ATOMIC): boolean {
  for (;;) {
    const cur = a.load(words, i);
    if (refCount(cur) < count) throw new Error("task reference count underflow");
    if (a.compareExchange(words, i, cur, cur - count * REF_ONE) === cur) {
      return refCount(cur) === count;
    }
  }
}

/**
 * Add one reference.
 *
 * @example
 * ```ts
 * import { refInc, refCount } from "./task_state.ts";
 * import assert from "node:assert/strict";
 * const w = new Int32Array([64]);
 * refInc(w, 0);
 * assert.equal(refCount(w[0]), 2);
 * ```
 */
export function refInc(words: Int32Array, i: number, a: WordOps = ATOMIC): void {
  a.add(words, i, REF_ONE);
}

/**
 * The JoinHandle registers interest in being woken: set JOIN_WAKER unless the
 * task already completed. Returns false when it is complete (read the output).
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, setJoinWaker } from "./task_state.ts";
 * import assert from "node:assert/strict";
 * const w = new Int32Array([INITIAL_STATE]);
 * assert.equal(setJoinWaker(w, 0), true);
 * ```
 */
export function setJoinWaker(words: Int32Array, i: number, a: WordOps = ATOMIC): boolean {
  for (;;) {
    const cur = a.load(words, i);
    if ((cur & COMPLETE) !== 0) return false;
    if (a.compareExchange(words, i, cur, cur | JOIN_WAKER) === cur) return true;
  }
}

/**
 * Drop the JoinHandle's interest (detach): clear JOIN_INTEREST and
 * JOIN_WAKER and drop its reference. Returns `{ complete, last }`: whether
 * the task had completed (the caller then drops the output) and whether
 * that was the last reference.
 *
 * @example
 * ```ts
 * import { INITIAL_STATE, unsetJoinInterest } from "./task_state.ts";
 * import assert from "node:assert/strict";
 * const w = new Int32Array([INITIAL_STATE]);
 * assert.equal(unsetJoinInterest(w, 0).complete, false);
 * ```
 */
export function unsetJoinInterest(
  words: Int32Array,
  i: number,
  a: WordOps = ATOMIC,
): { complete: boolean; last: boolean } {
  for (;;) {
    const cur = a.load(words, i);
    if ((cur & JOIN_INTEREST) === 0) throw new Error("join interest dropped twice");
    const next = (cur & ~(JOIN_INTEREST | JOIN_WAKER)) - REF_ONE;
    if (a.compareExchange(words, i, cur, next) === cur) {
      return { complete: (cur & COMPLETE) !== 0, last: refCount(next) === 0 };
    }
  }
}
