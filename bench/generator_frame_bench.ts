/**
 * What a generator's frame costs at each suspension: 1,000 generators, aged
 * into the old generation, each resumed and suspended (through a `yield*`
 * into a leaf, as a task's body is) in turn; one that holds nothing in its
 * locals beside one that holds 8 objects and one that holds 8 objects and
 * 16 numbers. V8 saves a generator's register file at every suspension, with
 * a write barrier per object in it, and every frame of a task's `yield*`
 * chain pays that at every suspension.
 *
 * usage: `deno run -A --v8-flags=--expose-gc bench/generator_frame_bench.ts [rounds]`
 *
 * @module
 */

const SUSPEND = Object.freeze({ done: false, value: undefined });
const DONE = Object.freeze({ done: true, value: undefined });

/** A leaf that suspends once, then finishes (as `yieldNow()` does). */
class Once implements Iterator<unknown, void, unknown> {
  #n = 0;
  [Symbol.iterator](): Iterator<unknown, void, unknown> {
    return this;
  }
  next(): IteratorResult<unknown, void> {
    return (this.#n++ & 1) === 0 ? SUSPEND : DONE;
  }
}
const leaf = new Once();

function* empty(): Generator<unknown, void, unknown> {
  for (;;) yield* leaf;
}

function* objects(): Generator<unknown, void, unknown> {
  let x0 = {}, x1 = {}, x2 = {}, x3 = {}, x4 = {}, x5 = {}, x6 = {}, x7 = {};
  for (;;) {
    yield* leaf;
    if (x0 === null) {
      const t = x0;
      x0 = x1, x1 = x2, x2 = x3, x3 = x4, x4 = x5, x5 = x6, x6 = x7, x7 = t;
    }
  }
}

function* objectsAndNumbers(): Generator<unknown, void, unknown> {
  let x0 = {}, x1 = {}, x2 = {}, x3 = {}, x4 = {}, x5 = {}, x6 = {}, x7 = {};
  let a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8;
  let i = 9, j = 10, k = 11, l = 12, m = 13, n = 14, p = 15, q = 16;
  for (;;) {
    yield* leaf;
    if (x0 === null) {
      const t = x0;
      x0 = x1, x1 = x2, x2 = x3, x3 = x4, x4 = x5, x5 = x6, x6 = x7, x7 = t;
      a++, b++, c++, d++, e++, f++, g++, h++, i++, j++, k++, l++, m++, n++, p++, q++;
    }
  }
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const STEPS = 2_000_000;

/** ns per resume + suspension of generators made by `make`. */
function measure(make: () => Generator<unknown, void, unknown>): number {
  const gens = Array.from({ length: 1000 }, make);
  gc();
  gc(); // the generators are old now, as a long-lived task's are
  const t = performance.now();
  for (let r = 0; r < STEPS / gens.length; r++) {
    for (let i = 0; i < gens.length; i++) gens[i].next();
  }
  return (performance.now() - t) * 1e6 / STEPS;
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? "7");
  const rows: [string, () => Generator<unknown, void, unknown>, number[]][] = [
    ["no locals", empty, []],
    ["8 objects in locals", objects, []],
    ["8 objects + 16 numbers", objectsAndNumbers, []],
  ];
  for (let r = 0; r < rounds; r++) for (const row of rows) row[2].push(measure(row[1]));
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  console.log(`ns per resume + suspension, median of ${rounds} interleaved rounds (load ${load}):`);
  for (const [name, , xs] of rows) {
    const m = [...xs].sort((x, y) => x - y)[xs.length >> 1];
    console.log(`${name.padEnd(24)} ${m.toFixed(1)}`);
  }
}
