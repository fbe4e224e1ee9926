/**
 * Where the scheduler's shared structures live in one SharedArrayBuffer for N
 * workers: the pool creates the buffer once, sends it to every worker, and
 * each worker builds its own views over it with {@link attachSharedQueues}.
 *
 * | region | bytes |
 * | --- | --- |
 * | header: magic, version, workers, inject capacity | 64 |
 * | idle state ({@link IdleState}) | `IdleState.byteLengthFor(workers)` |
 * | inject queue ({@link InjectQueue}) | `InjectQueue.byteLengthFor(capacity)` |
 * | one local ring per worker ({@link LocalRing}) | `1152 × workers` |
 * | one LIFO slot per worker ({@link LifoSlot}) | `64 × workers` |
 *
 * Invariant: every region starts on a 64-byte boundary (no false sharing
 * between regions), and a zero-filled region is each structure's valid empty
 * state, so the only initialisation is the header written by
 * {@link createSharedQueuesBuffer} before the buffer is shared.
 *
 * @module
 */

import { IdleState } from "./idle.ts";
import { InjectQueue } from "./shared_inject_queue.ts";
import { LifoSlot } from "./lifo_slot.ts";
import { LocalRing } from "./local_ring.ts";

/** "DKSQ": identifies a Dokio shared-queues buffer. */
const MAGIC = 0x444b5351;
/** 2: inject cells are one word (phase and id). */
const VERSION = 2;
const HEADER_BYTES = 64;

/** Default inject queue capacity. */
export const DEFAULT_INJECT_CAPACITY = 65536;

/** Sizes a layout is computed from. */
export interface SharedLayoutOptions {
  /** Number of workers (1 to 4096). */
  workers: number;
  /** Inject queue cells, a power of two (default 65536). */
  injectCapacity?: number;
}

/** Byte offsets of every shared structure, and the buffer's total size. */
export interface SharedLayout {
  /** Number of workers. */
  readonly workers: number;
  /** Inject queue cells. */
  readonly injectCapacity: number;
  /** Offset of the {@link IdleState}. */
  readonly idleOffset: number;
  /** Offset of the {@link InjectQueue}. */
  readonly injectOffset: number;
  /** Offset of worker i's {@link LocalRing}. */
  readonly ringOffsets: readonly number[];
  /** Offset of worker i's {@link LifoSlot}. */
  readonly lifoOffsets: readonly number[];
  /** Total bytes of the buffer. */
  readonly byteLength: number;
}

function align64(n: number): number {
  return Math.ceil(n / 64) * 64;
}

/**
 * Compute the layout for `workers` workers.
 *
 * @example
 * ```ts
 * import { computeLayout } from "./layout.ts";
 * import assert from "node:assert/strict";
 * const layout = computeLayout({ workers: 4, injectCapacity: 1024 });
 * assert.equal(layout.ringOffsets.length, 4);
 * assert.ok(layout.byteLength > 4 * 1152);
 * ```
 */
export function computeLayout(options: SharedLayoutOptions): SharedLayout {
  if (options === null || typeof options !== "object") {
    throw new TypeError("computeLayout: options must be an object");
  }
  const workers = options.workers;
  const injectCapacity = options.injectCapacity ?? DEFAULT_INJECT_CAPACITY;
  const idleBytes = IdleState.byteLengthFor(workers); // validates workers
  const injectBytes = InjectQueue.byteLengthFor(injectCapacity); // validates capacity
  let at = HEADER_BYTES;
  const idleOffset = at;
  at = align64(at + idleBytes);
  const injectOffset = at;
  at = align64(at + injectBytes);
  const ringOffsets: number[] = [];
  for (let i = 0; i < workers; i++) {
    ringOffsets.push(at);
    at = align64(at + LocalRing.byteLength);
  }
  const lifoOffsets: number[] = [];
  for (let i = 0; i < workers; i++) {
    lifoOffsets.push(at);
    at = align64(at + LifoSlot.byteLength);
  }
  return Object.freeze({
    workers,
    injectCapacity,
    idleOffset,
    injectOffset,
    ringOffsets: Object.freeze(ringOffsets),
    lifoOffsets: Object.freeze(lifoOffsets),
    byteLength: at,
  });
}

/**
 * Allocate the shared buffer for `options` and write its header. Send the
 * buffer to each worker (postMessage shares it) and attach there.
 *
 * @example
 * ```ts
 * import { createSharedQueuesBuffer } from "./layout.ts";
 * import assert from "node:assert/strict";
 * const sab = createSharedQueuesBuffer({ workers: 2 });
 * assert.ok(sab instanceof SharedArrayBuffer);
 * ```
 */
export function createSharedQueuesBuffer(options: SharedLayoutOptions): SharedArrayBuffer {
  const layout = computeLayout(options);
  const sab = new SharedArrayBuffer(layout.byteLength);
  const header = new Int32Array(sab, 0, 4);
  header[0] = MAGIC;
  header[1] = VERSION;
  header[2] = layout.workers;
  header[3] = layout.injectCapacity;
  return sab;
}

/** Every view a worker needs over the shared buffer. */
export interface SharedQueues {
  /** The layout read from the buffer's header. */
  readonly layout: SharedLayout;
  /** Idle/park state of all workers. */
  readonly idle: IdleState;
  /** The global inject FIFO (this object's spill is private to this worker). */
  readonly inject: InjectQueue;
  /** Worker i's local ring (only worker i pushes/pops it). */
  readonly rings: readonly LocalRing[];
  /** Worker i's LIFO slot. */
  readonly lifo: readonly LifoSlot[];
}

/**
 * Read the header of a buffer made by {@link createSharedQueuesBuffer} and
 * build this worker's views. `wake(index)` is passed to {@link IdleState}
 * (default: `Atomics.notify` on the worker's park word).
 *
 * @example
 * ```ts
 * import { attachSharedQueues, createSharedQueuesBuffer } from "./layout.ts";
 * import assert from "node:assert/strict";
 * const q = attachSharedQueues(createSharedQueuesBuffer({ workers: 2, injectCapacity: 256 }));
 * q.rings[0].push(1, q.inject);
 * assert.equal(q.rings[0].stealInto(q.rings[1]), 1);
 * ```
 */
export function attachSharedQueues(
  sab: SharedArrayBuffer,
  wake?: (index: number) => void,
): SharedQueues {
  if (!(sab instanceof SharedArrayBuffer)) {
    throw new TypeError("attachSharedQueues: expected a SharedArrayBuffer");
  }
  if (sab.byteLength < HEADER_BYTES) {
    throw new RangeError("attachSharedQueues: buffer too small for a header");
  }
  const header = new Int32Array(sab, 0, 4);
  if (header[0] !== MAGIC || header[1] !== VERSION) {
    throw new TypeError("attachSharedQueues: not a Dokio shared-queues buffer (bad header)");
  }
  const layout = computeLayout({ workers: header[2], injectCapacity: header[3] });
  if (layout.byteLength > sab.byteLength) {
    throw new RangeError("attachSharedQueues: buffer shorter than its layout");
  }
  return Object.freeze({
    layout,
    idle: new IdleState(sab, layout.idleOffset, layout.workers, wake),
    inject: new InjectQueue(sab, layout.injectOffset, layout.injectCapacity),
    rings: Object.freeze(layout.ringOffsets.map((o) => new LocalRing(sab, o))),
    lifo: Object.freeze(layout.lifoOffsets.map((o) => new LifoSlot(sab, o))),
  });
}
