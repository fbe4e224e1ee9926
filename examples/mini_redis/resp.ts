/**
 * RESP2 for mini-redis: the request parser (multibulk frames and inline
 * commands) that reads straight from a buffer without copying, and the
 * reply encoder that writes frames straight into one output buffer.
 *
 * Invariants:
 * - `parseCommand` either takes one whole command (gives its length in
 *   bytes and fills a {@linkcode Command} with offsets into the buffer),
 *   or takes nothing (gives 0: more bytes are needed), or throws
 *   {@linkcode ProtocolError}. It never allocates what a length in the
 *   frame asks for: a bulk length over the limit, a multibulk count over
 *   the limit and an over-long inline line are refused before any buffer
 *   is sized for them; the offsets table grows only with arguments that
 *   are actually present.
 * - An incomplete multibulk frame is not parsed again from its start: the
 *   `Command` keeps how far it got, and the next call (which must pass the
 *   same frame at its `pos`, with more bytes after) goes on from there. A
 *   large frame arriving in small reads costs time linear in its size.
 * - Keys are binary-safe: a key's bytes become a string with one char per
 *   byte (latin1), and go back to the same bytes.
 *
 * @module
 */

/** Redis's default `proto-max-bulk-len`: 512 MiB. */
export const DEFAULT_MAX_BULK = 512 * 1024 * 1024;
/** Most arguments in one multibulk frame (Redis: 1024 * 1024). */
export const MAX_MULTIBULK = 1024 * 1024;
/** Longest inline command line (Redis: 64 KiB). */
export const MAX_INLINE = 64 * 1024;
/** Values up to this many bytes are kept as latin1 strings; longer ones as bytes. */
export const SMALL = 64;
/** Bytes per `String.fromCharCode.apply` call for long strings. */
const CHUNK = 8192;
/** Strings up to this many bytes are interned (keys, channel names, small values). */
const INTERN_MAX = 32;
/** Slots of the intern table (a power of two): 64K strings at most, a few MiB at worst. */
const INTERN_SLOTS = 1 << 16;
const INTERN_MASK = INTERN_SLOTS - 1;
/** FNV-1a (32-bit) over the bytes picks the slot. */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** The last string made for each slot ("" when none). */
const internTable: string[] = new Array<string>(INTERN_SLOTS).fill("");
/** Scratch of {@linkcode latin1}. */
const charCodes: number[] = [];
/** Longest `*N` / `$N` header line we wait for before calling it garbage. */
export const MAX_HEADER = 32;

const CR = 0x0d;
const LF = 0x0a;
const STAR = 0x2a;
const DOLLAR = 0x24;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const SPACE = 0x20;
const TAB = 0x09;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;

/** A malformed request: the server answers `-ERR Protocol error: …` and closes. */
export class ProtocolError extends Error {
  /** @param detail what was wrong, as Redis words it */
  constructor(detail: string) {
    super(`Protocol error: ${detail}`);
    this.name = "ProtocolError";
  }
}

/** Not a number where one was expected (`parseCommand`'s header lines, `Command.int`). */
const NOT_INT = Number.NaN;
/** `Command.pendingCount` when no incomplete frame is remembered. */
const NOT_PENDING = -1;

/**
 * One parsed command: argument `i` is `buf[offs[2i] .. offs[2i+1])`. The
 * views are valid until the buffer is consumed; the command executes
 * before that.
 */
export class Command {
  /** The bytes the offsets point into (the read buffer, or the inline scratch). */
  buf: Uint8Array = new Uint8Array(0);
  /** Argument count. */
  argc = 0;
  /** Start and end of each argument. */
  offs: Int32Array = new Int32Array(16);
  /** Unescaped inline arguments. */
  scratch: Uint8Array = new Uint8Array(256);
  /** An incomplete multibulk frame's argument count (NOT_PENDING: none). */
  pendingCount: number = NOT_PENDING;
  /** Where that frame started, and where its next unparsed argument starts. */
  pendingPos = 0;
  pendingNext = 0;

  /** Length of argument `i`, bytes. */
  len(i: number): number {
    return this.offs[2 * i + 1] - this.offs[2 * i];
  }

  /** Argument `i` as a latin1 string (binary-safe key). */
  str(i: number): string {
    return latin1(this.buf, this.offs[2 * i], this.offs[2 * i + 1]);
  }

  /** Argument `i` upper-cased (command names and options: ASCII). */
  upper(i: number): string {
    const s = this.str(i);
    return isUpper(s) ? s : s.toUpperCase();
  }

  /** Argument `i` as a value to keep: a latin1 string when small, else a copy of its bytes. */
  value(i: number): string | Uint8Array {
    const s = this.offs[2 * i], e = this.offs[2 * i + 1];
    return e - s <= SMALL ? latin1(this.buf, s, e) : this.buf.slice(s, e);
  }

  /** A copy of argument `i`'s bytes (a value to keep). */
  bytes(i: number): Uint8Array {
    return this.buf.slice(this.offs[2 * i], this.offs[2 * i + 1]);
  }

  /** A view of argument `i`'s bytes (valid while the command runs). */
  view(i: number): Uint8Array {
    return this.buf.subarray(this.offs[2 * i], this.offs[2 * i + 1]);
  }

  /** Argument `i` as a safe integer, or NaN when it is not one. */
  int(i: number): number {
    return parseIntAt(this.buf, this.offs[2 * i], this.offs[2 * i + 1]);
  }

  /** Internal: add an argument. */
  push(start: number, end: number): void {
    const k = 2 * this.argc;
    if (k + 2 > this.offs.length) {
      const bigger = new Int32Array(this.offs.length * 2);
      bigger.set(this.offs);
      this.offs = bigger;
    }
    this.offs[k] = start;
    this.offs[k + 1] = end;
    this.argc++;
  }
}

function isUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) return false;
  }
  return true;
}

/**
 * `buf[start..end)` as a string of one char per byte.
 *
 * @param buf the bytes
 * @param start first byte
 * @param end one past the last
 * @returns the latin1 string
 */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return "";
  if (n <= INTERN_MAX) return interned(buf, start, end);
  if (n <= SMALL) {
    // A reused plain array: fromCharCode.apply makes one flat string, no view allocated.
    const a = charCodes;
    a.length = n;
    for (let i = 0; i < n; i++) a[i] = buf[start + i];
    return String.fromCharCode.apply(null, a);
  }
  let s = "";
  for (let i = start; i < end; i += CHUNK) {
    s += String.fromCharCode.apply(
      null,
      buf.subarray(i, Math.min(end, i + CHUNK)) as unknown as number[],
    );
  }
  return s;
}

/**
 * A short `buf[start..end)` as a latin1 string, the one made last time for the same bytes when
 * the table still holds it. Keys repeat: the string found is usually the key space's own `Map`
 * key, whose hash V8 has cached, so the lookup hashes nothing and compares one pointer, where a
 * new string costs an allocation, a copy and a hash of its bytes.
 */
function interned(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], FNV_PRIME);
  const slot = h & INTERN_MASK;
  const old = internTable[slot];
  if (old.length === n) {
    let i = 0;
    while (i < n && old.charCodeAt(i) === buf[start + i]) i++;
    if (i === n) return old;
  }
  const a = charCodes;
  a.length = n;
  for (let i = 0; i < n; i++) a[i] = buf[start + i];
  const made = String.fromCharCode.apply(null, a);
  internTable[slot] = made;
  return made;
}

/**
 * The bytes of a latin1 string (the inverse of {@linkcode latin1}).
 *
 * @param s the string (char codes 0..255)
 * @returns its bytes
 */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A signed decimal integer in `buf[start..end)`, or NaN (also past 2^53). */
export function parseIntAt(buf: Uint8Array, start: number, end: number): number {
  if (start >= end || end - start > 20) return NOT_INT;
  let i = start;
  let neg = false;
  if (buf[i] === MINUS) {
    neg = true;
    if (++i === end) return NOT_INT;
  }
  if (buf[i] === ZERO && end - i > 1) return NOT_INT;
  let v = 0;
  for (; i < end; i++) {
    const c = buf[i];
    if (c < ZERO || c > NINE) return NOT_INT;
    v = v * 10 + (c - ZERO);
  }
  if (v > Number.MAX_SAFE_INTEGER) return NOT_INT;
  return neg ? -v : v;
}

/** Where a `\r\n`-ended header starting at `from` ends (the index of `\r`), or -1. */
function headerEnd(buf: Uint8Array, from: number, end: number): number {
  const limit = Math.min(end, from + MAX_HEADER);
  for (let i = from; i < limit; i++) {
    if (buf[i] === CR) {
      if (i + 1 >= end) return -1;
      return i;
    }
  }
  return -1;
}

/**
 * Parse one command from `buf[pos..end)` into `cmd`.
 *
 * @param buf the read buffer
 * @param pos where the command starts
 * @param end where the buffered bytes end
 * @param cmd filled with the arguments (argc 0: an empty line or `*0`, nothing to run);
 *   after a 0 it remembers how far the frame was parsed, so the next call must pass the same
 *   frame at its `pos` (the buffer may have moved), with more bytes after
 * @param maxBulk the longest bulk string accepted
 * @returns bytes the command took (0: incomplete, nothing taken)
 * @throws {ProtocolError} for a malformed frame.
 */
export function parseCommand(
  buf: Uint8Array,
  pos: number,
  end: number,
  cmd: Command,
  maxBulk: number,
): number {
  if (pos >= end) return 0;
  if (buf[pos] !== STAR) {
    cmd.pendingCount = NOT_PENDING;
    return parseInline(buf, pos, end, cmd);
  }
  let count = cmd.pendingCount;
  let p: number;
  if (count !== NOT_PENDING) {
    // Go on with the frame left incomplete: its args parsed so far moved with it.
    const moved = pos - cmd.pendingPos;
    if (moved !== 0) { for (let i = 0; i < 2 * cmd.argc; i++) cmd.offs[i] += moved; }
    p = cmd.pendingNext + moved;
    cmd.pendingCount = NOT_PENDING;
  } else {
    const h = headerEnd(buf, pos + 1, end);
    if (h < 0) {
      if (end - pos > MAX_HEADER) throw new ProtocolError("invalid multibulk length");
      return 0;
    }
    if (buf[h + 1] !== LF) throw new ProtocolError("invalid multibulk length");
    count = parseIntAt(buf, pos + 1, h);
    if (Number.isNaN(count) || count > MAX_MULTIBULK) {
      throw new ProtocolError("invalid multibulk length");
    }
    cmd.argc = 0;
    p = h + 2;
  }
  cmd.buf = buf;
  for (let k = cmd.argc; k < count; k++) {
    if (p >= end) return pending(cmd, count, pos, p);
    if (buf[p] !== DOLLAR) {
      throw new ProtocolError(`expected '$', got '${String.fromCharCode(buf[p])}'`);
    }
    const e = headerEnd(buf, p + 1, end);
    if (e < 0) {
      if (end - p > MAX_HEADER) throw new ProtocolError("invalid bulk length");
      return pending(cmd, count, pos, p);
    }
    if (buf[e + 1] !== LF) throw new ProtocolError("invalid bulk length");
    const len = parseIntAt(buf, p + 1, e);
    if (Number.isNaN(len) || len < 0 || len > maxBulk) {
      throw new ProtocolError("invalid bulk length");
    }
    const start = e + 2;
    if (end - start < len + 2) return pending(cmd, count, pos, p);
    if (buf[start + len] !== CR || buf[start + len + 1] !== LF) {
      throw new ProtocolError("invalid bulk length");
    }
    cmd.push(start, start + len);
    p = start + len + 2;
  }
  return p - pos;
}

/** Remember an incomplete frame's progress (its next argument starts at `next`); gives 0. */
function pending(cmd: Command, count: number, pos: number, next: number): number {
  cmd.pendingCount = count;
  cmd.pendingPos = pos;
  cmd.pendingNext = next;
  return 0;
}

/** An inline command: space-separated words, with "double" and 'single' quotes. */
function parseInline(buf: Uint8Array, pos: number, end: number, cmd: Command): number {
  let nl = buf.indexOf(LF, pos);
  if (nl >= end) nl = -1;
  if (nl < 0) {
    if (end - pos > MAX_INLINE) throw new ProtocolError("too big inline request");
    return 0;
  }
  if (nl - pos > MAX_INLINE) throw new ProtocolError("too big inline request");
  let stop = nl;
  if (stop > pos && buf[stop - 1] === CR) stop--;
  splitInline(buf, pos, stop, cmd);
  return nl + 1 - pos;
}

function hexVal(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Split `buf[pos..stop)` into arguments in `cmd.scratch` (quotes unescaped). */
function splitInline(buf: Uint8Array, pos: number, stop: number, cmd: Command): void {
  if (cmd.scratch.length < stop - pos) cmd.scratch = new Uint8Array(stop - pos);
  const out = cmd.scratch;
  cmd.buf = out;
  cmd.argc = 0;
  let o = 0;
  let i = pos;
  for (;;) {
    while (i < stop && (buf[i] === SPACE || buf[i] === TAB)) i++;
    if (i >= stop) return;
    const start = o;
    const q = buf[i];
    if (q === DQUOTE || q === SQUOTE) {
      i++;
      let closed = false;
      while (i < stop) {
        const c = buf[i];
        if (c === BACKSLASH && i + 1 < stop) {
          const n = buf[i + 1];
          if (q === SQUOTE) {
            if (n === SQUOTE) {
              out[o++] = SQUOTE;
              i += 2;
              continue;
            }
            out[o++] = c;
            i++;
            continue;
          }
          if (n === 0x78 && i + 3 < stop && hexVal(buf[i + 2]) >= 0 && hexVal(buf[i + 3]) >= 0) {
            out[o++] = hexVal(buf[i + 2]) * 16 + hexVal(buf[i + 3]);
            i += 4;
            continue;
          }
          out[o++] = n === 0x6e
            ? LF
            : n === 0x72
            ? CR
            : n === 0x74
            ? TAB
            : n === 0x62
            ? 0x08
            : n === 0x61
            ? 0x07
            : n;
          i += 2;
          continue;
        }
        if (c === q) {
          closed = true;
          i++;
          break;
        }
        out[o++] = c;
        i++;
      }
      // A closing quote must be followed by a space or the end (as Redis's sdssplitargs).
      if (!closed || (i < stop && buf[i] !== SPACE && buf[i] !== TAB)) {
        throw new ProtocolError("unbalanced quotes in request");
      }
    } else {
      while (i < stop && buf[i] !== SPACE && buf[i] !== TAB) out[o++] = buf[i++];
    }
    cmd.push(start, o);
  }
}

const enc = new TextEncoder();
const OK = enc.encode("+OK\r\n");
const PONG = enc.encode("+PONG\r\n");
const NIL = enc.encode("$-1\r\n");
const NIL_ARRAY = enc.encode("*-1\r\n");
const CRLF_LEN = 2;
/** Replies up to this many bytes are written through a view kept for their length. */
const VIEW_CACHE = 64;
/** Longest decimal of a safe integer, with its sign. */
const MAX_DIGITS = 21;

/**
 * The reply encoder: RESP2 frames appended to one growable buffer, sent
 * with one write per batch of commands.
 */
export class Reply {
  /** The encoded bytes are `buf[0..len)`. */
  buf: Uint8Array;
  /** Bytes encoded. */
  len = 0;
  /**
   * Views `bytes` gave, by length (up to VIEW_CACHE bytes), all of `buf`: a request/reply
   * connection writes a few reply lengths over and over (`+OK`, `$-1`, a value), and a view is
   * an allocation per write otherwise.
   */
  #views: (Uint8Array | undefined)[] = [];

  /** @param capacity initial size, bytes */
  constructor(capacity = 16384) {
    this.buf = new Uint8Array(capacity);
  }

  /** The encoded bytes (a view, valid until the next append). */
  get bytes(): Uint8Array {
    const n = this.len;
    if (n > VIEW_CACHE) return this.buf.subarray(0, n);
    return this.#views[n] ??= this.buf.subarray(0, n);
  }

  /** Forget what was encoded (after it was written). */
  clear(): void {
    this.len = 0;
  }

  #room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const bigger = new Uint8Array(cap);
    bigger.set(this.buf.subarray(0, this.len));
    this.buf = bigger;
    this.#views = [];
  }

  /** Append raw bytes (a pre-encoded frame). */
  raw(b: Uint8Array): void {
    this.#room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** `+OK`. */
  ok(): void {
    this.raw(OK);
  }

  /** `+PONG`. */
  pong(): void {
    this.raw(PONG);
  }

  /** The null bulk string, `$-1`. */
  nil(): void {
    this.raw(NIL);
  }

  /** The null array, `*-1`. */
  nilArray(): void {
    this.raw(NIL_ARRAY);
  }

  #ascii(prefix: number, s: string): void {
    this.#room(s.length + 1 + CRLF_LEN);
    const b = this.buf;
    let o = this.len;
    b[o++] = prefix;
    for (let i = 0; i < s.length; i++) b[o++] = s.charCodeAt(i);
    b[o++] = CR;
    b[o++] = LF;
    this.len = o;
  }

  /** A simple string, `+s` (s must hold no CR or LF). */
  simple(s: string): void {
    this.#ascii(0x2b, s);
  }

  /** An error, `-s` (s must hold no CR or LF). */
  error(s: string): void {
    this.#ascii(MINUS, s);
  }

  #header(prefix: number, n: number): void {
    this.#room(MAX_DIGITS + 1 + CRLF_LEN);
    const b = this.buf;
    let o = this.len;
    b[o++] = prefix;
    if (n < 0) {
      b[o++] = MINUS;
      n = -n;
    }
    if (n < 10) b[o++] = ZERO + n;
    else {
      const s = String(n);
      for (let i = 0; i < s.length; i++) b[o++] = s.charCodeAt(i);
    }
    b[o++] = CR;
    b[o++] = LF;
    this.len = o;
  }

  /** An integer, `:n`. */
  int(n: number): void {
    this.#header(0x3a, n);
  }

  /** An array header, `*n` (its n items follow). */
  array(n: number): void {
    this.#header(STAR, n);
  }

  /** A bulk string of `v`'s bytes. */
  bulk(v: Uint8Array): void {
    this.#header(DOLLAR, v.length);
    this.#room(v.length + CRLF_LEN);
    const b = this.buf;
    let o = this.len;
    if (v.length < 16) { for (let i = 0; i < v.length; i++) b[o++] = v[i]; }
    else {
      b.set(v, o);
      o += v.length;
    }
    b[o++] = CR;
    b[o++] = LF;
    this.len = o;
  }

  /** A bulk string of a stored value (a latin1 string or bytes). */
  bulkValue(v: string | Uint8Array): void {
    if (typeof v === "string") this.bulkStr(v);
    else this.bulk(v);
  }

  /** A bulk string of a latin1 string's bytes (a key or channel name). */
  bulkStr(s: string): void {
    this.#header(DOLLAR, s.length);
    this.#room(s.length + CRLF_LEN);
    const b = this.buf;
    let o = this.len;
    for (let i = 0; i < s.length; i++) b[o++] = s.charCodeAt(i);
    b[o++] = CR;
    b[o++] = LF;
    this.len = o;
  }
}
