/**
 * fs/ File tests against Deno's own fs as the oracle, on io_uring and epoll:
 * every open flag, cursor and positional reads/writes at random and odd
 * offsets, > 2 GiB offsets on a sparse file, seek, truncate, sync, stat,
 * web streams, close semantics, cancel safety of reads, bad arguments.
 */

import assert from "node:assert/strict";
import { run, spawn } from "../runtime/mod.ts";
import { ClosedError, type File, IoError, open, SeekMode } from "../mod.ts";
import { call, yieldNow } from "../runtime/mod.ts";
import { randomBytes, rng, t } from "./fs_helpers.ts";
import { BufReader, BufWriter, type Reader, type Writer } from "../io/mod.ts";

const GIB = 2 ** 30;

t("open flags behave as Deno.open's", async (backend, dir) => {
  const cases: Deno.OpenOptions[] = [
    {},
    { read: true },
    { write: true },
    { read: true, write: true },
    { append: true },
    { write: true, create: true },
    { write: true, createNew: true },
    { write: true, truncate: true },
    { append: true, create: true },
    { read: true, write: true, create: true, truncate: true },
  ];
  const outcome = async (f: () => Promise<unknown>) => {
    try {
      await f();
      return "ok";
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== undefined) return code;
      // Deno throws a plain Error for options it rejects; Dokio a TypeError at the call.
      const name = (e as Error).name;
      return name === "TypeError" || name === "Error" ? "bad options" : name;
    }
  };
  await run(function* () {
    for (const [i, o] of cases.entries()) {
      for (const exists of [false, true]) {
        const a = `${dir}/a${i}${exists}`, b = `${dir}/b${i}${exists}`;
        if (exists) {
          Deno.writeTextFileSync(a, "existing");
          Deno.writeTextFileSync(b, "existing");
        }
        const mine = yield* call(() =>
          outcome(async () => {
            using f = await open(a, o);
            if (o.write || o.append) await f.writeAll(new TextEncoder().encode("XY"));
          })
        );
        const theirs = yield* call(() =>
          outcome(async () => {
            using f = await Deno.open(b, o);
            if (o.write || o.append) await f.write(new TextEncoder().encode("XY"));
          })
        );
        assert.equal(mine, theirs, `${JSON.stringify(o)} exists=${exists}`);
        let ca = null, cb = null;
        try {
          ca = Deno.readTextFileSync(a);
        } catch { /* absent */ }
        try {
          cb = Deno.readTextFileSync(b);
        } catch { /* absent */ }
        assert.equal(ca, cb, `content after ${JSON.stringify(o)} exists=${exists}`);
      }
    }
  }, { backend });
});

t("random cursor and positional I/O matches a Deno.FsFile doing the same", async (backend, dir) => {
  const rand = rng(backend === "epoll" ? 11 : 12);
  const a = `${dir}/mine`, b = `${dir}/theirs`;
  await run(function* () {
    using f = yield* open(a, { read: true, write: true, create: true });
    using g = Deno.openSync(b, { read: true, write: true, create: true });
    for (let step = 0; step < 400; step++) {
      const kind = (rand() * 6) | 0;
      const len = (rand() * 70000) | 0;
      const off = (rand() * 300000) | 0;
      if (kind === 0) {
        const data = randomBytes(rand, len);
        yield* f.writeAll(data);
        let w = 0;
        while (w < len) w += g.writeSync(data.subarray(w));
      } else if (kind === 1) {
        const data = randomBytes(rand, len);
        let w = 0;
        while (w < len) w += yield* f.writeAt(data.subarray(w), off + w);
        const pos = g.seekSync(0, Deno.SeekMode.Current);
        g.seekSync(off, Deno.SeekMode.Start);
        w = 0;
        while (w < len) w += g.writeSync(data.subarray(w));
        g.seekSync(pos, Deno.SeekMode.Start);
      } else if (kind === 2) {
        const x = new Uint8Array(len), y = new Uint8Array(len);
        const n = yield* f.read(x);
        const m = g.readSync(y);
        assert.equal(n, len === 0 ? 0 : m, `read at step ${step}`);
        assert.deepEqual(x, y);
      } else if (kind === 3) {
        const x = new Uint8Array(len), y = new Uint8Array(len);
        const n = yield* f.readAt(x, off);
        const pos = g.seekSync(0, Deno.SeekMode.Current);
        g.seekSync(off, Deno.SeekMode.Start);
        const m = g.readSync(y);
        g.seekSync(pos, Deno.SeekMode.Start);
        assert.equal(n, len === 0 ? 0 : m, `readAt ${off} at step ${step}`);
        assert.deepEqual(x, y);
      } else if (kind === 4) {
        const whence = ((rand() * 3) | 0) as 0 | 1 | 2;
        const o = whence === 0 ? off : whence === 1 ? off % 1000 : -(off % 1000);
        let mine: number | string, theirs: number | string;
        try {
          mine = yield* f.seek(o, whence);
        } catch (e) {
          mine = (e as IoError).code;
        }
        try {
          theirs = g.seekSync(o, whence);
        } catch (e) {
          theirs = (e as { code: string }).code;
        }
        assert.equal(mine, theirs, `seek(${o}, ${whence})`);
      } else {
        const n = (rand() * 200000) | 0;
        yield* f.truncate(n);
        g.truncateSync(n);
      }
      assert.equal((yield* f.stat()).size, g.statSync().size);
    }
  }, { backend });
  assert.deepEqual(Deno.readFileSync(a), Deno.readFileSync(b));
});

t("> 2 GiB offsets on a sparse file; readAt at odd offsets", async (backend, dir) => {
  const path = `${dir}/sparse`;
  await run(function* () {
    using f = yield* open(path, { read: true, write: true, create: true });
    yield* f.truncate(5 * GIB);
    const marks = [2 * GIB - 3, 2 * GIB + 100, 3 * GIB + 4097, 4 * GIB + 12345, 5 * GIB - 7];
    for (const m of marks) {
      yield* f.writeAt(new TextEncoder().encode(`@${m}`), m);
    }
    const last = marks[marks.length - 1];
    assert.equal((yield* f.stat()).size, last + `@${last}`.length); // the last mark runs past 5 GiB
    for (const m of marks) {
      const buf = new Uint8Array(4 + String(m).length);
      const n = yield* f.readAt(buf, m - 3);
      assert.equal(n, buf.length);
      assert.deepEqual([...buf.subarray(0, 3)], [0, 0, 0]);
      assert.equal(new TextDecoder().decode(buf.subarray(3)), `@${m}`);
    }
    // The cursor crosses 4 GiB too.
    assert.equal(yield* f.seek(4 * GIB + 12345, SeekMode.Start), 4 * GIB + 12345);
    const b = new Uint8Array(6);
    assert.equal(yield* f.read(b), 6);
    assert.equal(new TextDecoder().decode(b), `@${4 * GIB + 12345}`.slice(0, 6));
    assert.equal(yield* f.readAt(new Uint8Array(8), 6 * GIB), null);
  }, { backend });
  // Deno agrees on what is where.
  using g = Deno.openSync(path);
  g.seekSync(3 * GIB + 4097, Deno.SeekMode.Start);
  const y = new Uint8Array(11);
  g.readSync(y);
  assert.equal(new TextDecoder().decode(y), `@${3 * GIB + 4097}`);
});

t("stat agrees with Deno.stat; sync and syncData succeed", async (backend, dir) => {
  const path = `${dir}/s`;
  Deno.writeFileSync(path, new Uint8Array(12345));
  Deno.chmodSync(path, 0o640);
  await run(function* () {
    using f = yield* open(path, { read: true, write: true });
    yield* f.sync();
    yield* f.syncData();
    const mine = yield* f.stat();
    const theirs = Deno.statSync(path);
    for (const k of Object.keys(theirs) as (keyof Deno.FileInfo)[]) {
      const x = mine[k], y = theirs[k];
      if (k === "ctime") {
        // Deno reports ctime in whole seconds; Dokio keeps the fraction.
        assert.equal(Math.floor(mine.ctime!.getTime() / 1000) * 1000, theirs.ctime!.getTime());
      } else if (x instanceof Date || y instanceof Date) {
        assert.equal((x as Date | null)?.getTime(), (y as Date | null)?.getTime(), k);
      } else assert.equal(x, y, k);
    }
    const d = yield* open(dir);
    const ds = yield* d.stat();
    assert.ok(ds.isDirectory && !ds.isFile);
    d.close();
  }, { backend });
});

t("streams: readable and writable copy a file", async (backend, dir) => {
  const data = randomBytes(rng(5), 300_000);
  Deno.writeFileSync(`${dir}/src`, data);
  await run(function* () {
    const src = yield* open(`${dir}/src`);
    const dst = yield* open(`${dir}/dst`, { write: true, create: true });
    yield* call(() => src.readable.pipeTo(dst.writable));
    assert.ok(src.closed === false || src.closed === true);
    assert.ok(dst.closed);
    src.close();
  }, { backend });
  assert.deepEqual(Deno.readFileSync(`${dir}/dst`), data);
});

t(
  "close: pending and later calls throw ClosedError; the fd closes after ops",
  async (backend, dir) => {
    Deno.writeFileSync(`${dir}/c`, new Uint8Array(1 << 20));
    await run(function* () {
      const f = yield* open(`${dir}/c`);
      const fd = f.fd;
      const pending = spawn(function* () {
        return yield* f.readAt(new Uint8Array(1 << 20), 0);
      }());
      yield* yieldNow(); // the read is in flight
      f.close();
      f.close(); // idempotent
      assert.equal(f.fd, -1);
      assert.throws(() => f.read(new Uint8Array(1)), ClosedError);
      assert.throws(() => f.stat(), ClosedError);
      try {
        const n = yield* pending; // finished before the close, or ClosedError
        assert.equal(n, 1 << 20);
      } catch (e) {
        assert.ok(e instanceof ClosedError, String(e));
      }
      yield* yieldNow();
      let stillOpen = true;
      try {
        Deno.readLinkSync(`/proc/self/fd/${fd}`);
      } catch {
        stillOpen = false;
      }
      assert.ok(!stillOpen, "fd still open after close with nothing in flight");
    }, { backend });
  },
);

t(
  "cursor ops run one at a time; a cancelled read leaves buffer and position alone",
  async (backend, dir) => {
    const data = randomBytes(rng(9), 1 << 20);
    Deno.writeFileSync(`${dir}/r`, data);
    await run(function* () {
      using f = yield* open(`${dir}/r`);
      // Many reads started at once each take their own consecutive chunk.
      const bufs = Array.from({ length: 16 }, () => new Uint8Array(4096));
      const hs = bufs.map((b) =>
        spawn(function* () {
          return yield* f.read(b);
        }())
      );
      for (const h of hs) assert.equal(yield* h, 4096);
      const chunkOf = (b: Uint8Array) => {
        for (let i = 0; i < 16; i++) {
          if (b.every((v, k) => v === data[i * 4096 + k])) return i;
        }
        return -1;
      };
      assert.deepEqual(bufs.map(chunkOf).sort((x, y) => x - y), [...Array(16).keys()]);
      // Cancel reads at every point of their life: the caller's buffer never
      // changes after the abort, and the position stays where it was.
      let pos = 16 * 4096;
      for (let round = 0; round < 200; round++) {
        const buf = new Uint8Array(8192).fill(0xee);
        const h = spawn(function* () {
          return yield* f.read(buf);
        }());
        for (let k = 0; k < round % 4; k++) {
          yield* yieldNow();
        }
        h.abort();
        let got: number | null = -1;
        try {
          got = yield* h;
        } catch { /* cancelled */ }
        if (got === -1) {
          const before = buf.slice();
          for (let k = 0; k < 3; k++) yield* yieldNow();
          assert.deepEqual(buf, before, "buffer written after cancel");
          assert.ok(buf.every((v) => v === 0xee), "a cancelled read filled the buffer");
        } else {
          assert.deepEqual(buf.subarray(0, got!), data.subarray(pos, pos + got!));
          pos += got!;
        }
        const probe = new Uint8Array(16);
        assert.equal(yield* f.read(probe), 16);
        assert.deepEqual(probe, data.subarray(pos, pos + 16), `position after round ${round}`);
        pos += 16;
      }
    }, { backend });
  },
);

t("bad arguments throw at the call", async (backend, dir) => {
  Deno.writeFileSync(`${dir}/x`, new Uint8Array(4));
  await run(function* () {
    assert.throws(() => open(42 as unknown as string), TypeError);
    assert.throws(() => open("a\0b"), TypeError);
    assert.throws(() => open(new URL("http://x/")), TypeError);
    assert.throws(() => open(`${dir}/x`, { create: true }), TypeError);
    assert.throws(() => open(`${dir}/x`, { write: true, mode: 0o10000 }), RangeError);
    using f = yield* open(`${dir}/x`, { read: true, write: true });
    assert.throws(() => f.readAt(new Uint8Array(1), -1), RangeError);
    assert.throws(() => f.readAt(new Uint8Array(1), 1.5), RangeError);
    assert.throws(() => f.readAt(new Uint8Array(1), 2 ** 53), RangeError);
    assert.throws(() => f.writeAt(new Uint8Array(1), -2), RangeError);
    assert.throws(() => f.read([] as unknown as Uint8Array), TypeError);
    assert.throws(() => f.seek(0, 3 as SeekMode), RangeError);
    assert.throws(() => f.truncate(-1), RangeError);
    assert.equal(yield* f.read(new Uint8Array(0)), 0);
    assert.equal(yield* f.write(new Uint8Array(0)), 0);
    // Errors name the path.
    try {
      yield* f.seek(-100, SeekMode.Start);
      assert.fail("seek before 0");
    } catch (e) {
      assert.ok(e instanceof IoError && e.code === "EINVAL" && e.message.includes(`${dir}/x`));
    }
    const w = yield* open(`${dir}/x`, { write: true });
    try {
      yield* w.read(new Uint8Array(1));
      assert.fail("read on a write-only file");
    } catch (e) {
      assert.ok(e instanceof IoError && e.code === "EBADF", String(e));
    }
    w.close();
  }, { backend });
});

t(
  "a File is a Reader and a Writer for the io/ toolkit (BufReader, BufWriter)",
  async (backend, dir) => {
    await run(function* () {
      {
        using f = yield* open(`${dir}/lines`, { write: true, create: true });
        const w: Writer = f;
        const bw = new BufWriter(w);
        for (let i = 0; i < 1000; i++) yield* bw.writeAll(new TextEncoder().encode(`line ${i}\n`));
        yield* bw.flush();
      }
      using f = yield* open(`${dir}/lines`);
      const r: Reader = f;
      const br = new BufReader(r);
      for (let i = 0; i < 1000; i++) assert.equal(yield* br.readLine(), `line ${i}`);
      assert.equal(yield* br.readLine(), null);
    }, { backend });
  },
);

t(
  "shutdown checks the file is open; using closes it; cancelling readable closes it",
  async (backend, dir) => {
    Deno.writeTextFileSync(`${dir}/s`, "abc");
    await run(function* () {
      let kept: File | null = null;
      {
        using f = yield* open(`${dir}/s`, { write: true });
        yield* f.shutdown();
        kept = f;
      }
      assert.ok(kept.closed);
      assert.throws(() => kept!.write(new Uint8Array(1)), ClosedError);
      try {
        yield* kept.shutdown();
        assert.fail("shutdown after close");
      } catch (e) {
        assert.ok(e instanceof ClosedError);
      }
      const g = yield* open(`${dir}/s`);
      const reader = g.readable.getReader();
      yield* call(() => reader.cancel());
      assert.ok(g.closed);
    }, { backend });
  },
);
