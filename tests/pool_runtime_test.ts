/**
 * The runtime's worker pool wiring: `workers(n)`, `rt.spawnShared`,
 * `rt.spawnBlocking`, pool counters in `rt.metrics()`, shutdown leaving no
 * worker behind (also as a child process that must exit by itself), and
 * multi-core TCP with `serve(rt, …)` (one SO_REUSEPORT listener per worker).
 *
 * @module
 */

import assert from "node:assert/strict";
import { run, Runtime } from "../runtime/runtime.ts";
import { JoinError } from "../runtime/errors.ts";
import { echoOnce } from "./net_helpers.ts";
import { serve } from "../net/mod.ts";
import { add, asyncDouble, crash, spin } from "./fixtures/pool_tasks.ts";

const TASKS = new URL("./fixtures/pool_tasks.ts", import.meta.url).href;
const HANDLERS = new URL("./fixtures/pool_serve_handler.ts", import.meta.url).href;
const EXIT_CHILD = new URL("./fixtures/pool_runtime_exit.ts", import.meta.url).pathname;

async function readAll(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(256);
  let s = "";
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return s;
    s += new TextDecoder().decode(buf.subarray(0, n));
  }
}

Deno.test("poolSize: bad counts are RangeErrors at the call (and for the old name, workers)", () => {
  assert.throws(() => Runtime.builder().poolSize(0), RangeError);
  assert.throws(() => Runtime.builder().poolSize(1.5), RangeError);
  assert.throws(() => Runtime.builder().poolSize(257), RangeError);
  assert.throws(() => new Runtime({ poolSize: 0 }), RangeError);
  assert.throws(() => new Runtime({ poolSize: -2 }), RangeError);
  assert.throws(() => run(function* () {}, { poolSize: 0 }), /poolSize must be/);
  assert.throws(() => Runtime.builder().workers(0), /poolSize must be/);
  assert.throws(() => new Runtime({ workers: 257 }), RangeError);
});

Deno.test("poolSize: the deprecated workers(n) is the same knob", async () => {
  const rt = Runtime.builder().workers(2).build();
  try {
    assert.equal(await rt.spawnShared<number>(TASKS, "pool.add", 1, 2), 3);
    assert.equal(rt.metrics().pool.length, 2);
  } finally {
    await rt.shutdown();
  }
});

/** A replacement boots a Deno Worker: seconds on a loaded machine, never minutes. */
const REPLACE_WITHIN_MS = 60_000;

Deno.test("replaceDead: the runtime's pool replaces a crashed worker (option and builder); without it the worker stays dead", async () => {
  assert.throws(() => Runtime.builder().replaceDead("yes" as unknown as boolean), TypeError);
  assert.throws(() => new Runtime({ replaceDead: 1 as unknown as boolean }), TypeError);
  for (
    const rt of [
      Runtime.builder().poolSize(1).replaceDead().build(),
      new Runtime({ replaceDead: true }),
    ]
  ) {
    try {
      const e = await rt.spawnShared(crash).then(() => null, (e) => e);
      assert.ok(e instanceof JoinError, String(e));
      assert.match(e.message, /died/);
      // Its only worker died: the task waits for the replacement instead of failing.
      assert.equal(await rt.spawnShared(add, 2, 3), 5);
      const t0 = performance.now();
      while (!(rt.metrics().pool[0].alive && rt.metrics().pool[0].replaced === 1)) {
        assert.ok(performance.now() - t0 < REPLACE_WITHIN_MS, "worker 0 not replaced");
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await rt.shutdown();
    }
  }
  const rt = Runtime.builder().poolSize(2).replaceDead(false).build();
  try {
    await rt.spawnShared(crash).then(() => null, () => null);
    assert.equal(await rt.spawnShared(add, 1, 1), 2); // the other worker
    await new Promise((r) => setTimeout(r, 300));
    const dead = rt.metrics().pool.filter((m) => !m.alive);
    assert.equal(dead.length, 1);
    assert.equal(dead[0].replaced, 0);
  } finally {
    await rt.shutdown();
  }
});

Deno.test("spawnShared/spawnBlocking take what defineTask returns, typed end to end", async () => {
  const rt = Runtime.builder().poolSize(2).build();
  try {
    const sum: number = await rt.spawnShared(add, 40, 2);
    assert.equal(sum, 42);
    const v: number = await rt.spawnBlocking(spin, 0, 7);
    assert.equal(v, 7);
    const doubled: number = await rt.spawnShared(asyncDouble, 21); // the AbortSignal is not passed
    assert.equal(doubled, 42);
    assert.equal(add.module, TASKS);
    const mistyped = () => {
      // @ts-expect-error: the arguments are typed from the function (two numbers)
      rt.spawnShared(add, "x", 2);
    };
    assert.equal(typeof mistyped, "function"); // checked by the type checker, never called
    assert.throws(() => rt.spawnShared({} as never), /takes what defineTask returned/);
  } finally {
    await rt.shutdown();
  }
});

Deno.test("workers(2): shared and blocking tasks run on the pool; metrics show it", async () => {
  const rt = Runtime.builder().poolSize(2).build();
  // No pool until first use.
  assert.equal(rt.metrics().workers, 1);
  assert.equal(rt.metrics().pool.length, 0);
  try {
    const v = await rt.run(function* () {
      const hs = [];
      for (let i = 0; i < 200; i++) hs.push(rt.spawnShared<number>(TASKS, "pool.add", i, 1));
      let s = 0;
      for (const h of hs) s += yield* h;
      return s;
    });
    assert.equal(v, 200 * 201 / 2);
  } finally {
    await rt.shutdown();
  }
  const m = rt.metrics();
  assert.equal(m.workers, 3);
  assert.equal(m.perWorker.length, 3);
  assert.equal(m.pool.length, 2);
  const polls = m.perWorker.slice(1).reduce((a, w) => a + w.polls, 0);
  assert.ok(polls >= 200, `pool polls ${polls}`);
  assert.equal(polls, m.pool.reduce((a, w) => a + w.polls, 0));
  for (const w of m.perWorker.slice(1)) {
    for (const k of ["steals", "stolenTasks", "parks", "unparks", "localQueueDepth"] as const) {
      assert.ok(Number.isInteger(w[k]) && w[k] >= 0, `${k} = ${w[k]}`);
    }
  }
  assert.ok(m.pool.every((w) => !w.alive), "every pool worker terminated");
  assert.throws(() => rt.spawnShared(TASKS, "pool.add", 1, 2), Error);
});

Deno.test("workers(1): spawnBlocking runs on a pool of one; failures are JoinErrors", async () => {
  const rt = new Runtime();
  try {
    assert.equal(await rt.spawnBlocking<number>(TASKS, "pool.spin", 0, 9), 9);
    assert.equal(await rt.spawnShared<number>(TASKS, "pool.asyncDouble", 21), 42);
    const err = await rt.spawnShared(TASKS, "pool.boom", "bad").then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof JoinError);
    assert.equal((err.cause as Error).name, "RangeError");
    assert.equal(rt.metrics().workers, 2);
    assert.ok(rt.metrics().pool[0].polls >= 2);
  } finally {
    await rt.shutdown();
  }
  assert.ok(rt.metrics().pool.every((w) => !w.alive));
});

Deno.test("workers: rt.run() returns and await using shuts down: the child process exits by itself", async () => {
  const t0 = Date.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXIT_CHILD],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /done 55 workers=3/);
  // The one-minute shared sleeper was cancelled, not waited for.
  assert.ok(Date.now() - t0 < 25_000, `took ${Date.now() - t0} ms`);
});

Deno.test("serve: bad arguments throw at the call", async () => {
  const rt = new Runtime({ poolSize: 2 });
  try {
    assert.throws(() => serve(rt, { port: -1 }, HANDLERS, "test.echo"), RangeError);
    assert.throws(() => serve(rt, { port: 1.5 }, HANDLERS, "test.echo"), RangeError);
    assert.throws(
      () => serve(rt, null as unknown as { port: number }, HANDLERS, "test.echo"),
      TypeError,
    );
    assert.throws(() => serve(rt, { port: 0 }, "not a url", "test.echo"), TypeError);
    assert.throws(() => serve(rt, { port: 0 }, HANDLERS, ""), TypeError);
    assert.throws(() => serve(rt, { port: 0, backlog: 0 }, HANDLERS, "x"), RangeError);
    // An unknown handler and a busy port reject.
    await assert.rejects(serve(rt, { port: 0 }, HANDLERS, "test.nope"), TypeError);
    const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      await assert.rejects(
        serve(rt, { port: (busy.addr as Deno.NetAddr).port }, HANDLERS, "test.echo"),
        (e: Error) => /EADDRINUSE/.test(e.message),
      );
    } finally {
      busy.close();
    }
  } finally {
    await rt.shutdown();
  }
});

Deno.test("serve: 20 concurrent connections echo across 2 workers, both accept", async () => {
  const rt = Runtime.builder().poolSize(2).build();
  try {
    const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, HANDLERS, "test.echo");
    const port = srv.localAddr.port;
    assert.ok(port > 0);
    const conns = await Promise.all(
      Array.from({ length: 20 }, () => Deno.connect({ hostname: "127.0.0.1", port })),
    );
    try {
      await Promise.all(conns.map((c, i) => echoOnce(c, `conn ${i}\n`.repeat(i + 1))));
      // A second round on the same connections: they stay on their workers.
      await Promise.all(conns.map((c, i) => echoOnce(c, `again ${i}\n`)));
      const st = srv.stats();
      assert.equal(st.accepted, 20);
      assert.equal(st.open, 20);
      assert.equal(st.perWorker.length, 2);
      // SO_REUSEPORT hashes each connection to one listener: with 20
      // connections both get some (all on one: probability 2^-19).
      assert.ok(st.perWorker.every((w) => w.accepted > 0), JSON.stringify(st.perWorker));
    } finally {
      for (const c of conns) c.close();
    }
    const fin = await srv.close({ drainMs: 2000 });
    assert.equal(fin.accepted, 20);
    assert.equal(fin.open, 0);
    assert.equal(fin.forced, 0);
    // No longer listening on any worker.
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
    // An async handler: writes, returns, the server closes the connection.
    const srv2 = await serve(rt, { port: 0 }, HANDLERS, "test.hello");
    const c = await Deno.connect({ hostname: "127.0.0.1", port: srv2.localAddr.port });
    assert.equal(await readAll(c), "hi\n");
    c.close();
    await srv2.close();
  } finally {
    await rt.shutdown();
  }
});

Deno.test("serve: a generator handler that throws still gets its connection closed and uncounted", async () => {
  const rt = Runtime.builder().poolSize(2).build();
  try {
    // The worker logs each failure on stderr ("dokio serve: handler "test.boom" failed").
    const srv = await serve(rt, { hostname: "127.0.0.1", port: 0 }, HANDLERS, "test.boom");
    for (let i = 0; i < 4; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port: srv.localAddr.port });
      assert.equal(await readAll(c), "bye\n", "the server wrote, then closed our connection");
      c.close();
    }
    const fin = await srv.close({ drainMs: 2000 });
    assert.equal(fin.accepted, 4);
    assert.equal(fin.open, 0);
    assert.equal(fin.forced, 0);
  } finally {
    await rt.shutdown();
  }
});

Deno.test("serve: close drains, then force-closes at the deadline; shutdown closes servers", async () => {
  const rt = new Runtime({ poolSize: 2 });
  let conn: Deno.Conn | null = null;
  try {
    const srv = await serve(rt, { port: 0 }, HANDLERS, "test.echo");
    conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.localAddr.port });
    await echoOnce(conn, "before\n");
    const t0 = Date.now();
    const closing = srv.close({ drainMs: 300 });
    assert.equal(srv.close(), closing, "close is idempotent");
    const fin = await closing;
    assert.ok(Date.now() - t0 >= 250, `closed after ${Date.now() - t0} ms`);
    assert.equal(fin.forced, 1);
    assert.equal(fin.open, 0);
    assert.equal(await readAll(conn), "", "the server closed our connection");
    conn.close();
    conn = null;
    // A server left open is closed by shutdown (and its port freed).
    const srv2 = await serve(rt, { port: 0 }, HANDLERS, "test.echo");
    const port = srv2.localAddr.port;
    await rt.shutdown(500);
    assert.equal(srv2.closing, true);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
  } finally {
    conn?.close();
    await rt.shutdown();
  }
  assert.ok(rt.metrics().pool.every((w) => !w.alive));
});
