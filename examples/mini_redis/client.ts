/**
 * A mini-redis client on Dokio: `Client.connect`, `get`/`set` (with
 * expiry), `del`, `incr`, `publish`, any command with `command(...)`,
 * pipelines (many commands, one write, one batch of replies),
 * `subscribe` (a {@linkcode Subscriber} with `recv()` and async
 * iteration), and {@linkcode connectPool}: a `Pool<Client>` whose broken
 * connections are dropped.
 *
 * Errors: an `-ERR` reply is a {@linkcode RedisError} (the connection stays
 * usable); a connection that ends mid-reply throws `ClosedError`, a reset
 * `IoError`, and either marks the client `broken` (a pool then discards it).
 *
 * @example
 * ```ts ignore
 * import { run } from "../../mod.ts";
 * import { Client } from "./client.ts";
 * await run(function* () {
 *   using c = yield* Client.connect({ port: 6379 });
 *   yield* c.set("greeting", "hello", { px: 5000 });
 *   console.log(yield* c.get("greeting"));
 * });
 * ```
 *
 * @module
 */

import { ClosedError, GenOp, type Operation } from "../../runtime/mod.ts";
import { TcpStream } from "../../net/mod.ts";
import { BufReader } from "../../io/mod.ts";
import { Pool } from "../../sync/mod.ts";
import { latin1, parseIntAt, Reply } from "./resp.ts";

/** An error reply from the server (`-ERR …`, `-WRONGTYPE …`). */
export class RedisError extends Error {
  /** @param message the error line, without the `-` */
  constructor(message: string) {
    super(message);
    this.name = "RedisError";
  }
}

/** A reply the server sent that is not RESP2 (the client is then broken). */
export class ReplyProtocolError extends Error {
  /** @param detail what was wrong */
  constructor(detail: string) {
    super(`bad reply from the server: ${detail}`);
    this.name = "ReplyProtocolError";
  }
}

/** A decoded reply: simple strings are strings, bulk strings bytes, errors RedisError values. */
export type RespValue = string | number | Uint8Array | null | RedisError | RespValue[];

/** An argument of a command. */
export type Arg = string | Uint8Array | number;

/** Options of {@linkcode Client.set}. */
export interface SetOptions {
  /** Expire after this many seconds. */
  ex?: number;
  /** Expire after this many milliseconds. */
  px?: number;
  /** Only set when the key does not exist. */
  nx?: boolean;
  /** Only set when the key exists. */
  xx?: boolean;
}

/** Where to connect. */
export interface ClientAddr {
  /** Host (default 127.0.0.1). */
  hostname?: string;
  /** Port (default 6379). */
  port?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const CR = 0x0d;
/** Deepest array nesting a reply may have. */
const MAX_DEPTH = 32;
/** Longest reply header line (`$N`, `:N`, `+…`, `-…`) the client accepts, bytes. */
const MAX_LINE = 64 * 1024;

function argBytes(a: Arg): Uint8Array {
  if (a instanceof Uint8Array) return a;
  return enc.encode(typeof a === "number" ? String(a) : a);
}

/** Encode one command as a RESP array of bulk strings. */
export function encodeCommand(out: Reply, args: Arg[]): void {
  out.array(args.length);
  for (const a of args) out.bulk(argBytes(a));
}

/** Parser state: the value of the last complete reply. */
interface Parsed {
  value: RespValue;
}

/** Where the line starting at `p` ends (its `\r`), or -1 when not all buffered. */
function lineEnd(buf: Uint8Array, p: number, end: number): number {
  const i = buf.indexOf(CR, p);
  if (i < 0 || i + 1 >= end) {
    if (end - p > MAX_LINE) throw new ReplyProtocolError("line too long");
    return -1;
  }
  return i;
}

/**
 * Parse one reply from `buf[pos..end)` into `out.value`; gives its length,
 * or 0 when it is not all buffered yet.
 */
function parseReply(buf: Uint8Array, pos: number, end: number, out: Parsed, depth = 0): number {
  if (pos >= end) return 0;
  const e = lineEnd(buf, pos + 1, end);
  if (e < 0) return 0;
  const type = buf[pos];
  const next = e + 2;
  switch (type) {
    case 0x2b: // +
      out.value = latin1(buf, pos + 1, e);
      return next - pos;
    case 0x2d: // -
      out.value = new RedisError(dec.decode(buf.subarray(pos + 1, e)));
      return next - pos;
    case 0x3a: { // :
      const n = parseIntAt(buf, pos + 1, e);
      if (Number.isNaN(n)) throw new ReplyProtocolError("bad integer");
      out.value = n;
      return next - pos;
    }
    case 0x24: { // $
      const n = parseIntAt(buf, pos + 1, e);
      if (n === -1) {
        out.value = null;
        return next - pos;
      }
      if (Number.isNaN(n) || n < 0) throw new ReplyProtocolError("bad bulk length");
      if (end - next < n + 2) return 0;
      out.value = buf.slice(next, next + n);
      return next + n + 2 - pos;
    }
    case 0x2a: { // *
      const n = parseIntAt(buf, pos + 1, e);
      if (n === -1) {
        out.value = null;
        return next - pos;
      }
      if (Number.isNaN(n) || n < 0) throw new ReplyProtocolError("bad array length");
      if (depth >= MAX_DEPTH) throw new ReplyProtocolError("arrays nested too deep");
      const items: RespValue[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const k = parseReply(buf, p, end, out, depth + 1);
        if (k === 0) return 0;
        items.push(out.value);
        p += k;
      }
      out.value = items;
      return p - pos;
    }
    default:
      throw new ReplyProtocolError(`unexpected byte 0x${type.toString(16)}`);
  }
}

/** The connection of a client or subscriber: writes frames, reads replies. */
class Wire {
  readonly stream: TcpStream;
  readonly reader: BufReader;
  readonly out: Reply = new Reply(4096);
  readonly #parsed: Parsed = { value: null };
  broken = false;
  busy = false;

  constructor(stream: TcpStream) {
    this.stream = stream;
    this.reader = new BufReader(stream, { capacity: 16384 });
  }

  /** Write what is encoded. */
  *flush(): Generator<unknown, void, unknown> {
    try {
      yield* this.stream.writeAll(this.out.bytes);
    } catch (e) {
      this.broken = true;
      throw e;
    } finally {
      this.out.clear();
    }
  }

  /** The next reply; null at a clean end of stream between replies when `eofOk`. */
  *read(eofOk = false): Generator<unknown, RespValue | undefined, unknown> {
    const r = this.reader;
    try {
      for (;;) {
        if (r.buffered > 0) {
          const buf = r.buffer;
          const n = parseReply(buf, 0, buf.length, this.#parsed);
          if (n > 0) {
            r.consume(n);
            return this.#parsed.value;
          }
        }
        const got = r.buffered > 0 ? yield* r.fillMore() : (yield* r.fillBuf()).length;
        if (got === null || got === 0) {
          this.broken = true;
          if (eofOk && r.buffered === 0) return undefined;
          throw new ClosedError("the server closed the connection before replying");
        }
      }
    } catch (e) {
      this.broken = true;
      throw e;
    }
  }

  /** Send `cmds` in one write and read their replies, in order. */
  *roundTrip(cmds: Arg[][]): Generator<unknown, RespValue[], unknown> {
    if (this.broken) throw new ClosedError("the connection is broken");
    if (this.busy) throw new TypeError("one command at a time per client (use a pool)");
    this.busy = true;
    try {
      for (const c of cmds) encodeCommand(this.out, c);
      yield* this.flush();
      const replies: RespValue[] = [];
      for (let i = 0; i < cmds.length; i++) replies.push((yield* this.read()) as RespValue);
      return replies;
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    this.broken = true;
    this.stream.close();
  }
}

function check(v: RespValue): RespValue {
  if (v instanceof RedisError) throw v;
  return v;
}

function asText(v: RespValue): string | null {
  v = check(v);
  if (v === null) return null;
  if (v instanceof Uint8Array) return dec.decode(v);
  return String(v);
}

function asInt(v: RespValue): number {
  v = check(v);
  if (typeof v !== "number") throw new ReplyProtocolError("expected an integer reply");
  return v;
}

/** A queue of commands sent with one write by {@linkcode Pipeline.exec}. */
export class Pipeline {
  readonly #wire: Wire;
  readonly #cmds: Arg[][] = [];

  /** Internal: made by {@linkcode Client.pipeline}. */
  constructor(wire: Wire) {
    this.#wire = wire;
  }

  /** Queue any command; gives this pipeline (for chaining). */
  command(...args: Arg[]): this {
    if (args.length === 0) throw new TypeError("a command needs a name");
    this.#cmds.push(args);
    return this;
  }

  /** Queue GET. */
  get(key: Arg): this {
    return this.command("GET", key);
  }

  /** Queue SET. */
  set(key: Arg, value: Arg, options: SetOptions = {}): this {
    return this.command(...setArgs(key, value, options));
  }

  /** Queue INCR. */
  incr(key: Arg): this {
    return this.command("INCR", key);
  }

  /** Commands queued. */
  get length(): number {
    return this.#cmds.length;
  }

  /**
   * Send every queued command in one write; their replies in order (error
   * replies as RedisError values, not thrown).
   *
   * @returns the replies
   */
  exec(): Operation<RespValue[]> & PromiseLike<RespValue[]> {
    const cmds = this.#cmds.splice(0);
    return new GenOp(() => this.#wire.roundTrip(cmds));
  }
}

function setArgs(key: Arg, value: Arg, o: SetOptions): Arg[] {
  const args: Arg[] = ["SET", key, value];
  if (o.ex !== undefined) args.push("EX", o.ex);
  if (o.px !== undefined) args.push("PX", o.px);
  if (o.nx) args.push("NX");
  if (o.xx) args.push("XX");
  return args;
}

/** A client connection. One command at a time; use a pool for concurrency. */
export class Client implements Disposable {
  readonly #wire: Wire;

  private constructor(stream: TcpStream) {
    this.#wire = new Wire(stream);
  }

  /**
   * Connect to a server.
   *
   * @param addr host and port (default 127.0.0.1:6379)
   * @returns the client
   * @throws {IoError} (when run) when the connection is refused.
   */
  static connect(addr: ClientAddr = {}): Operation<Client> & PromiseLike<Client> {
    return new GenOp(function* () {
      const stream = yield* TcpStream.connect({
        hostname: addr.hostname ?? "127.0.0.1",
        port: addr.port ?? 6379,
      });
      stream.setNoDelay(true);
      return new Client(stream);
    });
  }

  /** True once the connection failed or closed: it cannot be used again. */
  get broken(): boolean {
    return this.#wire.broken;
  }

  /**
   * Run any command; its reply (an error reply throws RedisError).
   *
   * @param args the command name and its arguments
   * @returns the reply
   */
  command(...args: Arg[]): Operation<RespValue> & PromiseLike<RespValue> {
    if (args.length === 0) throw new TypeError("a command needs a name");
    return new GenOp(() => this.#one(args));
  }

  *#one(args: Arg[]): Generator<unknown, RespValue, unknown> {
    const [v] = yield* this.#wire.roundTrip([args]);
    return check(v);
  }

  /** PING: "PONG". */
  ping(): Operation<string | null> & PromiseLike<string | null> {
    return new GenOp(() => this.#text(["PING"]));
  }

  *#text(args: Arg[]): Generator<unknown, string | null, unknown> {
    return asText(yield* this.#one(args));
  }

  *#int(args: Arg[]): Generator<unknown, number, unknown> {
    return asInt(yield* this.#one(args));
  }

  /** GET as text (UTF-8); null when the key is absent. */
  get(key: Arg): Operation<string | null> & PromiseLike<string | null> {
    return new GenOp(() => this.#text(["GET", key]));
  }

  /** GET as bytes; null when the key is absent. */
  getBytes(key: Arg): Operation<Uint8Array | null> & PromiseLike<Uint8Array | null> {
    return new GenOp(() => this.#bytes(["GET", key]));
  }

  *#bytes(args: Arg[]): Generator<unknown, Uint8Array | null, unknown> {
    const v = yield* this.#one(args);
    return v instanceof Uint8Array ? v : null;
  }

  /**
   * SET, with optional expiry (`ex` seconds, `px` ms) and NX/XX.
   *
   * @returns true when set, false when NX/XX prevented it
   */
  set(key: Arg, value: Arg, options: SetOptions = {}): Operation<boolean> & PromiseLike<boolean> {
    return new GenOp(() => this.#set(setArgs(key, value, options)));
  }

  *#set(args: Arg[]): Generator<unknown, boolean, unknown> {
    return (yield* this.#one(args)) !== null;
  }

  /** DEL: how many keys were removed. */
  del(...keys: Arg[]): Operation<number> & PromiseLike<number> {
    return new GenOp(() => this.#int(["DEL", ...keys]));
  }

  /** INCR: the new value. */
  incr(key: Arg): Operation<number> & PromiseLike<number> {
    return new GenOp(() => this.#int(["INCR", key]));
  }

  /** PTTL: ms left, -1 without expiry, -2 for no key. */
  pttl(key: Arg): Operation<number> & PromiseLike<number> {
    return new GenOp(() => this.#int(["PTTL", key]));
  }

  /** PUBLISH: how many subscribers got it. */
  publish(channel: Arg, message: Arg): Operation<number> & PromiseLike<number> {
    return new GenOp(() => this.#int(["PUBLISH", channel, message]));
  }

  /** A pipeline: queue commands, send them with one write. */
  pipeline(): Pipeline {
    return new Pipeline(this.#wire);
  }

  /**
   * Subscribe to channels: this connection becomes the returned
   * {@linkcode Subscriber}'s (the client can no longer run commands).
   *
   * @param channels channel names
   * @returns the subscriber, once the server confirmed every channel
   */
  subscribe(...channels: string[]): Operation<Subscriber> & PromiseLike<Subscriber> {
    if (channels.length === 0) throw new TypeError("subscribe needs a channel");
    const wire = this.#wire;
    return new GenOp(function* () {
      if (wire.busy || wire.broken) throw new TypeError("the client is busy or broken");
      wire.busy = true; // from now on the subscriber owns the wire
      const sub = new Subscriber(wire);
      yield* sub.subscribe(...channels);
      return sub;
    });
  }

  /** Close the connection. */
  close(): void {
    this.#wire.close();
  }

  /** Same as {@linkcode Client.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A message a subscriber received. */
export interface Message {
  /** The channel it was published on. */
  channel: string;
  /** The pattern it matched (PSUBSCRIBE), or null. */
  pattern: string | null;
  /** The message bytes. */
  payload: Uint8Array;
  /** The message as UTF-8 text. */
  readonly text: string;
}

function text(b: RespValue): string {
  return b instanceof Uint8Array ? dec.decode(b) : String(b);
}

/** A connection in subscribe mode. */
export class Subscriber implements Disposable, AsyncIterable<Message> {
  readonly #wire: Wire;
  readonly #channels = new Set<string>();
  /** Messages that arrived while waiting for a (un)subscribe confirmation. */
  readonly #early: Message[] = [];

  /** Internal: made by {@linkcode Client.subscribe}. */
  constructor(wire: Wire) {
    this.#wire = wire;
  }

  /** The channels subscribed to. */
  get channels(): string[] {
    return [...this.#channels];
  }

  /** Subscribe to more channels (waits for the confirmations). */
  subscribe(...channels: string[]): Operation<void> & PromiseLike<void> {
    return new GenOp(() => this.#change("SUBSCRIBE", channels));
  }

  /** Unsubscribe (none named: from all). */
  unsubscribe(...channels: string[]): Operation<void> & PromiseLike<void> {
    return new GenOp(() => this.#change("UNSUBSCRIBE", channels));
  }

  *#change(kind: string, channels: string[]): Generator<unknown, void, unknown> {
    const w = this.#wire;
    encodeCommand(w.out, [kind, ...channels]);
    yield* w.flush();
    let want = channels.length > 0 ? channels.length : Math.max(1, this.#channels.size);
    const ack = kind.toLowerCase();
    while (want > 0) {
      const v = yield* w.read();
      if (v instanceof RedisError) throw v;
      if (!Array.isArray(v) || v.length < 3) throw new ReplyProtocolError("expected a push");
      const k = text(v[0]);
      if (k === ack) {
        const name = v[1] === null ? null : text(v[1]);
        if (name !== null) {
          if (kind === "SUBSCRIBE") this.#channels.add(name);
          else this.#channels.delete(name);
        }
        want--;
      } else {
        const m = toMessage(v);
        if (m !== null) this.#early.push(m);
      }
    }
  }

  /**
   * The next message; null once the connection ended.
   *
   * @returns the message, or null at the end
   * @throws {RedisError} (when run) when the server drops this subscriber (it lagged).
   */
  recv(): Operation<Message | null> & PromiseLike<Message | null> {
    return new GenOp(() => this.#recv());
  }

  *#recv(): Generator<unknown, Message | null, unknown> {
    const early = this.#early.shift();
    if (early !== undefined) return early;
    for (;;) {
      const v = yield* this.#wire.read(true);
      if (v === undefined) return null;
      if (v instanceof RedisError) throw v;
      if (!Array.isArray(v)) throw new ReplyProtocolError("expected a push");
      const m = toMessage(v);
      if (m !== null) return m;
    }
  }

  /** `for await (const msg of subscriber)` until the connection ends. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Message, void, undefined> {
    for (;;) {
      const m = await this.recv();
      if (m === null) return;
      yield m;
    }
  }

  /** Close the connection. */
  close(): void {
    this.#wire.close();
  }

  /** Same as {@linkcode Subscriber.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function toMessage(v: RespValue[]): Message | null {
  const kind = text(v[0]);
  let channel: string, pattern: string | null, payload: RespValue;
  if (kind === "message" && v.length === 3) {
    channel = text(v[1]);
    pattern = null;
    payload = v[2];
  } else if (kind === "pmessage" && v.length === 4) {
    pattern = text(v[1]);
    channel = text(v[2]);
    payload = v[3];
  } else return null;
  const bytes = payload instanceof Uint8Array ? payload : new Uint8Array(0);
  return {
    channel,
    pattern,
    payload: bytes,
    get text() {
      return dec.decode(bytes);
    },
  };
}

/** Options of {@linkcode connectPool}. */
export interface ClientPoolOptions extends ClientAddr {
  /** Most connections (default 16). */
  maxSize?: number;
  /** Close connections idle this long, ms (default 30000). */
  idleTimeoutMs?: number;
}

/**
 * A pool of clients: `using c = yield* pool.acquire()` then `c.value.get(…)`.
 * A client whose connection broke is dropped when given back, and the next
 * acquire connects afresh.
 *
 * @param options address, `maxSize`, `idleTimeoutMs`
 * @returns the pool
 */
export function connectPool(options: ClientPoolOptions = {}): Pool<Client> {
  return new Pool<Client>({
    create: () => Client.connect(options),
    maxSize: options.maxSize ?? 16,
    idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
    isBroken: (c) => c.broken,
    destroy: (c) => c.close(),
  });
}
