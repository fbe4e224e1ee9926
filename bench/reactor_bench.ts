/**
 * The reactor suite: the cost of the FFI reactor layer (`Reactor`, no runtime on top), per
 * backend, each figure measured in the same run as its peer, rounds interleaved, best of N.
 *
 * Rows (ratio = peer ÷ dokio, both are times: > 1 means Dokio is cheaper):
 * - `nop ×1 submit+complete`: one NOP record written, then `poll(0)` (one `dk_enter`: submit,
 *   complete, collect). Peer: `await Promise.resolve()`, one microtask hop. Why this peer:
 *   every I/O op the runtime completes resumes its task through at least one promise hop, so
 *   this says whether the reactor round (FFI call included) costs more or less than the JS
 *   hop every op pays anyway. (A bare sync FFI call such as `dk_backend` would only measure
 *   the call floor, which `nop ×1` already contains and can never beat.)
 * - `nop ×256 batch, per op`: 256 NOPs written, one `poll(0)`; time ÷ 256. Peer: 256
 *   `Promise.resolve()` awaited through one `Promise.all`, ÷ 256 — the cheapest way JS
 *   completes a batch.
 * - `tcp 64 B round trip`: over one loopback connection (TCP_NODELAY), client send + server
 *   recv in one batch, then server send + client recv in one batch, collected with `poll`
 *   (blocking the thread, as a tick of the runtime's reactor does). Peer: `Deno.connect`/
 *   `Deno.listen` doing the same four steps with `await`. µs per round trip.
 * - `sqe record write`: one 40-byte record written with u32 halves (what the record writers
 *   do) against a `BigUint64Array` for the 64-bit fields — why the writers use halves.
 *
 * About 5 s. Run alone: `deno run -A bench/reactor_bench.ts` (prints its rows).
 *
 * @module
 */

import type { BenchRow } from "./row.ts";
import { duel, suiteRow } from "./_util.ts";
import {
  DK_LISTEN_REUSEADDR,
  DK_SOCKOPT_NODELAY,
  localAddr,
  newAddr,
  pointerOf,
  Reactor,
  setSockOpt,
  writeAddr,
} from "../ffi/mod.ts";

const BACKENDS = ["io_uring", "epoll"] as const;
type Backend = (typeof BACKENDS)[number];
const SUITE = "reactor";
const REPS = 7;

/** Rows of this suite; its figures are times, so they pass `higherIsBetter` false. */
const row = suiteRow(SUITE);

/** Poll until `want` completions have arrived (bounded), throwing on a failed op. */
function drain(r: Reactor, want: number): void {
  let got = 0;
  let spins = 0;
  while (got < want) {
    const n = r.poll(spins < 2 ? 0 : 1000);
    for (let i = 0; i < n; i++) {
      if (r.cqResult(i) < 0) throw new Error(`op ${r.cqOp(i)} failed: ${r.cqResult(i)}`);
    }
    got += n;
    if (++spins > 10_000) throw new Error("completions did not arrive");
  }
}

/** Wait for the completion of `token` and return its result (throws on failure). */
function result(r: Reactor, token: number): number {
  for (let tries = 0; tries < 100; tries++) {
    const n = r.poll(100);
    for (let i = 0; i < n; i++) {
      if (r.cqToken(i) === token) {
        const v = r.cqResult(i);
        if (v < 0) throw new Error(`token ${token} failed: ${v}`);
        return v;
      }
    }
  }
  throw new Error(`no completion for ${token}`);
}

interface Pair {
  r: Reactor;
  fds: number[];
  sfd: number;
  cfd: number;
}

/** A reactor of `backend` with a connected loopback pair, or null when unavailable here. */
async function openPair(backend: Backend): Promise<Pair | null> {
  let r: Reactor;
  try {
    r = await Reactor.open({ backend, sqCapacity: 256, cqCapacity: 256 });
  } catch (e) {
    console.error(`reactor bench: skipping ${backend}: ${(e as Error).message}`);
    return null;
  }
  const fds: number[] = [];
  try {
    r.listen(1, writeAddr(newAddr(), "127.0.0.1", 0), 16, DK_LISTEN_REUSEADDR);
    const lfd = result(r, 1);
    fds.push(lfd);
    const port = localAddr(r.library, lfd).port;
    r.connect(2, writeAddr(newAddr(), "127.0.0.1", port));
    const cfd = result(r, 2);
    fds.push(cfd);
    r.accept(3, lfd);
    const sfd = result(r, 3);
    fds.push(sfd);
    setSockOpt(r.library, cfd, DK_SOCKOPT_NODELAY, 1);
    setSockOpt(r.library, sfd, DK_SOCKOPT_NODELAY, 1);
    return { r, fds, sfd, cfd };
  } catch (e) {
    closePair({ r, fds, sfd: -1, cfd: -1 });
    throw e;
  }
}

function closePair(p: Pair): void {
  for (const fd of p.fds) p.r.closeFd(100 + fd, fd);
  try {
    drain(p.r, p.fds.length);
  } finally {
    p.r.closeSync();
  }
}

async function readFull(c: Deno.Conn, buf: Uint8Array): Promise<void> {
  let n = 0;
  while (n < buf.length) {
    const m = await c.read(buf.subarray(n));
    if (m === null) throw new Error("EOF");
    n += m;
  }
}

async function nopRows(p: Pair, backend: Backend): Promise<BenchRow[]> {
  const { r } = p;
  const N1 = 100_000;
  const nop1 = () => {
    for (let i = 0; i < N1; i++) {
      r.nop(i);
      drain(r, 1);
    }
  };
  const hop1 = async () => {
    for (let i = 0; i < N1; i++) await Promise.resolve(i);
  };
  const B = 256;
  const NB = 500;
  const nopB = () => {
    for (let k = 0; k < NB; k++) {
      for (let i = 0; i < B; i++) r.nop(i);
      drain(r, B);
    }
  };
  const ps: Promise<number>[] = new Array(B);
  const hopB = async () => {
    for (let k = 0; k < NB; k++) {
      for (let i = 0; i < B; i++) ps[i] = Promise.resolve(i);
      await Promise.all(ps);
    }
  };
  nop1(); // warm up both sides
  await hop1();
  const [d1, p1] = await duel(REPS, nop1, hop1);
  nopB();
  await hopB();
  const [dB, pB] = await duel(REPS, nopB, hopB);
  const ns1 = (ms: number) => ms * 1e6 / N1;
  const nsB = (ms: number) => ms * 1e6 / (NB * B);
  return [
    row(
      `nop ×1 submit+complete (${backend})`,
      ns1(d1),
      ns1(p1),
      "await Promise.resolve()",
      "ns/op",
      false,
    ),
    row(
      `nop ×256 batch, per op (${backend})`,
      nsB(dB),
      nsB(pB),
      "Promise.all of 256 resolved",
      "ns/op",
      false,
    ),
  ];
}

async function pingPongRow(p: Pair, backend: Backend, deno: DenoPair): Promise<BenchRow> {
  const { r, sfd, cfd } = p;
  const out = new Uint8Array(64).fill(7);
  const inS = new Uint8Array(64);
  const inC = new Uint8Array(64);
  for (const b of [out, inS, inC]) pointerOf(b); // warm the base-address cache
  const N = 6_000;
  const dokio = () => {
    for (let i = 0; i < N; i++) {
      r.send(10, cfd, out);
      r.recv(11, sfd, inS);
      drain(r, 2);
      r.send(12, sfd, inS);
      r.recv(13, cfd, inC);
      drain(r, 2);
    }
  };
  const { client, server } = deno;
  const dS = new Uint8Array(64);
  const dC = new Uint8Array(64);
  const peer = async () => {
    for (let i = 0; i < N; i++) {
      await client.write(out);
      await readFull(server, dS);
      await server.write(dS);
      await readFull(client, dC);
    }
  };
  dokio(); // warm up
  await peer();
  const [d, pe] = await duel(REPS, dokio, peer);
  const us = (ms: number) => ms * 1000 / N;
  return row(
    `tcp 64 B round trip, 1 conn (${backend})`,
    us(d),
    us(pe),
    "Deno.listen/Deno.connect",
    "µs/rt",
    false,
  );
}

interface DenoPair {
  listener: Deno.Listener;
  client: Deno.Conn;
  server: Deno.Conn;
}

async function openDenoPair(): Promise<DenoPair> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await listener.accept();
  client.setNoDelay(true);
  server.setNoDelay(true);
  return { listener, client, server };
}

async function sqeWriteRow(): Promise<BenchRow> {
  const sqBuf = new ArrayBuffer(40 * 256);
  const u32 = new Uint32Array(sqBuf);
  const u64 = new BigUint64Array(sqBuf);
  const ADDR = 0x7f12_3456_7890;
  const N = 1_000_000;
  const halves = () => {
    for (let i = 0; i < N; i++) {
      const slot = i & 255;
      const b = slot * 10;
      u32[b] = slot;
      u32[b + 1] = 4;
      u32[b + 2] = 5;
      u32[b + 3] = 64;
      u32[b + 4] = ADDR >>> 0;
      u32[b + 5] = (ADDR / 4294967296) >>> 0;
      u32[b + 6] = 0;
      u32[b + 7] = 0;
    }
  };
  const big = () => {
    for (let i = 0; i < N; i++) {
      const slot = i & 255;
      const b = slot * 10;
      u32[b] = slot;
      u32[b + 1] = 4;
      u32[b + 2] = 5;
      u32[b + 3] = 64;
      u64[(b >> 1) + 2] = BigInt(ADDR);
      u64[(b >> 1) + 3] = 0n;
    }
    return Promise.resolve();
  };
  halves();
  await big();
  const [d, p] = await duel(REPS, halves, big);
  return row(
    "sqe record write (u32 halves)",
    d * 1e6 / N,
    p * 1e6 / N,
    "BigUint64Array fields",
    "ns/record",
    false,
  );
}

/**
 * Runs the reactor suite and returns its rows (each backend this host has, beside its peer).
 *
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * import { runReactorBench } from "./reactor_bench.ts";
 * for (const r of await runReactorBench()) console.log(r.name, r.dokio, r.peer, r.ratio);
 * ```
 */
export async function runReactorBench(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const deno = await openDenoPair();
  try {
    for (const backend of BACKENDS) {
      const p = await openPair(backend);
      if (p === null) continue;
      try {
        rows.push(...await nopRows(p, backend));
        rows.push(await pingPongRow(p, backend, deno));
      } finally {
        closePair(p);
      }
    }
  } finally {
    deno.client.close();
    deno.server.close();
    deno.listener.close();
  }
  rows.push(await sqeWriteRow());
  return rows;
}

if (import.meta.main) {
  const t0 = performance.now();
  const rows = await runReactorBench();
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(40)} dokio ${r.dokio.toFixed(2).padStart(8)} ${r.unit.padEnd(9)} ` +
        `${r.peerName.padEnd(28)} ${r.peer.toFixed(2).padStart(8)}  ratio ${r.ratio.toFixed(2)}×`,
    );
  }
  console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
