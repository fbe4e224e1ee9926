/**
 * Unix-domain sockets of net/ on every backend: stream echo (also through io/'s BufReader and
 * copyBidirectional), abstract names, peer credentials, addresses, path limits and permission
 * checks at the call (a child process without the permissions), cancel safety of accept, and
 * what the deno backend refuses with a typed error.
 */

import { NET_BACKENDS } from "./net_helpers.ts";
import assert from "node:assert/strict";
import {
  BufReader,
  BufWriter,
  ClosedError,
  copyBidirectional,
  IoError,
  run,
  spawn,
  UNIX_PATH_MAX,
  UnixDatagram,
  UnixListener,
  UnixStream,
} from "../mod.ts";
import { openLibrary } from "../ffi/library.ts";
import { sleep } from "../time/mod.ts";
import { call } from "../runtime/mod.ts";

type B = typeof NET_BACKENDS[number];

function t(name: string, fn: (b: B) => Promise<void>): void {
  for (const b of NET_BACKENDS) Deno.test(`${name} [${b}]`, () => fn(b));
}

const enc = new TextEncoder();
const dec = new TextDecoder();

async function tempSock(): Promise<[string, () => Promise<void>]> {
  const dir = await Deno.makeTempDir({ prefix: "dk_unix_" });
  return [`${dir}/s.sock`, () => Deno.remove(dir, { recursive: true })];
}

t("Unix stream echo: 200 round trips, half-close, addresses", async (backend) => {
  const [path, cleanup] = await tempSock();
  try {
    await run(function* () {
      using listener = yield* UnixListener.bind({ path });
      assert.deepEqual(listener.localAddr, { transport: "unix", path, abstract: false });
      const server = spawn(function* () {
        using conn = yield* listener.accept();
        assert.equal(conn.localAddr.path, path);
        const buf = new Uint8Array(4096);
        let total = 0;
        for (let n; (n = yield* conn.read(buf)) !== null;) {
          total += n;
          yield* conn.writeAll(buf.subarray(0, n));
        }
        yield* conn.shutdown();
        return total;
      });
      using client = yield* UnixStream.connect({ path });
      assert.equal(client.peerAddr.path, path);
      assert.equal(client.localAddr.path, "");
      const buf = new Uint8Array(64);
      let sent = 0;
      for (let i = 0; i < 200; i++) {
        const msg = enc.encode(`message ${i}`);
        yield* client.writeAll(msg);
        sent += msg.length;
        yield* client.readExact(buf.subarray(0, msg.length));
        assert.equal(dec.decode(buf.subarray(0, msg.length)), `message ${i}`);
      }
      yield* client.shutdown();
      assert.equal(yield* client.read(buf), null);
      assert.equal(yield* server, sent);
    }, { backend });
  } finally {
    await cleanup();
  }
});

t(
  "UnixStream is an io Reader/Writer: BufReader lines, BufWriter, copyBidirectional",
  async (backend) => {
    const [path, cleanup] = await tempSock();
    try {
      await run(function* () {
        using listener = yield* UnixListener.bind({ path });
        // A proxy: accepted Unix connection <-> a second Unix connection to an echo listener.
        const [echoPath] = [path + ".echo"];
        using echo = yield* UnixListener.bind({ path: echoPath });
        spawn(function* () {
          using c = yield* echo.accept();
          const r = new BufReader(c);
          const w = new BufWriter(c);
          for (let line; (line = yield* r.readLine()) !== null;) {
            yield* w.writeAll(enc.encode(line.toUpperCase() + "\n"));
            yield* w.flush();
          }
          yield* w.shutdown();
        });
        const proxy = spawn(function* () {
          using a = yield* listener.accept();
          using b = yield* UnixStream.connect({ path: echoPath });
          return yield* copyBidirectional(a, b);
        });
        using client = yield* UnixStream.connect({ path });
        const lines = new BufReader(client);
        for (const word of ["alpha", "beta", "gamma"]) {
          yield* client.writeAll(enc.encode(word + "\n"));
          assert.equal(yield* lines.readLine(), word.toUpperCase());
        }
        yield* client.shutdown();
        assert.equal(yield* lines.readLine(), null);
        const [up, down] = yield* proxy;
        assert.equal(up, "alpha\nbeta\ngamma\n".length);
        assert.equal(down, up);
      }, { backend });
    } finally {
      await cleanup();
    }
  },
);

t("abstract names (Linux; EOPNOTSUPP on the deno backend)", async (backend) => {
  if (Deno.build.os !== "linux") return;
  const name = `dokio-test-${Deno.pid}-${backend}`;
  await run(function* () {
    if (backend === "deno") {
      let err: unknown = null;
      try {
        yield* UnixListener.bind({ abstract: name });
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof IoError && err.code === "EOPNOTSUPP", String(err));
      assert.match((err as Error).message, /abstract.*deno backend/);
      return;
    }
    using listener = yield* UnixListener.bind({ abstract: name });
    assert.deepEqual(listener.localAddr, { transport: "unix", path: name, abstract: true });
    using client = yield* UnixStream.connect({ abstract: name });
    using server = yield* listener.accept();
    yield* client.writeAll(enc.encode("abstract"));
    const buf = new Uint8Array(16);
    assert.equal(dec.decode(buf.subarray(0, (yield* server.read(buf))!)), "abstract");
    assert.equal(client.peerAddr.abstract, true);
    // The name is taken while the listener lives, and nothing is left in the file system.
    let busy: unknown = null;
    try {
      yield* UnixListener.bind({ abstract: name });
    } catch (e) {
      busy = e;
    }
    assert.ok(busy instanceof IoError && busy.code === "EADDRINUSE");
  }, { backend });
});

t("peer credentials of both ends (EOPNOTSUPP on the deno backend)", async (backend) => {
  const [path, cleanup] = await tempSock();
  try {
    await run(function* () {
      using listener = yield* UnixListener.bind({ path });
      using client = yield* UnixStream.connect({ path });
      using server = yield* listener.accept();
      if (backend === "deno") {
        assert.throws(
          () => server.peerCred(),
          (e) => e instanceof IoError && e.code === "EOPNOTSUPP",
        );
        return;
      }
      for (const end of [server, client]) {
        const cred = end.peerCred();
        assert.equal(cred.uid, Deno.uid());
        assert.equal(cred.gid, Deno.gid());
        if (Deno.build.os === "linux") assert.equal(cred.pid, Deno.pid);
      }
      client.close();
      assert.throws(() => client.peerCred(), ClosedError);
    }, { backend });
  } finally {
    await cleanup();
  }
});

t("peer credentials name another process", async (backend) => {
  if (backend === "deno" || Deno.build.os !== "linux") return;
  const [path, cleanup] = await tempSock();
  try {
    await run(function* () {
      using listener = yield* UnixListener.bind({ path });
      // Another process connects, waits for the server to close, and exits.
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `const c = await Deno.connect({ transport: "unix", path: ${JSON.stringify(path)} });` +
          `await c.read(new Uint8Array(1)); c.close();`,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      using server = yield* listener.accept();
      const cred = server.peerCred();
      assert.equal(cred.pid, child.pid);
      assert.notEqual(cred.pid, Deno.pid);
      server.close();
      yield* call(child.status);
    }, { backend });
  } finally {
    await cleanup();
  }
});

t("bad addresses fail at the call: too long, empty, both or neither, NUL", async (backend) => {
  await run(function* () {
    const long = "/tmp/" + "x".repeat(UNIX_PATH_MAX);
    assert.throws(() => UnixListener.bind({ path: long }), RangeError);
    assert.throws(() => UnixStream.connect({ path: long }), RangeError);
    assert.throws(() => UnixStream.connect({ abstract: "y".repeat(UNIX_PATH_MAX) }), RangeError);
    assert.throws(() => UnixStream.connect({ path: "" }), TypeError);
    assert.throws(() => UnixStream.connect({ path: "/tmp/a\0b" }), TypeError);
    assert.throws(() => UnixStream.connect({}), TypeError);
    assert.throws(() => UnixStream.connect({ path: "/tmp/a", abstract: "b" }), TypeError);
    assert.throws(() => UnixListener.bind({ path: "/tmp/a", backlog: 0 }), RangeError);
    // The longest path that fits binds (in a short directory).
    const dir = Deno.makeTempDirSync({ dir: "/tmp", prefix: "u" });
    const fits = dir + "/" + "p".repeat(UNIX_PATH_MAX - 2 - dir.length);
    assert.equal(new TextEncoder().encode(fits).length, UNIX_PATH_MAX - 1);
    using l = yield* UnixListener.bind({ path: fits });
    assert.equal(l.localAddr.path, fits);
    l.close();
    Deno.removeSync(dir, { recursive: true });
  }, { backend });
});

t("connect errors: no socket file; close ends accept and removes the file", async (backend) => {
  const [path, cleanup] = await tempSock();
  try {
    await run(function* () {
      let err: unknown = null;
      try {
        yield* UnixStream.connect({ path });
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof IoError && err.code === "ENOENT", String(err));
      const l = yield* UnixListener.bind({ path });
      const pending = spawn(function* () {
        try {
          yield* l.accept();
          return "accepted";
        } catch (e) {
          return e instanceof ClosedError ? "closed" : String(e);
        }
      });
      yield* sleep(10);
      l.close();
      assert.equal(yield* pending, "closed");
      assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
      using again = yield* UnixListener.bind({ path }); // the path is free at once
      assert.equal(again.localAddr.path, path);
    }, { backend });
  } finally {
    await cleanup();
  }
});

t("a cancelled accept loses no connection", async (backend) => {
  const [path, cleanup] = await tempSock();
  try {
    await run(function* () {
      using l = yield* UnixListener.bind({ path });
      const waiter = spawn(l.accept());
      yield* sleep(5);
      waiter.abort();
      let cancelled = false;
      try {
        yield* waiter;
      } catch {
        cancelled = true;
      }
      assert.ok(cancelled);
      using c = yield* UnixStream.connect({ path });
      using s = yield* l.accept();
      yield* c.writeAll(enc.encode("x"));
      const buf = new Uint8Array(1);
      assert.equal(yield* s.read(buf), 1);
    }, { backend });
  } finally {
    await cleanup();
  }
});

Deno.test("the OS limit TS checks is the one C reports", async () => {
  const lib = await openLibrary();
  assert.equal(lib.symbols.dk_unix_path_max(), UNIX_PATH_MAX);
});

Deno.test("Unix sockets need read and write permission for the path (child process)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dk_perm_" });
  try {
    const script = `
      import { UnixListener, UnixStream, run } from ${
      JSON.stringify(new URL("../mod.ts", import.meta.url).href)
    };
      const out = [];
      for (const [what, f] of [
        ["bind", () => UnixListener.bind({ path: ${JSON.stringify(dir + "/a.sock")} })],
        ["connect", () => UnixStream.connect({ path: ${JSON.stringify(dir + "/a.sock")} })],
      ]) {
        try { await run(f); out.push(what + ":ok"); } catch (e) { out.push(what + ":" + e.name); }
      }
      console.log(out.join(" "));
    `;
    const file = `${dir}/child.ts`;
    await Deno.writeTextFile(file, script);
    const root = new URL("..", import.meta.url).pathname;
    for (
      const [flags, want] of [
        [[`--allow-read=${root},${dir}`], "bind:NotCapable connect:NotCapable"],
        [[`--allow-read=${root},${dir}`, `--allow-write=${dir}`], "bind:ok connect:ok"],
      ] as const
    ) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-ffi", "--allow-env", ...flags, file],
        env: { DOKIO_BACKEND: "epoll" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = dec.decode(out.stdout).trim();
      assert.equal(text, want, dec.decode(out.stderr));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

t("Unix datagram echo by path, connected send/recv, abstract names", async (backend) => {
  const [path, cleanup] = await tempSock();
  try {
    await run(function* () {
      if (backend === "deno") {
        let err: unknown = null;
        try {
          yield* UnixDatagram.bind({ path });
        } catch (e) {
          err = e;
        }
        assert.ok(err instanceof IoError && err.code === "EOPNOTSUPP", String(err));
        return;
      }
      using server = yield* UnixDatagram.bind({ path });
      using client = yield* UnixDatagram.bind({ path: path + ".c" });
      const echo = spawn(function* () {
        const buf = new Uint8Array(2048);
        for (let i = 0; i < 50; i++) {
          const { n, addr } = yield* server.recvFrom(buf);
          yield* server.sendTo(buf.subarray(0, n), { path: addr.path });
        }
      });
      const buf = new Uint8Array(2048);
      for (let i = 0; i < 50; i++) {
        const msg = enc.encode(`datagram ${i} `.repeat(i + 1));
        assert.equal(yield* client.sendTo(msg, { path }), msg.length);
        const { n, addr } = yield* client.recvFrom(buf);
        assert.equal(addr.path, path);
        assert.equal(dec.decode(buf.subarray(0, n)), dec.decode(msg));
      }
      yield* echo;
      // Connected: send/recv, boundaries kept, a long datagram truncated.
      client.connect({ path });
      assert.equal(client.peerAddr.path, path);
      yield* client.send(enc.encode("one"));
      yield* client.send(enc.encode("two!"));
      assert.equal(yield* server.recv(buf), 3);
      assert.equal(yield* server.recv(buf), 4);
      yield* client.send(new Uint8Array(100).fill(1));
      assert.equal(yield* server.recv(new Uint8Array(10)), 10);
      // A cancelled receive consumes nothing: the next one gets the datagram.
      const waiting = spawn(server.recv(buf));
      yield* sleep(5);
      waiting.abort();
      try {
        yield* waiting;
      } catch { /* cancelled */ }
      yield* client.send(enc.encode("kept"));
      assert.equal(yield* server.recv(buf), 4);
      assert.equal(dec.decode(buf.subarray(0, 4)), "kept");
      // Unbound senders, and abstract names (Linux).
      using anon = yield* UnixDatagram.unbound();
      yield* anon.sendTo(enc.encode("anon"), { path });
      const from = yield* server.recvFrom(buf);
      assert.equal(from.addr.path, "");
      if (Deno.build.os === "linux") {
        using abs = yield* UnixDatagram.bind({ abstract: `dokio-dgram-${Deno.pid}` });
        yield* anon.sendTo(enc.encode("abs"), { abstract: `dokio-dgram-${Deno.pid}` });
        assert.equal(yield* abs.recv(buf), 3);
      }
      let err: unknown = null;
      try {
        yield* anon.sendTo(enc.encode("x"), { path: path + ".none" });
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof IoError && err.code === "ENOENT", String(err));
      server.close();
      assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
    }, { backend });
  } finally {
    await cleanup();
  }
});

t(
  "Deno's names beside Tokio's: listener.addr, conn.remoteAddr, conn.closeWrite(), datagram.addr",
  async (backend) => {
    const [path, cleanup] = await tempSock();
    try {
      await run(function* () {
        using listener = yield* UnixListener.bind({ path });
        assert.deepEqual(listener.addr, listener.localAddr);
        using client = yield* UnixStream.connect({ path });
        using server = yield* listener.accept();
        assert.deepEqual(client.remoteAddr, client.peerAddr);
        assert.equal(client.remoteAddr.path, path);
        yield* client.closeWrite();
        assert.equal(
          yield* server.read(new Uint8Array(4)),
          null,
          "closeWrite sends FIN as shutdown does",
        );
        yield* server.writeAll(enc.encode("k"));
        const buf = new Uint8Array(1);
        assert.equal(yield* client.read(buf), 1, "the read direction stays open");
        if (backend === "deno") return; // no Unix datagrams there
        using dgram = yield* UnixDatagram.bind({ path: `${path}.dgram` });
        assert.deepEqual(dgram.addr, dgram.localAddr);
        assert.equal(dgram.addr.path, `${path}.dgram`);
      }, { backend });
    } finally {
      await cleanup();
    }
  },
);
