/**
 * Length-delimited frame echo server on `Deno.listen`, hand-written, the
 * peer of bench/io_bench.ts: per connection one async loop reads into a
 * growing buffer, takes each complete frame out (4-byte big-endian length,
 * then the payload, copied out as a decoder would hand it over), and writes
 * it back as length + payload. Prints `listening on 127.0.0.1:PORT`; exits
 * on SIGTERM.
 *
 * usage: deno run -A bench/io/frame_echo_deno.ts [--port 0]
 *
 * @module
 */

import { serveDeno } from "../_deno_server.ts";

const HEADER = 4;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

async function echoFrames(conn: Deno.TcpConn): Promise<void> {
  let buf = new Uint8Array(32 * 1024);
  let start = 0, end = 0;
  for (;;) {
    if (end === buf.length) {
      if (start > 0) {
        buf.copyWithin(0, start, end);
        end -= start;
        start = 0;
      } else {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
    }
    const n = await conn.read(buf.subarray(end));
    if (n === null) return;
    end += n;
    while (end - start >= HEADER) {
      const len = new DataView(buf.buffer, start, HEADER).getUint32(0);
      if (end - start < HEADER + len) break;
      const payload = buf.slice(start + HEADER, start + HEADER + len);
      start += HEADER + len;
      const out = new Uint8Array(HEADER + len);
      new DataView(out.buffer).setUint32(0, len);
      out.set(payload, HEADER);
      await writeAll(conn, out);
    }
    if (start === end) start = end = 0;
  }
}

if (import.meta.main) await serveDeno(echoFrames);
