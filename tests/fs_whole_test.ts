/**
 * fs/ whole-file tests against Deno's own fs as the oracle, on io_uring and
 * epoll: readFile/readTextFile/writeFile/writeTextFile on random files and
 * sizes around every buffer edge, every writeFile flag, 10,000 concurrent
 * readFiles with the fd count back to start, a file pool of 4 threads (the
 * fileWorkers option and its bounds), cancel (task abort and signal)
 * in every phase with nothing leaked, ENOENT/EISDIR/ENOTDIR/EEXIST, copyFile.
 */

import assert from "node:assert/strict";
import { run, Runtime, spawn, yieldNow } from "../runtime/mod.ts";
import { sleep } from "../time/mod.ts";
import { copyFile, IoError, readFile, readTextFile, writeFile, writeTextFile } from "../mod.ts";
import { fdsUnder, randomBytes, rng, t } from "./fs_helpers.ts";

/** How long the fds of cancelled ops may take to close (their completions arrive), ms. */
const FD_CLOSE_WAIT_MS = 10_000;

/** Wait until no fd is open under `dir`, up to FD_CLOSE_WAIT_MS; gives those still open. */
function* openAfterWait(dir: string): Generator<unknown, string[], unknown> {
  const until = Date.now() + FD_CLOSE_WAIT_MS;
  let open = fdsUnder(dir);
  while (open.length > 0 && Date.now() < until) {
    yield* sleep(5);
    open = fdsUnder(dir);
  }
  return open;
}

const SIZES = [0, 1, 4095, 4096, 4097, 65535, 65536, 65537, 131072, 1 << 20, 3_000_001];

t("readFile and readTextFile agree with Deno on random files", async (backend, dir) => {
  const rand = rng(backend === "epoll" ? 21 : 22);
  const files = SIZES.map((n, i) => {
    const p = `${dir}/r${i}`;
    Deno.writeFileSync(p, randomBytes(rand, n));
    return p;
  });
  Deno.writeTextFileSync(`${dir}/text`, "héllo wörld ✓\n".repeat(5000));
  await run(function* () {
    for (const p of files) assert.deepEqual(yield* readFile(p), Deno.readFileSync(p), p);
    assert.equal(yield* readTextFile(`${dir}/text`), Deno.readTextFileSync(`${dir}/text`));
    assert.equal(
      yield* readTextFile(new URL(`file://${dir}/text`)),
      Deno.readTextFileSync(`${dir}/text`),
    );
    // Files whose stat size says 0 but which have content (procfs) are read to the end.
    const status = yield* readTextFile("/proc/self/status");
    assert.ok(status.includes("Name:") && status.includes("VmRSS"), status.slice(0, 80));
    // A result is the caller's own: two reads of one file do not share memory.
    const a = yield* readFile(files[3]), b = yield* readFile(files[3]);
    a[0] ^= 0xff;
    assert.notEqual(a[0], b[0]);
  }, { backend });
});

t("writeFile and writeTextFile: every flag, like Deno.writeFile", async (backend, dir) => {
  const rand = rng(backend === "epoll" ? 31 : 32);
  const cases: (Deno.WriteFileOptions & { pre: boolean })[] = [];
  for (const pre of [false, true]) {
    for (const append of [undefined, true]) {
      for (const create of [undefined, false]) {
        for (const createNew of [undefined, true]) cases.push({ pre, append, create, createNew });
      }
    }
  }
  const outcome = async (f: () => PromiseLike<unknown>) => {
    try {
      await f();
      return "ok";
    } catch (e) {
      return (e as { code?: string }).code ?? (e as Error).name;
    }
  };
  for (const [i, c] of cases.entries()) {
    const { pre, ...o } = c;
    const a = `${dir}/a${i}`, b = `${dir}/b${i}`;
    const old = randomBytes(rand, 5000), data = randomBytes(rand, (rand() * 200000) | 0);
    if (pre) {
      Deno.writeFileSync(a, old);
      Deno.writeFileSync(b, old);
    }
    const mine = await outcome(() => run(() => writeFile(a, data, o), { backend }));
    const theirs = await outcome(() => Deno.writeFile(b, data, o));
    assert.equal(mine, theirs, JSON.stringify(c));
    const read = (p: string) => {
      try {
        return Deno.readFileSync(p);
      } catch {
        return null;
      }
    };
    assert.deepEqual(read(a), read(b), JSON.stringify(c));
  }
  // mode on create, before the umask, as Deno.
  await run(() => writeTextFile(`${dir}/m1`, "x", { mode: 0o600 }), { backend });
  await Deno.writeTextFile(`${dir}/m2`, "x", { mode: 0o600 });
  assert.equal(Deno.statSync(`${dir}/m1`).mode! & 0o777, Deno.statSync(`${dir}/m2`).mode! & 0o777);
  // Text round trip and append.
  await run(function* () {
    yield* writeTextFile(`${dir}/t`, "one\n");
    yield* writeTextFile(`${dir}/t`, "twö\n", { append: true });
  }, { backend });
  assert.equal(Deno.readTextFileSync(`${dir}/t`), "one\ntwö\n");
});

t("10,000 concurrent readFiles: right bytes, no fd left open", async (backend, dir) => {
  const N = 10_000;
  for (let i = 0; i < 100; i++) Deno.writeFileSync(`${dir}/c${i}`, new Uint8Array(100 + i).fill(i));
  await run(function* () {
    const hs = [];
    for (let i = 0; i < N; i++) {
      hs.push(spawn(function* () {
        const b = yield* readFile(`${dir}/c${i % 100}`);
        return b.length === 100 + (i % 100) && b.every((v) => v === i % 100);
      }()));
    }
    let ok = 0;
    for (const h of hs) if (yield* h) ok++;
    assert.equal(ok, N);
  }, { backend });
  assert.deepEqual(fdsUnder(dir), []);
});

t(
  "a file pool of 4 threads: 2,000 writeFiles then readFiles right, no fd left",
  async (backend, dir) => {
    const N = 2_000;
    const data = (i: number) => new Uint8Array(50 + (i % 300)).fill(i & 0xff);
    await run(function* () {
      const ws = [];
      for (let i = 0; i < N; i++) ws.push(spawn(writeFile(`${dir}/p${i}`, data(i))));
      for (const h of ws) yield* h;
      const rs = [];
      for (let i = 0; i < N; i++) rs.push(spawn(readFile(`${dir}/p${i}`)));
      for (let i = 0; i < N; i++) assert.deepEqual(yield* rs[i], data(i), `p${i}`);
      // Cancelled ones too: each closes what it opened, whichever thread runs it.
      for (let i = 0; i < 200; i++) {
        const h = spawn(readFile(`${dir}/p${i}`));
        if (i % 2 === 0) yield* yieldNow();
        h.abort();
        try {
          yield* h;
        } catch { /* cancelled */ }
      }
      assert.deepEqual(yield* openAfterWait(dir), []);
    }, { backend, fileWorkers: 4 });
    assert.deepEqual(fdsUnder(dir), []);
  },
);

Deno.test("fileWorkers: an integer in 1..64, from the option or DOKIO_FILE_WORKERS", async () => {
  for (const bad of [0, 65, 1.5, -1, NaN]) {
    assert.throws(() => new Runtime({ fileWorkers: bad }), RangeError, String(bad));
    assert.throws(() => Runtime.builder().fileWorkers(bad), RangeError, String(bad));
  }
  const saved = Deno.env.get("DOKIO_FILE_WORKERS");
  try {
    for (const bad of ["0", "x", "3.5", "65", " 2"]) {
      Deno.env.set("DOKIO_FILE_WORKERS", bad);
      assert.throws(() => new Runtime(), /DOKIO_FILE_WORKERS/, bad);
    }
    Deno.env.set("DOKIO_FILE_WORKERS", "64");
    await new Runtime().shutdown();
  } finally {
    if (saved === undefined) Deno.env.delete("DOKIO_FILE_WORKERS");
    else Deno.env.set("DOKIO_FILE_WORKERS", saved);
  }
  await new Runtime({ fileWorkers: 1 }).shutdown();
  await Runtime.builder().fileWorkers(64).build().shutdown();
});

t("cancel in every phase leaks no fd and returns nothing", async (backend, dir) => {
  const big = randomBytes(rng(7), 4 << 20);
  Deno.writeFileSync(`${dir}/big`, big);
  Deno.writeFileSync(`${dir}/small`, big.subarray(0, 1000));
  await run(function* () {
    // Warm up: the reactor and pools are open before the cancels.
    yield* readFile(`${dir}/small`);
    yield* writeFile(`${dir}/w`, big.subarray(0, 10));
    let finished = 0, cancelled = 0;
    for (let round = 0; round < 300; round++) {
      const which = round % 3;
      const h = spawn(function* () {
        if (which === 0) return (yield* readFile(`${dir}/big`)).length;
        if (which === 1) return (yield* readFile(`${dir}/small`)).length;
        yield* writeFile(`${dir}/w${round % 5}`, big);
        return big.length;
      }());
      // Abort before the open, during it, between phases, during a read or write.
      for (let k = 0; k < round % 6; k++) yield* yieldNow();
      h.abort();
      try {
        yield* h;
        finished++;
      } catch {
        cancelled++;
      }
    }
    // A cancelled op's fd closes when its completion arrives (the kernel may
    // still be busy with a 4 MiB read or write): wait for that, boundedly.
    const open = yield* openAfterWait(dir);
    assert.ok(cancelled > 0, "no round was cancelled");
    assert.deepEqual(open, [], `fds open after ${finished} finished, ${cancelled} cancelled`);
    // Signals too: abort before, and while in flight.
    const ac = new AbortController();
    ac.abort(new Error("early"));
    yield* assertRejects(() => readFile(`${dir}/big`, { signal: ac.signal }), "early");
    for (let round = 0; round < 50; round++) {
      const c = new AbortController();
      const op = round % 2 === 0
        ? readFile(`${dir}/big`, { signal: c.signal })
        : writeFile(`${dir}/ws`, big, { signal: c.signal });
      const h = spawn(function* () {
        return yield* op;
      }());
      for (let k = 0; k < round % 5; k++) yield* yieldNow();
      c.abort(new Error("late"));
      try {
        yield* h;
      } catch (e) {
        assert.equal(((e as Error).cause as Error).message, "late");
      }
    }
    assert.deepEqual(yield* openAfterWait(dir), [], "fds open after signal aborts");
  }, { backend });
});

function* assertRejects(
  f: () => PromiseLike<unknown> & { [Symbol.iterator](): Iterator<unknown, unknown, unknown> },
  message: string,
): Generator<unknown, void, unknown> {
  try {
    yield* f();
  } catch (e) {
    assert.equal((e as Error).message, message);
    return;
  }
  assert.fail("did not throw");
}

t(
  "errors: ENOENT, EISDIR, ENOTDIR, EEXIST carry Deno's code and the path",
  async (backend, dir) => {
    Deno.writeTextFileSync(`${dir}/file`, "x");
    const code = async (f: () => PromiseLike<unknown>) => {
      try {
        await f();
        return "ok";
      } catch (e) {
        if (e instanceof IoError) {
          assert.ok(e.message.includes(dir), `path missing from "${e.message}"`);
          assert.ok(e.errno > 0);
        }
        return (e as { code?: string }).code;
      }
    };
    const pairs: [() => PromiseLike<unknown>, () => Promise<unknown>][] = [
      [() => readFile(`${dir}/missing`), () => Deno.readFile(`${dir}/missing`)],
      [() => readFile(dir), () => Deno.readFile(dir)],
      [() => readFile(`${dir}/file/x`), () => Deno.readFile(`${dir}/file/x`)],
      [
        () => writeFile(`${dir}/file`, new Uint8Array(1), { createNew: true }),
        () => Deno.writeFile(`${dir}/file`, new Uint8Array(1), { createNew: true }),
      ],
      [() => writeFile(dir, new Uint8Array(1)), () => Deno.writeFile(dir, new Uint8Array(1))],
      [
        () => writeFile(`${dir}/no/such`, new Uint8Array(1)),
        () => Deno.writeFile(`${dir}/no/such`, new Uint8Array(1)),
      ],
      [
        () => copyFile(`${dir}/missing`, `${dir}/c`),
        () => Deno.copyFile(`${dir}/missing`, `${dir}/c`),
      ],
    ];
    for (const [mine, theirs] of pairs) {
      const a = await code(() => run(() => mine(), { backend }));
      const b = await code(theirs);
      assert.equal(a, b);
      assert.notEqual(a, "ok");
    }
    // Bad arguments throw at the call.
    assert.throws(() => readFile(1 as unknown as string), TypeError);
    assert.throws(() => readFile("x\0y"), TypeError);
    assert.throws(() => writeFile(`${dir}/x`, "text" as unknown as Uint8Array), TypeError);
    assert.throws(() => writeTextFile(`${dir}/x`, 5 as unknown as string), TypeError);
    assert.throws(() => writeFile(`${dir}/x`, new Uint8Array(1), { mode: -1 }), RangeError);
    assert.throws(() => readFile(`${dir}/x`, { signal: {} as AbortSignal }), TypeError);
  },
);

t("copyFile copies content and mode", async (backend, dir) => {
  const data = randomBytes(rng(3), 100_000);
  Deno.writeFileSync(`${dir}/a`, data, { mode: 0o640 });
  Deno.chmodSync(`${dir}/a`, 0o640);
  await run(() => copyFile(`${dir}/a`, `${dir}/b`), { backend });
  assert.deepEqual(Deno.readFileSync(`${dir}/b`), data);
  assert.equal(Deno.statSync(`${dir}/b`).mode! & 0o777, 0o640);
});
