/**
 * Files suite: Dokio's fs/ beside Deno's own file API, in the same run, on
 * files the bench makes (page cache warm), on io_uring and on epoll:
 * - 10,000 × 4 KiB `readFile`, 64 in flight, vs `Deno.readFile` 64 in flight;
 * - 10,000 × 4 KiB `writeFile` creating new files, 64 in flight, vs `Deno.writeFile`;
 * - 200,000 random 4 KiB `readAt` on a 512 MiB file, 64 in flight, vs 64
 *   `Deno.FsFile`s doing `seek` + `read`;
 * - a sequential read of the 512 MiB file with 256 KiB reads vs an `FsFile.read` loop.
 *
 * The whole-file workloads also run bench/fs_floor.c in the same rounds: the same files, only the
 * syscalls (open, one read or write, close), on one C thread and on two; their rows put Dokio's
 * wall time beside that floor, and Dokio's CPU time (user + system of the whole process, all
 * threads) beside Deno's and beside one C thread's.
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
import { median, suiteRow } from "./_util.ts";
import { buildBenchProgram } from "./_c_program.ts";
import process from "node:process";

const row = suiteRow("fs");
const KIB = 1024;
const MIB = 1024 * KIB;
const IN_FLIGHT = 64;
const SMALL = 4 * KIB;
const SEQ_CHUNK = 256 * KIB;
/** Threads of the C floor rows (bench/fs_floor.c): one, and one per core of this machine's two. */
const FLOOR_THREADS = [1, 2];
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

/** One timed run of one side: its wall time and CPU time (user + system, all threads), ms. */
interface Sample {
  wallMs: number;
  cpuMs: number;
}

/** One contender: runs once and resolves to its sample. */
type Side = () => Promise<Sample>;

/**
 * A side that runs in this process: its wall time, and the whole process's CPU time over the run
 * (µs resolution, getrusage; all threads, so Deno's blocking pool and io_uring's io-wq workers
 * count: only one side runs at a time).
 */
function here(f: () => PromiseLike<unknown>): Side {
  return async () => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await f();
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    return { wallMs, cpuMs: (c.user + c.system) / 1000 };
  };
}

/**
 * bench/fs_floor.c as a side: `threads` C threads doing only the syscalls of `mode` on
 * `${prefix()}0` … `${prefix()}${n - 1}`; the child times itself (its start-up is not counted).
 */
function floor(
  bin: string,
  mode: "read" | "write",
  threads: number,
  prefix: () => string,
  n: number,
): Side {
  return async () => {
    const r = await new Deno.Command(bin, {
      args: [mode, String(threads), prefix(), String(n)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(r.success ? r.stdout : r.stderr);
    const [wallUs, cpuUs] = text.trim().split(" ").map(Number);
    if (!r.success || !(wallUs > 0) || !(cpuUs >= 0)) throw new Error(`fs_floor ${mode}: ${text}`);
    return { wallMs: wallUs * n / 1000, cpuMs: cpuUs * n / 1000 };
  };
}

/**
 * Run every side once untimed, then `REPS` timed rounds, in list order on even rounds and in
 * reverse on odd ones; `prep` runs untimed before every run (e.g. a fresh directory). Each
 * side's median wall and median CPU time, ms.
 */
async function duel(sides: Side[], prep: () => void = () => {}): Promise<Sample[]> {
  const walls: number[][] = sides.map(() => []), cpus: number[][] = sides.map(() => []);
  const order = sides.map((_, i) => i);
  for (let r = -1; r < REPS; r++) {
    for (const i of r % 2 === 0 ? order : [...order].reverse()) {
      prep();
      const x = await sides[i]();
      if (r < 0) continue;
      walls[i].push(x.wallMs);
      cpus[i].push(x.cpuMs);
    }
  }
  return sides.map((_, i) => ({ wallMs: median(walls[i]), cpuMs: median(cpus[i]) }));
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
  floorBin: string,
): Promise<BenchRow[]> {
  const rt = new Runtime({ backend });
  const bars = backend === "io_uring"
    ? ["≥ 3×", "≥ 2×", "≥ 4×", "≥ 1×"]
    : ["≥ 1.5×", "≥ 1.5×", "≥ 2×", "≥ 1×"];
  const fs = fsTypeOf(dir);
  const name = (what: string) => `[${backend}] ${what} (${fs})`;

  const readSet = () => `${dir}/f`;
  const rf = await duel([
    here(() =>
      dokioPool(rt, s.files, function* (i) {
        yield* readFile(paths[i]);
      })
    ),
    here(() => denoPool(s.files, (i) => Deno.readFile(paths[i]))),
    ...FLOOR_THREADS.map((t) => floor(floorBin, "read", t, readSet, s.files)),
  ]);

  // writeFile creates: every run writes into a new, empty directory.
  const data = new Uint8Array(SMALL).fill(0x61);
  let round = 0, target = "";
  const fresh = () => {
    target = `${dir}/w${backend}${round++}`;
    Deno.mkdirSync(target);
  };
  const writeSet = () => `${target}/`;
  const wf = await duel([
    here(() =>
      dokioPool(rt, s.files, function* (i) {
        yield* writeFile(`${target}/${i}`, data);
      })
    ),
    here(() => denoPool(s.files, (i) => Deno.writeFile(`${target}/${i}`, data))),
    ...FLOOR_THREADS.map((t) => floor(floorBin, "write", t, writeSet, s.files)),
  ], fresh);

  const offs = offsets(s.reads, s.big);
  const [ra, ra2] = await duel([
    here(() =>
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
      })
    ),
    here(async () => {
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
    }),
  ]);

  const [sq, sq2] = await duel([
    here(() =>
      rt.spawn(function* () {
        using f = yield* open(big);
        const buf = new Uint8Array(SEQ_CHUNK);
        while ((yield* f.read(buf)) !== null) { /* next chunk */ }
      })
    ),
    here(async () => {
      using f = await Deno.open(big);
      const buf = new Uint8Array(SEQ_CHUNK);
      while ((await f.read(buf)) !== null) { /* next chunk */ }
    }),
  ]);
  await rt.shutdown();

  const perRead = 1000 / s.reads, gib = s.big / 2 ** 30, mib = s.big / MIB;
  const perFile = (ms: number) => ms * 1000 / s.files;
  /** A whole-file workload's rows: wall time against Deno (its bar) and against the syscalls
   * alone in C, then CPU time against Deno and against one C thread. */
  const wholeFile = (what: string, [mine, deno, ...c]: Sample[], peer: string, bar: string) => {
    const calls = what.startsWith("readFile") ? "open+read+close" : "open(create)+write+close";
    const cName = (k: number) => `C ${calls}, ${FLOOR_THREADS[k]} thread${k > 0 ? "s" : ""}`;
    const w = what.replace(/^\w+/, (fn) => `${fn} ${s.files} × 4 KiB`) + `, ${IN_FLIGHT} in flight`;
    return [
      row(name(w), perFile(mine.wallMs), perFile(deno.wallMs), peer, "µs/file", false, bar),
      ...c.map((f, k) =>
        row(name(`${w}: wall`), perFile(mine.wallMs), perFile(f.wallMs), cName(k), "µs/file", false)
      ),
      row(name(`${w}: CPU`), perFile(mine.cpuMs), perFile(deno.cpuMs), peer, "µs CPU/file", false),
      row(
        name(`${w}: CPU`),
        perFile(mine.cpuMs),
        perFile(c[0].cpuMs),
        cName(0),
        "µs CPU/file",
        false,
      ),
    ];
  };
  return [
    ...wholeFile("readFile", rf, "Deno.readFile", bars[0]),
    ...wholeFile("writeFile (create)", wf, "Deno.writeFile", bars[1]),
    row(
      name(`${s.reads} random 4 KiB readAt on ${mib} MiB, ${IN_FLIGHT} in flight`),
      ra.wallMs * perRead,
      ra2.wallMs * perRead,
      `${IN_FLIGHT} FsFile seek+read`,
      "µs/read",
      false,
      bars[2],
    ),
    row(
      name(`sequential read of ${mib} MiB, 256 KiB reads`),
      gib / (sq.wallMs / 1000),
      gib / (sq2.wallMs / 1000),
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
    const floorBin = await buildBenchProgram("fs_floor");
    const rows: BenchRow[] = [];
    const backends: ("io_uring" | "epoll")[] = Deno.build.os === "linux"
      ? ["io_uring", "epoll"]
      : [];
    for (const b of backends) rows.push(...await suite(b, s, dir, paths, big, floorBin));
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
