/**
 * Tests of the FFI layer (ffi/): layout agreement with the C library, the
 * `Reactor` wrapper on each Linux backend (loopback TCP echo, UDP, files,
 * cancel, batching through a small CQ, cross-Worker wake of a park, close with
 * ops in flight), bad inputs, DOKIO_BACKEND, pointer stability and errno names.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ClosedError } from "../runtime/errors.ts";
import {
  closeNow,
  cString,
  DK_CQE_F_ADDR,
  DK_CQE_F_CANCELED,
  DK_LISTEN_REUSEADDR,
  DK_MAX_LEN,
  DK_O_CREAT,
  DK_O_RDWR,
  DK_O_TRUNC,
  DK_OP_ACCEPT,
  DK_OP_CONNECT,
  DK_OP_NOP,
  DK_OP_RECV,
  DK_OP_RECVFROM,
  errnoName,
  IoError,
  ioError,
  LAYOUT_FACTS,
  localAddr,
  newAddr,
  openLibrary,
  pointerOf,
  Reactor,
  readAddr,
  writeAddr,
} from "../ffi/mod.ts";

const LINUX = Deno.build.os === "linux";
const ECANCELED = LINUX ? 125 : 89;
const EBADF = 9;
const EINVAL = 22;
const ENOENT = 2;

interface Cqe {
  result: number;
  flags: number;
  op: number;
}

/** Poll until `want` distinct tokens completed (at most `ms`); duplicates fail. */
function collect(r: Reactor, want: number, ms = 3000): Map<number, Cqe> {
  const out = new Map<number, Cqe>();
  const end = performance.now() + ms;
  while (out.size < want) {
    if (performance.now() > end) {
      throw new Error(`timed out with ${out.size}/${want} completions: ${[...out.keys()]}`);
    }
    const n = r.poll(20);
    assert.ok(n <= r.cqCapacity);
    for (let i = 0; i < n; i++) {
      const t = r.cqToken(i);
      assert.ok(!out.has(t), `token ${t} completed twice`);
      out.set(t, { result: r.cqResult(i), flags: r.cqFlags(i), op: r.cqOp(i) });
    }
  }
  return out;
}

function one(r: Reactor, token: number): Cqe {
  const c = collect(r, 1).get(token);
  assert.ok(c !== undefined, `expected token ${token}`);
  return c;
}

function ok(c: Cqe | undefined, what: string): number {
  assert.ok(c !== undefined, `${what}: no completion`);
  if (c.result < 0) throw ioError(c.result, what);
  return c.result;
}

interface Pair {
  lfd: number;
  sfd: number;
  cfd: number;
  peer: Uint8Array;
}

/** Listen on 127.0.0.1:0, connect and accept through the reactor. */
function tcpPair(r: Reactor, base: number): Pair {
  r.listen(base, writeAddr(newAddr(), "127.0.0.1", 0), 16, DK_LISTEN_REUSEADDR);
  const lfd = ok(one(r, base), "listen");
  const port = localAddr(r.library, lfd).port;
  assert.ok(port > 0, "the kernel chose a port");
  const peer = newAddr();
  const target = writeAddr(newAddr(), "localhost", port);
  r.accept(base + 1, lfd, peer);
  r.connect(base + 2, target);
  const got = collect(r, 2);
  const sfd = ok(got.get(base + 1), "accept");
  const cfd = ok(got.get(base + 2), "connect");
  assert.equal(readAddr(peer).hostname, "127.0.0.1");
  return { lfd, sfd, cfd, peer };
}

function closePair(r: Reactor, p: Pair, base: number): void {
  r.closeFd(base, p.cfd);
  r.closeFd(base + 1, p.sfd);
  r.closeFd(base + 2, p.lfd);
  const got = collect(r, 3);
  for (const c of got.values()) assert.equal(c.result, 0);
}

/** Send all of `data` on `from` and receive exactly as many bytes on `to`. */
function transfer(r: Reactor, from: number, to: number, data: Uint8Array, base: number) {
  const got = new Uint8Array(data.length);
  let sent = 0;
  let recvd = 0;
  let token = base;
  while (recvd < data.length) {
    const st = sent < data.length ? token++ : -1;
    const rt = token++;
    if (st >= 0) r.send(st, from, data, sent);
    r.recv(rt, to, got.subarray(recvd));
    const c = collect(r, st >= 0 ? 2 : 1);
    if (st >= 0) sent += ok(c.get(st), "send");
    const n = ok(c.get(rt), "recv");
    assert.ok(n > 0, "no early EOF");
    recvd += n;
  }
  return got;
}

Deno.test("ffi: layout constants agree with dk_layout", async () => {
  const lib = await openLibrary();
  const out = new Uint32Array(32);
  const n = lib.symbols.dk_layout(out, out.length);
  assert.ok(n >= LAYOUT_FACTS.length, `dk_layout wrote ${n} facts`);
  assert.deepEqual(Array.from(out.subarray(0, LAYOUT_FACTS.length)), [...LAYOUT_FACTS]);
  // Asking for fewer facts must not write past them.
  const small = new Uint32Array(4).fill(0xdeadbeef);
  assert.equal(lib.symbols.dk_layout(small, 2), 2);
  assert.equal(small[2], 0xdeadbeef);
  // Memoised: one loaded instance per path.
  assert.equal(await openLibrary(), lib);
  assert.equal(await openLibrary({ path: lib.path }), lib);
});

Deno.test("ffi: dk_addr writing and reading", () => {
  const a = newAddr();
  assert.deepEqual(readAddr(writeAddr(a, "127.0.0.1", 8080)), {
    hostname: "127.0.0.1",
    port: 8080,
    transport: "tcp",
  });
  assert.equal(readAddr(writeAddr(a, "localhost", 1)).hostname, "127.0.0.1");
  assert.equal(readAddr(writeAddr(a, "0.0.0.0", 0)).hostname, "0.0.0.0");
  assert.equal(readAddr(writeAddr(a, "::1", 53), "udp").hostname, "::1");
  assert.equal(readAddr(writeAddr(a, "[fe80::1%3]", 53)).hostname, "fe80::1");
  assert.equal(new DataView(a.buffer).getUint32(4, true), 3, "scope id");
  assert.equal(readAddr(writeAddr(a, "2001:db8:0:0:1:0:0:1", 9)).hostname, "2001:db8::1:0:0:1");
  assert.equal(readAddr(writeAddr(a, "::ffff:10.0.0.1", 9)).hostname, "::ffff:10.0.0.1");
  assert.equal(a[0], 6);
  assert.equal(a[16 + 10], 0xff);
  assert.throws(() => writeAddr(a, "example.com", 80), TypeError);
  assert.throws(() => writeAddr(a, "1.2.3.256", 80), TypeError);
  assert.throws(() => writeAddr(a, "1::2::3", 80), TypeError);
  assert.throws(() => writeAddr(a, "127.0.0.1", 65536), RangeError);
  assert.throws(() => writeAddr(new Uint8Array(8), "127.0.0.1", 1), TypeError);
  a[0] = 9;
  assert.throws(() => readAddr(a), TypeError);
});

Deno.test("ffi: pointerOf caches the base and honours offsets", () => {
  const u = new Uint8Array(256);
  const p = pointerOf(u);
  assert.ok(p > 0);
  assert.equal(pointerOf(u.subarray(10)), p + 10);
  assert.equal(pointerOf(new Uint32Array(u.buffer, 16)), p + 16);
  assert.throws(() => pointerOf({} as unknown as Uint8Array), TypeError);
  const t = new ArrayBuffer(16);
  t.transfer();
  assert.throws(() => pointerOf(new Uint8Array(t)), TypeError);
});

Deno.test("ffi: errno names and IoError", async () => {
  await openLibrary();
  assert.equal(errnoName(EBADF), "EBADF");
  assert.equal(errnoName(-EINVAL), "EINVAL");
  assert.equal(errnoName(ECANCELED), "ECANCELED");
  assert.equal(errnoName(987654), "E?");
  const e = ioError(-ENOENT, "open");
  assert.ok(e instanceof IoError && e instanceof Error);
  assert.equal(e.errno, ENOENT);
  assert.equal(e.code, "ENOENT");
  assert.equal(e.syscall, "open");
  assert.match(e.message, /open.*ENOENT/);
  assert.throws(() => ioError(3, "x"), RangeError);
});

/** Whether `backend` can be created here; an error other than "unavailable" is re-thrown. */
async function available(backend: "io_uring" | "epoll" | "kqueue"): Promise<boolean> {
  try {
    await (await Reactor.open({ backend })).close();
    return true;
  } catch (e) {
    if (e instanceof IoError && /unavailable/.test(e.message)) return false;
    throw e;
  }
}

const AVAILABLE = {
  io_uring: await available("io_uring"),
  epoll: await available("epoll"),
  kqueue: await available("kqueue"),
};

const BACKENDS = LINUX ? (["io_uring", "epoll"] as const) : (["kqueue"] as const);

for (const backend of BACKENDS) {
  // epoll must work on Linux; io_uring may be disabled by the host (sysctl, seccomp), kqueue
  // exists only on macOS/BSD: what the host lacks is reported as ignored.
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test({
      name: `${backend}: ${name}`,
      ignore: !AVAILABLE[backend] && !(LINUX && backend === "epoll"),
      fn,
    });

  test("open reports its backend and validates options", async () => {
    const r = await Reactor.open({ backend });
    try {
      assert.equal(r.backend, backend);
      assert.equal(r.pending, 0);
      assert.equal(r.poll(0), 0);
    } finally {
      await r.close();
    }
    await assert.rejects(() => Reactor.open({ backend, sqCapacity: 0 }), RangeError);
    await assert.rejects(() => Reactor.open({ backend, cqCapacity: 1.5 }), RangeError);
    await assert.rejects(() => Reactor.open({ backend, entries: 70000 }), RangeError);
  });

  test("loopback TCP echo round trip", async () => {
    const r = await Reactor.open({ backend });
    try {
      const p = tcpPair(r, 1);
      const msg = new Uint8Array(64 * 1024);
      for (let i = 0; i < msg.length; i++) msg[i] = (i * 31 + 7) & 0xff;
      const atServer = transfer(r, p.cfd, p.sfd, msg, 100);
      assert.deepEqual(atServer, msg);
      const back = transfer(r, p.sfd, p.cfd, atServer.subarray(0, 1000), 10_000);
      assert.deepEqual(back, msg.subarray(0, 1000));
      // EOF after the peer shuts down its write side.
      r.shutdown(20_000, p.cfd, 1);
      assert.equal(one(r, 20_000).result, 0);
      r.recv(20_001, p.sfd, new Uint8Array(8));
      assert.equal(one(r, 20_001).result, 0);
      closePair(r, p, 30_000);
      assert.equal(r.pending, 0);
    } finally {
      await r.close();
    }
  });

  test("a small on-heap-sized buffer keeps its address (C round trip)", async () => {
    const r = await Reactor.open({ backend });
    try {
      const p = tcpPair(r, 1);
      const small = new Uint8Array(16);
      r.recv(10, p.sfd, small);
      r.flush();
      // Churn the young generation so V8 would move an on-heap typed array.
      let junk: Uint8Array[] = [];
      for (let i = 0; i < 200_000; i++) {
        junk.push(new Uint8Array(16));
        if (junk.length > 1000) junk = [];
      }
      const msg = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
      r.send(11, p.cfd, msg);
      const got = collect(r, 2);
      assert.equal(ok(got.get(11), "send"), 16);
      const n = ok(got.get(10), "recv");
      assert.deepEqual(small.subarray(0, n), msg.subarray(0, n));
      closePair(r, p, 100);
    } finally {
      await r.close();
    }
  });

  test("cancel of a pending recv", async () => {
    const r = await Reactor.open({ backend });
    try {
      const p = tcpPair(r, 1);
      const buf = new Uint8Array(64);
      r.recv(50, p.sfd, buf);
      assert.equal(r.poll(0), 0, "nothing to receive yet");
      assert.equal(r.pending, 1);
      r.cancel(51, 50);
      const got = collect(r, 2);
      assert.equal(got.get(50)?.result, -ECANCELED);
      assert.equal(got.get(50)?.op, DK_OP_RECV);
      assert.ok(((got.get(50)?.flags ?? 0) & DK_CQE_F_CANCELED) !== 0, "CANCELED flag");
      assert.equal(got.get(51)?.result, 0);
      // Cancelling an unknown token is -ENOENT.
      r.cancel(52, 4242);
      assert.equal(one(r, 52).result, -ENOENT);
      closePair(r, p, 100);
      assert.equal(r.pending, 0);
    } finally {
      await r.close();
    }
  });

  test("1,000 nops through a 64-record CQ", async () => {
    const r = await Reactor.open({ backend, sqCapacity: 128, cqCapacity: 64 });
    try {
      for (let i = 0; i < 1000; i++) r.nop(5000 + i);
      const seen = new Set<number>();
      const end = performance.now() + 3000;
      while (seen.size < 1000 && performance.now() < end) {
        const n = r.poll(seen.size === 0 ? 0 : 10);
        assert.ok(n <= 64, `poll returned ${n} > cq capacity`);
        for (let i = 0; i < n; i++) {
          const t = r.cqToken(i);
          assert.ok(t >= 5000 && t < 6000 && !seen.has(t), `token ${t}`);
          assert.equal(r.cqResult(i), 0);
          assert.equal(r.cqOp(i), DK_OP_NOP);
          seen.add(t);
        }
      }
      assert.equal(seen.size, 1000);
      assert.equal(r.pending, 0);
    } finally {
      await r.close();
    }
  });

  test("UDP bind, sendto, recvfrom", async () => {
    const r = await Reactor.open({ backend });
    try {
      r.udpBind(1, writeAddr(newAddr(), "127.0.0.1", 0));
      r.udpBind(2, writeAddr(newAddr(), "127.0.0.1", 0));
      const b = collect(r, 2);
      const a = ok(b.get(1), "udp bind");
      const c = ok(b.get(2), "udp bind");
      const aAddr = localAddr(r.library, a, "udp");
      const cAddr = localAddr(r.library, c, "udp");
      assert.equal(aAddr.transport, "udp");
      const from = newAddr();
      const buf = new Uint8Array(100);
      const msg = new TextEncoder().encode("datagram");
      r.recvFrom(3, a, buf, from);
      r.sendTo(4, c, msg, writeAddr(newAddr(), aAddr.hostname, aAddr.port));
      const got = collect(r, 2);
      assert.equal(ok(got.get(4), "sendto"), msg.length);
      assert.equal(ok(got.get(3), "recvfrom"), msg.length);
      assert.deepEqual(buf.subarray(0, msg.length), msg);
      assert.deepEqual(readAddr(from, "udp"), cAddr);
      // Connected send.
      r.udpConnect(5, c, writeAddr(newAddr(), "127.0.0.1", aAddr.port));
      assert.equal(one(r, 5).result, 0);
      r.recvFrom(6, a, buf);
      r.sendTo(7, c, msg.subarray(0, 3), null);
      const got2 = collect(r, 2);
      assert.equal(got2.get(6)?.result, 3);
      r.closeFd(8, a);
      r.closeFd(9, c);
      collect(r, 2);
    } finally {
      await r.close();
    }
  });

  test("file open, write, read", async () => {
    const path = await Deno.makeTempFile({ prefix: "dokio_ffi_" });
    const r = await Reactor.open({ backend });
    try {
      const cpath = cString(path);
      r.openFile(1, cpath, DK_O_RDWR | DK_O_CREAT | DK_O_TRUNC, 0o600);
      const fd = ok(one(r, 1), "open");
      const data = new TextEncoder().encode("hello, dokio files");
      r.write(2, fd, data, 0);
      assert.equal(ok(one(r, 2), "write"), data.length);
      const back = new Uint8Array(64);
      r.read(3, fd, back, 7);
      assert.equal(ok(one(r, 3), "read"), data.length - 7);
      assert.equal(new TextDecoder().decode(back.subarray(0, data.length - 7)), "dokio files");
      r.closeFd(4, fd);
      assert.equal(one(r, 4).result, 0);
      assert.equal(await Deno.readTextFile(path), "hello, dokio files");
      r.openFile(5, cString(path + ".missing/x"), DK_O_RDWR);
      assert.ok(one(r, 5).result < 0);
    } finally {
      await r.close();
      await Deno.remove(path);
    }
  });

  test("a wake from a Worker interrupts park(10_000)", async () => {
    const r = await Reactor.open({ backend });
    const w = new Worker(new URL("./ffi_wake_worker.ts", import.meta.url), { type: "module" });
    try {
      let ready!: () => void;
      const isReady = new Promise<void>((res) => ready = res);
      const woke = new Promise<number>((res) => {
        w.onmessage = (e: MessageEvent<number | "ready">) => {
          if (e.data === "ready") ready();
          else res(e.data);
        };
      });
      await isReady;
      w.postMessage({ path: r.library.path, handle: r.handle, delayMs: 100 });
      const t0 = performance.now();
      const n = await r.park(10_000);
      const dt = performance.now() - t0;
      assert.equal(n, 0);
      assert.ok(dt < 1000, `park took ${dt.toFixed(0)} ms after a wake at ~100 ms`);
      assert.equal(await woke, 0, "dk_wake from the worker returned 0");
      // The reactor works normally afterwards.
      r.nop(1);
      assert.equal(one(r, 1).result, 0);
      // A park also ends when a completion arrives.
      r.nop(2);
      const m = await r.park(5000);
      assert.equal(m, 1);
      assert.equal(r.cqToken(0), 2);
    } finally {
      w.terminate();
      await r.close();
    }
  });

  test("a wake made before park() is not lost", async () => {
    const r = await Reactor.open({ backend });
    try {
      assert.equal(r.poll(1), 0); // a blocking wait that times out (arms any wake machinery)
      r.wake();
      const t0 = performance.now();
      assert.equal(await r.park(3000), 0);
      const dt = performance.now() - t0;
      assert.ok(dt < 1000, `park returned after ${dt.toFixed(0)} ms despite an earlier wake`);
    } finally {
      await r.close();
    }
  });

  test("close with ops in flight and a park in flight", async () => {
    const r = await Reactor.open({ backend });
    const p = tcpPair(r, 1);
    const buf = new Uint8Array(32);
    const peer = newAddr();
    r.accept(10, p.lfd, peer);
    r.recv(11, p.sfd, buf);
    r.flush();
    assert.equal(r.pending, 2);
    const parked = r.park(10_000);
    assert.ok(r.parked);
    assert.throws(() => r.poll(0), /parked/);
    assert.throws(() => r.nop(3), /parked/);
    assert.throws(() => r.park(1), /parked/);
    assert.throws(() => r.cqToken(0), /parked/);
    const t0 = performance.now();
    const closing = r.close();
    assert.equal(r.close(), closing, "close is idempotent");
    await closing;
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(await parked, 0);
    assert.ok(r.closed);
    assert.throws(() => r.nop(1), ClosedError);
    assert.throws(() => r.poll(0), /reactor is closed/);
    assert.throws(() => r.pending, ClosedError);
    assert.throws(() => r.cqResult(0), ClosedError);
    assert.throws(() => r.flush(), ClosedError);
    r.wake(); // a no-op now
    await r.close();
    for (const fd of [p.cfd, p.sfd, p.lfd]) closeNow(r.library, fd);
  });

  test("closing an idle reactor with pending ops", async () => {
    const r = await Reactor.open({ backend });
    const p = tcpPair(r, 1);
    r.accept(10, p.lfd);
    r.recv(11, p.sfd, new Uint8Array(8));
    r.poll(0);
    assert.equal(r.pending, 2);
    r.closeSync();
    assert.throws(() => r.park(10), ClosedError);
    await r.close();
    for (const fd of [p.cfd, p.sfd, p.lfd]) closeNow(r.library, fd);
  });

  test("addresses travel in the address regions: forged args, odd records, no stale peer", async () => {
    const r = await Reactor.open({ backend, cqCapacity: 2 });
    try {
      // An address op whose arg is a would-be pointer is refused, never dereferenced.
      for (const [t, op] of [[1, DK_OP_CONNECT], [2, DK_OP_ACCEPT], [3, DK_OP_RECVFROM]]) {
        r.pushOp(op, t, 0, 0, 0, 0x1000, 0);
      }
      const forged = collect(r, 3);
      for (const t of [1, 2, 3]) assert.equal(forged.get(t)?.result, -EINVAL);
      // Records at odd offsets of a larger buffer work (they are copied, not pointed to).
      const backing = new Uint8Array(200);
      const to = backing.subarray(3, 3 + 32);
      const peer = backing.subarray(101, 101 + 40);
      peer.fill(0x5a);
      r.listen(10, writeAddr(newAddr(), "127.0.0.1", 0));
      const lfd = ok(one(r, 10), "listen");
      writeAddr(to, "127.0.0.1", localAddr(r.library, lfd).port);
      r.accept(11, lfd, peer);
      r.connect(12, to);
      const got = collect(r, 2);
      const sfd = ok(got.get(11), "accept");
      const cfd = ok(got.get(12), "connect");
      assert.equal(readAddr(peer).hostname, "127.0.0.1");
      assert.equal(readAddr(peer).port, localAddr(r.library, cfd).port);
      assert.equal(peer[32], 0x5a, "only the 32 record bytes are written");
      // recvFrom on a stream socket reports no sender: the record is zeroed.
      const from = newAddr().fill(0x77);
      r.send(13, cfd, new Uint8Array([1]));
      r.recvFrom(14, sfd, new Uint8Array(4), from);
      const rf = collect(r, 2);
      assert.equal(rf.get(14)?.result, 1);
      assert.equal(rf.get(14)!.flags & DK_CQE_F_ADDR, 0);
      assert.deepEqual([...from], new Array(32).fill(0));
      for (const fd of [sfd, cfd, lfd]) r.closeFd(20 + fd, fd);
      collect(r, 3);
    } finally {
      await r.close();
    }
  });

  test("bad inputs give typed errors or -errno completions", async () => {
    const r = await Reactor.open({ backend });
    try {
      const buf = new Uint8Array(16);
      // Negative / unknown fds complete with -EBADF.
      r.recv(1, -1, buf);
      r.send(2, 987_654, buf);
      const bad = collect(r, 2);
      assert.equal(bad.get(1)?.result, -EBADF);
      assert.equal(bad.get(2)?.result, -EBADF);
      // Oversized length and unknown op codes: -EINVAL.
      const p = tcpPair(r, 10);
      r.pushOp(DK_OP_RECV, 3, p.sfd, DK_MAX_LEN + 1, pointerOf(buf), 0, 0);
      r.pushOp(99, 4, p.sfd, 0, 0, 0, 0);
      r.pushOp(DK_OP_ACCEPT, 5, p.lfd, 0, 0, 0, 0xffff); // ignored flags are fine
      r.cancel(6, 5);
      const inv = collect(r, 4);
      assert.equal(inv.get(3)?.result, -EINVAL);
      assert.equal(inv.get(4)?.result, -EINVAL);
      assert.equal(inv.get(5)?.result, -ECANCELED);
      // Fields that do not fit their C type are TypeErrors at the call.
      assert.throws(() => r.recv(1.5, p.sfd, buf), TypeError);
      assert.throws(() => r.recv(-1, p.sfd, buf), TypeError);
      assert.throws(() => r.recv(1, 2 ** 31, buf), TypeError);
      assert.throws(() => r.recv(1, NaN, buf), TypeError);
      assert.throws(() => r.pushOp(256, 1, 0, 0, 0, 0, 0), TypeError);
      assert.throws(() => r.pushOp(0, 1, 0, 0, -8, 0, 0), TypeError);
      assert.throws(() => r.pushOp(0, 1, 0, 0, 0, 2 ** 60, 0), TypeError);
      assert.throws(() => r.cancel(1, -3), TypeError);
      assert.throws(() => r.send(1, p.cfd, buf, 10, 7), RangeError);
      assert.throws(() => r.send(1, p.cfd, buf, -1), RangeError);
      assert.throws(() => r.read(1, 0, buf, -2), RangeError);
      assert.throws(() => r.connect(1, new Uint8Array(4)), TypeError);
      assert.throws(() => r.openFile(1, new TextEncoder().encode("/tmp/x"), 0), TypeError);
      assert.throws(() => r.poll(1.5), RangeError);
      assert.throws(() => r.poll(-2), RangeError);
      assert.equal(r.queued, 0, "rejected writes queued nothing");
      closePair(r, p, 100);
      // A connect to a closed port fails with a negative result.
      r.listen(200, writeAddr(newAddr(), "127.0.0.1", 0));
      const lfd = ok(one(r, 200), "listen");
      const port = localAddr(r.library, lfd).port;
      r.closeFd(201, lfd);
      one(r, 201);
      r.connect(202, writeAddr(newAddr(), "127.0.0.1", port));
      const c = one(r, 202);
      assert.ok(c.result < 0);
      assert.equal(errnoName(c.result), "ECONNREFUSED");
      assert.throws(() => localAddr(r.library, -1), IoError);
    } finally {
      await r.close();
    }
    assert.throws(() => r.nop(1), ClosedError);
  });
}

Deno.test("ffi: unknown backend names are TypeErrors; DOKIO_BACKEND is honoured", async () => {
  await assert.rejects(
    () => Reactor.open({ backend: "bogus" as unknown as "epoll" }),
    TypeError,
  );
  const before = Deno.env.get("DOKIO_BACKEND");
  try {
    Deno.env.set("DOKIO_BACKEND", "epoll");
    const r = await Reactor.open();
    assert.equal(r.backend, "epoll");
    await r.close();
    if (AVAILABLE.io_uring) {
      const u = await Reactor.open({ backend: "io_uring" });
      assert.equal(u.backend, "io_uring", "an explicit option beats the environment");
      await u.close();
    }
    Deno.env.set("DOKIO_BACKEND", "nope");
    await assert.rejects(() => Reactor.open(), /DOKIO_BACKEND/);
  } finally {
    if (before === undefined) Deno.env.delete("DOKIO_BACKEND");
    else Deno.env.set("DOKIO_BACKEND", before);
  }
  if (LINUX) {
    assert.ok(AVAILABLE.io_uring || AVAILABLE.epoll);
    await assert.rejects(() => Reactor.open({ backend: "kqueue" }), /unavailable/);
  }
});
