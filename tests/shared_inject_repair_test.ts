/**
 * The inject queue's repair of cells left claimed and unfinished by a thread
 * that stopped for good: unit tests on the real queue (the stopped thread
 * simulated on its words), and an exhaustive interleaving check of its protocol
 * (`runtime/pool/queues/shared_inject_queue.ts`) at capacity 2 and 4, with
 * threads that stop forever between claiming a cell and finishing it (a killed
 * worker), and the repair that finishes such cells on their behalf.
 *
 * The model mirrors the queue one atomic step at a time, as the ring's model in
 * `shared_queue_test.ts` does: every `Atomics` access and every plain value
 * access another thread could conflict with is one step. Threads run fixed
 * programs of `push`, `pushBatch`, `pop` and `popBatch`; a thread marked
 * `mayDie` may stop for good at any step inside an operation. A `repair` step
 * sequence is one pass of `repairStalled`; the real method only acts on a cell
 * it saw stalled on its previous call too, while the model's pass acts on
 * every claimed, unfinished cell it sees: a superset of what the real one does,
 * so the safety shown here covers it. A repairer thread may run one pass
 * alongside the workers. Once every worker finished or died, a probe thread
 * does what the pool's sweep and its live workers do after a death: repair,
 * drain, repair again (an unpublished cell behind published ones is reached
 * only once those are drained), drain, and then checks the queue flows: it
 * pushes `capacity` new ids (none may be refused) and pops them back in order.
 *
 * Checked: every delivery (pop, popBatch, repair, probe) is of a published id
 * not delivered before; in every final state each published id was delivered
 * exactly once (ids a dead producer never published are in its hands only);
 * the probe's pushes and pops all succeed. Seeded mistakes (no repair; a
 * plain store instead of the publish or release CAS beside a repairer) show
 * the checker fails.
 *
 * @module
 */

import assert from "node:assert/strict";
// The queue's layout (its words, for the white-box tests) and cell word (phase in the top bits,
// id in the low ID_BITS), which the model uses too.
import {
  CELLS as CELLS_WORD,
  DEQ as DEQ_WORD,
  ENQ as ENQ_WORD,
  ID_BITS,
  ID_MASK,
  INJECT_ID_LIMIT,
  InjectQueue,
  PHASE_MASK,
} from "../runtime/pool/queues/shared_inject_queue.ts";

/** One operation of a thread's program. */
type InjectOp =
  | { readonly kind: "repair" }
  | { readonly kind: "push"; readonly id: number }
  | { readonly kind: "pushBatch"; readonly ids: readonly number[] }
  | { readonly kind: "pop" }
  | { readonly kind: "popBatch"; readonly max: number };

/** One worker thread of a configuration. */
interface InjectThread {
  readonly program: readonly InjectOp[];
  /** May stop forever at any step inside an operation. */
  readonly mayDie?: boolean;
}

/** Deliberate protocol mistakes, to check the checker. */
interface InjectBugs {
  /** The repairer does nothing (the queue before the repair existed). */
  noRepair?: boolean;
  /** Producers publish with a plain store instead of a CAS. */
  publishByStore?: boolean;
  /** Consumers release with a plain store instead of a CAS. */
  releaseByStore?: boolean;
}

/** A model configuration. */
interface InjectConfig {
  /** Cells (a power of two). */
  readonly capacity: number;
  readonly threads: readonly InjectThread[];
  /** How many threads may die in one run (default 1). */
  readonly maxDeaths?: number;
  /** The repairer's first pass runs concurrently with the others (else only after them). */
  readonly concurrentRepair?: boolean;
  /** Initial enqueue/dequeue position (to cross the int32 wrap). */
  readonly startPosition?: number;
  readonly bugs?: InjectBugs;
}

class InjectViolation extends Error {
  readonly state: readonly number[];
  constructor(message: string, state: readonly number[]) {
    super(message);
    this.name = "InjectViolation";
    this.state = state;
  }
}

// State words: ENQ, DEQ, cell[cap], delivered, published, dead, deaths, then locals.
const ENQ = 0;
const DEQ = 1;
const CELL0 = 2;
/** Phase difference modulo 2^11, signed (shifting by ID_BITS moves the phase bits to the top). */
function phaseDiff(a: number, b: number): number {
  return ((a - b) << ID_BITS) >> ID_BITS;
}
/** Locals per thread: pc, st, pos, k, j, i (ids done / got), v, back (repairer). */
const LOCALS = 8;
const L_PC = 0, L_ST = 1, L_POS = 2, L_K = 3, L_J = 4, L_I = 5, L_V = 6, L_BACK = 7;
/** Fresh ids the probe pushes start here (program ids stay below). */
const PROBE_BASE = 24;

class InjectModel {
  readonly cap: number;
  readonly mask: number;
  readonly config: InjectConfig;
  readonly bugs: InjectBugs;
  readonly workers: number;
  /** Thread indexes of the repairer and the probe (after the workers). */
  readonly repairer: number;
  readonly probe: number;
  /** log2(capacity). */
  readonly shift: number;
  readonly delivered: number;
  readonly published: number;
  readonly dead: number;
  readonly deaths: number;
  readonly locals0: number;
  readonly pushedIds: number;

  constructor(config: InjectConfig) {
    this.config = config;
    this.cap = config.capacity;
    this.mask = this.cap - 1;
    this.bugs = config.bugs ?? {};
    this.workers = config.threads.length;
    this.repairer = this.workers;
    this.probe = this.workers + 1;
    this.shift = 31 - Math.clz32(this.cap);
    this.delivered = CELL0 + this.cap;
    this.published = this.delivered + 1;
    this.dead = this.published + 1;
    this.deaths = this.dead + 1;
    this.locals0 = this.deaths + 1;
    let ids = 0;
    for (const t of config.threads) {
      for (const op of t.program) {
        if (op.kind === "popBatch" && op.max > 2) throw new RangeError("model popBatch max is 2");
        const list = op.kind === "push" ? [op.id] : op.kind === "pushBatch" ? op.ids : [];
        for (const id of list) {
          if (id < 1 || id >= PROBE_BASE) throw new RangeError("model ids must be in [1, 23]");
          if (ids & (1 << id)) throw new RangeError("model ids must be unique");
          ids |= 1 << id;
        }
      }
    }
    if (PROBE_BASE + this.cap > 31) throw new RangeError("capacity too large for the model");
    this.pushedIds = ids;
  }

  initial(): number[] {
    const s = new Array<number>(this.locals0 + (this.workers + 2) * LOCALS).fill(0);
    const start = (this.config.startPosition ?? 0) | 0;
    s[ENQ] = start;
    s[DEQ] = start;
    // Each cell is free for the first position p >= start that lives in it.
    for (let k = 0; k < this.cap; k++) {
      const p = (start + k) | 0;
      s[CELL0 + (p & this.mask)] = this.#free(p) << ID_BITS;
    }
    return s;
  }

  local(t: number): number {
    return this.locals0 + t * LOCALS;
  }

  /** The probe's program: repair, drain, repair, drain, push `cap` fresh ids, pop them back. */
  probeProgram(): InjectOp[] {
    const ops: InjectOp[] = [];
    for (let round = 0; round < 2; round++) {
      ops.push({ kind: "repair" });
      for (let i = 0; i < this.cap; i++) ops.push({ kind: "pop" });
    }
    for (let i = 0; i < this.cap; i++) ops.push({ kind: "push", id: PROBE_BASE + i });
    for (let i = 0; i < this.cap; i++) ops.push({ kind: "pop" });
    return ops;
  }

  /** Where the probe's final pops (of its own ids) start. */
  get probeFinalPops(): number {
    return 3 * this.cap + 2;
  }

  program(t: number): readonly InjectOp[] {
    if (t < this.workers) return this.config.threads[t].program;
    if (t === this.probe) return this.#probe ??= this.probeProgram();
    return this.config.concurrentRepair ? REPAIR_PASS : [];
  }
  #probe: InjectOp[] | undefined;

  /** Whether every worker and the repairer finished or died. */
  #quiet(s: readonly number[]): boolean {
    for (let t = 0; t <= this.repairer; t++) {
      if ((s[this.dead] & (1 << t)) === 0 && s[this.local(t) + L_PC] < this.program(t).length) {
        return false;
      }
    }
    return true;
  }

  /** The cell word index of position p. */
  #cell(p: number): number {
    return CELL0 + (p & this.mask);
  }

  /** The phase of a cell free for the producer of position p (as the queue computes it). */
  #free(p: number): number {
    return ((p >>> this.shift) << 1) & PHASE_MASK;
  }

  #deliver(n: number[], t: number, id: number, via: string): void {
    if (id >= PROBE_BASE) return; // the probe's own ids are checked by the probe
    const bit = 1 << id;
    if (id < 1 || (n[this.published] & bit) === 0) {
      throw new InjectViolation(`thread ${t} got ${id} by ${via}: never published`, n);
    }
    if (n[this.delivered] & bit) {
      throw new InjectViolation(`id ${id} delivered twice (second by ${via}, thread ${t})`, n);
    }
    n[this.delivered] |= bit;
  }

  #publish(n: number[], id: number): void {
    if (id < PROBE_BASE) n[this.published] |= 1 << id;
  }

  #finish(n: number[], t: number): void {
    const l = this.local(t);
    n[l + L_PC] += 1;
    for (let i = 1; i < LOCALS; i++) n[l + i] = 0;
  }

  /** Every successor of `s`: one step of a thread, or a death. */
  successors(s: readonly number[]): number[][] {
    const out: number[][] = [];
    for (let t = 0; t <= this.repairer; t++) {
      if (s[this.dead] & (1 << t)) continue;
      const next = this.step(s, t);
      if (next !== null) out.push(next);
      const l = this.local(t);
      const maxDeaths = this.config.maxDeaths ?? 1;
      if (
        t < this.workers && this.config.threads[t].mayDie && s[l + L_ST] !== 0 &&
        s[l + L_PC] < this.program(t).length && s[this.deaths] < maxDeaths
      ) {
        const d = s.slice();
        d[this.dead] |= 1 << t;
        d[this.deaths] += 1;
        out.push(d);
      }
    }
    if (this.#quiet(s)) {
      const next = this.step(s, this.probe);
      if (next !== null) out.push(next);
    }
    return out;
  }

  /** Try to publish `id` at position p (one CAS; a plain store with the seeded bug). */
  #publishAt(n: number[], p: number, id: number): boolean {
    const cell = this.#cell(p);
    const free = this.#free(p);
    if (!this.bugs.publishByStore && n[cell] !== (free << ID_BITS)) return false;
    n[cell] = ((free + 1) << ID_BITS) | id;
    this.#publish(n, id);
    return true;
  }

  /** Try to release position p's cell holding `word` (one CAS; a plain store with the bug). */
  #releaseAt(n: number[], p: number, word: number): boolean {
    const cell = this.#cell(p);
    if (!this.bugs.releaseByStore && n[cell] !== word) return false;
    n[cell] = ((this.#free(p) + 2) & PHASE_MASK) << ID_BITS;
    return true;
  }

  /** One step of thread t's repair pass (`repairStalled` acting on every suspect it sees). */
  #repairStep(n: number[], t: number): void {
    const l = this.local(t);
    const p = (n[l + L_POS] - n[l + L_BACK]) | 0;
    const cell = this.#cell(p);
    const free = this.#free(p);
    const next = () => {
      n[l + L_BACK] -= 1;
      n[l + L_ST] = 2;
    };
    if (this.bugs.noRepair) {
      this.#finish(n, t);
      return;
    }
    switch (n[l + L_ST]) {
      case 0: // load ENQ
        n[l + L_POS] = n[ENQ];
        n[l + L_ST] = 1;
        break;
      case 1: // load DEQ
        n[l + L_K] = n[DEQ];
        n[l + L_BACK] = this.cap;
        n[l + L_ST] = 2;
        break;
      case 2: { // load one cell of the last lap and classify it
        if (n[l + L_BACK] === 0) {
          this.#finish(n, t);
          break;
        }
        const phase = n[cell] >>> ID_BITS;
        if (((p - n[l + L_K]) | 0) < 0) {
          if (phase === free + 1) n[l + L_ST] = 3;
          else next();
        } else if (phase === free) n[l + L_ST] = 5;
        else next();
        break;
      }
      case 3: { // takeUnreleased: load the word
        const word = n[cell];
        if (word >>> ID_BITS === free + 1) {
          n[l + L_V] = word;
          n[l + L_ST] = 4;
        } else next();
        break;
      }
      case 4: // CAS the release; the id is ours if it wins
        if (n[cell] === n[l + L_V]) {
          n[cell] = ((free + 2) & PHASE_MASK) << ID_BITS;
          this.#deliver(n, t, n[l + L_V] & ID_MASK, "repair");
        }
        next();
        break;
      case 5: // skipUnpublished: load DEQ
        if (n[DEQ] === p) n[l + L_ST] = 6;
        else next();
        break;
      case 6: // CAS DEQ p -> p+1
        if (n[DEQ] === p) {
          n[DEQ] = (p + 1) | 0;
          n[l + L_ST] = 7;
        } else next();
        break;
      case 7: // CAS the cell free for the next lap; its producer may have published
        if (n[cell] === free << ID_BITS) {
          n[cell] = ((free + 2) & PHASE_MASK) << ID_BITS;
          next();
        } else n[l + L_ST] = 3;
        break;
    }
  }

  /** The state after thread t's next step, or null if t has finished. */
  step(s: readonly number[], t: number): number[] | null {
    const l = this.local(t);
    const prog = this.program(t);
    const pc = s[l + L_PC];
    if (pc >= prog.length) return null;
    const n = s.slice();
    const op = prog[pc];
    const st = n[l + L_ST];
    const pos = n[l + L_POS];
    switch (op.kind) {
      case "repair":
        this.#repairStep(n, t);
        break;
      case "push": {
        switch (st) {
          case 0:
            n[l + L_POS] = n[ENQ];
            n[l + L_ST] = 1;
            break;
          case 1: {
            const dif = phaseDiff(n[this.#cell(pos)] >>> ID_BITS, this.#free(pos));
            if (dif === 0) n[l + L_ST] = 2;
            else if (dif < 0) this.#refused(n, t, op.id);
            else n[l + L_ST] = 0;
            break;
          }
          case 2:
            if (n[ENQ] === pos) {
              n[ENQ] = (pos + 1) | 0;
              n[l + L_ST] = 3;
            } else {
              n[l + L_POS] = n[ENQ];
              n[l + L_ST] = 1;
            }
            break;
          case 3:
            if (this.#publishAt(n, pos, op.id)) this.#finish(n, t);
            else n[l + L_ST] = 0; // skipped by a repair: push again
            break;
        }
        break;
      }
      case "pushBatch": {
        const ids = op.ids;
        const i = n[l + L_I];
        const k = n[l + L_K];
        switch (st) {
          case 0:
            if (i === ids.length) {
              this.#finish(n, t);
              break;
            }
            n[l + L_POS] = n[ENQ];
            n[l + L_K] = 0;
            n[l + L_ST] = 1;
            break;
          case 1: { // count free cells from pos
            const want = Math.min(ids.length - i, this.cap);
            const p = (pos + k) | 0;
            const dif = phaseDiff(n[this.#cell(p)] >>> ID_BITS, this.#free(p));
            if (dif === 0) {
              n[l + L_K] = k + 1;
              if (k + 1 === want) n[l + L_ST] = 2;
            } else if (k > 0) n[l + L_ST] = 2;
            else if (dif < 0) this.#finish(n, t); // full: the rest is spilled (the caller's)
            else n[l + L_ST] = 0;
            break;
          }
          case 2:
            if (n[ENQ] === pos) {
              n[ENQ] = (pos + k) | 0;
              n[l + L_J] = 0;
              n[l + L_ST] = 3;
            } else n[l + L_ST] = 0;
            break;
          case 3: {
            const j = n[l + L_J];
            // A publish that fails (a repair skipped the cell) leaves the id in the spill.
            this.#publishAt(n, (pos + j) | 0, ids[i + j]);
            if (j + 1 < k) n[l + L_J] = j + 1;
            else {
              n[l + L_I] = i + k;
              n[l + L_ST] = 0;
            }
            break;
          }
        }
        break;
      }
      case "pop": {
        switch (st) {
          case 0:
            n[l + L_POS] = n[DEQ];
            n[l + L_ST] = 1;
            break;
          case 1: {
            const word = n[this.#cell(pos)];
            const dif = phaseDiff(word >>> ID_BITS, this.#free(pos) + 1);
            if (dif === 0) {
              n[l + L_V] = word;
              n[l + L_ST] = 2;
            } else if (dif < 0) this.#popped(n, t, -1);
            else n[l + L_ST] = 0;
            break;
          }
          case 2:
            if (n[DEQ] === pos) {
              n[DEQ] = (pos + 1) | 0;
              n[l + L_ST] = 3;
            } else {
              n[l + L_POS] = n[DEQ];
              n[l + L_ST] = 1;
            }
            break;
          case 3: {
            const word = n[l + L_V];
            if (this.#releaseAt(n, pos, word)) {
              this.#deliver(n, t, word & ID_MASK, "pop");
              this.#popped(n, t, word & ID_MASK);
            } else n[l + L_ST] = 0; // a repair took it: pop again
            break;
          }
        }
        break;
      }
      case "popBatch": {
        const got = n[l + L_I];
        const k = n[l + L_K];
        // The words seen while counting (the queue keeps them in dst): at most two.
        const stash = [L_V, L_BACK];
        switch (st) {
          case 0:
            if (got === op.max) {
              this.#finish(n, t);
              break;
            }
            n[l + L_POS] = n[DEQ];
            n[l + L_K] = 0;
            n[l + L_ST] = 1;
            break;
          case 1: { // count published cells from pos, keeping their words
            const want = Math.min(op.max - got, this.cap);
            const p = (pos + k) | 0;
            const word = n[this.#cell(p)];
            const dif = phaseDiff(word >>> ID_BITS, this.#free(p) + 1);
            if (dif === 0) {
              n[l + stash[k]] = word;
              n[l + L_K] = k + 1;
              if (k + 1 === want) n[l + L_ST] = 2;
            } else if (k > 0) n[l + L_ST] = 2;
            else if (dif < 0) this.#finish(n, t); // empty
            else n[l + L_ST] = 0;
            break;
          }
          case 2:
            if (n[DEQ] === pos) {
              n[DEQ] = (pos + k) | 0;
              n[l + L_J] = 0;
              n[l + L_ST] = 3;
            } else n[l + L_ST] = 0;
            break;
          case 3: { // release one claimed cell with the word seen (a repair may have taken it)
            const j = n[l + L_J];
            const word = n[l + stash[j]];
            if (this.#releaseAt(n, (pos + j) | 0, word)) {
              this.#deliver(n, t, word & ID_MASK, "popBatch");
              n[l + L_I] = n[l + L_I] + 1;
            }
            if (j + 1 < k) n[l + L_J] = j + 1;
            else n[l + L_ST] = 0;
            break;
          }
        }
        break;
      }
    }
    return n;
  }

  /** A push refused as full: an error for the probe (the queue should have room). */
  #refused(n: number[], t: number, id: number): void {
    if (t === this.probe) {
      throw new InjectViolation(`queue blocked: the probe's push of ${id} was refused`, n);
    }
    this.#finish(n, t);
  }

  /** A pop's result; the probe checks its own ids come back in order. */
  #popped(n: number[], t: number, id: number): void {
    if (t === this.probe) {
      const pc = n[this.local(t) + L_PC];
      if (pc >= this.probeFinalPops) {
        const want = PROBE_BASE + pc - this.probeFinalPops;
        if (id !== want) {
          throw new InjectViolation(`queue blocked: the probe popped ${id}, wanted ${want}`, n);
        }
      } else if (id >= PROBE_BASE) throw new InjectViolation(`probe id ${id} too early`, n);
    }
    this.#finish(n, t);
  }

  /** Invariants of a final state (everyone finished or dead, the probe done). */
  checkFinal(s: readonly number[]): void {
    const lost = s[this.published] & ~s[this.delivered];
    if (lost !== 0) {
      const ids = [];
      for (let id = 1; id < PROBE_BASE; id++) if (lost & (1 << id)) ids.push(id);
      throw new InjectViolation(`published ids never delivered: ${ids.join(",")}`, s);
    }
  }
}

interface InjectExplored {
  states: number;
  finals: number;
  /** Final states reached with at least one thread dead. */
  deadFinals: number;
}

/** A scenario must stay small enough to explore in seconds. */
const STATE_LIMIT = 2_000_000;

function exploreInject(config: InjectConfig): InjectExplored {
  const model = new InjectModel(config);
  const visited = new Set<string>();
  const stack: number[][] = [model.initial()];
  let finals = 0;
  let deadFinals = 0;
  while (stack.length > 0) {
    const s = stack.pop()!;
    const key = s.join(",");
    if (visited.has(key)) continue;
    visited.add(key);
    if (visited.size > STATE_LIMIT) throw new RangeError(`more than ${STATE_LIMIT} states`);
    const next = model.successors(s);
    if (next.length === 0) {
      model.checkFinal(s);
      finals++;
      if (s[model.dead] !== 0) deadFinals++;
    }
    for (const n of next) stack.push(n);
  }
  return { states: visited.size, finals, deadFinals };
}

const REPAIR_PASS: readonly InjectOp[] = [{ kind: "repair" }];
const push = (id: number): InjectOp => ({ kind: "push", id });
const pushBatch = (...ids: number[]): InjectOp => ({ kind: "pushBatch", ids });
const pop: InjectOp = { kind: "pop" };
const popBatch = (max: number): InjectOp => ({ kind: "popBatch", max });

const INJECT_SCENARIOS: Record<string, InjectConfig> = {
  "a producer dies mid-push beside a producer and a consumer": {
    capacity: 2,
    threads: [
      { program: [push(1), push(2)], mayDie: true },
      { program: [push(3), push(4)] },
      { program: [pop, pop, pop] },
    ],
  },
  "a batch producer dies mid-batch; a batch consumer": {
    capacity: 4,
    threads: [
      { program: [pushBatch(1, 2, 3)], mayDie: true },
      { program: [push(4)] },
      { program: [popBatch(2), pop] },
    ],
  },
  "a consumer dies mid-pop; the queue laps past its cell": {
    capacity: 2,
    threads: [
      { program: [push(1), push(2), push(3)] },
      { program: [pop, pop], mayDie: true },
      { program: [pop] },
    ],
  },
  "a batch consumer dies mid-batch": {
    capacity: 2,
    threads: [
      { program: [pushBatch(1, 2), push(3)] },
      { program: [popBatch(2)], mayDie: true },
      { program: [pop, pop] },
    ],
  },
  "a repair alongside live producers and a consumer, across the int32 wrap": {
    capacity: 2,
    startPosition: -2,
    concurrentRepair: true,
    threads: [
      { program: [push(1), push(2)], mayDie: true },
      { program: [push(3)] },
      { program: [pop, pop] },
    ],
  },
  "a repair alongside a batch producer and live consumers": {
    capacity: 2,
    concurrentRepair: true,
    threads: [
      { program: [pushBatch(1, 2), push(3)], mayDie: true },
      { program: [pop, pop] },
      { program: [popBatch(2)] },
    ],
  },
  "a repair alongside live consumers, one of which may die, across the int32 wrap": {
    capacity: 2,
    startPosition: -3,
    concurrentRepair: true,
    threads: [
      { program: [push(1), push(2), push(3)] },
      { program: [pop, pop], mayDie: true },
      { program: [popBatch(2)] },
    ],
  },
  "two deaths: a producer and a consumer, capacity 4": {
    capacity: 4,
    maxDeaths: 2,
    threads: [
      { program: [pushBatch(1, 2), push(3)], mayDie: true },
      { program: [push(4), push(5)] },
      { program: [pop, popBatch(2)], mayDie: true },
    ],
  },
};

Deno.test("inject model: with threads dying between claim and finish, the repaired queue keeps each id once and keeps flowing", () => {
  let total = 0;
  for (const [name, config] of Object.entries(INJECT_SCENARIOS)) {
    const r = exploreInject(config);
    assert.ok(r.finals > 1, `${name}: only ${r.finals} outcomes`);
    assert.ok(r.deadFinals > 0, `${name}: no run with a death`);
    total += r.states;
  }
  assert.ok(total > 50_000, `explored only ${total} states`);
});

Deno.test("inject model: the checker catches a missing repair and non-CAS finishing", () => {
  const cases: [string, InjectBugs, RegExp][] = [
    ["a producer dies mid-push beside a producer and a consumer", { noRepair: true }, /blocked/],
    ["a consumer dies mid-pop; the queue laps past its cell", { noRepair: true }, /blocked/],
    [
      "a repair alongside live producers and a consumer, across the int32 wrap",
      { publishByStore: true },
      /twice|never published|never delivered|blocked/,
    ],
    [
      "a repair alongside live consumers, one of which may die, across the int32 wrap",
      { releaseByStore: true },
      /twice|never published|never delivered|blocked/,
    ],
  ];
  for (const [name, bugs, message] of cases) {
    assert.throws(() => exploreInject({ ...INJECT_SCENARIOS[name], bugs }), (e: unknown) => {
      assert.ok(e instanceof InjectViolation, String(e));
      assert.match(e.message, message);
      return true;
    }, `${name} with ${JSON.stringify(bugs)}`);
  }
});

// ---------------------------------------------------------------------------
// The real queue, with a stopped thread simulated on its words
// ---------------------------------------------------------------------------

function realQueue(capacity: number): { q: InjectQueue; words: Int32Array } {
  const sab = new SharedArrayBuffer(InjectQueue.byteLengthFor(capacity));
  return { q: new InjectQueue(sab, 0, capacity), words: new Int32Array(sab) };
}

function drainAll(q: InjectQueue): number[] {
  const out: number[] = [];
  for (let id = q.pop(); id >= 0; id = q.pop()) out.push(id);
  return out;
}

/** Push `n` ids from `from` and pop them back in order, `laps` times over. */
function assertFlows(q: InjectQueue, from: number, laps: number): void {
  const out = new Int32Array(q.capacity);
  for (let lap = 0; lap < laps; lap++) {
    const ids = Array.from({ length: q.capacity }, (_, i) => from + lap * q.capacity + i);
    for (const id of ids.slice(0, q.capacity / 2)) assert.equal(q.push(id), true, `push ${id}`);
    q.pushBatch(ids.slice(q.capacity / 2), q.capacity / 2);
    assert.equal(q.spilled, 0);
    const n = q.popBatch(out, q.capacity);
    assert.deepEqual([...out.subarray(0, n)], ids);
  }
}

Deno.test("inject repair: a producer stopped between claim and publish blocks pops until the second repair call skips its cells", () => {
  const { q, words } = realQueue(8);
  q.push(1);
  Atomics.add(words, ENQ_WORD, 3); // a batch of 3 cells claimed, never published
  q.pushBatch([2, 3], 2);
  assert.equal(q.pop(), 1);
  assert.equal(q.pop(), -1, "blocked at the unpublished cell");
  const reclaimed: number[] = [];
  assert.equal(q.repairStalled(reclaimed), 3, "first look: watched, not touched");
  assert.equal(q.pop(), -1);
  assert.equal(q.repairStalled(reclaimed), 0, "second look: skipped");
  assert.deepEqual(reclaimed, []);
  assert.deepEqual(drainAll(q), [2, 3]);
  assertFlows(q, 100, 5);
});

Deno.test("inject repair: an unpublished cell behind published ones is skipped once the consumers reach it", () => {
  const { q, words } = realQueue(8);
  q.pushBatch([1, 2], 2);
  Atomics.add(words, ENQ_WORD, 1);
  q.push(3);
  const reclaimed: number[] = [];
  assert.equal(q.repairStalled(reclaimed), 1);
  assert.equal(q.repairStalled(reclaimed), 1, "not reached yet: still watched");
  assert.deepEqual(drainAll(q), [1, 2]);
  assert.equal(q.repairStalled(reclaimed), 0);
  assert.deepEqual(drainAll(q), [3]);
  assertFlows(q, 100, 3);
});

Deno.test("inject repair: a consumer stopped between claim and release: producers stop a lap later until the repair gives its id back", () => {
  const { q, words } = realQueue(4);
  q.pushBatch([1, 2, 3, 4], 4);
  Atomics.add(words, DEQ_WORD, 1); // id 1 claimed, never released
  assert.deepEqual(drainAll(q), [2, 3, 4]);
  assert.equal(q.push(5), false, "its cell still holds the last lap: the queue looks full");
  const reclaimed: number[] = [];
  assert.equal(q.repairStalled(reclaimed), 1);
  assert.deepEqual(reclaimed, []);
  assert.equal(q.repairStalled(reclaimed), 0);
  assert.deepEqual(reclaimed, [1], "the id it held comes back to the caller");
  assert.equal(q.push(5), true);
  assert.deepEqual(drainAll(q), [5]);
  assertFlows(q, 100, 3);
});

Deno.test("inject repair: a cell finished between the two looks is left alone; bad ids are refused", () => {
  const { q, words } = realQueue(4);
  Atomics.add(words, ENQ_WORD, 1);
  const reclaimed: number[] = [];
  assert.equal(q.repairStalled(reclaimed), 1);
  // Its producer was only slow: it publishes (white box: the cell word it would CAS in).
  Atomics.store(words, CELLS_WORD, (1 << ID_BITS) | 9);
  assert.equal(q.repairStalled(reclaimed), 0);
  assert.deepEqual(drainAll(q), [9]);
  assert.deepEqual(reclaimed, []);
  assert.throws(() => q.push(INJECT_ID_LIMIT), RangeError);
  assert.throws(() => q.pushBatch([1, INJECT_ID_LIMIT], 2), RangeError);
  assert.equal(q.push(INJECT_ID_LIMIT - 1), true);
  assert.equal(q.pop(), INJECT_ID_LIMIT - 1);
});
