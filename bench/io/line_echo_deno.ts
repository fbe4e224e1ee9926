/**
 * Line echo server on Deno's own API, the peer of bench/io_bench.ts: per
 * connection `conn.readable` through a `TextDecoderStream` and a line
 * splitter, each line written back with `conn.write`. The splitter is a
 * `TransformStream` doing what `@std/streams`' `TextLineStream` does (split
 * on `\n`, drop a `\r` before it); `@std` cannot be fetched on this machine
 * (no JSR), so it is written out here. Prints `listening on
 * 127.0.0.1:PORT`; exits on SIGTERM.
 *
 * usage: deno run -A bench/io/line_echo_deno.ts [--port 0]
 *
 * @module
 */

import { serveDeno } from "../_deno_server.ts";

/** Strings in, one string per line out. */
function lineSplitter(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream<string, string>({
    transform(chunk, ctl) {
      let text = rest + chunk;
      let nl: number;
      while ((nl = text.indexOf("\n")) >= 0) {
        const end = nl > 0 && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        ctl.enqueue(text.slice(0, end));
        text = text.slice(nl + 1);
      }
      rest = text;
    },
    flush(ctl) {
      if (rest.length > 0) ctl.enqueue(rest);
    },
  });
}

const enc = new TextEncoder();

async function echoLines(conn: Deno.TcpConn): Promise<void> {
  const lines = conn.readable.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter());
  for await (const line of lines) {
    const out = enc.encode(line + "\n");
    let off = 0;
    while (off < out.length) off += await conn.write(out.subarray(off));
  }
}

if (import.meta.main) await serveDeno(echoLines);
