/**
 * The metrics server: `/metrics` parsed by a strict Prometheus text-format
 * (0.0.4) parser written here — metric and label name grammar, `# HELP` and
 * `# TYPE` before a family's samples and each family once, label escaping,
 * histogram buckets cumulative with `le="+Inf"` equal to `_count` — and its
 * counters checked against a known workload; the `/console` NDJSON stream
 * yields valid `ConsoleSnapshot` lines; loopback by default; `DOKIO_METRICS`.
 */

import assert from "node:assert/strict";
import { Runtime, sleep, spawn, yieldNow } from "../mod.ts";
import type { ConsoleSnapshot, Histogram } from "../mod.ts";
import { SNAPSHOT_VERSION } from "../runtime/instrument/snapshot.ts";
import { parseExposition, value } from "./instrument_helpers.ts";

// ---------------------------------------------------------------------------
// The parser itself refuses what it must

Deno.test("metrics parser: refuses a sample before TYPE, bad names, bad escapes, non-cumulative buckets", () => {
  const ok = '# HELP a_total x\n# TYPE a_total counter\na_total{l="q\\"\\\\\\n"} 1\n';
  assert.equal(parseExposition(ok).get("a_total")!.samples[0].labels.l, 'q"\\\n');
  const bad = [
    "a 1\n",
    "# TYPE 1a counter\n1a 1\n",
    '# TYPE a counter\na{l="\\x"} 1\n',
    '# TYPE a counter\na{1l="x"} 1\n',
    "# TYPE a counter\na -1\n",
    "# TYPE a counter\n# TYPE b gauge\nb 1\na 1\n",
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    "# TYPE a counter\na 1",
  ];
  for (const b of bad) assert.throws(() => parseExposition(b), Error, JSON.stringify(b));
});

// ---------------------------------------------------------------------------
// The runtime's exposition

Deno.test("metrics: /metrics is valid exposition text whose counters match a known workload", async () => {
  await using rt = new Runtime({ instrument: true });
  const srv = await rt.serveMetrics({ port: 0 });
  assert.equal(srv.hostname, "127.0.0.1");
  await rt.run(function* () {
    const hs = [];
    for (let i = 0; i < 10; i++) {
      hs.push(spawn(function* () {
        for (let j = 0; j < 3; j++) yield* yieldNow();
      }, { name: 'odd "name"\nwith escapes\\' }));
    }
    for (const h of hs) yield* h;
    spawn(sleep(60_000), { name: "parked" });
    yield* sleep(1);
  });
  const res = await fetch(`${srv.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const fams = parseExposition(await res.text());
  const odd = { name: 'odd "name"\nwith escapes\\' };
  assert.equal(value(fams, "dokio_task_spawned_total", odd), 10);
  assert.equal(value(fams, "dokio_task_finished_total", odd), 10);
  assert.equal(value(fams, "dokio_task_polls_total", odd), 40);
  assert.equal(value(fams, "dokio_task_alive", { name: "parked" }), 1);
  assert.equal(value(fams, "dokio_tasks_spawned_total", {}), 12); // + main, + parked
  assert.equal(value(fams, "dokio_worker_timers_armed", { worker: "0" }), 1);
  assert.equal(value(fams, "dokio_self_wakes_total", {}), 30);
  const polls = value(fams, "dokio_worker_polls_total", { worker: "0" });
  const counted = value(fams, "dokio_poll_duration_seconds_count", { worker: "0" });
  assert.ok(counted >= 10 * 4 + 1 && counted <= polls, `${counted} of ${polls}`);
  for (const f of fams.values()) assert.ok(f.help.length > 0, `${f.name} has HELP`);
  const miss = await fetch(`${srv.url}/nothing`);
  assert.equal(miss.status, 404);
  await miss.body?.cancel();
});

Deno.test("metrics: task series stay bounded by name however many tasks ran", async () => {
  await using rt = new Runtime({ instrument: true });
  await rt.run(function* () {
    for (let i = 0; i < 500; i++) yield* spawn(yieldNow(), { name: `conn-${i}` });
  });
  const fams = parseExposition(rt.metricsText());
  const names = fams.get("dokio_task_finished_total")!.samples.map((s) => s.labels.name);
  assert.ok(names.length <= 64 + 2, `${names.length} series`);
  assert.ok(names.includes("(other)"));
  const total = fams.get("dokio_task_finished_total")!.samples.reduce((a, s) => a + s.value, 0);
  assert.equal(total, 501); // the 500, and main
});

function checkSnapshot(s: ConsoleSnapshot): void {
  assert.equal(s.version, SNAPSHOT_VERSION);
  assert.equal(s.pid, Deno.pid);
  assert.ok(s.atMs > 0 && s.uptimeNs > 0);
  const hist = (h: Histogram) => {
    assert.equal(h.counts.length, h.bounds.length + 1);
    assert.equal(h.counts.reduce((a, b) => a + b, 0), h.count);
    assert.ok(h.sumNs >= 0 && h.maxNs >= 0);
  };
  assert.ok(s.workers.length >= 1);
  for (const w of s.workers) {
    hist(w.pollTimes);
    hist(w.scheduledTimes);
    for (const n of Object.values(w.ioInFlight)) assert.ok(Number.isInteger(n) && n > 0);
  }
  const states = new Set(["idle", "scheduled", "running", "done", "cancelled"]);
  for (const t of s.tasks) {
    assert.ok(Number.isInteger(t.id) && t.id > 0);
    assert.ok(states.has(t.state), t.state);
    for (const k of ["busyNs", "scheduledNs", "idleNs", "sinceLastPollNs", "ageNs"] as const) {
      assert.ok(t[k] >= 0 && Number.isFinite(t[k]), `${k} ${t[k]}`);
    }
    assert.ok(t.selfWakes <= t.wakes);
    hist(t.pollTimes);
  }
  for (const w of s.warnings) assert.ok(typeof w.message === "string" && w.taskId >= 0);
}

Deno.test("metrics: /console streams one valid ConsoleSnapshot per line, live", async () => {
  await using rt = new Runtime({ instrument: true });
  const srv = await rt.serveMetrics({ port: 0, intervalMs: 50 });
  const done = rt.run(function* () {
    const h = spawn(function* () {
      for (let i = 0; i < 20; i++) yield* sleep(10);
    }, { name: "ticker" });
    yield* h;
  });
  const res = await fetch(`${srv.url}/console?interval=50`);
  assert.equal(res.headers.get("content-type"), "application/x-ndjson");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const snaps: ConsoleSnapshot[] = [];
  while (snaps.length < 3) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      snaps.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  }
  await reader.cancel();
  assert.ok(snaps.length >= 3);
  snaps.forEach(checkSnapshot);
  assert.ok(snaps.some((s) => s.tasks.some((t) => t.name === "ticker")));
  assert.ok(snaps[2].atMs >= snaps[0].atMs);
  assert.ok(snaps.every((s) => s.intervalMs === 50), "each line says its interval");
  assert.equal(rt.consoleSnapshot().intervalMs, undefined, "a snapshot asked directly has none");
  await done;
});

Deno.test("metrics: shutdown closes the server and ends open console streams", async () => {
  const rt = new Runtime({ instrument: true });
  const srv = await rt.serveMetrics({ port: 0 });
  const res = await fetch(`${srv.url}/console`);
  const reader = res.body!.getReader();
  assert.equal((await reader.read()).done, false);
  await rt.shutdown();
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
  }
  await assert.rejects(fetch(`${srv.url}/metrics`));
  await assert.rejects(rt.serveMetrics({ port: 0 }), /shut down/);
  await using other = new Runtime();
  await assert.rejects(other.serveMetrics({ port: 70000 }), RangeError);
  await assert.rejects(other.serveMetrics({ port: 0, intervalMs: 1 }), RangeError);
});

Deno.test("metrics: DOKIO_METRICS=host:port turns instrumentation on and serves there", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const code = `
    import { Runtime } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
    const rt = new Runtime();
    if (!rt.instrumented) throw new Error("not instrumented");
    await new Promise((r) => setTimeout(r, 200));
    const text = await (await fetch("http://127.0.0.1:${port}/metrics")).text();
    console.log(text.includes("dokio_instrumented 1") ? "served" : "wrong");
    await rt.shutdown();
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { DOKIO_METRICS: `127.0.0.1:${port}` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "served", stderr);
  assert.match(stderr, new RegExp(`metrics on http://127\\.0\\.0\\.1:${port}/metrics`));
});
