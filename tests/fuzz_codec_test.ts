/**
 * Fuzzing of the io/codec decoders, LinesCodec and LengthDelimitedCodec:
 * random bytes and mutated valid encodings, fed split at random points.
 * Properties: nothing but MaxLengthError is thrown; the decoded items and
 * errors are the same for every split and equal a plain model of the
 * format; after an error the next item decodes (the documented state);
 * the bytes a decoder makes its reader keep stay within its maximum (plus
 * the line end or the length field); what the encoder produced decodes
 * back to the same items. CI: fixed seed and iteration count; long mode:
 * see tests/fuzz_helpers.ts.
 */

import assert from "node:assert/strict";
import { type Decoder, LengthDelimitedCodec, LinesCodec, MaxLengthError } from "../mod.ts";
import {
  bytesOf,
  FeedBuffer,
  fuzz,
  join,
  mutate,
  type Prng,
  randomBytes,
  split,
} from "./fuzz_helpers.ts";

/** One decoded item, or the error a decode threw. */
type Event<T> = { item: T } | { error: number };

/** The iterations of each target in CI. */
const CI_ITERS = 1500;
const LF = 0x0a;
const CR = 0x0d;
const utf8 = new TextDecoder();
const utf8Out = new TextEncoder();

/**
 * Feed `chunks` to `codec` as Framed does: decode until null after each
 * chunk (an error is recorded and decoding goes on), then decodeEof (or
 * decode) until null. `bound` is the most the buffer may hold when decode
 * returns null.
 */
function drive<T>(
  codec: Decoder<T>,
  chunks: Uint8Array[],
  bound: number,
  size: (item: T) => number,
  limit: number,
): { events: Event<T>[]; left: number; highWater: number } {
  const fb = new FeedBuffer();
  const events: Event<T>[] = [];
  let total = 0;
  const step = (eof: boolean): boolean => {
    let item: T | null;
    try {
      item = eof && codec.decodeEof !== undefined ? codec.decodeEof(fb) : codec.decode(fb);
    } catch (e) {
      if (!(e instanceof MaxLengthError)) throw e;
      assert.equal(e.limit, limit);
      assert.ok(e.length > limit, `error for a length ${e.length} within the limit ${limit}`);
      events.push({ error: e.length });
      fb.mark();
      return true;
    }
    fb.mark();
    if (item === null) {
      assert.ok(fb.buffer.byteLength <= bound, `kept ${fb.buffer.byteLength} > ${bound} bytes`);
      return false;
    }
    assert.ok(size(item) <= limit, `an item of ${size(item)} bytes over the limit ${limit}`);
    events.push({ item });
    return true;
  };
  for (const c of chunks) {
    fb.push(c);
    total += c.byteLength;
    while (step(false)) assert.ok(events.length <= total + 1, "decode loops without progress");
  }
  while (step(true)) assert.ok(events.length <= total + 1, "decodeEof loops without progress");
  return { events, left: fb.buffer.byteLength, highWater: fb.highWater };
}

// ---------------------------------------------------------------- LinesCodec

/** What LinesCodec must make of a whole stream: lines split on LF, CR before LF dropped. */
function linesModel(bytes: Uint8Array, max: number): Event<string>[] {
  const out: Event<string>[] = [];
  const seg = (from: number, to: number) => {
    const stop = to > from && bytes[to - 1] === CR ? to - 1 : to;
    if (stop - from > max) out.push({ error: -1 });
    else out.push({ item: utf8.decode(bytes.subarray(from, stop)) });
  };
  let from = 0;
  for (;;) {
    const i = bytes.indexOf(LF, from);
    if (i < 0) break;
    seg(from, i);
    from = i + 1;
  }
  if (from < bytes.byteLength) seg(from, bytes.byteLength);
  return out;
}

/** Errors compared by presence only (the length seen depends on where the limit was passed). */
function shape<T>(events: Event<T>[]): (T | "error")[] {
  return events.map((e) => ("item" in e ? e.item : "error"));
}

const LINE_ALPHABET = Array.from("abcxyz 09\t\r\né€😀");

function randomLine(r: Prng, maxChars: number): string {
  let s = "";
  const n = r.int(maxChars + 1);
  for (let i = 0; i < n; i++) s += r.pick(LINE_ALPHABET);
  return s;
}

function encodeLines(codec: LinesCodec, lines: string[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const l of lines) {
    codec.encode(l, { reserve: (n) => (parts[parts.length] = new Uint8Array(n)) });
  }
  return join(parts);
}

const LINE_TOKENS = ["\r\n", "\n", "\r", "\n\n", "\r\r\n", "\xff\xfe", "\xe2\x82", "x".repeat(70)]
  .map(bytesOf);

Deno.test("fuzz LinesCodec: random and mutated streams, any split, match the model", () => {
  fuzz("LinesCodec", CI_ITERS, (r) => {
    const max = r.pick([0, 1, 2, 5, 16, 64]);
    const lines = Array.from({ length: r.range(0, 12) }, () => randomLine(r, max + 4));
    const valid = join(lines.map((l) => bytesOf(l.replace(/\n/g, "") + "\n")));
    const input = r.chance(0.2) ? randomBytes(r, r.int(200)) : mutate(r, valid, LINE_TOKENS);
    const want = shape(linesModel(input, max));
    const got = drive(
      new LinesCodec({ maxLength: max }),
      split(r, input),
      max + 1,
      // UTF-16 units: no more than the bytes they came from (a bad byte is one U+FFFD).
      (l: string) => l.length,
      max,
    );
    assert.deepEqual(shape(got.events), want);
    assert.equal(got.left, 0);
  });
});

Deno.test("fuzz LinesCodec: what encode accepts decodes back, any split", () => {
  fuzz("LinesCodec round trip", CI_ITERS, (r) => {
    const max = r.pick([0, 3, 8, 64, 65536]);
    const codec = new LinesCodec({ maxLength: max });
    const lines: string[] = [];
    for (let k = r.range(0, 10); k > 0; k--) {
      const l = randomLine(r, 12);
      const check = new LinesCodec({ maxLength: max });
      try {
        encodeLines(check, [l]);
        lines.push(l);
      } catch (e) {
        // Refused: over the limit, or a line its decoder could not give back.
        assert.ok(e instanceof RangeError, String(e));
        const b = utf8Out.encode(l);
        assert.ok(
          b.byteLength > max || l.includes("\n") || l.endsWith("\r"),
          `refused a line it can carry: ${JSON.stringify(l)} (${e})`,
        );
      }
    }
    const bytes = encodeLines(codec, lines);
    const got = drive(
      codec,
      split(r, bytes),
      max + 1,
      (l: string) => utf8Out.encode(l).length,
      max,
    );
    assert.deepEqual(shape(got.events), lines);
  });
});

Deno.test("LinesCodec: a line that never ends is dropped as it arrives (max + one read kept)", () => {
  const max = 1024;
  const read = 64 * 1024;
  const codec = new LinesCodec({ maxLength: max });
  const chunks: Uint8Array[] = Array.from({ length: 160 }, () => new Uint8Array(read).fill(0x61)); // 10 MiB
  chunks.push(bytesOf("\nnext\n"));
  const got = drive(codec, chunks, max + 1, (l: string) => l.length, max);
  assert.deepEqual(shape(got.events), ["error", "next"]);
  assert.ok(got.highWater <= max + 1 + read, `held ${got.highWater}`);
});

Deno.test("LinesCodec regression: a last line of maxLength + 1 bytes at end of stream is refused", () => {
  const got = drive(new LinesCodec({ maxLength: 3 }), [bytesOf("ok\nabcd")], 4, (l) => l.length, 3);
  assert.deepEqual(shape(got.events), ["ok", "error"]);
  const crlf = drive(new LinesCodec({ maxLength: 3 }), [bytesOf("abc\r")], 4, (l) => l.length, 3);
  assert.deepEqual(shape(crlf.events), ["abc"]);
});

Deno.test("LinesCodec regression: encode refuses a line its decoder would not give back", () => {
  const codec = new LinesCodec();
  const dst = { reserve: (n: number) => new Uint8Array(n) };
  assert.throws(() => codec.encode("a\nb", dst), RangeError);
  assert.throws(() => codec.encode("a\r", dst), RangeError);
  codec.encode("a\rb", dst);
});

// ------------------------------------------------------- LengthDelimitedCodec

type Field = 1 | 2 | 4 | 8;

function readLen(b: Uint8Array, at: number, field: Field, be: boolean): number {
  let v = 0;
  for (let k = 0; k < field; k++) v = v * 256 + b[at + (be ? k : field - 1 - k)];
  return v;
}

/** What LengthDelimitedCodec must make of a whole stream. */
function framesModel(bytes: Uint8Array, field: Field, be: boolean, max: number): Event<number[]>[] {
  const out: Event<number[]>[] = [];
  let p = 0;
  while (p + field <= bytes.byteLength) {
    const len = readLen(bytes, p, field, be);
    p += field;
    if (len > max) {
      out.push({ error: huge(len) });
      p += len;
      continue;
    }
    if (p + len > bytes.byteLength) break;
    out.push({ item: [...bytes.subarray(p, p + len)] });
    p += len;
  }
  return out;
}

/** Lengths past 2^53 are not exact (the codec says so): any of them is "huge". */
function huge(len: number): number {
  return len > Number.MAX_SAFE_INTEGER ? Infinity : len;
}

function encodeFrames(codec: LengthDelimitedCodec, frames: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of frames) {
    codec.encode(f, { reserve: (n) => (parts[parts.length] = new Uint8Array(n)) });
  }
  return join(parts);
}

const HUGE = [
  [0xff],
  [0xff, 0xff],
  [0xff, 0xff, 0xff, 0xff],
  [0, 0, 0, 1, 0, 0, 0, 0], // 4 GiB, big-endian 8-byte field
  [0, 0, 0, 0, 1, 0, 0, 0], // 4 GiB, little-endian 8-byte field
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0, 0, 0, 0],
].map((a) => new Uint8Array(a));

function ldOptions(r: Prng): { field: Field; be: boolean; max: number } {
  return {
    field: r.pick([1, 2, 4, 8] as const),
    be: r.chance(0.5),
    max: r.pick([0, 1, 3, 16, 100, 300, 70000]),
  };
}

Deno.test("fuzz LengthDelimitedCodec: random and mutated streams, any split, match the model", () => {
  fuzz("LengthDelimitedCodec", CI_ITERS, (r) => {
    const { field, be, max } = ldOptions(r);
    const make = () =>
      new LengthDelimitedCodec({ lengthFieldBytes: field, bigEndian: be, maxFrameLength: max });
    const frames = Array.from(
      { length: r.range(0, 8) },
      () => randomBytes(r, r.int(Math.min(max, 40) + 1)),
    );
    const valid = encodeFrames(make(), frames);
    const input = r.chance(0.2) ? randomBytes(r, r.int(100)) : mutate(r, valid, HUGE);
    const want = framesModel(input, field, be, max);
    const got = drive(
      make(),
      split(r, input),
      Math.max(field - 1, max - 1, 0),
      (f: Uint8Array) => f.length,
      max,
    );
    assert.deepEqual(
      got.events.map((e) => ("item" in e ? { item: [...e.item] } : { error: huge(e.error) })),
      want,
    );
  });
});

Deno.test("fuzz LengthDelimitedCodec: what encode accepts decodes back, any split", () => {
  fuzz("LengthDelimitedCodec round trip", CI_ITERS, (r) => {
    const { field, be, max } = ldOptions(r);
    const codec = new LengthDelimitedCodec({
      lengthFieldBytes: field,
      bigEndian: be,
      maxFrameLength: max,
    });
    const fieldMax = 2 ** (8 * field) - 1;
    const frames: Uint8Array[] = [];
    for (let k = r.range(0, 8); k > 0; k--) {
      const f = randomBytes(r, r.chance(0.02) ? r.int(70000) : r.int(50));
      try {
        encodeFrames(codec, [f]);
        frames.push(f);
      } catch (e) {
        assert.ok(e instanceof MaxLengthError, String(e));
        assert.ok(f.length > Math.min(max, fieldMax));
      }
    }
    const bytes = encodeFrames(codec, frames);
    const got = drive(
      codec,
      split(r, bytes),
      Math.max(field - 1, max - 1, 0),
      (f: Uint8Array) => f.length,
      max,
    );
    assert.deepEqual(got.events.map((e) => ("item" in e ? e.item : e)), frames);
  });
});

Deno.test("LengthDelimitedCodec: a 4 GiB length is refused at its header, its payload dropped as it arrives", () => {
  for (const field of [4, 8] as const) {
    const codec = new LengthDelimitedCodec({ lengthFieldBytes: field, maxFrameLength: 1024 });
    const head = field === 8 ? [0, 0, 0, 1, 0, 0, 0, 0] : [0xff, 0xff, 0xff, 0xff];
    const read = 64 * 1024;
    const chunks: Uint8Array[] = [new Uint8Array(head)];
    for (let i = 0; i < 64; i++) chunks.push(new Uint8Array(read)); // 4 MiB of the "payload"
    const got = drive(codec, chunks, 1023, (f: Uint8Array) => f.length, 1024);
    assert.equal(got.events.length, 1);
    assert.deepEqual(got.events[0], { error: field === 8 ? 2 ** 32 : 2 ** 32 - 1 });
    // Nothing of the payload was kept: only ever one read at a time.
    assert.ok(got.highWater <= read, `held ${got.highWater}`);
  }
});
