/**
 * Internal: Tokio as a bench peer. Builds the `bench/tokio/` crate (Tokio
 * pinned in its Cargo.lock) with `cargo build --release --locked` on first
 * use, and runs one of its workloads per process on current_thread ("ct")
 * or multi_thread with 2 workers ("mt").
 *
 * Invariant: when `cargo` is missing or the build fails, {@linkcode tokioBin}
 * says why once on stderr and resolves to null, and every Tokio figure of
 * the run is null (the table shows "—"); nothing else is skipped.
 *
 * @module
 */

import type { Timer } from "./_util.ts";

const CRATE = new URL("./tokio/", import.meta.url);
const BIN = new URL("target/release/dokio-tokio-bench", CRATE).pathname;

/** Tokio's runtime flavours: current_thread, multi_thread with 2 workers. */
export type Flavor = "ct" | "mt";

/**
 * What the Tokio binary prints for one workload.
 *
 * @example
 * ```ts
 * import type { TokioResult } from "./_tokio.ts";
 * import assert from "node:assert/strict";
 * const r: TokioResult = { ms: 440, heapMB: null, check: 1 };
 * assert.equal(r.ms, 440);
 * ```
 */
export interface TokioResult {
  /** Wall time of the timed run, ms. */
  ms: number;
  /** Live heap at the workload's fullest point, MB (timer workloads only). */
  heapMB: number | null;
  /** The workload's result (a sum or a count), to show it ran. */
  check: number;
}

function mtime(path: string): number {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
}

/** The binary is newer than every input of its build. */
function fresh(): boolean {
  const dir = CRATE.pathname;
  const inputs = [`${dir}Cargo.toml`, `${dir}Cargo.lock`];
  for (const e of Deno.readDirSync(`${dir}src`)) inputs.push(`${dir}src/${e.name}`);
  const built = mtime(BIN);
  return built > 0 && inputs.every((p) => mtime(p) < built);
}

async function build(): Promise<string | null> {
  if (fresh()) return BIN;
  console.error("building bench/tokio (cargo build --release --locked)…");
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("cargo", {
      args: ["build", "--release", "--locked", "--quiet"],
      cwd: CRATE.pathname,
      stdout: "null",
      stderr: "inherit",
    }).output();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    console.error(
      "Tokio rows skipped: `cargo` is not on PATH (install Rust, https://rustup.rs, to bench Tokio)",
    );
    return null;
  }
  if (!out.success) {
    console.error(
      `Tokio rows skipped: cargo build in bench/tokio failed (exit ${out.code}; ` +
        "the first build fetches Tokio from crates.io)",
    );
    return null;
  }
  return BIN;
}

let built: Promise<string | null> | undefined;

/**
 * The path of the release-built Tokio bench binary, building it when it is
 * missing or older than its sources; null when it cannot be built.
 *
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * import { tokioBin } from "./_tokio.ts";
 * const bin = await tokioBin(); // null without cargo
 * ```
 */
export function tokioBin(): Promise<string | null> {
  return built ??= build();
}

/**
 * Run one workload in a fresh Tokio process and return what it printed.
 *
 * @throws {Error} when the binary fails.
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * import { tokioRun } from "./_tokio.ts";
 * const r = await tokioRun(bin, "ct", "spawn_join", 1_000_000);
 * ```
 */
export async function tokioRun(
  bin: string,
  flavor: Flavor,
  workload: string,
  ...nums: number[]
): Promise<TokioResult> {
  const out = await new Deno.Command(bin, {
    args: [flavor, workload, ...nums.map(String)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`tokio ${flavor} ${workload} failed (exit ${out.code})`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim()) as TokioResult;
}

/**
 * The two Tokio contenders of a workload, current_thread then multi_thread,
 * each timing one fresh process's run; nulls when Tokio is unavailable.
 *
 * @example
 * ```ts ignore
 * // Not run: bench tooling: it starts servers or runs loads (deno task bench runs it).
 * import { tokioTimers } from "./_tokio.ts";
 * const [ct, mt] = await tokioTimers("yields", 1000, 1000);
 * ```
 */
export async function tokioTimers(
  workload: string,
  ...nums: number[]
): Promise<[Timer | null, Timer | null]> {
  const bin = await tokioBin();
  if (bin === null) return [null, null];
  const timer = (f: Flavor): Timer => async () => (await tokioRun(bin, f, workload, ...nums)).ms;
  return [timer("ct"), timer("mt")];
}
