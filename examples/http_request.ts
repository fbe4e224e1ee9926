/**
 * The HTTP/1.x request-head parser of the file server
 * (examples/file_server.ts): the request line and header fields, up to
 * the blank line, from a fixed buffer that the server fills as bytes
 * arrive.
 *
 * Invariants: `parseRequestHead` looks only at the first `maxHead` bytes;
 * it gives null while the blank line has not arrived (and the buffer is
 * not full), the parsed head once it has, or throws {@linkcode HttpError}
 * with the status to answer (400 for a malformed head, 431 for a head or
 * a header count over the limits). Nothing it builds is larger than the
 * head. Lines end in CRLF or a bare LF (as most servers accept).
 *
 * @example
 * ```ts
 * import { encodeRequestHead, parseRequestHead } from "./http_request.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeRequestHead({
 *   method: "GET",
 *   target: "/a.txt",
 *   version: "HTTP/1.0",
 *   headers: [["Host", "x"]],
 * });
 * const head = parseRequestHead(bytes, bytes.length);
 * assert.equal(head?.target, "/a.txt");
 * assert.equal(head?.length, bytes.length);
 * assert.equal(parseRequestHead(bytes, bytes.length - 1), null); // not all there yet
 * ```
 *
 * @module
 */

/** The largest request head the file server reads, bytes. */
export const MAX_HEAD = 8192;
/** Most header fields in one head. */
export const MAX_HEADERS = 100;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const DEL = 0x7f;

/** Status: the head is malformed. */
const BAD_REQUEST = 400;
/** Status: the head, or its header count, is over the limits. */
const TOO_LARGE = 431;

/**
 * A request the server refuses: `status` is the HTTP status to answer.
 *
 * @example
 * ```ts
 * import { HttpError, parseRequestHead } from "./http_request.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = new TextEncoder().encode("GET\r\n\r\n");
 * assert.throws(() => parseRequestHead(bad, bad.length), (e) => e instanceof HttpError && e.status === 400);
 * ```
 */
export class HttpError extends Error {
  /** The status to answer (400 or 431). */
  readonly status: number;

  /**
   * Make one.
   *
   * @param status the HTTP status to answer
   * @param detail what was wrong
   */
  constructor(status: number, detail: string) {
    super(detail);
    this.name = "HttpError";
    this.status = status;
  }
}

/** A parsed request head. */
export interface RequestHead {
  /** The method (a token, e.g. `GET`). */
  method: string;
  /** The request target as sent (e.g. `/a%20b.txt?x=1`). */
  target: string;
  /** `HTTP/1.0` or `HTTP/1.1` (any `HTTP/d.d`). */
  version: string;
  /** Header fields in order: name as sent, value without surrounding blanks. */
  headers: [string, string][];
  /** Bytes of the head, its blank line included (what follows is the body). */
  length: number;
}

/** Token characters of RFC 9110 (method and field names). */
const TCHAR = (() => {
  const t = new Uint8Array(256);
  for (const c of "!#$%&'*+-.^_`|~0123456789") t[c.charCodeAt(0)] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = t[c + 0x20] = 1;
  return t;
})();

function latin1(buf: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(buf[i]);
  return s;
}

function isToken(buf: Uint8Array, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) if (TCHAR[buf[i]] === 0) return false;
  return true;
}

/** Where the head's blank line ends (one past its LF), or -1 when it is not in `buf[0..end)`. */
function headEnd(buf: Uint8Array, end: number): number {
  for (let i = buf.indexOf(LF); i >= 0 && i < end; i = buf.indexOf(LF, i + 1)) {
    if (i + 1 < end && buf[i + 1] === LF) return i + 2;
    if (i + 2 < end && buf[i + 1] === CR && buf[i + 2] === LF) return i + 3;
  }
  return -1;
}

/** The end of the line starting at `from` without its CR LF / LF, and where the next starts. */
function lineAt(buf: Uint8Array, from: number, stop: number): [number, number] {
  const lf = buf.indexOf(LF, from);
  const at = lf < 0 || lf >= stop ? stop : lf;
  return [at > from && buf[at - 1] === CR ? at - 1 : at, at + 1];
}

function parseRequestLine(buf: Uint8Array, from: number, to: number): [string, string, string] {
  const sp1 = buf.indexOf(SP, from);
  const sp2 = sp1 < 0 || sp1 >= to ? -1 : buf.indexOf(SP, sp1 + 1);
  if (sp1 < 0 || sp2 < 0 || sp2 >= to) throw new HttpError(BAD_REQUEST, "malformed request line");
  if (!isToken(buf, from, sp1)) throw new HttpError(BAD_REQUEST, "malformed method");
  if (sp2 === sp1 + 1) throw new HttpError(BAD_REQUEST, "empty request target");
  for (let i = sp1 + 1; i < sp2; i++) {
    if (buf[i] <= SP || buf[i] >= DEL) throw new HttpError(BAD_REQUEST, "malformed request target");
  }
  const version = latin1(buf, sp2 + 1, to);
  if (!/^HTTP\/\d\.\d$/.test(version)) throw new HttpError(BAD_REQUEST, "malformed HTTP version");
  return [latin1(buf, from, sp1), latin1(buf, sp1 + 1, sp2), version];
}

function parseField(buf: Uint8Array, from: number, to: number): [string, string] {
  const colon = buf.indexOf(COLON, from);
  if (colon < 0 || colon >= to || !isToken(buf, from, colon)) {
    throw new HttpError(BAD_REQUEST, "malformed header field");
  }
  let a = colon + 1, b = to;
  while (a < b && (buf[a] === SP || buf[a] === HTAB)) a++;
  while (b > a && (buf[b - 1] === SP || buf[b - 1] === HTAB)) b--;
  for (let i = a; i < b; i++) {
    const c = buf[i];
    if ((c < SP && c !== HTAB) || c === DEL) {
      throw new HttpError(BAD_REQUEST, "control character in a header value");
    }
  }
  return [latin1(buf, from, colon), latin1(buf, a, b)];
}

/**
 * Parse the request head at the start of `buf[0..end)`.
 *
 * @param buf the bytes received so far (from the start of the request)
 * @param end how many of them there are
 * @param maxHead the largest head accepted, bytes (the buffer's size)
 * @returns the head, or null when its blank line has not arrived yet
 * @throws {HttpError} 400 for a malformed head; 431 when no blank line
 *   came within `maxHead` bytes or there are more than {@linkcode MAX_HEADERS} fields
 *
 * @example
 * ```ts
 * import { HttpError, parseRequestHead } from "./http_request.ts";
 * import assert from "node:assert/strict";
 *
 * const b = new TextEncoder().encode("GET / HTTP/1.1\nHost: a\n\n");
 * assert.deepEqual(parseRequestHead(b, b.length)?.headers, [["Host", "a"]]);
 * const big = new Uint8Array(8192).fill(0x61);
 * assert.throws(() => parseRequestHead(big, big.length), (e) => (e as HttpError).status === 431);
 * ```
 */
export function parseRequestHead(
  buf: Uint8Array,
  end: number,
  maxHead: number = MAX_HEAD,
): RequestHead | null {
  const stop = Math.min(end, maxHead, buf.length);
  const length = headEnd(buf, stop);
  if (length < 0) {
    if (stop >= maxHead) throw new HttpError(TOO_LARGE, "request head too large");
    return null;
  }
  const [lineEnd, first] = lineAt(buf, 0, length);
  const [method, target, version] = parseRequestLine(buf, 0, lineEnd);
  const headers: [string, string][] = [];
  for (let at = first;;) {
    const [lineStop, after] = lineAt(buf, at, length);
    if (lineStop === at) break; // the blank line
    if (buf[at] === SP || buf[at] === HTAB) {
      throw new HttpError(BAD_REQUEST, "obsolete line folding");
    }
    if (headers.length === MAX_HEADERS) throw new HttpError(TOO_LARGE, "too many header fields");
    headers.push(parseField(buf, at, lineStop));
    at = after;
  }
  return { method, target, version, headers, length };
}

/**
 * A request head's bytes (the inverse of {@linkcode parseRequestHead}).
 *
 * @param head the request line's parts and the fields
 * @returns the head, CRLF line ends, ending with its blank line
 * @throws {RangeError} for a character that is not latin1 (one byte each)
 *
 * @example
 * ```ts
 * import { encodeRequestHead } from "./http_request.ts";
 * import assert from "node:assert/strict";
 *
 * const b = encodeRequestHead({ method: "HEAD", target: "/", version: "HTTP/1.0", headers: [] });
 * assert.equal(new TextDecoder().decode(b), "HEAD / HTTP/1.0\r\n\r\n");
 * ```
 */
export function encodeRequestHead(head: Omit<RequestHead, "length">): Uint8Array {
  let s = `${head.method} ${head.target} ${head.version}\r\n`;
  for (const [k, v] of head.headers) s += `${k}: ${v}\r\n`;
  s += "\r\n";
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`encodeRequestHead: ${JSON.stringify(s[i])} is not latin1`);
    out[i] = c;
  }
  return out;
}
