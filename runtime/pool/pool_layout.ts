/**
 * The pool's shared memory besides the queues (which live in the buffer of
 * `runtime/pool/queues/layout.ts`): a table of shared task headers, their argument
 * slots, and per-worker control words.
 *
 * | buffer | layout |
 * | --- | --- |
 * | headers | `slots × 16` int32: state word (task_state.ts bits, ATOMIC ops), owner+1, argument length (-1: sent by message), kind |
 * | args | `slots × ARG_BYTES` bytes: the encoded module URL, name and arguments |
 * | control | word 0: stop; word 16+16w…: worker w's cancel epoch and metrics counters |
 *
 * Invariant: a header slot is owned by the pool (main thread) from allocation
 * until the result for it arrives; its id is what travels through the queues.
 * Each field has one writer at a time (main before the push, the running worker
 * after its `toRunning`), and every access goes through `Atomics`.
 *
 * @module
 */

/** Int32 words per header (one 64-byte line). */
export const HEADER_WORDS = 16;
/** Header word: the task state word. */
export const H_STATE = 0;
/**
 * Header word: who claimed the task, {@linkcode ownerWord} of the worker's index and
 * incarnation (0: nobody yet). Claimed once, by compare-and-swap from 0.
 */
export const H_OWNER = 1;
/** Header word: encoded argument length in the slot, or -1 when sent by message. */
export const H_ARGLEN = 2;
/** Header word: 0 for a task, 1 for a blocking (CPU) job. */
export const H_KIND = 3;
/** Inline argument bytes per slot; larger arguments go by message. */
export const ARG_BYTES = 256;
/** Default number of header slots (tasks queued or running at once). */
export const DEFAULT_SLOTS = 16384;

/** Control word: stop requested. */
export const C_STOP = 0;
/** First per-worker control word; worker w uses `C_WORKER + 16w + field`. */
export const C_WORKER = 16;
/** Per-worker: bumped by the pool when one of this worker's tasks is aborted. */
export const W_CANCEL_EPOCH = 0;
/** Per-worker counter: shared tasks started. */
export const W_POLLS = 1;
/** Per-worker counter: successful steals. */
export const W_STEALS = 2;
/** Per-worker counter: tasks taken by steals. */
export const W_STOLEN = 3;
/** Per-worker counter: parks. */
export const W_PARKS = 4;
/** Per-worker counter: parks ended by a notification. */
export const W_UNPARKS = 5;
/**
 * Per-worker: the incarnation the pool accepts at this index. Bumped when the worker dies; a
 * worker whose own incarnation differs is fenced off (a terminated Worker's thread can run on
 * for a while) and touches no shared task again.
 */
export const W_FENCE = 6;

/** Owner words of one index are this far apart per incarnation (more than the most workers). */
const OWNER_STRIDE = 4096;

/**
 * The owner word of worker `index` in its `incarnation` (its first start is 0).
 *
 * @param index the worker's index.
 * @param incarnation how many workers had this index before it.
 * @returns the word it writes in H_OWNER (never 0).
 * @example
 * ```ts
 * import { ownerIndex, ownerWord } from "./pool_layout.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ownerWord(0, 0), 1);
 * assert.equal(ownerIndex(ownerWord(3, 7)), 3);
 * ```
 */
export function ownerWord(index: number, incarnation: number): number {
  return index + 1 + (incarnation % (0x7fffffff / OWNER_STRIDE | 0)) * OWNER_STRIDE;
}

/**
 * The worker index an owner word names (-1 for 0, nobody).
 *
 * @param word an H_OWNER word.
 * @returns the index.
 * @example
 * ```ts
 * import { ownerIndex } from "./pool_layout.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ownerIndex(0), -1);
 * ```
 */
export function ownerIndex(word: number): number {
  return (word % OWNER_STRIDE) - 1;
}

/**
 * Bytes of the control buffer for `workers` workers.
 *
 * @example
 * ```ts
 * import { controlBytes } from "./pool_layout.ts";
 * import assert from "node:assert/strict";
 * assert.equal(controlBytes(2), 192);
 * ```
 */
export function controlBytes(workers: number): number {
  return (C_WORKER + 16 * workers) * 4;
}
