/**
 * The native monotonic clock: `dk_clock_ms` from the reactor library, found
 * and loaded synchronously, never built.
 *
 * A timer wheel reads the clock each time it arms a timer; Deno's
 * `performance.now()` costs ~100 ns a call here, `clock_gettime` through a
 * fast FFI call ~40 ns. Runtimes use this clock when it is available and
 * `performance.now()` otherwise — both tick at the same rate, only their
 * origins differ, and a {@linkcode Clock} only ever subtracts readings of
 * one source.
 *
 * Invariant: the probe runs at most once per isolate and never prompts for
 * a permission, never starts a compiler and never throws; it uses the
 * library only when `--allow-ffi` is already granted and a built library is
 * on disk (`DOKIO_LIB`, the local build, or the cache). `DOKIO_CLOCK=performance`
 * turns it off.
 *
 * @module
 */

import { hostTarget, libraryFileName, localLibraryDir } from "./build.ts";
import { cacheDir, readEnv, VERSION } from "./library.ts";

const CLOCK_SYMBOLS = {
  dk_clock_ms: { parameters: [], result: "f64" },
  // The same read, run on Deno's blocking pool: its promise settles from
  // another thread, so awaiting it is a real event-loop turn (~20 µs).
  dk_clock_ms_nb: { name: "dk_clock_ms", parameters: [], result: "f64", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

let probed = false;
let source: (() => number) | null = null;
// Held so the library stays loaded for the isolate's life.
let held: Deno.DynamicLibrary<typeof CLOCK_SYMBOLS> | null = null;

/**
 * The native monotonic clock in ms, or `null` when it cannot be used here
 * (no `--allow-ffi`, no built library, or `DOKIO_CLOCK=performance`).
 *
 * @example
 * ```ts
 * import { nativeClockSource } from "./native_clock.ts";
 * import assert from "node:assert/strict";
 * const now = nativeClockSource() ?? (() => performance.now());
 * const t0 = now();
 * assert.ok(now() >= t0);
 * ```
 */
export function nativeClockSource(): (() => number) | null {
  if (!probed) {
    probed = true;
    source = probe();
  }
  return source;
}

function probe(): (() => number) | null {
  if (readEnv("DOKIO_CLOCK") === "performance") return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
  } catch {
    return null;
  }
  for (const path of candidates()) {
    let lib: Deno.DynamicLibrary<typeof CLOCK_SYMBOLS>;
    try {
      lib = Deno.dlopen(path, CLOCK_SYMBOLS);
    } catch {
      continue; // missing, unloadable, or a build from before dk_clock_ms
    }
    const f = lib.symbols.dk_clock_ms;
    const a = f();
    const b = f();
    if (Number.isFinite(a) && a > 0 && b >= a) {
      held = lib;
      return f;
    }
    lib.close();
  }
  return null;
}

/** Library files to try, most specific first (existence is checked by dlopen). */
function candidates(): string[] {
  const out: string[] = [];
  const explicit = readEnv("DOKIO_LIB");
  if (explicit) out.push(explicit);
  let target: string;
  let file: string;
  try {
    target = hostTarget();
    file = libraryFileName(target);
  } catch {
    return out;
  }
  const local = localLibraryDir(target);
  if (local !== null) out.push(`${local}/${file}`);
  const base = cacheDir();
  if (base !== null) {
    try {
      for (const e of Deno.readDirSync(base)) {
        if (e.isDirectory && e.name.startsWith(`${VERSION}-${target}-`)) {
          out.push(`${base}/${e.name}/${file}`);
        }
      }
    } catch {
      // no cache, or no --allow-read for it
    }
  }
  return out;
}

/**
 * A real event-loop turn through the native library: a nonblocking read of
 * the clock, whose promise settles from Deno's blocking pool (~20 µs here).
 * Deno polls its own I/O and timers while it waits; a MessageChannel hop
 * does not, and a `setTimeout(0)` costs ~2 ms. Null when the native clock
 * is not available (see {@linkcode nativeClockSource}).
 *
 * @example
 * ```ts
 * import { nativeTurn } from "./native_clock.ts";
 * const turn = nativeTurn();
 * if (turn !== null) await turn();
 * ```
 */
export function nativeTurn(): (() => Promise<number>) | null {
  nativeClockSource();
  return held === null ? null : held.symbols.dk_clock_ms_nb;
}

/**
 * Whether the native clock was loaded (for tests and diagnostics).
 *
 * @example
 * ```ts
 * import { nativeClockLoaded, nativeClockSource } from "./native_clock.ts";
 * import assert from "node:assert/strict";
 * nativeClockSource();
 * assert.equal(typeof nativeClockLoaded(), "boolean"); // true once the library answered
 * ```
 */
export function nativeClockLoaded(): boolean {
  return held !== null;
}
