/**
 * The console's shell pieces that need no terminal: the `host:port`
 * argument, the reconnection delays, when colour and cursor addressing are
 * used, and following a (fake) daemon's stream through a bad line, a
 * daemon that goes away and one that comes back, and one that falls silent.
 */

import assert from "node:assert/strict";
import {
  DEFAULT_HOST,
  DEFAULT_METRICS_PORT,
  follow,
  nextDelay,
  parseTarget,
  RETRY_FIRST_MS,
  RETRY_MAX_MS,
  STALL_INTERVALS,
  type StreamEvent,
} from "../console/client.ts";
import { colorEnabled, screenMode } from "../console/terminal.ts";
import { parseConsoleArgs } from "../console/main.ts";
import {
  DEFAULT_METRICS_HOSTNAME,
  DEFAULT_METRICS_PORT as SERVED_PORT,
} from "../runtime/instrument/server.ts";
import { DEFAULT_MAX_LINE_BYTES } from "../console/ndjson.ts";
import { startFakeDaemon } from "./console_fake_daemon.ts";
import { sampleSnapshot } from "./console_fixture.ts";

Deno.test("console client: host:port forms, defaults, and bad ones", () => {
  assert.equal(DEFAULT_METRICS_PORT, SERVED_PORT, "the console looks where the runtime serves");
  assert.equal(DEFAULT_HOST, DEFAULT_METRICS_HOSTNAME);
  assert.deepEqual(parseTarget(undefined), {
    addr: "127.0.0.1:6669",
    url: "http://127.0.0.1:6669/console",
  });
  assert.equal(parseTarget("7000").addr, "127.0.0.1:7000");
  assert.equal(parseTarget(":7000").addr, "127.0.0.1:7000");
  assert.equal(parseTarget("example.net").addr, "example.net:6669");
  assert.equal(parseTarget("10.1.2.3:9").url, "http://10.1.2.3:9/console");
  assert.equal(parseTarget("[::1]:7000").url, "http://[::1]:7000/console");
  assert.equal(parseTarget("[::1]").addr, "[::1]:6669");
  for (const bad of ["host:0", "host:65536", "host:x", "a b:1", "::1:80", "host:"]) {
    assert.throws(() => parseTarget(bad), RangeError, bad);
  }
});

Deno.test("console client: the command line", () => {
  assert.deepEqual(parseConsoleArgs([]), {
    target: parseTarget(undefined),
    maxLineBytes: DEFAULT_MAX_LINE_BYTES,
    once: false,
  });
  const a = parseConsoleArgs([
    "10.0.0.2:7001",
    "--interval",
    "250",
    "--max-line",
    "4096",
    "--once",
  ]);
  assert.equal(a.target.url, "http://10.0.0.2:7001/console?interval=250");
  assert.equal(a.maxLineBytes, 4096);
  assert.equal(a.once, true);
  for (
    const bad of [["--interval", "0"], ["--max-line", "x"], ["a:1", "b:2"], ["--color"], ["--help"]]
  ) {
    assert.throws(() => parseConsoleArgs(bad), RangeError, bad.join(" "));
  }
});

Deno.test("console client: reconnection delays double up to the cap", () => {
  const seen: number[] = [];
  let d = 0;
  for (let i = 0; i < 8; i++) seen.push(d = nextDelay(d));
  assert.equal(seen[0], RETRY_FIRST_MS);
  assert.equal(seen[1], RETRY_FIRST_MS * 2);
  assert.equal(seen[seen.length - 1], RETRY_MAX_MS);
  assert.ok(seen.every((x, i) => i === 0 || x >= seen[i - 1]));
});

Deno.test("console terminal: colour and cursor addressing only where they work", () => {
  const tty = { isTty: true, term: "xterm-256color" };
  assert.equal(colorEnabled(tty), true);
  assert.equal(colorEnabled({ ...tty, noColor: "1" }), false);
  assert.equal(
    colorEnabled({ ...tty, noColor: "" }),
    true,
    "NO_COLOR set but empty does not count",
  );
  assert.equal(colorEnabled({ ...tty, term: "dumb" }), false);
  assert.equal(colorEnabled({ ...tty, isTty: false }), false);
  assert.equal(screenMode(tty), "ansi");
  assert.equal(screenMode({ ...tty, noColor: "1" }), "ansi", "no colour still moves the cursor");
  assert.equal(screenMode({ ...tty, term: "dumb" }), "plain");
  assert.equal(screenMode({ ...tty, isTty: false }), "plain");
});

/** Reads events (with `next()`: a `break` would close the generator) until `until` says stop. */
async function collect(
  events: AsyncGenerator<StreamEvent>,
  until: (ev: StreamEvent) => boolean,
): Promise<StreamEvent[]> {
  const all: StreamEvent[] = [];
  while (true) {
    const r = await events.next();
    if (r.done) throw new Error(`the stream ended after ${JSON.stringify(all.map((e) => e.kind))}`);
    all.push(r.value);
    if (until(r.value)) return all;
  }
}

Deno.test("console client: follows a stream through a bad line, a daemon gone, and the daemon back", async () => {
  let daemon = startFakeDaemon(100);
  const port = daemon.port;
  const controller = new AbortController();
  const events = follow(`http://127.0.0.1:${port}/console`, {
    signal: controller.signal,
    maxLineBytes: 1 << 20,
  });
  try {
    const first = await collect(events, (ev) => ev.kind === "snapshot");
    assert.deepEqual(first.map((e) => e.kind), ["connected", "snapshot"]);
    daemon.sendRaw("{oops\n");
    const bad = await collect(events, (ev) => ev.kind === "bad-line");
    assert.match((bad.at(-1) as { message: string }).message, /bad JSON line/);
    await daemon.close();
    const gone = await collect(events, (ev) => ev.kind === "disconnected");
    assert.equal(gone.at(-1)!.kind, "disconnected");
    daemon = startFakeDaemon(100, port);
    const back = await collect(events, (ev) => ev.kind === "snapshot");
    assert.ok(back.some((e) => e.kind === "connected"), "connected again");
    const delays = back.flatMap((e) => e.kind === "disconnected" ? [e.retryInMs] : []);
    assert.ok(delays.every((d) => d <= RETRY_MAX_MS));
  } finally {
    controller.abort();
    await events.return(undefined);
    await daemon.close();
  }
});

Deno.test("console client: a silent stream is dropped after the stall timeout and re-dialled", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    // Headers, then nothing: a daemon stopped with SIGSTOP looks like this.
    const body = new ReadableStream<Uint8Array>({ start() {} });
    return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
  });
  const controller = new AbortController();
  const events = follow(`http://127.0.0.1:${server.addr.port}/console`, {
    signal: controller.signal,
    stallMs: 300,
  });
  try {
    const got = await collect(events, (ev) => ev.kind === "disconnected");
    assert.deepEqual(got.map((e) => e.kind), ["connected", "disconnected"]);
    assert.match((got[1] as { message: string }).message, /no update for 0\.3s/);
  } finally {
    controller.abort();
    await events.return(undefined);
    await server.shutdown();
  }
});

Deno.test("console client: a stream that says its interval is long is given that many intervals before the stall", async () => {
  // One line saying "every 200 ms", then silence: with STALL_INTERVALS of them the
  // 100 ms stall timeout becomes 600 ms.
  const line = JSON.stringify({ ...sampleSnapshot(), intervalMs: 200 }) + "\n";
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(line));
      },
    });
    return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
  });
  const controller = new AbortController();
  const events = follow(`http://127.0.0.1:${server.addr.port}/console`, {
    signal: controller.signal,
    stallMs: 100,
  });
  try {
    const got = await collect(events, (ev) => ev.kind === "disconnected");
    assert.deepEqual(got.map((e) => e.kind), ["connected", "snapshot", "disconnected"]);
    assert.equal(STALL_INTERVALS * 200, 600);
    assert.match((got[2] as { message: string }).message, /no update for 0\.6s/);
  } finally {
    controller.abort();
    await events.return(undefined);
    await server.shutdown();
  }
});

Deno.test("console client: a server that is not a console stream is reported, not read", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/console"
        ? new Response("<html>", { headers: { "content-type": "text/html" } })
        : new Response("", { status: 404 }),
  );
  const controller = new AbortController();
  const events = follow(`http://127.0.0.1:${server.addr.port}/console`, {
    signal: controller.signal,
  });
  try {
    const got = await collect(events, (ev) => ev.kind === "disconnected");
    assert.match(
      (got.at(-1) as { message: string }).message,
      /not a console stream \(content-type "text\/html"\)/,
    );
  } finally {
    controller.abort();
    await events.return(undefined);
    await server.shutdown();
  }
});
