/**
 * Where a task was spawned (or a resource made), as `file:line:column`,
 * for the instrumentation only.
 *
 * A stack capture costs microseconds, so a spawn site is taken once per
 * *body kind*, not per spawn: the cache key is the generator function behind
 * a called generator (its `prototype`, which every generator object it makes
 * inherits from), the function itself for a function body, or the class of
 * a leaf. The site shown is therefore where that body was first spawned: a
 * generator function spawned from two places shows the first. Bodies with no
 * such key (a promise, a plain object) are captured each time.
 *
 * A function met for the first time (a fresh closure, as in
 * `spawn(function* () { … })` in a loop: every evaluation of the function
 * expression makes a new function object) is looked up by its source text
 * next (`Function.prototype.toString`, well under a microsecond for a short
 * body), so the closures of one function expression share one site and one
 * capture; only the first of them pays for the stack. Two functions with the
 * same text show the site of the first spawned.
 *
 * The frame kept is the first one outside Dokio's own library folders
 * (runtime/, sync/, net/, io/, fs/, time/, mod.ts), so `spawn`, `JoinSet`,
 * `TaskTracker` and `serve` all report their caller.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url).href;
const LIBRARY = ["runtime/", "sync/", "net/", "io/", "fs/", "time/", "mod.ts", "ffi/"].map((d) =>
  ROOT + d
);
/** Frames read from one capture (the user's frame is a few library frames down). */
const STACK_FRAMES = 16;
/** Sites kept per key kind before the cache stops growing (fresh closures per spawn). */
const MAX_FUNCTION_SITES = 10_000;

/** What one body kind's spawns share: its site, and a descriptor id per name. */
interface SiteEntry {
  site: string | null;
  unnamed: number;
  named: Map<string, number> | null;
}

const byKey = new WeakMap<object, SiteEntry>();
/** Function bodies by their source text (see the module doc). */
const bySource = new Map<string, SiteEntry>();
const sourceOf = Function.prototype.toString;
/** Sites without a key, by their text (so their descriptors are reused). */
const byText = new Map<string, SiteEntry>();
let keys = 0;
/** Descriptor id → name and site; id 0 is "no name, no site". */
const names: (string | null)[] = [null];
const sites: (string | null)[] = [null];
/** Descriptors made at most (then new names share the id of "no name" at their site). */
const MAX_DESCRIPTORS = 100_000;

/**
 * The descriptor of a task spawned with neither name nor site.
 *
 * @example
 * ```ts
 * import { descriptorName, NO_DESCRIPTOR } from "./site.ts";
 * import assert from "node:assert/strict";
 * assert.equal(descriptorName(NO_DESCRIPTOR), null);
 * ```
 */
export const NO_DESCRIPTOR = 0;

function newDescriptor(name: string | null, site: string | null): number {
  if (names.length >= MAX_DESCRIPTORS) return NO_DESCRIPTOR;
  names.push(name);
  sites.push(site);
  return names.length - 1;
}

/** The last key looked up and its entry (spawns in a loop share one body kind). */
let lastKey: object | null = null;
let lastEntry: SiteEntry | null = null;

function entryOf(key: unknown): SiteEntry {
  const k = siteKey(key);
  if (k !== null) {
    if (k === lastKey) return lastEntry!;
    const hit = byKey.get(k);
    if (hit !== undefined) {
      lastKey = k;
      lastEntry = hit;
      return hit;
    }
    if (typeof k === "function") return functionEntry(k);
  }
  const site = captureSite();
  if (k === null) {
    const text = site ?? "";
    const hit = byText.get(text);
    if (hit !== undefined) return hit;
    const e: SiteEntry = { site, unnamed: newDescriptor(null, site), named: null };
    if (byText.size < MAX_FUNCTION_SITES) byText.set(text, e);
    return e;
  }
  const e: SiteEntry = { site, unnamed: newDescriptor(null, site), named: null };
  if (keys < MAX_FUNCTION_SITES) {
    keys++;
    byKey.set(k, e);
  }
  return e;
}

/** The entry of a function not in `byKey`: one of the same text's, or a new one. */
function functionEntry(fn: object): SiteEntry {
  const text: string = sourceOf.call(fn);
  let e = bySource.get(text);
  if (e === undefined) {
    const site = captureSite();
    e = { site, unnamed: newDescriptor(null, site), named: null };
    if (bySource.size < MAX_FUNCTION_SITES) bySource.set(text, e);
    if (keys < MAX_FUNCTION_SITES) {
      keys++;
      byKey.set(fn, e);
    }
  }
  lastKey = fn;
  lastEntry = e;
  return e;
}

/**
 * The descriptor id (name + spawn site) of a spawn of `body` named `name`:
 * interned, so spawns of one body kind with one name share one id and the
 * site is captured once per body kind (see the module doc).
 *
 * @param body what the user passed to spawn (the cache key).
 * @param name the task's name, or null.
 * @returns the descriptor id.
 * @example
 * ```ts
 * import { descriptor, descriptorName } from "./site.ts";
 * import assert from "node:assert/strict";
 * function* g() {}
 * const a = descriptor(g(), "worker");
 * assert.equal(descriptor(g(), "worker"), a);
 * assert.equal(descriptorName(a), "worker");
 * ```
 */
export function descriptor(body: unknown, name: string | null): number {
  const e = entryOf(body);
  if (name === null) return e.unnamed;
  if (e.named === null) e.named = new Map();
  let d = e.named.get(name);
  if (d === undefined) {
    d = newDescriptor(name, e.site);
    e.named.set(name, d);
  }
  return d;
}

/**
 * The name of descriptor `d`.
 *
 * @param d a descriptor id.
 * @returns the name, or null.
 * @example
 * ```ts
 * import { descriptorName } from "./site.ts";
 * import assert from "node:assert/strict";
 * assert.equal(descriptorName(0), null);
 * ```
 */
export function descriptorName(d: number): string | null {
  return names[d] ?? null;
}

/**
 * The spawn site of descriptor `d`.
 *
 * @param d a descriptor id.
 * @returns `path:line:column`, or null.
 * @example
 * ```ts
 * import { descriptorSite } from "./site.ts";
 * import assert from "node:assert/strict";
 * assert.equal(descriptorSite(0), null);
 * ```
 */
export function descriptorSite(d: number): string | null {
  return sites[d] ?? null;
}
const CWD = (() => {
  try {
    return "file://" + Deno.cwd() + "/";
  } catch {
    return null;
  }
})();
const FRAME = /\(?((?:file|https?|jsr|npm):[^\s()]+?):(\d+):(\d+)\)?$/;

/**
 * The cache key of a task body (see the module doc), or null when it has none.
 *
 * @param body what was passed to spawn.
 * @returns the key object, or null.
 * @example
 * ```ts
 * import { siteKey } from "./site.ts";
 * import assert from "node:assert/strict";
 * function* g() {}
 * assert.equal(siteKey(g()), g.prototype);
 * assert.equal(siteKey(g), g);
 * assert.equal(siteKey(Promise.resolve(1)), null);
 * ```
 */
export function siteKey(body: unknown): object | null {
  if (typeof body === "function") return body;
  if (body === null || typeof body !== "object") return null;
  const proto = Object.getPrototypeOf(body);
  if (proto === null || proto === Object.prototype || proto === Promise.prototype) return null;
  return proto;
}

/**
 * Capture the stack now and return the first frame outside the library.
 *
 * @returns `path:line:column`, or null.
 * @example
 * ```ts
 * import { captureSite } from "./site.ts";
 * import assert from "node:assert/strict";
 * const site = captureSite();
 * assert.ok(site === null || /:\d+:\d+$/.test(site));
 * ```
 */
export function captureSite(): string | null {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = STACK_FRAMES;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  for (const line of stack.split("\n")) {
    const m = FRAME.exec(line.trim());
    if (m === null) continue;
    const url = m[1];
    if (LIBRARY.some((p) => url.startsWith(p))) continue;
    return `${shorten(url)}:${m[2]}:${m[3]}`;
  }
  return null;
}

function shorten(url: string): string {
  if (CWD !== null && url.startsWith(CWD)) return url.slice(CWD.length);
  if (url.startsWith("file://")) return url.slice("file://".length);
  return url;
}
