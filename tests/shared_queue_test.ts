/**
 * Tests of the shared-memory queues of `runtime/pool/queues/`: the work-stealing
 * ring (unit tests, an exhaustive interleaving check of its protocol at
 * capacity 4, and a stress run on real Workers), the LIFO slot, the inject
 * queue, the idle/park state and the layout.
 *
 * The model below mirrors `ring_core.ts` one atomic step at a time. Each thread
 * owns one ring and runs a fixed program: `push v` and `pop` on its own ring,
 * `steal r` from ring r into its own. Every `Atomics` access, and every plain
 * slot access a concurrent thread could conflict with, is one step; accesses
 * only the stepping thread can observe (the owner reading its own tail) are
 * folded into a neighbouring step, which removes no behaviour. The explorer
 * visits every interleaving (DFS with a visited set) and checks: no ring ever
 * holds more than its capacity; every delivery (pop, steal result, overflow)
 * is of a pushed id not delivered before; in every final state no steal is
 * left in progress and delivered plus queued ids are the pushed ids exactly
 * once. Seeded bugs (`ModelBugs`) show the checker can fail.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  headReal,
  headSteal,
  type Overflow,
  packHead,
  RingCore,
  stealCount,
} from "../runtime/pool/queues/ring_core.ts";
import { LocalRing } from "../runtime/pool/queues/local_ring.ts";
import { LifoSlot } from "../runtime/pool/queues/lifo_slot.ts";
import { InjectQueue } from "../runtime/pool/queues/shared_inject_queue.ts";
import { IdleState } from "../runtime/pool/queues/idle.ts";
import {
  attachSharedQueues,
  computeLayout,
  createSharedQueuesBuffer,
} from "../runtime/pool/queues/layout.ts";
import {
  ABORT,
  COUNTERS,
  EXECUTED,
  type Job,
  READY,
  type Stats,
} from "./workers/shared_queue_worker.ts";

// ---------------------------------------------------------------------------
// The step model of the ring protocol
// ---------------------------------------------------------------------------

/** One operation of a thread's program. */
type ModelOp =
  | { readonly kind: "push"; readonly id: number }
  | { readonly kind: "pop" }
  | { readonly kind: "steal"; readonly from: number };

/** Deliberate protocol mistakes, to check the checker. */
interface ModelBugs {
  /** Room check uses `tail - real` instead of `tail - steal`. */
  roomUsesReal?: boolean;
  /** Stealers do not back off when another steal is in progress. */
  noBusyCheck?: boolean;
  /** Stealer releases by setting steal to its own claimed end instead of current real. */
  releaseToClaimEnd?: boolean;
}

/** A model configuration. */
interface ModelConfig {
  /** Ring capacity (power of two). */
  readonly capacity: number;
  /** One program per thread; thread t owns ring t. */
  readonly programs: readonly (readonly ModelOp[])[];
  /** Initial head/tail position of every ring (to cross the u16 wrap). */
  readonly startPosition?: number;
  /** Seeded mistakes. */
  readonly bugs?: ModelBugs;
}

/** Result of exploring a configuration. */
interface ExploreResult {
  /** Distinct states visited. */
  states: number;
  /** Distinct final states (every thread done). */
  finals: number;
}

/** Raised when an invariant fails. */
class ModelViolation extends Error {
  /** The state where it failed. */
  readonly state: readonly number[];
  constructor(message: string, state: readonly number[]) {
    super(message);
    this.name = "ModelViolation";
    this.state = state;
  }
}

/** Hooks to observe a run (used by the differential test). */
interface ModelHooks {
  /** An id left through pop, steal result or overflow. */
  onDeliver?(thread: number, id: number, via: "pop" | "steal" | "overflow"): void;
  /** An operation finished with `result` (-1 for an empty pop/steal, 0 for push). */
  onFinish?(thread: number, result: number): void;
}

const LOCALS = 8; // pc, step, a, b, c, d, e, f
const M = 0xffff;

/** The model: state layout and the step function. */
class RingModel {
  readonly cap: number;
  readonly mask: number;
  readonly half: number;
  readonly threads: number;
  readonly programs: readonly (readonly ModelOp[])[];
  readonly bugs: ModelBugs;
  readonly ringWords: number;
  readonly seenIndex: number;
  readonly pushed: number;
  readonly start: number;

  constructor(config: ModelConfig) {
    this.cap = config.capacity;
    this.mask = this.cap - 1;
    this.half = this.cap >>> 1;
    this.programs = config.programs;
    this.threads = config.programs.length;
    this.bugs = config.bugs ?? {};
    this.ringWords = 2 + this.cap;
    this.seenIndex = this.threads * this.ringWords + this.threads * LOCALS;
    this.start = (config.startPosition ?? 0) & M;
    let pushed = 0;
    for (const p of this.programs) {
      for (const op of p) {
        if (op.kind === "push") {
          if (op.id < 1 || op.id > 30) throw new RangeError("model ids must be in [1, 30]");
          if (pushed & (1 << op.id)) throw new RangeError("model ids must be unique");
          pushed |= 1 << op.id;
        }
      }
    }
    this.pushed = pushed;
  }

  initial(): number[] {
    const s = new Array<number>(this.seenIndex + 1).fill(0);
    for (let r = 0; r < this.threads; r++) {
      s[this.ring(r)] = packHead(this.start, this.start);
      s[this.ring(r) + 1] = this.start;
    }
    return s;
  }

  ring(r: number): number {
    return r * this.ringWords;
  }

  local(t: number): number {
    return this.threads * this.ringWords + t * LOCALS;
  }

  done(s: readonly number[], t: number): boolean {
    return s[this.local(t)] >= this.programs[t].length;
  }

  #deliver(
    n: number[],
    t: number,
    id: number,
    via: "pop" | "steal" | "overflow",
    hooks?: ModelHooks,
  ): void {
    const bit = 1 << id;
    if (id < 1 || id > 30 || (this.pushed & bit) === 0) {
      throw new ModelViolation(
        `thread ${t} got id ${id} by ${via}: never pushed (garbage slot)`,
        n,
      );
    }
    if (n[this.seenIndex] & bit) {
      throw new ModelViolation(`id ${id} delivered twice (second by ${via}, thread ${t})`, n);
    }
    n[this.seenIndex] |= bit;
    hooks?.onDeliver?.(t, id, via);
  }

  #finish(n: number[], t: number, result: number, hooks?: ModelHooks): void {
    const l = this.local(t);
    n[l] += 1;
    for (let i = 1; i < LOCALS; i++) n[l + i] = 0;
    hooks?.onFinish?.(t, result);
  }

  /** The state after thread t's next step, or null if t has finished. */
  step(s: readonly number[], t: number, hooks?: ModelHooks): number[] | null {
    const l = this.local(t);
    const pc = s[l];
    const prog = this.programs[t];
    if (pc >= prog.length) return null;
    const n = s.slice();
    const op = prog[pc];
    const st = n[l + 1];
    const R = this.ring(t);
    const buf = R + 2;
    const { cap, mask, half } = this;
    switch (op.kind) {
      case "push": {
        switch (st) {
          case 0: { // load head (+ own tail): room? busy? claim?
            const head = n[R];
            const tail = n[R + 1];
            const steal = headSteal(head);
            const real = headReal(head);
            const base = this.bugs.roomUsesReal ? real : steal;
            if (((tail - base) & M) < cap) {
              n[l + 2] = tail;
              n[l + 1] = 1;
            } else if (steal !== real) {
              this.#deliver(n, t, op.id, "overflow", hooks);
              this.#finish(n, t, 0, hooks);
            } else {
              n[l + 2] = head;
              n[l + 1] = 3;
            }
            break;
          }
          case 1: // write slot
            n[buf + (n[l + 2] & mask)] = op.id;
            n[l + 1] = 2;
            break;
          case 2: // store tail
            n[R + 1] = (n[l + 2] + 1) & M;
            this.#finish(n, t, 0, hooks);
            break;
          case 3: { // CAS head to claim half
            const head = n[l + 2];
            const moved = (headReal(head) + half) & M;
            if (n[R] === head) {
              n[R] = packHead(moved, moved);
              n[l + 3] = 0;
              n[l + 1] = 4;
            } else {
              n[l + 1] = 0;
            }
            break;
          }
          case 4: { // read one claimed slot into the batch; the batch goes out at the end
            const i = n[l + 3];
            const real = headReal(n[l + 2]);
            this.#deliver(n, t, n[buf + ((real + i) & mask)], "overflow", hooks);
            if (i + 1 === half) {
              this.#deliver(n, t, op.id, "overflow", hooks);
              this.#finish(n, t, 0, hooks);
            } else {
              n[l + 3] = i + 1;
            }
            break;
          }
        }
        break;
      }
      case "pop": {
        switch (st) {
          case 0: { // load head (+ own tail)
            const head = n[R];
            if (headReal(head) === n[R + 1]) {
              this.#finish(n, t, -1, hooks);
            } else {
              n[l + 2] = head;
              n[l + 1] = 1;
            }
            break;
          }
          case 1: { // CAS real forward
            const head = n[l + 2];
            const steal = headSteal(head);
            const real = headReal(head);
            const next = (real + 1) & M;
            if (n[R] === head) {
              n[R] = steal === real ? packHead(next, next) : packHead(steal, next);
              n[l + 1] = 2;
            } else {
              n[l + 1] = 0;
            }
            break;
          }
          case 2: { // read the slot
            const id = n[buf + (headReal(n[l + 2]) & mask)];
            this.#deliver(n, t, id, "pop", hooks);
            this.#finish(n, t, id, hooks);
            break;
          }
        }
        break;
      }
      case "steal": {
        const V = this.ring(op.from);
        const vbuf = V + 2;
        // locals: a = prev head of victim, b = dst tail, c = n, d = first, e = i, f = ret
        switch (st) {
          case 0: { // own tail + load own head: too full to steal into?
            const dstTail = n[R + 1];
            const dstSteal = headSteal(n[R]);
            if (((dstTail - dstSteal) & M) > half) {
              this.#finish(n, t, -1, hooks);
            } else {
              n[l + 3] = dstTail;
              n[l + 1] = 1;
            }
            break;
          }
          case 1: // load victim head
            n[l + 2] = n[V];
            n[l + 1] = 2;
            break;
          case 2: { // busy check (local) + load victim tail
            const prev = n[l + 2];
            const steal = headSteal(prev);
            const real = headReal(prev);
            if (steal !== real && !this.bugs.noBusyCheck) {
              this.#finish(n, t, -1, hooks);
              break;
            }
            const cnt = stealCount((n[V + 1] - real) & M);
            if (cnt === 0) {
              this.#finish(n, t, -1, hooks);
              break;
            }
            n[l + 4] = cnt;
            n[l + 1] = 3;
            break;
          }
          case 3: { // CAS the claim
            const prev = n[l + 2];
            const real = headReal(prev);
            const next = packHead(headSteal(prev), real + n[l + 4]);
            if (n[V] === prev) {
              n[V] = next;
              n[l + 2] = next;
              n[l + 5] = real;
              n[l + 6] = 0;
              n[l + 1] = 4;
            } else {
              n[l + 2] = n[V];
              n[l + 1] = 2;
            }
            break;
          }
          case 4: { // copy one slot (all but the last) into dst; read the last as ret
            const i = n[l + 6];
            const last = n[l + 4] - 1;
            const first = n[l + 5];
            if (i < last) {
              n[buf + ((n[l + 3] + i) & mask)] = n[vbuf + ((first + i) & mask)];
              n[l + 6] = i + 1;
            } else {
              n[l + 7] = n[vbuf + ((first + last) & mask)];
              n[l + 1] = 5;
            }
            break;
          }
          case 5: { // release CAS: steal = current real
            const prev = n[l + 2];
            const real = headReal(prev);
            if (n[V] === prev) {
              const to = this.bugs.releaseToClaimEnd ? (n[l + 5] + n[l + 4]) & M : real;
              n[V] = packHead(to, real);
              n[l + 1] = 6;
            } else {
              n[l + 2] = n[V];
            }
            break;
          }
          case 6: { // publish dst tail, return ret
            const last = n[l + 4] - 1;
            if (last > 0) n[R + 1] = (n[l + 3] + last) & M;
            const ret = n[l + 7];
            this.#deliver(n, t, ret, "steal", hooks);
            this.#finish(n, t, ret, hooks);
            break;
          }
        }
        break;
      }
    }
    return n;
  }

  /** Invariants of every state. */
  checkState(s: readonly number[]): void {
    for (let r = 0; r < this.threads; r++) {
      const R = this.ring(r);
      const len = (s[R + 1] - headSteal(s[R])) & M;
      if (len > this.cap) {
        throw new ModelViolation(`ring ${r} holds ${len} > capacity ${this.cap}`, s);
      }
      const ahead = (headReal(s[R]) - headSteal(s[R])) & M;
      if (ahead > len) throw new ModelViolation(`ring ${r}: real ran past tail`, s);
    }
  }

  /** Invariants of a final state. */
  checkFinal(s: readonly number[]): void {
    let seen = s[this.seenIndex];
    for (let r = 0; r < this.threads; r++) {
      const R = this.ring(r);
      const steal = headSteal(s[R]);
      const real = headReal(s[R]);
      if (steal !== real) throw new ModelViolation(`ring ${r}: steal left in progress`, s);
      for (let p = real; p !== s[R + 1]; p = (p + 1) & M) {
        const id = s[R + 2 + (p & this.mask)];
        if (id < 1 || id > 30 || (this.pushed & (1 << id)) === 0) {
          throw new ModelViolation(`ring ${r} holds garbage ${id}`, s);
        }
        if (seen & (1 << id)) throw new ModelViolation(`id ${id} both delivered and queued`, s);
        seen |= 1 << id;
      }
    }
    if (seen !== this.pushed) {
      const lost: number[] = [];
      for (let id = 1; id <= 30; id++) {
        if ((this.pushed & (1 << id)) && !(seen & (1 << id))) lost.push(id);
      }
      throw new ModelViolation(`ids lost: ${lost.join(",")}`, s);
    }
  }
}

/**
 * Visit every interleaving of `config` (each thread step is atomic), checking
 * the invariants; throws {@link ModelViolation} on the first failure.
 */
function explore(config: ModelConfig): ExploreResult {
  const model = new RingModel(config);
  const visited = new Set<string>();
  const stack: number[][] = [model.initial()];
  let finals = 0;
  while (stack.length > 0) {
    const s = stack.pop()!;
    const key = s.join(",");
    if (visited.has(key)) continue;
    visited.add(key);
    model.checkState(s);
    let moved = false;
    for (let t = 0; t < model.threads; t++) {
      const next = model.step(s, t);
      if (next !== null) {
        moved = true;
        stack.push(next);
      }
    }
    if (!moved) {
      model.checkFinal(s);
      finals++;
    }
  }
  return { states: visited.size, finals };
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

const P = (id: number): ModelOp => ({ kind: "push", id });
const POP: ModelOp = { kind: "pop" };
const STEAL = (from: number): ModelOp => ({ kind: "steal", from });

/** Overflow sink recording every batch. */
class Sink implements Overflow {
  ids: number[] = [];
  batches: number[] = [];
  pushBatch(ids: Int32Array | number[], count: number): void {
    this.batches.push(count);
    for (let i = 0; i < count; i++) this.ids.push(ids[i]);
  }
}

function rings(n: number, capacity = 256, start = 0): RingCore[] {
  const len = RingCore.byteLengthFor(capacity);
  const sab = new SharedArrayBuffer(len * n);
  return Array.from({ length: n }, (_, i) => {
    // White box: place head and tail (words 0 and 16) at `start`, as if
    // `start` pushes and pops had happened.
    const words = new Int32Array(sab, i * len, 17);
    words[0] = packHead(start, start);
    words[16] = start;
    return new RingCore(sab, i * len, capacity);
  });
}

function drain(r: RingCore): number[] {
  const out: number[] = [];
  for (let id = r.pop(); id >= 0; id = r.pop()) out.push(id);
  return out;
}

Deno.test("ring: pop is FIFO; empty pop is -1; length tracks", () => {
  const [r] = rings(1);
  const sink = new Sink();
  assert.equal(r.pop(), -1);
  assert.equal(r.isEmpty(), true);
  for (let id = 0; id < 100; id++) r.push(id, sink);
  assert.equal(r.length, 100);
  assert.deepEqual(drain(r), Array.from({ length: 100 }, (_, i) => i));
  assert.equal(r.isEmpty(), true);
  assert.equal(sink.ids.length, 0);
});

Deno.test("ring: positions wrap (> 65536 pushes) with FIFO kept", () => {
  const [r] = rings(1);
  const sink = new Sink();
  let next = 0;
  let expect = 0;
  // Keep 0..200 tasks in flight over 70,000 cycles so head and tail wrap u16 together.
  for (let cycle = 0; cycle < 70_000; cycle++) {
    const k = (cycle * 7) % 3;
    for (let i = 0; i < k; i++) r.push(next++, sink);
    const want = r.length > 200 ? 3 : 1;
    for (let i = 0; i < want; i++) {
      const id = r.pop();
      if (id < 0) break;
      assert.equal(id, expect++);
    }
  }
  for (const id of drain(r)) assert.equal(id, expect++);
  assert.equal(expect, next);
  assert.ok(next > 65536, `only ${next} pushes`);
  assert.equal(sink.ids.length, 0);
});

Deno.test("ring: a push into a full ring moves half plus the new task to overflow, oldest first", () => {
  const [r] = rings(1);
  const sink = new Sink();
  for (let id = 0; id < 256; id++) r.push(id, sink);
  assert.equal(sink.ids.length, 0);
  r.push(256, sink);
  assert.deepEqual(sink.batches, [129]);
  assert.deepEqual(sink.ids, [...Array.from({ length: 128 }, (_, i) => i), 256]);
  assert.equal(r.length, 128);
  assert.deepEqual(drain(r), Array.from({ length: 128 }, (_, i) => 128 + i));
  // The same after wrapping: fill, overflow, drain, many times.
  let next = 1000;
  for (let round = 0; round < 600; round++) {
    const s = new Sink();
    const first = next;
    for (let i = 0; i < 257; i++) r.push(next++, s);
    assert.deepEqual(s.batches, [129]);
    assert.equal(s.ids[0], first);
    assert.equal(s.ids[128], next - 1);
    const rest = drain(r);
    assert.equal(rest.length, 128);
    assert.equal(rest[0], first + 128);
  }
});

Deno.test("ring: overflow goes to the real inject queue", () => {
  const sab = new SharedArrayBuffer(LocalRing.byteLength + InjectQueue.byteLengthFor(1024));
  const ring = new LocalRing(sab, 0);
  const inject = new InjectQueue(sab, LocalRing.byteLength, 1024);
  for (let id = 0; id < 300; id++) ring.push(id, inject);
  assert.equal(inject.length, 129);
  assert.equal(ring.length, 171);
  assert.equal(inject.pop(), 0);
  assert.equal(ring.pop(), 128);
});

Deno.test("ring: steal takes ceil(n/2), returns the newest stolen, keeps the rest in dst", () => {
  for (const n of [1, 2, 3, 4, 5, 7, 128, 255, 256]) {
    const [victim, thief] = rings(2);
    const sink = new Sink();
    for (let id = 0; id < n; id++) victim.push(id, sink);
    const take = Math.ceil(n / 2);
    const got = victim.stealInto(thief);
    assert.equal(got, take - 1, `n=${n}`);
    assert.equal(thief.length, take - 1, `n=${n}`);
    assert.equal(victim.length, n - take, `n=${n}`);
    assert.deepEqual(drain(thief), Array.from({ length: take - 1 }, (_, i) => i));
    assert.deepEqual(drain(victim), Array.from({ length: n - take }, (_, i) => take + i));
  }
});

Deno.test("ring: steal from empty; into a more-than-half-full ring; bad arguments", () => {
  const [a, b] = rings(2);
  const sink = new Sink();
  assert.equal(a.stealInto(b), -1);
  assert.equal(b.length, 0);
  for (let id = 0; id < 10; id++) a.push(id, sink);
  for (let id = 100; id < 229; id++) b.push(id, sink); // 129 > 128
  assert.equal(a.stealInto(b), -1);
  assert.equal(a.length, 10);
  b.pop(); // 128: allowed again
  assert.equal(a.stealInto(b), 4);
  assert.throws(() => a.stealInto(a), RangeError);
  assert.throws(() => a.stealInto({} as RingCore), TypeError);
  assert.throws(() => a.stealInto(rings(1, 8)[0]), RangeError);
  assert.throws(() => a.push(-1, sink), RangeError);
  assert.throws(() => a.push(1.5, sink), TypeError);
  assert.throws(() => a.push(2 ** 31, sink), RangeError);
  assert.throws(() => new RingCore(new SharedArrayBuffer(4096), 0, 6), RangeError);
  assert.throws(() => new RingCore(new SharedArrayBuffer(100), 0, 4), RangeError);
  assert.throws(() => new LocalRing(new SharedArrayBuffer(4096), 2), RangeError);
  assert.throws(
    () => new LocalRing(new ArrayBuffer(4096) as unknown as SharedArrayBuffer, 0),
    TypeError,
  );
  assert.equal(LocalRing.byteLength % 64, 0);
  assert.equal(new LocalRing(new SharedArrayBuffer(LocalRing.byteLength), 0).capacity, 256);
});

Deno.test("lifo slot: swap returns the previous occupant; take empties", () => {
  const slot = new LifoSlot(new SharedArrayBuffer(LifoSlot.byteLength * 2), LifoSlot.byteLength);
  assert.equal(slot.isEmpty(), true);
  assert.equal(slot.swap(0), -1);
  assert.equal(slot.peek(), 0);
  assert.equal(slot.swap(2 ** 31 - 1), 0);
  assert.equal(slot.swap(7), 2 ** 31 - 1);
  assert.equal(slot.take(), 7);
  assert.equal(slot.take(), -1);
  assert.equal(slot.swap(3), -1);
  assert.equal(slot.swap(-1), 3);
  assert.equal(slot.isEmpty(), true);
  assert.throws(() => slot.swap(-2), RangeError);
  assert.throws(() => slot.swap(0.5), TypeError);
});

Deno.test("model: sequential runs of the step model agree with RingCore (capacity 4)", () => {
  // Random programs for 3 threads, run one whole operation at a time in a
  // random order, both by the model and by the real code.
  let x = 12345;
  const rand = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let trial = 0; trial < 300; trial++) {
    const order: [number, ModelOp][] = [];
    let id = 1;
    for (let k = 0; k < 24; k++) {
      const t = rand() % 3;
      const r = rand() % 10;
      let op: ModelOp;
      if (r < 5 && id <= 30) op = P(id++);
      else if (r < 7) op = POP;
      else op = STEAL((t + 1 + (rand() % 2)) % 3);
      order.push([t, op]);
    }
    const programs: ModelOp[][] = [[], [], []];
    for (const [t, op] of order) programs[t].push(op);
    const model = new RingModel({
      capacity: 4,
      programs,
      startPosition: trial % 2 === 0 ? 0xfff0 + (rand() % 16) : rand() & 0xffff,
    });
    const real = rings(3, 4, model.start);
    let s = model.initial();
    for (const [t, op] of order) {
      let modelResult = NaN;
      const modelOverflow: number[] = [];
      const hooks: ModelHooks = {
        onFinish: (_t, r) => modelResult = r,
        onDeliver: (_t, d, via) => {
          if (via === "overflow") modelOverflow.push(d);
        },
      };
      while (Number.isNaN(modelResult)) s = model.step(s, t, hooks)!;
      const sink = new Sink();
      let realResult: number;
      if (op.kind === "push") {
        real[t].push(op.id, sink);
        realResult = 0;
      } else if (op.kind === "pop") realResult = real[t].pop();
      else realResult = real[op.from].stealInto(real[t]);
      assert.equal(realResult, modelResult, `trial ${trial}: ${JSON.stringify(op)} on ${t}`);
      assert.deepEqual(sink.ids, modelOverflow);
      for (let r = 0; r < 3; r++) {
        const R = model.ring(r);
        assert.equal(real[r].length, (s[R + 1] - headReal(s[R])) & 0xffff);
      }
    }
  }
});

// Scenarios for the exhaustive check. Capacity 4: a push into a full ring
// overflows 2 + 1; steals take ceil(n/2). Threads: 0 is the main owner.
const SCENARIOS: Record<string, ModelConfig> = {
  "owner push/overflow/pop vs two stealers": {
    capacity: 4,
    programs: [[P(1), P(2), P(3), P(4), P(5), POP, P(6), POP], [STEAL(0), POP], [STEAL(0)]],
  },
  "stealers steal twice, one steals from the other's ring": {
    capacity: 4,
    programs: [
      [P(1), P(2), P(3), POP, P(4), P(5), P(6), POP],
      [STEAL(0), STEAL(0), POP],
      [STEAL(1), STEAL(0)],
    ],
  },
  "across the u16 wrap": {
    capacity: 4,
    startPosition: 0xfffe,
    programs: [[P(1), P(2), P(3), P(4), P(5), POP, POP], [STEAL(0), POP], [STEAL(0)]],
  },
  "one stealer vs repeated overflow": {
    capacity: 4,
    programs: [[P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9)], [STEAL(0), STEAL(0)]],
  },
  "everyone owns, pushes and steals": {
    capacity: 4,
    programs: [
      [P(1), P(2), P(3), P(4), P(5), POP, STEAL(1), POP],
      [STEAL(0), P(6), STEAL(2), POP],
      [STEAL(0), STEAL(1), POP],
    ],
  },
  "full ring overflow while stealers busy, across the wrap": {
    capacity: 4,
    startPosition: 0xfffd,
    programs: [
      [P(1), P(2), P(3), P(4), P(5), P(6), POP, P(7), POP],
      [STEAL(0), STEAL(0), POP],
      [STEAL(0), STEAL(1)],
    ],
  },
};

Deno.test("model: every interleaving keeps each task exactly once and within capacity", () => {
  let total = 0;
  for (const [name, config] of Object.entries(SCENARIOS)) {
    const r = explore(config);
    assert.ok(r.finals > 1, `${name}: only ${r.finals} outcomes`);
    total += r.states;
  }
  assert.ok(total > 100_000, `explored only ${total} states`);
});

Deno.test("model: the checker catches seeded protocol bugs", () => {
  const cases: [ModelBugs, RegExp][] = [
    [{ roomUsesReal: true }, /capacity/],
    [{ noBusyCheck: true }, /twice|both delivered|lost|garbage/],
    [{ releaseToClaimEnd: true }, /steal left in progress/],
  ];
  const config = SCENARIOS["owner push/overflow/pop vs two stealers"];
  for (const [bugs, message] of cases) {
    assert.throws(() => explore({ ...config, bugs }), (e: unknown) => {
      assert.ok(e instanceof ModelViolation, String(e));
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("inject: FIFO, batches, full, wraparound, spill", () => {
  const q = new InjectQueue(new SharedArrayBuffer(InjectQueue.byteLengthFor(8)), 0, 8);
  assert.equal(q.pop(), -1);
  assert.equal(q.popBatch(new Int32Array(4), 4), 0);
  let next = 0;
  let expect = 0;
  const out = new Int32Array(8);
  for (let round = 0; round < 5000; round++) {
    const k = round % 9;
    if (round % 3 === 0) {
      for (let i = 0; i < k; i++) {
        if (q.push(next)) next++;
        else assert.equal(q.length, 8);
      }
    } else {
      const batch = Array.from({ length: Math.min(k, 8 - q.length) }, (_, i) => next + i);
      q.pushBatch(batch, batch.length);
      next += batch.length;
    }
    assert.equal(q.spilled, 0);
    if (round % 2 === 0) {
      const n = q.popBatch(out, 1 + (round % 8));
      for (let i = 0; i < n; i++) assert.equal(out[i], expect++);
    } else {
      const id = q.pop();
      if (id >= 0) assert.equal(id, expect++);
    }
  }
  assert.ok(next > 1000);
  // Full: push refuses, pushBatch spills and keeps order.
  while (q.push(next)) next++;
  assert.equal(q.length, 8);
  assert.equal(q.push(next), false);
  q.pushBatch([next, next + 1, next + 2], 3);
  next += 3;
  assert.equal(q.spilled, 3);
  assert.equal(q.isEmpty(), false);
  assert.equal(q.push(next), false, "push must not overtake the spill");
  const rest: number[] = [];
  for (let id = q.pop(); id >= 0; id = q.pop()) rest.push(id);
  assert.deepEqual(rest, Array.from({ length: next - expect }, (_, i) => expect + i));
  assert.equal(q.isEmpty(), true);
  // Bad input.
  assert.throws(() => q.push(-1), RangeError);
  assert.throws(() => q.push(NaN), TypeError);
  assert.throws(() => q.pushBatch([1, -5], 2), RangeError);
  assert.equal(q.length, 0, "a rejected batch pushes nothing");
  assert.throws(() => q.pushBatch([1], 2), RangeError);
  assert.throws(() => q.popBatch(new Int32Array(2), 3), RangeError);
  assert.throws(() => InjectQueue.byteLengthFor(1000), RangeError);
  assert.throws(() => new InjectQueue(new SharedArrayBuffer(64), 0, 8), RangeError);
});

Deno.test("idle: at most half search; last searcher; notify picks a parked worker", () => {
  const woken: number[] = [];
  const idle = new IdleState(
    new SharedArrayBuffer(IdleState.byteLengthFor(5)),
    0,
    5,
    (i) => woken.push(i),
  );
  assert.equal(idle.numUnparked, 5);
  // 5 workers: searches granted while 2*searching < 5, so 3.
  assert.equal(idle.transitionWorkerToSearching(0), true);
  assert.equal(idle.transitionWorkerToSearching(1), true);
  assert.equal(idle.transitionWorkerToSearching(4), true);
  assert.equal(idle.transitionWorkerToSearching(4), true, "already searching: no second count");
  assert.equal(idle.transitionWorkerToSearching(3), false);
  assert.equal(idle.numSearching, 3);
  assert.equal(idle.transitionWorkerFromSearching(0), false);
  assert.equal(idle.transitionWorkerFromSearching(1), false);
  assert.equal(idle.transitionWorkerFromSearching(1), false, "not searching: nothing to give");
  // A searcher parking as the last searcher must be told so.
  assert.equal(idle.transitionWorkerToParked(4), true);
  assert.equal(idle.numSearching, 0);
  assert.equal(idle.isSearching(4), false);
  assert.equal(idle.transitionWorkerToParked(2), false);
  assert.throws(() => idle.transitionWorkerToParked(2), RangeError);
  // A push: wake one parked worker; it comes back searching, so a second push wakes nobody.
  const w = idle.workerToNotify();
  assert.ok(w === 2 || w === 4, `picked ${w}`);
  assert.equal(idle.isParked(w), false);
  assert.equal(idle.isSearching(w), true, "the woken worker holds the search");
  assert.equal(idle.numSearching, 1);
  assert.equal(idle.numParked, 1);
  assert.equal(idle.workerToNotify(), -1);
  idle.unpark(w); // not blocked: no wake call, the notification waits in its park word
  assert.deepEqual(woken, []);
  assert.equal(idle.prepareToPark(w), false, "pending notification is consumed");
  assert.equal(idle.transitionWorkerFromSearching(w), true);
  // The other parked worker blocks (reactor-style): unpark calls wake.
  const other = w === 2 ? 4 : 2;
  assert.equal(idle.prepareToPark(other), true);
  assert.equal(idle.notifyOne(), other);
  assert.deepEqual(woken, [other]);
  assert.equal(idle.finishPark(other), true);
  assert.equal(idle.transitionWorkerFromSearching(other), true);
  assert.equal(idle.numParked, 0);
  assert.equal(idle.workerToNotify(), -1, "nobody parked");
  // unparkWorker removes without counting a search; only once.
  idle.transitionWorkerToParked(0);
  assert.equal(idle.unparkWorker(0), true);
  assert.equal(idle.unparkWorker(0), false);
  assert.equal(idle.numParked, 0);
  assert.equal(idle.numSearching, 0);
  // A worker that dies holding a search (its own, or one a notifier gave it) is retired by the
  // pool: the search is given back once, even if its thread runs on and gives it back too.
  assert.equal(idle.transitionWorkerToSearching(3), true);
  assert.equal(idle.retireWorker(3), true);
  assert.equal(idle.transitionWorkerFromSearching(3), false, "the dead thread's late give-back");
  assert.equal(idle.numSearching, 0);
  idle.transitionWorkerToParked(1);
  assert.equal(idle.notifyOne(), 1);
  assert.equal(idle.retireWorker(1), true, "chosen by a notifier, then killed");
  assert.equal(idle.retireWorker(1), false);
  assert.equal(idle.numSearching, 0);
  idle.transitionWorkerToParked(2); // killed while parked: out of the sleepers
  assert.equal(idle.retireWorker(2), false);
  assert.equal(idle.isParked(2), false);
  assert.equal(idle.numParked, 0);
  // Atomics.wait parking with the default wake.
  const own = new IdleState(new SharedArrayBuffer(IdleState.byteLengthFor(40)), 0, 40);
  own.unpark(39);
  assert.equal(own.park(39, 10_000), true);
  assert.equal(own.park(39, 1), false);
  own.transitionWorkerToParked(35); // second sleeper word
  assert.equal(own.workerToNotify(), 35);
  assert.throws(() => own.isParked(40), RangeError);
  assert.throws(() => own.park(0, -1), RangeError);
  assert.throws(() => new IdleState(new SharedArrayBuffer(4096), 0, 0), RangeError);
});

Deno.test("layout: one buffer, regions aligned and disjoint; attach validates", () => {
  const layout = computeLayout({ workers: 3, injectCapacity: 1024 });
  const regions: [number, number][] = [
    [layout.idleOffset, IdleState.byteLengthFor(3)],
    [layout.injectOffset, InjectQueue.byteLengthFor(1024)],
    ...layout.ringOffsets.map((o): [number, number] => [o, LocalRing.byteLength]),
    ...layout.lifoOffsets.map((o): [number, number] => [o, LifoSlot.byteLength]),
  ];
  regions.sort((a, b) => a[0] - b[0]);
  let end = 64;
  for (const [offset, bytes] of regions) {
    assert.equal(offset % 64, 0);
    assert.ok(offset >= end, "regions overlap");
    end = offset + bytes;
  }
  assert.ok(end <= layout.byteLength);
  const sab = createSharedQueuesBuffer({ workers: 3, injectCapacity: 1024 });
  assert.equal(sab.byteLength, layout.byteLength);
  const a = attachSharedQueues(sab);
  const b = attachSharedQueues(sab);
  a.rings[2].push(5, a.inject);
  assert.equal(b.rings[2].pop(), 5);
  a.inject.push(9);
  assert.equal(b.inject.pop(), 9);
  a.lifo[1].swap(4);
  assert.equal(b.lifo[1].take(), 4);
  assert.equal(a.layout.workers, 3);
  assert.throws(() => attachSharedQueues(new SharedArrayBuffer(4096)), TypeError);
  assert.throws(() => computeLayout({ workers: 0 }), RangeError);
  assert.throws(() => computeLayout({ workers: 2, injectCapacity: 3 }), RangeError);
});

// --- Concurrent stress with real Workers ------------------------------------

const WORKER_URL = new URL("./workers/shared_queue_worker.ts", import.meta.url).href;

/**
 * How long the workers may start, ms. A Worker's module is type-checked when it starts (deno
 * test checks each Worker's root): on a cold cache and a loaded machine that alone took 16 s,
 * which is why the work's own deadline starts only once every worker is ready.
 */
const STARTUP_LIMIT_MS = 60_000;
/** Start attempts per worker: a Worker whose module never finished loading is replaced once. */
const STARTUP_ATTEMPTS = 2;
/** The work fails when the executed count stands still this long (a lost task), ms. */
const STALL_LIMIT_MS = 15_000;
/** How often the executed count is sampled, ms. */
const PROGRESS_SAMPLE_MS = 500;

/**
 * Start a worker and wait for its "ready" (its module loaded and checked). In one full CI run
 * a Worker's module load stalled (no "ready" and no error for 180 s) while the same test passed
 * alone and in every other run; a stalled start is replaced by a fresh Worker once, and only the
 * start is retried, never the work.
 */
async function startWorker(i: number, limitMs: number): Promise<Worker> {
  for (let attempt = 1;; attempt++) {
    try {
      return await startWorkerOnce(i, limitMs);
    } catch (e) {
      if (attempt >= STARTUP_ATTEMPTS || !(e instanceof StartupStall)) throw e;
      console.error(`${(e as Error).message}: starting it again`);
    }
  }
}

/** A worker that neither said "ready" nor failed within the startup limit. */
class StartupStall extends Error {}

function startWorkerOnce(i: number, limitMs: number): Promise<Worker> {
  const w = new Worker(WORKER_URL, { type: "module" });
  return new Promise<Worker>((resolve, reject) => {
    const timer = setTimeout(() => {
      w.terminate();
      reject(new StartupStall(`worker ${i} not ready after ${limitMs} ms`));
    }, limitMs);
    w.onmessage = (e: MessageEvent<unknown>) => {
      clearTimeout(timer);
      if (e.data === READY) return resolve(w);
      w.terminate();
      reject(new Error(`worker ${i} said ${JSON.stringify(e.data)} before ready`));
    };
    w.onerror = (e) => {
      e.preventDefault();
      clearTimeout(timer);
      w.terminate();
      reject(new Error(`worker ${i} failed to start: ${e.message}`));
    };
  });
}

/**
 * Run one job per worker. The first worker starts alone (its type check fills the cache the
 * others then hit), the rest together; every job is posted once all are ready. The work fails
 * (the workers are aborted) when the executed count stands still for `STALL_LIMIT_MS`: a lost
 * or stuck task stops it for good, while a loaded machine only slows it down.
 */
async function runWorkers(
  jobs: Job[],
  counters: Int32Array,
  whileRunning?: () => void,
): Promise<Stats[]> {
  const workers: Worker[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    const first = await startWorker(0, STARTUP_LIMIT_MS);
    workers.push(first);
    const rest = jobs.slice(1).map((_, i) => startWorker(i + 1, STARTUP_LIMIT_MS));
    const settled = await Promise.allSettled(rest);
    for (const r of settled) if (r.status === "fulfilled") workers.push(r.value);
    const failed = settled.find((r) => r.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const done = workers.map((w, i) =>
      new Promise<Stats>((resolve, reject) => {
        w.onmessage = (e: MessageEvent<Stats>) => resolve(e.data);
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`worker ${i}: ${e.message}`));
        };
        w.postMessage(jobs[i]);
      })
    );
    const stalled = new Promise<never>((_, reject) => {
      let seen = -1;
      let since = Date.now();
      timer = setInterval(() => {
        const now = Atomics.load(counters, EXECUTED);
        if (now !== seen) {
          seen = now;
          since = Date.now();
        } else if (Date.now() - since > STALL_LIMIT_MS) {
          Atomics.store(counters, ABORT, 1);
          reject(
            new Error(`no task ran for ${STALL_LIMIT_MS} ms at ${now} executed (a lost task?)`),
          );
        }
      }, PROGRESS_SAMPLE_MS);
    });
    if (whileRunning) {
      // Give the event loop a turn so workers start, then run the driver.
      await new Promise((r) => setTimeout(r, 0));
      whileRunning();
    }
    return await Promise.race([Promise.all(done), stalled]);
  } finally {
    clearInterval(timer);
    Atomics.store(counters, ABORT, 1);
    for (const w of workers) w.terminate();
  }
}

function checkExactlyOnce(counters: Int32Array, total: number): void {
  assert.equal(Atomics.load(counters, EXECUTED), total);
  for (let id = 0; id < total; id++) {
    const n = counters[COUNTERS + id];
    if (n !== 1) assert.fail(`id ${id} ran ${n} times`);
  }
}

Deno.test("stress: 4 workers push, pop, steal and overflow 1,000,000 ids; each runs once", async () => {
  const W = 4;
  const total = 1_000_000;
  const sab = createSharedQueuesBuffer({ workers: W, injectCapacity: 4096 });
  const countersSab = new SharedArrayBuffer((COUNTERS + total) * 4);
  const counters = new Int32Array(countersSab);
  // Worker 3 produces nothing: everything it runs came by steal or inject.
  const shares = [400_000, 350_000, 250_000, 0];
  let first = 0;
  const jobs: Job[] = shares.map((n, index) => {
    const job: Job = {
      mode: "ring",
      sab,
      counters: countersSab,
      index,
      workers: W,
      total,
      first,
      end: first + n,
      seed: 0x9e3779b9 * (index + 1),
    };
    first += n;
    return job;
  });
  const stats = await runWorkers(jobs, counters);
  assert.ok(stats.every((s) => !s.aborted));
  checkExactlyOnce(counters, total);
  const q = attachSharedQueues(sab);
  for (let i = 0; i < W; i++) {
    assert.equal(q.rings[i].length, 0, `ring ${i} not empty`);
    assert.equal(q.lifo[i].isEmpty(), true, `lifo ${i} not empty`);
  }
  assert.equal(q.inject.length, 0);
  assert.ok(stats.every((s) => s.spilledAtEnd === 0));
  const sum = (k: keyof Stats) => stats.reduce((a, s) => a + Number(s[k]), 0);
  assert.equal(sum("pushed"), total);
  assert.equal(sum("executed"), total);
  // The paths under test were taken (overflow is certain: bursts of up to 300).
  assert.ok(sum("steals") > 0, "no steal succeeded");
  assert.ok(sum("overflows") > 0, "no overflow");
  assert.ok(sum("injectPops") > 0, "nothing popped from inject");
  assert.ok(stats[3].executed > 0, "the non-producing worker ran nothing");
});

Deno.test("stress: inject queue under 4 producer/consumer workers", async () => {
  const W = 4;
  const total = 400_000;
  const sab = createSharedQueuesBuffer({ workers: W, injectCapacity: 256 });
  const countersSab = new SharedArrayBuffer((COUNTERS + total) * 4);
  const counters = new Int32Array(countersSab);
  const per = total / W;
  const jobs: Job[] = Array.from({ length: W }, (_, index) => ({
    mode: "inject",
    sab,
    counters: countersSab,
    index,
    workers: W,
    total,
    first: index * per,
    end: (index + 1) * per,
    seed: 0x2545f491 * (index + 3),
  }));
  const stats = await runWorkers(jobs, counters);
  assert.ok(stats.every((s) => !s.aborted && s.spilledAtEnd === 0));
  checkExactlyOnce(counters, total);
  assert.equal(attachSharedQueues(sab).inject.length, 0);
  assert.equal(stats.reduce((a, s) => a + s.pushed, 0), total);
});

Deno.test("stress: parked workers are woken one at a time by notify", async () => {
  const W = 3;
  const rounds = 300;
  const total = W * rounds;
  const sab = createSharedQueuesBuffer({ workers: W, injectCapacity: 256 });
  const countersSab = new SharedArrayBuffer((COUNTERS + W) * 4);
  const counters = new Int32Array(countersSab);
  const idle = attachSharedQueues(sab).idle;
  let notified = 0;
  let maxSearching = 0;
  const jobs: Job[] = Array.from({ length: W }, (_, index) => ({
    mode: "park",
    sab,
    counters: countersSab,
    index,
    workers: W,
    total,
    first: 0,
    end: 0,
    seed: 1,
    rounds,
  }));
  const stats = await runWorkers(jobs, counters, () => {
    // The driver: a producer that notifies whenever the state allows, until every round ran
    // or no round completed for STALL_LIMIT_MS (a lost wake: the asserts below then fail).
    let seen = 0;
    let since = Date.now();
    for (let now = 0; now < total; now = Atomics.load(counters, EXECUTED)) {
      if (now !== seen) [seen, since] = [now, Date.now()];
      else if (Date.now() - since > STALL_LIMIT_MS) break;
      if (idle.notifyOne() >= 0) notified++;
      maxSearching = Math.max(maxSearching, idle.numSearching);
    }
  });
  assert.ok(stats.every((s) => !s.aborted));
  assert.equal(Atomics.load(counters, EXECUTED), total);
  for (let i = 0; i < W; i++) assert.equal(counters[COUNTERS + i], rounds);
  assert.equal(notified, total, "one notification per park");
  assert.ok(maxSearching <= 1, `searching reached ${maxSearching}`);
  assert.equal(idle.numSearching, 0);
  assert.equal(idle.numParked, 0);
});
