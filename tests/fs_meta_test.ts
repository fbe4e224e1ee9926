/**
 * fs/ directory and metadata operations against Deno's own fs as the
 * oracle, on io_uring and epoll: stat, lstat, readDir (iterated and run),
 * mkdir (recursive), remove (recursive), rename, symlink, readLink, realPath,
 * chmod, truncate, and their errors as IoErrors with the path.
 */

import assert from "node:assert/strict";
import { run } from "../runtime/mod.ts";
import {
  chmod,
  IoError,
  lstat,
  mkdir,
  readDir,
  readFile,
  readLink,
  realPath,
  remove,
  rename,
  stat,
  symlink,
  truncate,
} from "../mod.ts";
import { t } from "./fs_helpers.ts";

t("metadata and directory operations agree with Deno", async (backend, dir) => {
  await run(function* () {
    yield* mkdir(`${dir}/a/b/c`, { recursive: true });
    assert.ok(Deno.statSync(`${dir}/a/b/c`).isDirectory);
    yield* mkdir(`${dir}/a/b/c`, { recursive: true }); // exists: fine when recursive
    Deno.writeTextFileSync(`${dir}/a/f.txt`, "hello");
    yield* symlink("f.txt", `${dir}/a/link`);
    assert.equal(yield* readLink(`${dir}/a/link`), Deno.readLinkSync(`${dir}/a/link`));
    assert.equal(yield* realPath(`${dir}/a/link`), Deno.realPathSync(`${dir}/a/link`));
    const s = yield* stat(`${dir}/a/link`), ds = Deno.statSync(`${dir}/a/link`);
    assert.ok(s.isFile && s.size === ds.size && s.ino === ds.ino);
    const l = yield* lstat(`${dir}/a/link`);
    assert.ok(l.isSymlink && l.ino === Deno.lstatSync(`${dir}/a/link`).ino);
    const names = (yield* readDir(`${dir}/a`)).map((e) => e.name).sort();
    assert.deepEqual(names, [...Deno.readDirSync(`${dir}/a`)].map((e) => e.name).sort());
    yield* chmod(`${dir}/a/f.txt`, 0o604);
    assert.equal(Deno.statSync(`${dir}/a/f.txt`).mode! & 0o777, 0o604);
    yield* truncate(`${dir}/a/f.txt`, 2);
    assert.equal(Deno.readTextFileSync(`${dir}/a/f.txt`), "he");
    yield* truncate(`${dir}/a/f.txt`);
    assert.equal(Deno.statSync(`${dir}/a/f.txt`).size, 0);
    yield* rename(`${dir}/a/f.txt`, `${dir}/a/g.txt`);
    assert.ok(Deno.statSync(`${dir}/a/g.txt`).isFile);
    yield* remove(`${dir}/a/g.txt`);
    yield* remove(`${dir}/a`, { recursive: true });
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }, { backend });
  // Async iteration outside a task.
  Deno.writeTextFileSync(`${dir}/x`, "");
  const seen: string[] = [];
  for await (const e of readDir(dir)) seen.push(e.name);
  assert.deepEqual(seen, ["x"]);
});

t("errors are IoErrors with Deno's code and the path", async (backend, dir) => {
  Deno.mkdirSync(`${dir}/full`);
  Deno.writeTextFileSync(`${dir}/full/f`, "");
  const cases: [string, () => PromiseLike<unknown>, () => Promise<unknown>][] = [
    ["stat", () => stat(`${dir}/nope`), () => Deno.stat(`${dir}/nope`)],
    ["lstat", () => lstat(`${dir}/nope`), () => Deno.lstat(`${dir}/nope`)],
    ["mkdir", () => mkdir(`${dir}/full`), () => Deno.mkdir(`${dir}/full`)],
    ["mkdir", () => mkdir(`${dir}/x/y`), () => Deno.mkdir(`${dir}/x/y`)],
    ["remove", () => remove(`${dir}/full`), () => Deno.remove(`${dir}/full`)],
    ["remove", () => remove(`${dir}/nope`), () => Deno.remove(`${dir}/nope`)],
    [
      "rename",
      () => rename(`${dir}/nope`, `${dir}/z`),
      () => Deno.rename(`${dir}/nope`, `${dir}/z`),
    ],
    ["readLink", () => readLink(`${dir}/full/f`), () => Deno.readLink(`${dir}/full/f`)],
    ["realPath", () => realPath(`${dir}/nope`), () => Deno.realPath(`${dir}/nope`)],
    ["chmod", () => chmod(`${dir}/nope`, 0o600), () => Deno.chmod(`${dir}/nope`, 0o600)],
    ["truncate", () => truncate(`${dir}/nope`), () => Deno.truncate(`${dir}/nope`)],
    [
      "readDir",
      () => readDir(`${dir}/full/f`),
      () => Array.fromAsync(Deno.readDir(`${dir}/full/f`)),
    ],
  ];
  for (const [what, mine, theirs] of cases) {
    let a: unknown = null, b: unknown = null;
    try {
      await run(() => mine(), { backend });
    } catch (e) {
      a = e;
    }
    try {
      await theirs();
    } catch (e) {
      b = e;
    }
    assert.ok(a instanceof IoError, `${what}: ${a}`);
    assert.equal(a.code, (b as { code: string }).code, what);
    assert.ok(a.errno > 0 && a.message.includes(dir), `${what}: ${a.message}`);
  }
  assert.throws(() => stat(7 as unknown as string), TypeError);
  assert.throws(() => chmod(`${dir}/full`, 0o17777), RangeError);
  assert.throws(() => truncate(`${dir}/full/f`, -1), RangeError);
});

Deno.test("fs/ on the portable deno backend says it needs the native reactor", async () => {
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeTextFileSync(`${dir}/f`, "x");
    await assert.rejects(
      () => run(() => readFile(`${dir}/f`), { backend: "deno" }),
      (e: Error) => e.message.includes("native reactor"),
    );
    // Metadata ops use Deno's own APIs and work there.
    assert.ok((await run(() => stat(`${dir}/f`), { backend: "deno" })).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
