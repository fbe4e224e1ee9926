/**
 * Fault injection: the reactor's test-only fault plan (reactor_c/testing/fault.c, compiled only with
 * -DDK_FAULTS into the build tests/c/variant_build.ts makes; never shipped) fails or shortens
 * chosen syscalls, and these tests show each fault is survived, on io_uring and epoll:
 *
 * - EMFILE on accept: `accept()` throws a typed IoError (EMFILE); the listener goes on serving,
 *   and the `incoming()` loop survives it (told through onError) without the caller seeing it;
 * - EAGAIN on the try-ops (a send buffer or a receive queue that says "not now"): `writev` and
 *   `peek` wait for readiness and retry, silently, and nothing is lost;
 * - ECONNRESET on a read: a typed IoError (ECONNRESET) from `read`;
 * - short writes (every send takes at most a few bytes): `writeAll` completes and the peer gets
 *   every byte in order;
 * - short reads (every receive gives at most a few bytes): `readExact` fills the buffer intact;
 * - ENOBUFS on a datagram send: a typed IoError (ENOBUFS); the next send goes through.
 *
 * Every case checks the plan's hit count, so a fault that never fired fails the test.
 *
 * This file runs in two modes: under `deno test` it builds the fault library and runs itself
 * again in a child deno with `DOKIO_LIB` pointing at it (`DOKIO_FAULTS_CHILD=1`); in the child
 * it runs the cases against that library.
 */

import assert from "node:assert/strict";
import { run, spawn } from "../runtime/mod.ts";
import { IoError, TcpListener, TcpStream, UdpSocket } from "../net/mod.ts";
import type { Backend } from "../mod.ts";
import { ignoreWithout, missingPrograms } from "./tool_helpers.ts";

/** Fault sites and kinds: reactor_c/reactor.h's DK_FAULT_* (the fault build's test ABI). */
const SITE = { accept: 0, recv: 1, send: 2, tryRecv: 3, trySend: 4 } as const;
const KIND_ERRNO = 1;
const KIND_SHORT = 2;
const EVERY = 0xffffffff;
/** Linux errno numbers of the faults. */
const E = { EAGAIN: 11, EMFILE: 24, ECONNRESET: 104, ENOBUFS: 105 } as const;

const CHILD = Deno.env.get("DOKIO_FAULTS_CHILD") === "1";
const BACKENDS: readonly Backend[] = ["io_uring", "epoll"];

if (!CHILD) {
  Deno.test({
    name: "fault injection: every case below against the fault build, in a child deno",
    // The fault build is made with clang (tests/c/variant_build.ts): skipped, named, without it.
    ignore: Deno.build.os !== "linux" ||
      ignoreWithout("the fault-injection tests", missingPrograms(["clang"])),
    async fn() {
      const { buildVariant } = await import("./c/variant_build.ts");
      const lib = await buildVariant("faults");
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["test", "-A", new URL(import.meta.url).pathname],
        env: { DOKIO_LIB: lib, DOKIO_FAULTS_CHILD: "1", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      const text = dec.decode(out.stdout) + dec.decode(out.stderr);
      assert.ok(out.success, text);
      assert.match(text, /ok \| \d+ passed \| 0 failed/);
    },
  });
} else {
  const lib = Deno.dlopen(Deno.env.get("DOKIO_LIB")!, {
    dk_test_fault: { parameters: ["i32", "i32", "i32", "u32", "u32"], result: "i32" },
    dk_test_fault_hits: { parameters: ["i32"], result: "i32" },
    dk_test_fault_clear: { parameters: [], result: "i32" },
  });
  const plan = (site: number, kind: number, value: number, skip: number, count: number) =>
    assert.equal(lib.symbols.dk_test_fault(site, kind, value, skip, count), 0);
  const hits = (site: number) => lib.symbols.dk_test_fault_hits(site);

  const pattern = (n: number, seed: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
    return b;
  };

  for (const backend of BACKENDS) {
    const t = (name: string, body: () => Generator<unknown, void, unknown>) =>
      Deno.test(`fault: ${name} [${backend}]`, async () => {
        lib.symbols.dk_test_fault_clear();
        try {
          await run(body, { backend });
        } finally {
          lib.symbols.dk_test_fault_clear();
        }
      });

    t("EMFILE on accept: a typed error, then the listener serves the next one", function* () {
      using l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
      plan(SITE.accept, KIND_ERRNO, E.EMFILE, 0, 1);
      using c1 = yield* TcpStream.connect({ hostname: "127.0.0.1", port: l.localAddr.port });
      const err = yield* catching(l.accept());
      assert.ok(err instanceof IoError, String(err));
      assert.equal(err.code, "EMFILE");
      assert.equal(hits(SITE.accept), 1);
      // the connection that met EMFILE is still in the backlog: the next accept takes it
      using s1 = yield* l.accept();
      yield* c1.writeAll(new Uint8Array([7]));
      const b = new Uint8Array(1);
      yield* s1.readExact(b);
      assert.equal(b[0], 7);
    });

    t("EMFILE on accept: incoming() backs off and goes on, telling onError", function* () {
      using l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
      plan(SITE.accept, KIND_ERRNO, E.EMFILE, 0, 3);
      const seen: string[] = [];
      const inc = l.incoming({ onError: (e) => seen.push(e.code) });
      using c = yield* TcpStream.connect({ hostname: "127.0.0.1", port: l.localAddr.port });
      using s = yield* inc.accept();
      assert.ok(s !== null);
      assert.deepEqual(seen, ["EMFILE", "EMFILE", "EMFILE"]);
      assert.equal(hits(SITE.accept), 3);
      yield* c.writeAll(new Uint8Array([9]));
      const b = new Uint8Array(1);
      yield* s.readExact(b);
      assert.equal(b[0], 9);
    });

    t("EAGAIN on try-sends: writev waits for readiness and retries; nothing lost", function* () {
      const [l, c, s] = yield* pair();
      using _l = l, _c = c, _s = s;
      plan(SITE.trySend, KIND_ERRNO, E.EAGAIN, 0, 5);
      const parts = [pattern(1000, 1), pattern(3000, 2), pattern(17, 3)];
      const n = yield* c.writev(parts);
      assert.equal(n, 4017);
      assert.equal(hits(SITE.trySend), 5);
      const got = new Uint8Array(4017);
      yield* s.readExact(got);
      assert.deepEqual(got, new Uint8Array([...parts[0], ...parts[1], ...parts[2]]));
    });

    t("EAGAIN on try-receives: peek waits for readiness and retries", function* () {
      const [l, c, s] = yield* pair();
      using _l = l, _c = c, _s = s;
      yield* c.writeAll(pattern(64, 5));
      plan(SITE.tryRecv, KIND_ERRNO, E.EAGAIN, 0, 4);
      const b = new Uint8Array(64);
      let n = 0;
      while (n === 0) n = yield* s.peek(b);
      assert.equal(hits(SITE.tryRecv), 4);
      assert.deepEqual(b.subarray(0, n), pattern(64, 5).subarray(0, n));
      const all = new Uint8Array(64);
      yield* s.readExact(all); // peek left the bytes queued
      assert.deepEqual(all, pattern(64, 5));
    });

    t("ECONNRESET on a read: a typed IoError", function* () {
      const [l, c, s] = yield* pair();
      using _l = l, _c = c, _s = s;
      plan(SITE.recv, KIND_ERRNO, E.ECONNRESET, 0, 1);
      yield* c.writeAll(pattern(8, 1));
      const err = yield* catching(s.read(new Uint8Array(8)));
      assert.ok(err instanceof IoError, String(err));
      assert.equal(err.code, "ECONNRESET");
      assert.equal(hits(SITE.recv), 1);
    });

    t("short writes: writeAll completes and the peer gets every byte in order", function* () {
      const [l, c, s] = yield* pair();
      using _l = l, _c = c, _s = s;
      const data = pattern(200_003, 7);
      plan(SITE.send, KIND_SHORT, 997, 0, EVERY);
      const reader = spawn(function* () {
        const got = new Uint8Array(data.length);
        yield* s.readExact(got);
        return got;
      }());
      yield* c.writeAll(data);
      const got = yield* reader;
      assert.ok(hits(SITE.send) >= Math.floor(data.length / 997), `hits ${hits(SITE.send)}`);
      assert.deepEqual(got, data);
    });

    t("short reads: readExact fills the buffer with the bytes intact", function* () {
      const [l, c, s] = yield* pair();
      using _l = l, _c = c, _s = s;
      const data = pattern(50_000, 11);
      plan(SITE.recv, KIND_SHORT, 3, 0, EVERY);
      const writer = spawn(c.writeAll(data));
      const got = new Uint8Array(data.length);
      yield* s.readExact(got);
      yield* writer;
      assert.ok(hits(SITE.recv) >= 1000, `hits ${hits(SITE.recv)}`);
      assert.deepEqual(got, data);
    });

    t("ENOBUFS on a datagram send: a typed IoError, and the next send goes through", function* () {
      using a = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
      using b = yield* UdpSocket.bind({ hostname: "127.0.0.1", port: 0 });
      const to = { hostname: "127.0.0.1", port: b.localAddr.port };
      plan(SITE.send, KIND_ERRNO, E.ENOBUFS, 0, 1);
      const err = yield* catching(a.sendTo(pattern(10, 1), to));
      assert.ok(err instanceof IoError, String(err));
      assert.equal(err.code, "ENOBUFS");
      assert.equal(hits(SITE.send), 1);
      assert.equal(yield* a.sendTo(pattern(10, 2), to), 10);
      const buf = new Uint8Array(10);
      const d = yield* b.recvFrom(buf);
      assert.equal(d.n, 10);
      assert.deepEqual(buf, pattern(10, 2));
    });
  }
}

/** Run op, returning what it threw (or undefined). */
function* catching(op: Iterable<unknown> & { [Symbol.iterator](): Iterator<unknown> }) {
  try {
    yield* op as Generator<unknown, unknown, unknown>;
    return undefined;
  } catch (e) {
    return e;
  }
}

/** A listener and a connected pair (client, accepted server end), faults off meanwhile. */
function* pair(): Generator<unknown, [TcpListener, TcpStream, TcpStream], unknown> {
  const l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
  const acc = spawn(l.accept());
  const c = yield* TcpStream.connect({ hostname: "127.0.0.1", port: l.localAddr.port });
  const s = yield* acc;
  return [l, c, s];
}
