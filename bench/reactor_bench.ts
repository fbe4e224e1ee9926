/**
 * Cost of the FFI reactor layer, per backend, beside Deno's own TCP in the same run.
 *
 * - `nop ×1`: one record written, submitted and completed (`poll(0)`): the
 *   floor of one reactor round.
 * - `nop ×256`: one batch of 256 nops; divide the time by 256 for the cost per op.
 * - `tcp 64 B ping-pong`: client send + server recv (one batch), then server
 *   send + client recv (one batch), over one loopback connection; the peer is
 *   `Deno.connect`/`Deno.listen` doing the same four steps with `await`.
 * - `sqe write`: writing one 40-byte record with u32 halves (what `pushOp` does)
 *   against a BigUint64Array for the 64-bit fields — why the record writer uses halves.
 *
 * Run: `deno bench -A bench/reactor_bench.ts` (bounded: a few seconds).
 *
 * @module
 */

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

/** Poll until `want` completions have arrived (bounded wait). */
function drain(r: Reactor, want: number): void {
  let got = 0;
  let spins = 0;
  while (got < want) {
    const n = r.poll(got === 0 && spins < 2 ? 0 : 1000);
    for (let i = 0; i < n; i++) {
      if (r.cqResult(i) < 0) throw new Error(`op ${r.cqOp(i)} failed: ${r.cqResult(i)}`);
    }
    got += n;
    if (++spins > 10_000) throw new Error("completions did not arrive");
  }
}

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

interface Setup {
  r: Reactor;
  lfd: number;
  sfd: number;
  cfd: number;
}

async function setup(backend: (typeof BACKENDS)[number]): Promise<Setup | null> {
  let r: Reactor;
  try {
    r = await Reactor.open({ backend, sqCapacity: 256, cqCapacity: 256 });
  } catch (e) {
    console.error(`skipping ${backend}: ${(e as Error).message}`);
    return null;
  }
  r.listen(1, writeAddr(newAddr(), "127.0.0.1", 0), 16, DK_LISTEN_REUSEADDR);
  const lfd = result(r, 1);
  const port = localAddr(r.library, lfd).port;
  r.connect(2, writeAddr(newAddr(), "127.0.0.1", port));
  const cfd = result(r, 2);
  r.accept(3, lfd);
  const sfd = result(r, 3);
  setSockOpt(r.library, cfd, DK_SOCKOPT_NODELAY, 1);
  setSockOpt(r.library, sfd, DK_SOCKOPT_NODELAY, 1);
  return { r, lfd, sfd, cfd };
}

const setups: Setup[] = [];
for (const backend of BACKENDS) {
  const s = await setup(backend);
  if (s === null) continue;
  setups.push(s);
  const { r, sfd, cfd } = s;
  const out = new Uint8Array(64).fill(7);
  const inS = new Uint8Array(64);
  const inC = new Uint8Array(64);
  for (const b of [out, inS, inC]) pointerOf(b); // warm the base-address cache

  Deno.bench({
    name: `${backend}: nop ×1 submit+complete`,
    group: "nop1",
    n: 200_000,
    warmup: 10_000,
    fn() {
      r.nop(1);
      drain(r, 1);
    },
  });

  Deno.bench({
    name: `${backend}: nop ×256 batch (÷256 per op)`,
    group: "nop256",
    n: 2_000,
    warmup: 200,
    fn() {
      for (let i = 0; i < 256; i++) r.nop(i);
      drain(r, 256);
    },
  });

  Deno.bench({
    name: `${backend}: tcp 64 B ping-pong`,
    group: "pingpong",
    n: 20_000,
    warmup: 1_000,
    fn() {
      r.send(10, cfd, out);
      r.recv(11, sfd, inS);
      drain(r, 2);
      r.send(12, sfd, inS);
      r.recv(13, cfd, inC);
      drain(r, 2);
    },
  });
}

// Peer baseline: Deno's own TCP, same four steps.
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
const server = await listener.accept();
client.setNoDelay(true);
server.setNoDelay(true);
const dOut = new Uint8Array(64).fill(7);
const dS = new Uint8Array(64);
const dC = new Uint8Array(64);

async function readFull(c: Deno.Conn, buf: Uint8Array): Promise<void> {
  let n = 0;
  while (n < buf.length) {
    const m = await c.read(buf.subarray(n));
    if (m === null) throw new Error("EOF");
    n += m;
  }
}

Deno.bench({
  name: "Deno.listen/Deno.connect: tcp 64 B ping-pong",
  group: "pingpong",
  baseline: true,
  n: 20_000,
  warmup: 1_000,
  async fn() {
    await client.write(dOut);
    await readFull(server, dS);
    await server.write(dS);
    await readFull(client, dC);
  },
});

// Record-writing strategies (no FFI): u32 halves vs BigUint64Array.
const sqBuf = new ArrayBuffer(40 * 256);
const u32 = new Uint32Array(sqBuf);
const u64 = new BigUint64Array(sqBuf);
let slot = 0;
const ADDR = 0x7f12_3456_7890;

Deno.bench({
  name: "sqe write: u32 halves",
  group: "sqe",
  baseline: true,
  n: 1_000_000,
  warmup: 10_000,
  fn() {
    const b = (slot = (slot + 1) & 255) * 10;
    u32[b] = slot;
    u32[b + 1] = 4;
    u32[b + 2] = 5;
    u32[b + 3] = 64;
    u32[b + 4] = ADDR >>> 0;
    u32[b + 5] = (ADDR / 4294967296) >>> 0;
    u32[b + 6] = 0;
    u32[b + 7] = 0;
  },
});

Deno.bench({
  name: "sqe write: BigUint64Array",
  group: "sqe",
  n: 1_000_000,
  warmup: 10_000,
  fn() {
    const b = (slot = (slot + 1) & 255) * 10;
    u32[b] = slot;
    u32[b + 1] = 4;
    u32[b + 2] = 5;
    u32[b + 3] = 64;
    u64[(b >> 1) + 2] = BigInt(ADDR);
    u64[(b >> 1) + 3] = 0n;
  },
});

globalThis.addEventListener("unload", () => {
  client.close();
  server.close();
  listener.close();
  for (const s of setups) s.r.closeSync();
});
