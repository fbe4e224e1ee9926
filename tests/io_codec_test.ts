/**
 * Framed with LengthDelimitedCodec, LinesCodec and BytesCodec over TCP
 * (epoll and io_uring) and an in-memory duplex: frames split across reads
 * and many in one read, 1 MiB frames, random round trips of every length
 * field size and byte order, over-long frames and lines (a 4 GiB prefix
 * allocates nothing big), leftovers at end of stream, and cancellation of
 * `read()` without loss.
 */

import assert from "node:assert/strict";
import { spawn } from "../runtime/mod.ts";
import {
  BytesCodec,
  type DecodeBuffer,
  type EncodeBuffer,
  Framed,
  LengthDelimitedCodec,
  type LengthDelimitedOptions,
  LinesCodec,
  MaxLengthError,
} from "../io/mod.ts";
import { dribble, rng, type Transport, transports, withPair } from "./io_helpers.ts";
import { abortReadersAtRandom } from "./io_helpers.ts";

function t(name: string, fn: (tr: Transport) => Promise<void>, duplexCapacity?: number): void {
  for (const tr of transports(duplexCapacity)) Deno.test(`${name} [${tr.name}]`, () => fn(tr));
}

/** The wire bytes of `frames` under `opts`, encoded independently of the codec. */
function wire(frames: Uint8Array[], field: 1 | 2 | 4 | 8, bigEndian: boolean): Uint8Array {
  const total = frames.reduce((s, f) => s + field + f.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const f of frames) {
    let len = BigInt(f.byteLength);
    for (let i = 0; i < field; i++) {
      const byte = Number(len & 0xffn);
      out[bigEndian ? at + field - 1 - i : at + i] = byte;
      len >>= 8n;
    }
    at += field;
    out.set(f, at);
    at += f.byteLength;
  }
  return out;
}

function randomFrames(rand: () => number, n: number, maxLen: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = Math.floor(rand() * rand() * maxLen);
    out.push(new Uint8Array(len).map(() => Math.floor(rand() * 256)));
  }
  return out;
}

t("length-delimited: frames split at every byte boundary", async (tr) => {
  const frames = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([9])];
  const bytes = wire(frames, 4, true);
  for (let cut = 0; cut <= bytes.byteLength; cut++) {
    const got = await withPair(tr, function* ({ a, b }) {
      const w = spawn(dribble(a, bytes, [cut], true));
      const f = new Framed(b, new LengthDelimitedCodec());
      const out: Uint8Array[] = [];
      for (let x = yield* f.read(); x !== null; x = yield* f.read()) out.push(x);
      yield* w;
      return out;
    });
    assert.deepEqual(got, frames, `cut at ${cut}`);
  }
});

t("length-delimited: many frames in one read", async (tr) => {
  const frames = randomFrames(rng(3), 500, 40);
  const got = await withPair(tr, function* ({ a, b }) {
    yield* a.writeAll(wire(frames, 2, true)); // one write: many frames per read
    yield* a.shutdown();
    const f = new Framed(b, new LengthDelimitedCodec({ lengthFieldBytes: 2 }));
    const out: Uint8Array[] = [];
    for (let x = yield* f.read(); x !== null; x = yield* f.read()) out.push(x);
    return out;
  });
  assert.deepEqual(got, frames);
}, 1 << 16);

t("length-delimited: 1 MiB frames both ways", async (tr) => {
  const rand = rng(11);
  const frames = [1 << 20, (1 << 20) - 1, 5, 1 << 20].map((n) =>
    new Uint8Array(n).map(() => Math.floor(rand() * 256))
  );
  await withPair(tr, function* ({ a, b }) {
    const out = new Framed(a, new LengthDelimitedCodec());
    const inp = new Framed(b, new LengthDelimitedCodec());
    const writer = spawn(function* () {
      for (const fr of frames) yield* out.write(fr);
      yield* out.shutdown();
    });
    for (const want of frames) {
      const got = yield* inp.read();
      assert.ok(got !== null);
      assert.equal(got.byteLength, want.byteLength);
      assert.deepEqual(got, want);
    }
    assert.equal(yield* inp.read(), null);
    yield* writer;
  });
});

/** Write `items` through `out` (flushing when `flushNow` says), then shut it; read `inp` to its end. */
function* roundTrip(
  out: Framed<Uint8Array>,
  inp: Framed<Uint8Array>,
  items: Uint8Array[],
  flushNow: () => boolean,
): Generator<unknown, Uint8Array[], unknown> {
  const writer = spawn(function* () {
    for (const it of items) {
      yield* out.write(it);
      if (flushNow()) yield* out.flush();
    }
    yield* out.shutdown();
  });
  const seen: Uint8Array[] = [];
  for (let x = yield* inp.read(); x !== null; x = yield* inp.read()) seen.push(x);
  yield* writer;
  return seen;
}

const FIELD_CASES: LengthDelimitedOptions[] = [
  { lengthFieldBytes: 1 },
  { lengthFieldBytes: 2, bigEndian: false },
  { lengthFieldBytes: 4 },
  { lengthFieldBytes: 4, bigEndian: false },
  { lengthFieldBytes: 8 },
  { lengthFieldBytes: 8, bigEndian: false },
];

t("length-delimited: random round trips, every field size and byte order", async (tr) => {
  for (const [k, opts] of FIELD_CASES.entries()) {
    const rand = rng(100 + k);
    const maxLen = opts.lengthFieldBytes === 1 ? 256 : 3000;
    const frames = randomFrames(rand, 150, maxLen);
    const got = await withPair(tr, ({ a, b }) =>
      roundTrip(
        new Framed(a, new LengthDelimitedCodec(opts), { writeCapacity: 97 }),
        new Framed(b, new LengthDelimitedCodec(opts), { readCapacity: 13 }),
        frames,
        () => rand() < 0.2,
      ));
    assert.deepEqual(got, frames, JSON.stringify(opts));
    // The codec's wire format is the documented one.
    const field = opts.lengthFieldBytes!;
    const enc: Uint8Array[] = [];
    const codec = new LengthDelimitedCodec(opts);
    for (const fr of frames.slice(0, 5)) {
      codec.encode(fr, { reserve: (n) => (enc[enc.length] = new Uint8Array(n)) });
    }
    const joined = new Uint8Array(enc.reduce((s, e) => s + e.byteLength, 0));
    enc.reduce((at, e) => (joined.set(e, at), at + e.byteLength), 0);
    assert.deepEqual(joined, wire(frames.slice(0, 5), field, opts.bigEndian ?? true));
  }
}, 512);

t(
  "length-delimited: an over-long frame is skipped; a 4 GiB prefix allocates nothing big",
  async (tr) => {
    await withPair(tr, function* ({ a, b }) {
      const f = new Framed(b, new LengthDelimitedCodec({ maxFrameLength: 100 }));
      const writer = spawn(function* () {
        yield* a.writeAll(wire([new Uint8Array(101).fill(7), new Uint8Array([1])], 4, true));
        yield* a.writeAll(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
        yield* a.writeAll(new Uint8Array(300_000)); // some of the 4 GiB "payload"
        yield* a.shutdown();
      });
      const rss0 = Deno.memoryUsage().rss;
      let err: unknown = null;
      try {
        yield* f.read();
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof MaxLengthError);
      assert.equal(err.length, 101);
      assert.deepEqual(yield* f.read(), new Uint8Array([1]));
      try {
        yield* f.read();
        assert.fail("4 GiB is over the limit");
      } catch (e) {
        assert.ok(e instanceof MaxLengthError);
        assert.equal(e.length, 0xffff_ffff);
      }
      // The stream ends inside the skipped frame: a clean end, nothing kept.
      assert.equal(yield* f.read(), null);
      assert.ok(f.readBuffered <= 16 * 1024);
      assert.ok(Deno.memoryUsage().rss - rss0 < 64 * 1024 * 1024);
      yield* writer;
    });
  },
);

Deno.test("length-delimited: 8-byte lengths past 2^53 are over the limit, not wrapped", () => {
  let bytes = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  const src: DecodeBuffer = {
    get buffer() {
      return bytes;
    },
    consume(n: number) {
      bytes = bytes.subarray(n);
    },
  };
  const codec = new LengthDelimitedCodec({ lengthFieldBytes: 8 });
  assert.throws(() => codec.decode(src), MaxLengthError);
  assert.throws(() => new LengthDelimitedCodec({ lengthFieldBytes: 3 as 4 }), RangeError);
  assert.throws(
    () =>
      new LengthDelimitedCodec({ lengthFieldBytes: 1 }).encode(new Uint8Array(256), {
        reserve: (n) => new Uint8Array(n),
      }),
    MaxLengthError,
  );
});

t(
  "lines codec: random lines round trip, \\r\\n, every split, over-long lines skipped",
  async (tr) => {
    const rand = rng(5);
    const alphabet = Array.from("abcé€😀 \t\r");
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      let s = "";
      const n = Math.floor(rand() * 30);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
      lines.push(s.replace(/\r+$/, "")); // a line's own trailing \r would read as CRLF
    }
    const got = await withPair(tr, function* ({ a, b }) {
      const out = new Framed(a, new LinesCodec());
      const inp = new Framed(b, new LinesCodec({ maxLength: 64 }), { readCapacity: 7 });
      const writer = spawn(function* () {
        for (const [i, l] of lines.entries()) {
          yield* out.write(l);
          if (i === 100) {
            yield* out.write("z".repeat(500)); // over the reader's limit
            yield* out.flush();
          }
        }
        yield* out.shutdown();
      });
      const seen: string[] = [];
      let tooLong = 0;
      for (;;) {
        try {
          const l = yield* inp.read();
          if (l === null) break;
          seen.push(l);
        } catch (e) {
          assert.ok(e instanceof MaxLengthError);
          tooLong++;
        }
      }
      yield* writer;
      return { seen, tooLong };
    });
    assert.equal(got.tooLong, 1);
    assert.deepEqual(got.seen, lines);
  },
  64,
);

t("lines codec: a last line without \\n, and CRLF at every cut", async (tr) => {
  const bytes = new TextEncoder().encode("one\r\ntwo\nthree");
  for (let cut = 0; cut <= bytes.byteLength; cut++) {
    const got = await withPair(tr, function* ({ a, b }) {
      const w = spawn(dribble(a, bytes, [cut], true));
      const f = new Framed(b, new LinesCodec());
      const out: string[] = [];
      for (let l = yield* f.read(); l !== null; l = yield* f.read()) out.push(l);
      yield* w;
      return out;
    });
    assert.deepEqual(got, ["one", "two", "three"], `cut at ${cut}`);
  }
});

t("bytes codec: everything arrives, in order", async (tr) => {
  const rand = rng(9);
  const chunks = randomFrames(rand, 100, 2000).filter((c) => c.byteLength > 0);
  const got = await withPair(tr, function* ({ a, b }) {
    const out = new Framed(a, new BytesCodec());
    const writer = spawn(function* () {
      for (const c of chunks) yield* out.send(c);
      yield* out.shutdown();
    });
    const inp = new Framed(b, new BytesCodec());
    const parts: number[] = [];
    for (let x = yield* inp.read(); x !== null; x = yield* inp.read()) parts.push(...x);
    yield* writer;
    return parts;
  });
  assert.deepEqual(got, chunks.flatMap((c) => [...c]));
});

t("Framed: bytes left inside a frame at end of stream are an error", async (tr) => {
  await withPair(tr, function* ({ a, b }) {
    yield* a.writeAll(new Uint8Array([0, 0, 0, 9, 1, 2]));
    yield* a.shutdown();
    const f = new Framed(b, new LengthDelimitedCodec());
    let err: unknown = null;
    try {
      yield* f.read();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof Deno.errors.UnexpectedEof);
  });
});

t("a cancelled Framed.read loses no frame", async (tr) => {
  const rand = rng(tr.name.length + 1);
  const frames = randomFrames(rand, 200, 300);
  const bytes = wire(frames, 4, true);
  const got = await withPair(tr, function* ({ a, b }) {
    const cuts: number[] = [];
    for (let at = 0; at < bytes.byteLength; at += 1 + Math.floor(rand() * 200)) cuts.push(at);
    const w = spawn(dribble(a, bytes, cuts, true));
    const f = new Framed(b, new LengthDelimitedCodec());
    const seen: Uint8Array[] = [];
    function* reader(): Generator<unknown, void, unknown> {
      for (let x = yield* f.read(); x !== null; x = yield* f.read()) seen.push(x);
    }
    yield* abortReadersAtRandom(reader, 100, rand);
    yield* w;
    return seen;
  });
  assert.deepEqual(got, frames);
});

Deno.test("Framed: for await over items; bad arguments are TypeError/RangeError", async () => {
  const { duplex } = await import("../io/mod.ts");
  const [a, b] = duplex(64);
  await a.writeAll(new TextEncoder().encode("x\ny\n"));
  await a.shutdown();
  const seen: string[] = [];
  for await (const l of new Framed(b, new LinesCodec())) seen.push(l);
  assert.deepEqual(seen, ["x", "y"]);
  assert.throws(() => new Framed(a, {} as LinesCodec), TypeError);
  assert.throws(() => new LinesCodec({ maxLength: -1 }), RangeError);
  await assert.rejects(
    async () => await new Framed(a, new LinesCodec()).write(7 as never),
    TypeError,
  );
});

/** A codec that encodes an item in three reserves: a 1-byte length, the bytes, a 0xff trailer. */
const piecewise = {
  decode(src: DecodeBuffer): Uint8Array | null {
    const b = src.buffer;
    if (b.byteLength < 1 || b.byteLength < b[0] + 2) return null;
    const item = b.slice(1, 1 + b[0]);
    assert.equal(b[1 + b[0]], 0xff, "trailer");
    src.consume(b[0] + 2);
    return item;
  },
  encode(item: Uint8Array, dst: EncodeBuffer): void {
    dst.reserve(1)[0] = item.byteLength;
    dst.reserve(item.byteLength).set(item);
    dst.reserve(1)[0] = 0xff;
  },
};

t("Framed.write: an item encoded in pieces survives outgrowing the writer's room", async (tr) => {
  const rand = rng(77);
  // 0..40-byte items through a 32-byte writer: some fit its room, some outgrow it after their
  // first piece was encoded in place, some are larger than the whole buffer.
  const items = Array.from(
    { length: 300 },
    () => new Uint8Array(Math.floor(rand() * 41)).map(() => Math.floor(rand() * 256)),
  );
  const got = await withPair(tr, ({ a, b }) =>
    roundTrip(
      new Framed(a, piecewise, { writeCapacity: 32 }),
      new Framed(b, piecewise),
      items,
      () => rand() < 0.1,
    ));
  assert.deepEqual(got, items);
}, 1 << 16);
