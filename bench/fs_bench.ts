/**
 * Files suite: Dokio's fs/ beside Deno's own file API, in the same run, on
 * files the bench makes (page cache warm), on io_uring and on epoll:
 * - 10,000 × 4 KiB `readFile`, 64 in flight, vs `Deno.readFile` 64 in flight;
 * - 10,000 × 4 KiB `writeFile` creating new files, 64 in flight, vs `Deno.writeFile`;
 * - 200,000 random 4 KiB `readAt` on a 512 MiB file, 64 in flight, vs 64
 *   `Deno.FsFile`s doing `seek` + `read`;
 * - a sequential read of the 512 MiB file with 256 KiB reads vs an `FsFile.read` loop.
 *
 * `--quick` (or DOKIO_BENCH_QUICK=1) runs 2,000 files, 20,000 reads and a 64 MiB file.
 * Run alone: `deno run -A bench/fs_bench.ts [--quick]`.
 *
 * Both peers use the same files, in one directory the bench makes under the system temp
 * directory, or under `DOKIO_FS_BENCH_DIR` when set (e.g. a tmpfs mount, for a row beside the
 * disk's); each row names the file system that directory is on (from /proc/mounts).
 *
 * @module
 */

import { Runtime } from "../runtime/mod.ts";
import { spawn } from "../runtime/mod.ts";
import { open, readFile, writeFile } from "../fs/mod.ts";
import type { BenchRow } from "./row.ts";
import { suiteRow } from "./_util.ts";

const row = suiteRow("fs");
const KIB = 1024;
const MIB = 1024 * KIB;
const IN_FLIGHT = 64;
const SMALL = 4 * KIB;
const SEQ_CHUNK = 256 * KIB;
/** Timed rounds per side, alternating (the machine may be shared: medians, not best times). */
const REPS = 5;

interface Sizes {
  files: number;
  reads: number;
  big: number;
}

function sizes(): Sizes {
  const quick = Deno.args.includes("--quick") || Deno.env.get("DOKIO_BENCH_QUICK") === "1";
  return quick
    ? { files: 2_000, reads: 20_000, big: 64 * MIB }
    : { files: 10_000, reads: 200_000, big: 512 * MIB };
}

/** Run `n` jobs with `IN_FLIGHT` workers (promises). */
async function denoPool(n: number, job: (i: number) => Promise<unknown>): Promise<void> {
  const workers = [];
  for (let w = 0; w < IN_FLIGHT; w++) {
    workers.push((async () => {
      for (let i = w; i < n; i += IN_FLIGHT) await job(i);
    })());
  }
  await Promise.all(workers);
}

/** Run `n` jobs with `IN_FLIGHT` Dokio tasks. */
function dokioPool(
  rt: Runtime,
  n: number,
  job: (i: number) => Generator<unknown, unknown, unknown>,
): PromiseLike<void> {
  return rt.spawn(function* () {
    const hs = [];
    for (let w = 0; w < IN_FLIGHT; w++) {
      hs.push(spawn(function* () {
        for (let i = w; i < n; i += IN_FLIGHT) yield* job(i);
      }()));
    }
    for (const h of hs) yield* h;
  });
}

/** The median of `xs` (sorted in place). */
function median(xs: number[]): number {
  xs.sort((x, y) => x - y);
  const m = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
}

/**
 * Time both sides `REPS` times, alternating, after one warm-up run each;
 * `prep` runs untimed before every run (e.g. a fresh directory). Median times in ms.
 */
async function duel(
  mine: () => PromiseLike<unknown>,
  theirs: () => PromiseLike<unknown>,
  prep: () => void = () => {},
): Promise<[number, number]> {
  const a: number[] = [], b: number[] = [];
  for (let r = -1; r < REPS; r++) {
    prep();
    let t = performance.now();
    await mine();
    if (r >= 0) a.push(performance.now() - t);
    prep();
    t = performance.now();
    await theirs();
    if (r >= 0) b.push(performance.now() - t);
  }
  return [median(a), median(b)];
}

/** Random 4 KiB-aligned offsets inside `size` bytes (the same list for both sides). */
function offsets(n: number, size: number): Float64Array {
  const out = new Float64Array(n);
  let x = 0x9e3779b9;
  const blocks = size / SMALL;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) % blocks) * SMALL;
  }
  return out;
}

function makeFiles(dir: string, s: Sizes): { paths: string[]; big: string } {
  const data = new Uint8Array(SMALL).map((_, i) => i & 0xff);
  const paths: string[] = [];
  for (let i = 0; i < s.files; i++) {
    const p = `${dir}/f${i}`;
    Deno.writeFileSync(p, data);
    paths.push(p);
  }
  const big = `${dir}/big`;
  const f = Deno.openSync(big, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(8 * MIB).map((_, i) => (i * 7) & 0xff);
  for (let o = 0; o < s.big; o += chunk.byteLength) f.writeSync(chunk);
  f.close();
  Deno.readFileSync(big); // warm the page cache
  return { paths, big };
}

/** The type of the file system `dir` is on (the longest mount point above it), or "?". */
function fsTypeOf(dir: string): string {
  try {
    const real = Deno.realPathSync(dir);
    let best = "", type = "?";
    for (const line of Deno.readTextFileSync("/proc/mounts").split("\n")) {
      const [, mnt, fstype] = line.split(" ");
      if (mnt === undefined || fstype === undefined) continue;
      const under = mnt === "/" || real === mnt || real.startsWith(`${mnt}/`);
      if (under && mnt.length >= best.length) [best, type] = [mnt, fstype];
    }
    return type;
  } catch {
    return "?"; // no /proc (macOS)
  }
}

async function suite(
  backend: "io_uring" | "epoll",
  s: Sizes,
  dir: string,
  paths: string[],
  big: string,
): Promise<BenchRow[]> {
  const rt = new Runtime({ backend });
  const bars = backend === "io_uring"
    ? ["≥ 3×", "≥ 2×", "≥ 4×", "≥ 1×"]
    : ["≥ 1.5×", "≥ 1.5×", "≥ 2×", "≥ 1×"];
  const fs = fsTypeOf(dir);
  const name = (what: string) => `[${backend}] ${what} (${fs})`;

  const [rfA, rfB] = await duel(
    () =>
      dokioPool(rt, s.files, function* (i) {
        yield* readFile(paths[i]);
      }),
    () => denoPool(s.files, (i) => Deno.readFile(paths[i])),
  );

  // writeFile creates: every run writes into a new, empty directory.
  const data = new Uint8Array(SMALL).fill(0x61);
  let round = 0, target = "";
  const fresh = () => {
    target = `${dir}/w${backend}${round++}`;
    Deno.mkdirSync(target);
  };
  const [wfA, wfB] = await duel(
    () =>
      dokioPool(rt, s.files, function* (i) {
        yield* writeFile(`${target}/${i}`, data);
      }),
    () => denoPool(s.files, (i) => Deno.writeFile(`${target}/${i}`, data)),
    fresh,
  );

  const offs = offsets(s.reads, s.big);
  const [raA, raB] = await duel(
    () =>
      rt.spawn(function* () {
        using f = yield* open(big);
        const hs = [];
        for (let w = 0; w < IN_FLIGHT; w++) {
          hs.push(spawn(function* () {
            const buf = new Uint8Array(SMALL);
            for (let i = w; i < s.reads; i += IN_FLIGHT) yield* f.readAt(buf, offs[i]);
          }()));
        }
        for (const h of hs) yield* h;
      }),
    async () => {
      const files = [];
      for (let w = 0; w < IN_FLIGHT; w++) files.push(await Deno.open(big));
      await Promise.all(files.map(async (f, w) => {
        const buf = new Uint8Array(SMALL);
        for (let i = w; i < s.reads; i += IN_FLIGHT) {
          await f.seek(offs[i], Deno.SeekMode.Start);
          await f.read(buf);
        }
      }));
      for (const f of files) f.close();
    },
  );

  const [sqA, sqB] = await duel(
    () =>
      rt.spawn(function* () {
        using f = yield* open(big);
        const buf = new Uint8Array(SEQ_CHUNK);
        while ((yield* f.read(buf)) !== null) { /* next chunk */ }
      }),
    async () => {
      using f = await Deno.open(big);
      const buf = new Uint8Array(SEQ_CHUNK);
      while ((await f.read(buf)) !== null) { /* next chunk */ }
    },
  );
  await rt.shutdown();

  const perFile = 1000 / s.files, perRead = 1000 / s.reads, gib = s.big / 2 ** 30;
  const mib = s.big / MIB;
  return [
    row(
      name(`readFile ${s.files} × 4 KiB, ${IN_FLIGHT} in flight`),
      rfA * perFile,
      rfB * perFile,
      "Deno.readFile",
      "µs/file",
      false,
      bars[0],
    ),
    row(
      name(`writeFile ${s.files} × 4 KiB (create), ${IN_FLIGHT} in flight`),
      wfA * perFile,
      wfB * perFile,
      "Deno.writeFile",
      "µs/file",
      false,
      bars[1],
    ),
    row(
      name(`${s.reads} random 4 KiB readAt on ${mib} MiB, ${IN_FLIGHT} in flight`),
      raA * perRead,
      raB * perRead,
      `${IN_FLIGHT} FsFile seek+read`,
      "µs/read",
      false,
      bars[2],
    ),
    row(
      name(`sequential read of ${mib} MiB, 256 KiB reads`),
      gib / (sqA / 1000),
      gib / (sqB / 1000),
      "FsFile.read loop",
      "GiB/s",
      true,
      bars[3],
    ),
  ];
}

/**
 * Run the files suite (both backends where the host has them).
 *
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * const rows = await runFsBench();
 * ```
 */
export async function runFsBench(): Promise<BenchRow[]> {
  const s = sizes();
  const parent = Deno.env.get("DOKIO_FS_BENCH_DIR") || undefined;
  const dir = await Deno.makeTempDir({ prefix: "dokio_fs_bench_", dir: parent });
  try {
    const { paths, big } = makeFiles(dir, s);
    const rows: BenchRow[] = [];
    const backends: ("io_uring" | "epoll")[] = Deno.build.os === "linux"
      ? ["io_uring", "epoll"]
      : [];
    for (const b of backends) rows.push(...await suite(b, s, dir, paths, big));
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  for (const r of await runFsBench()) {
    console.log(
      `${r.name}: dokio ${r.dokio.toFixed(2)} ${r.unit}, ${r.peerName} ${
        r.peer.toFixed(2)
      }, ratio ${r.ratio.toFixed(2)}× (bar ${r.bar ?? "-"})`,
    );
  }
  Deno.exit(0);
}
