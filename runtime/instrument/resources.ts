/**
 * The resource registry: sync primitives (locks, semaphores, channels, …)
 * announce themselves here when they are made while instrumentation is on,
 * so the console can show their waiters. `sync/` imports this module (it is
 * below it); nothing here imports `sync/`.
 *
 * Off costs one load and compare per constructed primitive: `trackResource`
 * returns at once while no instrumented runtime exists. On, each entry holds
 * its primitive through a `WeakRef` (the registry never keeps one alive) and
 * a probe function (one per class, not per instance) that reads its waiters
 * and a one-line state when a snapshot is taken.
 *
 * Invariant: the registry is per isolate, shared by every instrumented
 * runtime of it (a primitive is not owned by a runtime); dead entries are
 * dropped when a snapshot is taken or the list doubles.
 *
 * @module
 */

import type { ResourceSnapshot } from "./snapshot.ts";
import { captureSite } from "./site.ts";

/**
 * Reads a resource's waiters and state line.
 *
 * @example
 * ```ts
 * import type { ResourceProbe } from "./resources.ts";
 * const probe: ResourceProbe<{ queue: number[] }> = (q) => [q.queue.length, `${q.queue.length} queued`];
 * ```
 */
export type ResourceProbe<T> = (target: T) => [waiters: number, detail: string];

interface Entry {
  id: number;
  kind: string;
  name: string | null;
  site: string | null;
  ref: WeakRef<object>;
  probe: ResourceProbe<object>;
}

/** Entries kept at most; beyond it new primitives are not tracked. */
const MAX_RESOURCES = 100_000;

let users = 0;
let nextId = 1;
let entries: Entry[] = [];
let pruneAt = 1024;

/**
 * Count one more instrumented runtime (the registry tracks while any exists).
 *
 * @returns the function that counts it out again.
 * @example
 * ```ts
 * import { resourceSnapshots, trackingResources, trackResource } from "./resources.ts";
 * import assert from "node:assert/strict";
 * const stop = trackingResources();
 * const res = { waiting: 2 };
 * trackResource(res, "demo", (r) => [r.waiting, "two waiting"]);
 * assert.ok(resourceSnapshots().some((r) => r.kind === "demo" && r.waiters === 2));
 * stop();
 * ```
 */
export function trackingResources(): () => void {
  users++;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--users === 0) entries = [];
  };
}

/**
 * Register a primitive (its constructor calls this). Does nothing while no
 * instrumented runtime exists.
 *
 * @param target the primitive (held weakly).
 * @param kind `mutex`, `rwlock`, `semaphore`, `notify`, `mpsc`, …
 * @param probe reads its waiters and state line.
 * @param name a name given by the user, if any.
 * @example
 * ```ts
 * import { trackResource } from "./resources.ts";
 * trackResource({}, "demo", () => [0, "idle"]); // no instrumented runtime: nothing kept
 * ```
 */
export function trackResource<T extends object>(
  target: T,
  kind: string,
  probe: ResourceProbe<T>,
  name?: string,
): void {
  if (users === 0) return;
  if (entries.length >= pruneAt) prune();
  if (entries.length >= MAX_RESOURCES) return;
  entries.push({
    id: nextId++,
    kind,
    name: name ?? null,
    site: captureSite(),
    ref: new WeakRef(target),
    probe: probe as ResourceProbe<object>,
  });
}

function prune(): void {
  entries = entries.filter((e) => e.ref.deref() !== undefined);
  pruneAt = Math.max(1024, entries.length * 2);
}

/**
 * The live resources now, most waiters first, at most `limit`.
 *
 * @param limit how many to report (default 500).
 * @returns their snapshots.
 * @example
 * ```ts
 * import { resourceSnapshots } from "./resources.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Array.isArray(resourceSnapshots()));
 * ```
 */
export function resourceSnapshots(limit = 500): ResourceSnapshot[] {
  prune();
  const out: ResourceSnapshot[] = [];
  for (const e of entries) {
    const t = e.ref.deref();
    if (t === undefined) continue;
    const [waiters, detail] = e.probe(t);
    out.push({ id: e.id, kind: e.kind, name: e.name, site: e.site, waiters, detail });
  }
  out.sort((a, b) => b.waiters - a.waiters || a.id - b.id);
  return out.length > limit ? out.slice(0, limit) : out;
}
