/**
 * Shared helpers of the mini-redis tests: start the server as a child
 * process, run the real `redis-cli`, and talk raw RESP over `Deno.connect`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Daemon, startDaemon } from "./net_helpers.ts";

/** The server script. */
export const SERVER = new URL("../examples/mini_redis/server.ts", import.meta.url).pathname;
/** Both reactor backends. */
export const BACKENDS = ["epoll", "io_uring"] as const;

/**
 * Start mini-redis on `backend` with `args`.
 *
 * @example
 * ```ts ignore
 * const d = await startRedis("epoll");
 * ```
 */
export function startRedis(backend: string, args: string[] = []): Promise<Daemon> {
  return startDaemon(SERVER, backend, args);
}

/**
 * Stop a server with SIGTERM; it must exit 0.
 *
 * @example
 * ```ts ignore
 * await stopRedis(d);
 * ```
 */
export async function stopRedis(d: Daemon): Promise<void> {
  d.child.kill("SIGTERM");
  const st = await d.done;
  await d.lines;
  assert.equal(st.code, 0, d.out.join("\n"));
}

const dec = new TextDecoder();

/**
 * Run the real `redis-cli -p port ...args` (stdin: `input`); its stdout.
 *
 * @example
 * ```ts ignore
 * assert.equal(await cli(d.port, "PING"), "PONG\n");
 * ```
 */
export async function cli(port: number, args: string[], input?: Uint8Array): Promise<string> {
  const child = new Deno.Command("redis-cli", {
    args: ["-p", String(port), ...args],
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(input);
    await w.close();
  }
  const o = await child.output();
  assert.equal(o.code, 0, dec.decode(o.stderr));
  return dec.decode(o.stdout);
}

/**
 * Read from `conn` until `want` bytes arrived or the peer closed; the bytes.
 *
 * @example
 * ```ts ignore
 * const got = await readN(conn, 7);
 * ```
 */
export async function readN(conn: Deno.Conn, want: number): Promise<Uint8Array> {
  const out = new Uint8Array(want);
  let got = 0;
  while (got < want) {
    const n = await conn.read(out.subarray(got));
    if (n === null) break;
    got += n;
  }
  return out.subarray(0, got);
}

/**
 * Read until the peer closes (or `limit` bytes); the text.
 *
 * @example
 * ```ts ignore
 * const all = await readToEnd(conn);
 * ```
 */
export async function readToEnd(conn: Deno.Conn, limit = 1 << 20): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
    if (total >= limit) break;
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  return dec.decode(all);
}

/**
 * Send `req` and read exactly the length of `expect`; it must be `expect`.
 *
 * @example
 * ```ts ignore
 * await roundTrip(conn, "PING\r\n", "+PONG\r\n");
 * ```
 */
export async function roundTrip(
  conn: Deno.Conn,
  req: string | Uint8Array,
  expect: string | Uint8Array,
): Promise<void> {
  const b = typeof req === "string" ? new TextEncoder().encode(req) : req;
  let off = 0;
  while (off < b.length) off += await conn.write(b.subarray(off));
  const want = typeof expect === "string" ? new TextEncoder().encode(expect) : expect;
  const got = await readN(conn, want.length);
  if (typeof expect === "string") assert.equal(dec.decode(got), expect);
  else assert.deepEqual(got, want);
}

/**
 * A RESP multibulk frame of `args`.
 *
 * @example
 * ```ts ignore
 * const f = frame(["SET", "k", "v"]);
 * ```
 */
export function frame(args: (string | Uint8Array)[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [enc.encode(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? enc.encode(a) : a;
    parts.push(enc.encode(`$${b.length}\r\n`), b, enc.encode("\r\n"));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
