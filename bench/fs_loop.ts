/**
 * A profiling loop, not a suite: one side alone (Dokio's fs/ or Deno's file API), so `perf record`,
 * `perf trace -s` or `strace -c -f` see only that side. 10,000 × 4 KiB `readFile`s, or
 * `writeFile`s creating new files, 64 in flight, `rounds` times; each round prints its wall time
 * and the process's CPU time per file. Files live in `dir` (default `.dokio/fs_loop` here; the
 * 10,000 read files are made once and kept, each write round makes a directory, removed at exit).
 * Ratios belong to bench/fs_bench.ts, which runs both peers in one run.
 *
 * `deno run -A bench/fs_loop.ts <io_uring|epoll> <read|write> <dokio|deno> [rounds] [dir]`
 *
 * @module
 */

import { Runtime, spawn } from "../runtime/mod.ts";
import { readFile, writeFile } from "../fs/mod.ts";
import { procCpuSeconds } from "./_util.ts";

const FILES = 10_000;
const IN_FLIGHT = 64;
const SIZE = 4096;

/** The process's user + system CPU time in ms (Linux), or NaN. */
function cpuMs(): number {
  try {
    const [user, kernel] = procCpuSeconds(Deno.pid);
    return (user + kernel) * 1000;
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  const [backend, what, side] = Deno.args as ["io_uring" | "epoll", string, string];
  if (!["io_uring", "epoll"].includes(backend) || !["read", "write"].includes(what)) {
    throw new TypeError(
      "usage: fs_loop.ts <io_uring|epoll> <read|write> <dokio|deno> [rounds] [dir]",
    );
  }
  const rounds = Number(Deno.args[3] ?? 5);
  const dir = Deno.args[4] ?? `${new URL("../.dokio/fs_loop", import.meta.url).pathname}`;
  Deno.mkdirSync(dir, { recursive: true });
  const data = new Uint8Array(SIZE).fill(0x61);
  const paths: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const p = `${dir}/f${i}`;
    try {
      Deno.statSync(p);
    } catch {
      Deno.writeFileSync(p, data);
    }
    paths.push(p);
  }
  const rt = new Runtime({ backend });
  const made: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const target = `${dir}/w${Date.now()}_${r}`;
    if (what === "write") {
      Deno.mkdirSync(target);
      made.push(target);
    }
    const t0 = performance.now(), c0 = cpuMs();
    if (side === "dokio") {
      await rt.spawn(function* () {
        const hs = [];
        for (let w = 0; w < IN_FLIGHT; w++) {
          hs.push(spawn(function* () {
            for (let i = w; i < FILES; i += IN_FLIGHT) {
              if (what === "read") yield* readFile(paths[i]);
              else yield* writeFile(`${target}/${i}`, data);
            }
          }()));
        }
        for (const h of hs) yield* h;
      });
    } else {
      await Promise.all(Array.from({ length: IN_FLIGHT }, async (_, w) => {
        for (let i = w; i < FILES; i += IN_FLIGHT) {
          if (what === "read") await Deno.readFile(paths[i]);
          else await Deno.writeFile(`${target}/${i}`, data);
        }
      }));
    }
    const wall = (performance.now() - t0) * 1000 / FILES, cpu = (cpuMs() - c0) * 1000 / FILES;
    console.log(
      `${backend} ${what} ${side}: ${wall.toFixed(2)} µs/file wall, ${cpu.toFixed(1)} µs/file CPU`,
    );
  }
  await rt.shutdown();
  for (const d of made) Deno.removeSync(d, { recursive: true });
}

if (import.meta.main) await main();
