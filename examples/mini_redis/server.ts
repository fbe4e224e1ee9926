/**
 * mini-redis on Dokio: a Redis server (RESP2 and inline commands, strings
 * with exact expiry, lists, pub/sub) in one isolate, as Redis itself is
 * single-threaded. `deno task redis [--port 6379]`.
 *
 * One task per connection reads what the socket has into its read buffer
 * (inbox.ts, parsed in place by offset), runs every complete command in it, encodes
 * every reply into one output buffer and writes it with one write — so a
 * pipeline of N commands costs one read and one write, not N. A background
 * task deletes keys when their deadline comes (a heap of deadlines,
 * `sleepUntil` the earliest, woken by a `Notify` when an earlier one is
 * set); reads also check deadlines, so an expired value is never returned.
 *
 * Flags: `--host` (127.0.0.1), `--port` (6379; 0 picks one),
 * `--max-clients` (10000), `--max-bulk` (536870912 bytes), `--max-query`
 * (1073741824 bytes: a connection with more of an incomplete request
 * buffered is told `-ERR Protocol error: query buffer limit reached` and
 * closed), `--drain-ms` (2000), `--write-timeout-ms` (60000; 0: none).
 * SIGINT/SIGTERM: stop accepting, close idle connections, let busy ones
 * finish their commands and write their replies, close what is left at the
 * drain deadline, exit 0.
 *
 * A client that sends requests but does not read its replies makes the
 * server hold at most `OUT_HIGH` (1 MiB) of its replies plus one reply: a
 * batch stops executing commands while that much output is unwritten, and
 * the rest of the batch waits for the write. A connection whose replies
 * the peer has not taken within `--write-timeout-ms` is closed.
 *
 * @example
 * ```sh
 * deno task redis --port 6380 &
 * redis-cli -p 6380 set greeting hello
 * ```
 *
 * @module
 */

import { spawn } from "../../runtime/mod.ts";
import type { JoinHandle } from "../../runtime/mod.ts";
import { IoError, TcpListener, type TcpStream } from "../../net/mod.ts";
import {
  type BroadcastReceiver,
  LaggedError,
  Notify,
  select,
  Semaphore,
  shutdownSignal,
  TaskTracker,
} from "../../sync/mod.ts";
import { now, sleep, sleepUntil } from "../../time/mod.ts";
import { Db } from "./db.ts";
import { type Ctx, execute, type Session } from "./commands.ts";
import { Command, DEFAULT_MAX_BULK, parseCommand, ProtocolError, Reply } from "./resp.ts";
import { Hub } from "./pubsub.ts";
import { Inbox } from "./inbox.ts";
import { checkInt, daemon, parseFlags as parseArgs } from "../_daemon.ts";
import { WRITE_CHECKS_PER_TIMEOUT, WriteStallWatcher, type WriteWatch } from "../_write_stall.ts";
import {
  CONSOLE_FLAGS,
  CONSOLE_USAGE,
  type ConsoleAddr,
  consoleAddr,
  runWithConsole,
} from "../_console.ts";

/** Server settings (the command-line flags). */
export interface ServerOptions {
  /** Address to listen on. */
  host: string;
  /** Port (0: any free one). */
  port: number;
  /** Most connections served at once; more are told so and closed. */
  maxClients: number;
  /** Longest bulk string accepted, bytes. */
  maxBulk: number;
  /** Most bytes of requests a connection may have buffered (an incomplete frame), bytes. */
  maxQuery: number;
  /** How long open connections may take to finish at shutdown, ms. */
  drainMs: number;
  /** A connection whose pending replies are not all written within this is closed, ms (0: never). */
  writeTimeoutMs: number;
  /** `--console`: where to serve the runtime's instrumentation (absent or null: off). */
  console?: ConsoleAddr;
}

/** Read buffer of a connection, bytes (grows for a larger frame). */
const READ_CAPACITY = 16 * 1024;
/**
 * Default `--max-query` (Redis's `client-query-buffer-limit`): a frame of up to 1M arguments of up
 * to `--max-bulk` each must not make one connection buffer without bound.
 */
const MAX_QUERY = 1024 * 1024 * 1024;
/**
 * Pending pub/sub output past which a subscriber is dropped (as Redis's
 * `client-output-buffer-limit pubsub`): a peer that does not read cannot
 * make the server hold more than this plus the channel rings.
 */
const OUT_LIMIT = 8 * 1024 * 1024;
/** An output buffer that grew past this is dropped after its write. */
const OUT_KEEP = 256 * 1024;
/**
 * Unwritten replies past which a batch executes no more commands until they
 * are written: a pipeline of large replies to a peer that does not read
 * keeps at most this plus one reply.
 */
const OUT_HIGH = 1024 * 1024;
/** Default `--write-timeout-ms`. */
const WRITE_TIMEOUT_MS = 60_000;

const enc = new TextEncoder();
const MAX_CLIENTS_REPLY = enc.encode("-ERR max number of clients reached\r\n");

const USAGE = "usage: deno task redis [--host 127.0.0.1] [--port 6379] [--max-clients 10000]" +
  " [--max-bulk 536870912] [--max-query 1073741824] [--drain-ms 2000]" +
  " [--write-timeout-ms 60000]" + CONSOLE_USAGE;

/**
 * Parse the command line (with the examples' shared parser, examples/_flags.ts).
 *
 * @param args the flags
 * @returns the options
 * @throws {UsageError} for an unknown flag, a missing value or a value out of range
 */
export function parseFlags(args: string[]): ServerOptions {
  const given = parseArgs(args, {
    host: "string",
    port: "port",
    "max-clients": "number",
    "max-bulk": "number",
    "max-query": "number",
    "drain-ms": "number",
    "write-timeout-ms": "number",
    ...CONSOLE_FLAGS,
  }, USAGE);
  return {
    host: given.host ?? "127.0.0.1",
    port: given.port ?? 6379,
    maxClients: checkInt("--max-clients", given["max-clients"] ?? 10_000, 1, 1_000_000),
    maxBulk: checkInt("--max-bulk", given["max-bulk"] ?? DEFAULT_MAX_BULK, 1, DEFAULT_MAX_BULK),
    maxQuery: checkInt(
      "--max-query",
      given["max-query"] ?? MAX_QUERY,
      READ_CAPACITY,
      2 * MAX_QUERY,
    ),
    drainMs: checkInt("--drain-ms", given["drain-ms"] ?? 2000, 0, 3_600_000),
    writeTimeoutMs: checkInt(
      "--write-timeout-ms",
      given["write-timeout-ms"] ?? WRITE_TIMEOUT_MS,
      0,
      3_600_000,
    ),
    console: consoleAddr(given),
  };
}

/** One subscription of a connection: its receiver and the task forwarding it. */
interface Sub {
  rx: BroadcastReceiver<Uint8Array>;
  task: JoinHandle<void>;
}

/** A connection's state: its output buffers and its subscriptions. */
class Conn implements Session {
  readonly stream: TcpStream;
  readonly #server: MiniRedis;
  /** Replies not yet written. */
  out: Reply = new Reply();
  /** The other buffer (written while `out` fills). */
  spare: Reply = new Reply();
  readonly channels = new Map<string, Sub>();
  readonly patterns = new Map<string, Sub>();
  /** Pub/sub output arrived (or the subscriber lagged). */
  readonly kick = new Notify();
  /** QUIT, a lag, or the server stopping: close after writing. */
  closing = false;
  /** Messages a subscriber missed (> 0: it is told and dropped). */
  lagged = 0;
  /** Its writes of the output (in progress or not; the server's write-timeout checks see them). */
  readonly write: WriteWatch;
  /** Waiting for a request with nothing half-read (shutdown may close it at once). */
  idle = false;

  constructor(stream: TcpStream, server: MiniRedis) {
    this.stream = stream;
    this.#server = server;
    // A write stuck on a peer that does not read: close (the write fails, serve ends).
    this.write = server.writes.watch(server.options.writeTimeoutMs, () => {
      this.closing = true;
      this.stream.close();
    });
  }

  get subscriptions(): number {
    return this.channels.size + this.patterns.size;
  }

  subscribe(names: string[], pattern: boolean, out: Reply): void {
    const map = pattern ? this.patterns : this.channels;
    for (const name of names) {
      if (!map.has(name)) {
        const rx = this.#server.hub.subscribe(name, pattern);
        map.set(name, { rx, task: spawn(forward(this, rx)) });
      }
      out.array(3);
      out.bulkStr(pattern ? "psubscribe" : "subscribe");
      out.bulkStr(name);
      out.int(this.subscriptions);
    }
  }

  unsubscribe(names: string[], pattern: boolean, out: Reply): void {
    const map = pattern ? this.patterns : this.channels;
    const kind = pattern ? "punsubscribe" : "unsubscribe";
    const list = names.length > 0 ? names : [...map.keys()];
    if (list.length === 0) {
      out.array(3);
      out.bulkStr(kind);
      out.nil();
      out.int(this.subscriptions);
    }
    for (const name of list) {
      this.#drop(map, name, pattern);
      out.array(3);
      out.bulkStr(kind);
      out.bulkStr(name);
      out.int(this.subscriptions);
    }
  }

  #drop(map: Map<string, Sub>, name: string, pattern: boolean): void {
    const sub = map.get(name);
    if (sub === undefined) return;
    map.delete(name);
    sub.task.abort();
    this.#server.hub.release(name, pattern, sub.rx);
  }

  /** Drop every subscription (the connection is going away). */
  dropAll(): void {
    for (const name of [...this.channels.keys()]) this.#drop(this.channels, name, false);
    for (const name of [...this.patterns.keys()]) this.#drop(this.patterns, name, true);
  }

  publish(channel: string, msg: Uint8Array): number {
    return this.#server.hub.publish(channel, msg);
  }

  quit(): void {
    this.closing = true;
  }

  /** Drop a subscriber that fell behind: tell it when its socket takes writes, else close now. */
  lag(missed: number): void {
    this.lagged += missed;
    this.closing = true;
    // A write stuck on a peer that does not read: it cannot be told, so drop it now.
    if (this.write.writing) this.stream.close();
    else this.kick.notifyOne();
  }
}

/** Forward one subscription's frames to its connection, waiting while the socket is behind. */
function* forward(c: Conn, rx: BroadcastReceiver<Uint8Array>): Generator<unknown, void, unknown> {
  try {
    for (;;) {
      const frame = yield* rx.recv();
      if (frame === undefined) return;
      if (c.closing) return;
      c.out.raw(frame);
      if (c.out.len > OUT_LIMIT) return c.lag(1);
      c.kick.notifyOne();
    }
  } catch (e) {
    if (!(e instanceof LaggedError)) throw e;
    c.lag(e.missed);
  }
}

/** Start writing `c.out`: it becomes the spare (forwarders add to the other buffer meanwhile). */
function startWrite(c: Conn): Reply {
  const o = c.out;
  c.out = c.spare;
  c.spare = o;
  c.write.begin();
  return o;
}

/** `o`, which `startWrite` gave, is written. */
function endWrite(c: Conn, o: Reply): void {
  o.clear();
  if (o.buf.length > OUT_KEEP) c.spare = new Reply();
}

/** Write everything pending (what forwarders add meanwhile goes to the other buffer). */
function* flush(c: Conn): Generator<unknown, void, unknown> {
  while (c.out.len > 0) {
    const o = startWrite(c);
    try {
      yield* c.stream.writeAll(o.bytes);
    } finally {
      c.write.end();
    }
    endWrite(c, o);
  }
}

/** The server: its key space, hub, connections and settings. */
export class MiniRedis {
  readonly db: Db = new Db(now);
  readonly hub: Hub = new Hub();
  readonly options: ServerOptions;
  readonly conns: Set<Conn> = new Set();
  /** Its connections' writes, for `writeTimeoutMs` (none watched when it is 0). */
  readonly writes: WriteStallWatcher = new WriteStallWatcher();
  readonly #purgeWake = new Notify();
  #stopping = false;

  /** @param options the settings */
  constructor(options: ServerOptions) {
    this.options = options;
    this.db.onEarlier = () => this.#purgeWake.notifyOne();
  }

  /** Delete keys as their deadlines come; runs until aborted. */
  *purge(): Generator<unknown, void, unknown> {
    for (;;) {
      const next = this.db.purge(now());
      if (next === null) yield* this.#purgeWake.notified();
      else yield* select({ due: sleepUntil(next), earlier: this.#purgeWake.notified() });
    }
  }

  /** Close connections whose writes stall past `writeTimeoutMs`; runs until aborted. */
  *checkWrites(): Generator<unknown, void, unknown> {
    const every = this.options.writeTimeoutMs / WRITE_CHECKS_PER_TIMEOUT;
    if (!(every > 0)) return;
    for (;;) {
      yield* sleep(every);
      this.writes.check(now());
    }
  }

  /** Stop: idle connections close now, busy ones after their replies are written. */
  stop(): void {
    this.#stopping = true;
    for (const c of this.conns) {
      c.closing = true;
      if (c.idle) c.stream.close();
      c.kick.notifyOne();
    }
  }

  /** Serve one connection until it closes. */
  *serve(stream: TcpStream): Generator<unknown, void, unknown> {
    const c = new Conn(stream, this);
    this.conns.add(c);
    const r = new Inbox(stream, READ_CAPACITY);
    const cmd = new Command();
    const x: Ctx = { db: this.db, session: c };
    const maxBulk = this.options.maxBulk;
    const maxQuery = this.options.maxQuery;
    // Complete commands are still buffered: the last batch stopped at OUT_HIGH.
    let more = false;
    try {
      stream.setNoDelay(true);
      while (!c.closing && !this.#stopping) {
        c.idle = r.pos === r.end;
        if (!more) {
          if (c.subscriptions === 0) {
            if (r.filled(yield* r.fill())) break;
          } else {
            const s = yield* select({ more: r.fill(), kick: c.kick.notified() });
            if (s.key === "kick") {
              c.idle = false;
              if (c.lagged > 0) {
                c.out.error(`ERR subscriber lagged: missed ${c.lagged} message(s), disconnecting`);
                c.closing = true;
              }
              if (c.out.len > 0) yield* flush(c);
              continue;
            }
            if (r.filled(s.value as number | null)) break;
          }
        }
        c.idle = false;
        const buf = r.buf;
        const end = r.end;
        let off = r.pos;
        more = false;
        try {
          while (off < end && !c.closing) {
            if (c.out.len >= OUT_HIGH) {
              more = true;
              break;
            }
            const n = parseCommand(buf, off, end, cmd, maxBulk);
            if (n === 0) break;
            off += n;
            if (cmd.argc > 0) execute(cmd, x, c.out);
          }
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
          c.out.error(`ERR ${e.message}`);
          c.closing = true;
        }
        r.pos = off;
        if (r.buffered > maxQuery && !c.closing) {
          c.out.error("ERR Protocol error: query buffer limit reached");
          c.closing = true;
        }
        // One batch's replies, written here: a flush generator per request is garbage.
        if (c.out.len > 0) {
          const o = startWrite(c);
          try {
            yield* stream.writeAll(o.bytes);
          } finally {
            c.write.end();
          }
          endWrite(c, o);
          if (c.out.len > 0) yield* flush(c);
        }
      }
      if (c.out.len > 0) yield* flush(c);
    } catch (e) {
      // A reset peer or a socket closed at shutdown ends the connection; anything else is a bug.
      if (!(e instanceof IoError) && !(e instanceof Error && e.name === "ClosedError")) {
        console.error("mini-redis: connection error:", e);
      }
    } finally {
      c.dropAll();
      this.conns.delete(c);
      this.writes.unwatch(c.write);
      stream.close();
    }
  }
}

/**
 * Run the server until SIGINT/SIGTERM.
 *
 * @param o the settings
 * @param ready called with the bound port
 */
export function* main(o: ServerOptions, ready?: (port: number) => void): Generator<
  unknown,
  void,
  unknown
> {
  using listener = yield* TcpListener.bind({ hostname: o.host, port: o.port });
  const port = listener.localAddr.port;
  console.log(`mini-redis listening on ${o.host}:${port}`);
  ready?.(port);
  const server = new MiniRedis(o);
  const purge = spawn(server.purge());
  const writeChecks = spawn(server.checkWrites());
  const limit = new Semaphore(o.maxClients);
  const stopper = spawn(function* () {
    const sig = yield* shutdownSignal();
    console.log(`${sig}: no longer accepting; draining ${server.conns.size} connection(s)`);
    listener.close();
    server.stop();
  });
  const tracker = new TaskTracker();
  const incoming = listener.incoming({
    onError: (e) => console.error(`accept: ${e.code}, backing off`),
  });
  for (;;) {
    const stream = yield* incoming.accept();
    if (stream === null) break;
    const permit = limit.tryAcquire();
    if (permit === null) {
      tracker.spawn(function* () {
        using s = stream;
        yield* s.writeAll(MAX_CLIENTS_REPLY);
      });
      continue;
    }
    tracker.spawn(function* () {
      using _p = permit;
      yield* server.serve(stream);
    });
  }
  yield* stopper;
  tracker.close();
  const r = yield* select({ drained: tracker.wait(), timeout: sleep(o.drainMs) });
  if (r.key === "timeout") {
    console.log(`drain time over: closing ${server.conns.size} connection(s)`);
    for (const c of server.conns) c.stream.close();
    yield* tracker.wait();
  }
  purge.abort();
  writeChecks.abort();
  server.hub.close();
  console.log("mini-redis stopped");
}

if (import.meta.main) {
  // A bad flag: one line and exit 2; a taken port, a missing permission: one line and exit 1.
  await daemon(
    "mini-redis",
    () => parseFlags(Deno.args),
    (o) => runWithConsole(o.console ?? null, {}, () => main(o), "mini-redis"),
  );
  Deno.exit(0);
}
