/**
 * Names in net/: lookupHost (getaddrinfo off the scheduler thread, /etc/hosts honoured,
 * "localhost" on both loopbacks, IP literals without a call, an unknown name → ENOTFOUND naming
 * the host, bad arguments at the call) and TcpStream.connect by name on v4 and v6 — on every
 * backend.
 */

import { NET_BACKENDS } from "./net_helpers.ts";
import assert from "node:assert/strict";
import { IoError, lookupHost, run, spawn, TcpListener, TcpStream } from "../mod.ts";
import { sleep } from "../time/mod.ts";

type B = typeof NET_BACKENDS[number];

function t(name: string, fn: (b: B) => Promise<void>): void {
  for (const b of NET_BACKENDS) Deno.test(`${name} [${b}]`, () => fn(b));
}

async function hostsEntry(name: string): Promise<string | null> {
  const text = await Deno.readTextFile("/etc/hosts").catch(() => "");
  for (const line of text.split("\n")) {
    const f = line.replace(/#.*/, "").trim().split(/\s+/);
    if (f.length >= 2 && f.slice(1).includes(name)) return f[0];
  }
  return null;
}

t("lookupHost: localhost has both loopbacks; literals; /etc/hosts", async (backend) => {
  await run(function* () {
    const addrs = yield* lookupHost("localhost", 8080);
    const hosts = addrs.map((a) => a.hostname);
    assert.ok(hosts.includes("127.0.0.1") && hosts.includes("::1"), hosts.join(","));
    assert.ok(addrs.every((a) => a.port === 8080 && a.transport === "tcp"));
    assert.equal(new Set(hosts).size, hosts.length); // no duplicates
    assert.deepEqual(yield* lookupHost("10.1.2.3", 1), [
      { transport: "tcp", hostname: "10.1.2.3", port: 1 },
    ]);
    assert.deepEqual((yield* lookupHost("[::1]", 2)).map((a) => a.hostname), ["::1"]);
  }, { backend });
  // The first name /etc/hosts gives (other than localhost) resolves to its address there.
  const text = await Deno.readTextFile("/etc/hosts").catch(() => "");
  const entry = text.split("\n").map((l) => l.replace(/#.*/, "").trim().split(/\s+/))
    .find((f) => f.length >= 2 && !f.slice(1).includes("localhost") && /^[0-9.]+$/.test(f[0]));
  if (entry !== undefined) {
    assert.equal(await hostsEntry(entry[1]), entry[0]);
    const got = await lookupHost(entry[1], 1);
    assert.ok(got.some((a) => a.hostname === entry[0]), JSON.stringify(got));
  }
});

t("lookupHost: a name that does not resolve → ENOTFOUND naming the host", async (backend) => {
  await run(function* () {
    let err: unknown = null;
    try {
      yield* lookupHost("no-such-host.invalid", 80);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof IoError, String(err));
    assert.equal(err.code, "ENOTFOUND");
    assert.match(err.message, /"no-such-host\.invalid"/);
    err = null;
    try {
      yield* TcpStream.connect({ hostname: "no-such-host.invalid", port: 80 });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof IoError && err.code === "ENOTFOUND", String(err));
    assert.match((err as Error).message, /no-such-host\.invalid/);
  }, { backend });
});

Deno.test("lookupHost: bad arguments fail at the call", () => {
  assert.throws(() => lookupHost("", 1), TypeError);
  assert.throws(() => lookupHost("a\0b", 1), TypeError);
  assert.throws(() => lookupHost("x".repeat(254), 1), TypeError);
  assert.throws(() => lookupHost(42 as unknown as string, 1), TypeError);
  assert.throws(() => lookupHost("localhost", -1), RangeError);
  assert.throws(() => lookupHost("localhost", 65536), RangeError);
  assert.throws(() => TcpStream.connect({ hostname: "", port: 1 }), TypeError);
  assert.throws(() => TcpStream.connect({ hostname: "example.com", port: 0 }), RangeError);
});

t("lookupHost does not block the scheduler: timers run while names resolve", async (backend) => {
  await run(function* () {
    let ticks = 0;
    const ticker = spawn(function* () {
      for (;;) {
        yield* sleep(1);
        ticks++;
      }
    });
    const lookups = [];
    for (let i = 0; i < 20; i++) lookups.push(spawn(lookupHost("localhost", i)));
    for (const l of lookups) assert.ok((yield* l).length >= 2);
    yield* sleep(5);
    ticker.abort();
    assert.ok(ticks >= 1);
  }, { backend });
});

for (const family of ["127.0.0.1", "::1"]) {
  t(`TcpStream.connect by "localhost" reaches a listener on ${family}`, async (backend) => {
    await run(function* () {
      using listener = yield* TcpListener.bind({ hostname: family, port: 0 });
      const port = listener.localAddr.port;
      const accepted = spawn(listener.accept());
      using conn = yield* TcpStream.connect({ hostname: "localhost", port });
      assert.equal(conn.peerAddr.hostname, family);
      using peer = yield* accepted;
      yield* conn.writeAll(new Uint8Array([7]));
      const buf = new Uint8Array(1);
      assert.equal(yield* peer.read(buf), 1);
      assert.equal(buf[0], 7);
    }, { backend });
  });
}

t(
  "TcpStream.connect by name: every address refused → the error names the host",
  async (backend) => {
    await run(function* () {
      // A port nobody listens on: take one, then close it.
      const l = yield* TcpListener.bind({ hostname: "127.0.0.1", port: 0 });
      const port = l.localAddr.port;
      l.close();
      let err: unknown = null;
      try {
        yield* TcpStream.connect({ hostname: "localhost", port });
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof IoError && err.code === "ECONNREFUSED", String(err));
      assert.match(err.message, /"localhost" port \d+ failed: ECONNREFUSED \(tried .*127\.0\.0\.1/);
      assert.match(err.message, /::1/);
    }, { backend });
  },
);

Deno.test("lookupHost without the library (no --allow-ffi): Deno's resolver, same answers", async () => {
  const script = `
    import { IoError, lookupHost } from ${
    JSON.stringify(new URL("../mod.ts", import.meta.url).href)
  };
    const a = await lookupHost("localhost", 5);
    let code = "";
    try { await lookupHost("no-such-host.invalid", 5); } catch (e) { code = e instanceof IoError ? e.code : String(e); }
    console.log(JSON.stringify({ hosts: a.map((x) => x.hostname).sort(), code }));
  `;
  const denied = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", "--allow-env", "--deny-ffi", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = denied.stdin.getWriter();
  await w.write(new TextEncoder().encode(script));
  await w.close();
  const r = await denied.output();
  const text = new TextDecoder().decode(r.stdout).trim();
  assert.deepEqual(JSON.parse(text), { hosts: ["127.0.0.1", "::1"], code: "ENOTFOUND" });
});
