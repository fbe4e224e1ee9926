/**
 * Shared tooling of the hostile-client tests (tests/hostile_*_test.ts): a
 * daemon's RSS and fd count from /proc, the process's open-files limits,
 * many connections opened in batches, a write loop that stops when the
 * peer stops taking bytes, and a connection that ends with a reset.
 *
 * @module
 */

import { run, TcpSocket } from "../mod.ts";
import { inCi } from "./tool_helpers.ts";

/**
 * A process's resident set, bytes.
 *
 * @param pid the process
 * @returns VmRSS from /proc/<pid>/status
 */
export function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * A process's open fds.
 *
 * @param pid the process
 * @returns the entries of /proc/<pid>/fd
 */
export function fdCount(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}

/**
 * This process's open-files limits.
 *
 * @returns the soft and hard RLIMIT_NOFILE
 */
export function nofile(): { soft: number; hard: number } {
  const line = Deno.readTextFileSync("/proc/self/limits").split("\n")
    .find((l) => l.startsWith("Max open files"));
  const [soft, hard] = (line ?? "").split(/\s{2,}/).slice(1, 3).map((v) =>
    v === "unlimited" ? Infinity : Number(v)
  );
  return { soft, hard };
}

/**
 * Whether a test needing `fds` open files is skipped: prints why, or in CI
 * (`DOKIO_CI=1`) throws. Deno raises its soft limit to the hard one when it
 * starts (the daemons, Deno processes too, get the same), so the soft
 * limit seen here is the most there is.
 *
 * @param suite what is skipped
 * @param fds the open files it needs (in this process and in the daemon)
 * @returns the value for `Deno.test`'s `ignore`
 * @throws {Error} in CI when the limit is too low
 */
export function ignoreWithoutFds(suite: string, fds: number): boolean {
  const { soft, hard } = nofile();
  if (soft >= fds && hard >= fds) return false;
  const why = `${suite}: needs ${fds} open files, ulimit -n is ${soft} (hard ${hard}); ` +
    `raise it (ulimit -n ${fds}) to run it`;
  if (inCi()) throw new Error(`${why}; CI (DOKIO_CI=1) runs every suite`);
  console.log(`skipped ${why}`);
  return true;
}

/**
 * Open `n` connections to `port`, `batch` at a time.
 *
 * @param port the daemon's port
 * @param n how many
 * @param batch how many connects are in flight at once
 * @returns the connections
 */
export async function connectMany(port: number, n: number, batch = 250): Promise<Deno.TcpConn[]> {
  const conns: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < n; i += batch) {
      const k = Math.min(batch, n - i);
      conns.push(
        ...await Promise.all(
          Array.from({ length: k }, () => Deno.connect({ hostname: "127.0.0.1", port })),
        ),
      );
    }
  } catch (e) {
    for (const c of conns) c.close();
    throw e;
  }
  return conns;
}

/** How a write loop against a peer that does not read ended. */
export interface Flood {
  /** Bytes the kernel took. */
  written: number;
  /** The peer closed or reset the connection (a write failed). */
  dropped: boolean;
}

/**
 * Write `chunk` to `conn` again and again without reading, until a write
 * takes no bytes for `stallMs` (the peer applies back-pressure), a write
 * fails (the peer dropped us), or `limitMs` passed. A write still pending
 * at the end settles when the caller closes `conn`.
 *
 * @param conn the connection
 * @param chunk what to write each time
 * @param stallMs how long a write may wait before the loop calls it stalled
 * @param limitMs the longest the loop runs
 * @param stopAtStall whether a stall ends the loop (false: only a failed write or the time does)
 * @returns what was written and whether the peer dropped the connection
 */
export async function flood(
  conn: Deno.Conn,
  chunk: Uint8Array,
  stallMs: number,
  limitMs: number,
  stopAtStall: boolean,
): Promise<Flood> {
  let written = 0;
  const end = Date.now() + limitMs;
  let pending: Promise<number> | null = null;
  while (Date.now() < end) {
    pending ??= conn.write(chunk);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      pending.then((n) => ({ n }), (e) => ({ e })),
      new Promise<"stall">((res) => (timer = setTimeout(() => res("stall"), stallMs))),
    ]);
    clearTimeout(timer);
    if (r === "stall") {
      if (stopAtStall) {
        pending.catch(() => {});
        return { written, dropped: false };
      }
      continue;
    }
    pending = null;
    if ("e" in r) return { written, dropped: true };
    written += r.n;
  }
  pending?.catch(() => {});
  return { written, dropped: false };
}

/**
 * Connect to `port`, write `bytes`, and close with SO_LINGER 0: the peer gets a reset.
 *
 * @param port the daemon's port
 * @param bytes what to send first
 */
export async function resetAfter(port: number, bytes: Uint8Array): Promise<void> {
  await run(function* () {
    const sock = yield* TcpSocket.newV4();
    sock.setLinger(0);
    const conn = yield* sock.connect({ hostname: "127.0.0.1", port });
    yield* conn.writeAll(bytes);
    conn.close();
  });
}

/**
 * Poll `cond` every 50 ms until it holds or `ms` passed.
 *
 * @param cond the condition
 * @param ms how long to wait
 * @returns whether it held
 */
export async function waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}
