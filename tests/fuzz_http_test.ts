/**
 * Fuzzing of the file server's request-head parser
 * (examples/http_request.ts), driven as the server drives it: reads land
 * in one fixed buffer of `maxHead` bytes, and the head is parsed after
 * each read. Properties: nothing but HttpError (400 or 431) is thrown;
 * the result (head, status, or "incomplete") is the same for every split
 * of the stream; encoded random heads parse back to themselves; nothing
 * is read past `maxHead`, and what the parser returns is no larger than
 * the head. CI: fixed seed and iteration count; long mode: see
 * tests/fuzz_helpers.ts.
 */

import assert from "node:assert/strict";
import {
  encodeRequestHead,
  HttpError,
  MAX_HEAD,
  MAX_HEADERS,
  parseRequestHead,
  type RequestHead,
} from "../examples/http_request.ts";
import { bytesOf, fuzz, join, mutate, type Prng, randomBytes, split } from "./fuzz_helpers.ts";

/** The iterations of each target in CI. */
const CI_ITERS = 1500;

/** What one connection's head came to. */
type Outcome = RequestHead | { status: number } | "incomplete";

/** Feed `chunks` into a `maxHead` buffer as reads do, parsing after each read. */
function drive(chunks: Uint8Array[], maxHead: number): Outcome {
  const buf = new Uint8Array(maxHead);
  let len = 0;
  const pending = chunks.filter((c) => c.length > 0);
  while (pending.length > 0) {
    const c = pending[0];
    // One read takes what fits; the rest stays in the socket for the next read.
    const n = Math.min(c.length, maxHead - len);
    buf.set(c.subarray(0, n), len);
    len += n;
    if (n < c.length) pending[0] = c.subarray(n);
    else pending.shift();
    let head: RequestHead | null;
    try {
      head = parseRequestHead(buf, len, maxHead);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      assert.ok(e.status === 400 || e.status === 431, `status ${e.status}`);
      return { status: e.status };
    }
    if (head !== null) {
      assert.ok(head.length <= len && head.length <= maxHead, `head of ${head.length} bytes`);
      let chars = head.method.length + head.target.length + head.version.length;
      for (const [k, v] of head.headers) chars += k.length + v.length;
      assert.ok(chars <= head.length, `${chars} chars out of a ${head.length}-byte head`);
      return head;
    }
  }
  return "incomplete";
}

const TCHARS = Array.from("!#$%&'*+-.^_`|~09azAZ");
const VCHARS = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
/** Field values may also hold bytes past 0x7f (obs-text), read as latin1. */
const VALUE_CHARS = [...VCHARS, "\xe9", "\xff", "\x80"];

function word(r: Prng, chars: string[], min: number, max: number): string {
  let s = "";
  for (let n = r.range(min, max); n > 0; n--) s += r.pick(chars);
  return s;
}

/** A random valid head. */
function randomHead(r: Prng): Omit<RequestHead, "length"> {
  const headers: [string, string][] = [];
  for (let k = r.range(0, 8); k > 0; k--) {
    const inner = r.chance(0.5) ? ` ${word(r, VCHARS, 1, 6)}` : "";
    const value = r.chance(0.2) ? "" : `${word(r, VALUE_CHARS, 1, 10)}${inner}`;
    headers.push([word(r, TCHARS, 1, 12), value]);
  }
  return {
    method: r.chance(0.7) ? r.pick(["GET", "HEAD", "POST"]) : word(r, TCHARS, 1, 8),
    target: `/${word(r, VCHARS, 0, 30)}`,
    version: r.pick(["HTTP/1.0", "HTTP/1.1", "HTTP/2.0"]),
    headers,
  };
}

/** `head`'s bytes, with bare LF line ends when `lf`, and blanks around values when `pad`. */
function encode(r: Prng, head: Omit<RequestHead, "length">): Uint8Array {
  const pad = r.chance(0.3);
  const padded = pad
    ? { ...head, headers: head.headers.map(([k, v]) => [k, ` \t${v}\t `] as [string, string]) }
    : head;
  let text = String.fromCharCode(...encodeRequestHead(padded));
  if (r.chance(0.3)) text = text.replaceAll("\r\n", "\n");
  return bytesOf(text);
}

const TOKENS = [
  "\r\n",
  "\n",
  "\r",
  "\r\n\r\n",
  "\n\n",
  " ",
  "\t",
  ":",
  "\x00",
  "\x7f",
  "HTTP/1.1",
  "GET / HTTP/1.0",
  "x".repeat(300),
].map(bytesOf);

Deno.test("fuzz HTTP head parser: random heads parse back to themselves, any split", () => {
  fuzz("HTTP round trip", CI_ITERS, (r) => {
    const head = randomHead(r);
    const bytes = encode(r, head);
    const body = r.chance(0.3) ? randomBytes(r, r.int(50)) : new Uint8Array(0);
    const got = drive(split(r, join([bytes, body])), MAX_HEAD);
    assert.deepEqual(got, { ...head, length: bytes.length });
  });
});

Deno.test("fuzz HTTP head parser: mutated and random heads give the same outcome for every split", () => {
  fuzz("HTTP mutated", CI_ITERS, (r) => {
    const maxHead = r.pick([32, 100, 512, MAX_HEAD]);
    const input = r.chance(0.15)
      ? randomBytes(r, r.int(200))
      : mutate(r, encode(r, randomHead(r)), TOKENS);
    const whole = drive([input], maxHead);
    assert.deepEqual(drive(split(r, input), maxHead), whole);
  });
});

Deno.test("HTTP head parser: a head that never ends is refused with 431 at MAX_HEAD bytes", () => {
  const chunks = Array.from({ length: 64 }, () => new Uint8Array(1024).fill(0x61)); // 64 KiB
  assert.deepEqual(drive([bytesOf("GET / HTTP/1.0\r\n"), ...chunks], MAX_HEAD), { status: 431 });
  const many = Array.from({ length: MAX_HEADERS + 1 }, (_, i) => `X-${i}: y\r\n`).join("");
  assert.deepEqual(drive([bytesOf(`GET / HTTP/1.0\r\n${many}\r\n`)], MAX_HEAD), { status: 431 });
  const max = Array.from({ length: MAX_HEADERS }, (_, i) => `X-${i}: y\r\n`).join("");
  const ok = drive([bytesOf(`GET / HTTP/1.0\r\n${max}\r\n`)], MAX_HEAD);
  assert.equal((ok as RequestHead).headers.length, MAX_HEADERS);
});

Deno.test("HTTP head parser: malformed request lines and fields are 400", () => {
  for (
    const bad of [
      "GET\r\n\r\n",
      "GET /x\r\n\r\n",
      "GET  /x HTTP/1.0\r\n\r\n",
      "GET /x HTTP/1\r\n\r\n",
      "G(T /x HTTP/1.0\r\n\r\n",
      "GET /\x01 HTTP/1.0\r\n\r\n",
      "GET / HTTP/1.0\r\nNoColon\r\n\r\n",
      "GET / HTTP/1.0\r\nA: b\r\n folded\r\n\r\n",
      "GET / HTTP/1.0\r\nA: b\x00c\r\n\r\n",
      "GET / HTTP/1.0\r\n: empty name\r\n\r\n",
      "\r\n\r\n",
    ]
  ) {
    assert.deepEqual(drive([bytesOf(bad)], MAX_HEAD), { status: 400 }, JSON.stringify(bad));
  }
});
