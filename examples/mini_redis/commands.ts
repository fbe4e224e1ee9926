/**
 * The mini-redis commands: each one reads its arguments from a parsed
 * {@linkcode Command}, works on the {@linkcode Db}, and encodes its reply
 * into the connection's {@linkcode Reply}. Synchronous and transport-free,
 * so the Dokio server and the `Deno.listen` port (bench/) run the same code.
 *
 * Invariants: an unknown command or a wrong argument count is an `-ERR`
 * reply and nothing else happens; a command never throws for bad input.
 *
 * @module
 */

import { type Command, latin1Bytes, Reply } from "./resp.ts";
import { type Db, Deque, NO_EXPIRY, type Str } from "./db.ts";

/** What pub/sub commands need from the connection that runs them. */
export interface Session {
  /** Channels plus patterns this connection is subscribed to. */
  readonly subscriptions: number;
  /** Subscribe to channels (`pattern`: glob patterns), replying once per name. */
  subscribe(names: string[], pattern: boolean, out: Reply): void;
  /** Unsubscribe (none named: from all), replying once per name. */
  unsubscribe(names: string[], pattern: boolean, out: Reply): void;
  /** Publish `msg` on `channel`; gives how many subscribers got it. */
  publish(channel: string, msg: Uint8Array): number;
  /** Close the connection once the replies so far are written. */
  quit(): void;
}

/** What a command runs against. */
export interface Ctx {
  /** The key space. */
  db: Db;
  /** The connection. */
  session: Session;
}

type Handler = (c: Command, x: Ctx, out: Reply) => void;

interface Spec {
  /** Lower-case name (for messages). */
  name: string;
  /** Redis arity: n exactly n arguments (the name included), -n at least n. */
  arity: number;
  fn: Handler;
  /** Allowed while subscribed. */
  pubsub?: boolean;
}

const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT = "ERR value is not an integer or out of range";
const SYNTAX = "ERR syntax error";
const OVERFLOW = "ERR increment or decrement would overflow";
const MS_PER_S = 1000;

const enc = new TextEncoder();
const EMPTY_ARRAY = enc.encode("*0\r\n");
const PONG_SUBSCRIBED = enc.encode("*2\r\n$4\r\npong\r\n$0\r\n\r\n");

/** The integer a string value holds, or NaN. */
function valueInt(v: Str): number {
  // Integers are short: a long value (kept as bytes) is never one.
  if (typeof v !== "string" || v.length === 0 || v.length > 20) return Number.NaN;
  let i = 0;
  let neg = false;
  if (v.charCodeAt(0) === 0x2d) {
    neg = true;
    i = 1;
    if (v.length === 1) return Number.NaN;
  }
  if (v.charCodeAt(i) === 0x30 && v.length - i > 1) return Number.NaN;
  let n = 0;
  for (; i < v.length; i++) {
    const d = v.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  if (n > Number.MAX_SAFE_INTEGER) return Number.NaN;
  return neg ? -n : n;
}

function incrBy(c: Command, x: Ctx, out: Reply, by: number): void {
  const v = x.db.getArg(c, 1);
  let n = 0;
  if (v !== undefined) {
    if (v instanceof Deque) return out.error(WRONGTYPE);
    n = valueInt(v);
    if (Number.isNaN(n)) return out.error(NOT_INT);
  }
  const r = n + by;
  if (!Number.isSafeInteger(r)) return out.error(OVERFLOW);
  if (v !== undefined) x.db.replaceArg(c, 1, String(r));
  else x.db.setArg(c, 1, String(r), NO_EXPIRY);
  out.int(r);
}

function set(c: Command, x: Ctx, out: Reply): void {
  let at = NO_EXPIRY;
  let nx = false, xx = false;
  for (let i = 3; i < c.argc; i++) {
    const opt = c.upper(i);
    if (opt === "NX" && !xx) nx = true;
    else if (opt === "XX" && !nx) xx = true;
    else if ((opt === "EX" || opt === "PX") && at === NO_EXPIRY && i + 1 < c.argc) {
      const n = c.int(++i);
      if (Number.isNaN(n)) return out.error(NOT_INT);
      if (n <= 0) return out.error("ERR invalid expire time in 'set' command");
      at = x.db.now() + (opt === "EX" ? n * MS_PER_S : n);
    } else return out.error(SYNTAX);
  }
  if (nx || xx) {
    const exists = x.db.getArg(c, 1) !== undefined;
    if (exists === nx) return out.nil();
  }
  x.db.setArg(c, 1, c.value(2), at);
  out.ok();
}

function get(c: Command, x: Ctx, out: Reply): void {
  const v = x.db.getArg(c, 1);
  if (v === undefined) return out.nil();
  if (v instanceof Deque) return out.error(WRONGTYPE);
  out.bulkValue(v);
}

function expire(c: Command, x: Ctx, out: Reply, unit: number): void {
  const n = c.int(2);
  if (Number.isNaN(n)) return out.error(NOT_INT);
  const key = c.str(1);
  if (x.db.get(key) === undefined) return out.int(0);
  if (n <= 0) x.db.del(key);
  else x.db.expire(key, x.db.now() + n * unit);
  out.int(1);
}

function ttl(c: Command, x: Ctx, out: Reply, unit: number): void {
  const key = c.str(1);
  if (x.db.get(key) === undefined) return out.int(-2);
  const at = x.db.deadline(key);
  if (at === NO_EXPIRY) return out.int(-1);
  out.int(Math.max(0, Math.round((at - x.db.now()) / unit)));
}

function push(c: Command, x: Ctx, out: Reply, front: boolean): void {
  const v = x.db.getArg(c, 1);
  let list: Deque;
  if (v === undefined) {
    list = new Deque();
    x.db.setArg(c, 1, list, NO_EXPIRY);
  } else if (v instanceof Deque) list = v;
  else return out.error(WRONGTYPE);
  for (let i = 2; i < c.argc; i++) {
    if (front) list.pushFront(c.value(i));
    else list.pushBack(c.value(i));
  }
  out.int(list.length);
}

function pop(c: Command, x: Ctx, out: Reply, front: boolean): void {
  if (c.argc > 3) return out.error(SYNTAX);
  const v = x.db.getArg(c, 1);
  const counted = c.argc === 3;
  const count = counted ? c.int(2) : 1;
  if (Number.isNaN(count) || count < 0) {
    return out.error("ERR value is out of range, must be positive");
  }
  if (v === undefined) return counted ? out.nilArray() : out.nil();
  if (!(v instanceof Deque)) return out.error(WRONGTYPE);
  const list = v;
  const n = Math.min(count, list.length);
  if (counted) out.array(n);
  for (let i = 0; i < n; i++) out.bulkValue((front ? list.popFront() : list.popBack()) as Str);
  if (list.length === 0) x.db.delArg(c, 1);
}

function lrange(c: Command, x: Ctx, out: Reply): void {
  let start = c.int(2), stop = c.int(3);
  if (Number.isNaN(start) || Number.isNaN(stop)) return out.error(NOT_INT);
  const v = x.db.getArg(c, 1);
  if (v === undefined) return out.raw(EMPTY_ARRAY);
  if (!(v instanceof Deque)) return out.error(WRONGTYPE);
  const list = v;
  const n = list.length;
  if (start < 0) start = Math.max(0, n + start);
  if (stop < 0) stop = n + stop;
  if (stop >= n) stop = n - 1;
  if (start > stop || start >= n) return out.raw(EMPTY_ARRAY);
  out.array(stop - start + 1);
  for (let i = start; i <= stop; i++) out.bulkValue(list.at(i));
}

function names(c: Command, from: number): string[] {
  const out: string[] = [];
  for (let i = from; i < c.argc; i++) out.push(c.str(i));
  return out;
}

function configGet(c: Command, _x: Ctx, out: Reply): void {
  if (c.upper(1) !== "GET") return out.error("ERR CONFIG subcommand not supported");
  const pairs: [string, string][] = [];
  for (let i = 2; i < c.argc; i++) {
    const k = c.str(i).toLowerCase();
    if (k === "save") pairs.push(["save", ""]);
    else if (k === "appendonly") pairs.push(["appendonly", "no"]);
  }
  out.array(pairs.length * 2);
  for (const [k, v] of pairs) {
    out.bulkStr(k);
    out.bulkStr(v);
  }
}

function command(c: Command, _x: Ctx, out: Reply): void {
  const sub = c.argc > 1 ? c.upper(1) : "";
  if (sub === "COUNT") return out.int(TABLE_SIZE);
  // DOCS and INFO with no docs: redis-cli then works without hints.
  if (sub === "" || sub === "DOCS" || sub === "INFO") return out.raw(EMPTY_ARRAY);
  out.error(`ERR unknown subcommand '${c.str(1)}'`);
}

function hello(c: Command, _x: Ctx, out: Reply): void {
  if (c.argc > 1) {
    const v = c.int(1);
    if (Number.isNaN(v)) return out.error("ERR Protocol version is not an integer or out of range");
    if (v !== 2) return out.error("NOPROTO sorry, this protocol version is not supported");
  }
  out.array(14);
  const fields: [string, string | number][] = [
    ["server", "redis"],
    ["version", "7.0.0"],
    ["proto", 2],
    ["id", 1],
    ["mode", "standalone"],
    ["role", "master"],
  ];
  for (const [k, v] of fields) {
    out.bulkStr(k);
    if (typeof v === "number") out.int(v);
    else out.bulkStr(v);
  }
  out.bulkStr("modules");
  out.raw(EMPTY_ARRAY);
}

const SPECS: Spec[] = [
  {
    name: "ping",
    arity: -1,
    pubsub: true,
    fn: (c, x, out) => {
      if (c.argc > 2) return out.error("ERR wrong number of arguments for 'ping' command");
      if (x.session.subscriptions > 0) {
        if (c.argc === 1) return out.raw(PONG_SUBSCRIBED);
        out.array(2);
        out.bulkStr("pong");
        return out.bulk(c.view(1));
      }
      if (c.argc === 2) out.bulk(c.view(1));
      else out.pong();
    },
  },
  { name: "echo", arity: 2, fn: (c, _x, out) => out.bulk(c.view(1)) },
  { name: "get", arity: 2, fn: get },
  { name: "set", arity: -3, fn: set },
  {
    name: "del",
    arity: -2,
    fn: (c, x, out) => {
      let n = 0;
      for (let i = 1; i < c.argc; i++) if (x.db.delArg(c, i)) n++;
      out.int(n);
    },
  },
  {
    name: "exists",
    arity: -2,
    fn: (c, x, out) => {
      let n = 0;
      for (let i = 1; i < c.argc; i++) if (x.db.getArg(c, i) !== undefined) n++;
      out.int(n);
    },
  },
  { name: "incr", arity: 2, fn: (c, x, out) => incrBy(c, x, out, 1) },
  { name: "decr", arity: 2, fn: (c, x, out) => incrBy(c, x, out, -1) },
  {
    name: "incrby",
    arity: 3,
    fn: (c, x, out) => {
      const by = c.int(2);
      if (Number.isNaN(by)) return out.error(NOT_INT);
      incrBy(c, x, out, by);
    },
  },
  {
    name: "decrby",
    arity: 3,
    fn: (c, x, out) => {
      const by = c.int(2);
      if (Number.isNaN(by)) return out.error(NOT_INT);
      incrBy(c, x, out, -by);
    },
  },
  {
    name: "mget",
    arity: -2,
    fn: (c, x, out) => {
      out.array(c.argc - 1);
      for (let i = 1; i < c.argc; i++) {
        const v = x.db.getArg(c, i);
        if (v !== undefined && !(v instanceof Deque)) out.bulkValue(v);
        else out.nil();
      }
    },
  },
  {
    name: "mset",
    arity: -3,
    fn: (c, x, out) => {
      if (c.argc % 2 === 0) return out.error("ERR wrong number of arguments for 'mset' command");
      for (let i = 1; i < c.argc; i += 2) x.db.setArg(c, i, c.value(i + 1), NO_EXPIRY);
      out.ok();
    },
  },
  { name: "expire", arity: 3, fn: (c, x, out) => expire(c, x, out, MS_PER_S) },
  { name: "pexpire", arity: 3, fn: (c, x, out) => expire(c, x, out, 1) },
  { name: "ttl", arity: 2, fn: (c, x, out) => ttl(c, x, out, MS_PER_S) },
  { name: "pttl", arity: 2, fn: (c, x, out) => ttl(c, x, out, 1) },
  {
    name: "persist",
    arity: 2,
    fn: (c, x, out) => {
      const key = c.str(1);
      if (x.db.get(key) === undefined) return out.int(0);
      out.int(x.db.persist(key) ? 1 : 0);
    },
  },
  { name: "lpush", arity: -3, fn: (c, x, out) => push(c, x, out, true) },
  { name: "rpush", arity: -3, fn: (c, x, out) => push(c, x, out, false) },
  { name: "lpop", arity: -2, fn: (c, x, out) => pop(c, x, out, true) },
  { name: "rpop", arity: -2, fn: (c, x, out) => pop(c, x, out, false) },
  { name: "lrange", arity: 4, fn: lrange },
  {
    name: "publish",
    arity: 3,
    fn: (c, x, out) => out.int(x.session.publish(c.str(1), c.bytes(2))),
  },
  {
    name: "subscribe",
    arity: -2,
    pubsub: true,
    fn: (c, x, out) => x.session.subscribe(names(c, 1), false, out),
  },
  {
    name: "unsubscribe",
    arity: -1,
    pubsub: true,
    fn: (c, x, out) => x.session.unsubscribe(names(c, 1), false, out),
  },
  {
    name: "psubscribe",
    arity: -2,
    pubsub: true,
    fn: (c, x, out) => x.session.subscribe(names(c, 1), true, out),
  },
  {
    name: "punsubscribe",
    arity: -1,
    pubsub: true,
    fn: (c, x, out) => x.session.unsubscribe(names(c, 1), true, out),
  },
  {
    name: "quit",
    arity: -1,
    pubsub: true,
    fn: (_c, x, out) => {
      out.ok();
      x.session.quit();
    },
  },
  { name: "dbsize", arity: 1, fn: (_c, x, out) => out.int(x.db.size) },
  {
    name: "flushall",
    arity: -1,
    fn: (_c, x, out) => {
      x.db.clear();
      out.ok();
    },
  },
  {
    name: "select",
    arity: 2,
    fn: (c, _x, out) => c.int(1) === 0 ? out.ok() : out.error("ERR DB index is out of range"),
  },
  { name: "config", arity: -2, fn: configGet },
  { name: "command", arity: -1, fn: command },
  { name: "hello", arity: -1, fn: hello },
];

/** A command name's bytes (lower case) and its spec. */
interface Named {
  name: Uint8Array;
  spec: Spec;
}

/**
 * The specs by the length of their name: a command is found from its bytes,
 * with no string made for its name (one per command otherwise).
 */
const BY_LENGTH: Named[][] = [];
function addName(name: string, spec: Spec): void {
  (BY_LENGTH[name.length] ??= []).push({ name: enc.encode(name), spec });
}
for (const s of SPECS) addName(s.name, s);
addName("flushdb", SPECS.find((s) => s.name === "flushall") as Spec);
const TABLE_SIZE = SPECS.length + 1;

const UPPER_A = 0x41;
const UPPER_Z = 0x5a;
const TO_LOWER = 0x20;

/** The spec named by argument 0 of `c` (ASCII letters in any case), or undefined. */
function lookup(c: Command): Spec | undefined {
  const buf = c.buf;
  const start = c.offs[0];
  const len = c.offs[1] - start;
  const named = BY_LENGTH[len];
  if (named === undefined) return undefined;
  next: for (let k = 0; k < named.length; k++) {
    const name = named[k].name;
    for (let i = 0; i < len; i++) {
      let b = buf[start + i];
      if (b >= UPPER_A && b <= UPPER_Z) b += TO_LOWER;
      if (b !== name[i]) continue next;
    }
    return named[k].spec;
  }
  return undefined;
}

/** The names of the commands mini-redis knows (lower case). */
export const COMMAND_NAMES: readonly string[] = [...SPECS.map((s) => s.name), "flushdb"];

/**
 * Run one command and encode its reply.
 *
 * @param c the parsed command (argc ≥ 1)
 * @param x the db and the connection
 * @param out where the reply goes
 */
export function execute(c: Command, x: Ctx, out: Reply): void {
  const spec = lookup(c);
  if (spec === undefined) {
    const name = c.str(0);
    let args = "";
    for (let i = 1; i < c.argc && i < 4; i++) args += `'${printable(c.str(i))}' `;
    return out.error(
      `ERR unknown command '${printable(name)}', with args beginning with: ${args}`,
    );
  }
  const a = spec.arity;
  if ((a > 0 && c.argc !== a) || c.argc < -a) {
    return out.error(`ERR wrong number of arguments for '${spec.name}' command`);
  }
  if (x.session.subscriptions > 0 && spec.pubsub !== true) {
    return out.error(
      `ERR Can't execute '${spec.name}': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT are allowed in this context`,
    );
  }
  spec.fn(c, x, out);
}

/** A string safe inside an error line (no CR/LF), shortened. */
function printable(s: string): string {
  const t = s.length > 128 ? s.slice(0, 128) + "..." : s;
  return t.replace(/[\r\n]/g, " ");
}

/**
 * The pub/sub frame a subscriber receives for `msg` on `channel`
 * (`pattern`: through a pattern subscription).
 *
 * @param channel the channel (latin1)
 * @param msg the message bytes
 * @param pattern the pattern matched, or null
 * @returns the encoded frame
 */
export function messageFrame(channel: string, msg: Uint8Array, pattern: string | null): Uint8Array {
  const r = new Reply(64 + channel.length + msg.length + (pattern?.length ?? 0));
  if (pattern === null) {
    r.array(3);
    r.bulkStr("message");
  } else {
    r.array(4);
    r.bulkStr("pmessage");
    r.bulkStr(pattern);
  }
  r.bulkStr(channel);
  r.bulk(msg);
  return r.buf.slice(0, r.len);
}

/**
 * A Redis glob match (`*`, `?`, `[abc]`, `[^a-z]`, `\x`) of `s` against `p`.
 *
 * @param p the pattern
 * @param s the string
 * @returns whether it matches
 */
export function globMatch(p: string, s: string): boolean {
  return globAt(p, 0, s, 0);
}

function globAt(p: string, pi: number, s: string, si: number): boolean {
  while (pi < p.length) {
    const c = p[pi];
    if (c === "*") {
      while (pi < p.length && p[pi] === "*") pi++;
      if (pi === p.length) return true;
      for (let k = si; k <= s.length; k++) if (globAt(p, pi, s, k)) return true;
      return false;
    }
    if (si >= s.length) return false;
    if (c === "?") {
      pi++;
      si++;
      continue;
    }
    if (c === "[") {
      let j = pi + 1;
      const not = p[j] === "^";
      if (not) j++;
      let hit = false;
      while (j < p.length && p[j] !== "]") {
        if (p[j] === "\\" && j + 1 < p.length) {
          if (p[j + 1] === s[si]) hit = true;
          j += 2;
        } else if (j + 2 < p.length && p[j + 1] === "-" && p[j + 2] !== "]") {
          const lo = p[j] < p[j + 2] ? p[j] : p[j + 2];
          const hi = p[j] < p[j + 2] ? p[j + 2] : p[j];
          if (s[si] >= lo && s[si] <= hi) hit = true;
          j += 3;
        } else {
          if (p[j] === s[si]) hit = true;
          j++;
        }
      }
      if (hit === not) return false;
      pi = j + 1;
      si++;
      continue;
    }
    const lit = c === "\\" && pi + 1 < p.length ? p[++pi] : c;
    if (lit !== s[si]) return false;
    pi++;
    si++;
  }
  return si === s.length;
}

export { latin1Bytes };
