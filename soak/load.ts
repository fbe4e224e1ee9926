/**
 * The soak's load generator, a process of its own so its work does not show
 * in the server's figures: `deno run -A soak/load.ts --echo PORT --redis PORT
 * --seconds N [--seed S]`. Runs for N seconds, then prints one `counts` line
 * (soak/sample.ts) and exits.
 *
 * Echo workers open a connection, check a random number of round trips of
 * random bytes (every echoed byte compared), and close it in one of several
 * ways (close, half-close then end of stream); some connections are instead
 * reset mid-request (SO_LINGER 0, then close: an RST while the server reads
 * or writes). Redis workers send pipelined SET/GET/INCR/DEL batches on keys
 * they own and check every reply against {@linkcode RedisModel}; some of
 * their connections are reset after a batch was sent and before its replies
 * came (the worker then moves to fresh keys and deletes the old ones later).
 * A request with no progress for `LOST_MS` is counted lost. Plain Deno
 * sockets carry the checked traffic; the resets use Dokio's `TcpSocket`
 * (Deno's sockets cannot set SO_LINGER).
 *
 * @module
 */

import { TcpSocket } from "../mod.ts";
import { type Counts, formatCounts } from "./sample.ts";
import { decodeReply, encodeCommand, type ReplyValue } from "./resp_reader.ts";
import { type ModelCommand, RedisModel } from "./redis_model.ts";
import { rng } from "../tests/rng.ts";

/** Concurrent echo clients. */
const ECHO_WORKERS = 8;
/** Concurrent redis clients. */
const REDIS_WORKERS = 4;
/** A request with no progress for this long is lost (far above any loaded-machine stall). */
const LOST_MS = 30_000;
/** Share of connections reset mid-request. */
const RESET_SHARE = 0.08;
/** Most round trips (echo) or batches (redis) on one connection. */
const MAX_EXCHANGES = 24;
/** Most commands in one pipelined batch. */
const MAX_BATCH = 16;
/** Keys of each kind a redis worker owns per generation. */
const KEYS = 8;
/** Old keys are deleted this long after their generation ended (its late commands ran). */
const CLEANUP_AFTER_MS = 5_000;
const HOST = "127.0.0.1";

/** A connection the workers drive: a plain Deno one, or a Dokio one that resets on close. */
interface Wire {
  write(b: Uint8Array): Promise<void>;
  read(b: Uint8Array): Promise<number | null>;
  closeWrite(): Promise<void>;
  close(): void;
}

async function plainWire(port: number): Promise<Wire> {
  const c = await Deno.connect({ hostname: HOST, port });
  c.setNoDelay(true);
  return {
    async write(b) {
      for (let off = 0; off < b.length;) off += await c.write(b.subarray(off));
    },
    read: (b) => c.read(b),
    closeWrite: () => c.closeWrite(),
    close: () => c.close(),
  };
}

/** A connection whose close sends an RST (SO_LINGER 0). */
async function resettingWire(port: number): Promise<Wire> {
  const sock = await TcpSocket.newV4();
  sock.setLinger(0);
  const c = await sock.connect({ hostname: HOST, port });
  c.setNoDelay(true);
  return {
    write: (b) => Promise.resolve(c.writeAll(b)),
    read: (b) => Promise.resolve(c.read(b)),
    closeWrite: () => Promise.resolve(c.closeWrite()),
    close: () => c.close(),
  };
}

/** Counts what the workers did; prints it at the end. */
class Tally {
  readonly c: Counts = {
    echoConnections: 0,
    echoRequests: 0,
    echoBytes: 0,
    echoResets: 0,
    echoWrong: 0,
    echoErrors: 0,
    redisConnections: 0,
    redisRequests: 0,
    redisResets: 0,
    redisWrong: 0,
    redisErrors: 0,
    lost: 0,
  };
  #told = 0;

  add(name: string, n = 1): void {
    this.c[name] = (this.c[name] ?? 0) + n;
  }

  /** Count a failure and say what it was (the first few only). */
  fail(name: string, what: string): void {
    this.add(name);
    if (this.#told++ < 20) console.error(`load: ${name}: ${what}`);
  }
}

/** Fails a request that makes no progress for LOST_MS: closes its wire so its read ends. */
class Watchdog {
  #timer: ReturnType<typeof setTimeout> | undefined;
  fired = false;

  arm(w: Wire): void {
    this.disarm();
    this.#timer = setTimeout(() => {
      this.fired = true;
      w.close();
    }, LOST_MS);
  }

  disarm(): void {
    clearTimeout(this.#timer);
  }
}

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(b.subarray(off, off + 65536));
  return b;
}

/** Sizes: mostly small requests, now and then a large one. */
function payloadSize(r: () => number): number {
  const x = r();
  if (x < 0.7) return 1 + Math.floor(r() * 1024);
  if (x < 0.97) return 1 + Math.floor(r() * 32 * 1024);
  return 64 * 1024 + Math.floor(r() * 192 * 1024);
}

async function echoRoundTrip(w: Wire, dog: Watchdog, t: Tally, r: () => number): Promise<void> {
  const sent = randomBytes(payloadSize(r));
  const got = new Uint8Array(sent.length);
  dog.arm(w);
  const writing = w.write(sent);
  let off = 0;
  while (off < got.length) {
    const n = await w.read(got.subarray(off));
    if (n === null) throw new Error(`end of stream after ${off} of ${got.length} bytes`);
    off += n;
    dog.arm(w);
  }
  await writing;
  dog.disarm();
  t.add("echoRequests");
  t.add("echoBytes", sent.length);
  for (let i = 0; i < sent.length; i++) {
    if (got[i] !== sent[i]) {
      t.fail("echoWrong", `byte ${i} of ${sent.length}: sent ${sent[i]}, got ${got[i]}`);
      return;
    }
  }
}

async function echoConnection(port: number, t: Tally, r: () => number): Promise<void> {
  const reset = r() < RESET_SHARE;
  const w = reset ? await resettingWire(port) : await plainWire(port);
  t.add("echoConnections");
  const dog = new Watchdog();
  try {
    const rounds = Math.floor(r() * MAX_EXCHANGES);
    for (let i = 0; i < rounds; i++) await echoRoundTrip(w, dog, t, r);
    if (reset) {
      // Mid-request: the server is reading this or writing its echo when the RST comes.
      await w.write(randomBytes(payloadSize(r)));
      if (r() < 0.5) await w.read(new Uint8Array(1));
      t.add("echoResets");
      w.close();
      return;
    }
    if (r() < 0.5) {
      // Half-close: the server must see end of stream and close its side.
      await w.closeWrite();
      dog.arm(w);
      const n = await w.read(new Uint8Array(1));
      if (n !== null) t.fail("echoWrong", `${n} byte(s) after the half-close`);
    }
    w.close();
  } catch (e) {
    if (dog.fired) t.fail("lost", `echo: no progress for ${LOST_MS} ms`);
    else t.fail("echoErrors", String(e));
    try {
      w.close();
    } catch { /* closed by the watchdog */ }
  } finally {
    dog.disarm();
  }
}

/** The replies to `n` commands, read from `w`. */
async function readReplies(w: Wire, n: number, dog: Watchdog): Promise<ReplyValue[]> {
  const out: ReplyValue[] = [];
  let buf = new Uint8Array(64 * 1024);
  let end = 0;
  let at = 0;
  dog.arm(w);
  while (out.length < n) {
    const d = decodeReply(buf, at, end);
    if (d !== null) {
      out.push(d.value);
      at += d.used;
      continue;
    }
    if (at > 0) {
      buf.copyWithin(0, at, end);
      end -= at;
      at = 0;
    }
    if (end === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const got = await w.read(buf.subarray(end));
    if (got === null) throw new Error(`end of stream after ${out.length} of ${n} replies`);
    end += got;
    dog.arm(w);
  }
  dog.disarm();
  if (at !== end) throw new Error(`${end - at} bytes after the last reply`);
  return out;
}

function valueOf(r: () => number): string {
  const n = r() < 0.95 ? 1 + Math.floor(r() * 256) : 1 + Math.floor(r() * 64 * 1024);
  const start = 33 + Math.floor(r() * 90);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(33 + ((start + i) % 94));
  return s;
}

/** One redis worker: its keys carry its number and a generation (new after each reset). */
class RedisWorker {
  model = new RedisModel();
  gen = 0;
  /** Keys of ended generations, with when they may be deleted. */
  cleanup: { at: number; keys: string[] }[] = [];

  constructor(readonly id: number) {}

  key(kind: "s" | "c", k: number, gen = this.gen): string {
    return `soak:${this.id}:${gen}:${kind}${k}`;
  }

  keysOf(gen: number): string[] {
    const ks: string[] = [];
    for (let k = 0; k < KEYS; k++) ks.push(this.key("s", k, gen), this.key("c", k, gen));
    return ks;
  }

  command(r: () => number): ModelCommand {
    const k = Math.floor(r() * KEYS);
    const x = r();
    if (x < 0.3) return { op: "SET", key: this.key("s", k), value: valueOf(r) };
    if (x < 0.6) return { op: "GET", key: this.key(r() < 0.5 ? "s" : "c", k) };
    if (x < 0.9) return { op: "INCR", key: this.key("c", k) };
    return { op: "DEL", key: this.key(r() < 0.5 ? "s" : "c", k) };
  }
}

function encodeAll(cmds: ModelCommand[]): Uint8Array {
  const parts = cmds.map((c) =>
    encodeCommand(c.op === "SET" ? [c.op, c.key, c.value] : [c.op, c.key])
  );
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function redisConnection(
  port: number,
  me: RedisWorker,
  t: Tally,
  r: () => number,
): Promise<void> {
  const reset = r() < RESET_SHARE;
  const w = reset ? await resettingWire(port) : await plainWire(port);
  t.add("redisConnections");
  const dog = new Watchdog();
  try {
    const due = me.cleanup.length > 0 && me.cleanup[0].at <= Date.now()
      ? me.cleanup.shift()!
      : null;
    if (due !== null) {
      // An ended generation: its keys are ours to delete; any count of deletions is right.
      await w.write(encodeAll(due.keys.map((key) => ({ op: "DEL", key }))));
      for (const v of await readReplies(w, due.keys.length, dog)) {
        if (v !== 0 && v !== 1) t.fail("redisWrong", `DEL of an old key: ${JSON.stringify(v)}`);
      }
    }
    const batches = Math.floor(r() * MAX_EXCHANGES);
    for (let i = 0; i < batches; i++) {
      const cmds: ModelCommand[] = [];
      const n = 1 + Math.floor(r() * MAX_BATCH);
      for (let k = 0; k < n; k++) cmds.push(me.command(r));
      await w.write(encodeAll(cmds));
      const replies = await readReplies(w, cmds.length, dog);
      for (let k = 0; k < cmds.length; k++) {
        t.add("redisRequests");
        if (!me.model.check(cmds[k], replies[k])) {
          t.fail(
            "redisWrong",
            `${cmds[k].op} ${cmds[k].key}: got ${JSON.stringify(replies[k])?.slice(0, 80)}`,
          );
        }
      }
    }
    if (reset) {
      // Mid-request: the batch is sent, its replies not read; then the RST.
      const cmds: ModelCommand[] = [];
      for (let k = 1 + Math.floor(r() * MAX_BATCH); k > 0; k--) cmds.push(me.command(r));
      await w.write(encodeAll(cmds));
      t.add("redisResets");
      w.close();
      me.cleanup.push({ at: Date.now() + CLEANUP_AFTER_MS, keys: me.keysOf(me.gen) });
      me.gen++;
      me.model = new RedisModel();
      return;
    }
    w.close();
  } catch (e) {
    if (dog.fired) t.fail("lost", `redis: no progress for ${LOST_MS} ms`);
    else t.fail("redisErrors", String(e));
    try {
      w.close();
    } catch { /* closed by the watchdog */ }
    // Replies may be missing: this generation's keys are no longer known.
    me.cleanup.push({ at: Date.now() + CLEANUP_AFTER_MS, keys: me.keysOf(me.gen) });
    me.gen++;
    me.model = new RedisModel();
  } finally {
    dog.disarm();
  }
}

function flag(args: string[], name: string, dflt?: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  if (v === undefined || !Number.isFinite(v)) throw new TypeError(`load.ts: --${name} N needed`);
  return v;
}

async function main(args: string[]): Promise<void> {
  const echoPort = flag(args, "echo");
  const redisPort = flag(args, "redis");
  const until = Date.now() + flag(args, "seconds") * 1000;
  const seed = flag(args, "seed", 1);
  const t = new Tally();
  const loops: Promise<void>[] = [];
  for (let i = 0; i < ECHO_WORKERS; i++) {
    const r = rng(seed * 1000 + i);
    loops.push((async () => {
      while (Date.now() < until) await echoConnection(echoPort, t, r);
    })());
  }
  for (let i = 0; i < REDIS_WORKERS; i++) {
    const r = rng(seed * 1000 + 500 + i);
    const me = new RedisWorker(i);
    loops.push((async () => {
      while (Date.now() < until) await redisConnection(redisPort, me, t, r);
    })());
  }
  await Promise.all(loops);
  console.log(formatCounts(t.c));
}

if (import.meta.main) {
  await main(Deno.args);
  Deno.exit(0);
}
