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

// ---------------------------------------------------------------------------
// A strict exposition-format parser

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

function parseValue(v: string, line: number): number {
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  if (v === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) {
    throw new Error(`line ${line}: bad value ${JSON.stringify(v)}`);
  }
  return Number(v);
}

/** Parse `{a="x",b="y\"z"}` starting at text[i] === "{"; returns labels and the index after "}". */
function parseLabels(text: string, i: number, line: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  i++; // {
  for (;;) {
    if (text[i] === "}") return [labels, i + 1];
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`line ${line}: label without =`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name ${name}`);
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    i = eq + 1;
    if (text[i] !== '"') throw new Error(`line ${line}: label value not quoted`);
    i++;
    let v = "";
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === "\n") throw new Error(`line ${line}: raw newline in a label value`);
      if (c === '"') break;
      if (c === "\\") {
        const e = text[i + 1];
        if (e === "\\") v += "\\";
        else if (e === '"') v += '"';
        else if (e === "n") v += "\n";
        else throw new Error(`line ${line}: bad escape \\${e}`);
        i += 2;
        continue;
      }
      v += c;
      i++;
    }
    labels[name] = v;
    i++; // closing quote
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`line ${line}: expected , or } after a label`);
  }
}

/** The family a sample name belongs to (histogram suffixes stripped when declared so). */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f?.type === "histogram") return f;
    }
  }
  return families.get(name);
}

function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | null = null;
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw === "") throw new Error(`line ${line}: empty line`);
    if (raw.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([^ ]+) (.*)$/.exec(raw);
      if (m === null) throw new Error(`line ${line}: a comment that is not HELP/TYPE: ${raw}`);
      const [, kw, name, rest] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: bad metric name ${name}`);
      if (closed.has(name)) throw new Error(`line ${line}: family ${name} appears twice`);
      let f = families.get(name);
      if (f === undefined) {
        if (current !== null && current.name !== name) closed.add(current.name);
        f = { name, type: "", help: "", samples: [] };
        families.set(name, f);
        current = f;
      }
      if (f.samples.length > 0) throw new Error(`line ${line}: ${kw} after ${name}'s samples`);
      if (kw === "TYPE") {
        if (f.type !== "") throw new Error(`line ${line}: second TYPE for ${name}`);
        if (!TYPES.has(rest)) throw new Error(`line ${line}: unknown type ${rest}`);
        f.type = rest;
      } else {
        if (f.help !== "") throw new Error(`line ${line}: second HELP for ${name}`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ""))) {
          throw new Error(`line ${line}: bad HELP escape`);
        }
        f.help = rest;
      }
      return;
    }
    const nm = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(raw);
    if (nm === null) throw new Error(`line ${line}: bad sample ${raw}`);
    const name = nm[1];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (raw[i] === "{") [labels, i] = parseLabels(raw, i, line);
    if (raw[i] !== " ") throw new Error(`line ${line}: expected a space before the value`);
    const parts = raw.slice(i + 1).split(" ");
    if (parts.length > 2) throw new Error(`line ${line}: trailing text`);
    const value = parseValue(parts[0], line);
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1])) throw new Error(`line ${line}: bad ts`);
    const f = familyOf(name, families);
    if (f === undefined || f.type === "") {
      throw new Error(`line ${line}: sample ${name} before its # TYPE`);
    }
    if (f !== current) throw new Error(`line ${line}: sample ${name} outside its family's block`);
    if (f.type === "histogram" && name === f.name) {
      throw new Error(`line ${line}: a histogram sample without _bucket/_sum/_count`);
    }
    if (f.type === "counter" && !(value >= 0)) throw new Error(`line ${line}: negative counter`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) {
    if (f.type === "") throw new Error(`family ${f.name} has no TYPE`);
    if (f.type === "histogram") checkHistogram(f);
  }
  return families;
}

function seriesKey(labels: Record<string, string>, without: string): string {
  return JSON.stringify(
    Object.keys(labels).filter((k) => k !== without).sort().map((k) => [
      k,
      labels[k],
    ]),
  );
}

function checkHistogram(f: Family): void {
  const bySeries = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  const get = (k: string) => {
    let s = bySeries.get(k);
    if (s === undefined) bySeries.set(k, s = { buckets: [] });
    return s;
  };
  for (const s of f.samples) {
    if (s.name === f.name + "_bucket") {
      assert.ok("le" in s.labels, `${f.name}: a bucket without le`);
      get(seriesKey(s.labels, "le")).buckets.push([parseValue(s.labels.le, 0), s.value]);
    } else if (s.name === f.name + "_sum") get(seriesKey(s.labels, "")).sum = s.value;
    else if (s.name === f.name + "_count") get(seriesKey(s.labels, "")).count = s.value;
  }
  assert.ok(bySeries.size > 0, `${f.name}: no series`);
  for (const [k, s] of bySeries) {
    assert.ok(s.buckets.length > 0, `${f.name}${k}: no buckets`);
    for (let i = 1; i < s.buckets.length; i++) {
      assert.ok(s.buckets[i][0] > s.buckets[i - 1][0], `${f.name}${k}: le not increasing`);
      assert.ok(s.buckets[i][1] >= s.buckets[i - 1][1], `${f.name}${k}: buckets not cumulative`);
    }
    const last = s.buckets[s.buckets.length - 1];
    assert.equal(last[0], Infinity, `${f.name}${k}: the last bucket is not le="+Inf"`);
    assert.equal(s.count, last[1], `${f.name}${k}: _count differs from the +Inf bucket`);
    assert.ok(s.sum !== undefined && s.sum >= 0, `${f.name}${k}: _sum missing`);
  }
}

function value(fams: Map<string, Family>, name: string, labels: Record<string, string>): number {
  const f = familyOf(name, fams);
  assert.ok(f, `family of ${name}`);
  const s = f.samples.find((s) =>
    s.name === name && seriesKey(s.labels, "") === seriesKey(labels, "")
  );
  assert.ok(s, `${name}${JSON.stringify(labels)}`);
  return s.value;
}

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
