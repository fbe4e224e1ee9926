/**
 * The console's stream reading: NDJSON lines from chunks split anywhere
 * (multi-byte characters included), over-long lines dropped without holding
 * them, CRLF and blank lines, end of stream; and decoding a line into a
 * snapshot (bad JSON, another version, missing fields, control characters).
 */

import assert from "node:assert/strict";
import { type LineEvent, LineSplitter, readLines } from "../console/ndjson.ts";
import { CONSOLE_SNAPSHOT_VERSION, decodeSnapshot } from "../console/decode.ts";
import { SNAPSHOT_VERSION } from "../runtime/instrument/snapshot.ts";
import { sampleSnapshot } from "./console_fixture.ts";

const enc = new TextEncoder();

function feed(splitter: LineSplitter, chunks: Uint8Array[]): LineEvent[] {
  const out: LineEvent[] = [];
  for (const c of chunks) out.push(...splitter.push(c));
  out.push(...splitter.end());
  return out;
}

Deno.test("console ndjson: lines come out whole whatever the chunking", () => {
  const text = '{"a":1}\n{"b":"héllo ✓"}\r\n\n{"c":3}';
  const data = enc.encode(text);
  const expected = [{ line: '{"a":1}' }, { line: '{"b":"héllo ✓"}' }, { line: '{"c":3}' }];
  for (const size of [1, 2, 3, 5, 7, data.length]) {
    const chunks = [];
    for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
    assert.deepEqual(feed(new LineSplitter(64), chunks), expected, `chunks of ${size}`);
  }
});

Deno.test("console ndjson: an over-long line is dropped as it arrives, reported once, and reading resumes", () => {
  const s = new LineSplitter(16);
  const out: LineEvent[] = [];
  out.push(...s.push(enc.encode("ok1\n" + "x".repeat(10))));
  for (let i = 0; i < 1000; i++) {
    out.push(...s.push(enc.encode("y".repeat(1000))));
    assert.ok(s.held <= 16, `held ${s.held} bytes`);
  }
  out.push(...s.push(enc.encode("zz\nok2\n")));
  assert.deepEqual(out, [{ line: "ok1" }, { error: "a line over 16 bytes was dropped" }, {
    line: "ok2",
  }]);
  assert.deepEqual(feed(new LineSplitter(4), [enc.encode("abcd\nabcde\nab")]), [
    { line: "abcd" },
    { error: "a line over 4 bytes was dropped" },
    { line: "ab" },
  ]);
  assert.throws(() => new LineSplitter(0), RangeError);
});

Deno.test("console ndjson: readLines over a byte stream, and the stream cancelled when the reader stops", async () => {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(enc.encode('{"n":1}\n{"n"'));
      c.enqueue(enc.encode(":2}\n" + "q".repeat(50) + '\n{"n":3}\n'));
    },
    cancel() {
      cancelled = true;
    },
  });
  const got: LineEvent[] = [];
  for await (const ev of readLines(body, 32)) {
    got.push(ev);
    if (got.length === 4) break;
  }
  assert.deepEqual(got, [
    { line: '{"n":1}' },
    { line: '{"n":2}' },
    { error: "a line over 32 bytes was dropped" },
    { line: '{"n":3}' },
  ]);
  assert.ok(cancelled, "stopping early cancels the body");
});

Deno.test("console decode: a good line, bad JSON, a non-object and another version", () => {
  assert.equal(
    CONSOLE_SNAPSHOT_VERSION,
    SNAPSHOT_VERSION,
    "the console speaks the contract's version",
  );
  const snap = sampleSnapshot();
  const good = decodeSnapshot(JSON.stringify(snap));
  assert.ok(good.ok);
  assert.deepEqual(good.snapshot, snap);
  assert.deepEqual(good.missing, []);
  const bad = decodeSnapshot('{"version":1,');
  assert.ok(!bad.ok && /^bad JSON line/.test(bad.error));
  const arr = decodeSnapshot("[1,2]");
  assert.ok(!arr.ok && /not a JSON object/.test(arr.error));
  const other = decodeSnapshot(JSON.stringify({ ...snap, version: 2 }));
  assert.ok(!other.ok && /version 2; this console speaks 1/.test(other.error));
  const deep = decodeSnapshot("[".repeat(100_000));
  assert.ok(!deep.ok, "deep nesting is an error, not a crash");
});

Deno.test("console decode: the stream's intervalMs is kept when it is a positive number, else left out", () => {
  const snap = sampleSnapshot();
  const timed = decodeSnapshot(JSON.stringify({ ...snap, intervalMs: 250 }));
  assert.ok(timed.ok);
  assert.equal(timed.snapshot.intervalMs, 250);
  assert.deepEqual(timed.missing, []);
  for (const bad of [0, -5, "250", null]) {
    const d = decodeSnapshot(JSON.stringify({ ...snap, intervalMs: bad }));
    assert.ok(d.ok);
    assert.equal(d.snapshot.intervalMs, undefined, `intervalMs ${JSON.stringify(bad)}`);
  }
});

Deno.test("console decode: missing or mistyped fields are filled in and named; strings lose control characters", () => {
  const d = decodeSnapshot(JSON.stringify({
    version: 1,
    pid: 1,
    atMs: 0,
    uptimeNs: 1,
    workers: [{ worker: 0, ioInFlight: { "re\x1bcv": 2, bad: "x" } }],
    tasks: [{
      id: 1,
      name: "a\u009b",
      state: "idle",
      polls: "many",
      pollTimes: { bounds: [1], counts: "x" },
    }, 7],
    warnings: "none",
  }));
  assert.ok(d.ok);
  const t = d.snapshot.tasks;
  assert.equal(t.length, 1, "a non-object task is skipped");
  assert.equal(t[0].name, "a?");
  assert.ok(Number.isNaN(t[0].polls));
  assert.equal(t[0].spawnSite, null);
  assert.deepEqual(d.snapshot.workers[0].ioInFlight, { "re?cv": 2 });
  assert.deepEqual(d.snapshot.resources, []);
  assert.deepEqual(d.snapshot.warnings, []);
  for (
    const f of [
      "tasks[].polls",
      "tasks[].pollTimes",
      "snapshot.resources",
      "snapshot.warnings",
      "workers[].steals",
    ]
  ) {
    assert.ok(d.missing.includes(f), `${f} named as missing`);
  }
});
