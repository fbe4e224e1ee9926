/**
 * The soak's pure helpers: the least-squares fit and the verdict on a series
 * (soak/trend.ts), the lines its processes print (soak/sample.ts), the load
 * generator's RESP reply reader (soak/resp_reader.ts) and its model of its
 * keys (soak/redis_model.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fitLine, fitPeaks, judge, type Limit, MIN_FIT_SAMPLES } from "../soak/trend.ts";
import {
  formatCounts,
  formatReady,
  formatSample,
  parseLine,
  parseReady,
  type Sample,
} from "../soak/sample.ts";
import { decodeReply, encodeCommand, ReplySyntaxError } from "../soak/resp_reader.ts";
import { RedisModel } from "../soak/redis_model.ts";
import { warmupSeconds } from "../soak/run.ts";
import { rng } from "./rng.ts";

const near = (a: number, b: number, eps = 1e-9) =>
  assert.ok(Math.abs(a - b) <= eps, `${a} is not ${b} ± ${eps}`);

Deno.test("soak fitLine: an exact line, its slope and intercept, no residual", () => {
  const xs = [0, 1, 2, 3, 4, 5];
  const f = fitLine(xs, xs.map((x) => 3 - 2 * x));
  near(f.slope, -2);
  near(f.intercept, 3);
  near(f.residualSd, 0);
  near(f.slopeSe, 0);
  assert.equal(f.n, 6);
});

Deno.test("soak fitLine: noise gives a standard error that covers the true slope", () => {
  const r = rng(7);
  const xs = Array.from({ length: 400 }, (_, i) => i / 60);
  const ys = xs.map((x) => 100 + 0.5 * x + (r() - 0.5) * 20);
  const f = fitLine(xs, ys);
  assert.ok(f.slopeSe > 0);
  assert.ok(Math.abs(f.slope - 0.5) < 4 * f.slopeSe, `slope ${f.slope} ± ${f.slopeSe}`);
  // Uniform noise of width 20 has standard deviation 20/√12.
  near(f.residualSd, 20 / Math.sqrt(12), 0.6);
});

Deno.test("soak fitLine: degenerate inputs", () => {
  assert.equal(fitLine([], []).slopeSe, Infinity);
  assert.equal(fitLine([1, 1, 1], [1, 2, 3]).slopeSe, Infinity);
  assert.equal(fitLine([0, 1], [0, 2]).slope, 2);
  assert.equal(fitLine([0, 1], [0, 2]).slopeSe, Infinity);
  assert.throws(() => fitLine([1], [1, 2]), RangeError);
});

const LIMIT: Limit = { maxSlopePerMin: 1, ceiling: 1000, minSpanS: 10 };
const seconds = (n: number) => Array.from({ length: n }, (_, i) => i);

Deno.test("soak judge: a flat noisy series holds; a leak fails; warm-up is ignored", () => {
  const r = rng(3);
  const ts = seconds(600);
  const flat = ts.map((t) => (t < 60 ? t * 5 : 300) + Math.round((r() - 0.5) * 10));
  const v = judge(ts, flat, 60, LIMIT);
  assert.ok(v.ok, v.reason);
  assert.ok(v.slopeJudged);
  // One more per 20 s (3/min) on top of the same noise: above 1/min, beyond the noise.
  const leak = flat.map((y, i) => y + Math.floor(ts[i] / 20));
  const w = judge(ts, leak, 60, LIMIT);
  assert.equal(w.ok, false);
  assert.match(w.reason, /trends up/);
  // Without the warm-up cut the ramp would read as a trend.
  assert.equal(judge(ts, flat, 0, LIMIT).ok, false);
});

Deno.test("soak judge: noise alone does not fail a short run; the ceiling still binds", () => {
  const ts = seconds(30);
  // A GC-like sawtooth: ±50 every 5 s, no trend.
  const noisy = ts.map((t) => 500 + 100 * ((t % 5) / 4 - 0.5));
  const v = judge(ts, noisy, 15, LIMIT);
  assert.ok(v.ok, v.reason);
  assert.ok(v.fit.slope > LIMIT.maxSlopePerMin, "the raw slope alone would have failed it");
  const over = judge(ts, noisy.map((y) => y + 600), 15, LIMIT);
  assert.equal(over.ok, false);
  assert.match(over.reason, /ceiling/);
  // A span below minSpanS: the slope is not judged, the ceiling is.
  const long: Limit = { ...LIMIT, minSpanS: 120 };
  const steep = ts.map((t) => t * 10);
  const s = judge(ts, steep, 15, long);
  assert.equal(s.slopeJudged, false);
  assert.ok(s.ok);
  assert.equal(judge(ts, steep, 15, LIMIT).ok, false);
});

Deno.test("soak judge: too few points for a judged slope fail; none at all fail", () => {
  const ts = seconds(MIN_FIT_SAMPLES).map((t) => 2 * t); // one sample every 2 s
  const v = judge(ts, ts.map(() => 1), 2, LIMIT);
  assert.equal(v.ok, false);
  assert.match(v.reason, /points after warm-up/);
  assert.match(judge(ts, ts.map(() => 1), 100, LIMIT).reason, /no samples/);
});

Deno.test("soak fitPeaks: dips do not read as a trend; rising peaks do", () => {
  // A plateau at 220 with a two-minute dip to 150 early on, then back: peaks flat after it.
  const ts = seconds(15 * 60).map((t) => t / 60);
  const plateau = ts.map((m, i) => (m >= 3 && m < 5 ? 150 : 220) + (i % 7));
  const raw = fitLine(ts.slice(120), plateau.slice(120));
  const peaks = fitPeaks(ts.slice(300), plateau.slice(300), 1);
  assert.ok(raw.slope > 1, `the dip makes a raw fit rise: ${raw.slope}`);
  assert.ok(Math.abs(peaks.slope) < 0.01, `peaks after the dip are flat: ${peaks.slope}`);
  assert.equal(peaks.n, 9);
  const leak = fitPeaks(ts.slice(300), plateau.slice(300).map((y, i) => y + ts[300 + i] * 3), 1);
  assert.ok(Math.abs(leak.slope - 3) < 0.5, `3/min leak seen: ${leak.slope}`);
  // In judge: a memory limit with a peak window.
  const mem: Limit = { maxSlopePerMin: 1, ceiling: 1000, minSpanS: 600, peakWindowS: 60 };
  const secs = seconds(15 * 60);
  assert.ok(judge(secs, plateau, 290, mem).ok);
  assert.equal(judge(secs, plateau.map((y, i) => y + ts[i] * 3), 290, mem).ok, false);
  assert.equal(judge(secs, plateau, 290, mem).fit.n, 10);
});

Deno.test("soak warmupSeconds: a fifth, at least 15 s, at most half the phase and 2 min", () => {
  assert.equal(warmupSeconds(30), 15);
  assert.equal(warmupSeconds(100), 20);
  assert.equal(warmupSeconds(300), 60);
  assert.equal(warmupSeconds(900), 120);
  assert.equal(warmupSeconds(20), 10);
});

Deno.test("soak lines: samples, counts and ready round-trip; anything else is other", () => {
  const s: Sample = {
    t: 1.5,
    fds: 40,
    rss: 1 << 27,
    heap: 1 << 23,
    tasks: 12,
    timers: 3,
    io: 7,
    external: 1 << 20,
  };
  assert.deepEqual(parseLine(formatSample(s)), { kind: "sample", sample: s });
  assert.deepEqual(parseLine(formatCounts({ a: 1, b: 0 })), {
    kind: "counts",
    counts: { a: 1, b: 0 },
  });
  assert.deepEqual(parseReady(formatReady({ echo: 7000, redis: 6379 })), {
    echo: 7000,
    redis: 6379,
  });
  for (
    const text of [
      "mini-redis listening on 127.0.0.1:1",
      "sample {",
      'sample {"t":1}',
      'sample {"t":1,"fds":"x","rss":1,"heap":1,"tasks":1,"timers":1}',
      "counts [1]",
      'counts {"a":"1"}',
    ]
  ) {
    assert.deepEqual(parseLine(text), { kind: "other", text });
  }
  assert.equal(parseReady('ready {"echo":0,"redis":1}'), null);
  assert.equal(parseReady("ready nope"), null);
  assert.equal(parseReady("sample {}"), null);
});

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("soak decodeReply: every reply type, split at every point", () => {
  const wire = "+OK\r\n-ERR no\r\n:42\r\n$5\r\nhe\r\no\r\n$-1\r\n*2\r\n:1\r\n$0\r\n\r\n*-1\r\n";
  const want = ["OK", { error: "ERR no" }, 42, "he\r\no", null, [1, ""], null];
  const b = bytes(wire);
  for (let cut = 0; cut <= b.length; cut++) {
    // Only the bytes up to `cut` have arrived: what decodes must be a prefix of the replies.
    const got = [];
    let at = 0;
    for (let d = decodeReply(b, at, cut); d !== null; d = decodeReply(b, at, cut)) {
      got.push(d.value);
      at += d.used;
    }
    assert.deepEqual(got, want.slice(0, got.length));
    if (cut === b.length) assert.equal(at, b.length);
  }
});

Deno.test("soak decodeReply: malformed replies are ReplySyntaxErrors", () => {
  for (const w of ["?x\r\n", ":1x\r\n", "$3\r\nabcd\r\n", "$-2\r\n", "*-5\r\n"]) {
    const b = bytes(w);
    assert.throws(() => decodeReply(b, 0, b.length), ReplySyntaxError, w);
  }
});

Deno.test("soak encodeCommand: RESP arrays of bulk strings; latin1 only", () => {
  assert.equal(
    new TextDecoder().decode(encodeCommand(["SET", "k", "v v"])),
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv v\r\n",
  );
  assert.throws(() => encodeCommand(["SET", "k", "✓"]), RangeError);
});

Deno.test("soak RedisModel: predicts SET/GET/INCR/DEL and catches a wrong reply", () => {
  const m = new RedisModel();
  assert.equal(m.check({ op: "GET", key: "a" }, null), true);
  assert.equal(m.check({ op: "INCR", key: "c" }, 1), true);
  assert.equal(m.check({ op: "INCR", key: "c" }, 2), true);
  assert.equal(m.check({ op: "GET", key: "c" }, "2"), true);
  assert.equal(m.check({ op: "SET", key: "a", value: "x" }, "OK"), true);
  assert.equal(m.check({ op: "GET", key: "a" }, "x"), true);
  assert.equal(m.check({ op: "GET", key: "a" }, "y"), false, "a wrong value");
  assert.equal(m.check({ op: "INCR", key: "c" }, 4), false, "a lost increment shows");
  assert.equal(m.held("c"), "3", "the model applies the command whatever the reply");
  assert.equal(m.check({ op: "DEL", key: "a" }, 1), true);
  assert.equal(m.check({ op: "DEL", key: "a" }, 0), true);
  assert.equal(m.check({ op: "GET", key: "a" }, null), true);
  assert.equal(m.check({ op: "SET", key: "b", value: "v" }, { error: "ERR" }), false);
});
