/**
 * BufReader and BufWriter over TCP (epoll and io_uring) and an in-memory
 * duplex: lines split at every byte boundary, `\r\n`, over-long lines,
 * readUntil, readExact, cancellation without loss, and buffered writes.
 */

import assert from "node:assert/strict";
import { spawn } from "../runtime/mod.ts";
import { sleep } from "../time/mod.ts";
import { BufReader, BufWriter, MaxLengthError } from "../io/mod.ts";
import { dribble, rng, type Transport, transports, withPair } from "./io_helpers.ts";
import { abortReadersAtRandom } from "./io_helpers.ts";

const enc = new TextEncoder();

function t(name: string, fn: (tr: Transport) => Promise<void>, duplexCapacity?: number): void {
  for (const tr of transports(duplexCapacity)) Deno.test(`${name} [${tr.name}]`, () => fn(tr));
}

function* readLines(r: BufReader, maxLength?: number): Generator<unknown, string[], unknown> {
  const out: string[] = [];
  for (;;) {
    let l: string | null;
    try {
      l = yield* r.readLine({ maxLength });
    } catch (e) {
      if (!(e instanceof MaxLengthError)) throw e;
      out.push(`<too long: ${e.length}>`);
      continue;
    }
    if (l === null) return out;
    out.push(l);
  }
}

t("readLine: lines split at every byte boundary, \\n and \\r\\n", async (tr) => {
  const text = "alpha\r\nbeta\n\n\r\nγάμμα\nlast";
  const bytes = enc.encode(text);
  const want = ["alpha", "beta", "", "", "γάμμα", "last"];
  for (let cut = 0; cut <= bytes.byteLength; cut++) {
    const got = await withPair(tr, function* ({ a, b }) {
      // A tiny buffer also exercises compaction and growth.
      const r = new BufReader(b, { capacity: 4 });
      const w = spawn(dribble(a, bytes, [cut], true));
      const lines = yield* readLines(r);
      yield* w;
      return lines;
    });
    assert.deepEqual(got, want, `cut at ${cut}`);
  }
});

t("readLine: two cut points everywhere in a short text", async (tr) => {
  const bytes = enc.encode("ab\r\ncd\nef");
  for (let i = 0; i <= bytes.byteLength; i++) {
    for (let j = i; j <= bytes.byteLength; j += 2) {
      const got = await withPair(tr, function* ({ a, b }) {
        const w = spawn(dribble(a, bytes, [i, j], true));
        const lines = yield* readLines(new BufReader(b, { capacity: 3 }));
        yield* w;
        return lines;
      });
      assert.deepEqual(got, ["ab", "cd", "ef"], `cuts ${i}, ${j}`);
    }
  }
});

t("readLine: over-long lines throw MaxLengthError and the stream goes on", async (tr) => {
  const long = "x".repeat(100_000);
  const text = `12345678\r\n123456789\n${long}\nok\n1234567\r\r\nend`;
  const got = await withPair(tr, function* ({ a, b }) {
    const r = new BufReader(b, { capacity: 16 });
    const w = spawn(dribble(a, enc.encode(text), [5, 14, 30, 5000, 50000], true));
    const lines = yield* readLines(r, 8);
    yield* w;
    return { lines, buffered: r.buffered };
  });
  assert.equal(got.lines[0], "12345678");
  assert.match(got.lines[1], /^<too long: 9>$/);
  assert.match(got.lines[2], /^<too long: \d+>$/);
  assert.deepEqual(got.lines.slice(3), ["ok", "1234567\r", "end"]);
});

t("readLine: a line over the limit never grows the buffer past the limit", async (tr) => {
  await withPair(tr, function* ({ a, b }) {
    const r = new BufReader(b, { capacity: 64 });
    const chunk = new Uint8Array(4096).fill(0x61);
    const w = spawn(function* () {
      for (let i = 0; i < 64; i++) yield* a.writeAll(chunk); // 256 KiB, no newline
      yield* a.writeAll(enc.encode("\nafter\n"));
      yield* a.shutdown();
    });
    let errors = 0;
    let line: string | null = null;
    for (;;) {
      try {
        line = yield* r.readLine({ maxLength: 1000 });
        break;
      } catch (e) {
        assert.ok(e instanceof MaxLengthError);
        errors++;
      }
      assert.ok(r.buffer.byteLength <= 1002, `buffered ${r.buffer.byteLength}`);
    }
    yield* w;
    assert.equal(errors, 1);
    assert.equal(line, "after");
  });
});

t("readUntil returns records with their delimiter; the rest at the end", async (tr) => {
  const got = await withPair(tr, function* ({ a, b }) {
    const r = new BufReader(b, { capacity: 2 });
    const w = spawn(dribble(a, new Uint8Array([1, 0, 0, 2, 3, 0, 4]), [1, 3, 4], true));
    const out: number[][] = [];
    for (let rec = yield* r.readUntil(0); rec !== null; rec = yield* r.readUntil(0)) {
      out.push([...rec]);
    }
    yield* w;
    return out;
  });
  assert.deepEqual(got, [[1, 0], [0], [2, 3, 0], [4]]);
});

t("readExact, read and fillBuf/consume share one buffer", async (tr) => {
  await withPair(tr, function* ({ a, b }) {
    const r = new BufReader(b, { capacity: 8 });
    const data = new Uint8Array(100).map((_, i) => i);
    const w = spawn(dribble(a, data, [3, 9, 50], true));
    const head = new Uint8Array(10);
    yield* r.readExact(head);
    assert.deepEqual([...head], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const peek = yield* r.fillBuf();
    assert.equal(peek[0], 10);
    r.consume(1);
    const big = new Uint8Array(89); // bigger than the buffer: read straight through
    let got = 0;
    while (got < 89) got += (yield* r.read(big.subarray(got))) ?? 0;
    assert.equal(big[0], 11);
    assert.equal(big[88], 99);
    assert.equal(yield* r.read(new Uint8Array(4)), null);
    assert.equal((yield* r.fillBuf()).byteLength, 0);
    yield* w;
    let eof: unknown = null;
    try {
      yield* new BufReader(b).readExact(new Uint8Array(1));
    } catch (e) {
      eof = e;
    }
    assert.ok(eof instanceof Deno.errors.UnexpectedEof);
  });
});

t("a cancelled readLine loses no bytes", async (tr) => {
  const rand = rng(tr.name.length);
  const lines: string[] = [];
  for (let i = 0; i < 200; i++) lines.push(`line ${i} ${"#".repeat(Math.floor(rand() * 40))}`);
  const bytes = enc.encode(lines.join("\n") + "\n");
  const got = await withPair(tr, function* ({ a, b }) {
    const r = new BufReader(b, { capacity: 16 });
    const cuts: number[] = [];
    for (let at = 0; at < bytes.byteLength; at += 1 + Math.floor(rand() * 30)) cuts.push(at);
    const w = spawn(dribble(a, bytes, cuts, true));
    const seen: string[] = [];
    function* reader(): Generator<unknown, void, unknown> {
      for (;;) {
        const l = yield* r.readLine();
        if (l === null) return;
        seen.push(l);
      }
    }
    // Readers that get aborted at random moments, then one that runs to the end.
    yield* abortReadersAtRandom(reader, 80, rand);
    yield* w;
    return seen;
  });
  assert.deepEqual(got, lines);
});

t("a cancelled readExact puts its bytes back", async (tr) => {
  await withPair(tr, function* ({ a, b }) {
    const r = new BufReader(b, { capacity: 4 });
    const want = new Uint8Array(12).map((_, i) => i + 1);
    const h = spawn(function* () {
      yield* r.readExact(new Uint8Array(12));
    });
    yield* a.writeAll(want.subarray(0, 7));
    yield* sleep(5); // the reader took 7 bytes and waits for more
    h.abort();
    try {
      yield* h;
    } catch { /* cancelled */ }
    yield* a.writeAll(want.subarray(7));
    const all = new Uint8Array(12);
    yield* r.readExact(all);
    assert.deepEqual(all, want);
  });
});

t(
  "BufWriter: small writes coalesce, big ones go straight through, shutdown flushes",
  async (tr) => {
    await withPair(tr, function* ({ a, b }) {
      const w = new BufWriter(a, { capacity: 64 });
      const expect: number[] = [];
      const reader = spawn(function* () {
        const r = new BufReader(b);
        const got: number[] = [];
        const buf = new Uint8Array(1000);
        for (let n = yield* r.read(buf); n !== null; n = yield* r.read(buf)) {
          for (let i = 0; i < n; i++) got.push(buf[i]);
        }
        return got;
      });

      const rand = rng(7);
      for (let i = 0; i < 500; i++) {
        const n = rand() < 0.05 ? 200 + Math.floor(rand() * 5000) : Math.floor(rand() * 20);
        const chunk = new Uint8Array(n).map(() => Math.floor(rand() * 256));
        expect.push(...chunk);
        if (i % 3 === 0) {
          let off = 0;
          while (off < n) off += yield* w.write(chunk.subarray(off));
        } else {
          yield* w.writeAll(chunk);
        }
        assert.ok(w.buffered <= 64);
      }
      yield* w.shutdown();
      assert.equal(w.buffered, 0);
      const got = yield* reader;
      assert.equal(got.length, expect.length);
      assert.deepEqual(got, expect);
    });
  },
  256,
);

t("BufWriter.flush sends what is buffered; nothing before", async (tr) => {
  await withPair(tr, function* ({ a, b }) {
    const w = new BufWriter(a);
    yield* w.writeAll(enc.encode("PING\r\n"));
    const r = new BufReader(b);
    const early = spawn(r.readLine());
    yield* sleep(10);
    assert.equal(w.buffered, 6);
    yield* w.flush();
    assert.equal(yield* early, "PING");
  });
});
