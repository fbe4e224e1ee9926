/**
 * One timer workload in a fresh process, so its wall time and heap are its
 * own. Prints one JSON line: { wallMs, heapMB, fired }.
 *
 * Usage: deno run -A --v8-flags=--expose-gc bench/timer_child.ts <mode> <count>
 * modes: dokio-tasks | dokio-entries | dokio-cancel | settimeout | settimeout-cancel
 *
 * @module
 */

import { run, sleep, spawn, yieldNow } from "../mod.ts";
import type { Operation } from "../mod.ts";

const mode = Deno.args[0];
const count = Number(Deno.args[1] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function heapMB(): number {
  gc();
  return Deno.memoryUsage().heapUsed / 1048576;
}

// Deadlines spread evenly over 0–1 s.
function delay(i: number): number {
  return Math.floor((i * 1000) / count);
}

let fired = 0;
function* sleeper(ms: number): Operation<void> {
  yield* sleep(ms);
  fired++;
}

const base = heapMB();
let peak = 0;
// The set+cancel modes are pure CPU work: their heap probe (a full GC of a
// million live timers) is not part of the workload, so its time is taken
// out of their wall time. The timed-fire modes keep it in: their deadlines
// run on during the probe, so it does not add to their wall time anyway.
let probeMs = 0;
function probe(): void {
  const p0 = performance.now();
  peak = heapMB() - base;
  probeMs = performance.now() - p0;
}
const t0 = performance.now();

if (mode === "dokio-tasks") {
  await run(function* () {
    for (let i = 0; i < count; i++) spawn(sleeper(delay(i)));
    yield* yieldNow(); // let them all register their timers
    peak = heapMB() - base;
    while (fired < count) yield* sleep(5);
  });
} else if (mode === "dokio-entries") {
  // Timer entries alone: one task holds a million pending sleeps.
  await run(function* () {
    const sleeps = new Array(count);
    for (let i = 0; i < count; i++) {
      const s = sleep(delay(i));
      s[Symbol.iterator]().next(); // register without suspending: a DelayQueue-style set
      sleeps[i] = s;
    }
    peak = heapMB() - base;
    for (let i = 0; i < count; i++) {
      yield* sleeps[i];
      fired++;
    }
  });
} else if (mode === "dokio-cancel") {
  await run(function* () {
    const its = new Array(count);
    for (let i = 0; i < count; i++) {
      const it = sleep(delay(i) + 10_000)[Symbol.iterator]();
      it.next();
      its[i] = it;
    }
    probe();
    for (let i = 0; i < count; i++) its[i].return!();
    fired = count;
  });
} else if (mode === "settimeout") {
  await new Promise<void>((resolve) => {
    for (let i = 0; i < count; i++) {
      setTimeout(() => {
        if (++fired === count) resolve();
      }, delay(i));
    }
    peak = heapMB() - base;
  });
} else if (mode === "settimeout-cancel") {
  const ids = new Array(count);
  for (let i = 0; i < count; i++) ids[i] = setTimeout(() => fired++, delay(i) + 10_000);
  probe();
  for (let i = 0; i < count; i++) clearTimeout(ids[i]);
  fired = count;
} else {
  console.error(`unknown mode ${mode}`);
  Deno.exit(2);
}

const wallMs = performance.now() - t0 - probeMs;
console.log(JSON.stringify({ mode, wallMs, heapMB: peak, fired }));
