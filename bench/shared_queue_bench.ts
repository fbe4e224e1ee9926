/**
 * Throughput of the shared-memory queues (single thread, uncontended), each
 * beside a plain JS array doing the same job in the same run.
 *
 * Run: `deno bench bench/shared_queue_bench.ts`
 *
 * - ring push+pop: one `LocalRing.push` and one `pop` per iteration
 *   (baseline: `Array.push` + `Array.shift`);
 * - steal 128: 16 × `stealInto` of a full ring (256 → 128 moved each; the
 *   refill is not timed) (baseline: `Array.splice(0, 128)` into another array);
 * - inject push+pop: one `InjectQueue.push` and one `pop`, and a batch of 128
 *   each way (baseline: `Array.push` + `Array.shift`).
 *
 * @module
 */

import { InjectQueue } from "../runtime/pool/queues/shared_inject_queue.ts";
import { LocalRing } from "../runtime/pool/queues/local_ring.ts";

const sab = new SharedArrayBuffer(LocalRing.byteLength + InjectQueue.byteLengthFor(65536));
const a = new LocalRing(sab, 0);
const inject = new InjectQueue(sab, LocalRing.byteLength, 65536);
const batch = new Int32Array(128);
for (let i = 0; i < 128; i++) batch[i] = i;
const out = new Int32Array(128);

// Keep a few tasks queued so the queues are not trivially empty.
for (let i = 0; i < 16; i++) a.push(i, inject);
const arr: number[] = Array.from({ length: 16 }, (_, i) => i);
let sink = 0;

Deno.bench({ name: "Array push+shift", group: "push+pop", baseline: true }, () => {
  arr.push(1);
  sink ^= arr.shift()!;
});

Deno.bench({ name: "LocalRing push+pop", group: "push+pop" }, () => {
  a.push(1, inject);
  sink ^= a.pop();
});

Deno.bench({ name: "InjectQueue push+pop", group: "push+pop" }, () => {
  inject.push(1);
  sink ^= inject.pop();
});

// 16 steals per iteration, each from its own full victim into its own empty
// ring, so the timed part (t.start … t.end) is long enough to be measured;
// the refill is not timed.
const STEALS = 16;
const pool = new SharedArrayBuffer(LocalRing.byteLength * STEALS * 2);
const victims = Array.from(
  { length: STEALS },
  (_, i) => new LocalRing(pool, i * LocalRing.byteLength),
);
const thieves = Array.from(
  { length: STEALS },
  (_, i) => new LocalRing(pool, (STEALS + i) * LocalRing.byteLength),
);
const srcs: number[][] = Array.from({ length: STEALS }, () => []);
const dsts: number[][] = Array.from({ length: STEALS }, () => []);

Deno.bench(
  { name: "Array splice 128 of 256 (×16)", group: "steal 128 ×16", baseline: true },
  (t) => {
    for (let k = 0; k < STEALS; k++) {
      srcs[k].length = 0;
      dsts[k].length = 0;
      for (let i = 0; i < 256; i++) srcs[k].push(i);
    }
    t.start();
    for (let k = 0; k < STEALS; k++) {
      const moved = srcs[k].splice(0, 128);
      const d = dsts[k];
      for (let i = 0; i < moved.length; i++) d.push(moved[i]);
    }
    t.end();
  },
);

Deno.bench({ name: "LocalRing stealInto 128 of 256 (×16)", group: "steal 128 ×16" }, (t) => {
  for (let k = 0; k < STEALS; k++) {
    while (victims[k].pop() >= 0) { /* empty */ }
    while (thieves[k].pop() >= 0) { /* empty */ }
    for (let i = 0; i < 256; i++) victims[k].push(i, inject);
  }
  t.start();
  for (let k = 0; k < STEALS; k++) sink ^= victims[k].stealInto(thieves[k]);
  t.end();
});

Deno.bench({ name: "Array push×128 then shift×128", group: "batch 128", baseline: true }, () => {
  for (let i = 0; i < 128; i++) arr.push(i);
  for (let i = 0; i < 128; i++) sink ^= arr.shift()!;
});

Deno.bench({ name: "InjectQueue pushBatch(128)+popBatch(128)", group: "batch 128" }, () => {
  inject.pushBatch(batch, 128);
  sink ^= inject.popBatch(out, 128);
});

Deno.bench({ name: "InjectQueue push×128 then pop×128", group: "batch 128" }, () => {
  for (let i = 0; i < 128; i++) inject.push(i);
  for (let i = 0; i < 128; i++) sink ^= inject.pop();
});

addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink); // keep `sink` observable
});
