/**
 * The load generator's own reader of RESP2 replies (it checks mini-redis, so
 * it shares no code with it): simple strings, errors, integers, bulk strings
 * (null too) and arrays, read from the front of a byte buffer. Pure:
 * tests/soak_trend_test.ts.
 *
 * @module
 */

/** An error reply (`-ERR …`). */
export interface ErrorReply {
  /** The text after the `-`. */
  error: string;
}

/** A decoded reply: simple strings and bulk strings come back as strings (latin1). */
export type ReplyValue = string | number | null | ErrorReply | ReplyValue[];

/** A reply and the bytes it took. */
export interface Decoded {
  /** The reply. */
  value: ReplyValue;
  /** Bytes consumed from the buffer's start. */
  used: number;
}

/** A reply that is not RESP2: the stream cannot be trusted any more. */
export class ReplySyntaxError extends Error {
  /** @param message what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "ReplySyntaxError";
  }
}

const CR = 13;
const LF = 10;

/**
 * Decode one reply from `buf[from, end)`.
 *
 * @param buf the bytes read so far.
 * @param from where the reply starts.
 * @param end where the bytes read end.
 * @returns the reply and its length, or null when more bytes are needed.
 * @throws {ReplySyntaxError} when the bytes are not a RESP2 reply.
 */
export function decodeReply(buf: Uint8Array, from: number, end: number): Decoded | null {
  const line = lineEnd(buf, from + 1, end);
  if (from >= end || line < 0) return null;
  const text = latin1(buf, from + 1, line);
  const next = line + 2;
  switch (buf[from]) {
    case 0x2b: // '+'
      return { value: text, used: next - from };
    case 0x2d: // '-'
      return { value: { error: text }, used: next - from };
    case 0x3a: // ':'
      return { value: integer(text), used: next - from };
    case 0x24: { // '$'
      const n = integer(text);
      if (n === -1) return { value: null, used: next - from };
      if (n < 0) throw new ReplySyntaxError(`bulk length ${n}`);
      if (end - next < n + 2) return null;
      if (buf[next + n] !== CR || buf[next + n + 1] !== LF) {
        throw new ReplySyntaxError("bulk string not followed by CRLF");
      }
      return { value: latin1(buf, next, next + n), used: next + n + 2 - from };
    }
    case 0x2a: { // '*'
      const n = integer(text);
      if (n === -1) return { value: null, used: next - from };
      if (n < 0) throw new ReplySyntaxError(`array length ${n}`);
      const items: ReplyValue[] = [];
      let at = next;
      for (let i = 0; i < n; i++) {
        const d = decodeReply(buf, at, end);
        if (d === null) return null;
        items.push(d.value);
        at += d.used;
      }
      return { value: items, used: at - from };
    }
  }
  throw new ReplySyntaxError(`reply starts with byte ${buf[from]}`);
}

/**
 * Encode a command as a RESP2 array of bulk strings.
 *
 * @param args the command and its arguments.
 * @returns its bytes.
 */
export function encodeCommand(args: readonly string[]): Uint8Array {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${latin1Length(a)}\r\n${a}\r\n`;
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function latin1Length(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0xff) throw new RangeError("encodeCommand: latin1 arguments only");
  }
  return s.length;
}

function lineEnd(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i + 1 < end; i++) if (buf[i] === CR && buf[i + 1] === LF) return i;
  return -1;
}

function integer(text: string): number {
  if (!/^-?[0-9]{1,15}$/.test(text)) throw new ReplySyntaxError(`not an integer: ${text}`);
  return Number(text);
}

function latin1(buf: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i += 4096) {
    s += String.fromCharCode(...buf.subarray(i, Math.min(to, i + 4096)));
  }
  return s;
}
