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
/** Header word: index+1 of the worker running the task (0: none yet). */
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
