/**
 * The echo daemon (examples/echo.ts) as a child process: it prints its port,
 * echoes, keeps its fd count flat, survives EMFILE under a low fd limit, and
 * exits 0 on SIGTERM after draining — on both backends; and with
 * `--workers 2` (serve over two pool workers) the same. A bad flag, a port
 * in use, an address that is not local or a missing permission makes echo
 * and chat print one line saying what and how to fix it, and exit 1.
 */

import { NET_BACKENDS } from "./net_helpers.ts";
import assert from "node:assert/strict";
import { echoOnce, startDaemon } from "./net_helpers.ts";
import { ignoreWithout, missingPrograms } from "./tool_helpers.ts";
import { EXIT_USAGE } from "../examples/_flags.ts";

const ECHO = new URL("../examples/echo.ts", import.meta.url).pathname;
const BACKENDS = NET_BACKENDS;
const noPrlimit = {
  ignore: ignoreWithout("the EMFILE test (ulimit -n 64)", missingPrograms(["prlimit"])),
};

function fds(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

for (const backend of BACKENDS) {
  Deno.test(`echo daemon: echoes, no fd leak, SIGTERM exits 0 [${backend}]`, async () => {
    const d = await startDaemon(ECHO, backend, ["--drain-ms", "500"]);
    const pid = d.child.pid;
    // Warm up (signal handlers and lazily opened runtime fds), then take the baseline.
    const warm = await Deno.connect({ hostname: "127.0.0.1", port: d.port });
    await echoOnce(warm, "warm-up\n");
    warm.close();
    await new Promise((r) => setTimeout(r, 200));
    const base = fds(pid);
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < 30; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: d.port }));
    }
    await Promise.all(conns.map((c, i) => echoOnce(c, `hello ${i}\n`.repeat(i + 1))));
    assert.ok(fds(pid) >= base + 30, `fds while connected: ${fds(pid)} (base ${base})`);
    for (const c of conns) c.close();
    assert.ok(
      await waitFor(() => fds(pid) <= base, 3000),
      `fds after close: ${fds(pid)} > ${base}`,
    );
    d.child.kill("SIGTERM");
    const st = await d.done;
    await d.lines;
    assert.equal(st.code, 0, d.out.join("\n"));
    assert.ok(d.out.some((l) => l.includes("stopped")), d.out.join("\n"));
  });

  Deno.test(`echo daemon: drains open connections on SIGTERM [${backend}]`, async () => {
    const d = await startDaemon(ECHO, backend, ["--drain-ms", "400"]);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: d.port });
    await echoOnce(conn, "before\n");
    d.child.kill("SIGTERM");
    await waitFor(() => d.out.some((l) => l.includes("no longer accepting")), 2000);
    // Still served while draining.
    await echoOnce(conn, "during drain\n");
    // New connections are refused.
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: d.port }));
    const t0 = Date.now();
    const st = await d.done;
    await d.lines;
    assert.equal(st.code, 0, d.out.join("\n"));
    assert.ok(Date.now() - t0 < 3000);
    assert.ok(d.out.some((l) => l.includes("drain time over")), d.out.join("\n"));
    // The daemon closed our connection.
    const buf = new Uint8Array(8);
    const n = await conn.read(buf).catch(() => null);
    assert.equal(n, null);
    conn.close();
  });

  Deno.test(`echo daemon survives EMFILE under ulimit -n 64 [${backend}]`, noPrlimit, async () => {
    const d = await startDaemon(ECHO, backend, ["--drain-ms", "100"], {
      prefix: ["prlimit", "--nofile=64:64"],
    });
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < 90; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: d.port }));
    }
    assert.ok(
      await waitFor(() => d.out.some((l) => l.includes("EMFILE")), 3000),
      `no EMFILE seen:\n${d.out.join("\n")}`,
    );
    for (const c of conns) c.close();
    // After fds free up the daemon serves again.
    await new Promise((r) => setTimeout(r, 200));
    const c = await Deno.connect({ hostname: "127.0.0.1", port: d.port });
    await echoOnce(c, "still alive\n");
    c.close();
    d.child.kill("SIGTERM");
    const st = await d.done;
    await d.lines;
    assert.equal(st.code, 0, d.out.join("\n"));
  });
}

for (const backend of BACKENDS) {
  Deno.test(`echo daemon --workers 2: echoes on both workers, drains, SIGTERM exits 0 [${backend}]`, async () => {
    const d = await startDaemon(ECHO, backend, ["--workers", "2", "--drain-ms", "300"]);
    assert.ok(
      d.out.some((l) => l.includes("2 workers, one SO_REUSEPORT listener each")),
      d.out.join("\n"),
    );
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < 20; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: d.port }));
    }
    await Promise.all(conns.map((c, i) => echoOnce(c, `hello ${i}\n`.repeat(i + 1))));
    // One connection stays open through SIGTERM: still served while draining, then closed.
    for (const c of conns.slice(1)) c.close();
    d.child.kill("SIGTERM");
    await waitFor(() => d.out.some((l) => l.includes("no longer accepting")), 3000);
    await echoOnce(conns[0], "during drain\n");
    const st = await d.done;
    await d.lines;
    assert.equal(st.code, 0, d.out.join("\n"));
    assert.equal(await conns[0].read(new Uint8Array(8)).catch(() => null), null);
    conns[0].close();
    const per = d.out.map((l) => /accepted per worker: (\d+), (\d+); stopped/.exec(l)).find((m) =>
      m
    );
    assert.ok(per, d.out.join("\n"));
    assert.equal(Number(per[1]) + Number(per[2]), 20);
    assert.ok(Number(per[1]) > 0 && Number(per[2]) > 0, per[0]);
    assert.ok(d.out.some((l) => l.includes("drain time over: closed 1")), d.out.join("\n"));
  });
}

// ---------------------------------------------------------------------------
// Failing politely: one line saying what and how to fix it, no stack; exit status 2 for a bad
// command line, 1 for a failure while running.

const CHAT = new URL("../examples/chat.ts", import.meta.url).pathname;
const SERVER_PATH = "../examples/mini_redis/server.ts";

/** Run `script` to its end with `perms` (deno run flags) and return its status and stderr lines. */
async function runToEnd(
  script: string,
  args: string[],
  options: { perms?: string[]; backend?: string } = {},
): Promise<{ code: number; err: string[]; out: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...(options.perms ?? ["-A"]), script, ...args],
    env: options.backend === undefined ? {} : { DOKIO_BACKEND: options.backend },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const err = new TextDecoder().decode(o.stderr).split("\n").filter((l) => l.length > 0);
  return { code: o.code, err, out: new TextDecoder().decode(o.stdout) };
}

/** Exit `code` (default 1) with exactly one stderr line, `name: ...` matching `what`, no stack. */
function assertOneLine(
  r: { code: number; err: string[]; out: string },
  name: string,
  what: RegExp,
  code = 1,
): void {
  const all = r.err.join("\n");
  assert.equal(r.code, code, all);
  assert.equal(r.err.length, 1, `one line, got:\n${all}`);
  assert.ok(r.err[0].startsWith(`${name}: `), r.err[0]);
  assert.match(r.err[0], what);
  assert.doesNotMatch(all, /^\s+at /m, "no stack trace");
}

for (const [name, script] of [["echo", ECHO], ["chat", CHAT]] as const) {
  Deno.test(`${name} daemon: a bad flag or value says which, and exits 2`, async () => {
    const usage = async (args: string[], what: RegExp) =>
      assertOneLine(await runToEnd(script, args), name, what, EXIT_USAGE);
    await usage(["--prot", "7000"], /unknown flag --prot.*--help/);
    await usage(["--port", "abc"], /--port takes a number/);
    await usage(["--port", "70000"], /--port takes an integer in 0\.\.65535/);
    await usage(["--port"], /--port needs a value/);
  });

  for (const backend of BACKENDS) {
    Deno.test(`${name} daemon: a port in use says so and how to pick another, exit 1 [${backend}]`, async () => {
      using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = String(taken.addr.port);
      assertOneLine(
        await runToEnd(script, ["--port", port], { backend }),
        name,
        new RegExp(`127\\.0\\.0\\.1:${port} is already in use.*--port 0`),
      );
    });
  }

  Deno.test(`${name} daemon: without net permission it names the flag, exit 1`, async () => {
    assertOneLine(
      await runToEnd(script, ["--port", "0"], { perms: [] }),
      name,
      /missing permission: .*net access.*--allow-net/,
    );
  });
}

Deno.test("echo daemon --workers 2: a port in use fails the same way (the error crosses from a pool worker)", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = String(taken.addr.port);
  assertOneLine(
    await runToEnd(ECHO, ["--port", port, "--workers", "2"]),
    "echo",
    /is already in use/,
  );
});

Deno.test("echo daemon: an address that is not local says to use a local one, exit 1", async () => {
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
  assertOneLine(
    await runToEnd(ECHO, ["--host", "192.0.2.1", "--port", "0"]),
    "echo",
    /192\.0\.2\.1 is not an address of this machine/,
  );
});

// Every other daemon and bench server parses its flags with examples/_flags.ts: a bad one is one
// line naming it, and exit 2.
const script = (path: string) => new URL(path, import.meta.url).pathname;
const USAGE_CASES: [name: string, path: string, args: string[], what: RegExp][] = [
  ["proxy", "../examples/proxy.ts", ["--bogus"], /unknown flag --bogus \(--help/],
  ["proxy", "../examples/proxy.ts", ["--port", "x"], /--port takes a number, got "x"/],
  ["proxy", "../examples/proxy.ts", ["--port=-1"], /--port takes an integer in 0\.\.65535/],
  ["proxy", "../examples/proxy.ts", ["--to", "7000"], /--to takes host:port, got "7000"/],
  ["file_server", "../examples/file_server.ts", ["--prot", "80"], /unknown flag --prot/],
  ["file_server", "../examples/file_server.ts", ["--port", "65536"], /--port takes an integer/],
  ["file_server", "../examples/file_server.ts", ["--dir", "/nonexistent/dokio"], /--dir takes a/],
  ["mini-redis", "../examples/mini_redis/server.ts", ["--bogus"], /unknown flag --bogus/],
  ["mini-redis", "../examples/mini_redis/server.ts", ["--port", "1.5"], /--port takes an int/],
  ["mini-redis", "../examples/mini_redis/server.ts", ["--max-clients=0"], /--max-clients takes/],
  ["unix_echo_server_dokio", "../bench/unix_echo_server_dokio.ts", [], /--path is required/],
  ["unix_echo_server_dokio", "../bench/unix_echo_server_dokio.ts", ["--pth", "/x"], /unknown/],
  ["unix_echo_server_deno", "../bench/unix_echo_server_deno.ts", [], /--path is required/],
  ["unix_echo_server_deno", "../bench/unix_echo_server_deno.ts", ["--path"], /needs a value/],
];

Deno.test("proxy, file_server, mini-redis, bench unix echo servers: a bad flag is one line, exit 2", async () => {
  const results = await Promise.all(
    USAGE_CASES.map(([, path, args]) => runToEnd(script(path), args)),
  );
  USAGE_CASES.forEach(([name, , , what], i) => assertOneLine(results[i], name, what, EXIT_USAGE));
});

Deno.test("proxy, file_server, mini-redis: a port in use is one line, exit 1", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = String(taken.addr.port);
  const names = ["proxy", "file_server", "mini-redis"];
  const paths = ["../examples/proxy.ts", "../examples/file_server.ts", SERVER_PATH];
  const results = await Promise.all(paths.map((p) => runToEnd(script(p), ["--port", port])));
  results.forEach((r, i) => assertOneLine(r, names[i], /is already in use.*--port 0/));
});
